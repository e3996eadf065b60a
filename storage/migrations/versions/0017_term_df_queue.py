"""term_df_queue: each stored version's change to the document frequencies, folded in batches

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 05:30:00

A version's transaction upserted each of its few hundred terms into ``term_df`` itself, and on
SQLite wrote the table's pages they touched to the log at every commit (about 1 CPU ms a page of
the round's thread, benchmarks/README.md). It now writes one row here; the table and this queue
count together until a transaction of its own folds a batch of rows into the table
(storage.termstats).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "term_df_queue",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("added", sa.Text(), nullable=False),
        sa.Column("removed", sa.Text(), nullable=False),
        sa.Column("docs", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sqlite_autoincrement=True,
    )


def downgrade() -> None:
    op.drop_table("term_df_queue")
