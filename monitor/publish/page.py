"""The HTML story page's data: the story file turned into what the template shows, so that the
template only lays it out. Pure: plain data in, plain data out.

- every article gets an anchor (``a-1``, ``a-2``, ... in the story file's order), which the
  timeline's markers, the copies' "copy of" and the event list link to;
- the timeline is drawn as SVG with one lane per outlet: its geometry (marker positions, day
  ticks) is computed here, in pixels;
- each version after the first gets the rows of a side-by-side diff (``monitor.publish.
  sidebyside``): from its stored ``diff`` when it has one in a known shape, else from the texts
  of the two versions when the story file carries them (``build(..., texts=True)``);
- only http(s) URLs become links (``href``); any other scheme is shown as text.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from monitor.publish import kindtext, sidebyside

LABEL_WIDTH = 150  # the outlet names, beside the lanes (which scroll, the names stay)
LANE_HEIGHT = 30
AXIS_HEIGHT = 34
PAD = 44  # room for the first and last tick labels, centred on their tick
FOCUSABLE_MARKERS = 300  # above this many events, markers are not tab stops (the list is)
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
_TICK_STEPS = [timedelta(hours=h) for h in (1, 3, 6, 12, 24, 48, 168, 336, 720, 2160, 8760)]
EVENT_LABELS = {
    "first_report": "first report",
    "copy": "copy",
    "update": "update",
    "removed": "removed",
    "dropped": "dropped",
}


def href(url: Any) -> str | None:
    """``url`` if it is an http(s) URL a reader may follow, else None."""
    if not isinstance(url, str):
        return None
    return _href(url)


# A story's page asks again for each of an article's events (1,400 urlsplits: some 8 ms of a
# 5,000-article story page); bounded, as the web server lives long.
@functools.lru_cache(maxsize=8192)
def _href(url: str) -> str | None:
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    return url if parts.scheme.lower() in ("http", "https") and parts.netloc else None


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def shown_time(value: str | None, *, day: bool = False) -> str:
    """``2023-03-23 15:10 UTC`` (``2023-03-23`` for a date known only to the day)."""
    if not value:
        return "unknown"
    text = value.replace("Z", "+00:00")
    at = datetime.fromisoformat(text)
    if at.utcoffset() == _NO_OFFSET and at.year >= 1000 and _WRITTEN.match(text):
        # Written in UTC (as every time here is), its digits are strftime's: 3-4 us a time
        # less, for the 1,600 times of a 5,000-article story's page. (strftime leaves a year
        # before 1000 unpadded, so those are formatted by it.)
        return text[:10] if day else f"{text[:10]} {text[11:16]} UTC"
    at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%d") if day else at.strftime("%Y-%m-%d %H:%M UTC")


# A time written with its date's and its hour's and minute's digits in the places of
# ``2023-03-23T15:10``.
_WRITTEN = re.compile(r"\d{4}-\d\d-\d\d.\d\d:\d\d", re.ASCII)
_NO_OFFSET = timedelta(0)


def event_label(event: str) -> str:
    return EVENT_LABELS.get(event, event.replace("_", " "))


def model(story: dict[str, Any]) -> dict[str, Any]:
    """Everything the template shows, computed once."""
    anchors: dict[str, dict[str, Any]] = {}
    for outlet in story["outlets"]:
        for article in outlet["articles"]:
            anchors[article["url"]] = {
                "id": f"a-{len(anchors) + 1}",
                "outlet": outlet["name"],
                "title": article["title"] or article["url"],
            }
    outlets = [_outlet(o, n, anchors) for n, o in enumerate(story["outlets"], start=1)]
    articles = [a for o in outlets for a in o["articles"]]
    return {
        "title": story["title"],
        "slug": story["story"],
        "version": story["version"],
        "updated_at": story["updated_at"],
        "updated_shown": shown_time(story["updated_at"]),
        "keywords": story.get("keywords", []),
        "counts": {
            "outlets": len(outlets),
            "articles": len(articles),
            "copies": sum(1 for a in articles if a["relation"] == "copy"),
            "versions": sum(len(a["versions"]) for a in articles),
            "events": len(story["timeline"]),
            "removed": sum(1 for a in articles if a["status"] == "removed"),
        },
        "timeline": timeline(story, anchors),
        "events": [event(e, anchors) for e in reversed(story["timeline"])],
        "outlets": outlets,
        "off_topic": [_off_topic(a) for a in story["off_topic"]],
    }


def _outlet(outlet: dict[str, Any], n: int, anchors: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": f"o-{n}",
        "name": outlet["name"],
        "domain": outlet["domain"],
        "articles": [_article(a, anchors) for a in outlet["articles"]],
    }


def _article(a: dict[str, Any], anchors: dict[str, Any]) -> dict[str, Any]:
    match = a.get("match") or {}
    return {
        **head(a, anchors),
        "canonical_url": a["canonical_url"] if a["canonical_url"] != a["url"] else None,
        "removed_shown": shown_time(a["removed_at"]) if a["removed_at"] else None,
        "authors": a["authors"],
        "language": a["language"],
        "similarity": a["similarity"],
        "reason": match.get("reason"),
        "label": _label(a.get("label"), match),
        "versions": versions(a["versions"]),
    }


def head(a: dict[str, Any], anchors: Mapping[str, Any]) -> dict[str, Any]:
    """What both story pages show of an article in its list (``monitor serve``'s from a
    story file's article's ``url``, ``title``, ``relation``, ``status``, ``published_at``,
    ``published_precision``, ``first_seen_at`` and ``copy_of`` alone)."""
    copy_of = a.get("copy_of")
    return {
        "id": anchors[a["url"]]["id"],
        "title": a["title"] or a["url"],
        "url": a["url"],
        "href": href(a["url"]),
        "relation": a["relation"],
        "status": a["status"],
        "published_at": a["published_at"],
        "published_shown": shown_time(a["published_at"], day=a["published_precision"] == "day"),
        "first_seen_at": a["first_seen_at"],
        "first_seen_shown": shown_time(a["first_seen_at"]),
        # The original may be missing from the story (dropped since): then its URL alone.
        "copy_of": None
        if not copy_of
        else {
            "url": copy_of,
            "id": None,
            "outlet": None,
            "title": None,
            **anchors.get(copy_of, {}),
        },
    }


def _label(label: dict[str, Any] | None, match: dict[str, Any]) -> dict[str, Any] | None:
    """The analyst's label with when it was given and what the matcher said beside it."""
    if not label:
        return None
    return {
        "value": label["value"],
        "at": label["at"],
        "at_shown": shown_time(label["at"]),
        "matcher": (match.get("matcher") or {}).get("kind"),
        "score": (match.get("scores") or {}).get("score"),
    }


def versions(versions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each version as the page shows it: its counts, its kinds in words and, after the first,
    its side-by-side diff (the story page and `monitor serve`'s article page)."""
    out = []
    for n, v in enumerate(versions):
        previous = versions[n - 1] if n else None
        changes = v.get("changes") or {}
        out.append(
            {
                "version": v["version"],
                "fetched_at": v["fetched_at"],
                "fetched_shown": shown_time(v["fetched_at"]),
                "title": v["title"],
                "word_count": v["word_count"],
                "words_added": changes.get("words_added"),
                "words_removed": changes.get("words_removed"),
                "kinds": [_kind(k) for k in v.get("kinds") or []],
                "diff": None if previous is None else _diff(previous, v),
                "newest": n == len(versions) - 1,
            }
        )
    return out


def _kind(kind: Any) -> dict[str, str]:
    """A change kind ``{kind, evidence}`` as its name and its evidence in words
    (``publish.kindtext``; an evidence of a shape it does not know, as JSON)."""
    name, evidence = kindtext.describe(kind)
    return {"kind": name, "evidence": evidence}


def _diff(previous: dict[str, Any], version: dict[str, Any]) -> dict[str, Any] | None:
    """The side-by-side rows from ``previous`` to ``version``, and where they come from; the
    stored diff as JSON text when its shape is unknown and there are no texts to diff."""
    stored = version.get("diff")
    rows = sidebyside.from_diff(stored) if stored is not None else None
    if rows is not None:
        return {"from": previous["version"], "rows": rows, "source": "stored"}
    if isinstance(previous.get("text"), str) and isinstance(version.get("text"), str):
        rows = sidebyside.from_texts(
            previous["title"], previous["text"], version["title"], version["text"]
        )
        return {"from": previous["version"], "rows": rows, "source": "texts"}
    if stored is not None:
        raw = json.dumps(stored, ensure_ascii=False, indent=1, sort_keys=True)
        return {"from": previous["version"], "rows": [], "source": "raw", "raw": raw}
    return None


def event(e: dict[str, Any], anchors: Mapping[str, Any]) -> dict[str, Any]:
    """A timeline event (the story file's ``at``, ``event``, ``outlet``, ``title``, ``url``,
    ``article_version``) as the event list and a mark show it."""
    return {
        "at": e["at"],
        "shown": shown_time(e["at"]),
        "event": e["event"],
        "label": event_label(e["event"]),
        "outlet": e["outlet"],
        "title": e["title"] or e["url"],
        "anchor": anchors.get(e["url"], {}).get("id"),
        "href": href(e["url"]),
        "article_version": e["article_version"],
    }


def _off_topic(a: dict[str, Any]) -> dict[str, Any]:
    return {
        "outlet": a["outlet"],
        "title": a["title"] or a["url"],
        "url": a["url"],
        "href": href(a["url"]),
        "reason": (a.get("match") or {}).get("reason"),
    }


# -- the timeline's geometry ----------------------------------------------------------------


def timeline(story: dict[str, Any], anchors: dict[str, Any]) -> dict[str, Any]:
    """Lanes (one per outlet, in the story's order, then outlets only the timeline names, such
    as a dropped article's), markers and ticks, in pixels."""
    events = story["timeline"]
    names = lane_names([o["name"] for o in story["outlets"]], [e["outlet"] for e in events])
    times = [parse_time(e["at"]) for e in events]
    frame, x = geometry(names, times)
    if not events:
        return frame
    lane = {name: n for n, name in enumerate(names)}
    frame["markers"] = [
        {
            **event(e, anchors),
            "x": x(at),
            "y": lane_y(lane[e["outlet"]]),
            "focusable": len(events) <= FOCUSABLE_MARKERS,
        }
        for e, at in zip(events, times, strict=True)
    ]
    return frame


def lane_names(outlets: list[str], named: Iterable[str]) -> list[str]:
    """The lanes: the story's outlets in order, then the other outlets the events name."""
    return outlets + sorted(set(named) - set(outlets))


def lane_y(n: int) -> int:
    return AXIS_HEIGHT + LANE_HEIGHT * n + LANE_HEIGHT // 2


def geometry(
    names: list[str], times: list[datetime]
) -> tuple[dict[str, Any], Callable[[datetime], float]]:
    """The timeline of events at ``times`` (in the story file's order) on lanes ``names``:
    its size, lanes, ticks, first and last times, no marker yet; and where a time falls."""
    if not times:
        return frame(names, 0, None)
    return frame(names, len(times), (min(times), max(times), times[0], times[-1]))


def frame(
    names: list[str], count: int, bounds: tuple[datetime, datetime, datetime, datetime] | None
) -> tuple[dict[str, Any], Callable[[datetime], float]]:
    """``geometry`` of ``count`` events whose ``bounds`` are the earliest, latest, first and
    last times (None for no event)."""
    width = timeline_width(count)
    height = AXIS_HEIGHT + LANE_HEIGHT * len(names) + 12
    if bounds is None:
        empty = {"width": width, "height": height, "lanes": [], "markers": [], "ticks": []}
        return empty, lambda at: 0.0
    start, end, first, last = bounds
    span = timeline_span(start, end)
    plot = width - 2 * PAD

    def x(at: datetime) -> float:
        return round(PAD + plot * ((at - start) / span), 1)

    return {
        "width": width,
        "height": height,
        "lanes": [{"name": name, "y": lane_y(n)} for n, name in enumerate(names)],
        "markers": [],
        "ticks": [{"x": x(t), "label": label} for t, label in _ticks(start, span)],
        "first": shown_time(first.isoformat()),
        "last": shown_time(last.isoformat()),
    }, x


def timeline_width(count: int) -> int:
    """The pixels of a timeline of ``count`` events (its plot: less a PAD each side)."""
    return max(960, min(4000, 14 * count))


def timeline_span(start: datetime, end: datetime) -> timedelta:
    """The time the plot stands for, from ``start`` to ``end``: at least an hour."""
    return max(end - start, timedelta(hours=1))


def _ticks(start: datetime, span: timedelta) -> list[tuple[datetime, str]]:
    """At most about eight ticks on round hours or days from the first event, labelled with
    the day, the hour too when they are less than a day apart, the year when over a year."""
    step = next((s for s in _TICK_STEPS if span / s <= 8), _TICK_STEPS[-1])
    daily = step >= timedelta(days=1)
    t = start.replace(minute=0, second=0, microsecond=0)
    if daily:
        t = t.replace(hour=0)
    else:
        t = t.replace(hour=t.hour - t.hour % int(step / timedelta(hours=1)))
    ticks = []
    while t <= start + span:
        if t >= start:
            label = f"{t.day} {_MONTHS[t.month - 1]}"
            label += f" {t.year}" if span > timedelta(days=300) else "" if daily else f" {t:%H:%M}"
            ticks.append((t, label))
        t += step
    return ticks
