"""What every benchmark prints the same way: the versions it ran with and Markdown tables."""

from __future__ import annotations

import os
import platform
from collections.abc import Iterable, Sequence
from importlib.metadata import PackageNotFoundError, version


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
    """The machine line every benchmark prints: cores, and the load average (1, 5, 15 min) at
    the start (``before``, from ``os.getloadavg()``) and now."""
    load = [", ".join(f"{x:.2f}" for x in loads) for loads in (before, os.getloadavg())]
    return (
        f"machine: {os.cpu_count()} cores, load average (1, 5, 15 min) {load[0]} before the "
        f"run, {load[1]} after"
    )
