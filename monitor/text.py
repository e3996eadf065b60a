"""Text normalisation shared by matching and versioning: what counts as "the same text"."""

from __future__ import annotations

import functools
import hashlib
import re
import unicodedata

import numpy as np

_WORD = re.compile(r"\w+", re.UNICODE)

# Function words of English and French: they say nothing about which story a text tells.
STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "said",
        "says",
        "say",
        "told",
        "according",
        "one",
        "two",
        "new",
        "year",
        "years",
        "last",
        "first",
        "people",
        "just",
        "like",
        "mr",
        "mrs",
        "ms",
        "per",
        "cent",
        "percent",
        "also",
        "time",
        "since",
        "still",
        "le",
        "la",
        "les",
        "un",
        "une",
        "des",
        "du",
        "de",
        "d",
        "l",
        "et",
        "est",
        "en",
        "dans",
        "que",
        "qui",
        "pour",
        "par",
        "sur",
        "au",
        "aux",
        "ce",
        "ces",
        "cet",
        "cette",
        "il",
        "elle",
        "ils",
        "elles",
        "on",
        "nous",
        "vous",
        "je",
        "tu",
        "se",
        "sa",
        "son",
        "ses",
        "leur",
        "leurs",
        "lui",
        "y",
        "ne",
        "pas",
        "plus",
        "ou",
        "mais",
        "donc",
        "or",
        "ni",
        "car",
        "avec",
        "sans",
        "sous",
        "entre",
        "vers",
        "chez",
        "comme",
        "a",
        "ete",
        "etre",
        "avoir",
        "fait",
        "faire",
        "sont",
        "ont",
        "etait",
        "avait",
        "dont",
        "tout",
        "tous",
        "toute",
        "toutes",
        "aussi",
        "bien",
        "tres",
        "peu",
        "deja",
        "encore",
        "meme",
        "autre",
        "autres",
        "selon",
        "apres",
        "avant",
        "lors",
        "depuis",
        "ainsi",
        "alors",
        "cela",
        "ceci",
        "celui",
        "celle",
        "ceux",
        "celles",
        "quand",
        "qu",
        "c",
        "s",
        "n",
        "m",
        "j",
        "t",
        "dit",
        "selon",
        "annee",
        "ans",
    ]
)


# Every byte that is not an ASCII word character ([0-9A-Za-z_]) becomes a space.
_WORD_BYTES = bytes(
    b if chr(b).isascii() and (chr(b).isalnum() or b == ord("_")) else ord(" ") for b in range(256)
)
# Code points below this are classified by a table (everything assigned that folding meets in
# news text); rarer ones take the exact per-character path.
_TABLE_SIZE = 0x20000
_COMBINING, _WORDCHAR = 1, 2


# Not classified yet: the table is filled in as code points are met.
_UNKNOWN = 0x80


@functools.cache
def _flag_table() -> np.ndarray:
    """Per code point below ``_TABLE_SIZE``: combining mark (``unicodedata.combining``), word
    character (what ``\\w`` matches: alphanumeric or ``_``), or ``_UNKNOWN``. ASCII is never
    looked up (0). Filled in by ``_char_flags`` for the code points met: classifying all of them
    at once took 0.07-0.1 s, which a command that hashes one seed paid at every start."""
    flags = np.full(_TABLE_SIZE, _UNKNOWN, dtype=np.uint8)
    flags[:128] = 0
    return flags


def _char_flags(cps: np.ndarray) -> np.ndarray:
    """The flags of the code points ``cps`` (each below ``_TABLE_SIZE``), so that ``fold``
    and ``word_bytes`` look at a text's non-ASCII characters in one array operation instead of
    one Python call each. Threads may fill the table at once: each entry has one value."""
    table = _flag_table()
    flags: np.ndarray = table[cps]
    unknown = flags == _UNKNOWN
    if unknown.any():
        for cp in np.unique(cps[unknown]).tolist():
            c = chr(cp)
            combining = _COMBINING if unicodedata.combining(c) else 0
            table[cp] = combining | (_WORDCHAR if c.isalnum() else 0)
        flags = table[cps]
    return flags


def _code_points(text: str) -> np.ndarray:
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype="<u4")


def _without_combining(text: str) -> str:
    cps = _code_points(text)
    if int(cps.max(initial=0)) >= _TABLE_SIZE:
        return "".join(c for c in text if not unicodedata.combining(c))
    marks = (_char_flags(cps) & _COMBINING).astype(bool)
    if not marks.any():
        return text
    kept: bytes = cps[~marks].tobytes()
    return kept.decode("utf-32-le", "surrogatepass")


def fold(text: str) -> str:
    """Lower case, NFKC, accents removed: ``Québec`` and ``Quebec`` are one word."""
    # Normalisation leaves ASCII as it is, and combining marks are never ASCII.
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).lower())
    if decomposed.isascii():
        return decomposed
    return _without_combining(decomposed)


def words(text: str) -> list[str]:
    """The folded word tokens of ``text``."""
    return _WORD.findall(fold(text))


def word_bytes(text: str) -> list[bytes]:
    """The UTF-8 bytes of each of ``words(text)``, for hashing. When no word character of the
    folded text is outside ASCII (nearly all English and French news once accents are folded),
    a bytes regex finds the same tokens without making a str of each first."""
    folded = fold(text)
    if not folded.isascii():
        cps = _code_points(folded)
        if int(cps.max()) >= _TABLE_SIZE or (_char_flags(cps) & _WORDCHAR).any():
            return [w.encode("utf-8") for w in _WORD.findall(folded)]
    # Then every non-word byte (ASCII punctuation, any byte of a non-ASCII character) separates
    # words, and a byte translation and a split do what the regex does, in C.
    return folded.encode("utf-8", "surrogatepass").translate(_WORD_BYTES).split()


def normalised(text: str) -> str:
    """The text with case, accents, punctuation and spacing differences removed."""
    return " ".join(words(text))


def content_sha256(text: str) -> str:
    """The hash of the normalised text: equal for exact copies, changed by any real edit."""
    return sha256_of_words(word_bytes(text))


def sha256_of_words(tokens: list[bytes]) -> str:
    """``content_sha256`` of a text whose ``word_bytes`` are ``tokens``."""
    return hashlib.sha256(b" ".join(tokens)).hexdigest()


def terms(text: str) -> list[str]:
    """Content words: folded tokens without stopwords, short tokens and bare numbers."""
    return [w for w in words(text) if len(w) > 2 and w not in STOPWORDS and not w.isdigit()]


# Each language's most frequent function words (folded), few enough that none is shared with
# another list; a news lead has several per sentence.
_FUNCTION_WORDS = {
    "en": ("the", "and", "of", "to", "is", "that", "for", "with", "was", "said", "his", "from"),
    "fr": ("le", "les", "des", "et", "est", "du", "une", "pour", "dans", "qui", "sur", "pas"),
    "de": ("der", "die", "und", "das", "ist", "nicht", "mit", "sich", "auf", "dem", "ein", "zu"),
    "es": ("el", "los", "del", "las", "y", "por", "con", "una", "para", "es", "se", "como"),
    "it": ("il", "di", "che", "della", "per", "sono", "gli", "anche", "non", "nel", "alla", "ha"),
    "pt": ("os", "do", "da", "dos", "em", "ao", "pelo", "seu", "uma", "nao", "foi", "mais"),
    "nl": ("het", "een", "van", "en", "niet", "zijn", "op", "voor", "met", "dat", "ook", "werd"),
    "pl": ("nie", "sie", "na", "jest", "od", "tym", "ze", "z", "w", "jak", "oraz", "przez"),
}
_LANGUAGE_OF = {w: lang for lang, ws in _FUNCTION_WORDS.items() for w in ws}
# At least this share of the first words, and this many, are one language's function words,
# and at least twice as many as the next language's: on SemEval-2022's 4,864 texts in ten
# languages, 3,599 of the 3,744 in the eight listed are named right, 2 wrong (French taken for
# German), and 18 of the 1,120 in other languages are named as one of the eight.
_MIN_SHARE = 0.05
_MIN_WORDS = 5


def language_of(text: str, *, first: int = 300) -> str | None:
    """The language of ``text`` by its function words (``en``, ``fr``, ``de``, ``es``, ``it``,
    ``pt``, ``nl``, ``pl``), or None when they say nothing clear (another language, too short).
    Pages often declare a site's language rather than the article's, and seeds none."""
    tokens = words(text[: first * 16])[:first]  # a word and its space: rarely 16 characters
    counts: dict[str, int] = {}
    for w in tokens:
        lang = _LANGUAGE_OF.get(w)
        if lang is not None:
            counts[lang] = counts.get(lang, 0) + 1
    if not counts:
        return None
    ranked = sorted(counts.values(), reverse=True)
    best = max(counts, key=lambda k: counts[k])
    if ranked[0] < max(_MIN_WORDS, _MIN_SHARE * len(tokens)) or (
        len(ranked) > 1 and ranked[0] < 2 * ranked[1]
    ):
        return None
    return best
