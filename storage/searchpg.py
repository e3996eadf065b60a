"""PostgreSQL full-text search for storage.search: the query tree rendered as a tsquery.

Each version's tsvector was made (by the trigger of migration 0014) in the configuration its
article's language picks: ``english`` for en, ``french`` for fr, ``simple`` (no stemming, no
stop words) for the rest. A query is therefore built once per configuration, and a version
matches the one of its own: ``(config = 'english' AND vector @@ q_english) OR ...``, which the
planner runs as a BitmapOr of the partial GIN indexes of the three configurations (migration
0016), or, for the newest matches of a common query, as a walk back along the key.

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
    ARRAY,
    BigInteger,
    and_,
    bindparam,
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

from storage import searchprefix, searchsql
from storage.models import ArticleVersion
from storage.searchquery import AnyOf, Query, Term
from storage.searchsql import Matching, Ranked, Where, bounded

CONFIGS = ("english", "french", "simple")
# tsvector holds at most 1 MB and positions up to 16,383: the trigger indexes the first
# MAX_CHARS characters of a text (a long article is some 30,000), and snippets read as many.
MAX_CHARS = 200_000
FIRST = 1_200  # the characters a snippet is first looked for in (snippets)
OPEN = "\x02"  # storage.searchlite.OPEN, storage.search's mark
HEADLINE = "StartSel=\x02, StopSel=\x03, MaxWords=30, MinWords=12, ShortWord=2, MaxFragments=1"

_PUNCTUATION = ".,;:!?…»\"')( "
index = sql_table("version_search", column("version_id"), column("config"), column("vector"))


# The rows of the bound list ``ids``, from the list: as ``version_id = ANY(ids)`` the planner
# began an outlet's window from its 2,000 articles and sorted the 1,000 ids for each (240 ms).
_IDS = bindparam("ids", type_=ARRAY(BigInteger))
_FOUND = func.unnest(_IDS).table_valued("id", name="found").render_derived()
_BY_IDS = _FOUND.join(index, index.c.version_id == _FOUND.c.id)


def _is(name: str) -> Any:
    """``config = 'name'``, the name written into the statement: the planner then knows which
    of the partial GIN indexes (one per configuration, migration 0016) holds the rows."""
    return index.c.config == literal_column(f"'{name}'")


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
    match = or_(*(and_(_is(n), index.c.vector.op("@@")(q)) for n, q in queries.items()))
    vector = index.c.vector
    ranks = ((_is(n), func.ts_rank_cd(vector, q, 1)) for n, q in queries.items())
    score = case(*ranks, else_=0.0)
    matching = Matching(
        index,
        index.c.version_id,
        match,
        score,
        counts_cheaply=False,
        # The estimates' runs: a range of the primary key, each row in it matched.
        seeks=True,
        runs_from=searchsql.RANK_ALL,
        by_ids=_BY_IDS,
    )
    return bounded(
        session, matching, where, limit=limit, offset=offset, filtered=filtered, span=span
    )


def snippets(session: Session, query: Query, ids: Sequence[int]) -> dict[int, str]:
    """ts_headline's fragment of each version's text, marked with storage.search's marks: of
    the text's first FIRST characters (cut at a word) where a matched word is in them, else of
    the whole text. ts_headline parses all the text it is given, as to_tsvector does: the 20
    whole texts of a page took 8-13 ms, their first 1,200 characters 2-3."""
    if not ids:
        return {}
    out = _headlines(session, query, ids, whole=False)
    late = [vid for vid, snippet in out.items() if OPEN not in snippet]
    if late:  # the match further on, or in the title alone
        out |= _headlines(session, query, late, whole=True)
    return out


def _headlines(
    session: Session, query: Query, ids: Sequence[int], *, whole: bool
) -> dict[int, str]:
    queries = {name: tsquery(query, name) for name in CONFIGS}
    chosen = case(*((_is(name), q) for name, q in queries.items()))
    full = ArticleVersion.text
    text: Any
    if whole:
        text = func.left(full, MAX_CHARS)
    else:  # the first FIRST characters, without the word the cut may split
        cut = func.regexp_replace(func.left(full, FIRST + 1), r"\s+\S*$", "")
        text = case((func.length(full) <= FIRST, full), else_=cut)
    from sqlalchemy.dialects.postgresql import REGCONFIG  # see storage.db.upsert_insert

    headline = func.ts_headline(cast(index.c.config, REGCONFIG), text, chosen, HEADLINE)
    rows = session.execute(
        select(ArticleVersion.id, headline, func.left(full, 300), func.right(full, 300))
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
