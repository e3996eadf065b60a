"""A past story rebuilt from web archives: ``monitor story backfill SLUG --since --until --from
wayback|gdelt``.

``wayback``: the Wayback Machine's captures of every feed or sitemap the story follows, within
the window (CDX, one per distinct content), read oldest first across sources, each as the feed
it was and its entries ingested as a poll at the capture's time would have (``stories.past``).
``gdelt``: GDELT's article lists for the story's GDELT query sources, a day at a time over the
window, each article ingested at the time GDELT first saw it. Then, with ``versions``, each
article of the story gets its past versions from its captures (``stories.captures``).

Every request to an archive goes through ``archive.client`` (politeness, budget, resume), and
every page through the round's own stages.
"""

from __future__ import annotations

import itertools
import logging
import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from monitor.app import App, StoryRef
from monitor.archive import cdx, news
from monitor.archive.client import ArchiveClient, Progress
from monitor.config.reach import gdelt_query
from monitor.errors import ArchiveStop, NotFoundError, ParseError
from monitor.log import log
from monitor.parse import FeedEntry, parse_feed
from monitor.poll.feed import FEED_ACCEPT
from monitor.poll.indexes import Indexes
from monitor.poll.query import outlet_for
from monitor.stories.captures import past_versions
from monitor.stories.past import Listed, Past, due_source, ingest_listed
from storage import queue
from storage import sources as stored_sources

logger = logging.getLogger(__name__)

SOURCES = ("wayback", "gdelt")
GDELT_STEP = timedelta(days=1)


def backfill_archive(
    app: App,
    story: StoryRef,
    *,
    since: datetime,
    until: datetime,
    origin: str,
    client: ArchiveClient | None = None,
    versions: bool = True,
    now: datetime | None = None,
) -> Past:
    """Rebuild ``story`` over ``since``..``until`` from ``origin`` (``wayback`` or ``gdelt``),
    then, with ``versions``, its articles' past versions and their outlets' pages as they are
    ``now`` (the command's clock). Stops early (``Past.stopped``) when the request budget is
    spent or an archive asks too long a wait: run it again to go on."""
    client = client or ArchiveClient(app)
    now = now or datetime.now(UTC)
    past = Past()
    indexes = Indexes(app)
    try:
        if origin == "gdelt":
            _from_gdelt(app, client, story, since, until, indexes, past)
        else:
            _from_wayback(app, client, story, since, until, indexes, past)
        if versions:
            past.versions, past.live = past_versions(
                app, client, story, indexes, past.report, now=now
            )
    except ArchiveStop as exc:
        past.stopped = str(exc)
        log(logger, "backfill_stopped", level=logging.WARNING, story=story.slug, reason=str(exc))
    return past


def _story_sources(app: App, story: StoryRef, kinds: set[str]) -> list[queue.DueSource]:
    """The stored sources of the configured kinds the story follows."""
    wanted = {
        s.url
        for s in app.config.sources
        if s.kind in kinds and (story.sources is None or s.name in story.sources)
    }
    with app.db.read() as session:
        rows = stored_sources.all_sources(session)
    return [due_source(row) for row in rows if row.url in wanted and row.active]


def _from_wayback(
    app: App,
    client: ArchiveClient,
    story: StoryRef,
    since: datetime,
    until: datetime,
    indexes: Indexes,
    past: Past,
) -> None:
    """Every capture of the story's feeds in the window, oldest first, ingested."""
    base = app.config.reach.wayback_url
    captures: list[tuple[cdx.Capture, queue.DueSource]] = []
    for source in _story_sources(app, story, {"feed"}):
        listing = client.get(
            cdx.cdx_url(base, source.url, since=since, until=until),
            accept="application/json",
            check=cdx.parse_cdx,
        )
        if listing is None or listing.status != 200:
            past.unreadable += 1
            continue
        captures += [(c, source) for c in cdx.parse_cdx(listing.body) if since <= c.at <= until]
    captures.sort(key=lambda pair: (pair[0].at, pair[1].id))
    progress = Progress(client, "feeds", len(captures))
    # Captures made at the same second are read as one round at that time would read them.
    for when, group in itertools.groupby(captures, key=lambda pair: pair[0].at):
        listed: Listed = []
        for capture, source in group:
            entries = _captured_feed(app, client, capture, past)
            progress.step()
            if entries is not None:
                listed.append((source, entries))
        if listed:
            ingest_listed(app, client, listed, now=when, indexes=indexes, past=past)


def _captured_feed(
    app: App, client: ArchiveClient, capture: cdx.Capture, past: Past
) -> list[FeedEntry] | None:
    """The entries of one captured feed, or None when the capture cannot be read as one."""
    answer = client.get(cdx.capture_url(app.config.reach.wayback_url, capture), accept=FEED_ACCEPT)
    if answer is None or answer.status != 200:
        past.unreadable += 1
        return None
    try:
        feed = parse_feed(cdx.strip_banner(answer.body), capture.original, {})
    except ParseError as exc:
        past.unreadable += 1
        log(logger, "capture_unreadable", url=answer.final_url, error=str(exc))
        return None
    past.listings += 1
    return list(feed.entries)


def _from_gdelt(
    app: App,
    client: ArchiveClient,
    story: StoryRef,
    since: datetime,
    until: datetime,
    indexes: Indexes,
    past: Past,
) -> None:
    """GDELT's article lists for the story's GDELT query sources, a day at a time; each
    article ingested at the time GDELT saw it."""
    configured = {s.url: s for s in app.config.sources if s.kind == "gdelt"}
    found = _story_sources(app, story, {"gdelt"})
    if not found:
        raise NotFoundError(
            f"story {story.slug}: no GDELT query source to backfill from "
            f"(add one: monitor story sources {story.slug} --add-queries)"
        )
    days = max(1, math.ceil((until - since) / GDELT_STEP))
    progress = Progress(client, "gdelt", days * len(found))
    for source in found:
        query = configured[source.url]
        start = since
        while start <= until:
            end = min(start + GDELT_STEP, until)
            url = _gdelt_url(app, gdelt_query(query.query or "", query.language), start, end)
            answer = client.get(url, accept="application/json", check=news.gdelt_articles)
            progress.step()
            start = end + timedelta(seconds=1)
            if answer is None or answer.status != 200:
                past.unreadable += 1
                continue
            past.listings += 1
            entries = news.gdelt_articles(answer.body)
            for entry in sorted(entries, key=lambda e: (e.published_at or end, e.url)):
                named = replace(entry, outlet=outlet_for(app, entry.url, entry.outlet))
                when = entry.published_at or end
                listed: Listed = [(source, [named])]
                ingest_listed(app, client, listed, now=when, indexes=indexes, past=past)


def _gdelt_url(app: App, query: str, start: datetime, end: datetime) -> str:
    from urllib.parse import urlencode

    params = {
        "query": query,
        "mode": "artlist",
        "format": "json",
        "maxrecords": "250",
        "sort": "dateasc",
        "startdatetime": news.gdelt_stamp(start),
        "enddatetime": news.gdelt_stamp(end),
    }
    return f"{app.config.reach.gdelt_url}?{urlencode(params)}"
