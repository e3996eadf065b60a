"""Times in words a person reads, in the reader's time zone: "today at 15:10", "yesterday at
09:02", "Monday at 18:40", "Thursday 23 March at 15:10", "23 March 2022". Pure: ``now`` is given."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


def _day(local: datetime, today: datetime) -> str:
    days = (today.date() - local.date()).days
    if days == 0:
        return "today"
    if days == 1:
        return "yesterday"
    if 1 < days < 7:
        return f"{local:%A}"
    if days == -1:
        return "tomorrow"
    year = f" {local.year}" if local.year != today.year else ""
    return f"{local:%A} {local.day} {local:%B}{year}"


def spoken(at: datetime, *, now: datetime, zone: ZoneInfo, day_only: bool = False) -> str:
    """``at`` as a reader in ``zone`` says it on ``now``; ``day_only`` for a time known only
    by its day (a seed's publication date), which no clock time would be true of."""
    if day_only:
        day = at.date()  # a date-only time is stored at 00:00 UTC: its day is the UTC one
        year = f" {day.year}" if day.year != now.astimezone(zone).year else ""
        return f"{day.day} {day:%B}{year}"
    local, today = at.astimezone(zone), now.astimezone(zone)
    return f"{_day(local, today)} at {local:%H:%M}"


def zone_name(zone: ZoneInfo, at: datetime) -> str:
    """``America/Toronto (EDT)``: the zone and its abbreviation then, for the header."""
    short = at.astimezone(zone).tzname() or ""
    key = zone.key
    return key if short in ("", key) else f"{key} ({short})"


def span(since: datetime | None, *, now: datetime, zone: ZoneInfo) -> str:
    """``since yesterday at 07:00`` or ``since the story began``."""
    if since is None:
        return "since the story began"
    if now - since < timedelta(0):
        return "since now"
    return f"since {spoken(since, now=now, zone=zone)}"
