"""What a backfill from the web archives shares: the entries a past listing named (a captured
feed, a GDELT article list) ingested as a poll at that time would have ingested them, and an
article's text as published: read from its capture nearest publication, dated at the capture's
time, or, when the archive has none, from the outlet.

Everything goes through the round's own stages: ``EntryPlan`` (entries seen before, URLs
stored), ``read_page`` (robots, the guarded fetch, extraction), ``store_new`` (the decision of
every story in one transaction) and the source's entries recorded last, each with ``now`` set
to the listing's time, so the decisions and the timeline see the clock they would have seen.
The source's own schedule and validators are left as the live polls left them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from monitor.app import App
from monitor.archive import cdx
from monitor.archive.client import ArchiveClient
from monitor.log import log
from monitor.parse import FeedEntry
from monitor.poll.indexes import Indexes
from monitor.poll.ingest import NewArticle, store_new
from monitor.poll.page import PAGE_ACCEPT, Page, extract_page, read_page
from monitor.poll.plan import EntryPlan, entry_rows, oldest_first
from monitor.poll.report import RoundReport
from storage import queue, sources

if TYPE_CHECKING:
    from storage.models import Source

logger = logging.getLogger(__name__)

WAYBACK = "wayback"
# Captures of an article tried, nearest the publication first, before reading its outlet.
CAPTURES_TRIED = 3


_NO_TIME = datetime.min.replace(tzinfo=UTC)  # a backfill's report spans many clocks


@dataclass
class Past:
    """What a backfill from the archives did."""

    listings: int = 0  # captured feeds or article lists read
    unreadable: int = 0  # listings that could not be read
    from_captures: int = 0  # first versions read from a capture (the outlet's when none)
    versions: int = 0  # past versions recorded from captures
    live: int = 0  # versions recorded from the outlets' pages as they are now
    stopped: str | None = None  # why the run stopped early (budget, a long wait)
    report: RoundReport = field(
        default_factory=lambda: RoundReport(now=datetime.min.replace(tzinfo=UTC))
    )


def due_source(row: Source) -> queue.DueSource:
    """A stored source as the round's stages take it."""
    return queue.DueSource(
        id=row.id,
        url=row.url,
        name=row.name,
        interval_s=row.interval_s,
        etag=None,
        last_modified=None,
        body_sha256=None,
        error_count=0,
        obey_robots=row.obey_robots,
    )


Listed = list[tuple[queue.DueSource, list[FeedEntry]]]


def ingest_listed(
    app: App,
    client: ArchiveClient,
    listed: Listed,
    *,
    now: datetime,
    indexes: Indexes,
    past: Past,
) -> None:
    """Ingest the entries listings of sources named at ``now``, as one round at ``now`` would
    have (see the module docstring): planned together, stored oldest first across them."""
    plan = EntryPlan()
    with app.db.read() as session:
        for source, entries in listed:
            plan.add_source(
                session, source, entries, max_new=app.config.poll.max_new_entries, now=now
            )
    pages = {item: past_page(app, client, item, now, past) for item in plan.new.values()}
    stored: dict[str, int] = {}
    for item in sorted(pages, key=oldest_first(now)):
        stored[item.url] = store_new(app, item, pages[item], now, indexes, past.report)
    with app.db.write() as session:
        for source, entries in listed:
            sources.record_entries(
                session,
                source.id,
                entry_rows(entries, plan.linked | stored),
                new={e.key for e in plan.fresh[source.id]},
                now=now,
            )


def past_page(app: App, client: ArchiveClient, item: NewArticle, now: datetime, past: Past) -> Page:
    """The article's text as published: from its capture nearest the publication (see
    ``from_capture``), dated at the capture's time; when the archive has none, from its outlet
    at the listing's time ``now``. Today's page is read last (``stories.captures``): read here,
    today's text would be dated in the past and every earlier capture shut out."""
    captured = from_capture(app, client, item.url, item.entry.published_at or now)
    if captured is not None:
        past.from_captures += 1
        log(logger, "read_from_capture", url=item.url, capture=captured.archive_url)
        return captured
    return read_page(app, item.url, item.source.name, now=now, obey_robots=item.source.obey_robots)


def captures_of(app: App, client: ArchiveClient, url: str) -> list[cdx.Capture]:
    """Every capture of ``url`` that answered 200, one per distinct content."""
    base = app.config.reach.wayback_url
    listing = client.get(
        cdx.cdx_url(base, url),
        accept="application/json",
        check=cdx.parse_cdx,
    )
    if listing is None or listing.status != 200:
        return []
    return cdx.parse_cdx(listing.body)


def from_capture(app: App, client: ArchiveClient, url: str, when: datetime) -> Page | None:
    """The article read from its first capture at or after ``when``, else its nearest before
    (the next when one is no article: an error page the archive kept); None when none is."""
    for capture in cdx.from_time(captures_of(app, client, url), when)[:CAPTURES_TRIED]:
        page = read_capture(app, client, url, capture)
        if page is not None and page.article is not None:
            return page
    return None


def read_capture(app: App, client: ArchiveClient, url: str, capture: cdx.Capture) -> Page | None:
    """One capture of the article at ``url`` read as its page (banner cut should it have one);
    None when the archive did not answer with it."""
    address = cdx.capture_url(app.config.reach.wayback_url, capture)
    answer = client.get(address, accept=PAGE_ACCEPT)
    if answer is None or answer.status != 200:
        return None
    page = Page(
        url,
        final_url=url,
        status=200,
        origin=WAYBACK,
        archive_url=answer.final_url,
        seen_at=capture.at,
    )
    return extract_page(app, page, cdx.strip_banner(answer.body), url)


def with_time(entry: FeedEntry, when: datetime | None) -> FeedEntry:
    return replace(entry, published_at=entry.published_at or when)
