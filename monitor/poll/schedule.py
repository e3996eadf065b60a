"""When to look again: pure policy, given the outcome of a poll and ``now``. No clock, no I/O.

A source's next check is its interval, adapted to how often it publishes (between
``poll.min_interval`` and ``poll.max_interval``), and never sooner than the server or the feed
asked: Retry-After, Cache-Control max-age, Expires, RSS ``<ttl>``. Errors back off exponentially
up to ``poll.max_backoff``; a failing source is never dropped, only checked less often.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

# Re-fetch an article after these delays (then daily) to catch edits and removals.
ARTICLE_RECHECKS = (3600.0, 3 * 3600.0, 6 * 3600.0, 12 * 3600.0)
DAY = 86400.0
# A server's Retry-After is obeyed up to a week: longer is a misconfiguration, and a source
# must never fall silent for good because of one header.
MAX_RETRY_AFTER = 7 * DAY
# Entries used to estimate how often a source publishes.
RATE_WINDOW = 20


@dataclass(frozen=True)
class Policy:
    min_interval: float
    max_interval: float
    max_backoff: float


@dataclass(frozen=True)
class Outcome:
    """What a poll found, as far as scheduling cares.

    ``error_count`` is the count of consecutive errors including this poll's (0 on success);
    ``retry_after`` is in seconds, already read from the header by the fetcher; ``dates`` are
    the publication dates of the entries in the body (none for a 304 or an error).
    """

    error_count: int = 0
    headers: Mapping[str, str] | None = None
    retry_after: float | None = None
    ttl: float | None = None
    dates: tuple[datetime, ...] = ()


@dataclass(frozen=True)
class Plan:
    at: datetime
    reason: str  # interval | learned | retry_after | max_age | expires | ttl | backoff
    learned_interval: float | None  # what to remember of the publishing rate


def publishing_interval(dates: Iterable[datetime], *, now: datetime) -> float | None:
    """How long to wait so that each poll finds about one new entry, and never so long that
    the feed's window of entries scrolls past unseen; None without two dated entries.

    The mean gap between the newest entries says how often the source publishes; a source that
    has been quiet for longer than that is polled less often (half the quiet time); and the
    estimate never exceeds half the time the feed's entries span, so a source that shows its
    last N items is polled at least twice while N new ones can appear.
    """
    recent = sorted((d for d in dates if d <= now), reverse=True)[:RATE_WINDOW]
    if len(recent) < 2:
        return None
    span = (recent[0] - recent[-1]).total_seconds()
    if span <= 0:
        return None
    gap = span / (len(recent) - 1)
    quiet = (now - recent[0]).total_seconds()
    return min(max(gap, quiet / 2), span / 2)


def cache_lifetime(headers: Mapping[str, str], *, now: datetime) -> tuple[float, str] | None:
    """Seconds the response says it stays fresh (max-age, else Expires), and which said so."""
    cache_control = headers.get("cache-control", "").lower()
    directives = [d.strip() for d in cache_control.split(",")]
    if "no-store" in directives or "no-cache" in directives:
        return None
    for directive in directives:
        name, _, value = directive.partition("=")
        if name.strip() == "max-age" and value.strip().strip('"').isdigit():
            return float(value.strip().strip('"')), "max_age"
    expires = headers.get("expires")
    if expires:
        reference = now
        with contextlib.suppress(TypeError, ValueError):
            reference = parsedate_to_datetime(headers.get("date", ""))
        try:
            when = parsedate_to_datetime(expires)
        except (TypeError, ValueError):
            return None  # "Expires: 0" and other junk mean "already stale"
        if when.tzinfo is None:
            return None
        return max(0.0, (when - reference).total_seconds()), "expires"
    return None


def next_check(
    interval: float, learned: float | None, outcome: Outcome, *, now: datetime, policy: Policy
) -> Plan:
    """The next poll of a source whose configured interval is ``interval`` and whose learned
    publishing interval (from earlier polls) is ``learned``."""
    if outcome.error_count > 0:
        base = learned or interval
        delay = min(base * 2 ** (outcome.error_count - 1), max(policy.max_backoff, base))
        reason = "backoff"
    else:
        estimate = publishing_interval(outcome.dates, now=now)
        learned = (
            min(max(estimate, policy.min_interval), policy.max_interval)
            if estimate is not None
            else learned
        )
        delay, reason = (learned, "learned") if learned is not None else (interval, "interval")
        # The source's own statements of freshness: obeyed, within the adaptive bounds' ceiling.
        asked = [(outcome.ttl, "ttl")]
        if outcome.headers:
            asked.append(cache_lifetime(outcome.headers, now=now) or (None, ""))
        for seconds, why in asked:
            if seconds is not None and min(seconds, policy.max_interval) > delay:
                delay, reason = min(seconds, policy.max_interval), why
    if outcome.retry_after and min(outcome.retry_after, MAX_RETRY_AFTER) > delay:
        delay, reason = min(outcome.retry_after, MAX_RETRY_AFTER), "retry_after"
    return Plan(now + timedelta(seconds=delay), reason, learned)


def next_article_check(
    *, first_seen_at: datetime, check_count: int, now: datetime, recheck_for: float
) -> datetime | None:
    """The next re-fetch of an article, or None once it has been followed for ``recheck_for``."""
    delay = ARTICLE_RECHECKS[check_count] if check_count < len(ARTICLE_RECHECKS) else DAY
    due = now + timedelta(seconds=delay)
    if due > first_seen_at + timedelta(seconds=recheck_for):
        return None
    return due
