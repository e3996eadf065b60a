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
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from monitor.publish import page
from storage.storyfile import iso
from storage.storypage import Member, Outline, Timeline
from storage.types import from_micros

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]

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
    and stretch of the timeline (``mark_groups``), in the order of their first points; None
    when there are MAX_MARKS points or fewer (a mark each)."""
    lanes: dict[float, int] = {}
    kinds: dict[str, int] = {}
    found = mark_groups(
        np.array([lanes.setdefault(y, len(lanes)) for y, _, _ in points], dtype=np.int64),
        np.array([kinds.setdefault(e, len(kinds)) for _, e, _ in points], dtype=np.int64),
        np.array([x for _, _, x in points], dtype=np.float64),
    )
    if found is None:
        return None
    groups: list[list[int]] = [[] for _ in found[0]]
    for i, g in enumerate(found[2].tolist()):
        groups[g].append(i)
    return groups


def mark_groups(lane: Ints, kind: Ints, x: Floats) -> tuple[Ints, Ints, Ints] | None:
    """The marks at ``x`` on lanes ``lane`` of kinds ``kind`` grouped by lane, kind and
    stretch of the timeline (MARK_WIDTH pixels, doubled until at most MAX_MARKS groups remain,
    or until one stretch is the whole timeline: more lanes times kinds than MAX_MARKS keep a
    mark each): each group's first mark and size, in the order of their first marks, and each
    mark's group; None when there are MAX_MARKS marks or fewer (a mark each). In numpy: in
    Python, a call per mark, the 20,119 marks of a 5,000-article story took some 30 ms."""
    if len(x) <= MAX_MARKS:
        return None
    bucket = (x // MARK_WIDTH).astype(np.int64)  # x >= 0; the same floor as Python's //
    series = lane * (int(kind.max()) + 1) + kind  # a lane's marks of one kind
    width = int(bucket.max()) + 1
    shift = _shift(series * width + bucket, width, float(x.max()))
    keys = series * ((width >> shift) + 1) + (bucket >> shift)
    _, first, inverse, sizes = np.unique(
        keys, return_index=True, return_inverse=True, return_counts=True
    )
    order = np.argsort(first)  # np.unique's groups by key, wanted by first mark
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return first[order], sizes[order], rank[inverse.reshape(-1)]


def _shift(keyed: Ints, width: int, widest: float) -> int:
    """The smallest k for which the marks of each lane and kind (``keyed``: its series times
    ``width`` plus its bucket, x // MARK_WIDTH), by ``bucket >> k`` (a stretch of
    MARK_WIDTH << k pixels), are at most MAX_MARKS, or for which one stretch is wider than
    ``widest`` (the last x). Two neighbouring buckets a < b of a series are one mark from
    k = (a ^ b).bit_length() on: so the marks at k are the series plus the neighbours further
    apart than that."""
    ordered = np.sort(keyed)  # np.unique's hashing took 3 ms of 20,000
    distinct = ordered[np.concatenate(([True], ordered[1:] != ordered[:-1]))]
    series, bucket = distinct // width, distinct % width
    neighbours = (bucket[1:] ^ bucket[:-1])[series[1:] == series[:-1]]
    # frexp's exponent of a positive integer below 2**53 is its bit length
    apart = np.bincount(np.frexp(neighbours.astype(np.float64))[1], minlength=64)
    marks, shift = len(distinct), 0
    while marks > MAX_MARKS and (MARK_WIDTH << shift) <= widest:
        shift += 1
        marks -= int(apart[shift])
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


class Anchors(Mapping[str, dict[str, Any]]):
    """``page.model``'s anchors of the articles ``flat`` (``a-1``, ``a-2``, ... in the story
    file's order) by URL, each made when asked: a page asks for some 1,600 of 5,000."""

    def __init__(self, flat: list[Member]) -> None:
        self._flat = flat
        self._at = {m.url: n for n, m in enumerate(flat)}

    def __getitem__(self, url: str) -> dict[str, Any]:
        n = self._at[url]
        m = self._flat[n]
        return {"id": f"a-{n + 1}", "outlet": m.outlet, "title": m.title or m.url}

    def __iter__(self) -> Iterator[str]:
        return iter(self._at)

    def __len__(self) -> int:
        return len(self._at)


def model(o: Outline, *, offset: int, limit: int) -> dict[str, Any]:
    """What the story page shows, with the articles from ``offset`` to ``offset + limit`` (in
    the story file's order: by outlet, each in publication order) as ``shown``."""
    outlets: dict[str, list[Member]] = {}
    domains: dict[str, str] = {}
    for m in o.members:
        of = outlets.get(m.outlet)
        if of is None:
            of = outlets[m.outlet] = []
            domains[m.outlet] = m.domain
        of.append(m)
    flat = [m for of in outlets.values() for m in of]
    anchors = Anchors(flat)
    members = o.members
    n = len(o.events)
    newest = range(n - 1, max(n - EVENTS_SHOWN, 0) - 1, -1)
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
        "events_shown": [
            _event(o.events, i, anchors) | {"page": link(o.events.article_id(i))} for i in newest
        ],
        "shown": [
            (m.outlet, domains[m.outlet], _article(m, anchors))
            for m in flat[offset : offset + limit]
        ],
        "total": len(flat),
    }


def timeline(o: Outline, outlets: list[str], anchors: Anchors) -> dict[str, Any]:
    """``page.timeline``'s lanes, ticks and marks, each group's mark shaped alone."""
    events = o.events
    used = np.flatnonzero(np.bincount(events.article, minlength=len(events.articles))).tolist()
    names = page.lane_names(outlets, {events.articles[a].outlet for a in used})
    if not len(events):
        return page.geometry(names, [])[0]
    lane_of = {name: n for n, name in enumerate(names)}
    lane = np.array([lane_of[a.outlet] for a in events.articles], dtype=np.int64)[events.article]
    start, end = int(events.at.min()), int(events.at.max())
    frame, _ = page.frame(
        names,
        len(events),
        (from_micros(start), from_micros(end), from_micros(int(events.at[0])),
         from_micros(int(events.at[-1]))),
    )  # fmt: skip
    span = page.timeline_span(from_micros(start), from_micros(end)) // timedelta(microseconds=1)
    x = positions(events.at - start, span, page.timeline_width(len(events)) - 2 * page.PAD)
    focusable = len(events) <= page.FOCUSABLE_MARKERS

    def mark(i: int) -> dict[str, Any]:
        return {**_event(events, i, anchors), "x": float(x[i]), "y": page.lane_y(int(lane[i])),
                "focusable": focusable, "link": link(events.article_id(i))}  # fmt: skip

    groups = mark_groups(lane, events.kind, x)
    if groups is None:
        frame["markers"] = [mark(i) for i in range(len(events))]
    else:
        first, sizes, _ = groups
        shaped = zip(first.tolist(), sizes.tolist(), strict=True)
        frame["markers"] = [merged(mark(i), n) for i, n in shaped]
    return frame


def positions(after: Ints, span: int, plot: int) -> Floats:
    """``page.frame``'s x of times ``after`` microseconds after the first of a ``span`` (the
    same operations on the same doubles), rounded as ``round(x, 1)`` rounds: numpy's rounding
    multiplies by ten first, which can tip a value within a rounding error of a half (to
    round) the other way, so those few are rounded by Python."""
    raw = page.PAD + plot * (after / span)
    tenths = raw * 10
    x: Floats = np.round(raw, 1)
    for i in np.flatnonzero(np.abs(tenths - np.floor(tenths) - 0.5) < 1e-6).tolist():
        x[i] = round(float(raw[i]), 1)
    return x


def _event(events: Timeline, i: int, anchors: Anchors) -> dict[str, Any]:
    """``page.event`` of the ``i``-th event (made from its columns: no ``Event``)."""
    a = events.articles[events.article[i]]
    return page.event(
        {"at": from_micros(int(events.at[i])).isoformat(), "event": events.kinds[events.kind[i]],
         "outlet": a.outlet, "title": a.title, "url": a.url,
         "article_version": events.versions[i]},
        anchors,
    )  # fmt: skip


def _article(m: Member, anchors: Anchors) -> dict[str, Any]:
    """``page.head`` of the member, its page and how many versions it has."""
    shaped = page.head(
        {"url": m.url, "title": m.title, "relation": m.relation, "status": m.status,
         "published_at": iso(m.published_at), "published_precision": m.published_precision,
         "first_seen_at": iso(m.first_seen_at), "copy_of": m.copy_of},
        anchors,
    )  # fmt: skip
    return {**shaped, "page": link(m.id), "version_count": m.versions}
