"""sources: learned interval, reason of the next check, format, robots override

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 07:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN, not a batch operation: on SQLite a batch copies the table and
    # drops the old one, and with foreign keys on that deletes (cascade) every source's entries.
    op.add_column("sources", sa.Column("learned_interval_s", sa.Float(), nullable=True))
    op.add_column("sources", sa.Column("next_check_reason", sa.String(length=64), nullable=True))
    op.add_column("sources", sa.Column("format", sa.String(length=32), nullable=True))
    op.add_column(
        "sources", sa.Column("obey_robots", sa.Boolean(), nullable=False, server_default=sa.true())
    )


def downgrade() -> None:
    # Not a batch operation: on SQLite that copies the table and drops the old one, and with
    # foreign keys on, dropping it deletes (cascade) every source's entries. SQLite has had
    # DROP COLUMN since 3.35.
    for column in ("obey_robots", "format", "next_check_reason", "learned_interval_s"):
        op.execute(f"ALTER TABLE sources DROP COLUMN {column}")
