"""The story file as CSV: one row per article, or one per version. Pure.

RFC 4180: a header row, CRLF line ends, fields quoted when they hold a comma, a quote or a line
break, quotes doubled. The text is UTF-8 (the caller writes it so, without a byte-order mark).
A spreadsheet runs a cell that starts with ``=``, ``+``, ``-`` or ``@`` (or a tab or carriage
return before one) as a formula, so such a value from the web gets a leading ``'`` (OWASP's
advice against CSV injection): a title "=HYPERLINK(...)" is shown, never run. Numbers and
timestamps the project writes never start with those characters and are left as they are.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

ARTICLE_COLUMNS = (
    "story", "outlet", "domain", "url", "canonical_url", "title", "authors", "language",
    "published_at", "published_precision", "updated_at", "first_seen_at", "status",
    "removed_at", "relation", "copy_of", "copy_of_outlet", "similarity", "match_kind",
    "versions", "last_fetched_at", "words_now", "reason",
)  # fmt: skip
VERSION_COLUMNS = (
    "story", "outlet", "url", "version", "fetched_at", "title", "content_sha256", "word_count",
    "words_added", "words_removed", "paragraphs_added", "paragraphs_removed", "title_changed",
    "previous_title", "kinds", "returns_to",
)  # fmt: skip
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    """One field: None empty, booleans ``true``/``false``, lists joined with ``; ``, text
    neutralised against formulas."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, list | tuple):
        value = "; ".join(str(v) for v in value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def _csv(columns: Sequence[str], rows: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([cell(row.get(c)) for c in columns])
    return out.getvalue()


def _outlet_of(story: dict[str, Any]) -> dict[str, str]:
    return {a["url"]: o["name"] for o in story["outlets"] for a in o["articles"]}


def articles_csv(story: dict[str, Any]) -> str:
    """One row per article, in the story file's order (outlet by outlet)."""
    outlet_of = _outlet_of(story)

    def rows() -> Iterable[dict[str, Any]]:
        for o in story["outlets"]:
            for a in o["articles"]:
                newest = a["versions"][-1] if a["versions"] else {}
                match = a.get("match") or {}
                yield {
                    **a,
                    "story": story["story"],
                    "outlet": o["name"],
                    "domain": o["domain"],
                    "copy_of_outlet": a.get("copy_of_outlet", outlet_of.get(a["copy_of"] or "")),
                    "match_kind": match.get("kind"),
                    "reason": match.get("reason"),
                    "versions": len(a["versions"]),
                    "last_fetched_at": newest.get("fetched_at"),
                    "words_now": newest.get("word_count"),
                }

    return _csv(ARTICLE_COLUMNS, rows())


def versions_csv(story: dict[str, Any]) -> str:
    """One row per version of every article, oldest first within each article."""

    def rows() -> Iterable[dict[str, Any]]:
        pairs = ((o["name"], a) for o in story["outlets"] for a in o["articles"])
        for outlet, a in pairs:
            for v in a["versions"]:
                kinds = v.get("kinds") or []
                yield {
                    **(v.get("changes") or {}),
                    **v,
                    "story": story["story"],
                    "outlet": outlet,
                    "url": a["url"],
                    "kinds": [k.get("kind") if isinstance(k, dict) else k for k in kinds],
                }

    return _csv(VERSION_COLUMNS, rows())
