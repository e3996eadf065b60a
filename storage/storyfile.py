"""The story file: what each outlet reported and when, every version, and the timeline.

``build`` returns plain JSON-ready data; its schema is documented in docs/story-file.md and is a
public contract: add keys freely, change or remove one only with a CHANGELOG entry.
``build_as_of`` returns the file as it stood at an earlier story version or time, rebuilt from
the timeline's events (``storage.history``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Result, Row, select
from sqlalchemy.orm import Session, selectinload

from storage import details, history
from storage.facts import FactFinder, facts_at
from storage.models import Article, ArticleVersion, StoryArticle, StoryEvent
from storage.outlets import summarise
from storage.stories import story_by_slug

SCHEMA_VERSION = 1

# Version columns the story file never shows: the folded search copy, the MinHash signature and
# the page as fetched; the text only for ``texts=True``. The current file reads versions as
# plain rows (every other column, so a column added to the table is there too): building ORM
# objects for tens of thousands of them took most of the time (benchmarks/storyfile_export.py).
_UNREAD_VERSION_COLUMNS = frozenset({"text", "minhash", "html"})
# A version as the story file reads it: an ORM row (the file as of a version) or a plain row.
VersionRow = ArticleVersion | Row[Any]


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def build(
    session: Session,
    slug: str,
    *,
    facts: FactFinder | None = None,
    texts: bool = False,
    threshold: float | None = None,
) -> dict[str, Any] | None:
    """The story file of ``slug``, or None if there is no such story. With ``facts``
    (``monitor.match.facts.story_facts``: storage never imports monitor) it carries the
    story's facts, found in the members' newest texts (storage.facts). ``texts=True`` adds
    each version's ``text``, which the HTML page diffs; the JSON export leaves it out (it would
    hold every text of every outlet, many times the file's size). ``threshold``: the story's
    configured story threshold (the configuration's, which storage does not read), shown beside
    the one fitted from its labels."""
    story = story_by_slug(session, slug)
    if story is None:
        return None
    outlets: dict[str, dict[str, Any]] = {}
    off_topic = []
    versions = _versions(session, story.id, texts=texts)
    for row in _decisions(session, story.id, with_versions=False):
        a = row.article
        if row.relation == "off_topic":
            off_topic.append(_off_topic(row))
            continue
        outlet = outlets.setdefault(
            a.outlet, {"name": a.outlet, "domain": a.domain, "articles": []}
        )
        outlet["articles"].append(_member(row, versions[row.article_id], texts=texts))
    summarise(list(outlets.values()))
    out = {
        "schema": SCHEMA_VERSION,
        "story": story.slug,
        "title": story.title,
        "keywords": story.keywords,
        "version": story.version,
        "updated_at": iso(story.updated_at),
        "story_threshold": {"configured": threshold, "fitted": story.fitted_threshold},
        "outlets": list(outlets.values()),
        "timeline": _timeline(_event_rows(session, story.id), lambda e: e.title),
        "off_topic": off_topic,
        "facts": None if facts is None else facts_at(session, story.id, story.version, facts),
    }
    return out


def build_as_of(
    session: Session, slug: str, when: int | datetime, *, texts: bool = False
) -> dict[str, Any] | None:
    """The story file of ``slug`` as it stood at story version ``when`` (or at a time: the
    newest version recorded by then), or None if there is no such story. NoSuchPoint
    (``storage.history``) for a version the story has not reached or a time before it existed.
    Keys this does not rebuild (``canonical_url``, ``language``, the story's title) are as
    stored now; docs/story-file.md lists what is rebuilt."""
    story = story_by_slug(session, slug)
    if story is None:
        return None
    events = history.events_of(session, story.id)
    rows = _decisions(session, story.id, with_versions=True)
    state = history.rebuild(rows, events, history.point(story, events, when))
    at = state.point
    outlets: dict[str, dict[str, Any]] = {}
    off_topic = []
    titles: dict[int, str | None] = {}
    for row in rows:
        a = row.article
        then = state.articles.get(a.id)
        if then is not None and then.relation != "off_topic":
            entry = _member_then(row, then, at, texts=texts)
            titles[a.id] = entry["title"]
            outlet = outlets.setdefault(
                a.outlet, {"name": a.outlet, "domain": a.domain, "articles": []}
            )
            outlet["articles"].append(entry)
        elif a.id in state.off_topic:
            title = _title_by(a, at)
            then_match = state.off_topic[a.id]
            off_topic.append(
                _off_topic(row)
                | {"title": title, "match": then_match, "label": label_of(then_match)}
            )
    summarise(list(outlets.values()))
    return {
        "schema": SCHEMA_VERSION,
        "story": story.slug,
        "title": story.title,
        "keywords": story.keywords,
        "version": at.version,
        "updated_at": iso(at.updated_at),
        # Labels and the threshold fitted from them make no story version: only today's is known.
        "story_threshold": {"configured": None, "fitted": None},
        "outlets": list(outlets.values()),
        "timeline": _timeline(
            [_flat(e) for e in state.events],
            lambda e: (
                titles[e.article_id] if e.article_id in titles else _title_by(e.article_row, at)
            ),
        ),
        "off_topic": off_topic,
        "facts": None,  # found in the members' texts as they stand now, not as they stood
    }


def _member_then(
    row: StoryArticle, then: history.Then, at: history.Point, *, texts: bool
) -> dict[str, Any]:
    """A member's entry as it stood at ``at``: today's entry with the decision, the versions,
    the title, byline and dateModified, and the removal of then."""
    a = row.article
    entry = _member(row, a.versions, texts=texts)
    newest = _older_version(a, then.version)
    removed = then.removed_at
    if removed is None and a.status == "removed" and a.removed_at and at.made_by(a.removed_at):
        removed = a.removed_at  # taken down while outside the story: no event of it here
    entry.update(
        relation=then.relation,
        copy_of=then.copy_of,
        copy_of_outlet=then.copy_of_outlet,
        similarity=then.similarity,
        match=then.match,
        label=label_of(then.match),
        status="removed" if removed else ("ok" if a.status == "removed" else a.status),
        removed_at=iso(removed),
    )
    if newest is not None:
        entry["versions"] = [v for v in entry["versions"] if v["version"] <= newest.version]
        entry["title"] = newest.title or a.title
        entry["authors"] = newest.authors or a.authors
        entry["updated_at"] = then.updated_at if then.updated_known else None
    return entry


def _older_version(article: Article, number: int | None) -> ArticleVersion | None:
    """The article's newest version up to ``number``, unless that is its newest of all (None):
    then the article's own fields are as they were."""
    if number is None or not article.versions or number >= article.versions[-1].version:
        return None
    older = [v for v in article.versions if v.version <= number]
    return older[-1] if older else None


def _title_by(article: Article, at: history.Point) -> str | None:
    """The title of an article outside the story at ``at``: its newest version's fetched by then."""
    fetched = [v for v in article.versions if at.made_by(v.fetched_at)]
    if not fetched or fetched[-1] is article.versions[-1]:
        return article.title
    return fetched[-1].title or article.title


def _decisions(session: Session, story_id: int, *, with_versions: bool) -> list[StoryArticle]:
    """Every decision of the story with its article (and its versions as ORM objects, which
    the file as of a version needs), in publication order (first seen, for the undated)."""
    article = selectinload(StoryArticle.article)
    rows = session.scalars(
        select(StoryArticle)
        .where(StoryArticle.story_id == story_id)
        .options(
            article.selectinload(Article.versions) if with_versions else article,
            selectinload(StoryArticle.copy_of),
        )
    ).all()
    return sorted(
        rows, key=lambda r: (r.article.published_at or r.article.first_seen_at, r.article.id)
    )


def _versions(session: Session, story_id: int, *, texts: bool) -> dict[int, list[Row[Any]]]:
    """Every version of the story's members, oldest first, by article id, as plain rows."""
    table = ArticleVersion.__table__
    skipped = _UNREAD_VERSION_COLUMNS - ({"text"} if texts else set())
    rows: Result[Any] = session.execute(
        select(
            *(c for c in table.c if c.name not in skipped),
            table.c.html.is_not(None).label("html_kept"),
        )
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
        "label": label_of(row.match),
    }


def label_of(match: dict[str, Any] | None) -> dict[str, Any] | None:
    """The analyst's label that decided (``{value, note, at}``), None when the matcher did."""
    if not match or match.get("kind") != "label":
        return None
    label = match.get("label")
    return label if isinstance(label, dict) else None


def _member(row: StoryArticle, versions: Sequence[VersionRow], *, texts: bool) -> dict[str, Any]:
    """One article of an outlet: the article, the decision and every version (with its text
    when ``texts``)."""
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
        "copy_of_outlet": row.copy_of.outlet if row.copy_of is not None else None,
        "similarity": round(row.similarity, 4) if row.similarity is not None else None,
        "match": row.match,
        "label": label_of(row.match),
        "redirected_to": a.redirected_to,
        "versions": [_version(v) for v in versions],
    }
    if texts:
        for out, v in zip(member["versions"], versions, strict=True):
            out["text"] = v.text
    return member


def _version(v: VersionRow) -> dict[str, Any]:
    """One version: its text's identity, what it changed and the evidence of its fetch (never
    the page itself: ``storage.articles.version_html`` reads it)."""
    return {
        "version": v.version,
        "fetched_at": iso(v.fetched_at),
        "title": v.title,
        "content_sha256": v.content_sha256,
        "word_count": v.word_count,
        "changes": v.changes,
        "diff": v.diff,
        "kinds": v.kinds,
        "returns_to": v.returns_to,
        "authors": v.authors,
        "notices": v.notices,
        "evidence": {
            "http_status": v.http_status,
            "etag": v.etag,
            "last_modified": v.last_modified,
            "final_url": v.final_url,
            "html_size": v.html_size,
            "html_kept": v.html_kept,
            # Where the text was read: null for the outlet's page, "wayback" for a capture.
            "archive": v.evidence,
        },
    }


@dataclass(frozen=True)
class _Event:
    """A timeline event with what the file shows of its article, read as a plain row for the
    file as it stands (ORM objects for 20,000 events took most of the build), or from the ORM
    for the file as of a version, which needs the article's versions for its title then."""

    id: int
    article_id: int
    at: datetime
    recorded_at: datetime
    event: str
    article_version: int | None
    story_version: int
    detail: dict[str, Any]
    outlet: str
    url: str
    title: str | None
    published_at: datetime | None
    published_precision: str | None
    article_row: Any = None  # the Article, on the ORM path


def _event_rows(session: Session, story_id: int) -> list[_Event]:
    """The story's events with their article's fields, in one query, as plain rows."""
    e, a = StoryEvent.__table__.c, Article.__table__.c
    rows = session.execute(
        select(
            e.id, e.article_id, e.at, e.recorded_at, e.event, e.article_version,
            e.story_version, e.detail, a.outlet, a.url, a.title, a.published_at,
            a.published_precision,
        )
        .join(Article.__table__, a.id == e.article_id)
        .where(e.story_id == story_id)
        .order_by(e.story_version, e.id)
    )  # fmt: skip
    return [_Event(**row._mapping) for row in rows]


def _flat(e: StoryEvent) -> _Event:
    a = e.article
    return _Event(
        e.id, e.article_id, e.at, e.recorded_at, e.event, e.article_version, e.story_version,
        e.detail, a.outlet, a.url, a.title, a.published_at, a.published_precision, a,
    )  # fmt: skip


def _timeline(
    events: Sequence[_Event], title: Callable[[_Event], str | None]
) -> list[dict[str, Any]]:
    """The events as the story file shows them, ``title`` giving each article's title, in time
    order; an event known only by its date (a bare ``published_at``) where its 00:00 would
    read as the first report of the day: after that day's timed first reports and copies, but
    before the article's own later events (its update cannot precede its report)."""
    return [_event(events[i], title(events[i])) for i in time_order(events)]


def time_order(events: Sequence[Any]) -> list[int]:
    """The indexes of ``events`` (each with the attributes of an ``_Event``: ``id``,
    ``article_id``, ``at``, ``event``, ``published_at``, ``published_precision``) in the story
    file's time order; ``storage.storypage`` orders its lean events by it too."""
    day_only = [day_only_event(e) for e in events]
    placed = day_only_times(events, day_only)
    return sorted(
        range(len(events)), key=lambda i: (placed.get(i, events[i].at), day_only[i], events[i].id)
    )


def day_only_event(e: Any) -> bool:
    """An article's report known only by its date: a bare ``published_at``, at 00:00."""
    return bool(
        e.event in history.MEMBER_EVENTS
        and e.published_precision == "day"
        and e.published_at is not None
        and e.at == e.published_at
    )


def day_only_times(events: Sequence[Any], day_only: list[bool]) -> dict[int, datetime]:
    """Where each day-only event sorts: at the latest timed first report or copy of its day
    that comes before its article's next event that day (else at its own 00:00)."""
    timed: dict[date, list[datetime]] = defaultdict(list)
    by_article: dict[int, list[Any]] = defaultdict(list)
    for e, day in zip(events, day_only, strict=True):
        by_article[e.article_id].append(e)
        if not day and e.event in history.MEMBER_EVENTS:
            timed[e.at.date()].append(e.at)
    placed: dict[int, datetime] = {}
    for i, (e, day) in enumerate(zip(events, day_only, strict=True)):
        if not day:
            continue
        own = [
            o.at for o in by_article[e.article_id] if o.id != e.id and o.at.date() == e.at.date()
        ]
        bound = min(own, default=None)
        fits = [t for t in timed[e.at.date()] if bound is None or t <= bound]
        placed[i] = max(fits, default=e.at)
    return placed


def _event(e: _Event, title: str | None) -> dict[str, Any]:
    return {
        "at": iso(e.at),
        "at_precision": "day" if day_only_event(e) else "time",
        "recorded_at": iso(e.recorded_at),
        "outlet": e.outlet,
        "url": e.url,
        "title": title,
        "event": e.event,
        "article_version": e.article_version,
        "story_version": e.story_version,
        "detail": details.public(e.detail or {}),
    }
