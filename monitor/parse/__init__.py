"""Parse: feed and sitemap bytes -> entries. Pure: bytes, base URL and headers in, a ``Feed``
out; never a URL or a path (feedparser given a string may fetch or open it itself).

``feeds`` dispatches (JSON Feed, the lxml fast path in ``fast``, feedparser, sitemaps in
``sitemap``); ``model`` holds ``Feed`` and ``FeedEntry``; ``charset`` decodes the bytes.
"""

from monitor.parse.feeds import parse_feed
from monitor.parse.model import Feed, FeedEntry

__all__ = ["Feed", "FeedEntry", "parse_feed"]
