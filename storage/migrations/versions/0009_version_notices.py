"""The page's own notices on each version

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 01:00:00

article_versions.notices: the correction and update notices the page showed when the version
was fetched (monitor.extract.notices), each ``{"kind", "text"}``. A change is announced when the
new page shows a notice the previous one did not, and silent otherwise, so the previous
version's notices must be kept: the HTML is kept only when ``[storage] keep_html`` is on, and
parsing it again on every re-check would cost more than the extraction.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # ADD COLUMN, never a batch operation (see 0007 and 0008).
    op.add_column(
        "article_versions",
        sa.Column("notices", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
    )


def downgrade() -> None:
    op.execute("ALTER TABLE article_versions DROP COLUMN notices")
