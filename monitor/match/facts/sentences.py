"""An article's text as sentences, English and French. Pure.

A sentence ends at ``.``, ``!``, ``?`` or ``…`` (with any closing quotes or brackets, French
``»`` after its space included) followed by a space and something that can start a sentence:
a capital, a digit or an opening quote. A line break always ends one: extraction keeps
paragraphs on lines of their own. Three kinds of period do not end a sentence:

- after a title or another abbreviation that is never last (``Mr.``, ``Dr.``, ``Gen.``, ``No.``,
  ``Jan.``; French ``M.``, ``Mme``, ``av.``), or after an initial (``Joe R. Biden``, ``N.Y.``);
- inside a number (``3.5``, ``12:01``): no space follows it;
- after an abbreviation that may or may not be last (``U.S.``, ``a.m.``, ``etc.``, ``Inc.``),
  unless the next word is one a sentence typically starts with (``The``, ``He``, ``Le``,
  ``Il``...): "in the U.S. The talks" ends one, "U.S. President Joe Biden" does not.
"""

from __future__ import annotations

import re


def _word_set(text: str) -> frozenset[str]:
    """The words of ``text``: word lists read better as text than as quoted items."""
    return frozenset(text.split())


# Never the last word of a sentence: titles, and abbreviations a number or a name follows.
_NEVER_LAST = _word_set(
    """mr mrs ms messrs dr prof sen rep gov gen lt col maj sgt capt cmdr adm rev hon pres supt
    insp det cpl pte fr mt ft no nos vol art fig ch p pp para sec jan feb mar apr jun jul
    aug sep sept oct nov dec vs v approx dept m mm mme mmes mlle mlles me pr av boul cf env
    ex"""
)
# May be the last word: split only when the next word is a usual sentence start.
_MAYBE_LAST = _word_set("""etc inc corp co ltd jr sr bros plc llc al st ste ave rd blvd est""")
# What sentences typically start with (English and French function words, capitalised).
_STARTERS = _word_set(
    """The A An In On At As After Before When While But And Or So Yet If Although Though
    Because Since Until Some Many Most Several Other Others Both Each Every All No None He
    She It They We I You His Her Its Their Our My Your This That These Those There Here What
    Who Which Where Why How Then Now Still Also However Meanwhile Instead Last Earlier Later
    Under Over About Among With Without For From By To Of Despite During Le La Les L Un Une
    Des Du De Il Elle Ils Elles On Nous Vous Je Ce Cet Cette Ces Mais Et Ou Donc Or Car Si
    Selon Dans En Au Aux Pour Par Sur Avec Sans Depuis Après Avant Lors Quand Alors Ainsi
    Cependant Pourtant Toutefois Parallèlement Plusieurs Certains"""
)

# A possible end: terminal punctuation, closing quotes or brackets (``»`` may follow a space),
# then a space, then what may start the next sentence (an opening quote, a capital, a digit).
_BOUNDARY = re.compile(r"[.!?…]+(?:\s?[»”\"’')\]])*\s+(?=[«“\"‘'(\[]?\s?[^\W\d_a-zà-ÿ]|\d)")
_NEXT_WORD = re.compile(r"[«“\"‘'(\[]?\s?(\w+)")
_INITIAL = re.compile(r"^(?:\w\.)*[^\W\d_]$")  # R, N.Y, J.-C (a dotted abbreviation's letters)
_DOTTED = re.compile(r"^(?:[^\W\d_]{1,3}\.-?)+[^\W\d_]{1,3}$")  # U.S, a.m, c.-à-d


def split(text: str) -> list[str]:
    """The sentences of ``text``, in order, each stripped; blank lines give none."""
    out: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if line:
            out.extend(_split_line(line))
    return out


def _split_line(line: str) -> list[str]:
    sentences = []
    start = 0
    for match in _BOUNDARY.finditer(line):
        before = line[start : match.start() + 1]
        if _ends_sentence(before, match.group(0), line[match.end() :]):
            sentences.append(line[start : match.end()].strip())
            start = match.end()
    rest = line[start:].strip()
    if rest:
        sentences.append(rest)
    return sentences


def _ends_sentence(before: str, punctuation: str, after: str) -> bool:
    """Whether the period ending ``before`` ends the sentence, given what follows it."""
    if not punctuation.startswith(".") or punctuation.startswith(".."):
        return True  # ! ? … and an ellipsis are never an abbreviation's
    tail = before[-40:].split()  # the last word, without reading the whole sentence again
    token = tail[-1].rstrip(".!?…").lstrip("«“\"‘'([") if tail else ""
    word = token.rstrip(".").lower()
    nxt = _NEXT_WORD.match(after)
    starts = nxt is not None and nxt.group(1) in _STARTERS
    if word in _NEVER_LAST:
        return False
    if word in _MAYBE_LAST or _DOTTED.match(token.rstrip(".")):
        return starts
    if _INITIAL.match(token.rstrip(".")) and token[:1].isupper():
        # One capital letter: an initial (Joe R. Biden, M. Legault), or a sentence ending on a
        # letter ("Plan B.") when a usual start follows.
        return starts
    return True
