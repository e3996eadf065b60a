"""What every benchmark prints the same way: the versions it ran with and Markdown tables."""

from __future__ import annotations

import os
import platform
import re
import resource
import time
from collections.abc import Iterable, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path


def versions(*dists: str) -> dict[str, str]:
    """Python's version and each installed distribution's ("missing" when not installed)."""
    out = {"python": platform.python_version()}
    for dist in dists:
        try:
            out[dist] = version(dist)
        except PackageNotFoundError:
            out[dist] = "missing"
    return out


def table(headers: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A Markdown table."""
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def machine(before: tuple[float, float, float]) -> str:
    """The machine line every benchmark prints: cores, the load average (1, 5, 15 min) at the
    start (``before``, from ``os.getloadavg()``) and now, and the core's speed now
    (``speed``)."""
    load = [", ".join(f"{x:.2f}" for x in loads) for loads in (before, os.getloadavg())]
    return (
        f"machine: {os.cpu_count()} cores, load average (1, 5, 15 min) {load[0]} before the "
        f"run, {load[1]} after; a pure-Python loop of 10^6 additions {speed():.0f} CPU ms"
    )


def speed() -> float:
    """CPU milliseconds of a pure-Python loop of a million additions (the best of three). The
    2-core VM these figures come from ran the same loop 1.7 times slower at some hours than at
    others, whatever the load: figures from runs whose loops differ do not compare."""
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        total = 0
        for i in range(1_000_000):
            total += i
        best = min(best, time.process_time() - start)
    return best * 1000


def peak_rss_mb() -> float:
    """Peak resident memory (MB) of this process, or of a child it waited for if larger.

    The process's own peak is VmHWM, not ``ru_maxrss``: a process started with
    multiprocessing's ``spawn`` is forked before it execs Python, and Linux carries the
    parent's resident size at the fork into the child's ``ru_maxrss`` (a parent holding 400 MB
    makes a 15 MB child report 415)."""
    status = Path("/proc/self/status").read_text(encoding="ascii")
    found = re.search(r"VmHWM:\s+(\d+)", status)
    own_kb = int(found.group(1)) if found else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return max(own_kb, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
