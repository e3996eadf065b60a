"""What the news search services answer, read into feed entries with the outlet each names.

Google News search RSS and Bing News search RSS are RSS 2.0 (``monitor.parse.parse_feed`` reads
their items); what they add is the outlet of each item (Google's ``<source url>``, Bing's
``News:Source``) and, for Bing, the outlet's URL inside the link's ``url`` parameter. GDELT's
DOC 2.0 article list is JSON. Pure: bytes in, entries out.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from defusedxml import ElementTree

from monitor.errors import ParseError
from monitor.parse import FeedEntry


def item_outlets(body: bytes) -> dict[str, str]:
    """Each RSS item's link -> the outlet the service names for it (Google News' ``<source>``,
    Bing's ``News:Source``); items naming none are left out. Unreadable XML: no names."""
    try:
        root = ElementTree.fromstring(body)
    except Exception:  # defusedxml and expat raise several kinds; no names is the answer
        return {}
    out: dict[str, str] = {}
    for item in root.iter("item"):
        link = outlet = None
        for child in item:
            name = child.tag.rsplit("}", 1)[-1].lower()
            if name == "link" and child.text:
                link = child.text.strip()
            elif name == "source" and child.text and child.text.strip():
                outlet = child.text.strip()
        if link and outlet:
            out[link] = outlet
    return out


def bing_target(link: str) -> str:
    """The outlet's URL a Bing News link carries in its ``url`` parameter (the link itself
    when it carries none)."""
    values = parse_qs(urlsplit(link).query).get("url")
    if values and urlsplit(values[0]).scheme in ("http", "https"):
        return values[0]
    return link


def with_outlets(entries: Iterable[FeedEntry], outlets: dict[str, str]) -> list[FeedEntry]:
    """The entries with the outlet named for their link."""
    return [replace(e, outlet=outlets.get(e.url, e.outlet)) for e in entries]


def gdelt_articles(body: bytes) -> list[FeedEntry]:
    """A GDELT DOC 2.0 ``mode=artlist&format=json`` answer as entries: the URL, the title, the
    time GDELT first saw it as the publication time, the domain as the outlet. An answer that
    is not that JSON (truncated, an error text) is a ParseError."""
    try:
        data = json.loads(body.decode("utf-8", errors="replace") or "{}")
    except ValueError as exc:
        raise ParseError("parse", f"not GDELT's JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ParseError("parse", "not GDELT's JSON: expected an object")
    articles = data.get("articles", [])
    if not isinstance(articles, list):
        raise ParseError("parse", "not GDELT's JSON: articles is not a list")
    out = []
    for article in articles:
        if not isinstance(article, dict):
            continue
        url = str(article.get("url") or "")
        if urlsplit(url).scheme not in ("http", "https"):
            continue
        seen = gdelt_time(str(article.get("seendate") or ""))
        title = str(article["title"]) if article.get("title") else None
        domain = str(article.get("domain") or "") or None
        out.append(FeedEntry(url, url, title, seen, None, outlet=domain))
    return out


def gdelt_time(value: str) -> datetime | None:
    """GDELT's ``20230324T153000Z`` (also its DOC API's ``YYYYMMDDhhmmss``) in UTC."""
    digits = value.replace("T", "").rstrip("Z")
    try:
        return datetime.strptime(digits, "%Y%m%d%H%M%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def gdelt_stamp(when: datetime) -> str:
    """A time as GDELT's ``startdatetime`` and ``enddatetime`` take it."""
    return when.astimezone(UTC).strftime("%Y%m%d%H%M%S")
