"""story_labels: the analyst's labels, and each story's threshold fitted from them

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 04:00:00

A label says an article is in a story or out of it, whatever the matcher computes. Every label
is a row (``in``, ``out``, or ``clear``, which withdraws the article's label): the newest row
of an article counts, and the older ones are its history. ``stories.fitted_threshold`` is the
story threshold fitted from the labels (``monitor.match.fit``); null when the story has none.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "story_labels",
        sa.Column("id", _ID, nullable=False),
        sa.Column("story_id", _ID, nullable=False),
        sa.Column("article_id", _ID, nullable=False),
        sa.Column("value", sa.String(length=8), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("labelled_at", storage.types.UTCDateTime(length=32), nullable=False),
        sa.ForeignKeyConstraint(["story_id"], ["stories.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_story_labels_article", "story_labels", ["story_id", "article_id", "id"])
    # Plain ALTER TABLE, not a batch operation: on SQLite a batch copies the table and drops the
    # old one, and with foreign keys on that deletes (cascade) every story's decisions (0002).
    op.add_column("stories", sa.Column("fitted_threshold", sa.Float(), nullable=True))


def downgrade() -> None:
    # SQLite has had DROP COLUMN since 3.35 (see 0007).
    op.execute("ALTER TABLE stories DROP COLUMN fitted_threshold")
    op.drop_index("ix_story_labels_article", table_name="story_labels")
    op.drop_table("story_labels")
