"""digests by marking: story_events.digest_id and stories.digest_claimed_until

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 05:00:00

A digest covered the events after its predecessor's ``last_event_id``. Ids are not commit
order on PostgreSQL (a transaction that took a lower id may commit after a digest covered a
higher one), so such an event was never in any digest; and two senders could both send one
story's digest. Each event now names the digest that showed it (``digest_id``, null: in none
yet), and a sender claims the story (``digest_claimed_until``, a lease) before it composes.

Backfill: every event an existing digest covered is marked with the digest of its story with
the smallest ``last_event_id`` that reaches it (the first to cover it), so the next digest
starts where the last one stopped.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Plain ALTER TABLE, not a batch operation: on SQLite a batch copies the table and drops the
    # old one, and with foreign keys on that deletes (cascade) rows that point at it (0002).
    op.add_column(
        "stories",
        sa.Column("digest_claimed_until", storage.types.UTCDateTime(length=32), nullable=True),
    )
    op.add_column("story_events", sa.Column("digest_id", _ID, nullable=True))
    # One index seek per event: the digest with the smallest last_event_id that reaches it
    # (the first to cover it; watermarks grew with the digests' ids). Without the index each
    # event scanned its story's digests: 0.78 s for 20,000 events and 1,000 digests (0.05 s
    # with it), growing with their product (benchmarks/digests.py). Dropped after: unused.
    op.create_index("ix_digests_backfill", "digests", ["story_id", "last_event_id", "id"])
    op.execute(
        "UPDATE story_events SET digest_id = ("
        " SELECT d.id FROM digests d"
        " WHERE d.story_id = story_events.story_id AND d.last_event_id >= story_events.id"
        " ORDER BY d.last_event_id, d.id LIMIT 1)"
    )
    op.drop_index("ix_digests_backfill", table_name="digests")
    op.create_index("ix_story_events_digest", "story_events", ["story_id", "digest_id"])


def downgrade() -> None:
    # SQLite has had DROP COLUMN since 3.35 (see 0007).
    op.drop_index("ix_story_events_digest", table_name="story_events")
    op.execute("ALTER TABLE story_events DROP COLUMN digest_id")
    op.execute("ALTER TABLE stories DROP COLUMN digest_claimed_until")
