"""The digest outbox: digests built and recorded before they are sent, one per recipient, story
and period (``digest_outbox``), with the events each showed (``digest_events``).

Building: ``lock_story`` first, inside the write transaction that records the digests. On
PostgreSQL the UPDATE holds the story's row until commit, so a second builder waits, then
(READ COMMITTED: each statement sees what committed before it) finds the digests the first
recorded and builds nothing; on SQLite the transaction's BEGIN IMMEDIATE already serialises the
builders. The unique (story, recipient, period) is the last guard.

Sending: ``claim_next`` takes one due digest with a conditional UPDATE (pending and due, or
sending with an expired lease: its sender died), as ``storage.queue`` claims sources; of several
senders exactly one changes the row. The outcome is recorded only by the sender whose claim it
still is.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, CursorResult, and_, exists, func, or_, select, update
from sqlalchemy.orm import Session

from storage.db import WriteSession, upsert_insert
from storage.models import Digest, DigestEvent, Story, StoryEvent

# How long a claimed digest is its sender's: one SMTP delivery (30 s timeouts) and the record
# take seconds; a sender that died is replaced after this, and the resend carries the same
# Message-ID, so a mail system that got the first copy can drop the second.
DIGEST_LEASE = timedelta(minutes=10)

# Links written per statement: a backfill's digest can show tens of thousands of events.
_BATCH = 1000

STATES = ("pending", "sending", "sent", "failed")


@dataclass(frozen=True)
class Claimed:
    """A digest this sender holds until ``until``: what to send and to whom."""

    id: int
    recipient: str
    story_slug: str
    period: datetime
    created_at: datetime
    message: bytes
    message_id: str
    attempts: int
    until: datetime


def lock_story(session: WriteSession, story_id: int, *, now: datetime) -> None:
    """Serialise the builders of one story's digests until this transaction ends (see the
    module's docstring); ``digest_claimed_until`` keeps when they were last built."""
    session.execute(update(Story).where(Story.id == story_id).values(digest_claimed_until=now))


def _of(story_id: int, recipient: str) -> ColumnElement[bool]:
    return and_(Digest.story_id == story_id, Digest.recipient == recipient)


def last_period(session: Session, story_id: int, recipient: str) -> datetime | None:
    """The period of the recipient's latest digest of the story, whatever its state."""
    return session.scalar(select(func.max(Digest.period)).where(_of(story_id, recipient)))


def _unshown(story_id: int, recipient: str) -> ColumnElement[bool]:
    shown = (
        select(DigestEvent.event_id)
        .join(Digest, Digest.id == DigestEvent.digest_id)
        .where(DigestEvent.event_id == StoryEvent.id, _of(story_id, recipient))
    )
    return and_(StoryEvent.story_id == story_id, ~exists(shown))


def has_unshown(session: Session, story_id: int, recipient: str) -> bool:
    """Whether the story has an event none of the recipient's digests showed."""
    query = select(exists().where(_unshown(story_id, recipient)))
    return bool(session.scalar(query))


def unshown(session: Session, story_id: int, recipient: str) -> list[StoryEvent]:
    """The story's events none of the recipient's digests showed, whatever their ids (ids are
    not commit order on PostgreSQL), in id order."""
    query = select(StoryEvent).where(_unshown(story_id, recipient)).order_by(StoryEvent.id)
    return list(session.scalars(query))


def all_events(session: Session, story_id: int) -> list[StoryEvent]:
    """Every event of the story, in id order (a preview of a first digest)."""
    query = select(StoryEvent).where(StoryEvent.story_id == story_id).order_by(StoryEvent.id)
    return list(session.scalars(query))


def first_unshown_at(session: Session, story_id: int, recipient: str) -> datetime | None:
    """When the oldest event the recipient has not been shown was recorded."""
    query = select(func.min(StoryEvent.recorded_at)).where(_unshown(story_id, recipient))
    return session.scalar(query)


def add(
    session: WriteSession,
    *,
    story_id: int,
    recipient: str,
    period: datetime,
    now: datetime,
    message_id: str,
    subject: str,
    message: bytes,
    event_ids: Sequence[int],
) -> int | None:
    """Record a built digest (pending, due now) and the events it shows; None when the
    recipient already has the story's digest of ``period``."""
    insert = upsert_insert(session, Digest).values(
        story_id=story_id,
        recipient=recipient,
        period=period,
        created_at=now,
        state="pending",
        attempts=0,
        next_attempt_at=now,
        message_id=message_id,
        subject=subject,
        message=message,
        events=len(event_ids),
    )
    digest_id = session.scalar(
        insert.on_conflict_do_nothing(index_elements=["story_id", "recipient", "period"]).returning(
            Digest.id
        )
    )
    if digest_id is None:
        return None
    ids = sorted(event_ids)
    for start in range(0, len(ids), _BATCH):
        rows = [{"digest_id": digest_id, "event_id": e} for e in ids[start : start + _BATCH]]
        session.execute(upsert_insert(session, DigestEvent).values(rows).on_conflict_do_nothing())
    return int(digest_id)


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(
        and_(Digest.state == "pending", Digest.next_attempt_at <= now),
        and_(Digest.state == "sending", Digest.claimed_until <= now),
    )


def due_ids(session: Session, *, now: datetime, limit: int = 100) -> list[int]:
    """Digests waiting to be sent now (oldest first), or abandoned by a sender that died."""
    query = select(Digest.id).where(_due(now)).order_by(Digest.next_attempt_at, Digest.id)
    return list(session.scalars(query.limit(limit)))


def claim(
    session: WriteSession, digest_id: int, *, now: datetime, lease: timedelta = DIGEST_LEASE
) -> Claimed | None:
    """Take the digest to send it until ``now + lease``; None when another sender has it or it
    is no longer due. One conditional UPDATE: of two senders, one changes the row."""
    until = now + lease
    result = session.execute(
        update(Digest)
        .where(Digest.id == digest_id, _due(now))
        .values(state="sending", claimed_until=until, attempts=Digest.attempts + 1)
    )
    assert isinstance(result, CursorResult)
    if result.rowcount != 1:
        return None
    row = session.execute(
        select(Digest, Story.slug)
        .join(Story, Story.id == Digest.story_id)
        .where(Digest.id == digest_id)
    ).one()
    d, slug = row
    return Claimed(
        d.id, d.recipient, slug, d.period, d.created_at, d.message, d.message_id, d.attempts, until
    )


def _mine(session: WriteSession, c: Claimed, **values: object) -> bool:
    result = session.execute(
        update(Digest)
        .where(Digest.id == c.id, Digest.state == "sending", Digest.claimed_until == c.until)
        .values(claimed_until=None, **values)
    )
    assert isinstance(result, CursorResult)
    return result.rowcount == 1


def record_sent(
    session: WriteSession, c: Claimed, *, now: datetime, reply: str, delivered_to: str
) -> bool:
    """The server accepted it (or the file is written): sent, with the reply."""
    return _mine(session, c, state="sent", sent_at=now, last_reply=reply, delivered_to=delivered_to)


def record_retry(session: WriteSession, c: Claimed, *, reply: str, retry_at: datetime) -> bool:
    """Refused for now (4xx, no connection, a timeout): pending again from ``retry_at``."""
    return _mine(session, c, state="pending", next_attempt_at=retry_at, last_reply=reply)


def record_failed(session: WriteSession, c: Claimed, *, reply: str) -> bool:
    """Refused for good (5xx), or refused for now for too long: failed, never retried."""
    return _mine(session, c, state="failed", last_reply=reply)


@dataclass(frozen=True)
class Status:
    id: int
    story: str
    recipient: str
    period: datetime
    state: str
    attempts: int
    next_attempt_at: datetime
    sent_at: datetime | None
    last_reply: str | None
    message_id: str
    subject: str
    events: int
    delivered_to: str | None


def status(session: Session) -> list[Status]:
    """Every digest, newest first, with its state, attempts and the last reply."""
    rows = session.execute(
        select(Digest, Story.slug)
        .join(Story, Story.id == Digest.story_id)
        .order_by(Digest.period.desc(), Digest.id.desc())
    )
    return [
        Status(
            d.id,
            slug,
            d.recipient,
            d.period,
            d.state,
            d.attempts,
            d.next_attempt_at,
            d.sent_at,
            d.last_reply,
            d.message_id,
            d.subject,
            d.events,
            d.delivered_to,
        )
        for d, slug in rows
    ]


def by_state(session: Session) -> dict[str, int]:
    """Digests by state (pending, sending, sent, failed), every state named."""
    rows = session.execute(select(Digest.state, func.count()).group_by(Digest.state))
    counts = {state: 0 for state in STATES}
    counts.update({state: int(n) for state, n in rows})
    return counts
