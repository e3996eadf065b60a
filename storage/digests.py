"""Digests: which events each story's digests showed, the events no digest has shown yet, and
the claim a sender holds on a story while it composes, delivers and records one.

An event is covered by marking (``StoryEvent.digest_id``), not by an id watermark: ids are not
commit order on PostgreSQL, so an event committed after a digest covered a higher id must still
go into the next one. The claim is a lease (``Story.digest_claimed_until``) taken with a
conditional UPDATE, as ``storage.queue`` claims sources: one sender per story at a time, and a
crashed sender's claim ends by itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import CursorResult, exists, func, or_, select, update
from sqlalchemy.orm import Session

from storage.db import WriteSession
from storage.models import (
    Digest,
    Story,
    StoryEvent,
)

# How long a story's digest is one sender's: composing, one SMTP delivery (30 s timeouts) and
# recording take seconds; a sender that died is replaced after this.
DIGEST_LEASE = timedelta(minutes=10)

# Events marked per statement: a backfill's digest can show tens of thousands, more than one
# statement may bind on SQLite.
_MARK_BATCH = 1000


def last_digest(session: Session, story_id: int) -> Digest | None:
    return session.scalar(
        select(Digest).where(Digest.story_id == story_id).order_by(Digest.id.desc()).limit(1)
    )


def has_undigested(session: Session, story_id: int) -> bool:
    """Whether the story has an event no digest has shown (checked before claiming, so a tick
    with nothing to send writes nothing)."""
    return bool(
        session.scalar(
            select(exists().where(StoryEvent.story_id == story_id, StoryEvent.digest_id.is_(None)))
        )
    )


def undigested(session: Session, story_id: int) -> list[StoryEvent]:
    """The story's events no digest has shown yet, whatever their ids, in id order."""
    return list(
        session.scalars(
            select(StoryEvent)
            .where(StoryEvent.story_id == story_id, StoryEvent.digest_id.is_(None))
            .order_by(StoryEvent.id)
        )
    )


def claim(
    session: WriteSession, story_id: int, *, now: datetime, lease: timedelta = DIGEST_LEASE
) -> datetime | None:
    """Claim the story's digest until ``now + lease``; None when another sender holds it.

    A conditional UPDATE: of two senders, the second finds the claim set (SQLite serialises the
    writes; PostgreSQL re-reads the row after the first commits) and changes no row.
    """
    until = now + lease
    result = session.execute(
        update(Story)
        .where(
            Story.id == story_id,
            or_(Story.digest_claimed_until.is_(None), Story.digest_claimed_until <= now),
        )
        .values(digest_claimed_until=until)
    )
    assert isinstance(result, CursorResult)
    return until if result.rowcount == 1 else None


def release(session: WriteSession, story_id: int, until: datetime) -> None:
    """Give back a claim taken until ``until``; one another sender took over since (this one's
    lease ended) holds another time and is left alone."""
    session.execute(
        update(Story)
        .where(Story.id == story_id, Story.digest_claimed_until == until)
        .values(digest_claimed_until=None)
    )


def record_digest(
    session: WriteSession,
    *,
    story_id: int,
    created_at: datetime,
    event_ids: Sequence[int],
    recipients: list[str],
    delivered_to: str,
    claimed_until: datetime,
) -> int:
    """A digest delivered, showing the events ``event_ids``: they are marked with it, in the
    same transaction, and the claim is released. Returns the digest's id."""
    digest = Digest(
        story_id=story_id,
        created_at=created_at,
        last_event_id=max(event_ids),
        events=len(event_ids),
        recipients=recipients,
        delivered_to=delivered_to,
    )
    session.add(digest)
    session.flush()
    ids = sorted(event_ids)
    for start in range(0, len(ids), _MARK_BATCH):
        session.execute(
            update(StoryEvent)
            .where(
                StoryEvent.id.in_(ids[start : start + _MARK_BATCH]),
                StoryEvent.digest_id.is_(None),
            )
            .values(digest_id=digest.id)
        )
    release(session, story_id, claimed_until)
    return digest.id


def by_state(session: Session) -> dict[str, int]:
    """Digests by state: ``sent`` through SMTP, ``written`` to the outbox as .eml files, and
    ``pending``, the stories with events no digest has shown yet."""
    sent_by_smtp = Digest.delivered_to.like("smtp%")
    sent = session.scalar(select(func.count()).select_from(Digest).where(sent_by_smtp))
    written = session.scalar(select(func.count()).select_from(Digest).where(~sent_by_smtp))
    pending = session.scalar(
        select(func.count())
        .select_from(Story)
        .where(exists().where(StoryEvent.story_id == Story.id, StoryEvent.digest_id.is_(None)))
    )
    return {"sent": int(sent or 0), "written": int(written or 0), "pending": int(pending or 0)}
