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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnClause, ColumnElement, column, func, literal_column, or_, select, table
from sqlalchemy.orm import Session, aliased

from storage import searchpg, searchquery
from storage.errors import QueryError
from storage.models import Article, ArticleVersion, Story, StoryArticle

__all__ = ["Filters", "Hit", "QueryError", "Results", "search"]

RELATIONS = ("seed", "original", "copy", "off_topic")
MAX_LIMIT = 1000
# The marks the engines put around a matched word in a snippet: control characters that
# extracted text does not hold (stray ones are dropped when the snippet is read).
OPEN, CLOSE = "\x02", "\x03"
SNIPPET_WORDS = 24
_LANG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*")

_fts = table("version_search", column("rowid"))
_FTS: ColumnClause[Any] = literal_column("version_search")


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


def search(
    session: Session, text: str, filters: Filters = Filters(), *, limit: int = 20, offset: int = 0
) -> Results:
    """The versions matching ``text`` (the syntax of storage.searchquery) and ``filters``, best
    first, ``limit`` of them from ``offset``; QueryError when the query or a filter is wrong."""
    query = searchquery.parse(text)
    _check(filters, limit, offset)
    postgres = session.get_bind().dialect.name == "postgresql"
    version = aliased(ArticleVersion, name="v")
    if postgres:
        base, score = searchpg.matching(query, version)
    else:
        # BM25 is computed inside the subquery: SQLite refuses FTS5's functions in a query
        # with a window function (the total below).
        matched = (
            select(_fts.c.rowid, (-func.bm25(_FTS, 4.0, 1.0)).label("score"))
            .where(_FTS.op("MATCH")(searchquery.fts5(query)))
            .subquery("matched")
        )
        base = select(version).join(matched, matched.c.rowid == version.id)
        score = matched.c.score
    base = base.join(Article, Article.id == version.article_id).where(*_where(filters, version))
    page = session.execute(
        base.with_only_columns(
            version.id,
            version.article_id,
            version.version,
            version.fetched_at,
            version.title,
            Article.url,
            Article.title.label("article_title"),
            Article.outlet,
            Article.published_at,
            Article.language,
            score.label("score"),
            func.count().over().label("total"),
        )
        .order_by(score.desc(), version.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    if page:
        total = page[0].total
    else:
        total = session.scalar(base.with_only_columns(func.count())) if offset else 0
    ids = [row.id for row in page]
    snippet = searchpg.snippets if postgres else _snippets
    snippets = snippet(session, query, ids)
    stories = _stories(session, {row.article_id for row in page})
    hits = [_hit(row, snippets.get(row.id, ""), stories[row.article_id]) for row in page]
    return Results(hits, total or 0, limit, offset)


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


def _where(filters: Filters, version: Any) -> list[ColumnElement[bool]]:
    """The filters' conditions on the version ``version`` and its article (joined)."""
    out: list[ColumnElement[bool]] = []
    if not filters.any_version:
        newest = aliased(ArticleVersion, name="newest")
        out.append(
            version.version
            == select(func.max(newest.version))
            .where(newest.article_id == version.article_id)
            .scalar_subquery()
        )
    if filters.story is not None or filters.relation is not None:
        member = select(StoryArticle.article_id)
        if filters.story is not None:
            member = member.join(Story, Story.id == StoryArticle.story_id)
            member = member.where(Story.slug == filters.story)
        if filters.relation is not None:
            member = member.where(StoryArticle.relation == filters.relation)
        else:
            member = member.where(StoryArticle.relation != "off_topic")
        out.append(Article.id.in_(member))
    if filters.outlet is not None:
        out.append(func.lower(Article.outlet) == filters.outlet.lower())
    if filters.lang is not None:
        lang = func.lower(Article.language)
        code = filters.lang.lower()
        out.append(or_(lang == code, lang.like(f"{code}-%")))
    when = func.coalesce(Article.published_at, Article.first_seen_at)
    if filters.since is not None:
        out.append(when >= filters.since)
    if filters.until is not None:
        out.append(when < filters.until)
    return out


def _snippets(session: Session, query: searchquery.Query, ids: Sequence[int]) -> dict[int, str]:
    """FTS5's snippet of each version's text (column 1), for the page only: computed in the
    ranking query, it would be made for every match before the sort."""
    if not ids:
        return {}
    snippet = func.snippet(_FTS, 1, OPEN, CLOSE, "…", SNIPPET_WORDS)
    rows = session.execute(
        select(_fts.c.rowid, snippet)
        .select_from(_fts)
        .where(_FTS.op("MATCH")(searchquery.fts5(query)), _fts.c.rowid.in_(ids))
    )
    return {rowid: text or "" for rowid, text in rows}


def _stories(session: Session, article_ids: set[int]) -> dict[int, tuple[str, ...]]:
    """The stories each article is a member of (not off-topic), by slug."""
    out: dict[int, list[str]] = defaultdict(list)
    if article_ids:
        rows = session.execute(
            select(StoryArticle.article_id, Story.slug)
            .join(Story, Story.id == StoryArticle.story_id)
            .where(StoryArticle.article_id.in_(article_ids), StoryArticle.relation != "off_topic")
            .order_by(Story.slug)
        )
        for article_id, slug in rows:
            out[article_id].append(slug)
    return defaultdict(tuple, {k: tuple(v) for k, v in out.items()})


def _hit(row: Any, marked: str, stories: tuple[str, ...]) -> Hit:
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
        score=float(row.score),
    )


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
