"""Feed bytes -> entries. Pure: no network, no files, no clock.

What a source can be: RSS, Atom, RDF and JSON Feed, a sitemap, a Google News sitemap or a
sitemap index. The bytes are decoded once, by ``monitor.charset`` (BOM, HTTP charset, prolog,
then the bytes), and every XML reader below gets the same UTF-8 text with a prolog that says
so: feedparser never second-guesses the encoding.

feedparser is only ever given bytes (``io.BytesIO``) and the response headers: given a string it
may open a local file or fetch a URL itself, with no timeout and no size cap. JSON Feed, which
feedparser 6.0 cannot read, is parsed here from plain JSON. Sitemaps are read with lxml, with
entities, network and huge trees refused.
"""

from __future__ import annotations

import calendar
import html
import io
import json
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import feedparser
from lxml import etree

from monitor import charset
from monitor.errors import ParseError
from monitor.urls import normalise_url


@dataclass(frozen=True)
class FeedEntry:
    key: str  # the GUID, else the normalised link: what makes an entry "seen before"
    url: str
    title: str | None
    published_at: datetime | None
    updated_at: datetime | None


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


# Bozo flags that say nothing about the feed itself: a missing or generic Content-Type, or a
# charset declared in one place and found in another. The entries are fine.
_BENIGN = (feedparser.NonXMLContentType, feedparser.CharacterEncodingOverride)

# A sitemap may hold 50,000 URLs in 50 MiB (sitemaps.org); beyond that a .gz is a bomb.
GZIP_MAX_BYTES = 50 * 1024 * 1024
_GZIP_MAGIC = b"\x1f\x8b"

_PROLOG = re.compile(r"\A<\?xml[^>]*?\?>")
_PROLOG_ENCODING = re.compile(r"""(\sencoding\s*=\s*)(["'])[^"']*\2""")
# The first element of a document, past the prolog, comments, PIs and a DOCTYPE.
_ROOT = re.compile(
    rb"""\A(?:\s+|<\?.*?\?>|<!--.*?-->|<!DOCTYPE(?:[^>\[]|\[.*?\])*>)*<([A-Za-z_][\w.:\-]*)""",
    re.DOTALL | re.IGNORECASE,
)


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


def _gunzip(body: bytes) -> bytes:
    """A body still gzipped (a ``.xml.gz`` served without Content-Encoding), inflated."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, GZIP_MAX_BYTES + 1)
    except zlib.error as exc:
        raise ParseError("parse", f"broken gzip body: {exc}") from exc
    if len(data) > GZIP_MAX_BYTES:
        raise ParseError("parse", f"gzip body inflates beyond {GZIP_MAX_BYTES} bytes")
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
    """The local name of the document's first element, lower-cased."""
    match = _ROOT.match(data, 0, 65536)
    return match.group(1).decode("ascii", "replace").rpartition(":")[2].lower() if match else None


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
            )
        )
    version = "json11" if str(data["version"]).rstrip("/").endswith("1.1") else "json1"
    return Feed(
        title=data.get("title"),
        link=data.get("home_page_url"),
        format=version,
        entries=tuple(entries),
    )


# --- sitemaps ----------------------------------------------------------------------------------

_W3C_DATETIME = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"\s*(Z|z|[+-]\d{2}:?\d{2})?)?)?)?"
)
_NEWS_NS = "google.com/schemas/sitemap-news/"


def _w3c_datetime(value: str | None) -> datetime | None:
    """A W3C datetime (an ISO 8601 profile) as an aware datetime; a bare date is midnight UTC.

    A time without an offset is taken as UTC: the profile requires one, sitemaps often lack it.
    """
    match = _W3C_DATETIME.fullmatch((value or "").strip())
    if not match:
        return None
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    tz = UTC
    if offset and offset not in "Zz":
        digits = offset[1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + int(digits[2:])
        if minutes >= 24 * 60:
            return None
        tz = timezone(timedelta(minutes=-minutes if offset[0] == "-" else minutes))
    try:
        return datetime(
            int(year),
            int(month or 1),
            int(day or 1),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0")[:6].ljust(6, "0")),
            tzinfo=tz,
        )
    except ValueError:
        return None


def _xml_root(data: bytes, *, recover: bool) -> etree._Element | None:
    # No entity expansion (billion laughs), no DTD or entity fetched, no multi-GB text nodes.
    parser = etree.XMLParser(
        recover=recover, resolve_entities=False, no_network=True, huge_tree=False
    )
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        if recover:
            return None
        raise


def _child_text(element: etree._Element, tag: str) -> str | None:
    child = element.find(tag)
    if child is None:
        return None
    text = "".join(child.itertext()).strip()
    return text or None


def _http_url(base_url: str, loc: str | None) -> str | None:
    if not loc:
        return None
    url = urljoin(base_url, loc)
    return url if urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc else None


def _sitemap_from_root(root: etree._Element, base_url: str, warning: str | None) -> Feed:
    namespace = etree.QName(root).namespace
    ns = f"{{{namespace}}}" if namespace else ""
    if etree.QName(root).localname == "sitemapindex":
        dated: list[tuple[datetime | None, str]] = []
        for sitemap in root.iterchildren(f"{ns}sitemap"):
            url = _http_url(base_url, _child_text(sitemap, f"{ns}loc"))
            if url:
                dated.append((_w3c_datetime(_child_text(sitemap, f"{ns}lastmod")), url))
        # Stable sort: undated children keep document order, after the dated ones.
        dated.sort(key=lambda d: (d[0] is None, -(d[0].timestamp() if d[0] else 0.0)))
        children = tuple(dict.fromkeys(url for _, url in dated))
        return Feed(None, None, "sitemap", (), warning=warning, kind="sitemap_index",
                    children=children)  # fmt: skip
    entries = []
    news = any(_NEWS_NS in (uri or "") for uri in root.nsmap.values())
    for element in root.iterchildren(f"{ns}url"):
        url = _http_url(base_url, _child_text(element, f"{ns}loc"))
        if url is None:
            continue
        title = published = None
        for child in element.iterchildren("{*}news"):
            if _NEWS_NS not in (etree.QName(child).namespace or ""):
                continue
            news = True
            child_ns = f"{{{etree.QName(child).namespace}}}"
            title = _child_text(child, f"{child_ns}title")
            published = _w3c_datetime(_child_text(child, f"{child_ns}publication_date"))
        entries.append(
            FeedEntry(
                key=normalise_url(url),
                url=url,
                title=title,
                published_at=published,
                updated_at=_w3c_datetime(_child_text(element, f"{ns}lastmod")),
            )
        )
    kind = "news_sitemap" if news else "sitemap"
    return Feed(None, None, "sitemap", tuple(entries), warning=warning, kind=kind)


def _parse_sitemap(data: bytes, base_url: str) -> Feed:
    try:
        root = _xml_root(data, recover=False)
        warning = None
    except etree.XMLSyntaxError as exc:
        # Recover from minor breakage (a cut-off tail, a stray "&") when lxml still finds URLs.
        root = _xml_root(data, recover=True)
        warning = f"XMLSyntaxError: {exc}"
        if root is None or etree.QName(root).localname not in ("urlset", "sitemapindex"):
            raise ParseError("parse", f"malformed sitemap: {exc}") from exc
        feed = _sitemap_from_root(root, base_url, warning)
        if not feed.entries and not feed.children:
            raise ParseError("parse", f"malformed sitemap with no URL: {exc}") from exc
        return feed
    assert root is not None
    return _sitemap_from_root(root, base_url, warning)


# --- feeds -------------------------------------------------------------------------------------


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


_TAG = re.compile(r"<(script|style)\b.*?</\1\s*>|<!--.*?-->|<[^>]*>", re.DOTALL | re.IGNORECASE)
_HTML_TYPES = ("text/html", "application/xhtml+xml")


def _plain_title(title: str | None, content_type: str | None) -> str | None:
    """A title as plain text: feedparser hands HTML titles over as HTML (tags, ``&amp;``)."""
    if title is None or content_type not in _HTML_TYPES:
        return title
    return " ".join(html.unescape(_TAG.sub("", title)).split())


def _ttl_seconds(ttl: Any) -> float | None:
    if ttl and str(ttl).strip().isdigit():
        return int(str(ttl).strip()) * 60.0
    return None


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
        url = _entry_url(item, base_url)
        if url is None:
            continue
        key = item.get("id") or normalise_url(url)
        entries.append(
            FeedEntry(
                key=key,
                url=url,
                title=_plain_title(item.get("title"), item.get("title_detail", {}).get("type")),
                published_at=_struct_to_dt(item.get("published_parsed")),
                # dict.get: FeedParserDict.get("updated_parsed") falls back to the published
                # date (with a DeprecationWarning): every RSS item would look updated.
                updated_at=_struct_to_dt(dict.get(item, "updated_parsed")),
            )
        )
    return Feed(
        title=parsed.feed.get("title"),
        link=parsed.feed.get("link"),
        format=parsed.version or "unknown",
        entries=tuple(entries),
        ttl_s=_ttl_seconds(parsed.feed.get("ttl")),
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
    if _root_name(data) in ("urlset", "sitemapindex"):
        return _parse_sitemap(data, base_url)
    return _parse_with_feedparser(data, body, base_url, headers)
