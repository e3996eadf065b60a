"""The story threshold fitted from the analyst's labels (``monitor story label``).

An article labelled ``in`` should pass the story's bar and one labelled ``out`` should not;
the bar is ``story_bar``'s: the threshold, or half of it when a story keyword is hit. So each
labelled article has a *reach*, the highest threshold it passes (its score, doubled with a
keyword), and a threshold ``t`` admits it exactly when ``t <= reach``. ``separating_threshold``
counts, for every stretch of thresholds between two reaches, the labels it gets wrong, keeps the
stretches that get fewest wrong, and takes the one nearest the configured threshold (the prior).
Inside it:

- below every label (only ``in`` labels there): the prior if it admits them, else the highest
  threshold that does: labels of one side can only move the line their way;
- above every label: likewise, the prior or the lowest threshold that keeps them out;
- a gap between two labels: its midpoint.

``fit_threshold`` then moves from the prior only n / (n + ``PRIOR_WEIGHT``) of the way to it,
n the number of labels: the labelled articles are decided by their labels anyway, and the
threshold decides the others, so a few labels (or one far from the line: a follow-up that
scored 0.02) must not drag it all the way. Measured by ``benchmarks/labels.py``: with labels
given where an analyst would give them, on the matcher's mistakes, trusting the separating
threshold outright fell to F1 0.61 at five labels a story (one ``in`` label far below the line
admits everything above it), and shrunk it reaches 0.97.

Pure: no database, no clock.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

# How many labels the configured threshold is worth: with n labels the threshold moves
# n / (n + PRIOR_WEIGHT) of the way from the prior to the separating threshold (1 to 4 measured
# alike in benchmarks/labels.py).
PRIOR_WEIGHT = 2.0
# Scores are stored to four places; a threshold is one step above the reach it must not admit.
STEP = 1e-4


def reach(score: float, keyword_hits: float) -> float:
    """The highest threshold at which an article with this score and keyword hits joins."""
    return round(score * 2 if keyword_hits else score, 4)


def errors(labelled: Sequence[tuple[float, float, bool]], threshold: float) -> int:
    """How many labels ``threshold`` decides the other way."""
    return sum((threshold <= reach(s, k)) != label_in for s, k, label_in in labelled)


def fit_threshold(labelled: Sequence[tuple[float, float, bool]], prior: float) -> float:
    """The threshold the story decides with after ``labelled`` (score, keyword_hits, label_in):
    from ``prior`` toward ``separating_threshold``, n / (n + PRIOR_WEIGHT) of the way for n
    labels; ``prior`` without labels."""
    if not labelled:
        return prior
    target = separating_threshold(labelled, prior)
    weight = len(labelled) / (len(labelled) + PRIOR_WEIGHT)
    return max(round(prior + weight * (target - prior), 4), 0.0)


def separating_threshold(labelled: Sequence[tuple[float, float, bool]], prior: float) -> float:
    """The threshold that best separates ``labelled`` under the story bar: of those that get
    fewest labels wrong, the stretch nearest ``prior``; in it, ``prior`` itself, the end
    nearest it (one-sided), or the midpoint of a gap between two labels."""
    if not labelled:
        return prior
    lo, hi = _best_stretch(labelled, prior)
    if lo is None:  # below every label: only lower the line to admit them
        chosen = min(prior, hi if hi is not None else prior)
    elif hi is None:  # above every label: only raise it to keep them out
        chosen = max(prior, lo + STEP)
    else:
        chosen = (lo + hi) / 2
    return _inside(max(round(chosen, 4), 0.0), lo, hi)


def _inside(value: float, lo: float | None, hi: float | None) -> float:
    """``value`` kept inside the stretch ``(lo, hi]`` after rounding."""
    if lo is not None and value <= lo:
        value = round(math.floor(lo / STEP + 1.5) * STEP, 4)
    if hi is not None and value > hi:
        value = hi
    return value


def _best_stretch(
    labelled: Sequence[tuple[float, float, bool]], prior: float
) -> tuple[float | None, float | None]:
    """The stretch of thresholds ``(lo, hi]`` (None: unbounded) that gets fewest labels wrong,
    the one nearest ``prior`` of those that tie."""
    reaches = sorted({reach(s, k) for s, k, _ in labelled})
    bounds: list[tuple[float | None, float | None]] = [(None, reaches[0])]
    bounds += list(itertools.pairwise(reaches))
    bounds.append((reaches[-1], None))
    scored = []
    for lo, hi in bounds:
        # Any threshold inside the stretch decides every label alike.
        probe = hi if hi is not None else (lo if lo is not None else 0.0) + STEP
        scored.append((errors(labelled, probe), _distance(prior, lo, hi), lo, hi))
    _, _, lo, hi = min(scored, key=lambda row: (row[0], row[1]))
    return lo, hi


def _distance(prior: float, lo: float | None, hi: float | None) -> float:
    """How far ``prior`` lies outside the stretch ``(lo, hi]`` (0 inside it)."""
    if lo is not None and prior <= lo:
        return lo - prior
    if hi is not None and prior > hi:
        return prior - hi
    return 0.0
