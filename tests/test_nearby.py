"""The centroid's reports found in arrays (monitor.match.nearby) are the very ones the walk over
the reports, one ``story.time_factor`` call each, chose."""

from __future__ import annotations

import bisect
import random
from datetime import UTC, datetime, timedelta

from monitor.match import story
from monitor.match.nearby import DatedReports

T0 = datetime(2023, 3, 1, tzinfo=UTC)


def _walk(
    reports: list[tuple[datetime, int]],
    start: datetime,
    languages: dict[int, str | None],
    published_at: datetime,
    mine: str | None,
) -> list[int]:
    """story_stage._centroid_members as it was before the arrays: nearest first, alternately
    before and after, the time factor of each report asked of story.time_factor."""

    def age(then: datetime) -> float:
        return max((then - start).total_seconds() / 86400.0, 0.0)

    when = story.as_utc(published_at)
    at = bisect.bisect_left(reports, (when, -1))
    before, after = at - 1, at
    chosen: list[int] = []
    while len(chosen) < story.CENTROID_MEMBERS and (before >= 0 or after < len(reports)):
        take_before = after >= len(reports) or (
            before >= 0 and when - reports[before][0] <= reports[after][0] - when
        )
        then, article_id = reports[before] if take_before else reports[after]
        if take_before:
            before -= 1
        else:
            after += 1
        if story.time_factor(when, then, age(then)) < 1.0:
            before = -1 if take_before else before
            continue
        if story.language_ratio(mine, languages.get(article_id)) == 1.0:
            chosen.append(article_id)
    return chosen


def _story(rng: random.Random, n: int) -> tuple[list[tuple[datetime, int]], dict[int, str | None]]:
    """``n`` reports over a few weeks, some at the same second, a few in another language."""
    times = [
        T0 + timedelta(seconds=rng.choice([0, 1, 3600, rng.randrange(40 * 86400)]))
        for _ in range(n)
    ]
    reports = sorted((t, k + 1) for k, t in enumerate(times))
    languages = {k + 1: rng.choice(["en", "en", "en", "fr", None]) for k in range(n)}
    return reports, languages


def test_the_reports_chosen_are_those_the_walk_chose() -> None:
    """Articles before, among and after a story's reports (exactly at a grace's edge too), in
    either language or none, get the reports the one-at-a-time walk gave, in its order."""
    rng = random.Random(16)
    for n in (2, 3, 40, 400):
        reports, languages = _story(rng, n)
        start = reports[0][0]
        dated = DatedReports(reports, start, languages.get)
        edges = [t + timedelta(days=story.TIME_GRACE_DAYS) for t, _ in reports[:5]]
        moments = [T0 - timedelta(days=30), T0 + timedelta(days=90), *edges]
        moments += [T0 + timedelta(seconds=rng.randrange(60 * 86400)) for _ in range(60)]
        moments += [t for t, _ in rng.sample(reports, 2)]
        for when in moments:
            for mine in ("en", "fr", None):
                expected = _walk(reports, start, languages, when, mine)
                assert dated.nearest(when, mine, story.CENTROID_MEMBERS) == expected


def test_a_date_centuries_off_is_compared_as_exactly() -> None:
    """A publication date read centuries wrong (past float64's exact microseconds) is out of
    grace as the walk found it."""
    reports = [(T0, 1), (T0 + timedelta(days=1), 2)]
    dated = DatedReports(reports, T0, {}.get)
    for when in (datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 1, 1, tzinfo=UTC)):
        assert dated.nearest(when, None, 30) == _walk(reports, T0, {}, when, None)
