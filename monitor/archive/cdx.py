"""The Wayback Machine's answers, read: the CDX API's capture lists (JSON or its space-separated
text), the raw capture URL of each (``/web/{timestamp}id_/{url}``: the page as archived, without
the archive's banner or rewritten links), the captures in the order to read them from a time
(the nearest, or the first from it), and the banner cut out of a capture that has one anyway.
Pure: no network, no clock.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from monitor.errors import ParseError

CDX_PATH = "/cdx/search/cdx"
# The fields asked for, in order: what a capture needs and nothing else.
FIELDS = ("timestamp", "original", "statuscode", "digest", "mimetype")


@dataclass(frozen=True, order=True)
class Capture:
    """One capture of ``original`` at ``at`` (the archive's 14-digit ``timestamp``)."""

    at: datetime
    timestamp: str
    original: str
    status: int | None
    digest: str
    mimetype: str


def stamp(when: datetime) -> str:
    """A time as the archive's 14-digit timestamp (UTC)."""
    return when.astimezone(UTC).strftime("%Y%m%d%H%M%S")


def cdx_url(
    base: str, url: str, *, since: datetime | None = None, until: datetime | None = None
) -> str:
    """The CDX query for the captures of ``url`` (from ``since`` to ``until``, else all) that
    answered 200, one per distinct content (collapsed by digest), as JSON."""
    params = [("url", url)]
    params += [("from", stamp(since))] if since is not None else []
    params += [("to", stamp(until))] if until is not None else []
    params += [
        ("output", "json"),
        ("fl", ",".join(FIELDS)),
        ("collapse", "digest"),
        ("filter", "statuscode:200"),
    ]
    return f"{base.rstrip('/')}{CDX_PATH}?{urlencode(params)}"


def capture_url(base: str, capture: Capture) -> str:
    """The raw capture: the bytes the archive received, no banner, links as they were."""
    return f"{base.rstrip('/')}/web/{capture.timestamp}id_/{capture.original}"


def parse_time(timestamp: str) -> datetime | None:
    """The archive's timestamp (14 digits; fewer: the start of that period) in UTC."""
    digits = timestamp.strip()
    if not digits.isdigit() or not 4 <= len(digits) <= 14:
        return None
    digits = (digits + "0101000000"[len(digits) - 4 :])[:14] if len(digits) < 14 else digits
    try:
        return datetime.strptime(digits, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def parse_cdx(body: bytes) -> list[Capture]:
    """A CDX answer, JSON (a header row then one row per capture) or text (one capture per
    line, fields separated by spaces in ``FIELDS`` order), oldest first. An answer that is
    neither (truncated JSON, an error page) is a ParseError: the listing is asked again by
    the next run, never taken as "no captures"."""
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        return []
    if text.startswith("["):
        rows = _json_rows(text)
    else:
        rows = [line.split() for line in text.splitlines() if line.strip()]
        if any(len(row) < 2 for row in rows):
            raise ParseError("parse", "not a CDX answer: a line with fewer than two fields")
    captures = (_capture(row) for row in rows)
    return sorted(c for c in captures if c is not None)


def _json_rows(text: str) -> list[list[str]]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ParseError("parse", f"not a CDX answer: {exc}") from None
    if not isinstance(data, list) or not all(isinstance(r, list) for r in data):
        raise ParseError("parse", "not a CDX answer: expected a list of rows")
    if not data:
        return []
    header = [str(h) for h in data[0]]
    order = [header.index(f) if f in header else None for f in FIELDS]
    return [
        [str(row[i]) if i is not None and i < len(row) else "" for i in order] for row in data[1:]
    ]


def _capture(row: list[str]) -> Capture | None:
    timestamp, original = row[0], row[1]
    at = parse_time(timestamp)
    if at is None or not original.startswith(("http://", "https://")):
        return None
    status = row[2] if len(row) > 2 else ""
    return Capture(
        at,
        timestamp,
        original,
        int(status) if status.isdigit() else None,
        row[3] if len(row) > 3 else "",
        row[4] if len(row) > 4 else "",
    )


def nearest(captures: list[Capture], when: datetime) -> list[Capture]:
    """The captures by distance from ``when``, nearest first (an earlier one first on a tie:
    it shows the page as published)."""
    return sorted(captures, key=lambda c: (abs((c.at - when).total_seconds()), c.at))


def from_time(captures: list[Capture], when: datetime) -> list[Capture]:
    """The captures to read an article's text as of ``when`` (its publication) from: those at
    or after it, oldest first (the first shows the page as published, not as a later edit
    left it), then those before it, nearest first (an archive that saw it only earlier)."""
    after = sorted(c for c in captures if c.at >= when)
    before = sorted((c for c in captures if c.at < when), reverse=True)
    return after + before


# The banner the archive inserts into a non-raw capture, and the scripts it adds before it.
_BANNER = re.compile(
    rb"<!--\s*BEGIN WAYBACK TOOLBAR INSERT\s*-->.*?<!--\s*END WAYBACK TOOLBAR INSERT\s*-->",
    re.DOTALL | re.IGNORECASE,
)
_ARCHIVE_SCRIPTS = re.compile(
    rb"<script[^>]*(?:archive\.org|/_static/js/|wombat|__wm\.)[^>]*>.*?</script>"
    rb"|<script[^>]*>\s*(?:__wm\.|window\.RufflePlayer|var _____WB\$wombat)[^<]*</script>"
    rb"|<link[^>]*/_static/css/[^>]*>",
    re.DOTALL | re.IGNORECASE,
)
_ARCHIVE_COMMENT = re.compile(rb"<!--\s*(?:FILE ARCHIVED ON|playback timings).*?-->", re.DOTALL)


def strip_banner(html: bytes) -> bytes:
    """The capture without the archive's banner, scripts and trailing comments, should it have
    them (a raw ``id_`` capture has none; a redirect may land on one that does)."""
    for pattern in (_BANNER, _ARCHIVE_SCRIPTS, _ARCHIVE_COMMENT):
        html = pattern.sub(b"", html)
    return html
