"""search on PostgreSQL: a partial GIN index per configuration, and the filters' indexes

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 22:30:00

PostgreSQL only (SQLite: nothing to do). A version matches the query of its own configuration,
``(config = 'english' AND vector @@ q_english) OR ...`` (storage.searchpg). Under 0014's one
GIN index of every row, the planner could not tell which configuration a row found there has,
so it read every found row's tsvector again to check it (a word in 3,000 versions: 15,000
buffers and 18 ms, on a tsvector kept out of line, of 3 KB on average). Under one partial
index per configuration (``WHERE config = 'english'``, the names written into the statements)
a row found is a match, and a word's rows are read for their ids alone (4 ms).

The date filters' span (storage.search) reads the first and last version id of each article
in the dates: an index of ``article_versions`` on (article_id, id) gives them without the
table (8,600 articles: 12 ms, where the planner scanned the whole table: 35-100 ms).

The outlet filter (``lower(outlet) = :outlet``) had no index: the planner scanned the 100,000
articles for the 2,000 of an outlet (20 ms) in each statement that needed them; one on
``lower(outlet)`` finds them (a page's older matches in one outlet: 52 -> 17 ms).

The existing archive's indexes are built here (100,000 articles: some 10 s).
"""

from __future__ import annotations

from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

CONFIGS = ("english", "french", "simple")  # storage.searchpg.CONFIGS, as 0014's trigger picks


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in CONFIGS:
        op.execute(
            f"CREATE INDEX ix_version_search_{name} ON version_search USING gin (vector)"
            f" WHERE config = '{name}'"
        )
    op.execute("DROP INDEX ix_version_search_vector")
    op.execute("CREATE INDEX ix_versions_search_span ON article_versions (article_id, id)")
    op.execute("CREATE INDEX ix_articles_outlet_folded ON articles (lower(outlet))")
    # The planner's statistics: the configurations, for the partial indexes; lower(outlet),
    # kept for an index on an expression only. Without them an outlet was guessed at 3 rows
    # of 2,000 and a page's window joined its 1,000 ids to them in a nested loop (160 ms).
    op.execute("ANALYZE version_search")
    op.execute("ANALYZE articles")


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP INDEX ix_articles_outlet_folded")
    op.execute("DROP INDEX ix_versions_search_span")
    op.execute("CREATE INDEX ix_version_search_vector ON version_search USING gin (vector)")
    for name in CONFIGS:
        op.execute(f"DROP INDEX ix_version_search_{name}")
