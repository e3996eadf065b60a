"""The query syntax of ``monitor search`` (docs/search.md), read into a small tree that each
engine renders with every term quoted: user text never reaches SQLite's FTS5 or PostgreSQL's
tsquery parser raw, so no query can raise an engine's syntax error.

::

    words          every word must match (stemmed: "elections" finds "election")
    "a phrase"     the words next to each other, in this order
    prefix*        any word starting with "prefix" (storage.searchprefix)
    a OR b         either (binds tighter than the implicit AND: ``a OR b c`` is (a or b) and c)
    -word          articles without the word (or -"a phrase")

Anything else is punctuation: a word is a run of letters and digits, so ``title:x`` is the
phrase "title x", ``NEAR(a b)`` the words NEAR, a and b, a lone ``*`` or ``^`` nothing. A token
holding several words (``covid-19``, ``l'Élysée``) is a phrase of them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from storage.errors import QueryError

# Long enough for any question a person types, short enough that a pasted page is refused
# with a message instead of being turned into a query of thousands of terms.
MAX_CHARS = 1000

# A quoted phrase (an unclosed quote runs to the end), optionally negated or prefixed, or a
# bare token up to the next space or quote.
_TOKEN = re.compile(r'(?P<neg>-?)"(?P<phrase>[^"]*)(?:"|$)(?P<star>\*?)|(?P<bare>[^\s"]+)')
# Letters and digits: FTS5's unicode61 tokenizer and PostgreSQL's parser both split on the rest
# (the underscore included, which Python's \w keeps).
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Term:
    """One word, or a phrase of several; ``prefix``: its last word is a prefix."""

    words: tuple[str, ...]
    prefix: bool = False


@dataclass(frozen=True)
class AnyOf:
    """Terms joined by OR."""

    terms: tuple[Term, ...]


@dataclass(frozen=True)
class Query:
    """Every one of ``required`` (a term or an OR of terms) and none of ``excluded``."""

    required: tuple[Term | AnyOf, ...]
    excluded: tuple[Term, ...] = ()


@dataclass(frozen=True)
class _Item:
    term: Term
    negated: bool


def parse(text: str) -> Query:
    """The query ``text`` means; QueryError when it is too long or has no word to look for."""
    if len(text) > MAX_CHARS:
        raise QueryError(f"the query is {len(text):,} characters long: at most {MAX_CHARS:,}")
    groups: list[list[_Item]] = []
    joining = False
    for token in _tokens(unicodedata.normalize("NFC", text)):
        if token is None:  # OR
            joining = bool(groups)
            continue
        if joining:
            groups[-1].append(token)
        else:
            groups.append([token])
        joining = False
    required: list[Term | AnyOf] = []
    excluded: list[Term] = []
    for group in groups:
        if len(group) > 1:
            # FTS5 has no "a OR NOT b": inside an OR, a minus sign is punctuation.
            required.append(AnyOf(tuple(dict.fromkeys(item.term for item in group))))
        elif group[0].negated:
            excluded.append(group[0].term)
        else:
            required.append(group[0].term)
    if not required:
        shown = " ".join(text.split())[:60]
        why = "only words to exclude" if excluded else "no word to look for"
        raise QueryError(f"the query {shown!r} has {why}")
    return Query(tuple(dict.fromkeys(required)), tuple(dict.fromkeys(excluded)))


def _tokens(text: str) -> list[_Item | None]:
    """The terms of ``text`` in order, None for each OR; tokens without a word are dropped."""
    out: list[_Item | None] = []
    for match in _TOKEN.finditer(text):
        if match["bare"] is None:
            words = _WORD.findall(match["phrase"])
            negated, prefix = bool(match["neg"]), bool(match["star"])
        else:
            bare = match["bare"]
            if bare == "OR":
                out.append(None)
                continue
            negated = bare.startswith("-") and len(bare) > 1
            prefix = bare.endswith("*")
            words = _WORD.findall(bare)
        if words:
            out.append(_Item(Term(tuple(words), prefix), negated))
    return out


def fts5(query: Query, more: Callable[[str], Sequence[str]] = lambda _: ()) -> str:
    """The FTS5 MATCH expression of ``query``: each term a quoted string of plain words. A
    prefix term also matches its last word replaced by each of ``more(last word)``
    (storage.searchprefix: words the prefix's own search misses, letters only)."""
    required = " AND ".join(_fts5_part(part, more) for part in query.required)
    return "".join([f"({required})", *(f" NOT {_fts5_term(t, more)}" for t in query.excluded)])


def _fts5_part(part: Term | AnyOf, more: Callable[[str], Sequence[str]]) -> str:
    if isinstance(part, Term):
        return _fts5_term(part, more)
    return "(" + " OR ".join(_fts5_term(t, more) for t in part.terms) + ")"


def _fts5_term(term: Term, more: Callable[[str], Sequence[str]]) -> str:
    # Words are letters and digits only, so the quotes cannot be closed from inside.
    quoted = '"' + " ".join(term.words) + '"'
    if not term.prefix:
        return quoted
    *before, last = term.words
    # Checked again here: whatever ``more`` returns, only a word reaches FTS5.
    others = [" ".join([*before, word]) for word in more(last) if _WORD.fullmatch(word)]
    if not others:
        return f"{quoted} *"
    return "(" + " OR ".join([f"{quoted} *", *(f'"{other}"' for other in others)]) + ")"


def required_terms(query: Query) -> list[Term]:
    """Every term the query looks for, those joined by OR included (not those it excludes)."""
    out: list[Term] = []
    for part in query.required:
        out.extend(part.terms if isinstance(part, AnyOf) else (part,))
    return out


def words(query: Query) -> list[str]:
    """Every word the query looks for (not those it excludes), for highlighting."""
    return [word for term in required_terms(query) for word in term.words]
