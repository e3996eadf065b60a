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
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.add_column(sa.Column("learned_interval_s", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("next_check_reason", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("format", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("obey_robots", sa.Boolean(), nullable=False, server_default=sa.true())
        )


def downgrade() -> None:
    with op.batch_alter_table("sources", schema=None) as batch_op:
        batch_op.drop_column("obey_robots")
        batch_op.drop_column("format")
        batch_op.drop_column("next_check_reason")
        batch_op.drop_column("learned_interval_s")
