"""Searching the archive: the versions whose title and text match a query, best first.

One function, ``search``, behind every door (``monitor search``, the API, the page), on an
index kept by the database itself in the transaction that stores a version (migration 0014):

- SQLite: an FTS5 table ``version_search`` (external content: the text stays in
  ``article_versions`` once), tokenizer ``porter unicode61 remove_diacritics 2``: English
  stemming, case and accents ignored; ranked by BM25 with the title weighing 4 times the text.
- PostgreSQL: a table ``version_search`` of tsvectors (title weight A, text B) under a GIN
  index, in the configuration the article's language picks (``english``, ``french``,
  ``simple`` for the rest); ranked by ts_rank_cd (storage.searchpg).

The query syntax and its parser are in storage.searchquery; the engines' own syntaxes are never
exposed. Snippets are the engines' own (FTS5 ``snippet``, PostgreSQL ``ts_headline``), cut at
word boundaries, with the matched words returned as character spans of the plain snippet.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, func, or_, select
from sqlalchemy.orm import Session

from storage import searchlite, searchpg, searchquery, searchsql
from storage.errors import QueryError
from storage.searchsql import Where

__all__ = ["Filters", "Hit", "QueryError", "Results", "search"]

RELATIONS = ("seed", "original", "copy", "off_topic")
MAX_LIMIT = 1000
# The marks the engines put around a matched word in a snippet: control characters that
# extracted text does not hold (stray ones are dropped when the snippet is read).
OPEN, CLOSE = searchlite.OPEN, searchlite.CLOSE
_LANG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")

_v, _newest, _a = searchsql.version, searchsql.newest, searchsql.article
_sa, _story = searchsql.member, searchsql.story


@dataclass(frozen=True)
class Filters:
    story: str | None = None  # story slug: members only (relation != off_topic)
    outlet: str | None = None  # outlet name, exact, case-insensitive
    relation: str | None = None  # seed | original | copy | off_topic (in any story without story)
    lang: str | None = None  # article language code, e.g. "en", "fr" ("en" finds "en-GB")
    since: datetime | None = None  # published (or first seen when unknown) at or after
    until: datetime | None = None  # ... before
    any_version: bool = False  # False: newest version only; True: every version


@dataclass(frozen=True)
class Hit:
    url: str
    title: str | None
    outlet: str
    published_at: datetime | None
    snippet: str  # cut at word boundaries, plain text
    marks: tuple[tuple[int, int], ...]  # highlighted (start, end) character spans in snippet
    stories: tuple[str, ...]
    version: int
    fetched_at: datetime
    language: str | None
    score: float


@dataclass(frozen=True)
class Results:
    hits: list[Hit]
    total: int
    limit: int
    offset: int
    # False: ``total`` is an estimate (a query matching more than storage.searchsql.RANK_ALL
    # versions, see docs/search.md); True: counted.
    total_exact: bool = True


def search(
    session: Session, text: str, filters: Filters = Filters(), *, limit: int = 20, offset: int = 0
) -> Results:
    """The versions matching ``text`` (the syntax of storage.searchquery) and ``filters``, best
    first, ``limit`` of them from ``offset``; QueryError when the query or a filter is wrong."""
    query = searchquery.parse(text)
    _check(filters, limit, offset)
    engine: Any = searchpg if session.get_bind().dialect.name == "postgresql" else searchlite
    where = _where(filters)
    span = _span(session, filters, where)
    if span is not None and span[0] is None:  # no article in the dates
        return Results([], 0, limit, offset)
    found = engine.ranked(
        session,
        query,
        where,
        limit=limit,
        offset=offset,
        # The dates alone filter within their span, where the window's matches lie: the share
        # of the window they keep is the share of every match (no sample drawn).
        filtered=any(
            v is not None for v in (filters.story, filters.relation, filters.outlet, filters.lang)
        ),
        span=span,
    )
    ids = [vid for vid, _ in found.page]
    rows = {row.id: row for row in session.execute(_DETAILS, {"ids": ids})} if ids else {}
    snippets = engine.snippets(session, query, ids)
    stories = _stories(session, {row.article_id for row in rows.values()})
    hits = [
        _hit(rows[vid], score, snippets.get(vid, ""), stories[rows[vid].article_id])
        for vid, score in found.page
    ]
    return Results(hits, found.total, limit, offset, found.exact)


_DETAILS = (
    select(
        _v.c.id,
        _v.c.article_id,
        _v.c.version,
        _v.c.fetched_at,
        _v.c.title,
        _a.c.url,
        _a.c.title.label("article_title"),
        _a.c.outlet,
        _a.c.published_at,
        _a.c.language,
    )
    .join(_a, _a.c.id == _v.c.article_id)
    .where(_v.c.id.in_(bindparam("ids", expanding=True)))
)


def _check(filters: Filters, limit: int, offset: int) -> None:
    if not 0 < limit <= MAX_LIMIT:
        raise QueryError(f"limit {limit}: from 1 to {MAX_LIMIT}")
    if offset < 0:
        raise QueryError(f"offset {offset}: 0 or more")
    if filters.relation is not None and filters.relation not in RELATIONS:
        raise QueryError(f"relation {filters.relation!r}: one of {', '.join(RELATIONS)}")
    if filters.lang is not None and not _LANG.fullmatch(filters.lang):
        raise QueryError(f"language {filters.lang!r}: a language code such as en or fr")
    for name in ("since", "until"):
        when = getattr(filters, name)
        if when is not None and when.tzinfo is None:
            raise QueryError(f"{name} {when.isoformat()}: give a UTC offset")


def _where(filters: Filters) -> Where:
    """The filters as conditions on the version ``_v`` and its article ``_a`` (joined), with
    their values as bound parameters: the conditions are the same objects for the same
    filters given (storage.searchsql builds a shape's statements once)."""
    shape = (
        not filters.any_version,
        filters.story is not None,
        filters.relation is not None,
        filters.outlet is not None,
        filters.lang is not None,
        filters.since is not None,
        filters.until is not None,
    )
    lang = None if filters.lang is None else filters.lang.lower()
    values = {
        "story": filters.story,
        "relation": filters.relation,
        "outlet": None if filters.outlet is None else filters.outlet.lower(),
        "lang": lang,
        "lang_like": None if lang is None else f"{lang}-%",
        "since": filters.since,
        "until": filters.until,
    }
    return Where(_conditions(*shape), {k: v for k, v in values.items() if v is not None}, shape)


@cache
def _conditions(
    newest: bool, story: bool, relation: bool, outlet: bool, lang: bool, since: bool, until: bool
) -> tuple[ColumnElement[bool], ...]:
    """The conditions of a shape of filters, named as ``_where``'s values."""
    out: list[ColumnElement[bool]] = []
    if newest:
        latest = select(func.max(_newest.c.version)).where(_newest.c.article_id == _v.c.article_id)
        out.append(_v.c.version == latest.scalar_subquery())
    if story or relation:
        # EXISTS, looked up for each match: as ``IN (members)`` SQLite built the story's list
        # of members in every statement (1.1 ms of a common word's 5.7 in a 5,000-member story).
        member = select(_sa.c.article_id).where(_sa.c.article_id == _v.c.article_id)
        if story:
            slug = select(_story.c.id).where(_story.c.slug == bindparam("story"))
            member = member.where(_sa.c.story_id == slug.scalar_subquery())
        if relation:
            member = member.where(_sa.c.relation == bindparam("relation"))
        else:
            member = member.where(_sa.c.relation != "off_topic")
        out.append(member.exists())
    if outlet:
        out.append(func.lower(_a.c.outlet) == bindparam("outlet"))
    if lang:
        code = func.lower(_a.c.language)
        out.append(or_(code == bindparam("lang"), code.like(bindparam("lang_like"))))
    return (*out, *_dated(since, until))


def _span(session: Session, filters: Filters, where: Where) -> tuple[Any, Any] | None:
    """The smallest and largest version id of the articles in the date filters (None, None:
    none), or None without date filters. The engines walk their index within it: a month of a
    word found in every article, walked from the newest match, took 95 ms CPU to reach."""
    since, until = filters.since is not None, filters.until is not None
    if not since and not until:
        return None
    postgres = session.get_bind().dialect.name == "postgresql"
    lo, hi = session.execute(_dates(since, until, postgres), where.params).one()
    return lo, hi


@cache
def _dates(since: bool, until: bool, postgres: bool) -> Select[Any]:
    if postgres:
        # The dated articles' ids as an array, each looked up in the (article_id, id) index
        # (migration 0016): as a join, the planner hashed the whole of article_versions (a
        # month's span: 7 ms against 35-100).
        dated = select(_a.c.id).where(*_dated(since, until)).scalar_subquery()
        ids = select(func.min(_v.c.id), func.max(_v.c.id))
        return ids.where(_v.c.article_id == func.any(func.array(dated)))
    return (
        select(func.min(_v.c.id), func.max(_v.c.id))
        .select_from(_a)
        .join(_v, _v.c.article_id == _a.c.id)
        .where(*_dated(since, until))
    )


def _dated(since: bool, until: bool) -> list[ColumnElement[bool]]:
    """Published (or first seen when unknown) from ``since`` and before ``until``."""
    when = func.coalesce(_a.c.published_at, _a.c.first_seen_at)
    out: list[ColumnElement[bool]] = []
    if since:
        out.append(when >= bindparam("since"))
    if until:
        out.append(when < bindparam("until"))
    return out


_STORIES = (
    select(_sa.c.article_id, _story.c.slug)
    .join(_story, _story.c.id == _sa.c.story_id)
    .where(_sa.c.article_id.in_(bindparam("ids", expanding=True)), _sa.c.relation != "off_topic")
    .order_by(_story.c.slug)
)


def _stories(session: Session, article_ids: set[int]) -> dict[int, tuple[str, ...]]:
    """The stories each article is a member of (not off-topic), by slug."""
    out: dict[int, list[str]] = defaultdict(list)
    if article_ids:
        for article_id, slug in session.execute(_STORIES, {"ids": list(article_ids)}):
            out[article_id].append(slug)
    return defaultdict(tuple, {k: tuple(v) for k, v in out.items()})


def _hit(row: Any, score: float, marked: str, stories: tuple[str, ...]) -> Hit:
    snippet, marks = unmark(marked)
    return Hit(
        url=row.url,
        title=row.title or row.article_title,
        outlet=row.outlet,
        published_at=row.published_at,
        snippet=snippet,
        marks=marks,
        stories=stories,
        version=row.version,
        fetched_at=row.fetched_at,
        language=row.language,
        score=score,
    )


def shown_score(score: float) -> float:
    """``score`` to 4 significant digits, as the doors show it. Not to decimals: FTS5's BM25
    weighs a word found in more than half the archive (a story's own name, in an archive of
    that story) at 1e-6, and 4 decimals showed every such hit's score as 0."""
    return float(f"{score:.4g}")


def unmark(marked: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The plain text of a snippet with OPEN/CLOSE marks, whitespace runs made single spaces,
    and the marked spans; an unpaired mark is dropped."""
    text = " ".join(marked.split())
    plain: list[str] = []
    marks: list[tuple[int, int]] = []
    length, start = 0, None
    for part in re.split(f"([{OPEN}{CLOSE}])", text):
        if part == OPEN:
            start = length
        elif part == CLOSE:
            if start is not None and length > start:
                marks.append((start, length))
            start = None
        else:
            plain.append(part)
            length += len(part)
    return "".join(plain), tuple(marks)
