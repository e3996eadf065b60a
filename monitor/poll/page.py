"""An article page read in a worker thread: robots.txt, the fetch and the pure extraction (in a
child process: ``monitor.poll.extracting``).

``read_page`` is all a worker does for an article; it never raises for an expected failure and
never touches the database. What it read is stored on the round's thread
(``monitor.poll.ingest``, ``monitor.poll.recheck``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from datetime import datetime

from monitor.app import App
from monitor.errors import ExtractError, ExtractorDied, ExtractTimedOut, FetchError
from monitor.extract import Extracted
from monitor.log import log
from storage.articles import Evidence, compress_html

logger = logging.getLogger(__name__)

PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
GONE = {404, 410}
# A robots.txt Crawl-delay is obeyed up to this: longer would park a worker thread for minutes
# per page; such a site is still never fetched faster than this.
MAX_CRAWL_DELAY = 30.0


@dataclass(frozen=True)
class Page:
    """What a worker made of one article URL: an ``error`` (not fetched), ``not_modified``, or
    a page read, with its extraction (whatever its status) and ``why_not`` when it is not an
    article we match and version; with the answer's status and body, the evidence a version
    keeps."""

    url: str
    final_url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    extracted: Extracted | None = None  # any status: its metadata is kept even for a teaser
    why_not: str | None = None  # fetched, but not an article we can match
    error: str | None = None  # not fetched: "kind: message"
    status: int | None = None  # the HTTP status of the answer (of an error, when it had one)
    not_modified: bool = False
    # The page as fetched: its size, and the page gzipped (compress_html) when it is an article
    # whose version keeps it. A round holds every page of a batch until it stores them in
    # order: compressed, about a fifth of the memory (benchmarks/README.md).
    html_size: int | None = None
    html_gz: bytes | None = field(default=None, repr=False)
    # Read from a web archive's capture (monitor.archive): "wayback", and the capture's address,
    # which the version keeps as its final URL, the evidence of where the text was read.
    origin: str | None = None
    archive_url: str | None = None
    seen_at: datetime | None = None  # the capture's time: when the archive saw this text

    def evidence(self, *, keep_html: bool) -> Evidence:
        """What a version found on this page keeps of its fetch."""
        return Evidence(
            http_status=self.status,
            etag=self.etag,
            last_modified=self.last_modified,
            final_url=self.archive_url or self.final_url,
            html_size=self.html_size,
            html_gz=self.html_gz if keep_html else None,
            keep_html=keep_html,
            origin=self.origin,
            seen_at=self.seen_at,
        )

    @property
    def gone(self) -> bool:
        return self.status in GONE

    @property
    def article(self) -> Extracted | None:
        """The extraction, when it is an article to match and version (status ``ok``)."""
        return self.extracted if self.why_not is None else None

    @property
    def article_status(self) -> str:
        """What the article row records: error, ok, too_short, paywalled or not_article."""
        if self.error is not None:
            return "error"
        return self.extracted.status if self.extracted is not None else "not_article"


def read_page(
    app: App,
    url: str,
    outlet: str,
    *,
    now: datetime,
    obey_robots: bool = True,
    etag: str | None = None,
    last_modified: str | None = None,
) -> Page:
    """Robots, fetch, extract: everything about an article that needs no database."""
    crawl_delay = None
    if obey_robots and app.config.fetch.obey_robots:
        verdict = app.robots.allowed(url, now=now)
        if not verdict.allowed:
            return Page(url, error=f"robots: {verdict.reason}")
        crawl_delay = app.robots.crawl_delay(url, now=now)
    try:
        result = app.fetcher.get(
            url,
            etag=etag,
            last_modified=last_modified,
            accept=PAGE_ACCEPT,
            log_fields={"source": outlet, "kind": "article"},
            host_delay=min(crawl_delay, MAX_CRAWL_DELAY) if crawl_delay else None,
        )
    except FetchError as exc:
        return Page(url, error=f"{exc.kind}: {exc.message}", status=exc.status)
    page = Page(
        url,
        final_url=result.url,
        etag=result.headers.get("etag"),
        last_modified=result.headers.get("last-modified"),
        status=result.status,
    )
    if result.not_modified:
        return replace(page, not_modified=True)
    return extract_page(app, page, result.body, result.url)


def extract_page(app: App, page: Page, body: bytes, url: str) -> Page:
    """``page`` with what extraction makes of ``body``, read from ``url``: an article, or why
    not (never raises for a page's own fault)."""
    page = replace(page, html_size=len(body))
    try:
        extracted = app.extractor.extract(body, url, min_words=app.config.poll.min_words)
    except ExtractorDied as exc:
        event = "extract_timed_out" if isinstance(exc, ExtractTimedOut) else "extractor_died"
        log(logger, event, level=logging.ERROR, url=url, error=str(exc))
        return replace(page, error=f"extract: {exc}")
    except ExtractError as exc:
        return replace(page, why_not=str(exc))
    except Exception as exc:
        # A page that crashes the extractor (lxml and trafilatura raise a zoo of errors on
        # hostile markup) is that page's problem, recorded on it; the round goes on.
        log(logger, "extract_crashed", level=logging.ERROR, url=url, error=repr(exc))
        return replace(page, why_not=f"{url}: the extractor failed: {exc!r}")
    if extracted.status != "ok":
        why = f"{url}: {extracted.status}: {extracted.status_reason}"
        return replace(page, extracted=extracted, why_not=why)
    # Compressed here, in parallel (zlib lets go of the GIL), not on the round's thread.
    html_gz = compress_html(body) if app.config.storage.keep_html else None
    return replace(page, extracted=extracted, html_gz=html_gz)
