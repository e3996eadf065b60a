"""When to look again: pure policy, given the outcome and ``now``. No clock, no I/O."""

from __future__ import annotations

from datetime import datetime, timedelta

# Re-fetch an article after these delays (then daily) to catch edits and removals.
ARTICLE_RECHECKS = (3600.0, 3 * 3600.0, 6 * 3600.0, 12 * 3600.0)
DAY = 86400.0


def next_source_check(
    *,
    interval: float,
    now: datetime,
    error_count: int = 0,
    retry_after: float | None = None,
    ttl: float | None = None,
    max_backoff: float = DAY,
) -> datetime:
    """The next poll of a source.

    Healthy: ``interval`` seconds from now, but never sooner than the feed's own TTL.
    Failing: the interval doubles with each consecutive error, up to ``max_backoff``; the
    source is never dropped. A server's Retry-After always wins when it asks for longer.
    """
    if error_count > 0:
        delay = min(interval * 2 ** (error_count - 1), max(max_backoff, interval))
    else:
        delay = interval
        if ttl:
            delay = max(delay, min(ttl, max_backoff))
    if retry_after:
        delay = max(delay, retry_after)
    return now + timedelta(seconds=delay)


def next_article_check(
    *, first_seen_at: datetime, check_count: int, now: datetime, recheck_for: float
) -> datetime | None:
    """The next re-fetch of an article, or None once it has been followed for ``recheck_for``."""
    delay = ARTICLE_RECHECKS[check_count] if check_count < len(ARTICLE_RECHECKS) else DAY
    due = now + timedelta(seconds=delay)
    if due > first_seen_at + timedelta(seconds=recheck_for):
        return None
    return due
