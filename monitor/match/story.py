"""Same-story scoring: what the second stage of matching compares, and how.

Pure. Other outlets' own reporting shares facts, not sentences, so the story stage compares
weighted content words: TF-IDF over the title and the lead, with

- light suffix stripping (``arrested``/``arrest``, ``earthquakes``/``earthquake``),
- names (capitalised words) weighted up, numbers of two digits or more kept (``#2009``),
- time proximity: a score fades once an article is more than three days from the story's
  nearest report (any member, seeds included), a grace that grows with the story's age, so a
  story that keeps being covered keeps accepting its follow-ups, while a later event that
  reuses its vocabulary after a long silence (a court ruling months after an agreement) stays
  out;
- growth: an accepted article anchors the story for later ones when it scored well clear of the
  bar against a seed or an earlier anchor (``ANCHOR_RATIO``), and every accepted original joins
  the centroid of the story's reports near an article in time (``CENTROID_MEMBERS``), which
  scores it beside the best anchor;
- across languages: divided by ``CROSS_LANGUAGE_RATIO``, and only for an article that names a
  story keyword when the story has keywords (story_stage).

Every constant below was chosen on the seeded benchmark in benchmarks/matching.py (BASIL, ECB+,
NewsWCL50), one change at a time, and kept only when the figure rose (seeded F1 at the default
threshold: 0.840 before; time proximity 0.851, stemming, numbers and names x1.5 0.864); the
SemEval-2022 English and French pairs the benchmark also prints were never used to choose
anything. Its cross-language pairs chose one constant, CROSS_LANGUAGE_RATIO: a French article
against English seeds shares names and numbers, not words, and scores about a quarter as high.

What limits this score is calibration across seeds, not ranking: within a seed, its own
articles outrank the others, but each seed's best threshold is its own and nothing measured on
the seed alone predicts it. Hence the per-story ``story_threshold`` (monitor.config): the analyst
who knows the story can set what no statistic of the seed predicts. The variants measured and not
kept, with their figures, are in benchmarks/README.md ("Experiment history").
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from monitor import text as textmod

# The first words name the event; long articles drift into background other stories share
# (seeded F1 0.81 -> 0.83 at 300 words).
LEAD_WORDS = 300
# Names count 1.5 times (2 before stemming; 1.5 is better with it: F1 +0.004).
NAME_WEIGHT = 1.5
# Full score within this many days of the story's nearest report, a grace that grows with the
# story's age (STORY_AGE_WEIGHT), then halved every HALF_LIFE days. 3 and 7 days are the
# seeded benchmark's best (BASIL precision 0.87 -> 0.97 at the same recall; a flat 7 and 14 let
# in five follow-ups of neighbouring events days to weeks later: seeded F1 0.868 -> 0.866).
TIME_GRACE_DAYS = 3.0
TIME_HALF_LIFE_DAYS = 7.0
# Coverage of a story fades roughly as a power of its age (a burst of reports, then follow-ups
# ever further apart), so the silence a story tolerates grows with how long it has been
# reported: the grace is TIME_GRACE_DAYS plus this times the story's age at the member the
# silence is measured from (the time since its first report). A story of one day keeps 3 days;
# one reported for a week tolerates 10, so the follow-ups of tests/test_developing.py join
# (twelve days after a member eight days into the story: x 0.96, not 0.41), while the same
# words months after a story that ran for weeks still fade. 1.0 is the natural unit (a silence
# as long as the story's life so far), not a fitted value.
STORY_AGE_WEIGHT = 1.0
# Two texts in different languages share only names, numbers and a few cognates: their score is
# divided by this before it meets the threshold. Fitted on SemEval-2022's cross-language pairs
# (German, Spanish and Polish with English, Spanish with Italian: pooled F1 at the default
# threshold 0.057 undivided, 0.688 at 0.25, the best of 0.10-0.60); held out, German-French
# pairs (the set has no English-French ones) go from F1 0.118 to 0.800.
CROSS_LANGUAGE_RATIO = 0.25
# An accepted article (not a seed) anchors the story only when it scored this many times the
# story threshold against a seed or an anchor published before it (the chain lets a story grow
# with its coverage), and a candidate must reach the same multiple against it:
# accepted articles drifting one step further from the seeds at each acceptance took growing-mode
# F1 down to 0.75; with this bar it stays level with seeded following.
ANCHOR_RATIO = 1.6
# The story as it is now: the centroid of its reports (seeds, articles labelled in, accepted
# originals; copies repeat their original) published within the grace of the article's time,
# the CENTROID_MEMBERS nearest to it, each its unit term frequencies, the sum weighed by idf.
# An article is scored by the better of its best anchor and this centroid divided by
# CENTROID_RATIO. A story's coverage shares its vocabulary across reports no two of which share
# much (headlines above all: "Snowden speaks at SXSW" and "Edward Snowden is a stain upon the
# Constitution"), which one anchor cannot see. Only dated articles against dated members: "now"
# needs dates, and an undated centroid drifts to every report of the same kind (the gate's
# shuffled ECB+ stream took in 45% of the other same-kind events; benchmarks/README.md, "a
# Rocchio centroid"). benchmarks/developing.py: BASIL F1 0.909 -> 0.930, UCI's headlines 0.551
# -> 0.689; 10 and 200 members within 0.02 of 30, ratio 1.3 lower (BASIL 0.912, UCI 0.659).
CENTROID_MEMBERS = 30
CENTROID_RATIO = 1.0

_TOKEN = re.compile(r"\w+", re.UNICODE)
# English and French inflections, longest first; a stem keeps at least four letters.
_SUFFIXES = ("ations", "ation", "ings", "ing", "ies", "ied", "ed", "es", "s")
_MIN_STEM = 4
# Cruder than a real stemmer on purpose: stripping "es" only after sibilants (earthquakes ->
# earthquake) or also a final e (Porter's way) both measured lower (seeded F1 0.861, 0.858
# against 0.864).


@functools.lru_cache(maxsize=1 << 16)
def stem(word: str) -> str:
    """A folded word without its common inflection: plural ``s``/``es``/``ies``, ``ed``,
    ``ing``, ``ation``. Crude on purpose: it only has to map one story's wordings together."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= _MIN_STEM:
            base = word[: -len(suffix)]
            return base + "y" if suffix in ("ies", "ied") else base
    return word


def story_terms(title: str | None, text: str, lead: int | None = LEAD_WORDS) -> dict[str, float]:
    """Weighted terms of the title and the first ``lead`` words (all words if None)."""
    global _last_lead
    body, rest = _lead_and_rest(text, lead)
    counts = _counts(title or "")
    lead_counts = _counts(body)
    counts.update(lead_counts)  # in order of first occurrence, as one pass over both
    if lead == LEAD_WORDS:
        _last_lead = (text, rest, lead_counts)
    # Each capitalised word once: a name recurs through a text (fold and stem per occurrence
    # were a fifth of this function's cost).
    raw = f"{title or ''}\n{body}"
    names = {stem(textmod.fold(w)) for w in set(_TOKEN.findall(raw)) if w[0].isupper()}
    return {t: c * NAME_WEIGHT if t in names else float(c) for t, c in counts.items()}


def _lead_and_rest(text: str, lead: int | None) -> tuple[str, str]:
    """The first ``lead`` words of ``text`` (joined by single spaces) and what follows them.
    No word token crosses white space, so the two hold the text's tokens between them."""
    if lead is None:
        return text, ""
    words = text.split(maxsplit=lead)
    if len(words) <= lead:
        return " ".join(words), ""
    return " ".join(words[:lead]), words[lead]


# The text ``story_terms`` last read (at LEAD_WORDS), what follows its lead, and the lead's term
# counts: a stored article's document terms (``document_terms``, when its version is stored)
# follow its story terms (its decision), and count only the rest again. Replaced whole, so a
# thread reads either one entry or the next, each consistent.
_last_lead: tuple[str, str, Counter[str]] | None = None


def _counts(raw: str) -> Counter[str]:
    """How often each term occurs in ``raw``, before names are weighted."""
    global _TERM_OF
    words = textmod.words(raw)
    known = _TERM_OF  # this call's: another thread may start a new one, never empty this one
    if not known.keys() >= set(words):
        if len(known) > _TERMS_KEPT:
            known = _TERM_OF = {}
        for w in words:
            if w not in known:
                known[w] = _term(w)
    counts = Counter(map(known.__getitem__, words))  # in C, in order of first occurrence
    counts.pop("", None)
    return counts


def _term(word: str) -> str:
    """The term a folded word counts as: ``#`` and the number for a number of two digits or
    more, its stem for a content word of three letters or more, else none (``""``)."""
    if word.isdigit():
        return "#" + word if len(word) >= 2 else ""
    return stem(word) if len(word) > 2 and word not in textmod.STOPWORDS else ""


# Each word met, with its term: a page's thousand words cost a look-up each, where telling
# each one's term (a number? a stop word? its stem) cost 0.3 CPU ms a page. Replaced by an empty
# one past _TERMS_KEPT words, about 8 MB (as the stems' cache): a daemon meets new words for ever.
_TERM_OF: dict[str, str] = {}
_TERMS_KEPT = 1 << 16


def document_terms(text: str) -> set[str]:
    """The terms a stored text adds to the document frequencies: its whole text (the terms of
    ``story_terms(None, text, lead=None)``; their weights, and so the names, do not count)."""
    last = _last_lead
    if last is not None and (last[0] is text or last[0] == text):
        _, rest, lead_counts = last
    else:
        body, rest = _lead_and_rest(text, LEAD_WORDS)
        lead_counts = _counts(body)
    return set(lead_counts).union(_counts(rest))


# Names what document_terms returns: change it whenever they change, and the database's stored
# document frequencies (storage.termstats) are counted again at the next start.
TERMS_VERSION = "1: stemmed content words and #numbers of the whole text"


@dataclass(frozen=True)
class TermChange:
    """What storing one version changes in the document frequencies: the terms it adds, those
    its predecessor had and it has not, and whether it is a new document."""

    added: frozenset[str]
    removed: frozenset[str]
    new_doc: bool

    @classmethod
    def between(cls, old_text: str | None, new_text: str) -> TermChange:
        new = document_terms(new_text)
        if old_text is None:
            return cls(frozenset(new), frozenset(), True)
        old = document_terms(old_text)
        return cls(frozenset(new - old), frozenset(old - new), False)


def weights(counts: dict[str, float], df: Counter[str], docs: int) -> dict[str, float]:
    """Sublinear term frequency times smoothed inverse document frequency."""
    return {
        t: (1 + math.log(c)) * (math.log((1 + docs) / (1 + df.get(t, 0))) + 1)
        for t, c in counts.items()
    }


def norm(vector: dict[str, float]) -> float:
    return math.sqrt(sum(w * w for w in vector.values()))


def cosine(a: dict[str, float], na: float, b: dict[str, float], nb: float) -> float:
    if not na or not nb:
        return 0.0
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(t, 0.0) for t, w in a.items()) / (na * nb)


def shared_terms(
    a: dict[str, float], na: float, b: dict[str, float], nb: float, k: int = 5
) -> list[tuple[str, float]]:
    """The ``k`` terms that add most to ``cosine(a, na, b, nb)``, each with what it adds: what
    a reader needs to see why two articles were found to tell one story."""
    if not na or not nb:
        return []
    if len(a) > len(b):
        a, b = b, a
    parts = [(t, w * b[t] / (na * nb)) for t, w in a.items() if t in b]
    return sorted(parts, key=lambda p: (-p[1], p[0]))[:k]


def language(title: str | None, text: str, declared: str | None = None) -> str | None:
    """The language of the title and lead by their function words, else as declared (pages
    often declare the site's language, not the article's; seeds may declare none)."""
    return textmod.language_of(f"{title or ''}\n{text}") or declared


def language_ratio(a: str | None, b: str | None) -> float:
    """What a score between texts in languages ``a`` and ``b`` is divided by: 1.0 unless both
    are known and differ."""
    return CROSS_LANGUAGE_RATIO if a and b and a != b else 1.0


def as_utc(value: datetime) -> datetime:
    """A naive datetime is taken as UTC (the database and the seeds store UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def time_factor(a: datetime | None, b: datetime | None, age_days: float = 0.0) -> float:
    """1.0 when either date is unknown or they are within the grace period; then halving every
    half-life. ``age_days``: how long the story had been reported at ``b`` (the member), which
    lengthens the grace (``STORY_AGE_WEIGHT``)."""
    if a is None or b is None:
        return 1.0
    days = abs((as_utc(a) - as_utc(b)).total_seconds()) / 86400.0
    grace = TIME_GRACE_DAYS + STORY_AGE_WEIGHT * max(age_days, 0.0)
    factor: float = 0.5 ** (max(days - grace, 0.0) / TIME_HALF_LIFE_DAYS)
    return factor
