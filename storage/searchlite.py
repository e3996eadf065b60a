"""SQLite's FTS5 for storage.search: ranking with bounded work.

FTS5 walks a word's list of versions fast (the 97,000 versions holding "said" of a
100,000-article archive: 4 ms), but BM25 and the join to a version and its article, which
every filter needs, cost some 5 µs a row: ranking all 97,000 took 250 ms. So:

- a query matching at most RANK_ALL versions (before filters; counted first, 0.1-5 ms) is
  ranked whole: every match, filtered, scored and sorted; the total is exact;
- a query matching more is ranked among its newest WINDOW matches (by version id, which is
  storing order), filters applied; its later pages go on past them, newest first. Its total
  is an estimate (``Ranked.exact`` False): the matches counted by FTS5 times the share of a
  sample of them that the filters keep, the sample spread over the whole archive (a date
  filter keeps none of the newest matches and many of the others).

The query reaches FTS5 as storage.searchquery renders it: quoted words only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    ColumnClause,
    ColumnElement,
    and_,
    case,
    column,
    func,
    literal_column,
    select,
)
from sqlalchemy import table as sql_table
from sqlalchemy.orm import Session

from storage import searchquery
from storage.searchquery import Query
from storage.searchsql import Ranked, joined, version

RANK_ALL = 2_000
WINDOW = 1_000
SAMPLE = 1_000
# The marks around a matched word in a snippet (storage.search.unmark reads them).
OPEN, CLOSE = "\x02", "\x03"
SNIPPET_TOKENS = 24

index = sql_table("version_search", column("rowid"))
_INDEX: ColumnClause[Any] = literal_column("version_search")


def ranked(
    session: Session,
    query: Query,
    conditions: list[ColumnElement[bool]],
    *,
    limit: int,
    offset: int,
    filtered: bool,
) -> Ranked:
    """The page from ``offset`` of the versions matching ``query`` and ``conditions``, best
    first; ``filtered``: conditions other than the newest-version one are given."""
    match = _INDEX.op("MATCH")(searchquery.fts5(query))
    # Counted up to RANK_ALL + 1 only: a common word's whole list takes 4 ms to walk.
    first = select(index.c.rowid).where(match).limit(RANK_ALL + 1).subquery()
    if (session.scalar(select(func.count()).select_from(first)) or 0) <= RANK_ALL:
        rows = _scored(session, match, conditions)
        return Ranked(rows[offset : offset + limit], len(rows))
    matches = session.scalar(select(func.count()).select_from(index).where(match)) or 0
    boundary = session.scalar(
        select(index.c.rowid)
        .where(match)
        .order_by(index.c.rowid.desc())
        .limit(1)
        .offset(WINDOW - 1)
    )
    window = _scored(session, match, [*conditions, index.c.rowid >= boundary])
    page = window[offset : offset + limit]
    if len(page) < limit:
        older = session.execute(
            joined(
                index,
                index.c.rowid,
                [*conditions, match, index.c.rowid < boundary],
                version.c.id,
                -func.bm25(_INDEX, 4.0, 1.0),
            )
            .order_by(index.c.rowid.desc())
            .limit(limit - len(page))
            .offset(max(0, offset - len(window)))
        ).all()
        page = page + [(vid, float(score)) for vid, score in older]
        if len(page) < limit and (page or offset == 0):  # the end: the total is known
            return Ranked(page, offset + len(page))
    if not conditions:  # every version, no filter: FTS5's count is the total
        return Ranked(page, matches)
    kept = len(window) / WINDOW if not filtered else _kept(session, match, conditions, matches)
    return Ranked(page, max(round(matches * kept), offset + len(page)), exact=False)


def _scored(
    session: Session, match: Any, conditions: list[ColumnElement[bool]]
) -> list[tuple[int, float]]:
    """Every version matching and kept, with its BM25 score (the title weighs 4 times the
    text), best first. Sorted here: SQLite refuses FTS5's functions beside a window function,
    and the rows are at most RANK_ALL."""
    score = -func.bm25(_INDEX, 4.0, 1.0)
    rows = session.execute(joined(index, index.c.rowid, [*conditions, match], version.c.id, score))
    out = [(vid, float(s)) for vid, s in rows]
    out.sort(key=lambda r: (-r[1], -r[0]))
    return out


def _kept(session: Session, match: Any, conditions: list[ColumnElement[bool]], n: int) -> float:
    """The share of the matches that ``conditions`` keep, from about SAMPLE of them spread
    over the archive (every k-th version id)."""
    step = max(1, n // SAMPLE)
    sample = joined(
        index,
        index.c.rowid,
        [match, index.c.rowid % step == 0],
        func.count(),
        func.sum(case((and_(*conditions), 1), else_=0)),
    )
    seen, kept = session.execute(sample).one()
    return (kept or 0) / seen if seen else 0.0


def snippets(session: Session, query: Query, ids: Sequence[int]) -> dict[int, str]:
    """FTS5's snippet of each version's text (column 1), for the page only: computed in the
    ranking query, it would be made for every match."""
    if not ids:
        return {}
    snippet = func.snippet(_INDEX, 1, OPEN, CLOSE, "…", SNIPPET_TOKENS)
    # The range bounds the walk of the word lists (FTS5 reads it; it does not read IN).
    rows = session.execute(
        select(index.c.rowid, snippet)
        .select_from(index)
        .where(
            _INDEX.op("MATCH")(searchquery.fts5(query)),
            index.c.rowid.between(min(ids), max(ids)),
            index.c.rowid.in_(ids),
        )
    )
    return {rowid: text or "" for rowid, text in rows}
