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

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, aliased

from storage.models import Article, ArticleVersion, StoryArticle, StoryEvent
from storage.stories import story_by_slug
from storage.storyfile import day_only_event, time_order


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
    return Outline(
        slug=story.slug,
        title=story.title,
        version=story.version,
        updated_at=story.updated_at,
        members=_members(session, story.id),
        events=_events(session, story.id),
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


def _events(session: Session, story_id: int) -> list[Event]:
    """The story's events in the story file's time order: by time, then id (the database
    sorts them so), unless a report is known only by its day (``storyfile.time_order``)."""
    e, a = StoryEvent.__table__.c, Article.__table__.c
    rows: Any = session.execute(
        select(
            e.id, e.article_id, e.at, e.event, e.article_version, a.outlet, a.url, a.title,
            # a time read only where it may matter: reading 20,000 of them cost 40 ms
            case((a.published_precision == "day", a.published_at)).label("published_at"),
            a.published_precision,
        )
        .join(Article.__table__, a.id == e.article_id)
        .where(e.story_id == story_id)
        .order_by(e.at, e.id)
    )  # fmt: skip
    events = [Event._make(row) for row in rows.all()]
    if not any(day_only_event(e) for e in events):
        return events
    return [events[i] for i in time_order(events)]
