"""What storage.search and its two engines (storage.searchlite, storage.searchpg) share: the
tables as Core aliases, made once (building ORM aliases at every query took 5 ms of a rare
word's 7), the statements, built once per shape of query, and the ranking with bounded work.

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

A search runs six to nine statements. Building each from its parts, SQLAlchemy's coercions
and cache key included, cost 0.2-1 ms (the RANGES runs' union the most): about 3 ms of a
phrase's 22 (100,000 articles, benchmarks/search.py). So the statements are written with
named bound parameters and built once per shape (``Where.shape``, ``Matching.shape``, whether
a span applies): a search of a shape seen before only executes them.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, and_, bindparam, case, func, select, union_all
from sqlalchemy.orm import Session

from storage.models import Article, ArticleVersion, Story, StoryArticle

RANK_ALL = 2_000
WINDOW = 1_000
SAMPLE = 1_000
RANGES = 16  # the runs of version ids a sample is read from, where the index seeks
# Below this many matches (guessed) walking them all is as cheap as seeking RANGES runs (some
# 40 ns a match against 16 cursors opened: about 1 ms either way at 25,000).
RUNS_FROM = 25_000
SHAPES = 256  # statements kept for this many shapes of query (a few dozen occur)

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


@dataclass(frozen=True)
class Where:
    """Conditions on a version (``version``) and its article (``article``, joined), written
    with named bound parameters whose values are ``params``. The same ``shape`` is the same
    condition objects, so that a statement built on them serves every search of that shape."""

    conditions: tuple[ColumnElement[bool], ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    shape: Hashable = ()


def joined(
    matches: Any, key: Any, conditions: tuple[ColumnElement[bool], ...], *columns: Any
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
    the condition ``match`` on it and the ``score`` of a matching row (higher is better),
    their bound parameters' values ``params``; ``shape`` None: ``match`` and ``score`` hold
    values of their own, and the statements are built for this search alone."""

    index: Any
    key: Any
    match: ColumnElement[bool]
    score: ColumnElement[Any]
    # Whether counting every match is cheap (FTS5 walks its lists: 4 ms for 97,000); else
    # (a GIN index: 0.7 s, every match's row read) their number is estimated from the window,
    # and, with filters, the share kept from the runs where the index seeks.
    counts_cheaply: bool = True
    # Whether the index finds the matches in a range of version ids without walking the rest
    # (FTS5 seeks in its lists, except for a prefix query, whose lists it merges whole).
    seeks: bool = False
    # From how many matches (guessed) reading RANGES runs is cheaper than walking them all: a
    # word's walk is cheap (RUNS_FROM); a phrase's reads positions and several terms' merge
    # lists, and their runs won from a few thousand matches on (storage.searchlite).
    runs_from: int = RUNS_FROM
    params: Mapping[str, Any] = field(default_factory=dict)
    shape: Hashable | None = None
    # The index's rows whose key is in the bound list ``ids`` (a FROM clause): given, the
    # ranking reads the matches the first walk found by their ids rather than matching again
    # (PostgreSQL: matching a row reads its whole tsvector, a phrase's 15,000 rows walked twice).
    by_ids: Any = None


class _Statements:
    """``bounded``'s statements for one matching, one set of conditions and a span or none,
    each built when first needed; their parameters are named below."""

    def __init__(self, m: Matching, conditions: tuple[ColumnElement[bool], ...], span: bool):
        self.m, self.conditions = m, conditions
        between = m.key.between(bindparam("span_low"), bindparam("span_high"))
        self.match = and_(m.match, between) if span else m.match

    @cached_property
    def newest(self) -> Select[Any]:
        """The newest RANK_ALL + 1 matches' ids."""
        m = self.m
        return select(m.key).select_from(m.index).where(self.match).order_by(m.key.desc()) \
            .limit(RANK_ALL + 1)  # fmt: skip

    @cached_property
    def scored(self) -> Select[Any]:
        """Every match kept, scored (``by_ids``: those of ``ids``)."""
        m = self.m
        if m.by_ids is not None:
            return joined(m.by_ids, m.key, self.conditions, version.c.id, m.score)
        return joined(m.index, m.key, (*self.conditions, self.match), version.c.id, m.score)

    @cached_property
    def window(self) -> Select[Any]:
        """Every match kept from ``boundary`` on, scored (``by_ids``: those of ``ids``)."""
        m = self.m
        if m.by_ids is not None:
            return self.scored
        kept = (*self.conditions, self.match, m.key >= bindparam("boundary"))
        return joined(m.index, m.key, kept, version.c.id, m.score)

    @cached_property
    def older(self) -> Select[Any]:
        """``page_limit`` matches kept before ``boundary``, newest first, from ``page_offset``."""
        m = self.m
        kept = (*self.conditions, self.match, m.key < bindparam("boundary"))
        return (
            joined(m.index, m.key, kept, version.c.id, m.score)
            .order_by(m.key.desc())
            .limit(bindparam("page_limit"))
            .offset(bindparam("page_offset"))
        )

    @cached_property
    def count(self) -> Select[Any]:
        return select(func.count()).select_from(self.m.index).where(self.match)

    @cached_property
    def sample(self) -> Select[Any]:
        """The matches whose id is a multiple of ``step``, and how many of them are kept."""
        m = self.m
        return joined(
            m.index,
            m.key,
            (self.match, m.key % bindparam("step") == 0),
            func.count(),
            func.sum(case((and_(*self.conditions), 1), else_=0)),
        )

    @cached_property
    def runs(self) -> Select[Any]:
        """The matches in the runs ``run_i`` to ``run_i + width - 1``, and how many are kept."""
        m = self.m
        within = (
            select(m.key.label("id")).select_from(m.index)
            .where(self.match, m.key.between(bindparam(f"run_{i}"), bindparam(f"run_{i}_end")))
            for i in range(RANGES)
        )  # fmt: skip
        runs = union_all(*within).subquery()
        if not self.conditions:  # the matches alone: no row of theirs read
            return cast("Select[Any]", select(func.count(), func.count()).select_from(runs))
        kept = func.sum(case((and_(*self.conditions), 1), else_=0))
        return joined(runs, runs.c.id, (), func.count(), kept)


_IDS = select(select(func.min(version.c.id)).scalar_subquery(),
              select(func.max(version.c.id)).scalar_subquery())  # fmt: skip
_SHAPES: dict[Hashable, _Statements] = {}


def _statements(m: Matching, where: Where, span: bool) -> _Statements:
    """The statements of this shape of search, built once (``m.shape`` None: every time)."""
    if m.shape is None:
        return _Statements(m, where.conditions, span)
    # RANK_ALL and RANGES are written into the statements (tests make them small).
    key = (m.shape, where.shape, span, RANK_ALL, RANGES)
    made = _SHAPES.get(key)
    if made is None:
        if len(_SHAPES) >= SHAPES:
            _SHAPES.clear()
        made = _SHAPES[key] = _Statements(m, where.conditions, span)
    return made


def bounded(
    session: Session,
    m: Matching,
    where: Where,
    *,
    limit: int,
    offset: int,
    filtered: bool,
    span: tuple[int, int] | None = None,
) -> Ranked:
    """The page from ``offset`` of the versions ``m`` matches and ``where`` keeps, best first
    (see the module's docstring); ``filtered``: conditions other than the newest-version one
    are given; ``span``: the version ids outside it are not looked at (the date filters'
    articles' versions, storage.search)."""
    s = _statements(m, where, span is not None)
    params = {**where.params, **m.params}
    if span is not None:
        params |= {"span_low": span[0], "span_high": span[1]}
    # One walk says both whether there are more than RANK_ALL matches and where the newest
    # WINDOW begin (two walks before: 2-3 ms of a prefix query, which merges word lists).
    newest = session.scalars(s.newest, params).all()
    if len(newest) <= RANK_ALL:
        rows = _sorted(session.execute(s.scored, _with_ids(m, params, newest)))
        return Ranked(rows[offset : offset + limit], len(rows))
    boundary = newest[WINDOW - 1]
    params["boundary"] = boundary
    window = _sorted(session.execute(s.window, _with_ids(m, params, newest[:WINDOW])))
    page = window[offset : offset + limit]
    if len(page) < limit:
        more = {"page_limit": limit - len(page), "page_offset": max(0, offset - len(window))}
        older = session.execute(s.older, params | more).all()
        page = page + [(vid, float(score)) for vid, score in older]
        if len(page) < limit and (page or offset == 0):  # the end: the total is known
            return Ranked(page, offset + len(page))
    bounds = span or _ids(session)
    guess = _spread(bounds, newest[0], boundary)
    # Where counting is dear (a GIN index), an unfiltered total is the guess alone: no runs.
    if m.seeks and where.conditions and guess >= m.runs_from and (filtered or m.counts_cheaply):
        # Unfiltered (the newest-version condition alone): the runs count the matches and the
        # window gives the share of them that are newest versions, as with a count.
        runs = _statements(m, where if filtered else Where(), span is not None)
        total = _in_runs(session, runs, params, guess, bounds)
        if total is not None:
            total = total if filtered else round(total * len(window) / WINDOW)
            return Ranked(page, max(total, offset + len(page)), exact=False)
    if m.counts_cheaply:
        matches = session.scalar(s.count, params) or 0
        if not where.conditions:  # every version, no filter: the count is the total
            return Ranked(page, matches)
    else:
        matches = guess
    kept = len(window) / WINDOW if not filtered else _kept(session, s, params, matches)
    return Ranked(page, max(round(matches * kept), offset + len(page)), exact=False)


def _with_ids(m: Matching, params: dict[str, Any], ids: Any) -> dict[str, Any]:
    """``params`` and, for a matching ranked by ids, the matches' ``ids``."""
    return params if m.by_ids is None else params | {"ids": list(ids)}


def _spread(bounds: tuple[int, int], newest: int, boundary: int) -> int:
    """How many versions match, guessed from the window alone: its WINDOW matches times the
    archive's (or the span's) version ids over the window's, as if they were spread evenly (a
    word so common is found all along the archive)."""
    low, high = bounds
    return round(WINDOW * (int(high) - int(low) + 1) / max(1, newest - boundary + 1))


def _ids(session: Session) -> tuple[int, int]:
    """The archive's first and last version ids. Two subqueries: SQLite reads min() or max()
    of a key from its index only when alone (the two in one select scanned the table: 11 ms)."""
    low, high = session.execute(_IDS).one()
    return int(low), int(high)


def _sorted(rows: Any) -> list[tuple[int, float]]:
    """Scored rows best first, then newest. Sorted here: SQLite refuses FTS5's functions beside
    a window function, and the rows are at most RANK_ALL. Rows as read (a float from both
    engines): building 1,000 new tuples and sorting by a lambda took 1.0 ms, this 0.7."""
    return sorted(rows.all(), key=itemgetter(1, 0), reverse=True)


def _kept(session: Session, s: _Statements, params: dict[str, Any], n: int) -> float:
    """The share of the matches that the conditions keep, from about SAMPLE of them spread
    over the archive (every k-th version id, k prime: a k of 96 met every second of 50 outlets
    taking turns, and the share came out a third of the truth)."""
    step = _prime_from(max(2, n // SAMPLE))
    seen, kept = session.execute(s.sample, params | {"step": step}).one()
    return (kept or 0) / seen if seen else 0.0


def _prime_from(n: int) -> int:
    """The smallest prime at or above ``n`` (n is at most a few hundred)."""
    while any(n % d == 0 for d in range(2, int(n**0.5) + 1)):
        n += 1
    return n


def _in_runs(
    session: Session, s: _Statements, params: dict[str, Any], guess: int, bounds: tuple[int, int]
) -> int | None:
    """How many matches ``s``'s conditions keep (none: how many match), estimated from those
    in RANGES short runs of version ids spread evenly over ``bounds`` (the archive's, or the
    dates'), about SAMPLE of them if there are ``guess`` matches, for an index that seeks
    (``Matching.seeks``): it reads those runs alone, where counting the matches and drawing
    every k-th id walked every match twice (a word in most of 100,000 articles: 1 ms instead
    of 9). None when the runs hold fewer than SAMPLE / 10 matches (bunched elsewhere: a
    story's word, all of it recent)."""
    low, high = bounds
    ids = high - low + 1
    width = max(1, round(SAMPLE * ids / max(1, guess) / RANGES))
    runs = dict(params)
    for i in range(RANGES):
        start = low + ids * (2 * i + 1) // (2 * RANGES)
        runs |= {f"run_{i}": start, f"run_{i}_end": start + width - 1}
    seen, kept = session.execute(s.runs, runs).one()
    if seen < SAMPLE // 10:
        return None
    return round((kept or 0) * ids / (RANGES * min(width, ids)))
