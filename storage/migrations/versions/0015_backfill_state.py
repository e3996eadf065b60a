"""Backfills from web archives: the answered requests, and where a version came from

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 09:30:00

archive_requests: every request a backfill made to a web archive or a news search service that
was answered (a capture, a CDX listing, an article list, or a definite "no": 404, 410), keyed
by the SHA-256 of its URL, with the answer's status, the URL it ended at and its body
(gzipped). A backfill asks this table before the network, so a second run (after a stop, a
budget spent, a SIGKILL) continues where the first stopped and asks for nothing twice.

article_versions.evidence: where the version's text was read: null for the outlet's own page
(a live fetch), ``wayback`` for a capture of the Wayback Machine.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "archive_requests",
        sa.Column("url_sha256", sa.String(64), primary_key=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("final_url", sa.Text(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("answered_at", storage.types.UTCDateTime(length=32), nullable=False),
    )
    # ADD COLUMN, never a batch operation (see 0008).
    op.add_column("article_versions", sa.Column("evidence", sa.String(16), nullable=True))


def downgrade() -> None:
    op.execute("ALTER TABLE article_versions DROP COLUMN evidence")
    op.drop_table("archive_requests")
