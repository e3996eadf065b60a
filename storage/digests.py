"""Digests: what each story's last digest covered, and the events since."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.db import WriteSession
from storage.models import (
    Digest,
    StoryEvent,
)


def last_digest(session: Session, story_id: int) -> Digest | None:
    return session.scalar(
        select(Digest).where(Digest.story_id == story_id).order_by(Digest.id.desc()).limit(1)
    )


def events_after(session: Session, story_id: int, after_id: int) -> list[StoryEvent]:
    return list(
        session.scalars(
            select(StoryEvent)
            .where(StoryEvent.story_id == story_id, StoryEvent.id > after_id)
            .order_by(StoryEvent.id)
        )
    )


def record_digest(
    session: WriteSession,
    *,
    story_id: int,
    created_at: datetime,
    last_event_id: int,
    events: int,
    recipients: list[str],
    delivered_to: str,
) -> None:
    """A digest delivered: the story's next one starts after ``last_event_id``."""
    session.add(
        Digest(
            story_id=story_id,
            created_at=created_at,
            last_event_id=last_event_id,
            events=events,
            recipients=recipients,
            delivered_to=delivered_to,
        )
    )
