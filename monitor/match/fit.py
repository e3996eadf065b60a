"""The story threshold fitted from the analyst's labels (``monitor story label``).

An article labelled ``in`` should pass the story's bar and one labelled ``out`` should not;
the bar is ``story_bar``'s: the threshold, or half of it when a story keyword is hit. So each
labelled article has a *reach*, the highest threshold it passes (its score, doubled with a
keyword), and a threshold ``t`` admits it exactly when ``t <= reach``. The fit counts, for every
stretch of thresholds between two reaches, the labels it gets wrong, keeps the stretches that
get fewest wrong, and takes the one nearest the configured threshold (the prior). Inside it:

- below every label (only ``in`` labels there): the prior if it admits them, else the highest
  threshold that does: labels of one side can only move the line their way;
- above every label: likewise, the prior or the lowest threshold that keeps them out;
- a gap between two labels: its midpoint, shrunk toward the prior while labels are few
  (``PRIOR_WEIGHT``), and never outside the gap.

Pure: no database, no clock.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

# How many labels the configured threshold is worth: with n labels in a gap, the threshold
# moves n / (n + PRIOR_WEIGHT) of the way from the prior to the gap's midpoint.
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
    """The threshold that best separates ``labelled`` (score, keyword_hits, label_in) under the
    story bar, shrunk toward ``prior`` when labels are few; ``prior`` without labels."""
    if not labelled:
        return prior
    lo, hi = _best_stretch(labelled, prior)
    if lo is None:  # below every label: only lower the line to admit them
        chosen = min(prior, hi if hi is not None else prior)
    elif hi is None:  # above every label: only raise it to keep them out
        chosen = max(prior, lo + STEP)
    else:
        weight = len(labelled) / (len(labelled) + PRIOR_WEIGHT)
        middle = (lo + hi) / 2
        chosen = min(max(prior + weight * (middle - prior), lo + STEP), hi)
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
