"""Liveness: is the daemon's scheduler still doing its work?

The scheduler beats when a tick begins and ends, and the round beats as it goes (each fetch
done, each article stored), so a long round over many sources stays alive while a round stuck
on one item does not. The daemon is alive while its scheduler runs and the last beat is no
older than ``poll.tick`` (the wait between two ticks) plus ``[ops] stall_after``. Pure: the
caller passes the monotonic time, so the rule is tested without waiting.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Verdict:
    alive: bool
    reason: str
    last_beat_s: float | None  # seconds since the last beat; None: none yet


class Liveness:
    def __init__(self, *, tick_s: float, stall_after_s: float, now: float) -> None:
        self.limit = tick_s + stall_after_s
        self._beat = now  # starting counts: the first tick is due at once
        self._ticks = 0
        self._lock = threading.Lock()

    def beat(self, now: float, *, tick: bool = False) -> None:
        with self._lock:
            self._beat = max(self._beat, now)
            self._ticks += tick

    @property
    def ticks(self) -> int:
        return self._ticks

    def verdict(self, now: float, *, scheduler_running: bool) -> Verdict:
        with self._lock:
            age = max(0.0, now - self._beat)
        if not scheduler_running:
            return Verdict(False, "the scheduler is not running", age)
        if age > self.limit:
            return Verdict(False, f"no progress for {age:.0f} s (limit {self.limit:.0f} s)", age)
        return Verdict(True, "ok", age)
