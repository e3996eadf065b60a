"""What a prefix query must also look for, because the index holds stems, not words.

Both engines index each word's stem (SQLite: Porter's, for every text; PostgreSQL: Snowball's
English or French, by the article's language) and look for a prefix among those stems, the
prefix itself stemmed first. A prefix longer than the stem of the word a reader is after finds
nothing: "immigration" is indexed as ``immigr``, so ``immigra*`` missed it, and so did
``investigat*`` (``investig``) and the French ``gouvernem*`` (``gouvern``).

So a prefix ``p`` also looks for the words that start with ``p`` and stem to a proper prefix of
it. Those words are made, not looked up: ``p`` followed by each ending the stemmers strip
(``immigra`` + ``nt``, ``+ tion``; an ending's first letters may already be typed, as ``a`` of
``ation``), each stemmed here by the engine's algorithm (the ``snowballstemmer`` package:
``porter`` is the algorithm of FTS5's tokenizer, ``english`` and ``french`` those of
PostgreSQL's configurations). A stem kept is one that is a proper prefix of ``p``, of three
letters or more, that the prefix's own search does not already cover; one word per stem is
returned, for the engine to stem again itself (a stem quoted as a word would be stemmed a
second time: Porter makes ``agre`` of "agreed" and ``agr`` of ``agre``).

Unlike dropping letters from ``p`` until a stem of the index is met, this never reaches a stem
no word starting with ``p`` has: ``investigat*`` finds "investigators" (``investig``) and not
"investment" (``invest``), ``porta*`` not "port". What no expansion can undo is the index's
own conflation: "general" and "generation" share Porter's ``gener``, so ``generat*`` finds both
on SQLite (docs/search.md).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import snowballstemmer  # type: ignore[import-untyped]

# A stem shorter than this is too short to say which words it came from.
MIN_STEM = 3

# Endings this short are tried whole after the prefix, longer ones only where the prefix ends
# with their first letters.
WHOLE = 3

# The endings the English stemmers (Porter's, Snowball's English) strip, with the inflected
# and compound forms that lead there in several steps ("-ationally": -ational, -ate, gone).
ENGLISH = (
    "s es ed ing ings e er ers est ly y ies ied ier iest iness "
    "ion ions ation ations ational ationally ator ators ate ated ates ating ative atives "
    "ant ants ance ances ancy ent ents ence ences ency ently ement ements ment ments mental "
    "al als ally ality alism alist alists alize alized alization "
    "ic ics ical ically icity ism isms ist ists ize ized izes izing ization izations "
    "ise ised ises ising isation ive ives ively iveness ivity ous ously ousness "
    "ness ful fully fulness able ably ability abilities ible ibly ibility ity ities "
    "logy logies logical ship less"
)
# The French ones (Snowball's French), the same way.
FRENCH = (
    "s x e es é ée és ées er ez ons ent ant ante ants antes ance ances ence ences "
    "ment ments ement ements issement issements ation ations ateur ateurs atrice atrices "
    "ature atures ure ures ion ions eur eurs euse euses ique iques isme ismes iste istes "
    "able ables ible ibles if ive ifs ives ité ités logie logies al ale aux ales elle elles "
    "eux ir ira irent issant issent ait aient ais era erai eront erait eraient iez"
)


def _measure(stem: str) -> int:
    """Porter's measure of ``stem``: how many vowel runs are followed by a consonant, about its
    syllables. A stem of one (``port``, ``cross``) is shared by too many unrelated words to be
    reached through a derivation cutting into what was typed: ``porta*`` would find "port"
    through "portative"; an inflection may (``crossi*``: "crossing", ``cross``)."""
    return len(_SYLLABLE.findall(stem))


def _fold(word: str) -> str:
    """``word`` without its accents, as FTS5's ``remove_diacritics 2`` reads it."""
    parts = unicodedata.normalize("NFKD", word)
    return "".join(c for c in parts if not unicodedata.combining(c))


# Each engine's stemmer: its Snowball algorithm and the endings of its texts' languages
# (SQLite stems French texts with Porter's English rules too, so both lists apply there).
STEMMERS = {
    "porter": ("porter", tuple(dict.fromkeys(_fold(e) for e in f"{ENGLISH} {FRENCH}".split()))),
    "english": ("english", tuple(ENGLISH.split())),
    "french": ("french", tuple(FRENCH.split())),
}
_LETTERS = re.compile(r"[^\W\d_]+")
# A run of vowels (y counted as one, accented ones too) then a consonant.
_SYLLABLE = re.compile(r"[aeiouyàâäéèêëîïôöùûüÿæœ]+[^aeiouyàâäéèêëîïôöùûüÿæœ]")


def completions(prefix: str, stemmer: str) -> tuple[str, ...]:
    """Words starting with ``prefix`` whose stems (by ``stemmer``, a key of STEMMERS) are
    proper prefixes of it that the prefix's own search misses: one word per stem. Letters
    only, so each can be quoted for an engine as a word."""
    return _completions(prefix.lower(), stemmer)


@lru_cache(maxsize=4096)
def _completions(prefix: str, stemmer: str) -> tuple[str, ...]:
    # Some 150 to 300 words stemmed at some 15 µs each: cached, a prefix costs it once.
    algorithm, endings = STEMMERS[stemmer]
    if not _LETTERS.fullmatch(prefix):
        return ()
    stem = snowballstemmer.stemmer(algorithm).stemWord
    # FTS5 removes accents before Porter sees a word; PostgreSQL keeps them.
    key = _fold(prefix) if stemmer == "porter" else prefix
    covered = stem(key)  # what the prefix's own search looks for: stems starting so
    found: dict[str, str] = {}
    for word, ending in _words(key, endings):
        got = stem(word)
        shorter = MIN_STEM <= len(got) < len(key) and key.startswith(got)
        # One syllable only through an inflection: "crossings", yes; "portative", no.
        kept = _measure(got) >= 2 or len(ending) <= WHOLE
        if shorter and kept and not got.startswith(covered):
            found.setdefault(got, word)
    return tuple(found.values())


def _words(key: str, endings: tuple[str, ...]) -> list[tuple[str, str]]:
    """``key`` followed by each ending with its first letters already in ``key``, or whole
    for the short ones (an inflection may also cut into the word: "hopped", ``hop``; longer
    endings do in their compound forms, listed, as -ization after -iz); each with its ending."""
    out: dict[str, str] = {}
    for ending in endings:
        for typed in range(0 if len(ending) <= WHOLE else 1, len(ending)):
            if key.endswith(ending[:typed]):
                out.setdefault(key + ending[typed:], ending)
    return list(out.items())
