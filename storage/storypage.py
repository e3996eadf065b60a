"""What ``monitor serve``'s story page shows of a story, read directly: its members (the
article's fields, the decision, what it copies, how many versions) and its timeline's events,
without a version's text, diff or kinds (the article page shows those).

The story file (``storage.storyfile.build``) reads every version of every member: at 5,000
members and 20,000 versions that took 1.6 CPU s, for a page that shows a count of them. The
rows here are the story file's, in its order (members in publication order, events in its
time order), and a test holds the page made from them equal to the one made from the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from storage.models import Article, ArticleVersion, StoryArticle, StoryEvent
from storage.stories import story_by_slug
from storage.storyfile import time_order


class Member(NamedTuple):
    """An article of the story (never an off-topic one) as the story page lists it."""

    id: int
    url: str
    outlet: str
    domain: str
    title: str | None
    published_at: datetime | None
    published_precision: str | None
    first_seen_at: datetime
    status: str
    relation: str
    copy_of: str | None  # the URL of the article it copies
    versions: int


class Event(NamedTuple):
    """A timeline event with its article's outlet, URL and title; ``published_at`` only when
    known to the day alone (it places such a report as the story file does)."""

    id: int
    article_id: int
    at: datetime
    event: str
    article_version: int | None
    outlet: str
    url: str
    title: str | None
    published_at: datetime | None
    published_precision: str | None


@dataclass(frozen=True)
class Outline:
    slug: str
    title: str
    version: int
    updated_at: datetime | None
    members: list[Member]
    events: list[Event]


def outline(session: Session, slug: str) -> Outline | None:
    """The story page's rows of ``slug``, or None if there is no such story."""
    story = story_by_slug(session, slug)
    if story is None:
        return None
    members = _members(session, story.id)
    return Outline(
        slug=story.slug,
        title=story.title,
        version=story.version,
        updated_at=story.updated_at,
        members=members,
        events=_events(session, story.id, {m.id: m for m in members}),
    )


def _members(session: Session, story_id: int) -> list[Member]:
    """The members in publication order (first seen, for the undated), then by id: the story
    file's order."""
    original = aliased(Article)
    counted = (
        select(func.count())
        .where(ArticleVersion.article_id == Article.id)
        .correlate(Article)
        .scalar_subquery()
    )
    rows = session.execute(
        select(
            Article.id, Article.url, Article.outlet, Article.domain, Article.title,
            Article.published_at, Article.published_precision, Article.first_seen_at,
            Article.status, StoryArticle.relation, original.url.label("copy_of"),
            counted.label("versions"),
        )
        .join(StoryArticle, StoryArticle.article_id == Article.id)
        .outerjoin(original, original.id == StoryArticle.copy_of_id)
        .where(StoryArticle.story_id == story_id, StoryArticle.relation != "off_topic")
    )  # fmt: skip
    members = [Member._make(row) for row in rows.all()]  # positional: _mapping took a third
    return sorted(members, key=lambda m: (m.published_at or m.first_seen_at, m.id))


def _events(session: Session, story_id: int, members: dict[int, Member]) -> list[Event]:
    """The story's events in the story file's time order: by time, then id (the database
    sorts them so), unless a report is known only by its day (``storyfile.time_order``).
    Their articles' fields are the members' (joining the articles to 20,000 events doubled
    the query), read only for articles outside the story now (a dropped one)."""
    e = StoryEvent.__table__.c
    rows = session.execute(
        select(e.id, e.article_id, e.at, e.event, e.article_version)
        .where(e.story_id == story_id)
        .order_by(e.at, e.id)
    ).all()
    articles: dict[int, Any] = {
        **members,
        **_others(session, {r[1] for r in rows} - members.keys()),
    }
    events, by_day = [], False
    for event_id, article_id, at, event, version in rows:  # positional: a 20,000-row loop
        a = articles[article_id]
        day = a.published_at if a.published_precision == "day" else None
        by_day = by_day or day == at
        events.append(Event(event_id, article_id, at, event, version, a.outlet, a.url, a.title,
                            day, a.published_precision))  # fmt: skip
    if not by_day:  # no report known only by its day (storyfile.day_only_event)
        return events
    return [events[i] for i in time_order(events)]


def _others(session: Session, ids: set[int]) -> dict[int, Any]:
    """The outlet, URL, title and publication time of the articles ``ids``."""
    found: dict[int, Any] = {}
    wanted = sorted(ids)
    for start in range(0, len(wanted), 5_000):  # SQLite binds at most 32,766 parameters
        found |= {
            row.id: row
            for row in session.execute(
                select(Article.id, Article.outlet, Article.url, Article.title,
                       Article.published_at, Article.published_precision)
                .where(Article.id.in_(wanted[start : start + 5_000]))
            )
        }  # fmt: skip
    return found
