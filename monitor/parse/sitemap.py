"""Sitemaps (sitemaps.org 0.9, Google's older 0.84, Google News) and sitemap indexes -> Feed.

Pure: no network, no files, no clock. Part of ``monitor.parse``, which inflates and decodes the
body, sniffs the root element and hands the UTF-8 bytes to ``parse_sitemap``: call
``monitor.parse.parse_feed``, not this module. Sitemaps are read with lxml, with entities,
network and huge trees refused: no sitemap needs a DTD, and an expanded entity or a fetched one
is how an XML document becomes a bomb or a request. Minor breakage (a cut-off tail, a stray "&")
is recovered, with a warning, when lxml still finds URLs.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import urljoin, urlsplit

from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type hints

from monitor.errors import ParseError
from monitor.parse.model import Feed, FeedEntry, root_element
from monitor.urls import normalise_url

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


def parse_sitemap(data: bytes, base_url: str) -> Feed:
    found = root_element(data)
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
