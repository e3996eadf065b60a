"""A source read in a worker thread: the conditional fetch, the pure parse, and the newest child
sitemaps of a sitemap index. ``read_feed`` never raises for an expected failure and never
touches the database; the round records what it found on its own thread.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass, field

from monitor.app import App
from monitor.errors import FetchError, ParseError
from monitor.fetch.result import FetchResult
from monitor.log import log
from monitor.parse import Feed, FeedEntry, parse_feed
from monitor.poll.query import read_query, source_kind
from storage import queue

logger = logging.getLogger(__name__)

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
# Child sitemaps of a sitemap index read per poll: the newest, where news is.
SITEMAP_CHILDREN = 3


@dataclass
class Polled:
    """A worker's answer for one source: a feed to read, an unchanged body, or an error."""

    result: FetchResult | None = None
    body_sha: str | None = None
    feed: Feed | None = None
    error: FetchError | ParseError | None = None
    entries: list[FeedEntry] = field(default_factory=list)


def read_feed(app: App, source: queue.DueSource, stop: threading.Event | None) -> Polled:
    """Fetch and parse one source (and the newest children of a sitemap index)."""
    try:
        result = app.fetcher.get(
            source.url,
            etag=source.etag,
            last_modified=source.last_modified,
            accept=FEED_ACCEPT,
            log_fields={"source": source.name},
        )
        body_sha = hashlib.sha256(result.body).hexdigest()
        if result.not_modified or body_sha == source.body_sha256:
            return Polled(result=result, body_sha=body_sha)
        kind = source_kind(app, source.url)
        try:
            if kind == "feed":
                feed = parse_feed(result.body, result.url, result.headers)
            else:
                feed = read_query(app, source, kind, result)
        except ParseError as exc:
            # The parser knows bytes, not where they came from: name the feed, as every
            # fetch error does, and keep the status the bytes came with.
            return Polled(result=result, error=ParseError(exc.kind, f"{result.url}: {exc}"))
        entries = list(feed.entries)
        for child in feed.children[:SITEMAP_CHILDREN]:
            if stop is not None and stop.is_set():
                break
            entries.extend(_child_entries(app, source, child))
        return Polled(result=result, body_sha=body_sha, feed=feed, entries=entries)
    except (FetchError, ParseError) as exc:
        return Polled(error=exc)


def _child_entries(app: App, source: queue.DueSource, child: str) -> list[FeedEntry]:
    """The entries of one child sitemap; one that cannot be read is logged and adds none."""
    try:
        child_result = app.fetcher.get(
            child, accept=FEED_ACCEPT, log_fields={"source": source.name}
        )
        return list(parse_feed(child_result.body, child_result.url, child_result.headers).entries)
    except (FetchError, ParseError) as exc:
        # One unreadable child sitemap is logged; the others still count.
        log(
            logger,
            "sitemap_child_error",
            level=logging.WARNING,
            source=source.name,
            url=child,
            error=exc.kind,
            error_message=str(exc),
        )
        return []
