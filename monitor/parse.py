"""Feed bytes -> entries. Pure: no network, no files, no clock.

feedparser is only ever given bytes (``io.BytesIO``) and the response headers: given a string it
may open a local file or fetch a URL itself, with no timeout and no size cap. JSON Feed, which
feedparser 6.0 cannot read, is parsed here from plain JSON.
"""

from __future__ import annotations

import calendar
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser

from monitor.errors import ParseError
from monitor.urls import normalise_url


@dataclass(frozen=True)
class FeedEntry:
    key: str  # the GUID, else the normalised link: what makes an entry "seen before"
    url: str
    title: str | None
    published_at: datetime | None
    updated_at: datetime | None
    summary: str | None


@dataclass(frozen=True)
class Feed:
    title: str | None
    link: str | None
    format: str  # rss20, atom10, json1, ... as feedparser names them
    entries: tuple[FeedEntry, ...]
    ttl_s: float | None = None  # RSS <ttl>, in seconds
    warning: str | None = None  # a recoverable problem feedparser reported (bozo)


# Bozo flags that say nothing about the feed itself: a missing or generic Content-Type, or a
# charset declared in one place and found in another. The entries are fine.
_BENIGN = (feedparser.NonXMLContentType, feedparser.CharacterEncodingOverride)


def _struct_to_dt(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, ValueError, TypeError):
        return None


def _iso_to_dt(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _looks_like_json(body: bytes, headers: Mapping[str, str]) -> bool:
    content_type = headers.get("content-type", "").lower()
    return "json" in content_type or body.lstrip()[:1] == b"{"


def _parse_json_feed(body: bytes, base_url: str) -> Feed:
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ParseError("parse", f"invalid JSON: {exc}") from exc
    if not isinstance(data, dict) or "jsonfeed.org/version" not in str(data.get("version", "")):
        raise ParseError("not_a_feed", "JSON without a jsonfeed.org version")
    entries = []
    for item in data.get("items") or []:
        if not isinstance(item, dict):
            continue
        link = item.get("url") or item.get("external_url")
        if not isinstance(link, str):
            continue
        url = urljoin(base_url, link)
        key = str(item.get("id") or "") or normalise_url(url)
        entries.append(
            FeedEntry(
                key=key,
                url=url,
                title=item.get("title") if isinstance(item.get("title"), str) else None,
                published_at=_iso_to_dt(item.get("date_published")),
                updated_at=_iso_to_dt(item.get("date_modified")),
                summary=item.get("summary") if isinstance(item.get("summary"), str) else None,
            )
        )
    version = "json11" if str(data["version"]).rstrip("/").endswith("1.1") else "json1"
    return Feed(
        title=data.get("title"),
        link=data.get("home_page_url"),
        format=version,
        entries=tuple(entries),
    )


def _entry_url(item: Any, base_url: str) -> str | None:
    """The entry's absolute http(s) link; else its GUID if that is a permalink; else None.

    feedparser copies an Atom ``<id>`` (often ``urn:`` or ``tag:``) into ``link`` when an entry
    has no ``<link>``, so the scheme is checked after resolving against the feed's URL.
    """
    link = item.get("link")
    if isinstance(link, str) and link.strip():
        url = urljoin(base_url, link.strip())
        if urlsplit(url).scheme in ("http", "https"):
            return url
    guid = item.get("id")
    # A GUID stands in for the link only when it is itself an absolute http(s) URL.
    if isinstance(guid, str) and urlsplit(guid.strip()).scheme in ("http", "https"):
        return guid.strip()
    return None


def parse_feed(body: bytes, base_url: str, headers: Mapping[str, str] | None = None) -> Feed:
    """Read RSS, Atom or JSON Feed ``body`` fetched from ``base_url``.

    Raises ParseError(``not_a_feed``) for bytes that hold no feed at all (an HTML page, an
    empty body) and ParseError(``parse``) for a feed too broken to give any entry.
    """
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    if not body.strip():
        raise ParseError("not_a_feed", "empty body")
    if _looks_like_json(body, headers):
        return _parse_json_feed(body, base_url)
    # feedparser resolves relative links against Content-Location.
    response_headers = {"content-location": base_url, **headers}
    parsed = feedparser.parse(io.BytesIO(body), response_headers=response_headers)
    warning = None
    malformed = bool(parsed.bozo) and not isinstance(parsed.bozo_exception, _BENIGN)
    if malformed:
        warning = f"{type(parsed.bozo_exception).__name__}: {parsed.bozo_exception}"
    if not parsed.version and not parsed.entries:
        if b"<html" in body[:2048].lower():
            raise ParseError("not_a_feed", "an HTML page, not a feed")
        raise ParseError(
            "parse" if malformed else "not_a_feed", warning or "no feed found in the response"
        )
    if malformed and not parsed.entries:
        # A feed cut short or malformed before its first item: an error, not an empty feed.
        raise ParseError("parse", warning or "malformed feed with no entries")
    entries = []
    for item in parsed.entries:
        url = _entry_url(item, base_url)
        if url is None:
            continue
        key = item.get("id") or normalise_url(url)
        entries.append(
            FeedEntry(
                key=key,
                url=url,
                title=item.get("title"),
                published_at=_struct_to_dt(item.get("published_parsed")),
                # dict.get: FeedParserDict.get("updated_parsed") falls back to the published
                # date (with a DeprecationWarning): every RSS item would look updated.
                updated_at=_struct_to_dt(dict.get(item, "updated_parsed")),
                summary=item.get("summary"),
            )
        )
    ttl_s = None
    ttl = parsed.feed.get("ttl")
    if ttl and str(ttl).strip().isdigit():
        ttl_s = int(str(ttl).strip()) * 60.0
    return Feed(
        title=parsed.feed.get("title"),
        link=parsed.feed.get("link"),
        format=parsed.version or "unknown",
        entries=tuple(entries),
        ttl_s=ttl_s,
        warning=warning,
    )
