"""articles.claimed_until: a re-check's claim, held while its page is fetched

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 13:10:00

Claims of due articles moved ``next_check_at`` out of reach; a claim by id (two feeds listing
one article as changed, in two processes) ignored it and could fetch the page twice.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "articles", sa.Column("claimed_until", storage.types.UTCDateTime(length=32), nullable=True)
    )


def downgrade() -> None:
    # Not a batch operation: on SQLite that copies the table and drops the old one, and with
    # foreign keys on, dropping it deletes every article's versions and decisions (cascade).
    # SQLite has had DROP COLUMN since 3.35.
    op.execute("ALTER TABLE articles DROP COLUMN claimed_until")
