"""When a recipient's next digest of a story is due: its schedule (``immediately``, ``every
30m`` or a cron expression APScheduler's CronTrigger reads, in the recipient's time zone), the
period of its last digest and the events waiting. Pure: ``now`` is given. The period returned
names the digest (one per recipient, story and period): a cron fire time, or ``now`` for the
immediate schedules."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

from monitor.config import parse_duration

_TICK = timedelta(microseconds=1)
# Fire times walked at most to find the latest before now (a minutely cron over ten weeks).
_WALK = 100_000


@dataclass(frozen=True)
class Cadence:
    schedule: str
    zone: ZoneInfo
    quiet: bool = True

    @property
    def every(self) -> timedelta | None:
        """The least time between two digests of an immediate schedule (0 for immediately)."""
        if self.schedule == "immediately":
            return timedelta(0)
        if self.schedule.startswith("every "):
            return timedelta(seconds=parse_duration(self.schedule.split(" ", 1)[1]))
        return None


@lru_cache(maxsize=64)
def _trigger(expression: str, zone: str) -> CronTrigger:
    return CronTrigger.from_crontab(expression, timezone=ZoneInfo(zone))


def latest_fire(
    expression: str, zone: ZoneInfo, *, after: datetime, now: datetime
) -> datetime | None:
    """The last time the cron expression fires in (``after``, ``now``], or None."""
    trigger = _trigger(expression, zone.key)
    # Start a day back when the gap is long: the latest fire is most often within it.
    for start in dict.fromkeys((max(after, now - timedelta(days=1)), after)):
        fire = trigger.get_next_fire_time(None, start + _TICK)
        found = None
        for _ in range(_WALK):
            if fire is None or fire > now:
                break
            found = fire
            fire = trigger.get_next_fire_time(fire, fire + _TICK)
        if found is not None:
            out: datetime = found.astimezone(now.tzinfo)
            return out
    return None


def due(
    cadence: Cadence,
    *,
    now: datetime,
    last_period: datetime | None,
    first_waiting: datetime | None,
    began: datetime,
) -> datetime | None:
    """The period of the digest due now, or None. ``first_waiting``: when the oldest event the
    recipient has not been shown was recorded (None: nothing waits); ``began``: when the story
    began, the start of a quiet-less cron schedule's first period."""
    every = cadence.every
    if every is not None:
        if first_waiting is None:
            return None
        return now if last_period is None or now >= last_period + every else None
    if first_waiting is None and cadence.quiet:
        return None
    after = last_period or (first_waiting - _TICK if first_waiting is not None else began)
    return latest_fire(cadence.schedule, cadence.zone, after=after, now=now)
