"""Search for the API and the page, behind one function (``find``): the one place that knows
which query function of ``storage.search`` it calls and what that function takes.

Today's ``storage.search.search(session, text, limit=, story=)`` matches every word of the
query in the newest version, filters by story only, and gives no total: ``find`` asks it for
one page past the offset, filters by outlet itself and says whether more follow. Issue 18's
ranked search (``Filters``, ``Results``, ``QueryError``) replaces it here, and only here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from monitor.errors import RequestError
from storage import articles, search

RELATIONS = ("seed", "original", "copy", "off_topic")
# Words a query may hold: each is a condition of the query function's statement, and SQLite
# refuses an expression over 1,000 deep (1,400 words was a 500).
MAX_WORDS = 64


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
    total: int | None  # None: not counted; ``more`` says whether another page follows
    more: bool


def _unsupported(q: Query) -> str | None:
    """The first filter today's query function cannot apply, by its parameter name."""
    for name in ("relation", "lang", "since", "until"):
        if getattr(q, name) is not None:
            return name
    return "any_version" if q.any_version else None


def find(session: Session, q: Query, *, limit: int, offset: int) -> Found:
    """One page of hits for ``q``, best first, each with its article's id and links."""
    if len(q.text.split()) > MAX_WORDS:
        raise RequestError(400, f"q: at most {MAX_WORDS} words, got {len(q.text.split()):,}")
    name = _unsupported(q)
    if name is not None:
        raise RequestError(400, f"{name}: this archive's search cannot filter by it yet")
    wanted = offset + limit + 1
    hits = search.search(
        session, q.text, limit=wanted if q.outlet is None else 10_000, story=q.story
    )
    if q.outlet is not None:
        hits = [h for h in hits if h.outlet.lower() == q.outlet.lower()]
    shown = hits[offset : offset + limit]
    ids = articles.article_ids(session, [h.url for h in shown])
    return Found([_hit(h, ids.get(h.url)) for h in shown], None, len(hits) > offset + limit)


def _hit(h: search.Hit, article_id: int | None) -> dict[str, Any]:
    return {
        "id": article_id,
        "url": h.url,
        "title": h.title,
        "outlet": h.outlet,
        "published_at": None if h.published_at is None else h.published_at.isoformat(),
        "snippet": h.snippet,
        "marks": [],
        "stories": list(h.stories),
        "links": {}
        if article_id is None
        else {"self": f"/api/articles/{article_id}", "page": f"/articles/{article_id}"},
    }
