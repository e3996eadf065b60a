"""story_facts: each story's facts, as found at its current version

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 05:00:00

Finding a story's facts reads every member's newest text and compares their sentences: about
3 s at 5,000 articles, more than the whole rest of the story file's export. Facts change only
when the story does, and every change makes a story version, so they are found once per version
(after the round, redecide or backfill that made it) and kept here; an export at that version
reads them, an export at a newer one finds them afresh.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "story_facts",
        sa.Column("story_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("story_version", sa.Integer(), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=False),
        sa.Column("found_at", storage.types.UTCDateTime(length=32), nullable=False),
        sa.ForeignKeyConstraint(["story_id"], ["stories.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("story_id"),
    )


def downgrade() -> None:
    op.drop_table("story_facts")
