"""Which sentences are facts a reader would trace: substance, not boilerplate. Pure.

A sentence counts when it has at least ``MIN_WORDS`` words, is not an outlet's furniture ("Read
more", "Sign up for our newsletter", credits, copyright), and carries something checkable: a
number, a name (a capitalised word after the first), a quote, or a date (a weekday or a month,
English or French). What it carries is kept: ``number``, ``name``, ``quote``, ``date``.
"""

from __future__ import annotations

import re

from monitor import text as textmod


def _word_set(text: str) -> frozenset[str]:
    """The words of ``text``: word lists read better as text than as quoted items."""
    return frozenset(text.split())


MIN_WORDS = 6

# An outlet's furniture, on the folded sentence (accents removed, lower case).
_BOILERPLATE = re.compile(
    r"\b(?:read more|read also|see also|related coverage|sign up|subscribe|newsletter"
    r"|click here|follow us|share this|download (?:the|our) app|all rights reserved|copyright"
    r"|advertisement|reporting by|editing by|contributed to this report"
    r"|this (?:story|article) (?:has been|was) (?:updated|corrected)"
    r"|lire aussi|a lire egalement|abonnez vous|infolettre|inscrivez vous|tous droits reserves"
    r"|publicite)\b|©"
)
# A word of each pattern above: a sentence with none of them is not read by the pattern.
_FURNITURE_WORDS = _word_set(
    """read see related sign subscribe newsletter click follow share download reserved
    copyright advertisement reporting editing contributed updated corrected lire abonnez
    infolettre inscrivez reserves publicite"""
)
# A dateline opening the lead: "OTTAWA —", "OTTAWA (Capital Wire) —", "NEW YORK, N.Y. —".
_DATELINE = re.compile(
    r"^[A-ZÀ-Þ][A-ZÀ-Þ.'’\- ]*[A-ZÀ-Þ.](?:,\s*[\w.' ]{2,30}?)?\s*(?:\([^)]{1,40}\))?\s*[—–-]+\s+"
)
_DIGIT = re.compile(r"\d")
_WORD = re.compile(r"\w+")
_QUOTE = re.compile(r"[“”«»\"]")
_CAPITALISED = re.compile(r"(?<![\w'’])[^\W\d_a-zà-ÿ][\w'’.-]*")
_WEEKDAYS_MONTHS = _word_set(
    """monday tuesday wednesday thursday friday saturday sunday january february march april
    may june july august september october november december lundi mardi mercredi jeudi
    vendredi samedi dimanche janvier fevrier mars avril mai juin juillet aout septembre
    octobre novembre decembre"""
)
_FRENCH_DATES = _WEEKDAYS_MONTHS - {"may", "march"}  # in English these are also plain words
_NOT_NAMES = frozenset({"I"})
_OPENING = "\"“‘«'( \u00a0"


def without_dateline(sentence: str) -> str:
    """``sentence`` without a leading dateline (``OTTAWA (Capital Wire) —``): reprints change
    or drop it, and it is not part of what was reported."""
    return _DATELINE.sub("", sentence, count=1)


def boilerplate(folded: str, words: set[str]) -> bool:
    """Whether a folded sentence (``monitor.text.fold``) with these ``words`` is an outlet's
    furniture (most sentences have none of the patterns' words, and are not read by them)."""
    if "©" not in folded and words.isdisjoint(_FURNITURE_WORDS):
        return False
    return _BOILERPLATE.search(folded) is not None


def substance(
    sentence: str, folded: str | None = None, words: set[str] | None = None
) -> tuple[str, ...]:
    """What ``sentence`` carries that a reader can trace (``number``, ``name``, ``quote``,
    ``date``); empty for a sentence that is too short, furniture, or carries none of them.
    ``folded`` is the sentence folded and ``words`` its words, when the caller has them."""
    folded = textmod.fold(sentence) if folded is None else folded
    words = set(_WORD.findall(folded)) if words is None else words
    if len(sentence.split()) < MIN_WORDS or boilerplate(folded, words):
        return ()
    kinds = []
    if _DIGIT.search(sentence):
        kinds.append("number")
    body = sentence.lstrip(_OPENING)
    # The first word is capitalised whatever it is.
    capitalised = [m.group() for m in _CAPITALISED.finditer(body) if m.start() > 0]
    dates = [w for w in capitalised if w.lower().rstrip(".") in _WEEKDAYS_MONTHS]
    if any(w not in _NOT_NAMES and w not in dates for w in capitalised):
        kinds.append("name")
    if _QUOTE.search(sentence):
        kinds.append("quote")
    if dates or not words.isdisjoint(_FRENCH_DATES):
        kinds.append("date")
    return tuple(kinds)
