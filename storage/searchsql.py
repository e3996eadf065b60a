"""What storage.search and its two engines (storage.searchlite, storage.searchpg) share: the
tables as Core aliases, made once (building ORM aliases at every query took 5 ms of a rare
word's 7), and the ranking with bounded work.

Scoring a match (BM25, ts_rank_cd) and joining it to its version and article, which every
filter needs, costs per match: on SQLite some 5 µs (250 ms for a word in all of 100,000
articles), on PostgreSQL more (ts_rank_cd reads the whole tsvector). So ``bounded``:

- a query matching at most RANK_ALL versions (before filters; the newest RANK_ALL + 1 matches'
  ids are read first, which also says where the newest WINDOW begin) is ranked whole: every
  match, filtered, scored and sorted; the total is exact;
- a query matching more is ranked among its newest WINDOW matches (by version id, which is
  storing order), filters applied; its later pages go on past them, newest first. Its total
  is then an estimate (``Ranked.exact`` False): the matches times the share of them the
  filters keep, that share taken from the window when only the newest-version condition
  applies, else from a sample of about SAMPLE matches spread over the whole archive (a date
  filter keeps none of the newest matches and many of the others). The last page knows it.
  Where the index seeks (FTS5, no prefix term) the matches and the sample are read from
  RANGES short runs of version ids spread over the archive, not from a walk of every match
  (twice: to count them and to draw every k-th id); every version with no filter is counted.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from operator import itemgetter
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, select, union_all
from sqlalchemy.orm import Session

from storage.models import Article, ArticleVersion, Story, StoryArticle

RANK_ALL = 2_000
WINDOW = 1_000
SAMPLE = 1_000
RANGES = 16  # the runs of version ids a sample is read from, where the index seeks
# Below this many matches (guessed) walking them all is as cheap as seeking RANGES runs (some
# 40 ns a match against 16 cursors opened: about 1 ms either way at 25,000).
RUNS_FROM = 25_000

version = ArticleVersion.__table__.alias("v")
newest = ArticleVersion.__table__.alias("newest")
article = Article.__table__
member = StoryArticle.__table__
story = Story.__table__


@dataclass(frozen=True)
class Ranked:
    """A page of version ids with their scores, best first, and the total of the matches
    (``exact`` False: estimated, see storage.searchlite)."""

    page: list[tuple[int, float]]
    total: int
    exact: bool = True


def joined(
    matches: Any, key: Any, conditions: list[ColumnElement[bool]], *columns: Any
) -> Select[Any]:
    """``columns`` of the rows of ``matches`` (an index, its version id ``key``) joined to
    their version and article and kept by ``conditions``."""
    return (
        select(*columns)
        .select_from(matches)
        .join(version, version.c.id == key)
        .join(article, article.c.id == version.c.article_id)
        .where(*conditions)
    )


@dataclass(frozen=True)
class Matching:
    """How an engine finds and scores: its index (a table), the index's version id ``key``,
    the condition ``match`` on it and the ``score`` of a matching row (higher is better)."""

    index: Any
    key: Any
    match: ColumnElement[bool]
    score: ColumnElement[Any]
    # Whether counting every match is cheap (FTS5 walks its lists: 4 ms for 97,000); else
    # (a GIN index: 0.7 s, every match's row read) their number is estimated from the window.
    counts_cheaply: bool = True
    # Whether the index finds the matches in a range of version ids without walking the rest
    # (FTS5 seeks in its lists, except for a prefix query, whose lists it merges whole).
    seeks: bool = False
    # From how many matches (guessed) reading RANGES runs is cheaper than walking them all: a
    # word's walk is cheap (RUNS_FROM); a phrase's reads positions and several terms' merge
    # lists, and their runs won from a few thousand matches on (storage.searchlite).
    runs_from: int = RUNS_FROM


def bounded(
    session: Session,
    m: Matching,
    conditions: list[ColumnElement[bool]],
    *,
    limit: int,
    offset: int,
    filtered: bool,
    span: tuple[int, int] | None = None,
) -> Ranked:
    """The page from ``offset`` of the versions ``m`` matches and ``conditions`` keep, best
    first (see the module's docstring); ``filtered``: conditions other than the newest-version
    one are given; ``span``: the version ids outside it are not looked at (the date filters'
    articles' versions, storage.search)."""
    if span is not None:
        m = replace(m, match=and_(m.match, m.key.between(*span)))
    # One walk says both whether there are more than RANK_ALL matches and where the newest
    # WINDOW begin (two walks before: 2-3 ms of a prefix query, which merges word lists).
    newest = session.scalars(
        select(m.key).select_from(m.index).where(m.match).order_by(m.key.desc())
        .limit(RANK_ALL + 1)
    ).all()  # fmt: skip
    if len(newest) <= RANK_ALL:
        rows = _scored(session, m, conditions)
        return Ranked(rows[offset : offset + limit], len(rows))
    boundary = newest[WINDOW - 1]
    window = _scored(session, m, [*conditions, m.key >= boundary])
    page = window[offset : offset + limit]
    if len(page) < limit:
        older = session.execute(
            joined(m.index, m.key, [*conditions, m.match, m.key < boundary], version.c.id, m.score)
            .order_by(m.key.desc())
            .limit(limit - len(page))
            .offset(max(0, offset - len(window)))
        ).all()
        page = page + [(vid, float(score)) for vid, score in older]
        if len(page) < limit and (page or offset == 0):  # the end: the total is known
            return Ranked(page, offset + len(page))
    bounds = span or _ids(session)
    guess = _spread(bounds, newest[0], boundary)
    if m.seeks and conditions and guess >= m.runs_from:
        # Unfiltered (the newest-version condition alone): the runs count the matches and the
        # window gives the share of them that are newest versions, as with a count.
        total = _in_runs(session, m, conditions if filtered else [], guess, bounds)
        if total is not None:
            total = total if filtered else round(total * len(window) / WINDOW)
            return Ranked(page, max(total, offset + len(page)), exact=False)
    if m.counts_cheaply:
        matches = session.scalar(select(func.count()).select_from(m.index).where(m.match)) or 0
        if not conditions:  # every version, no filter: the count is the total
            return Ranked(page, matches)
    else:
        matches = guess
    kept = len(window) / WINDOW if not filtered else _kept(session, m, conditions, matches)
    return Ranked(page, max(round(matches * kept), offset + len(page)), exact=False)


def _spread(bounds: tuple[int, int], newest: int, boundary: int) -> int:
    """How many versions match, guessed from the window alone: its WINDOW matches times the
    archive's (or the span's) version ids over the window's, as if they were spread evenly (a
    word so common is found all along the archive)."""
    low, high = bounds
    return round(WINDOW * (int(high) - int(low) + 1) / max(1, newest - boundary + 1))


def _ids(session: Session) -> tuple[int, int]:
    """The archive's first and last version ids. Two subqueries: SQLite reads min() or max()
    of a key from its index only when alone (the two in one select scanned the table: 11 ms)."""
    ids = select(
        select(func.min(version.c.id)).scalar_subquery(),
        select(func.max(version.c.id)).scalar_subquery(),
    )
    low, high = session.execute(ids).one()
    return int(low), int(high)


def _scored(
    session: Session, m: Matching, conditions: list[ColumnElement[bool]]
) -> list[tuple[int, float]]:
    """Every version matching and kept, with its score, best first. Sorted here: SQLite
    refuses FTS5's functions beside a window function, and the rows are at most RANK_ALL."""
    rows = session.execute(joined(m.index, m.key, [*conditions, m.match], version.c.id, m.score))
    # Best score first, then newest; rows as read (a float from both engines): building 1,000
    # new tuples and sorting by a lambda took 1.0 ms, this 0.7.
    return sorted(rows.all(), key=itemgetter(1, 0), reverse=True)


def _kept(session: Session, m: Matching, conditions: list[ColumnElement[bool]], n: int) -> float:
    """The share of the matches that ``conditions`` keep, from about SAMPLE of them spread
    over the archive (every k-th version id, k prime: a k of 96 met every second of 50 outlets
    taking turns, and the share came out a third of the truth)."""
    step = _prime_from(max(2, n // SAMPLE))
    sample = joined(
        m.index,
        m.key,
        [m.match, m.key % step == 0],
        func.count(),
        func.sum(case((and_(*conditions), 1), else_=0)),
    )
    seen, kept = session.execute(sample).one()
    return (kept or 0) / seen if seen else 0.0


def _prime_from(n: int) -> int:
    """The smallest prime at or above ``n`` (n is at most a few hundred)."""
    while any(n % d == 0 for d in range(2, int(n**0.5) + 1)):
        n += 1
    return n


def _in_runs(
    session: Session,
    m: Matching,
    conditions: list[ColumnElement[bool]],
    guess: int,
    bounds: tuple[int, int],
) -> int | None:
    """How many matches ``conditions`` keep (none: how many match), estimated from those in
    RANGES short runs of version ids spread evenly over ``bounds`` (the archive's, or the
    dates'), about SAMPLE of them if there are ``guess`` matches, for an index that seeks
    (``Matching.seeks``): it reads those runs alone, where counting the matches and drawing
    every k-th id walked every match twice (a word in most of 100,000 articles: 1 ms instead
    of 9). None when the runs hold fewer than SAMPLE / 10 matches (bunched elsewhere: a
    story's word, all of it recent)."""
    low, high = bounds
    ids = high - low + 1
    width = max(1, round(SAMPLE * ids / max(1, guess) / RANGES))
    starts = [low + ids * (2 * i + 1) // (2 * RANGES) for i in range(RANGES)]
    runs = union_all(
        *(
            select(m.key.label("id")).select_from(m.index)
            .where(m.match, m.key.between(start, start + width - 1))
            for start in starts
        )
    ).subquery()  # fmt: skip
    if conditions:
        kept_too = func.sum(case((and_(*conditions), 1), else_=0))
        seen, kept = session.execute(joined(runs, runs.c.id, [], func.count(), kept_too)).one()
    else:  # the matches alone: no row of theirs read
        seen = kept = session.scalar(select(func.count()).select_from(runs)) or 0
    if seen < SAMPLE // 10:
        return None
    return round((kept or 0) * ids / (RANGES * min(width, ids)))
