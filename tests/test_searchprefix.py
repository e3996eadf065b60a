"""The words a search prefix also stands for (storage.searchprefix), and that the engines read
them as FTS5 reads its index: stemmed by the same algorithm."""

from __future__ import annotations

import sqlite3

import pytest
import snowballstemmer  # type: ignore[import-untyped]

from storage import searchprefix
from storage.searchquery import fts5, parse


@pytest.mark.parametrize(
    ("prefix", "stemmer", "stem"),
    [
        ("immigra", "porter", "immigr"),
        ("investigat", "porter", "investig"),
        ("gouvernem", "porter", "gouvern"),
        ("immigra", "english", "immigr"),
        ("gouvernem", "french", "gouvern"),
        ("crossi", "porter", "cross"),
        ("hopp", "english", "hop"),
    ],
)
def test_a_prefix_longer_than_a_stem_stands_for_a_word_of_that_stem(
    prefix: str, stemmer: str, stem: str
) -> None:
    """Each word returned starts with the prefix, and one of them stems to the shorter stem
    the index holds for the words starting so."""
    words = searchprefix.completions(prefix, stemmer)
    algorithm = searchprefix.STEMMERS[stemmer][0]
    stems = snowballstemmer.stemmer(algorithm).stemWords(list(words))
    assert all(w.startswith(prefix) for w in words) and stem in stems


@pytest.mark.parametrize("prefix", ["immigr", "invest", "porta", "ab", "covid19", "x"])
def test_no_word_where_the_prefix_search_covers_it_or_the_stem_is_too_short(prefix: str) -> None:
    """Nothing for a prefix that is already a stem's, for a one-syllable stem reached through a
    derivation (``porta`` would reach ``port`` through "portative"), nor for a prefix with
    digits or of one or two letters."""
    assert searchprefix.completions(prefix, "porter") == ()


def test_fts5_stems_the_words_as_the_python_porter_does() -> None:
    """FTS5's porter tokenizer gives each word made for a prefix the stem that the Python
    Porter gave it: the word the engine is handed stands for the stem that was chosen."""
    prefixes = ["immigra", "investigat", "gouvernem", "manifestat", "presiden", "generaliz"]
    words = [w for p in prefixes for w in searchprefix.completions(p, "porter")]
    db = sqlite3.connect(":memory:")
    db.execute(
        "CREATE VIRTUAL TABLE t USING fts5(x, tokenize='porter unicode61 remove_diacritics 2')"
    )
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, instance)")
    db.execute("INSERT INTO t VALUES (?)", (" ".join(words),))
    engine = [term for (term,) in db.execute("SELECT term FROM v ORDER BY offset")]
    assert len(words) == len(prefixes)
    assert engine == snowballstemmer.stemmer("porter").stemWords(words)


def test_the_fts5_expression_ors_the_words_quoted_and_drops_anything_else() -> None:
    """A prefix term (alone, in a phrase, excluded) becomes the prefix OR each word, quoted;
    what is not a plain word is left out, so no text is read as FTS5 syntax."""
    more = {"immigra": ("immigration", 'x" OR "y'), "porta": ()}
    got = fts5(parse('"say immigra"* immigra* -porta*'), lambda p: more.get(p, ()))
    assert got == (
        '(("say immigra" * OR "say immigration") AND ("immigra" * OR "immigration")) NOT "porta" *'
    )
