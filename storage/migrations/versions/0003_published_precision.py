"""articles: the precision of published_at (day or time)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 08:25:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.add_column(sa.Column("published_precision", sa.String(length=8), nullable=True))


def downgrade() -> None:
    # Not a batch operation: on SQLite that drops the old table, and with foreign keys on that
    # deletes (cascade) every article's versions and decisions. DROP COLUMN: SQLite 3.35+.
    op.execute("ALTER TABLE articles DROP COLUMN published_precision")
