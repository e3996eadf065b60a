"""Search for the API and the page, behind one function (``find``): the one place that calls
``storage.search.search`` (the query function ``monitor search`` calls too: its syntax, its
filters, its ranking), and turns its QueryError into a 400 naming the parameter.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from monitor.errors import RequestError
from storage import articles, search

RELATIONS = search.RELATIONS


@dataclass(frozen=True)
class Query:
    """What a reader asked: the text and the filters, checked (``monitor.web.params``)."""

    text: str
    story: str | None = None
    outlet: str | None = None
    relation: str | None = None
    lang: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    any_version: bool = False


@dataclass(frozen=True)
class Found:
    hits: list[dict[str, Any]]
    total: int
    # False: ``total`` is an estimate (a query matching thousands of versions; docs/search.md)
    total_exact: bool = True


def _parameter(message: str) -> str:
    """The request parameter a QueryError is about: a filter its message names, else q."""
    for prefix, name in (("language", "lang"), ("since", "since"), ("until", "until")):
        if message.startswith(prefix):
            return name
    return "q"


def find(session: Session, q: Query, *, limit: int, offset: int) -> Found:
    """One page of hits for ``q``, best first, each with its article's id and links."""
    filters = search.Filters(
        story=q.story, outlet=q.outlet, relation=q.relation, lang=q.lang,
        since=q.since, until=q.until, any_version=q.any_version,
    )  # fmt: skip
    try:
        results = search.search(session, q.text, filters, limit=limit, offset=offset)
    except search.QueryError as exc:
        raise RequestError(400, f"{_parameter(str(exc))}: {exc}") from None
    ids = articles.article_ids(session, [h.url for h in results.hits])
    hits = [_hit(h, ids.get(h.url)) for h in results.hits]
    return Found(hits, results.total, results.total_exact)


def _hit(h: search.Hit, article_id: int | None) -> dict[str, Any]:
    version = None if article_id is None else f"/api/articles/{article_id}/versions/{h.version}"
    return {
        "id": article_id,
        "url": h.url,
        "title": h.title,
        "outlet": h.outlet,
        "published_at": None if h.published_at is None else h.published_at.isoformat(),
        "language": h.language,
        "version": h.version,
        "fetched_at": h.fetched_at.isoformat(),
        "snippet": h.snippet,
        "marks": [list(m) for m in h.marks],
        "stories": list(h.stories),
        "score": search.shown_score(h.score),
        "links": {}
        if article_id is None
        else {
            "self": f"/api/articles/{article_id}",
            "version": version,
            "page": f"/articles/{article_id}",
        },
    }
