"""The story file: what each outlet reported and when, every version, and the timeline.

``build`` returns plain JSON-ready data; its schema is documented in docs/story-file.md and is a
public contract: add keys freely, change or remove one only with a CHANGELOG entry.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.orm import Session, selectinload

from storage.models import Article, ArticleVersion, StoryArticle, StoryEvent
from storage.stories import story_by_slug

SCHEMA_VERSION = 1

# Version columns the story file never shows: the folded search copy, the MinHash signature and
# the page as fetched; the text only for ``texts=True``. Versions and events are read as plain
# rows (every other column, so a column added to the table is there too): building ORM objects
# for tens of thousands of them took most of the time (benchmarks/storyfile_export.py).
_UNREAD_VERSION_COLUMNS = frozenset({"text", "search_text", "minhash", "html"})


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def build(session: Session, slug: str, *, texts: bool = False) -> dict[str, Any] | None:
    """The story file of ``slug``, or None if there is no such story.

    ``texts=True`` adds each version's ``text``, which the HTML page diffs; the JSON export
    leaves it out (it would hold every text of every outlet, many times the file's size).
    """
    story = story_by_slug(session, slug)
    if story is None:
        return None
    outlets: dict[str, dict[str, Any]] = {}
    off_topic = []
    versions = _versions(session, story.id, texts=texts)
    for row in _decisions(session, story.id):
        a = row.article
        if row.relation == "off_topic":
            off_topic.append(_off_topic(row))
            continue
        outlet = outlets.setdefault(
            a.outlet, {"name": a.outlet, "domain": a.domain, "articles": []}
        )
        outlet["articles"].append(_member(row, versions[row.article_id], texts=texts))
    return {
        "schema": SCHEMA_VERSION,
        "story": story.slug,
        "title": story.title,
        "keywords": story.keywords,
        "version": story.version,
        "updated_at": iso(story.updated_at),
        "outlets": list(outlets.values()),
        "timeline": _timeline(session, story.id),
        "off_topic": off_topic,
    }


def _decisions(session: Session, story_id: int) -> list[StoryArticle]:
    """Every decision of the story with its article and versions, in publication order (first
    seen, for the undated)."""
    rows = session.scalars(
        select(StoryArticle)
        .where(StoryArticle.story_id == story_id)
        .options(selectinload(StoryArticle.article), selectinload(StoryArticle.copy_of))
    ).all()
    return sorted(
        rows, key=lambda r: (r.article.published_at or r.article.first_seen_at, r.article.id)
    )


def _versions(session: Session, story_id: int, *, texts: bool) -> dict[int, list[Row[Any]]]:
    """Every version of the story's members, oldest first, by article id."""
    table = ArticleVersion.__table__
    skipped = _UNREAD_VERSION_COLUMNS - ({"text"} if texts else set())
    rows = session.execute(
        select(*(c for c in table.c if c.name not in skipped))
        .join(StoryArticle, StoryArticle.article_id == table.c.article_id)
        .where(StoryArticle.story_id == story_id, StoryArticle.relation != "off_topic")
        .order_by(table.c.article_id, table.c.version)
    )
    out: dict[int, list[Row[Any]]] = defaultdict(list)
    for row in rows:
        out[row.article_id].append(row)
    return out


def _off_topic(row: StoryArticle) -> dict[str, Any]:
    a = row.article
    return {
        "url": a.url,
        "title": a.title,
        "outlet": a.outlet,
        "first_seen_at": iso(a.first_seen_at),
        "match": row.match,
    }


def _member(row: StoryArticle, versions: Sequence[Row[Any]], *, texts: bool) -> dict[str, Any]:
    """One article of an outlet: the article, the decision and every version."""
    a = row.article
    member: dict[str, Any] = {
        "url": a.url,
        "canonical_url": a.canonical_url,
        "title": a.title,
        "authors": a.authors,
        "language": a.language,
        "published_at": iso(a.published_at),
        "published_precision": a.published_precision,
        "updated_at": iso(a.updated_at),
        "first_seen_at": iso(a.first_seen_at),
        "status": a.status,
        "removed_at": iso(a.removed_at),
        "relation": row.relation,
        "copy_of": row.copy_of.url if row.copy_of is not None else None,
        "similarity": round(row.similarity, 4) if row.similarity is not None else None,
        "match": row.match,
        "versions": [
            {
                "version": v.version,
                "fetched_at": iso(v.fetched_at),
                "title": v.title,
                "content_sha256": v.content_sha256,
                "word_count": v.word_count,
                "changes": v.changes,
            }
            for v in versions
        ],
    }
    if texts:
        for out, v in zip(member["versions"], versions, strict=True):
            out["text"] = v.text
    return member


def _timeline(session: Session, story_id: int) -> list[dict[str, Any]]:
    """The story's events with their article's outlet, URL and title, as rows (see above)."""
    table = StoryEvent.__table__
    events = session.execute(
        select(*table.c, Article.outlet, Article.url, Article.title)
        .join(Article, Article.id == table.c.article_id)
        .where(table.c.story_id == story_id)
        .order_by(table.c.at, table.c.id)
    )
    return [
        {
            "at": iso(e.at),
            "outlet": e.outlet,
            "url": e.url,
            "title": e.title,
            "event": e.event,
            "article_version": e.article_version,
            "story_version": e.story_version,
        }
        for e in events
    ]
