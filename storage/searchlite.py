"""SQLite's FTS5 for storage.search: the external-content table ``version_search`` (0014),
BM25, FTS5's snippets. FTS5 walks a word's list of versions fast (the 97,000 versions holding
"said" of a 100,000-article archive: 4 ms), but BM25 and the join to a version and its article
cost some 5 µs a row: ranking all 97,000 took 250 ms, hence storage.searchsql.bounded.

The query reaches FTS5 as storage.searchquery renders it: quoted words only; a prefix also
looks for the words storage.searchprefix makes, quoted the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnClause, bindparam, column, func, literal_column, select
from sqlalchemy import table as sql_table
from sqlalchemy.orm import Session

from storage import searchprefix, searchquery, searchsql
from storage.searchquery import Query
from storage.searchsql import Matching, Ranked, Where, bounded

# The marks around a matched word in a snippet (storage.search.unmark reads them).
OPEN, CLOSE = "\x02", "\x03"
SNIPPET_TOKENS = 24

index = sql_table("version_search", column("rowid"))
_INDEX: ColumnClause[Any] = literal_column("version_search")
# The query reaches FTS5 as the bound parameter ``match`` (storage.searchsql's statements are
# built once per shape of search).
_MATCH = _INDEX.op("MATCH")(bindparam("match"))
_SCORE = -func.bm25(_INDEX, 4.0, 1.0)


def ranked(
    session: Session,
    query: Query,
    where: Where,
    *,
    limit: int,
    offset: int,
    filtered: bool,
    span: tuple[int, int] | None = None,
) -> Ranked:
    """The page from ``offset`` of the versions matching ``query`` and ``conditions``, best
    first by BM25 (the title weighing 4 times the text), with bounded work
    (storage.searchsql.bounded)."""
    seeks = not _has_prefix(query)
    # A phrase or several terms: 7,000-51,000 matches counted in 3.6-4.2 ms, their runs read in
    # 1.6-2.4 (100,000 articles, benchmarks/search.py).
    runs_from = searchsql.RUNS_FROM if _one_word(query) else searchsql.RANK_ALL
    matching = Matching(
        index,
        index.c.rowid,
        _MATCH,
        _SCORE,
        seeks=seeks,
        runs_from=runs_from,
        params={"match": match(query)},
        shape=("fts5", seeks, runs_from),
    )
    return bounded(
        session, matching, where, limit=limit, offset=offset, filtered=filtered, span=span
    )


def match(query: Query) -> str:
    """The MATCH expression of ``query``, a prefix also finding the words stemmed shorter than
    it (storage.searchprefix, with Porter's algorithm, that of the ``porter`` tokenizer)."""
    return searchquery.fts5(query, lambda prefix: searchprefix.completions(prefix, "porter"))


def _one_word(query: Query) -> bool:
    """Whether ``query`` is a single word to find (nothing excluded)."""
    terms = searchquery.required_terms(query)
    return len(terms) == 1 and len(terms[0].words) == 1 and not query.excluded


def _has_prefix(query: Query) -> bool:
    return any(t.prefix for t in [*searchquery.required_terms(query), *query.excluded])


def snippets(session: Session, query: Query, ids: Sequence[int]) -> dict[int, str]:
    """FTS5's snippet of each version's text (column 1), for the page only: computed in the
    ranking query, it would be made for every match."""
    if not ids:
        return {}
    # The range bounds FTS5's walk of the word lists. The IN is on ``rowid + 0``, which SQLite
    # cannot hand to FTS5: given ``rowid IN (...)`` it ran the whole MATCH once per id (a
    # prefix query's 20 snippets took 41 ms instead of 4) and dropped the range.
    params = {"match": match(query), "low": min(ids), "high": max(ids), "ids": list(ids)}
    rows = session.execute(_SNIPPETS, params)
    return {rowid: text or "" for rowid, text in rows}


_SNIPPETS = (
    select(index.c.rowid, func.snippet(_INDEX, 1, OPEN, CLOSE, "…", SNIPPET_TOKENS))
    .select_from(index)
    .where(
        _MATCH,
        index.c.rowid.between(bindparam("low"), bindparam("high")),
        (index.c.rowid + 0).in_(bindparam("ids", expanding=True)),
    )
)
