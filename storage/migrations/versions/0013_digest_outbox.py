"""digest outbox: one digest per recipient, story and period, recorded before it is sent

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 09:40:00

A digest was recorded after it was delivered, one per story for every recipient at once, its
events marked on ``story_events.digest_id``: a crash between the delivery and the record sent it
again, and recipients could not have schedules of their own. ``digest_outbox`` holds each digest
built, with its whole message, before it is sent (pending, sending, sent, failed);
``digest_events`` says which events each showed, so each recipient's next digest of a story
starts after its own last one.

Backfill: each existing digest becomes one sent row per recipient it went to ("" when it went
to the outbox folder only), its period its creation time, linked to the events it marked. Then
``digests`` and ``story_events.digest_id`` are dropped.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = storage.types.UTCDateTime(length=32)


def upgrade() -> None:
    op.create_table(
        "digest_outbox",
        sa.Column("id", _ID, nullable=False),
        sa.Column("story_id", _ID, nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("period", _TIME, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _TIME, nullable=False),
        sa.Column("claimed_until", _TIME, nullable=True),
        sa.Column("sent_at", _TIME, nullable=True),
        sa.Column("last_reply", sa.Text(), nullable=True),
        sa.Column("message_id", sa.String(length=255), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("message", sa.LargeBinary(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("delivered_to", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["story_id"], ["stories.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("story_id", "recipient", "period", name="uq_digest_outbox_period"),
    )
    op.create_index("ix_digest_outbox_due", "digest_outbox", ["state", "next_attempt_at"])
    op.create_table(
        "digest_events",
        sa.Column("digest_id", _ID, nullable=False),
        sa.Column("event_id", _ID, nullable=False),
        sa.ForeignKeyConstraint(["digest_id"], ["digest_outbox.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["event_id"], ["story_events.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("digest_id", "event_id"),
    )
    op.create_index("ix_digest_events_event_id", "digest_events", ["event_id"])
    _copy_digests()
    op.drop_index("ix_story_events_digest", table_name="story_events")
    # SQLite has had DROP COLUMN since 3.35 (see 0007); plain ALTER, not a batch copy (0002).
    op.execute("ALTER TABLE story_events DROP COLUMN digest_id")
    op.drop_table("digests")


def _copy_digests() -> None:
    """Each old digest as sent rows, one per recipient, linked to the events it marked."""
    bind = op.get_bind()
    old = sa.table(
        "digests",
        sa.column("id", _ID),
        sa.column("story_id", _ID),
        sa.column("created_at", _TIME),
        sa.column("events", sa.Integer()),
        sa.column("recipients", sa.JSON()),
        sa.column("delivered_to", sa.Text()),
    )
    new = sa.table(
        "digest_outbox",
        *(sa.column(c) for c in ("id", "story_id", "recipient", "state", "attempts")),
        *(sa.column(c, _TIME) for c in ("period", "created_at", "next_attempt_at", "sent_at")),
        *(sa.column(c) for c in ("message_id", "subject", "message", "events", "delivered_to")),
    )
    taken: dict[tuple[int, str, object], int] = {}
    for row in bind.execute(sa.select(old).order_by(old.c.id)).mappings():
        for recipient in row["recipients"] or [""]:
            key = (row["story_id"], recipient, row["created_at"])
            if key not in taken:
                taken[key] = bind.execute(
                    sa.insert(new)
                    .values(
                        story_id=row["story_id"],
                        recipient=recipient,
                        period=row["created_at"],
                        created_at=row["created_at"],
                        state="sent",
                        attempts=1,
                        next_attempt_at=row["created_at"],
                        sent_at=row["created_at"],
                        message_id="",
                        subject="",
                        message=b"",
                        events=row["events"],
                        delivered_to=row["delivered_to"],
                    )
                    .returning(new.c.id)
                ).scalar_one()
            bind.execute(
                sa.text(
                    "INSERT INTO digest_events (digest_id, event_id)"
                    " SELECT :new, id FROM story_events WHERE digest_id = :old"
                ),
                {"new": taken[key], "old": row["id"]},
            )


def downgrade() -> None:
    op.create_table(
        "digests",
        sa.Column("id", _ID, nullable=False),
        sa.Column("story_id", _ID, nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.Column("recipients", sa.JSON(), nullable=False),
        sa.Column("delivered_to", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["story_id"], ["stories.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.add_column("story_events", sa.Column("digest_id", _ID, nullable=True))
    # The sent digests as old ones (their ids kept), each event marked with the first that
    # showed it; what was pending or failed is shown again by the next digest.
    _uncopy_digests()
    op.execute(
        "UPDATE story_events SET digest_id = (SELECT MIN(e.digest_id) FROM digest_events e"
        " JOIN digest_outbox d ON d.id = e.digest_id"
        " WHERE e.event_id = story_events.id AND d.state = 'sent')"
    )
    op.create_index("ix_story_events_digest", "story_events", ["story_id", "digest_id"])
    op.drop_index("ix_digest_events_event_id", table_name="digest_events")
    op.drop_table("digest_events")
    op.drop_index("ix_digest_outbox_due", table_name="digest_outbox")
    op.drop_table("digest_outbox")


def _uncopy_digests() -> None:
    """The sent digests as old ones, their ids and recipient kept."""
    bind = op.get_bind()
    old = sa.table(
        "digests",
        *(sa.column(c) for c in ("id", "story_id", "last_event_id", "events", "delivered_to")),
        sa.column("created_at", _TIME),
        sa.column("recipients", sa.JSON()),
    )
    new = sa.table(
        "digest_outbox",
        *(sa.column(c) for c in ("id", "story_id", "events", "recipient", "delivered_to", "state")),
        sa.column("created_at", _TIME),
    )
    links = sa.table("digest_events", sa.column("digest_id"), sa.column("event_id"))
    last = (
        sa.select(sa.func.coalesce(sa.func.max(links.c.event_id), 0))
        .where(links.c.digest_id == new.c.id)
        .scalar_subquery()
    )
    query = sa.select(new, last.label("last_event_id")).where(new.c.state == "sent")
    rows = bind.execute(query.order_by(new.c.id)).mappings()
    for row in list(rows):
        bind.execute(
            sa.insert(old).values(
                id=row["id"],
                story_id=row["story_id"],
                created_at=row["created_at"],
                last_event_id=row["last_event_id"],
                events=row["events"],
                recipients=[row["recipient"]] if row["recipient"] else [],
                delivered_to=row["delivered_to"] or "",
            )
        )
