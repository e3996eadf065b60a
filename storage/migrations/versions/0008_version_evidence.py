"""Versions with their evidence and what changed; redirects; event details

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 01:00:00

article_versions: the sentence alignment with the previous version (``diff``), the change
kinds with their evidence (``kinds``), the earlier version a text returns to (``returns_to``),
the byline (``authors``), and the evidence of the fetch that found it: HTTP status, ETag,
Last-Modified, the final URL and the page's HTML, compressed (``html``, ``html_size`` its size
before compression). articles: the URL the last fetch ended at (``final_url``) and where a
tracked article started redirecting (``redirected_to``). story_events: what each event changed
(``detail``: the decision, the change kinds, a redirect's target), so that a story can be
rebuilt as it stood at any of its versions.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_VERSION_COLUMNS: tuple[sa.Column[Any], ...] = (
    sa.Column("diff", sa.JSON(), nullable=True),
    sa.Column("kinds", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
    sa.Column("returns_to", sa.Integer(), nullable=True),
    sa.Column("authors", sa.JSON(), nullable=False, server_default=sa.text("'[]'")),
    sa.Column("http_status", sa.Integer(), nullable=True),
    sa.Column("etag", sa.String(512), nullable=True),
    sa.Column("last_modified", sa.String(64), nullable=True),
    sa.Column("final_url", sa.String(2048), nullable=True),
    sa.Column("html", sa.LargeBinary(), nullable=True),
    sa.Column("html_size", sa.Integer(), nullable=True),
)
_ARTICLE_COLUMNS: tuple[sa.Column[Any], ...] = (
    sa.Column("final_url", sa.String(2048), nullable=True),
    sa.Column("redirected_to", sa.String(2048), nullable=True),
)


def upgrade() -> None:
    # ADD COLUMN, never a batch operation: on SQLite a batch copies the table and drops the old
    # one, and with foreign keys on the drop deletes every row pointing at it (see 0007).
    for column in _VERSION_COLUMNS:
        op.add_column("article_versions", column)
    for column in _ARTICLE_COLUMNS:
        op.add_column("articles", column)
    op.add_column(
        "story_events",
        sa.Column("detail", sa.JSON(), nullable=False, server_default=sa.text("'{}'")),
    )


def downgrade() -> None:
    op.execute("ALTER TABLE story_events DROP COLUMN detail")
    for column in reversed(_ARTICLE_COLUMNS):
        op.execute(f"ALTER TABLE articles DROP COLUMN {column.name}")
    for column in reversed(_VERSION_COLUMNS):
        op.execute(f"ALTER TABLE article_versions DROP COLUMN {column.name}")
