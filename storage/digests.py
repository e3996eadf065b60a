"""Digests: what each story's last digest covered, and the events since."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from storage.db import WriteSession
from storage.models import (
    Digest,
    Story,
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


def by_state(session: Session) -> dict[str, int]:
    """Digests by state: ``sent`` through SMTP, ``written`` to the outbox as .eml files, and
    ``pending``, the stories with events no digest has covered yet."""
    sent_by_smtp = Digest.delivered_to.like("smtp%")
    sent = session.scalar(select(func.count()).select_from(Digest).where(sent_by_smtp))
    written = session.scalar(select(func.count()).select_from(Digest).where(~sent_by_smtp))
    covered = (
        select(func.coalesce(func.max(Digest.last_event_id), 0))
        .where(Digest.story_id == Story.id)
        .scalar_subquery()
    )
    pending = session.scalar(
        select(func.count())
        .select_from(Story)
        .where(exists().where(StoryEvent.story_id == Story.id, StoryEvent.id > covered))
    )
    return {"sent": int(sent or 0), "written": int(written or 0), "pending": int(pending or 0)}
