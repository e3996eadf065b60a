"""The story page's data, from the story page's own rows (``storage.storypage.outline``: the
members and the timeline's events, no version) through the story file page's own functions
(``monitor.publish.page``), so that the two pages say the same of a story: tests/test_serve.py
holds this model equal to the one made from the full story file.

What it leaves out to stay fast on a story of thousands of articles: the versions (a count of
them is shown; the article page has the rest), the marks of events that a grouped mark stands
for (only each group's first is shaped), the events past the newest EVENTS_SHOWN and the
articles outside the page asked for.
"""

from __future__ import annotations

import gc
import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from monitor.publish import page
from storage.storyfile import iso
from storage.storypage import Event, Member, Outline

# Above this many events the timeline draws one mark per outlet, kind and few pixels, with its
# count (a 5,000-article story has 25,000 events: a mark each made a 10 MB page), and the event
# list shows the newest EVENTS_SHOWN (the story file has them all).
MAX_MARKS = 1500
EVENTS_SHOWN = 200
MARK_WIDTH = 6  # pixels of the timeline one grouped mark stands for


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while the page is made. Its rows and model are some
    50,000 acyclic objects, freed by their reference counts, whose making set off collections
    of the whole process (about a third of a first view's CPU at 5,000 articles); the
    collector runs again after. Another thread's page resuming it meanwhile costs time only:
    nothing made here is a cycle left for the collector."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def group_marks(points: Sequence[tuple[float, str, float]]) -> list[list[int]] | None:
    """The indexes of ``points`` (``(y, event, x)`` of each mark) grouped by lane, event kind
    and stretch of the timeline (MARK_WIDTH pixels, doubled until at most MAX_MARKS groups
    remain, or until one stretch is the whole timeline: more lanes times kinds than MAX_MARKS
    keep a mark each); None when there are MAX_MARKS points or fewer (a mark each)."""
    if len(points) <= MAX_MARKS:
        return None
    keyed = [(y, event, int(x // MARK_WIDTH)) for y, event, x in points]
    widest = max(x for _, _, x in points)
    shift = _shift(keyed, widest)
    groups: dict[tuple[float, str, int], list[int]] = {}
    for i, (y, event, b) in enumerate(keyed):
        groups.setdefault((y, event, b >> shift), []).append(i)
    return list(groups.values())


def _shift(keyed: list[tuple[float, str, int]], widest: float) -> int:
    """The smallest k for which the marks of each lane and kind (``keyed``: lane, kind and
    bucket), by ``bucket >> k`` (a stretch of MARK_WIDTH << k pixels; a bucket is
    x // MARK_WIDTH, x >= 0), are at most MAX_MARKS, or for which one stretch is wider than
    ``widest`` (the last x). Two
    neighbouring buckets a < b of a lane are one mark from k = (a ^ b).bit_length() on: so the
    marks at k are the lanes plus the neighbours further apart than that (making each level's
    marks from the one before, seven sets of some 10,000, took 13 ms of a 5,000-article story
    page)."""
    by_lane: dict[tuple[float, str], set[int]] = {}
    for y, event, b in keyed:
        by_lane.setdefault((y, event), set()).add(b)
    apart = [0] * 64  # apart[j]: neighbours that are one mark from k = j on
    for found in by_lane.values():
        ordered = sorted(found)
        for a, b in itertools.pairwise(ordered):
            apart[(a ^ b).bit_length()] += 1
    marks, shift = len(by_lane) + sum(apart), 0
    while marks > MAX_MARKS and (MARK_WIDTH << shift) <= widest:
        shift += 1
        marks -= apart[shift]
    return shift


def merged(first: dict[str, Any], n: int) -> dict[str, Any]:
    """The mark of a group of ``n`` events whose first is ``first``: titled with how many it
    stands for, linking nowhere."""
    title = first["title"] if n == 1 else f"{n} events, the first: {first['title']}"
    return {**first, "title": title, "link": None, "anchor": None, "focusable": False}


def grouped(markers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``markers`` (a page's timeline's) as they are when few, else one per group."""
    groups = group_marks([(m["y"], m["event"], m["x"]) for m in markers])
    if groups is None:
        return markers
    return [merged(markers[g[0]], len(g)) for g in groups]


def link(article_id: int) -> str:
    return f"/articles/{article_id}"


def model(o: Outline, *, offset: int, limit: int) -> dict[str, Any]:
    """What the story page shows, with the articles from ``offset`` to ``offset + limit`` (in
    the story file's order: by outlet, each in publication order) as ``shown``."""
    outlets: dict[str, dict[str, Any]] = {}
    for m in o.members:
        outlet = outlets.setdefault(m.outlet, {"name": m.outlet, "domain": m.domain, "of": []})
        outlet["of"].append(m)
    flat = [(outlet, m) for outlet in outlets.values() for m in outlet["of"]]
    anchors: dict[str, dict[str, Any]] = {}
    for _, m in flat:
        n = len(anchors) + 1
        anchors[m.url] = {"id": f"a-{n}", "outlet": m.outlet, "title": m.title or m.url}
    members = o.members
    newest = o.events[-EVENTS_SHOWN:][::-1] if o.events else []
    return {
        "title": o.title,
        "slug": o.slug,
        "version": o.version,
        "updated_at": iso(o.updated_at),
        "updated_shown": page.shown_time(iso(o.updated_at)),
        "counts": {
            "outlets": len(outlets),
            "articles": len(members),
            "copies": sum(1 for m in members if m.relation == "copy"),
            "versions": sum(m.versions for m in members),
            "events": len(o.events),
            "removed": sum(1 for m in members if m.status == "removed"),
        },
        "timeline": timeline(o, list(outlets), anchors),
        "events_shown": [_event(e, anchors) | {"page": link(e.article_id)} for e in newest],
        "shown": [
            (outlet["name"], outlet["domain"], _article(m, anchors))
            for outlet, m in flat[offset : offset + limit]
        ],
        "total": len(flat),
    }


def timeline(o: Outline, outlets: list[str], anchors: dict[str, Any]) -> dict[str, Any]:
    """``page.timeline``'s lanes, ticks and marks, each group's mark shaped alone."""
    events = o.events
    names = page.lane_names(outlets, [e.outlet for e in events])
    frame, x = page.geometry(names, [e.at for e in events])
    lane = {name: page.lane_y(n) for n, name in enumerate(names)}
    points = [(lane[e.outlet], e.event, x(e.at)) for e in events]
    focusable = len(events) <= page.FOCUSABLE_MARKERS

    def mark(i: int) -> dict[str, Any]:
        e, (y, _, at_x) = events[i], points[i]
        shaped = _event(e, anchors)
        return {**shaped, "x": at_x, "y": y, "focusable": focusable, "link": link(e.article_id)}

    groups = group_marks(points)
    if groups is None:
        frame["markers"] = [mark(i) for i in range(len(events))]
    else:
        frame["markers"] = [merged(mark(g[0]), len(g)) for g in groups]
    return frame


def _event(e: Event, anchors: dict[str, Any]) -> dict[str, Any]:
    return page.event(
        {"at": iso(e.at), "event": e.event, "outlet": e.outlet, "title": e.title, "url": e.url,
         "article_version": e.article_version},
        anchors,
    )  # fmt: skip


def _article(m: Member, anchors: dict[str, Any]) -> dict[str, Any]:
    """``page.head`` of the member, its page and how many versions it has."""
    shaped = page.head(
        {"url": m.url, "title": m.title, "relation": m.relation, "status": m.status,
         "published_at": iso(m.published_at), "published_precision": m.published_precision,
         "first_seen_at": iso(m.first_seen_at), "copy_of": m.copy_of},
        anchors,
    )  # fmt: skip
    return {**shaped, "page": link(m.id), "version_count": m.versions}
