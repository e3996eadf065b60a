"""search index: version_search (FTS5 on SQLite, tsvector and GIN on PostgreSQL)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 10:00:00

``monitor search`` was a LIKE over every version's folded text: a full scan per query, no
ranking. Each version's title and text now go into a full-text index that the database keeps
itself, by triggers on ``article_versions``, in the transaction that stores the version (the
write path is unchanged and stays one transaction; racing writers are serialised by the
database as for any insert):

- SQLite: an external-content FTS5 table (the text is not stored twice), tokenizer
  ``porter unicode61 remove_diacritics 2`` (SQLite 3.27 or newer, built with FTS5).
- PostgreSQL: a table of tsvectors in the configuration the article's language picks
  (``english``, ``french``, else ``simple``; title weight A, text B) under a GIN index.

The column ``search_text`` (every version's title and text folded again, for the LIKE) goes:
the index replaces it, and it was a second copy of every text.

An existing archive is indexed here in batches of BATCH versions, each logged, so a large
archive shows progress (on PostgreSQL the GIN index is built once, after the rows).
"""

from __future__ import annotations

import logging
import sqlite3

import sqlalchemy as sa
from alembic import op

from storage.errors import DatabaseError

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

logger = logging.getLogger("storage.migrations.0014")
BATCH = 5000
# The first characters of a text that PostgreSQL indexes (a tsvector holds at most 1 MB);
# storage.searchpg.MAX_CHARS says the same for snippets.
PG_MAX_CHARS = 200_000

_SQLITE = [
    "CREATE VIRTUAL TABLE version_search USING fts5(title, text, content='article_versions',"
    " content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER version_search_insert AFTER INSERT ON article_versions BEGIN"
    " INSERT INTO version_search (rowid, title, text) VALUES (new.id, new.title, new.text); END",
    "CREATE TRIGGER version_search_delete AFTER DELETE ON article_versions BEGIN"
    " INSERT INTO version_search (version_search, rowid, title, text)"
    " VALUES ('delete', old.id, old.title, old.text); END",
    "CREATE TRIGGER version_search_update AFTER UPDATE OF title, text ON article_versions BEGIN"
    " INSERT INTO version_search (version_search, rowid, title, text)"
    " VALUES ('delete', old.id, old.title, old.text);"
    " INSERT INTO version_search (rowid, title, text) VALUES (new.id, new.title, new.text); END",
]

_POSTGRES = [
    "CREATE TABLE version_search (version_id BIGINT PRIMARY KEY"
    " REFERENCES article_versions (id) ON DELETE CASCADE,"
    " config VARCHAR(16) NOT NULL, vector TSVECTOR NOT NULL)",
    # The configuration of an article's language: en, en-GB -> english; fr -> french.
    "CREATE FUNCTION version_search_config(language TEXT) RETURNS TEXT"
    " LANGUAGE sql IMMUTABLE AS $$ SELECT CASE"
    " WHEN lower(language) ~ '^en(-|$)' THEN 'english'"
    " WHEN lower(language) ~ '^fr(-|$)' THEN 'french' ELSE 'simple' END $$",
    "CREATE FUNCTION version_search_vector(config TEXT, title TEXT, body TEXT) RETURNS TSVECTOR"
    " LANGUAGE sql IMMUTABLE AS $$ SELECT"
    " setweight(to_tsvector(config::regconfig, coalesce(title, '')), 'A')"
    f" || setweight(to_tsvector(config::regconfig, left(body, {PG_MAX_CHARS})), 'B') $$",
    "CREATE FUNCTION version_search_index() RETURNS TRIGGER LANGUAGE plpgsql AS $$"
    " DECLARE cfg TEXT; BEGIN"
    " SELECT version_search_config(a.language) INTO cfg FROM articles a"
    " WHERE a.id = NEW.article_id;"
    " cfg := coalesce(cfg, 'simple');"
    " INSERT INTO version_search (version_id, config, vector)"
    " VALUES (NEW.id, cfg, version_search_vector(cfg, NEW.title, NEW.text))"
    " ON CONFLICT (version_id) DO UPDATE SET config = EXCLUDED.config, vector = EXCLUDED.vector;"
    " RETURN NULL; END $$",
    "CREATE TRIGGER version_search_index AFTER INSERT OR UPDATE OF title, text"
    " ON article_versions FOR EACH ROW EXECUTE FUNCTION version_search_index()",
]

_BACKFILL = {
    "sqlite": "INSERT INTO version_search (rowid, title, text) SELECT id, title, text"
    " FROM article_versions WHERE id > :after AND id <= :upto",
    "postgresql": "INSERT INTO version_search (version_id, config, vector)"
    " SELECT v.id, c.config, version_search_vector(c.config, v.title, v.text)"
    " FROM article_versions v JOIN articles a ON a.id = v.article_id,"
    " LATERAL (SELECT version_search_config(a.language) AS config) c"
    " WHERE v.id > :after AND v.id <= :upto",
}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        _check_fts5(bind)
    for statement in _SQLITE if bind.dialect.name == "sqlite" else _POSTGRES:
        op.execute(statement)
    _backfill(bind)
    if bind.dialect.name == "postgresql":
        op.execute("CREATE INDEX ix_version_search_vector ON version_search USING gin (vector)")
    # Search's date filters (storage.search): when an article came out, as they read it.
    op.execute("CREATE INDEX ix_articles_when ON articles (coalesce(published_at, first_seen_at))")
    # Plain ALTER TABLE (SQLite 3.35+), not a batch copy of the table (see 0012).
    op.execute("ALTER TABLE article_versions DROP COLUMN search_text")


def _check_fts5(bind: sa.Connection) -> None:
    """A clear message where this SQLite cannot hold the index (remove_diacritics 2: 3.27)."""
    version = bind.exec_driver_sql("SELECT sqlite_version()").scalar_one()
    has_fts5 = bind.exec_driver_sql("SELECT sqlite_compileoption_used('ENABLE_FTS5')").scalar_one()
    if tuple(int(p) for p in version.split(".")[:2]) < (3, 27) or not has_fts5:
        raise DatabaseError(
            f"SQLite {version} (Python's sqlite3 module {sqlite3.sqlite_version}) has no FTS5 "
            "or is older than 3.27: the search index needs both; use a Python built with a "
            "newer SQLite, or PostgreSQL"
        )


def _backfill(bind: sa.Connection) -> None:
    """Index the versions already stored, BATCH at a time, logging the progress."""
    total = bind.exec_driver_sql("SELECT count(*) FROM article_versions").scalar_one()
    done, after = 0, 0
    while True:
        upto = bind.execute(
            sa.text(
                "SELECT max(id) FROM (SELECT id FROM article_versions WHERE id > :after"
                " ORDER BY id LIMIT :n) batch"
            ),
            {"after": after, "n": BATCH},
        ).scalar_one()
        if upto is None:
            break
        done += bind.execute(
            sa.text(_BACKFILL[bind.dialect.name]), {"after": after, "upto": upto}
        ).rowcount
        after = upto
        logger.info("search index: %d of %d versions indexed", done, total)


def downgrade() -> None:
    op.drop_index("ix_articles_when", table_name="articles")
    # Left empty: 0001's LIKE search finds nothing in versions stored meanwhile.
    op.add_column(
        "article_versions",
        sa.Column("search_text", sa.Text(), nullable=False, server_default=""),
    )
    if op.get_bind().dialect.name == "sqlite":
        for name in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER version_search_{name}")
        op.execute("DROP TABLE version_search")
        return
    op.execute("DROP TRIGGER version_search_index ON article_versions")
    op.execute("DROP TABLE version_search")
    for function in (
        "version_search_index()",
        "version_search_vector(TEXT, TEXT, TEXT)",
        "version_search_config(TEXT)",
    ):
        op.execute(f"DROP FUNCTION {function}")
