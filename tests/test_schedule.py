"""monitor.schedule: when a source and an article are looked at again, as pure functions of the
outcome and ``now``."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.poll.schedule import (
    MAX_RETRY_AFTER,
    Outcome,
    Policy,
    cache_lifetime,
    next_article_check,
    next_check,
    publishing_interval,
)
from tests.conftest import at

NOW = at("2023-03-24T12:00:00+00:00")
POLICY = Policy(min_interval=300.0, max_interval=21600.0, max_backoff=86400.0)
HOUR = 3600.0


def _every(minutes: float, count: int, *, last_ago: float = 0.0) -> tuple:
    """``count`` publication dates ``minutes`` apart, the newest ``last_ago`` minutes ago."""
    newest = NOW - timedelta(minutes=last_ago)
    return tuple(newest - timedelta(minutes=minutes * i) for i in range(count))


def _delay(plan) -> float:
    return (plan.at - NOW).total_seconds()


def test_a_healthy_source_without_dates_is_checked_after_its_interval() -> None:
    """No dated entries and no cache headers: the configured interval, reason "interval"."""
    plan = next_check(1800.0, None, Outcome(), now=NOW, policy=POLICY)
    assert _delay(plan) == 1800.0
    assert plan.reason == "interval"
    assert plan.learned_interval is None


def test_a_source_publishing_every_ten_minutes_is_polled_every_ten_minutes() -> None:
    """The learned interval is the mean gap between the newest entries."""
    plan = next_check(1800.0, None, Outcome(dates=_every(10, 20)), now=NOW, policy=POLICY)
    assert _delay(plan) == pytest.approx(600.0)
    assert plan.reason == "learned"
    assert plan.learned_interval == pytest.approx(600.0)


def test_the_learned_interval_stays_within_the_bounds() -> None:
    """A source publishing every minute is polled no faster than min_interval; a quiet one no
    slower than max_interval."""
    busy = next_check(1800.0, None, Outcome(dates=_every(1, 20)), now=NOW, policy=POLICY)
    assert _delay(busy) == POLICY.min_interval
    quiet = next_check(1800.0, None, Outcome(dates=_every(60 * 24, 20)), now=NOW, policy=POLICY)
    assert _delay(quiet) == POLICY.max_interval


def test_a_short_feed_window_is_polled_at_least_twice_while_it_turns_over() -> None:
    """A feed showing its last 3 items, one per 10 minutes but quiet for 2 hours, is polled
    within 10 minutes (half the 20 minutes its items span), so no item scrolls past unseen."""
    assert publishing_interval(_every(10, 3, last_ago=120), now=NOW) == pytest.approx(600.0)


def test_a_source_gone_quiet_is_polled_less_often() -> None:
    """Quiet for 4 hours after publishing hourly for a day: half the quiet time, 2 hours."""
    assert publishing_interval(_every(60, 20, last_ago=240), now=NOW) == pytest.approx(2 * HOUR)


def test_future_dates_and_a_single_date_teach_nothing() -> None:
    """Dates after ``now`` are ignored; one date gives no rate."""
    assert publishing_interval((NOW + timedelta(days=1), NOW), now=NOW) is None
    assert publishing_interval((), now=NOW) is None


def test_a_304_keeps_the_interval_learned_before() -> None:
    """With no entries to learn from, the remembered interval is used and kept."""
    plan = next_check(1800.0, 900.0, Outcome(headers={}), now=NOW, policy=POLICY)
    assert _delay(plan) == 900.0
    assert plan.learned_interval == 900.0


@pytest.mark.parametrize(
    ("headers", "seconds", "reason"),
    [
        ({"cache-control": "public, max-age=7200"}, 7200.0, "max_age"),
        (
            {
                "expires": "Fri, 24 Mar 2023 15:00:00 GMT",
                "date": "Fri, 24 Mar 2023 12:00:00 GMT",
            },
            3 * HOUR,
            "expires",
        ),
        ({"cache-control": "max-age=100"}, 1800.0, "interval"),  # shorter: the interval wins
        ({"cache-control": "no-cache, max-age=7200"}, 1800.0, "interval"),
        ({"expires": "0"}, 1800.0, "interval"),
        ({"cache-control": "max-age=999999"}, POLICY.max_interval, "max_age"),  # capped
    ],
)
def test_cache_headers_postpone_the_next_check_but_never_bring_it_forward(
    headers: dict[str, str], seconds: float, reason: str
) -> None:
    """Cache-Control max-age and Expires raise the delay when longer, within max_interval."""
    plan = next_check(1800.0, None, Outcome(headers=headers), now=NOW, policy=POLICY)
    assert (_delay(plan), plan.reason) == (seconds, reason)


def test_expires_is_measured_from_the_servers_date() -> None:
    """A server whose clock is an hour behind: Expires is read against its Date header."""
    lifetime = cache_lifetime(
        {"expires": "Fri, 24 Mar 2023 13:00:00 GMT", "date": "Fri, 24 Mar 2023 11:00:00 GMT"},
        now=NOW,
    )
    assert lifetime == (2 * HOUR, "expires")


def test_the_rss_ttl_postpones_the_next_check() -> None:
    """<ttl>120</ttl> (minutes): not before two hours."""
    plan = next_check(1800.0, None, Outcome(headers={}, ttl=2 * HOUR), now=NOW, policy=POLICY)
    assert (_delay(plan), plan.reason) == (2 * HOUR, "ttl")


def test_errors_back_off_exponentially_up_to_the_cap() -> None:
    """1, 2, 4, ... times the interval, never more than max_backoff, and never dropped."""
    delays = [
        _delay(next_check(1800.0, None, Outcome(error_count=n), now=NOW, policy=POLICY))
        for n in (1, 2, 3, 4, 10, 60)
    ]
    assert delays == [1800.0, 3600.0, 7200.0, 14400.0, 86400.0, 86400.0]


def test_retry_after_is_obeyed_when_it_asks_for_longer() -> None:
    """A 503 with Retry-After two hours: two hours, reason "retry_after"; a short Retry-After
    does not shorten the backoff."""
    long = next_check(
        1800.0, None, Outcome(error_count=1, retry_after=2 * HOUR), now=NOW, policy=POLICY
    )
    assert (_delay(long), long.reason) == (2 * HOUR, "retry_after")
    short = next_check(1800.0, None, Outcome(error_count=3, retry_after=60), now=NOW, policy=POLICY)
    assert (_delay(short), short.reason) == (7200.0, "backoff")


def test_an_absurd_retry_after_is_capped_at_a_week() -> None:
    """Retry-After of a year: the source is looked at again after a week, not a year."""
    plan = next_check(
        1800.0, None, Outcome(error_count=1, retry_after=365 * 86400.0), now=NOW, policy=POLICY
    )
    assert _delay(plan) == MAX_RETRY_AFTER


def test_article_rechecks_widen_then_stop() -> None:
    """1h, 3h, 6h, 12h, then daily, until ``recheck_for`` after the first sighting."""
    first = NOW
    delays = [
        next_article_check(first_seen_at=first, check_count=n, now=NOW, recheck_for=14 * 86400.0)
        for n in range(6)
    ]
    assert [(d - NOW).total_seconds() for d in delays if d] == [
        HOUR,
        3 * HOUR,
        6 * HOUR,
        12 * HOUR,
        86400.0,
        86400.0,
    ]
    late = NOW + timedelta(days=14)
    assert (
        next_article_check(first_seen_at=first, check_count=9, now=late, recheck_for=14 * 86400.0)
        is None
    )
