"""PostgreSQL full-text search for storage.search: the query tree rendered as a tsquery.

Each version's tsvector was made (by the trigger of migration 0014) in the configuration its
article's language picks: ``english`` for en, ``french`` for fr, ``simple`` (no stemming, no
stop words) for the rest. A query is therefore built once per configuration, and a version
matches the one of its own: ``(config = 'english' AND vector @@ q_english) OR ...``, which the
planner runs as a BitmapOr of GIN index scans.

Every word reaches PostgreSQL as a bound parameter of ``phraseto_tsquery`` (which reads no
operator), and a prefix word, letters and digits only, as ``'word':*`` to ``to_tsquery``, with
the words storage.searchprefix makes of it as ``plainto_tsquery``'s bound parameters: no user
text is ever read as tsquery syntax. Stop words of a configuration (English "the") match
nothing there and are left out of the query, as PostgreSQL does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import (
    and_,
    case,
    cast,
    column,
    func,
    literal_column,
    or_,
    select,
)
from sqlalchemy import table as sql_table
from sqlalchemy.orm import Session

from storage import searchprefix
from storage.models import ArticleVersion
from storage.searchquery import AnyOf, Query, Term
from storage.searchsql import Matching, Ranked, Where, bounded

CONFIGS = ("english", "french", "simple")
# tsvector holds at most 1 MB and positions up to 16,383: the trigger indexes the first
# MAX_CHARS characters of a text (a long article is some 30,000), and snippets read as many.
MAX_CHARS = 200_000
HEADLINE = "StartSel=\x02, StopSel=\x03, MaxWords=30, MinWords=12, ShortWord=2, MaxFragments=1"

_PUNCTUATION = ".,;:!?…»\"')( "
index = sql_table("version_search", column("version_id"), column("config"), column("vector"))


def _config(name: str) -> Any:
    # One of CONFIGS, never user text.
    return literal_column(f"'{name}'::regconfig")


def tsquery(query: Query, config: str) -> Any:
    """``query`` as a tsquery of ``config``."""
    parts = [_part(p, config) for p in query.required]
    parts += [func.tsquery_not(_term(t, config)) for t in query.excluded]
    out = parts[0]
    for part in parts[1:]:
        out = func.tsquery_and(out, part)
    return out


def _part(part: Term | AnyOf, config: str) -> Any:
    if isinstance(part, Term):
        return _term(part, config)
    out = _term(part.terms[0], config)
    for term in part.terms[1:]:
        out = func.tsquery_or(out, _term(term, config))
    return out


def _term(term: Term, config: str) -> Any:
    words = list(term.words)
    if not term.prefix:
        return func.phraseto_tsquery(_config(config), " ".join(words))
    prefix = words.pop()
    last = func.to_tsquery(_config(config), f"'{prefix}':*")
    # The words starting with the prefix whose stems are shorter than it (storage.searchprefix,
    # by the configuration's own Snowball algorithm; ``simple`` does not stem): bound values.
    if config in searchprefix.STEMMERS:
        for word in searchprefix.completions(prefix, config):
            last = func.tsquery_or(last, func.plainto_tsquery(_config(config), word))
    if not words:
        return last
    return func.tsquery_phrase(func.phraseto_tsquery(_config(config), " ".join(words)), last)


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
    first by ts_rank_cd (longer texts damped by the log of their length), with bounded work
    (storage.searchsql.bounded)."""
    queries = {name: tsquery(query, name) for name in CONFIGS}
    match = or_(
        *(and_(index.c.config == n, index.c.vector.op("@@")(q)) for n, q in queries.items())
    )
    vector = index.c.vector
    ranks = ((index.c.config == n, func.ts_rank_cd(vector, q, 1)) for n, q in queries.items())
    score = case(*ranks, else_=0.0)
    matching = Matching(index, index.c.version_id, match, score, counts_cheaply=False)
    return bounded(
        session, matching, where, limit=limit, offset=offset, filtered=filtered, span=span
    )


def snippets(session: Session, query: Query, ids: Sequence[int]) -> dict[int, str]:
    """ts_headline's fragment of each version's text, marked with storage.search's marks."""
    if not ids:
        return {}
    queries = {name: tsquery(query, name) for name in CONFIGS}
    chosen = case(*((index.c.config == name, q) for name, q in queries.items()))
    text = func.left(ArticleVersion.text, MAX_CHARS)
    from sqlalchemy.dialects.postgresql import REGCONFIG  # see storage.db.upsert_insert

    headline = func.ts_headline(cast(index.c.config, REGCONFIG), text, chosen, HEADLINE)
    rows = session.execute(
        select(
            ArticleVersion.id,
            headline,
            func.left(ArticleVersion.text, 300),
            func.right(ArticleVersion.text, 300),
        )
        .join(index, index.c.version_id == ArticleVersion.id)
        .where(ArticleVersion.id.in_(ids))
    )
    return {vid: _ellipses(snippet or "", head, tail) for vid, snippet, head, tail in rows}


def _ellipses(snippet: str, head: str, tail: str) -> str:
    """ts_headline says nothing of where it cut its fragment: an ellipsis on each side where
    the fragment does not begin (end) as the text does, punctuation aside."""
    plain = " ".join(snippet.replace("\x02", "").replace("\x03", "").split())
    head, tail = " ".join(head.split()), " ".join(tail.split()).rstrip(_PUNCTUATION)
    before = "" if head.startswith(plain[:40]) else "… "
    after = "" if tail.endswith(plain.rstrip(_PUNCTUATION)[-40:]) else " …"
    return f"{before}{snippet}{after}"
