"""What ``monitor search`` prints: a page of hits as a table, JSON lines or CSV. No I/O and no
library imports at run time (monitor.cli.present's rule)."""

from __future__ import annotations

import csv
import io
import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage.search import Hit, Results


def _iso(value: Any) -> str | None:
    return value.isoformat() if value else None


HIT_FIELDS = (
    "url",
    "title",
    "outlet",
    "published_at",
    "version",
    "fetched_at",
    "language",
    "stories",
    "score",
    "snippet",
    "marks",
)


def hits(text: str, found: Results, *, form: str) -> list[str]:
    """A search's page of hits: a table (the marked words in [brackets] and the count), one
    JSON object per hit, or CSV with a header."""
    rows = [hit_row(h) for h in found.hits]
    if form == "json":
        return [json.dumps(row, ensure_ascii=False) for row in rows]
    if form == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, HIT_FIELDS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            marks = json.dumps(row["marks"])
            writer.writerow({**row, "stories": " ".join(row["stories"]), "marks": marks})
        return [out.getvalue().rstrip("\n")]
    if not found.total:
        return [f"no article matches {text!r}"]
    lines = []
    for h in found.hits:
        when = h.published_at.date().isoformat() if h.published_at else "????-??-??"
        again = f" (version {h.version})" if h.version > 1 else ""
        lines.append(
            f"{when}  {h.outlet}: {h.title or h.url}{again}\n    {h.url}\n    {_marked(h)}"
        )
    last = found.offset + len(found.hits)
    shown = f"{found.offset + 1}-{last}" if found.hits else "none"
    about = "" if found.total_exact else "about "
    lines.append(f"{shown} of {about}{found.total} (best first)")
    return lines


def hit_row(h: Hit) -> dict[str, Any]:
    """A hit as plain JSON-ready data: times ISO 8601, marks as [start, end] pairs."""
    return {
        **{name: getattr(h, name) for name in HIT_FIELDS},
        "published_at": _iso(h.published_at),
        "fetched_at": _iso(h.fetched_at),
        "stories": list(h.stories),
        "marks": [list(m) for m in h.marks],
        # storage.search.shown_score's rounding, not imported (this module's rule above): 4
        # significant digits, as BM25 weighs a word in most of the archive at 1e-6.
        "score": float(f"{h.score:.4g}"),
    }


def _marked(h: Hit) -> str:
    out, at = [], 0
    for start, end in h.marks:
        out += [h.snippet[at:start], "[", h.snippet[start:end], "]"]
        at = end
    return "".join([*out, h.snippet[at:]])
