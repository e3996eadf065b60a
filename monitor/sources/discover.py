"""Feed discovery in an HTML page. Pure: bytes and the page's URL in, feed URLs out.

A page advertises its feeds with ``<link rel="alternate" type="application/rss+xml" href=...>``
(or Atom, JSON Feed, RDF). When it advertises nothing, ``COMMON_PATHS`` are the places feeds
usually live on a site; ``monitor.sources.find_feed`` tries them on the page's origin.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

# Where CMSs put their feeds (WordPress, Ghost, Hugo, Jekyll, Blogger) and news sitemaps.
COMMON_PATHS = (
    "/feed",
    "/rss",
    "/rss.xml",
    "/feed.xml",
    "/atom.xml",
    "/index.xml",
    "/feeds/posts/default",
    "/news-sitemap.xml",
    "/sitemap_news.xml",
)

_FEED_TYPES = frozenset({
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/rdf+xml",
    "text/xml",
})  # fmt: skip
# application/json is also what WordPress announces for its REST API (/wp-json/...), with a
# title on recent versions; only a feed-looking href outside that API counts.
_JSON = "application/json"
_NOT_FEEDS = ("/wp-json/", "oembed")

_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.I)


def _decode(html: bytes) -> str:
    """The page as text: UTF-8 (or its BOM) when it is, else the charset a <meta> declares."""
    if html.startswith(b"\xef\xbb\xbf"):
        return html[3:].decode("utf-8", errors="replace")
    try:
        return html.decode("utf-8")
    except UnicodeDecodeError:
        pass
    match = _CHARSET.search(html[:8192])
    if match:
        try:
            return html.decode(match.group(1).decode("ascii"), errors="replace")
        except LookupError:
            pass
    return html.decode("cp1252", errors="replace")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "base" and self.base is None:
            href = dict(attrs).get("href")
            if href and href.strip():
                self.base = href.strip()
        elif tag == "link":
            href = _feed_href(dict(attrs))
            if href:
                self.hrefs.append(href)

    handle_startendtag = handle_starttag


def _feed_href(attrs: dict[str, str | None]) -> str | None:
    rel = (attrs.get("rel") or "").lower().split()
    href = (attrs.get("href") or "").strip()
    kind = (attrs.get("type") or "").split(";")[0].strip().lower()
    if "alternate" not in rel or not href:
        return None
    if kind in _FEED_TYPES:
        return href
    if kind == _JSON:
        lowered = href.lower()
        if any(marker in lowered for marker in _NOT_FEEDS):
            return None
        if (attrs.get("title") or "").strip() or "feed" in lowered:
            return href
    return None


def feed_links(html: bytes, base_url: str) -> list[str]:
    """The feeds ``html`` (fetched from ``base_url``) advertises: absolute http(s) URLs in
    document order, each once, resolved against the page's ``<base href>`` when it has one."""
    parser = _Links()
    parser.feed(_decode(html))
    parser.close()
    # The first <base href> is the document's base for every URL in it, even earlier ones.
    base = urljoin(base_url, parser.base) if parser.base else base_url
    out: list[str] = []
    for href in parser.hrefs:
        url = urljoin(base, href).split("#", 1)[0]
        if urlsplit(url).scheme in ("http", "https") and url not in out:
            out.append(url)
    return out


def common_urls(page_url: str) -> list[str]:
    """``COMMON_PATHS`` on the origin (scheme, host and port) of ``page_url``."""
    parts = urlsplit(page_url)
    origin = f"{parts.scheme}://{parts.netloc}"
    return [origin + path for path in COMMON_PATHS]
