"""Crash points: places where a test may have the process kill itself (SIGKILL, no clean-up),
to prove that a crash there leaves the database consistent.

``NEWS_MONITOR_CRASH_AT=NAME`` kills the process the first time it passes the point ``NAME``;
``NAME:N`` the Nth time. ``NEWS_MONITOR_HANG_AT`` (same form) makes it sleep there for ever
instead, as a page that sends the extractor into a loop would (``[poll] extract_timeout``).
Unset (always, outside tests), a point costs two dictionary lookups. The names are outside
``MONITOR_*``, the configuration's namespace: they are no settings.
"""

from __future__ import annotations

import os
import signal
import time

_passed: dict[str, int] = {}


def point(name: str) -> None:
    """Kill this process here if ``NEWS_MONITOR_CRASH_AT`` names this point, or hang here if
    ``NEWS_MONITOR_HANG_AT`` does (see the docstring)."""
    if _reached(name, "NEWS_MONITOR_CRASH_AT"):
        os.kill(os.getpid(), signal.SIGKILL)
    if _reached(name, "NEWS_MONITOR_HANG_AT"):
        while True:
            time.sleep(3600)


def _reached(name: str, variable: str) -> bool:
    wanted = os.environ.get(variable)
    if not wanted:
        return False
    target, _, nth = wanted.partition(":")
    if target != name:
        return False
    key = f"{variable}={name}"
    _passed[key] = _passed.get(key, 0) + 1
    return _passed[key] >= int(nth or 1)
