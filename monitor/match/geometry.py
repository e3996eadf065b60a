"""The LSH geometry (bands, rows per band) for a threshold: datasketch's choice, without SciPy.

datasketch's MinHashLSH picks the (bands, rows) that minimise the weighted sum of two areas: the
chance that a pair below the threshold shares a band (a false positive), integrated over
similarities from 0 to the threshold, and the chance that a pair above it shares none (a false
negative), from the threshold to 1. It integrates with ``scipy.integrate.quad``, and importing
it costs SciPy's import (about 0.3 s of every start). The integrands are polynomials of degree
``bands x rows``, at most ``num_perm``, so Gauss-Legendre quadrature with ``num_perm // 2 + 1``
nodes integrates them exactly; tests/test_match.py holds the result equal to datasketch's own.
"""

from __future__ import annotations

import functools

import numpy as np


@functools.cache
def _nodes(count: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights on [-1, 1]."""
    x, w = np.polynomial.legendre.leggauss(count)
    return x, w


def _miss(s: np.ndarray, bands: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """For each (bands, rows) pair (a row) and similarity (a column), the chance that a pair of
    that similarity shares no band."""
    misses: np.ndarray = (1.0 - s[None, :] ** rows[:, None]) ** bands[:, None]
    return misses


@functools.cache
def lsh_params(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows per band): what datasketch's MinHashLSH picks for this threshold and
    signature size with its default weights (done once per geometry)."""
    return optimal_param(threshold, num_perm, 0.5, 0.5)


def optimal_param(
    threshold: float, num_perm: int, false_positive_weight: float, false_negative_weight: float
) -> tuple[int, int]:
    """datasketch's ``lsh._optimal_param``: the (bands, rows) minimising the weighted sum of
    the false positive and false negative areas."""
    pairs = [(b, r) for b in range(1, num_perm + 1) for r in range(1, num_perm // b + 1)]
    bands = np.array([b for b, _ in pairs], dtype=np.float64)
    rows = np.array([r for _, r in pairs], dtype=np.float64)
    x, w = _nodes(num_perm // 2 + 1)
    below = (x + 1.0) * threshold / 2.0  # the nodes mapped onto [0, threshold]
    above = threshold + (x + 1.0) * (1.0 - threshold) / 2.0  # and onto [threshold, 1]
    false_positive = (1.0 - _miss(below, bands, rows)) @ w * (threshold / 2.0)
    false_negative = _miss(above, bands, rows) @ w * ((1.0 - threshold) / 2.0)
    error = false_positive * false_positive_weight + false_negative * false_negative_weight
    # The first minimum in datasketch's order (bands, then rows, ascending): it keeps a pair
    # only when a later one is strictly better.
    return pairs[int(np.argmin(error))]
