"""A query source's answer read into entries named after their outlets (in the worker thread,
like ``monitor.poll.feed``).

- Google News search RSS: each new item's link is a redirect address on the service; it is
  followed through the guarded client up to the first hop that leaves the service (the outlet's
  page itself is fetched once, later, as any article). Items seen before keep their link: a
  poll asks nothing for them (which items those are is one read of the source's entries).
- Bing News search RSS: the outlet's URL is in the link's ``url`` parameter.
- GDELT's article list (JSON).

The outlet of an article is the ``[[source]]`` feed on its domain, else the outlet the service
names for the item, else the domain: never the service.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from urllib.parse import urlsplit

from monitor.app import App
from monitor.archive import news
from monitor.errors import FetchError
from monitor.fetch.result import FetchResult
from monitor.log import log
from monitor.parse import Feed, FeedEntry, parse_feed
from monitor.urls import domain_of
from storage import queue, sources

logger = logging.getLogger(__name__)


def source_kind(app: App, url: str) -> str:
    """The configured kind of the source at ``url`` (``feed`` for one no longer configured)."""
    for source in app.config.sources:
        if source.url == url:
            return source.kind
    return "feed"


def read_query(app: App, source: queue.DueSource, kind: str, result: FetchResult) -> Feed:
    """The answer of a query source as a feed whose entries link to the outlets."""
    if kind == "gdelt":
        entries = news.gdelt_articles(result.body)
        feed = Feed(None, None, "gdelt", tuple(entries))
    else:
        feed = parse_feed(result.body, result.url, result.headers)
        entries = news.with_outlets(feed.entries, news.item_outlets(result.body))
        if kind == "bing_news":
            entries = [replace(e, url=news.bing_target(e.url)) for e in entries]
        else:
            entries = _resolved(app, source, entries)
    named = [replace(e, outlet=outlet_for(app, e.url, e.outlet)) for e in entries]
    return replace(feed, entries=tuple(named))


def outlet_for(app: App, url: str, named: str | None) -> str:
    """The outlet of an article a query source found (see the module docstring)."""
    domain = domain_of(url)
    feeds = [s.name for s in app.config.sources if s.kind == "feed" and domain_of(s.url) == domain]
    if named is not None and named in feeds:
        return named
    if len(feeds) == 1:
        return feeds[0]
    return named or (feeds[0] if feeds else domain)


def _resolved(app: App, source: queue.DueSource, entries: list[FeedEntry]) -> list[FeedEntry]:
    """Google News items with their redirect links resolved to the outlet's URL; those seen
    before keep theirs, and one that cannot be resolved is left out (logged) for next time."""
    with app.db.read() as session:
        seen = sources.seen_entries(session, source.id, [e.key for e in entries])
    service = urlsplit(source.url).netloc
    out = []
    for entry in entries:
        if entry.key in seen or urlsplit(entry.url).netloc != service:
            out.append(entry)
            continue
        try:
            hop = app.fetcher.get(
                entry.url,
                accept="text/html",
                log_fields={"source": source.name, "kind": "redirect"},
                stop_at=lambda url: urlsplit(url).netloc != service,
            )
        except FetchError as exc:
            log(logger, "redirect_failed", level=logging.WARNING, url=entry.url, error=str(exc))
            continue
        if urlsplit(hop.url).netloc == service:
            log(logger, "redirect_missing", level=logging.WARNING, url=entry.url)
            continue
        out.append(replace(entry, url=hop.url))
    return out
