"""A story whose every value from the web is hostile: titles, bylines, outlet names, URLs,
reasons and texts carrying HTML, scripts, ``javascript:`` links, Markdown syntax, table pipes,
line breaks and spreadsheet formulas. Written into a database through the storage layer and
built by ``storage.storyfile.build``, as ``monitor story export`` does.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from storage import articles, members, stories
from storage.db import Database, WriteSession

SLUG = "hostile"
T0 = datetime(2024, 5, 2, 8, tzinfo=UTC)

STORY_TITLE = 'Story <script>alert("story")</script> & *more*'
SEED_OUTLET = 'Le <b>Devoir</b> | "Daily"'
ORIGINAL_TITLE = "<img src=x onerror=alert(1)>"
ORIGINAL_NEW_TITLE = "# Breaking\n- item | a | b |\n> quoted ~~gone~~ $x$"
AUTHORS = ["[Jane](javascript:alert(1))", "*Bob* `Smith` _Jr_"]
ORIGINAL_URL = 'https://evil.example/a?x=<1>&y="2"'
CANONICAL = "javascript:alert(2)"
COPY_TITLE = '=HYPERLINK("http://evil.example","click")'
COPY_OUTLET = "+Copy Desk"
COPY_AUTHORS = ["-1+1", "@SUM(1)"]
OFF_TOPIC_TITLE = '"><svg onload=alert(1)>'
OFF_TOPIC_REASON = "<iframe src=javascript:alert(1)></iframe> www.evil.example http://evil.example"
REASON = "![img](http://evil.example/x.png) <a href=javascript:alert(3)>why</a>"
TEXT_1 = (
    "Roxham Road will close at midnight. Officials said so on Friday.\n\n"
    "The deal <script>alert('text')</script> was signed. It covers the whole border."
)
TEXT_2 = (
    "Roxham Road closed at midnight on Friday. Officials said so on Friday.\n\n"
    "The deal <script>alert('text')</script> was signed in Ottawa. It covers the whole border."
)

# Every hostile value, as the reader must see it (a line break is shown as a space).
VALUES = [
    STORY_TITLE, SEED_OUTLET, ORIGINAL_TITLE, ORIGINAL_NEW_TITLE, *AUTHORS, COPY_TITLE,
    COPY_OUTLET, *COPY_AUTHORS, OFF_TOPIC_TITLE, OFF_TOPIC_REASON, REASON,
]  # fmt: skip


def shown(value: str) -> str:
    """``value`` as a page or a Markdown rendering shows it: whitespace runs as one space."""
    return " ".join(value.split())


def _article(session: WriteSession, url: str, outlet: str, title: str, **values: Any) -> Any:
    return articles.create_article(
        session,
        url=url,
        outlet=outlet,
        domain=values.pop("domain", "evil.example"),
        title=title,
        first_seen_at=values.pop("first_seen_at", T0),
        language="en",
        published_precision="time",
        **values,
    )


def _version(session: WriteSession, article: Any, text: str, title: str, at: datetime) -> None:
    previous = article.title
    articles.add_version(
        session,
        article,
        fetched_at=at,
        title=title,
        text=text,
        content_sha256=hashlib.sha256(text.encode()).hexdigest(),
        word_count=len(text.split()),
        shingle_count=len(text.split()) - 2,
        minhash=b"\0" * 512,
        changes={}
        if at == article.first_seen_at
        else {
            "words_added": 4,
            "words_removed": 2,
            "paragraphs_added": 2,
            "paragraphs_removed": 2,
            "title_changed": True,
            "previous_title": previous,
        },
    )
    article.title = title


def write(db: Database) -> str:
    """The hostile story in ``db``; its slug."""
    with db.write() as session:
        story = stories.sync_story(session, slug=SLUG, title=STORY_TITLE, keywords=["x"], now=T0)
        seed = _article(session, f"seed:{SLUG}/001", SEED_OUTLET, "A plain seed", domain="seed",
                        published_at=T0 - timedelta(days=1))  # fmt: skip
        original = _article(session, ORIGINAL_URL, "Evil Post", ORIGINAL_TITLE,
                            canonical_url=CANONICAL, authors=AUTHORS,
                            published_at=T0 + timedelta(hours=1))  # fmt: skip
        copy = _article(session, "https://copy.example/c", COPY_OUTLET, COPY_TITLE,
                        domain="copy.example", authors=COPY_AUTHORS,
                        published_at=T0 + timedelta(hours=2))  # fmt: skip
        off = _article(session, "https://evil.example/off", "Evil Post", OFF_TOPIC_TITLE)
        _version(session, seed, "The seed text about Roxham Road.", "A plain seed", T0)
        _version(session, original, TEXT_1, ORIGINAL_TITLE, T0)
        _version(session, copy, TEXT_1, COPY_TITLE, T0)
        _version(session, original, TEXT_2, ORIGINAL_NEW_TITLE, T0 + timedelta(hours=5))
        decisions = [
            (seed, "seed", None, {"kind": "seed", "reason": "seed file 001.txt"}),
            (original, "original", None, {"kind": "same_story", "reason": REASON}),
            (copy, "copy", original.id, {"kind": "copy", "reason": REASON}),
            (off, "off_topic", None, {"kind": "off_topic", "reason": OFF_TOPIC_REASON}),
        ]
        for article, relation, copy_of, match in decisions:
            members.record_decision(session, story_id=story.id, article_id=article.id,
                                    relation=relation, copy_of_id=copy_of, similarity=0.9,
                                    match=match, now=T0)  # fmt: skip
        copy.status, copy.removed_at = "removed", T0 + timedelta(hours=9)
        events = [
            (seed, "first_report", T0 - timedelta(days=1), 1),
            (original, "first_report", T0 + timedelta(hours=1), 1),
            (copy, "copy", T0 + timedelta(hours=2), 1),
            (original, "update", T0 + timedelta(hours=5), 2),
            (copy, "removed", T0 + timedelta(hours=9), None),
        ]
        for article, event, at, version in events:
            stories.add_event(session, story_id=story.id, article_id=article.id, event=event,
                              at=at, now=at, article_version=version)  # fmt: skip
    return SLUG
