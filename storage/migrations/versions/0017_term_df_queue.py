"""term_df_queue: each stored version's change to the document frequencies, folded in batches

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 05:30:00

A version's transaction wrote its few hundred terms to ``term_df`` itself: an upsert a term and,
on SQLite, the table's pages written to the log at every commit (the round's thread: about 1 ms
of its 8 a page, benchmarks/README.md). It now writes one row here, which the table and this
queue count together until a later transaction folds a batch of rows into the table
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
