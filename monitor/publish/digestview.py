"""What a digest says, worked out from the events it shows: new outlets, new original
reporting with its first lines, copies under their original with the outlet's name, each
significant edit with its change kinds and the words that changed (from the story file's
diffs), removals and redirects, failing sources; and a subject that says what happened. Pure:
plain rows in (``EventRow``, read by ``monitor.publish.digest``), a ``View`` out, times in the
reader's zone in words (``monitor.publish.when``). The templates only lay it out."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from monitor.publish import kindtext
from monitor.publish.when import spoken

# An edit whose kinds are only these changes no fact a reader follows: counted, not shown.
MINOR_KINDS = frozenset({"edit", "byline", "silent"})
# Kinds a reader follows, in the order the subject counts them.
COUNTED = ("correction", "headline", "update", "removal", "return")
FIRST_LINES = 280  # characters of a new report's opening, cut at a word
CHANGED_SHOWN = 4  # changed sentences shown per edit (the web page has all)


@dataclass(frozen=True)
class EventRow:
    """One event with what the digest needs of its article, read from the archive."""

    event: str  # first_report, copy, update, removed, redirected, dropped, repointed
    at: datetime
    day_only: bool
    article_id: int
    outlet: str
    title: str | None
    url: str
    relation: str | None = None
    copy_of_url: str | None = None
    copy_of_outlet: str | None = None
    copy_of_title: str | None = None
    text: str | None = None  # the article's text, for a new report's first lines
    version: int | None = None
    kinds: Sequence[dict[str, Any]] = ()
    diff: dict[str, Any] | None = None
    redirected_to: str | None = None
    reason: str | None = None
    new_outlet: bool = False  # the outlet's first article in the story


@dataclass(frozen=True)
class Failing:
    name: str
    url: str
    since: datetime
    error: str
    since_words: str = ""  # ``since`` in the reader's words (set by ``build``)


Segment = tuple[str, str]  # (op, words): op "" (unchanged), "del" or "ins"


@dataclass
class Item:
    outlet: str
    title: str
    url: str
    article_id: int
    when: str
    lines: str = ""  # a new report's first lines
    copies: list[Item] = field(default_factory=list)
    kinds: list[tuple[str, str]] = field(default_factory=list)  # (kind, in words)
    sentences: list[list[Segment]] = field(default_factory=list)  # changed sentences
    note: str = ""  # a removal's or redirect's detail, an edit's version


@dataclass
class CopyGroup:
    """Copies of an original this digest does not list itself."""

    outlet: str
    title: str
    url: str
    copies: list[Item]


@dataclass
class View:
    title: str
    slug: str
    subject: str
    counts: str
    new_outlets: list[str]
    reports: list[Item]
    copy_groups: list[CopyGroup]
    edits: list[Item]
    minor_edits: int
    gone: list[Item]
    seeds: list[Item]
    failing: list[Failing]
    more: dict[str, int]  # per section: items beyond max_items, not listed

    @property
    def empty(self) -> bool:
        parts = (self.reports, self.copy_groups, self.edits, self.gone, self.seeds)
        return not any(parts) and not self.minor_edits


def first_lines(text: str | None, limit: int = FIRST_LINES) -> str:
    """The opening of ``text``: its first paragraph, cut at a word past ``limit``."""
    if not text:
        return ""
    para = " ".join(text.strip().split("\n\n", 1)[0].split())
    if len(para) <= limit:
        return para
    return para[:limit].rsplit(" ", 1)[0] + " …"


def changed_words(diff: dict[str, Any] | None) -> list[list[Segment]]:
    """Each changed sentence of the diff as segments: unchanged words, deleted, inserted."""
    out = []
    for change in ((diff or {}).get("changed") or [])[:CHANGED_SHOWN]:
        words = str(change.get("new_text", "")).split(" ")
        segments: list[Segment] = []
        at = 0
        for e in sorted(change.get("edits") or [], key=lambda e: e.get("new_at", 0)):
            start = int(e.get("new_at", 0))
            if start > at:
                segments.append(("", " ".join(words[at:start])))
            if e.get("old"):
                segments.append(("del", str(e["old"])))
            if e.get("new"):
                segments.append(("ins", str(e["new"])))
            at = start + (len(str(e["new"]).split(" ")) if e.get("new") else 0)
        if at < len(words):
            segments.append(("", " ".join(words[at:])))
        if any(op for op, _ in segments):
            out.append(segments)
    return out


def _kind_name(kind: Any) -> str:
    return str(kind.get("kind", "")) if isinstance(kind, dict) else str(kind)


def significant(row: EventRow) -> bool:
    """An edit a reader follows: a kind beyond rewording, a byline or a silent change."""
    names = {_kind_name(k) for k in row.kinds}
    return bool(names - MINOR_KINDS) or (not names and bool(row.diff))


class Builder:
    """Turns rows into a ``View`` for one reader (``zone``) at ``now``."""

    def __init__(self, *, now: datetime, zone: ZoneInfo, max_items: int) -> None:
        self.now, self.zone, self.max_items = now, zone, max_items

    def item(self, row: EventRow) -> Item:
        when = spoken(row.at, now=self.now, zone=self.zone, day_only=row.day_only)
        return Item(row.outlet, row.title or row.url, row.url, row.article_id, when)

    def report(self, row: EventRow) -> Item:
        item = self.item(row)
        item.lines = first_lines(row.text)
        return item

    def edit(self, row: EventRow) -> Item:
        item = self.item(row)
        item.kinds = [
            kindtext.describe(k)
            for k in row.kinds
            if _kind_name(k) not in MINOR_KINDS or _kind_name(k) == "edit"
        ]
        item.sentences = changed_words(row.diff)
        item.note = f"version {row.version}" if row.version else ""
        return item

    def gone(self, row: EventRow) -> Item:
        item = self.item(row)
        if row.event == "removed":
            item.note = "taken down: the page no longer answers"
        elif row.event == "redirected":
            item.note = f"now redirects to {row.redirected_to or 'another page'}"
        elif row.event == "dropped":
            item.note = "taken out of the story" + (f": {row.reason}" if row.reason else "")
        else:
            whose = f" ({row.copy_of_outlet})" if row.copy_of_outlet else ""
            target = f"; now a copy of {row.copy_of_url}{whose}" if row.copy_of_url else ""
            item.note = "re-pointed: " + (row.reason or "its original changed") + target
        return item


def build(
    *,
    title: str,
    slug: str,
    rows: Sequence[EventRow],
    failing: Sequence[Failing] = (),
    now: datetime,
    zone: ZoneInfo,
    max_items: int = 100,
) -> View:
    """The digest of ``rows`` (one story's events, oldest first) for a reader in ``zone``."""
    b = Builder(now=now, zone=zone, max_items=max_items)
    originals = [r for r in rows if r.event == "first_report" and r.relation != "seed"]
    reports = [b.report(r) for r in originals]
    by_url = {item.url: item for item in reports}
    groups: dict[str, CopyGroup] = {}
    for r in (r for r in rows if r.event == "copy"):
        copy = b.item(r)
        if r.copy_of_url in by_url:
            by_url[r.copy_of_url].copies.append(copy)
            continue
        key = r.copy_of_url or ""
        group = groups.setdefault(
            key,
            CopyGroup(
                r.copy_of_outlet or "", r.copy_of_title or key or "an earlier report", key, []
            ),
        )
        group.copies.append(copy)
    updates = [r for r in rows if r.event == "update"]
    edits = [b.edit(r) for r in updates if significant(r)]
    gone = [b.gone(r) for r in rows if r.event in ("removed", "redirected", "dropped", "repointed")]
    seeds = [b.item(r) for r in rows if r.event == "first_report" and r.relation == "seed"]
    new_outlets = list(dict.fromkeys(r.outlet for r in rows if r.new_outlet))
    sections = {"reports": reports, "edits": edits, "gone": gone, "seeds": seeds}
    more = {name: max(0, len(items) - max_items) for name, items in sections.items()}
    counts = _counts(rows, edits=len(edits), minor=len(updates) - len(edits))
    return View(
        title=title,
        slug=slug,
        subject=_subject(title, counts, originals, rows),
        counts=counts,
        new_outlets=new_outlets,
        reports=reports[:max_items],
        copy_groups=list(groups.values())[:max_items],
        edits=edits[:max_items],
        minor_edits=len(updates) - len(edits),
        gone=gone[:max_items],
        seeds=seeds[:max_items],
        failing=[replace(f, since_words=spoken(f.since, now=now, zone=zone)) for f in failing],
        more=more,
    )


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _counts(rows: Sequence[EventRow], *, edits: int, minor: int) -> str:
    """``3 new reports, 2 copies, 1 correction, 1 removal``: what happened, biggest news first."""
    reports = sum(r.event == "first_report" and r.relation != "seed" for r in rows)
    kinds = [_kind_name(k) for r in rows if r.event == "update" for k in r.kinds]
    corrections = kinds.count("correction")
    parts = [
        _plural(reports, "new report", "new reports") if reports else "",
        _plural(corrections, "correction", "corrections") if corrections else "",
        _plural(edits - corrections, "edit", "edits") if edits > corrections else "",
        _plural(sum(r.event == "copy" for r in rows), "copy", "copies"),
        _plural(sum(r.event == "removed" for r in rows), "removal", "removals"),
        _plural(sum(r.event == "redirected" for r in rows), "redirect", "redirects"),
        _plural(sum(r.event == "dropped" for r in rows), "article taken out", "articles taken out"),
        _plural(minor, "minor edit", "minor edits") if minor else "",
        _plural(sum(r.relation == "seed" for r in rows), "seed", "seeds"),
    ]
    return ", ".join(p for p in parts if p and not p.startswith("0 ")) or "nothing new"


def _subject(
    title: str, counts: str, originals: Sequence[EventRow], rows: Sequence[EventRow]
) -> str:
    """``Roxham Road: 3 new reports, 1 correction (CBC, Le Devoir)``: the outlets of the new
    reporting (else of the corrections), two at most."""
    corrected = [r for r in rows if any(_kind_name(k) == "correction" for k in r.kinds)]
    outlets = list(dict.fromkeys(r.outlet for r in (originals or corrected)))
    named = ", ".join(outlets[:2]) + (f" and {len(outlets) - 2} more" if len(outlets) > 2 else "")
    return f"{title}: {counts}" + (f" ({named})" if named else "")
