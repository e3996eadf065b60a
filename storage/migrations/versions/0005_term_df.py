"""term_df: document frequencies of the story stage's terms over the archive

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 10:00:00

Filled when the application starts (monitor.app), from the stored texts, because what a term is
belongs to the matching code (monitor.match_story.TERMS_VERSION).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "term_df",
        sa.Column("term", sa.Text(), nullable=False),
        sa.Column("df", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("term"),
    )


def downgrade() -> None:
    op.drop_table("term_df")
