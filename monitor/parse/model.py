"""The values parsing comes out as, and the helpers the feed and sitemap readers share.

``Feed`` and ``FeedEntry`` are public through ``monitor.parse``: import them from there. They live
here, with the sniffing of a document's first element and the making of an entry from the values
a reader found, because the readers (``monitor.parse_fast``, ``monitor.parse_sitemap``) need them
and ``monitor.parse`` imports the readers: a module that imports none of them breaks the cycle.
Pure: no network, no files, no clock.
"""

from __future__ import annotations

import calendar
import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from monitor.urls import normalise_url


@dataclass(frozen=True)
class FeedEntry:
    key: str  # the GUID, else the normalised link: what makes an entry "seen before"
    url: str
    title: str | None
    published_at: datetime | None
    updated_at: datetime | None
    # The outlet a news search service names for the item (Google News' <source>, Bing's
    # News:Source, GDELT's domain); None in an outlet's own feed.
    outlet: str | None = None


@dataclass(frozen=True)
class Feed:
    title: str | None
    link: str | None
    format: str  # rss20, atom10, json1, sitemap, ... (feedparser's names for feeds)
    entries: tuple[FeedEntry, ...]
    ttl_s: float | None = None  # RSS <ttl>, in seconds
    warning: str | None = None  # a recoverable problem in the document (bozo, recovered XML)
    kind: str = "feed"  # feed, sitemap, news_sitemap or sitemap_index
    children: tuple[str, ...] = ()  # a sitemap index's sitemaps, newest lastmod first


# --- sniffing: which reader a document goes to -------------------------------------------------

_NAME = re.compile(rb"[A-Za-z_][\w.:\-]*")
_END_OF_SUBSET = re.compile(rb"\]\s*>")


def root_element(data: bytes, window: int = 65536) -> tuple[str, int] | None:
    """The local name (lower-cased) and offset of the document's first element.

    A scan rather than one regular expression: nested repetition over whitespace and comments
    backtracks exponentially on a document that does not match.
    """
    pos, end = 0, min(len(data), window)
    while pos < end:
        lt = data.find(b"<", pos, end)
        if lt < 0 or data[pos:lt].strip():
            return None  # text before the first element: not a document we sniff
        if data.startswith(b"<?", lt):
            close, skip = data.find(b"?>", lt + 2, end), 2
        elif data.startswith(b"<!--", lt):
            close, skip = data.find(b"-->", lt + 4, end), 3
        elif data.startswith(b"<!", lt):
            gt, bracket = data.find(b">", lt, end), data.find(b"[", lt, end)
            if 0 <= bracket < gt:  # an internal subset holds ">" of its own
                subset_end = _END_OF_SUBSET.search(data, bracket, end)
                close, skip = (subset_end.end() - 1, 1) if subset_end else (-1, 1)
            else:
                close, skip = gt, 1
        else:
            name = _NAME.match(data, lt + 1, end)
            if name is None:
                return None
            return name.group().decode("ascii").rpartition(":")[2].lower(), lt
        if close < 0:
            return None
        pos = close + skip
    return None


# --- entries, as feedparser and the fast path both make them -----------------------------------


def _struct_to_dt(value: Any) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), UTC)
    except (OverflowError, ValueError, TypeError):
        return None


def _entry_url(link: Any, guid: Any, base_url: str) -> str | None:
    """The entry's absolute http(s) link; else its GUID if that is a permalink; else None.

    feedparser copies an Atom ``<id>`` (often ``urn:`` or ``tag:``) into ``link`` when an entry
    has no ``<link>``, so the scheme is checked after resolving against the feed's URL.
    """
    if isinstance(link, str) and link.strip():
        url = urljoin(base_url, link.strip())
        if urlsplit(url).scheme in ("http", "https"):
            return url
    # A GUID stands in for the link only when it is itself an absolute http(s) URL.
    if isinstance(guid, str) and urlsplit(guid.strip()).scheme in ("http", "https"):
        return guid.strip()
    return None


# An HTML tag, comment or declaration ("<" then a letter, "/", "!" or "?"): "a < b" is text.
_TAG = re.compile(r"<[A-Za-z/!?][^<>]*>")
HTML_TYPES = ("text/html", "application/xhtml+xml")


def plain_title(title: str | None, content_type: str | None) -> str | None:
    """A title as plain text: feedparser hands HTML titles over as HTML (tags, ``&amp;``)."""
    if title is None or content_type not in HTML_TYPES:
        return title
    return " ".join(html.unescape(_TAG.sub("", title)).split())


def make_entry(
    link: Any,
    guid: Any,
    title: str | None,
    title_type: str | None,
    published: Any,
    updated: Any,
    base_url: str,
) -> FeedEntry | None:
    """One FeedEntry from the values feedparser (or the fast path) found; None without a URL."""
    url = _entry_url(link, guid, base_url)
    if url is None:
        return None
    return FeedEntry(
        key=guid or normalise_url(url),
        url=url,
        title=plain_title(title, title_type),
        published_at=_struct_to_dt(published),
        updated_at=_struct_to_dt(updated),
    )


def ttl_seconds(ttl: Any) -> float | None:
    if ttl and str(ttl).strip().isdigit():
        return int(str(ttl).strip()) * 60.0
    return None
