"""Do two sentences state the same fact? Pure.

A sentence is read as its words, folded (case, accents) and stemmed, with its numbers written
one way (``39,000``, ``39 000`` and ``39000`` are ``#39000``; ``3,5`` and ``3.5`` are
``#3.5``). Two sentences state the same fact when a logistic score of six overlap figures
reaches ``THRESHOLD``:

- the share of each sentence's words found in the other, smaller and larger (a paraphrase
  keeps most words whatever the order; a sentence that adds a clause keeps fewer);
- the same for word pairs (bigrams): what a light rewording keeps of the phrasing;
- whether their numbers differ (39,000 against 29,000 is another fact);
- how different their lengths are;

and only when at least ``MIN_TERM_JACCARD`` of their content terms (stopwords left out) are
shared: the bound that lets blocking (``monitor.match.facts.group``) find every pair the score
could accept without comparing all of them.

The weights were fitted on the training half of the Microsoft Research Paraphrase Corpus (news
sentence pairs) and the threshold chosen there for the best accuracy;
``benchmarks/storyfile_facts.py --fit`` fits them again, and scores the test half beside
plain word-overlap baselines.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from dataclasses import dataclass

from monitor import text as textmod
from monitor.match.story import stem

# Logistic weights on (words shared smaller, larger, bigrams shared smaller, larger, numbers
# differ, length difference) and the intercept: benchmarks/storyfile_facts.py --fit on MSRP's
# training pairs (4,080 pairs). Word and bigram shares are correlated, hence the signs.
WEIGHTS = (5.38, 4.71, 5.23, -6.89, -0.5, -0.56)
INTERCEPT = -4.32
# The probability at which a pair is the same fact: the best accuracy on the training pairs.
# A veto on different numbers would suit "who first reported this figure" better, but costs
# 1.1 points of test accuracy (MSRP's paraphrases round and restate figures): a carrier whose
# figures differ from the first's is flagged instead (monitor.match.facts.group).
THRESHOLD = 0.471
# No pair sharing fewer content terms is the same fact. On MSRP's training pairs this bound
# turns down 21 of the 3,239 pairs the score accepts, 11 of them paraphrases (accuracy 0.7439
# against 0.7441 without it; on the test pairs 0.7443 against 0.7438).
MIN_TERM_JACCARD = 0.25

# Tokens of a folded sentence: a grouped number (39,000 / 39 000 / 1,250,000), a number with
# its decimals (3.5 / 3,5), or a word. Folding made every no-break or thin space a space.
_TOKEN = re.compile(r"\d{1,3}(?:[, ]\d{3})+(?:\.\d+)?(?!\d)|\d+(?:[.,]\d+)?|\w+")


def number(token: str) -> str:
    """A number token written one way: ``39,000`` and ``39 000`` are ``#39000``, ``3,5`` and
    ``3.5`` are ``#3.5``: a comma before exactly three digits groups thousands, any other is
    a decimal comma."""
    digits = token.replace(" ", "")
    if "," in digits:
        whole, _, tail = digits.rpartition(",")
        grouped = "." in digits or len(tail) == 3
        digits = digits.replace(",", "") if grouped else f"{whole.replace(',', '')}.{tail}"
    return "#" + digits


def fact_stem(word: str) -> str:
    """The story stage's stem without a final ``e``: ``close``, ``closed``, ``closes`` and
    ``closing`` are one term."""
    base = stem(word)
    return base[:-1] if base.endswith("e") and len(base) > 4 else base


@dataclass(frozen=True, slots=True)
class Sentence:
    """What the pair decision compares of one sentence."""

    words: frozenset[str]  # stemmed words, stopwords included, and #numbers
    bigrams: frozenset[str]  # "word word"
    terms: frozenset[str]  # content terms: stemmed words without stopwords, and #numbers
    numbers: frozenset[str]
    length: int  # in words


def read(sentence: str) -> Sentence:
    """``sentence`` as the pair decision sees it."""
    return read_tokens(tokens(textmod.fold(sentence)))


def tokens(folded: str) -> list[str]:
    """The words and numbers of a folded sentence (``monitor.text.fold``), numbers with their
    separators (``39,000``, ``3,5``)."""
    found: list[str] = _TOKEN.findall(folded)
    return found


def read_tokens(found: list[str]) -> Sentence:
    """``read`` of a sentence's ``tokens``."""
    words: list[str] = []
    terms: set[str] = set()
    numbers: set[str] = set()
    for token in found:
        if token[0].isdigit():
            token = number(token)
            numbers.add(token)
            words.append(token)
            continue
        word, is_term = _word(token)
        words.append(word)
        if is_term:
            terms.add(word)
    return Sentence(
        frozenset(words),
        frozenset(a + " " + b for a, b in itertools.pairwise(words)),
        frozenset(terms | numbers),
        frozenset(numbers),
        len(words),
    )


@functools.lru_cache(maxsize=1 << 16)
def _word(token: str) -> tuple[str, bool]:
    """A folded token's stem, and whether it is a content term."""
    is_term = len(token) > 2 and token not in textmod.STOPWORDS and not token.isdigit()
    return fact_stem(token), is_term


def _shares(a: frozenset[str], b: frozenset[str]) -> tuple[float, float]:
    """The shares of ``a`` found in ``b`` and of ``b`` in ``a``, smaller first."""
    if not a or not b:
        return 0.0, 0.0
    shared = len(a & b)
    x, y = shared / len(a), shared / len(b)
    return (x, y) if x <= y else (y, x)


def term_jaccard(a: Sentence, b: Sentence) -> float:
    if not a.terms or not b.terms:
        return 0.0
    shared = len(a.terms & b.terms)
    return shared / (len(a.terms) + len(b.terms) - shared)


def features(a: Sentence, b: Sentence) -> tuple[float, ...]:
    """The six figures the score weighs, in the order of ``WEIGHTS``."""
    w_min, w_max = _shares(a.words, b.words)
    b_min, b_max = _shares(a.bigrams, b.bigrams)
    numbers_differ = 1.0 if a.numbers != b.numbers else 0.0
    length_diff = abs(a.length - b.length) / max(a.length, b.length, 1)
    return (w_min, w_max, b_min, b_max, numbers_differ, length_diff)


def score(a: Sentence, b: Sentence) -> float:
    """The probability that ``a`` and ``b`` state the same fact, by the fitted weights; 0 when
    they share less than ``MIN_TERM_JACCARD`` of their content terms."""
    if term_jaccard(a, b) < MIN_TERM_JACCARD:
        return 0.0
    z = INTERCEPT + sum(w * f for w, f in zip(WEIGHTS, features(a, b), strict=True))
    return 1.0 / (1.0 + math.exp(-z))


def same_fact(a: Sentence, b: Sentence, threshold: float = THRESHOLD) -> bool:
    return score(a, b) >= threshold
