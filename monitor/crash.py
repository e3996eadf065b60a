"""Crash points: places where a test may have the process kill itself (SIGKILL, no clean-up),
to prove that a crash there leaves the database consistent.

``NEWS_MONITOR_CRASH_AT=NAME`` kills the process the first time it passes the point ``NAME``;
``NAME:N`` the Nth time. Unset (always, outside tests), a point costs one dictionary lookup.
The name is outside ``MONITOR_*``, the configuration's namespace: it is no setting.
"""

from __future__ import annotations

import os
import signal

_passed: dict[str, int] = {}


def point(name: str) -> None:
    """Kill this process here if ``NEWS_MONITOR_CRASH_AT`` names this point (see the docstring)."""
    wanted = os.environ.get("NEWS_MONITOR_CRASH_AT")
    if not wanted:
        return
    target, _, nth = wanted.partition(":")
    if target != name:
        return
    _passed[name] = _passed.get(name, 0) + 1
    if _passed[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
