"""lsh_buckets: the LSH index as one row per bucket instead of one row per (key, version)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 12:00:00

A lookup now reads one row per band instead of every version filed under each key (storage.lsh).
The new table is filled when the application next starts (monitor.app), from the stored
signatures: the migration forgets the geometry the old table was built with, which is what
starts that rebuild.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.drop_table("lsh_bands")
    op.create_table(
        "lsh_buckets",
        sa.Column("story_id", _ID, nullable=False),
        sa.Column("band", sa.SmallInteger(), nullable=False),
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column("members", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(["story_id"], ["stories.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("story_id", "band", "key"),
        sqlite_with_rowid=False,
    )
    op.execute("DELETE FROM meta WHERE name = 'lsh_geometry'")


def downgrade() -> None:
    op.drop_table("lsh_buckets")
    op.create_table(
        "lsh_bands",
        sa.Column("story_id", _ID, nullable=False),
        sa.Column("band", sa.SmallInteger(), nullable=False),
        sa.Column("key", sa.BigInteger(), nullable=False),
        sa.Column("article_id", _ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["story_id"], ["stories.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["article_id"], ["articles.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("story_id", "band", "key", "article_id", "version"),
        sqlite_with_rowid=False,
    )
    op.execute("DELETE FROM meta WHERE name = 'lsh_geometry'")
