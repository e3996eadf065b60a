"""The query syntax's parser (storage.searchquery): what each query means, and that what the
engines would read as syntax arrives as quoted words."""

from __future__ import annotations

import re

import pytest

from storage.errors import QueryError
from storage.searchquery import MAX_CHARS, AnyOf, Query, Term, fts5, parse


def test_words_phrases_prefixes_or_and_exclusions_make_the_tree() -> None:
    """Words are required, quotes make a phrase, ``*`` a prefix, OR joins its neighbours and
    ``-`` excludes a word or a phrase."""
    assert parse('harbour "tunnel will open" engin* -scandal -"city hall" a OR b') == Query(
        required=(
            Term(("harbour",)),
            Term(("tunnel", "will", "open")),
            Term(("engin",), prefix=True),
            AnyOf((Term(("a",)), Term(("b",)))),
        ),
        excluded=(Term(("scandal",)), Term(("city", "hall"))),
    )


def test_or_binds_its_neighbours_and_a_dangling_or_is_ignored() -> None:
    """``a OR b c`` is (a or b) and c; an OR at either end, twice, or lower case is a word or
    nothing as the case may be; a minus sign inside an OR is punctuation."""
    assert parse("a OR b c").required == (AnyOf((Term(("a",)), Term(("b",)))), Term(("c",)))
    assert parse("OR a OR OR b OR").required == (AnyOf((Term(("a",)), Term(("b",)))),)
    assert parse("a or b").required == (Term(("a",)), Term(("or",)), Term(("b",)))
    assert parse("a OR -b") == Query((AnyOf((Term(("a",)), Term(("b",)))),))


def test_a_token_of_several_words_is_a_phrase_and_punctuation_is_dropped() -> None:
    """``covid-19``, ``l'Élysée`` and ``title:x`` are phrases of their words; brackets, carets
    and operators around words are dropped; accents and case are kept for the engine."""
    assert parse("covid-19 l'Élysée title:x").required == (
        Term(("covid", "19")),
        Term(("l", "Élysée")),
        Term(("title", "x")),
    )
    assert parse("^NEAR(a b) {c}").required == (Term(("NEAR", "a")), Term(("b",)), Term(("c",)))


def test_an_unclosed_quote_runs_to_the_end_and_repeated_terms_count_once() -> None:
    """A quote left open is a phrase to the end of the query; a term given twice is one."""
    assert parse('x "big tunnel').required == (Term(("x",)), Term(("big", "tunnel")))
    assert parse("x x X").required == (Term(("x",)), Term(("X",)))


@pytest.mark.parametrize("query", ["", "  \t", "*", "^ : ( ) -", '"" * ""', "OR OR", "-a -b"])
def test_no_word_to_look_for_is_a_query_error(query: str) -> None:
    """A query with no word, or only words to exclude, cannot be searched: QueryError."""
    with pytest.raises(QueryError, match="the query"):
        parse(query)


def test_a_query_over_the_limit_is_a_query_error_naming_its_length() -> None:
    """Over MAX_CHARS characters: QueryError with the length and the limit on one line."""
    parse("a " * (MAX_CHARS // 2))
    with pytest.raises(QueryError) as caught:
        parse("a" * 10_000)
    assert str(caught.value) == f"the query is 10,000 characters long: at most {MAX_CHARS:,}"


def test_fts5_rendering_quotes_every_term() -> None:
    """The FTS5 expression: each term a quoted string, prefixes after the quote, OR in
    brackets, exclusions as NOT; nothing else of the user's text."""
    query = parse('harbour "tunnel will" engin* a OR b -scandal')
    assert fts5(query) == (
        '("harbour" AND "tunnel will" AND "engin" * AND ("a" OR "b")) NOT "scandal"'
    )


@pytest.mark.parametrize(
    "query",
    ['NEAR("a" "b", 2)', 'title:x OR text:"y"', '^a* "b"*', '"a""b" {c d}:e - f', "a AND NOT b"],
)
def test_fts5_rendering_of_engine_syntax_is_words_in_quotes(query: str) -> None:
    """Whatever FTS5 would read as syntax comes out as words inside double quotes: outside
    them only AND, OR, NOT, brackets and prefix stars of our own."""
    rendered = fts5(parse(query))
    outside = re.sub(r'"[^"]*"', "", rendered)
    assert set(outside.replace("AND", "").replace("OR", "").replace("NOT", "")) <= set("()* ")
