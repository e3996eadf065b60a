"""The story's dated reports nearest an article's time and within the story's grace of it: the
centroid's reports (``story_stage``, ``story.CENTROID_MEMBERS``), found in array operations.

Walking the reports one by one, nearest first, and asking ``story.time_factor`` of each cost
a Python call per report whenever few are in grace (an article older than the story's first
report, or reports after it that are out of grace, are passed over one at a time): 5,000
members made it 14 ms an article, most of what a decision cost (benchmarks/README.md,
"ingest.py"). Here every report's time factor test is one numpy pass, computed with the same
floating-point operations in the same order as ``story.time_factor`` and ``story_stage._age``,
so that the reports chosen are the very ones the walk chose (tests/test_nearby.py checks
both against each other).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from monitor.match import story

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)
# Integers below this are exact as float64, so a difference in microseconds converted to a
# float and divided by 10**6 is rounded once, as Python's int / int (timedelta.total_seconds).
_EXACT = 2**53
# 0.5 ** x rounds to 1.0 for positive x this small: those reports are in grace after all.
_TINY = 1e-6


def _micros(when: datetime) -> int:
    return (story.as_utc(when) - _EPOCH) // _MICRO


def _days(micros: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
    """``timedelta(microseconds=m).total_seconds() / 86400.0`` for each ``m``."""
    seconds = micros.astype(np.float64) / 1e6
    wide = np.abs(micros) >= _EXACT
    if wide.any():  # over 285 years apart: a date read wrong; Python's division, exactly
        seconds[wide] = [int(m) / 10**6 for m in micros[wide]]
    days: npt.NDArray[np.float64] = seconds / 86400.0
    return days


class DatedReports:
    """The reports that can make the centroid (dated, not copies), sorted by publication time
    and id, with each one's grace (``story.time_factor``'s, at its age in the story) and a
    code for its language."""

    def __init__(
        self,
        reports: Sequence[tuple[datetime, int]],
        start: datetime | None,
        language: Callable[[int], str | None],
    ) -> None:
        self.ids = [article_id for _, article_id in reports]
        self._us = np.fromiter((_micros(t) for t, _ in reports), np.int64, len(reports))
        start_us = _micros(start) if start is not None else None
        # story_stage._age, then time_factor's grace, as they compute them
        ages = (
            np.maximum(_days(self._us - start_us), 0.0)
            if start_us is not None
            else np.zeros(len(self.ids))
        )
        self._grace = story.TIME_GRACE_DAYS + story.STORY_AGE_WEIGHT * ages
        langs = [language(a) for a in self.ids]
        self._languages = list(dict.fromkeys(langs))
        code = {lang: k for k, lang in enumerate(self._languages)}
        self._codes = np.fromiter((code[lang] for lang in langs), np.int64, len(langs))

    def __len__(self) -> int:
        return len(self.ids)

    def _in_grace(self, when_us: int) -> npt.NDArray[np.bool_]:
        """Whether ``story.time_factor`` is 1.0 between ``when`` and each report."""
        days = np.abs(_days(when_us - self._us))
        over = np.maximum(days - self._grace, 0.0) / story.TIME_HALF_LIFE_DAYS
        fading: npt.NDArray[np.bool_] = over > 0.0
        tiny = np.flatnonzero(fading & (over < _TINY))
        for k in tiny:
            fading[k] = 0.5 ** float(over[k]) < 1.0
        return ~fading

    def nearest(self, published_at: datetime, mine: str | None, limit: int) -> list[int]:
        """Up to ``limit`` reports in grace of ``published_at`` and in the language ``mine``
        (``story.language_ratio`` 1.0), nearest in time first (the earlier of two at the same
        distance first). Earlier reports count only up to the first out of grace: further back
        the silence is longer and the story younger, so none is in grace."""
        when = _micros(published_at)
        ok = self._in_grace(when)
        speaks = np.array(
            [story.language_ratio(mine, lang) == 1.0 for lang in self._languages], dtype=bool
        )
        at = int(np.searchsorted(self._us, when, side="left"))
        earlier = ok[:at][::-1]
        cut = int(np.argmin(earlier)) if not earlier.all() else at
        both = ok & speaks[self._codes]
        before = [at - 1 - k for k in np.flatnonzero(both[:at][::-1][:cut])[:limit].tolist()]
        after = (at + np.flatnonzero(both[at:])[:limit]).tolist()
        ranked = sorted(
            [(when - int(self._us[i]), 0, n, i) for n, i in enumerate(before)]
            + [(int(self._us[i]) - when, 1, n, i) for n, i in enumerate(after)]
        )
        return [self.ids[i] for *_, i in ranked[:limit]]
