"""What the story file says of each outlet beside its articles: its first report, how many
articles of each relation it has in the story, and the copies it carried of others' reporting
with how far each trailed its original. Computed from the outlets' article entries, so a file
rebuilt at an earlier version (``storage.history``) says it as it stood then."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def summarise(outlets: list[dict[str, Any]]) -> None:
    """Add ``first_report``, ``counts`` and ``copies`` to each outlet (articles in publication
    order, as the story file lists them)."""
    by_url = {a["url"]: a for o in outlets for a in o["articles"]}
    for outlet in outlets:
        articles = outlet["articles"]
        outlet["first_report"] = _first_report(articles[0]) if articles else None
        outlet["counts"] = {
            "articles": len(articles),
            "seeds": sum(1 for a in articles if a["relation"] == "seed"),
            "originals": sum(1 for a in articles if a["relation"] == "original"),
            "copies": sum(1 for a in articles if a["relation"] == "copy"),
        }
        outlet["copies"] = [
            _carried(a, by_url.get(a["copy_of"] or "")) for a in articles if a["relation"] == "copy"
        ]


def _first_report(article: dict[str, Any]) -> dict[str, Any]:
    """When and where the outlet first reported the story: its earliest article's publication
    time, else (undated) when the pipeline first stored it."""
    if article["published_at"] is None:
        at, precision = article["first_seen_at"], "first_seen"
    else:
        at = article["published_at"]
        precision = "day" if article.get("published_precision") == "day" else "time"
    return {"at": at, "at_precision": precision, "url": article["url"]}


def _carried(copy: dict[str, Any], original: dict[str, Any] | None) -> dict[str, Any]:
    """A copy the outlet carried: its URL, the original's URL and outlet, and the lag."""
    return {
        "url": copy["url"],
        "title": copy["title"],
        "copy_of": copy["copy_of"],
        "copy_of_outlet": copy.get("copy_of_outlet"),
        "lag_seconds": _lag(copy, original),
    }


def _lag(copy: dict[str, Any], original: dict[str, Any] | None) -> int | None:
    """Seconds from the original's publication to the copy's; None when either is undated or
    dated by the day only (a lag from midnight would be invented)."""
    if original is None:
        return None
    ends = [copy, original]
    if any(a["published_at"] is None or a.get("published_precision") == "day" for a in ends):
        return None
    published = [datetime.fromisoformat(a["published_at"]) for a in ends]
    return round((published[0] - published[1]).total_seconds())
