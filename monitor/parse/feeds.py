"""Feed bytes -> entries. Pure: no network, no files, no clock.

A source can be RSS, Atom, RDF, JSON Feed, a sitemap, a Google News sitemap or a sitemap index
(a gzipped body is inflated first, up to GZIP_MAX_BYTES). The bytes are decoded once, by
``monitor.charset``, and every XML reader gets the same UTF-8 text with a prolog that
says so: feedparser never second-guesses the encoding. Titles come out as plain text.

Readers: well-formed RSS 2.0 and Atom 1.0 go through a fast path (lxml, the same values as
feedparser, in ``monitor.parse_fast``); everything else, and anything the fast path doubts,
through feedparser, below. feedparser is only ever given bytes (``io.BytesIO``) and the response
headers: given a string it may open a local file or fetch a URL itself, with no timeout and no
size cap. JSON Feed, which feedparser 6.0 cannot read, is parsed here from plain JSON. Sitemaps
are read with lxml, with entities, network and huge trees refused (``monitor.parse_sitemap``).

This module is the public API (``parse_feed``, ``Feed``, ``FeedEntry``) and the dispatch; each
reader has its own module so that every part can be read in one sitting. ``Feed``, ``FeedEntry``
and the helpers the readers share live in ``monitor.feed``, which imports no reader, so no reader
imports this module. Import from here, not from the parts.
"""

from __future__ import annotations

import io
import json
import re
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin

import feedparser

from monitor.errors import ParseError

# Feed and FeedEntry are public from here, not from monitor.feed; tests/test_parse.py and
# benchmarks/parse.py also import parse_fast from here.
from monitor.parse import charset
from monitor.parse.fast import parse_fast
from monitor.parse.model import Feed, FeedEntry, make_entry, plain_title, root_element, ttl_seconds
from monitor.parse.sitemap import parse_sitemap
from monitor.urls import normalise_url

# Bozo flags that say nothing about the feed itself: a missing or generic Content-Type, or a
# charset declared in one place and found in another. The entries are fine.
_BENIGN = (feedparser.NonXMLContentType, feedparser.CharacterEncodingOverride)

# A sitemap may hold 50,000 URLs in 50 MiB (sitemaps.org); beyond that a .gz is a bomb.
GZIP_MAX_BYTES = 50 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"

_PROLOG = re.compile(r"\A<\?xml[^>]*?\?>")
_PROLOG_ENCODING = re.compile(r"""(\sencoding\s*=\s*)(["'])[^"']*\2""")


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


def _gunzip(body: bytes) -> bytes:
    """A body still gzipped (a ``.xml.gz`` served without Content-Encoding), inflated."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, GZIP_MAX_BYTES + 1)
    except zlib.error as exc:
        raise ParseError("parse", f"broken gzip body: {exc}") from exc
    if len(data) > GZIP_MAX_BYTES:
        raise ParseError("parse", f"gzip body inflates beyond {GZIP_MAX_BYTES} bytes")
    if not inflater.eof and not data:
        raise ParseError("parse", "broken gzip body: truncated before any data")
    # A body cut short still gives what it inflates; the XML readers judge the rest.
    return data


def _utf8_xml(body: bytes, headers: Mapping[str, str]) -> bytes:
    """``body`` decoded by monitor.charset, re-encoded as UTF-8 with a prolog that says so.

    Whitespace before the prolog (a common templating slip) is dropped: XML parsers refuse
    a declaration that is not at the very start, and feedparser would fall back to its lenient
    HTML-like parser for the whole document.
    """
    text = charset.decode(body, headers.get("content-type"), markup="xml").text
    text = text.lstrip(" \t\r\n")
    prolog = _PROLOG.match(text)
    if prolog:
        declaration = _PROLOG_ENCODING.sub(r"\1\2utf-8\2", prolog.group())
        text = declaration + text[prolog.end() :]
    return text.encode("utf-8")


def _root_name(data: bytes) -> str | None:
    found = root_element(data)
    return found[0] if found else None


def _looks_like_json(body: bytes, headers: Mapping[str, str]) -> bool:
    content_type = headers.get("content-type", "").lower()
    return "json" in content_type or body.removeprefix(b"\xef\xbb\xbf").lstrip()[:1] == b"{"


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
            )
        )
    version = "json11" if str(data["version"]).rstrip("/").endswith("1.1") else "json1"
    return Feed(
        title=data.get("title"),
        link=data.get("home_page_url"),
        format=version,
        entries=tuple(entries),
    )


# --- feeds, through feedparser -----------------------------------------------------------------


def _parse_with_feedparser(
    data: bytes, original: bytes, base_url: str, headers: Mapping[str, str]
) -> Feed:
    content_type = headers.get("content-type", "").partition(";")[0].strip() or "application/xml"
    # feedparser resolves relative links against Content-Location. The charset is ours: data
    # is UTF-8 whatever the server said.
    response_headers = {
        "content-location": base_url,
        **headers,
        "content-type": f"{content_type}; charset=utf-8",
    }
    # We never render entry HTML, so feedparser's sanitiser and its rewriting of links inside
    # HTML are pure cost (half its time); neither touches the title or links we return.
    parsed = feedparser.parse(
        io.BytesIO(data),
        response_headers=response_headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    warning = None
    malformed = bool(parsed.bozo) and not isinstance(parsed.bozo_exception, _BENIGN)
    if malformed:
        warning = f"{type(parsed.bozo_exception).__name__}: {parsed.bozo_exception}"
    if not parsed.version and not parsed.entries:
        if b"<html" in data[:2048].lower() or b"<html" in original[:2048].lower():
            raise ParseError("not_a_feed", "an HTML page, not a feed")
        raise ParseError(
            "parse" if malformed else "not_a_feed", warning or "no feed found in the response"
        )
    if malformed and not parsed.entries:
        # A feed cut short or malformed before its first item: an error, not an empty feed.
        raise ParseError("parse", warning or "malformed feed with no entries")
    entries = []
    for item in parsed.entries:
        entry = make_entry(
            item.get("link"),
            item.get("id"),
            item.get("title"),
            item.get("title_detail", {}).get("type"),
            item.get("published_parsed"),
            # dict.get: FeedParserDict.get("updated_parsed") falls back to the published
            # date (with a DeprecationWarning): every RSS item would look updated.
            dict.get(item, "updated_parsed"),
            base_url,
        )
        if entry is not None:
            entries.append(entry)
    if malformed and not entries:
        # Broken inside its items, leaving none we can use: still an error, not an empty feed.
        raise ParseError("parse", warning or "malformed feed with no readable entry")
    return Feed(
        title=plain_title(
            parsed.feed.get("title"), parsed.feed.get("title_detail", {}).get("type")
        ),
        link=parsed.feed.get("link"),
        format=parsed.version or "unknown",
        entries=tuple(entries),
        ttl_s=ttl_seconds(parsed.feed.get("ttl")),
        warning=warning,
    )


def parse_feed(body: bytes, base_url: str, headers: Mapping[str, str] | None = None) -> Feed:
    """Read the RSS, Atom, JSON Feed or sitemap ``body`` fetched from ``base_url``.

    Raises ParseError(``not_a_feed``) for bytes that hold no feed at all (an HTML page, an
    empty body) and ParseError(``parse``) for a feed too broken to give any entry, or a gzip
    body that is broken or inflates beyond GZIP_MAX_BYTES.
    """
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    if not body.strip():
        raise ParseError("not_a_feed", "empty body")
    if body.startswith(_GZIP_MAGIC):
        body = _gunzip(body)
        if not body.strip():
            raise ParseError("not_a_feed", "empty body once inflated")
    if _looks_like_json(body, headers):
        return _parse_json_feed(body, base_url)
    data = _utf8_xml(body, headers)
    root = _root_name(data)
    if root in ("urlset", "sitemapindex"):
        return parse_sitemap(data, base_url)
    if root in ("rss", "feed"):
        feed = parse_fast(data, base_url, headers)
        if feed is not None:
            return feed
    return _parse_with_feedparser(data, body, base_url, headers)
