"""Stories and their timeline: configuration sync, the story version, events."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from storage.db import WriteSession, insert_row
from storage.models import (
    Article,
    Story,
    StoryArticle,
    StoryEvent,
)


def sync_story(
    session: WriteSession, *, slug: str, title: str, keywords: list[str], now: datetime
) -> Story:
    story = session.scalar(select(Story).where(Story.slug == slug))
    if story is None:
        story = Story(
            slug=slug, title=title, keywords=keywords, version=0, created_at=now, updated_at=now
        )
        session.add(story)
    else:
        story.title, story.keywords = title, keywords
    session.flush()
    return story


def story_by_slug(session: Session, slug: str) -> Story | None:
    return session.scalar(select(Story).where(Story.slug == slug))


def story_by_id(session: Session, story_id: int) -> Story:
    return session.get_one(Story, story_id)


@dataclass(frozen=True)
class StorySummary:
    slug: str
    title: str
    version: int
    updated_at: datetime
    outlets: int
    articles: int
    copies: int
    off_topic: int


def list_stories(session: Session) -> list[StorySummary]:
    out = []
    for story in session.scalars(select(Story).order_by(Story.slug)):
        counts = dict(
            session.execute(
                select(StoryArticle.relation, func.count())
                .where(StoryArticle.story_id == story.id)
                .group_by(StoryArticle.relation)
            ).all()
        )
        outlets = (
            session.scalar(
                select(func.count(func.distinct(Article.outlet)))
                .join(StoryArticle, StoryArticle.article_id == Article.id)
                .where(StoryArticle.story_id == story.id, StoryArticle.relation != "off_topic")
            )
            or 0
        )
        out.append(
            StorySummary(
                story.slug,
                story.title,
                story.version,
                story.updated_at,
                outlets,
                sum(n for r, n in counts.items() if r != "off_topic"),
                counts.get("copy", 0),
                counts.get("off_topic", 0),
            )
        )
    return out


def bump_story(session: WriteSession, story_id: int, now: datetime) -> int:
    """Add one to the story's version, atomically: concurrent writers never reuse a number."""
    version = session.execute(
        update(Story)
        .where(Story.id == story_id)
        .values(version=Story.version + 1, updated_at=now)
        .returning(Story.version)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    story = session.get(Story, story_id)
    if story is not None:
        session.expire(story, ["version", "updated_at"])
    return int(version)


def add_event(
    session: WriteSession,
    *,
    story_id: int,
    article_id: int,
    event: str,
    at: datetime,
    now: datetime,
    article_version: int | None,
    detail: dict[str, Any] | None = None,
) -> StoryEvent:
    """Append a timeline event; every event is a change, so the story version grows.
    ``detail`` says what it changed, enough to rebuild the story as it stood at this version
    (``storage.history``)."""
    version = bump_story(session, story_id, now)
    return insert_row(
        session,
        StoryEvent,
        dict(
            story_id=story_id,
            article_id=article_id,
            event=event,
            at=at,
            recorded_at=now,
            article_version=article_version,
            story_version=version,
            detail=dict(detail or {}),
        ),
    )


def add_events(
    session: WriteSession,
    story_ids: Iterable[int],
    *,
    article_id: int,
    event: str,
    at: datetime,
    now: datetime,
    article_version: int | None,
    detail: dict[str, Any] | None = None,
) -> None:
    """The same event of one article on the timeline of each of ``story_ids`` (an update, a
    removal or a redirect reaches every story the article is in)."""
    for story_id in story_ids:
        add_event(
            session,
            story_id=story_id,
            article_id=article_id,
            event=event,
            at=at,
            now=now,
            article_version=article_version,
            detail=detail,
        )
