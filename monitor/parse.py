"""Feed bytes -> entries. Pure: no network, no files, no clock.

A source can be RSS, Atom, RDF, JSON Feed, a sitemap, a Google News sitemap or a sitemap index
(a gzipped body is inflated first, up to GZIP_MAX_BYTES). The bytes are decoded once, by
``monitor.charset``, and every XML reader below gets the same UTF-8 text with a prolog that
says so: feedparser never second-guesses the encoding. Titles come out as plain text.

Readers: well-formed RSS 2.0 and Atom 1.0 go through a fast path (lxml, the same values as
feedparser, see the section below); everything else, and anything the fast path doubts, through
feedparser. feedparser is only ever given bytes (``io.BytesIO``) and the response headers:
given a string it may open a local file or fetch a URL itself, with no timeout and no size cap.
JSON Feed, which feedparser 6.0 cannot read, is parsed here from plain JSON. Sitemaps are read
with lxml, with entities, network and huge trees refused.
"""

from __future__ import annotations

import calendar
import contextlib
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
from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type hints

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
_NAME = re.compile(rb"[A-Za-z_][\w.:\-]*")
_END_OF_SUBSET = re.compile(rb"\]\s*>")


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


def _root(data: bytes, window: int = 65536) -> tuple[str, int] | None:
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


def _root_name(data: bytes) -> str | None:
    found = _root(data)
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


# --- sitemaps ----------------------------------------------------------------------------------

_W3C_DATETIME = re.compile(
    r"(\d{4})(?:-(\d{2})(?:-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?"
    r"\s*(Z|z|[+-]\d{2}:?\d{2})?)?)?)?"
)
_NEWS_NS = "google.com/schemas/sitemap-news/"
_CLOSED_SITEMAP = re.compile(rb"</(?:[\w.\-]+:)?(?:urlset|sitemapindex)\s*>\s*\Z")


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


def _sitemap_index(root: etree._Element, ns: str, base_url: str, warning: str | None) -> Feed:
    dated: list[tuple[datetime | None, str]] = []
    for sitemap in root.iterchildren(f"{ns}sitemap"):
        url = _http_url(base_url, _child_text(sitemap, f"{ns}loc"))
        if url:
            dated.append((_w3c_datetime(_child_text(sitemap, f"{ns}lastmod")), url))
    # Newest first, so that a poller short of time reads the sitemaps most likely to be new;
    # the sort is stable, so undated children keep document order, after the dated ones.
    dated.sort(key=lambda d: (d[0] is None, -(d[0].timestamp() if d[0] else 0.0)))
    children = tuple(dict.fromkeys(url for _, url in dated))
    return Feed(None, None, "sitemap", (), warning=warning, kind="sitemap_index", children=children)


def _urlset(root: etree._Element, ns: str, base_url: str, warning: str | None) -> Feed:
    entries = []
    news = any(_NEWS_NS in (uri or "") for uri in root.nsmap.values())
    for element in root.iterchildren(f"{ns}url"):
        url = _http_url(base_url, _child_text(element, f"{ns}loc"))
        if url is None:
            continue
        title = published = None
        for child in element.iterchildren("{*}news"):
            news_ns = etree.QName(child).namespace or ""
            if _NEWS_NS in news_ns:
                news = True
                title = _child_text(child, f"{{{news_ns}}}title")
                published = _w3c_datetime(_child_text(child, f"{{{news_ns}}}publication_date"))
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


def _sitemap_from_root(root: etree._Element, base_url: str, warning: str | None) -> Feed:
    qname = etree.QName(root)
    # Elements are looked up in the root's namespace: the 0.9 one, Google's older 0.84, none.
    ns = f"{{{qname.namespace}}}" if qname.namespace else ""
    reader = _sitemap_index if qname.localname == "sitemapindex" else _urlset
    return reader(root, ns, base_url, warning)


def _parse_sitemap(data: bytes, base_url: str) -> Feed:
    found = _root(data)
    if found and b"<!ENTITY" in data[: found[1]].upper():
        # No sitemap needs entities; unexpanded ones would only leave broken URLs behind.
        raise ParseError("parse", "sitemap declares entities in a DTD")
    try:
        root = _xml_root(data, recover=False)
        warning = None
    except etree.XMLSyntaxError as exc:
        # Recover from minor breakage (a cut-off tail, a stray "&") when lxml still finds URLs.
        root = _xml_root(data, recover=True)
        warning = f"XMLSyntaxError: {exc}"
        if root is None or etree.QName(root).localname not in ("urlset", "sitemapindex"):
            raise ParseError("parse", f"malformed sitemap: {exc}") from exc
        if not _CLOSED_SITEMAP.search(data[-256:]) and len(root):
            root.remove(root[-1])  # cut off: the last <url> may hold half a URL
        feed = _sitemap_from_root(root, base_url, warning)
        if not feed.entries and not feed.children:
            raise ParseError("parse", f"malformed sitemap with no URL: {exc}") from exc
        return feed
    assert root is not None
    return _sitemap_from_root(root, base_url, warning)


# --- feeds -------------------------------------------------------------------------------------


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
_HTML_TYPES = ("text/html", "application/xhtml+xml")


def _plain_title(title: str | None, content_type: str | None) -> str | None:
    """A title as plain text: feedparser hands HTML titles over as HTML (tags, ``&amp;``)."""
    if title is None or content_type not in _HTML_TYPES:
        return title
    return " ".join(html.unescape(_TAG.sub("", title)).split())


def _entry(
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
        title=_plain_title(title, title_type),
        published_at=_struct_to_dt(published),
        updated_at=_struct_to_dt(updated),
    )


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
        entry = _entry(
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
        title=_plain_title(
            parsed.feed.get("title"), parsed.feed.get("title_detail", {}).get("type")
        ),
        link=parsed.feed.get("link"),
        format=parsed.version or "unknown",
        entries=tuple(entries),
        ttl_s=_ttl_seconds(parsed.feed.get("ttl")),
        warning=warning,
    )


# --- the fast path -----------------------------------------------------------------------------
#
# feedparser reads a feed through SAX callbacks in pure Python; most of its time goes on
# elements we never look at. For well-formed RSS 2.0 and Atom 1.0, lxml builds the tree in C
# and the few values we return are computed here exactly as feedparser computes them (same
# element names, same namespace table, same date parser, same clean-up of each value). Anything
# this code does not model, or any doubt, raises _Doubt and feedparser reads the document.
# tests/test_parse.py runs both paths over every corpus file the fast path takes and requires
# the same Feed.

try:  # feedparser's own tables and date parser, so that both paths read alike
    from feedparser.datetimes import _parse_date as _fp_parse_date
    from feedparser.html import _cp1252 as _FP_CP1252
    from feedparser.mixin import _FeedParserMixin as _FPMixin
    from feedparser.urls import ACCEPTABLE_URI_SCHEMES
except ImportError:  # another feedparser layout: every document takes the slow path
    _FPMixin = None

_ATOM = "http://www.w3.org/2005/Atom"
_PUBLISHED = frozenset({"pubdate", "published", "issued", "dcterms_issued"})
_UPDATED = frozenset({"updated", "modified", "lastbuilddate", "dc_date", "dcterms_modified"})
_MODELED = frozenset({"title", "link", "guid", "id"}) | _PUBLISHED | _UPDATED
# Elements whose content feedparser keeps as text or inline markup (see _content_ok).
_CONTENT = frozenset({
    "abstract", "body", "xhtml_body", "content", "content_encoded", "fullitem", "description",
    "summary", "subtitle", "tagline", "rights", "copyright", "info", "feedburner_browserfriendly",
    "itunes_summary", "itunes_subtitle", "media_description", "dc_description", "dc_rights",
})  # fmt: skip
# feedparser handlers read for this list: none of them touches a title, link, id or date, the
# title-depth bookkeeping or the image/text-input/source contexts.
_SAFE = frozenset({
    "author", "contributor", "name", "email", "uri", "url", "homepage", "managingeditor",
    "webmaster", "category", "keywords", "tags", "enclosure", "generator", "cloud", "language",
    "width", "height", "created", "dcterms_created", "expirationdate", "newlocation",
    "cc_license", "creativecommons_license", "dc_author", "dc_contributor", "dc_creator",
    "dc_language", "dc_publisher", "dc_subject", "dcterms_valid", "georss_box", "georss_line",
    "georss_point", "georss_polygon", "georss_where", "georssgeom", "geom", "where",
    "gml_exterior", "gml_linearring", "gml_linestring", "gml_point", "gml_polygon", "gml_pos",
    "gml_poslist", "itunes_author", "itunes_block", "itunes_category", "itunes_email",
    "itunes_explicit", "itunes_image", "itunes_keywords", "itunes_link", "itunes_name",
    "itunes_owner", "media_category", "media_content", "media_credit", "media_group",
    "media_keywords", "media_license", "media_player", "media_rating", "media_restriction",
    "media_thumbnail", "psc_chapter", "psc_chapters",
})  # fmt: skip
# Keys an element without a handler would overwrite in feedparser's result.
_RESERVED = frozenset({"published_parsed", "updated_parsed", "title_detail", "links", "ttl"})
_IMAGE_CHILDREN = frozenset({"title", "link", "description", "url", "width", "height"})
_TEXTINPUT_CHILDREN = frozenset({"title", "link", "description", "name"})
_TEXT_TYPES = {"text": "text/plain", "plain": "text/plain", "html": "text/html"}
_TEXT_TYPES |= {"xhtml": "application/xhtml+xml", "text/plain": "text/plain"}
_TEXT_TYPES |= {"text/html": "text/html", "application/xhtml+xml": "application/xhtml+xml"}
_XMLNS = re.compile(rb"""\sxmlns(?::([\w.\-]+))?\s*=\s*(["'])([^"'<>]*)\2""")
_URIFIXER = re.compile(r"^([A-Za-z][A-Za-z0-9+-.]*://)(/*)(.*?)")
_LINK_ENTITY = re.compile(r"&([A-Za-z0-9_]+);")
_HTMLISH = re.compile(r"</\w+>|&#?\w+;")

if _FPMixin is not None:
    _FP_NAMESPACES = {uri.lower(): prefix.lower() for uri, prefix in _FPMixin.namespaces.items()}
    _FP_PREFIXES = frozenset(_FP_NAMESPACES.values()) - {""}
    _FP_HANDLED = frozenset(
        name.split("_", 2)[2].lower()
        for name in dir(_FPMixin)
        if name.startswith(("_start_", "_end_"))
    )


# (tag, prefix) -> the name feedparser dispatches on, cached for one document.
_Names = dict[tuple[str, str | None], str]


class _Doubt(Exception):
    """Something the fast path does not model: feedparser reads the document."""


def _fp_urljoin(base: str, uri: str) -> str:
    """feedparser.urls._urljoin: extra slashes after the scheme dropped, then urljoin."""
    try:
        return urljoin(base, _URIFIXER.sub(r"\1\3", uri))
    except ValueError:
        return ""


def _fp_finish(value: str) -> str:
    """The last steps of feedparser's pop(): UTF-8 read as Latin-1 repaired, C1 mapped."""
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        value = value.encode("iso-8859-1").decode("utf-8")
    return value.translate(_FP_CP1252)


def _fp_name(element: etree._Element, names: _Names) -> str:
    """The name feedparser dispatches on: known namespaces get its prefix, others the document's."""
    key = (element.tag, element.prefix)
    name = names.get(key)
    if name is None:
        tag = element.tag
        uri, _, local = tag[1:].partition("}") if tag[0] == "{" else ("", "", tag)
        uri = uri.lower()
        if "backend.userland.com/rss" in uri:
            uri = "http://backend.userland.com/rss"
        prefix = _FP_NAMESPACES.get(uri)
        if prefix is None:
            prefix = (element.prefix or "").lower()
        name = names[key] = f"{prefix}_{local.lower()}" if prefix else local.lower()
    return name


def _fp_attrs(element: etree._Element) -> dict[str, str]:
    """Attributes as feedparser sees them: lower-cased names, rel and type values lower-cased."""
    attrs = {}
    for key, value in element.attrib.items():
        if key[0] == "{":
            uri, _, local = key[1:].partition("}")
            prefix = _FP_NAMESPACES.get(uri.lower(), "")
            key = f"{prefix}:{local}" if prefix else local
        key = key.lower()
        attrs[key] = value.lower() if key in ("rel", "type") else value
    return attrs


def _leaf_text(element: etree._Element) -> str:
    if len(element):  # child elements, comments or PIs: feedparser joins text around them
        raise _Doubt
    return (element.text or "").strip()


def _namespaces_ok(data: bytes) -> bool:
    """No namespace declaration that would make feedparser name elements unlike _fp_name."""
    bound: dict[str, str] = {}
    for match in _XMLNS.finditer(data):
        prefix = (match.group(1) or b"").decode("ascii", "replace").lower()
        uri = match.group(3).decode("utf-8", "replace").strip().lower()
        if prefix and bound.setdefault(prefix, uri) != uri:
            return False  # a prefix bound to two namespaces (the default one may change freely)
        if uri in ("http://purl.org/rss/1.0/", "http://my.netscape.com/rdf/simple/0.9/"):
            return False  # these set feedparser's version to rss10 or rss090
        known = _FP_NAMESPACES.get(uri)
        if known is None and uri in (u for p, u in bound.items() if p != prefix):
            return False  # an unknown namespace under two prefixes
        if known is not None and prefix in _FP_PREFIXES and prefix != known:
            return False  # feedparser's prefix map would rename this prefix's elements
    return True


@dataclass
class _Links:
    """feedparser's ``link`` key of one context: set by a link, or by a permalink GUID if unset."""

    value: str | None = None
    present: bool = False

    def element(self, element: etree._Element, base: str, *, entry: bool) -> None:
        attrs = _fp_attrs(element)
        base = _rebase(base, attrs)
        rel = attrs.setdefault("rel", "alternate")
        kind = attrs.get("type", "application/atom+xml" if rel == "self" else "text/html")
        href = attrs.get("url", attrs.get("uri", attrs.get("href")))
        if href:
            attrs["href"] = href
        if "href" in attrs:  # even empty: feedparser then links to the base URI
            if len(element):
                raise _Doubt
            if rel == "alternate" and _TEXT_TYPES.get(kind, kind) in _HTML_TYPES:
                self.value, self.present = _fp_urljoin(base, attrs["href"]), True
            return
        text = _leaf_text(element)
        value = _fp_finish(_fp_urljoin(base, text) if text else text)
        if entry:
            value = value.replace("&amp;", "&")
        self.value, self.present = _LINK_ENTITY.sub(r"&\g<1>", value), True

    def guid(self, value: str) -> None:
        if not self.present:
            self.value, self.present = value, True


def _guid(element: etree._Element, base: str) -> tuple[str, bool]:
    """A GUID or Atom id as feedparser stores it, and whether it is a permalink."""
    attrs = _fp_attrs(element)
    permalink = attrs.get("ispermalink", "true") == "true"
    value = _leaf_text(element)
    if permalink and value:
        value = _fp_urljoin(_rebase(base, attrs), value)
    return _fp_finish(value), permalink


def _title(element: etree._Element, *, atom: bool) -> tuple[str, str]:
    """A title as feedparser stores it, with the content type it records for it."""
    attrs = _fp_attrs(element)
    if set(attrs) - {"type", "xml:lang"} or (not atom and "type" in attrs):
        raise _Doubt
    kind = _TEXT_TYPES.get(attrs.get("type", "text/plain"))
    if kind is None or kind == "application/xhtml+xml":
        raise _Doubt  # base64, XML or XHTML: feedparser re-escapes or decodes the text
    value = _leaf_text(element)
    if not atom and _HTMLISH.search(value) and _FPMixin.looks_like_html(value):
        kind = "text/html"
    return _fp_finish(value), kind


def _content_ok(element: etree._Element) -> None:
    """Markup inside XHTML content is only text to feedparser; any other nesting is a doubt.

    Elements inside content of an XML type are dispatched like feed elements, and a ``<div>``
    inside HTML-typed content unbalances feedparser's depth and base-URI stacks.
    """
    if len(element):
        kind = _fp_attrs(element).get("type", "")
        if _TEXT_TYPES.get(kind, kind) != "application/xhtml+xml":
            raise _Doubt


def _walk(element: etree._Element, names: _Names, *, in_source: bool = False) -> bool:
    """Check the children of an element we ignore; True if a media:title is among them."""
    media_title = False
    for child in element:
        if not isinstance(child.tag, str):
            continue
        name = _fp_name(child, names)
        if name == "media_title":
            media_title = True
        elif name in _CONTENT:
            _content_ok(child)
        elif name in _RESERVED or (name in _MODELED and not in_source):
            raise _Doubt
        elif name in _SAFE or name not in _FP_HANDLED or (in_source and name in _MODELED):
            media_title |= _walk(child, names, in_source=in_source)
        else:
            raise _Doubt
    return media_title


def _fast_entry(
    item: etree._Element, base: str, base_url: str, names: _Names, *, atom: bool
) -> FeedEntry | None:
    attrs = _fp_attrs(item)
    if set(attrs) - {"xml:lang", "xml:base", "base"}:
        raise _Doubt  # rdf:about, href and lastmod attributes set the id, link or date
    base = _rebase(base, attrs)
    links = _Links()
    title = title_type = guid = None
    published = updated = None
    titles = guids = 0
    media_title = has_source = False
    for child in item:
        if not isinstance(child.tag, str):
            continue
        name = _fp_name(child, names)
        if name == "title":
            titles += 1
            title, title_type = _title(child, atom=atom)
        elif name == "link":
            links.element(child, base, entry=True)
        elif name in ("guid", "id"):
            guids += 1
            guid, permalink = _guid(child, base)
            if permalink:
                links.guid(guid)
        elif name in _PUBLISHED:
            published = _fp_parse_date(_fp_finish(_leaf_text(child)))
        elif name in _UPDATED:
            updated = _fp_parse_date(_fp_finish(_leaf_text(child)))
        elif name == "media_title":
            media_title = True
        elif name in _CONTENT:
            _content_ok(child)
        elif name == "source":
            has_source = True
            media_title |= _walk(child, names, in_source=True)
        elif name in _RESERVED or name in ("image", "textinput"):
            raise _Doubt
        elif name in _SAFE or name not in _FP_HANDLED:
            media_title |= _walk(child, names)
        else:
            raise _Doubt
    # feedparser keeps the first non-empty title per entry; a media:title counts only without
    # one, and a <source> resets that bookkeeping.
    if titles > 1 or guids > 1 or (media_title and (not title or has_source)):
        raise _Doubt
    return _entry(links.value, guid, title, title_type, published, updated, base_url)


def _fast_feed(container: etree._Element, base: str, base_url: str, *, atom: bool) -> Feed:
    names: _Names = {}
    base = _rebase(base, _fp_attrs(container))
    item_name = "entry" if atom else "item"
    links = _Links()
    title = title_type = ttl = None
    titles = ids = 0
    entries = []
    for child in container:
        if not isinstance(child.tag, str):
            continue
        name = _fp_name(child, names)
        if name == item_name:
            entry = _fast_entry(child, base, base_url, names, atom=atom)
            if entry is not None:
                entries.append(entry)
        elif name == "title":
            titles += 1
            title, title_type = _title(child, atom=atom)
        elif name == "link":
            links.element(child, base, entry=False)
        elif name in ("guid", "id"):
            ids += 1
            value, permalink = _guid(child, base)
            if permalink:
                links.guid(value)
        elif name == "ttl":
            if child.attrib:
                raise _Doubt
            ttl = _fp_finish(_leaf_text(child))
        elif name in _PUBLISHED or name in _UPDATED:
            _leaf_text(child)
        elif name in ("image", "textinput"):
            allowed = _IMAGE_CHILDREN if name == "image" else _TEXTINPUT_CHILDREN
            for part in child:
                if isinstance(part.tag, str) and _fp_name(part, names) not in allowed:
                    raise _Doubt  # feedparser would leave the image context early
                _leaf_text(part)
        elif name in _CONTENT:
            _content_ok(child)
        elif name in _RESERVED or name in _MODELED or name == "media_title":
            raise _Doubt
        elif name in _SAFE or name not in _FP_HANDLED:
            if _walk(child, names):
                raise _Doubt
        else:
            raise _Doubt
    if titles > 1 or ids > 1:
        raise _Doubt
    return Feed(
        title=_plain_title(title, title_type),
        link=links.value,
        format="atom10" if atom else "rss20",
        entries=tuple(entries),
        ttl_s=_ttl_seconds(ttl),
    )


def _rebase(base: str, attrs: Mapping[str, str]) -> str:
    """The base URI inside an element: its xml:base (or base) applied as feedparser does."""
    value = attrs.get("xml:base", attrs.get("base"))
    if not value:
        return base
    joined = _fp_urljoin(base, value)
    return joined if joined.strip().split(":", 1)[0] in ACCEPTABLE_URI_SCHEMES else base


def _fp_base(base_url: str, headers: Mapping[str, str]) -> str:
    """The base URI feedparser settles on: Content-Location, else the feed's URL."""
    base = headers.get("content-location") or base_url
    joined = _fp_urljoin(base, base)
    return joined if joined.strip().split(":", 1)[0] in ACCEPTABLE_URI_SCHEMES else base


def _parse_fast(data: bytes, base_url: str, headers: Mapping[str, str]) -> Feed | None:
    """Well-formed RSS 2.0 or Atom 1.0 read with lxml; None when feedparser must decide."""
    if _FPMixin is None or not _namespaces_ok(data):
        return None
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return None
    info = root.getroottree().docinfo
    if parser.error_log or info.doctype or info.xml_version != "1.0":
        return None
    base = _fp_base(base_url, headers)
    try:
        if root.tag == "rss" and root.get("version", "").startswith("2."):
            channels = [c for c in root if isinstance(c.tag, str)]
            if len(channels) != 1 or channels[0].tag != "channel":
                return None
            if set(_fp_attrs(channels[0])) - {"xml:lang", "xml:base", "base"}:
                return None  # href and lastmod set the feed's link and date
            return _fast_feed(channels[0], _rebase(base, _fp_attrs(root)), base_url, atom=False)
        if root.tag == f"{{{_ATOM}}}feed":
            return _fast_feed(root, base, base_url, atom=True)
    except _Doubt:
        return None
    return None


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
        return _parse_sitemap(data, base_url)
    if root in ("rss", "feed"):
        feed = _parse_fast(data, base_url, headers)
        if feed is not None:
            return feed
    return _parse_with_feedparser(data, body, base_url, headers)
