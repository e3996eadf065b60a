"""One poll round: claim what is due, fetch, parse, extract, match, store.

This module wires the pure stages (parse, extract, match, schedule, diff) to the world (fetch,
storage). A round takes due sources from the database in batches (at most ``poll.per_host`` of
one host in a batch), and for each batch:

1. fetches and parses the feeds in parallel, one host at a time (``monitor.poll.feed``);
2. finds the entries not seen before, on this thread;
3. fetches and extracts their pages in parallel, again one host at a time (the extraction in
   child processes, ``monitor.poll.extracting``);
4. stores, decides and versions them on this thread, oldest first, so that within a round an
   original is stored before its copies whichever host answered first: each as soon as it and
   the older ones are read, while the workers read the rest (on one core, after the batch);
5. records each source's entries and its next check, last, so that a crash before then leaves
   the source due again with its old validators and nothing is missed.

Then it re-checks the tracked articles that are due, the same way. Every failure of a source or
page is recorded against it and the round goes on; nothing already stored is touched by one.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Generator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TypeVar

from monitor import crash
from monitor.app import App
from monitor.errors import FetchError, ParseError
from monitor.fetch import pool
from monitor.log import log
from monitor.parse import FeedEntry
from monitor.poll import schedule
from monitor.poll.extracting import usable_cores
from monitor.poll.feed import Polled, read_feed
from monitor.poll.indexes import Indexes
from monitor.poll.ingest import NewArticle, store_new
from monitor.poll.page import Page, read_page
from monitor.poll.plan import EntryPlan, entry_rows, oldest_first
from monitor.poll.recheck import store_recheck
from monitor.poll.report import RoundReport
from storage import queue, sources
from storage.db import WriteSession

__all__ = ["RoundReport", "poll"]

Item = TypeVar("Item")

logger = logging.getLogger(__name__)


def poll(
    app: App, *, now: datetime, everything: bool = False, stop: threading.Event | None = None
) -> RoundReport:
    """Poll every due source, then re-check every due article; ``now`` is the pipeline's clock."""
    report = RoundReport(now=now)
    indexes = Indexes(app)
    cfg = app.config.poll
    lease = timedelta(seconds=app.config.fetch.total_timeout * 4 + 60)
    # Every source claimed: with everything=True, claims would otherwise come back forever;
    # and what a stopped round did not record is released.
    polled: set[int] = set()

    def claim(limit: int) -> list[queue.DueSource]:
        batch = queue.claim_sources(
            app.db,
            now=now,
            limit=limit,
            lease=lease,
            everything=everything,
            # Only --all needs it: otherwise a polled source is no longer due.
            exclude=polled if everything else None,
            per_host=cfg.per_host,
        )
        polled.update(source.id for source in batch)
        return batch

    with ThreadPoolExecutor(cfg.workers, thread_name_prefix="monitor-fetch") as executor:
        round_ = _Round(app, now, indexes, report, executor, stop)
        round_.feeds(claim)
        _recheck_due(round_, everything=everything)
    report.stopped = round_.stopped()
    released = _release(app, now, polled, now + lease, round_.claimed_articles)
    log(
        logger,
        "round",
        now=now.isoformat(),
        polled=report.sources_polled,
        failed=report.sources_failed,
        new=report.articles_new,
        originals=report.originals,
        copies=report.copies,
        off_topic=report.off_topic,
        updates=report.updates,
        removed=report.removed,
        released=released,
    )
    return report


def _release(
    app: App, now: datetime, sources: set[int], source_until: datetime, articles: set[int]
) -> int:
    """Whatever the round claimed and did not record (it was stopped) is due again for the next
    worker now, not at the end of its lease: a restart right after SIGTERM would poll nothing."""
    return queue.release(
        app.db,
        sources=sources,
        source_until=source_until,
        articles=articles,
        article_until=now + queue.ARTICLE_LEASE,
        now=now,
    )


def _recheck_due(round_: _Round, *, everything: bool) -> None:
    """Re-check the due articles, a batch at a time. With ``everything`` (``--all``), every
    tracked article once, in id order (a re-checked article is claimable again at once); one
    this round stored or re-checked was read at ``now``."""
    after = 0 if everything else None
    while not round_.stopped():
        due = queue.claim_articles(
            round_.app.db,
            now=round_.now,
            limit=round_.app.config.poll.batch_size,
            everything=everything,
            exclude=round_.read_articles if everything else (),
            after=after,
        )
        if not due:
            return
        round_.rechecks(due)
        if after is not None:
            after = max(article.id for article in due)


@dataclass
class _Round:
    app: App
    now: datetime
    indexes: Indexes
    report: RoundReport
    executor: Executor
    stop: threading.Event | None
    # Sources with a configured interval: their schedule learns nothing from their entries.
    fixed: set[str] = field(init=False)
    # Every article this round claimed for a re-check (released at the end if unrecorded).
    claimed_articles: set[int] = field(default_factory=set)
    # Every article this round stored from a feed's new entry.
    stored_articles: set[int] = field(default_factory=set)
    # Whether pages are stored while the rest of their lot is read. On two cores that reads a
    # lot 8.5 % sooner (wall) for 10 % more CPU (three busy processes share two cores); on one
    # it costs 5 % more CPU for nothing, so there the lot is read first, then stored
    # (benchmarks/ingest.py; benchmarks/README.md).
    _overlap: bool = field(init=False)

    def __post_init__(self) -> None:
        self.fixed = {s.url for s in self.app.config.sources if s.interval is not None}
        self._overlap = usable_cores() > 1

    @property
    def read_articles(self) -> set[int]:
        """The articles whose pages this round has read: stored or re-checked."""
        return self.claimed_articles | self.stored_articles

    def stopped(self) -> bool:
        return bool(self.stop and self.stop.is_set())

    # -- sources ---------------------------------------------------------------------------------

    def feeds(self, claim: Callable[[int], list[queue.DueSource]]) -> None:
        """Fetch every due source through a sliding window: claims top the window up as
        fetches finish, so a slow feed holds one worker, never a whole batch; every
        ``batch_size`` answers (or at the end) are handed to ``sources`` on this thread."""
        batch_size = self.app.config.poll.batch_size
        window = max(batch_size, 2 * self.app.config.poll.workers)
        in_flight: dict[Future[Polled], queue.DueSource] = {}
        ready: list[tuple[queue.DueSource, Polled]] = []
        exhausted = False
        while not self.stopped():
            # Top up once half the window has drained: a claim is a write transaction, and
            # claiming after every answer made the claims, not the network, the bottleneck.
            if not exhausted and len(in_flight) <= window // 2:
                batch = claim(window - len(in_flight))
                exhausted = not batch
                for source in batch:
                    future = self.executor.submit(read_feed, self.app, source, self.stop)
                    in_flight[future] = source
            if not in_flight and not ready:
                break
            if in_flight:
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                ready.extend((in_flight.pop(f), f.result()) for f in done)
            if len(ready) >= batch_size or (exhausted and not in_flight):
                self.sources(ready)
                ready = []
        for future in in_flight:  # stopped: what has not started never will
            future.cancel()

    def sources(self, polled: list[tuple[queue.DueSource, Polled]]) -> None:
        """Record what the sources' fetches found, then ingest their new entries: failures
        and unchanged bodies at once, then the entries planned, their pages fetched and
        stored, the articles the feeds updated re-checked, and each source's entries and next
        check last."""
        feeds = self._settle(polled)
        plan = self._plan(feeds)
        if self.stopped():
            return
        stored = self._store_pages(plan.new)
        if plan.recheck and not self.stopped():
            self._recheck_listed(plan.recheck)
        if self.stopped():
            return  # unrecorded sources are released at the end of the round, then are due
        crash.point("round.feeds")
        self._record_feeds(feeds, plan, plan.linked | stored)

    def _settle(
        self, polled: list[tuple[queue.DueSource, Polled]]
    ) -> list[tuple[queue.DueSource, Polled]]:
        """Record failures and unchanged bodies, in one transaction for the lot; returns the
        sources that sent a feed to read."""
        feeds: list[tuple[queue.DueSource, Polled]] = []
        with self.app.db.write() as session:
            for source, outcome in polled:
                self.report.sources_polled += 1
                fixed = source.url in self.fixed
                if outcome.error is not None:
                    status = outcome.result.status if outcome.result else None
                    self._source_failed(session, source, outcome.error, fixed, status)
                elif outcome.feed is None:
                    self.report.sources_unchanged += 1
                    self._source_ok(session, source, outcome, fixed, new_items=0)
                else:
                    feeds.append((source, outcome))
        return feeds

    def _plan(self, feeds: list[tuple[queue.DueSource, Polled]]) -> EntryPlan:
        """Which entries are new, which name a stored article, which articles to re-check:
        one read per source."""
        plan = EntryPlan()
        max_new = self.app.config.poll.max_new_entries
        for source, outcome in feeds:
            with self.app.db.read() as session:
                fresh = plan.add_source(
                    session, source, outcome.entries, max_new=max_new, now=self.now
                )
            self.report.entries_new += fresh
        return plan

    def _store_pages(self, new: dict[str, NewArticle]) -> dict[str, int]:
        """Fetch the new entries' pages in parallel and store them oldest first (by their
        entries' dates, known before the fetch). On more than one core, each is stored as soon
        as it and the older ones are read: this thread stores while the workers and the
        extraction processes read the rest (``_overlap``). Returns the article stored under
        each URL (those stored before the round stopped)."""
        order = sorted(new.values(), key=oldest_first(self.now))
        pages = self._read_in_order(
            order,
            url=lambda n: n.url,
            work=lambda n: read_page(
                self.app, n.url, n.source.name, now=self.now, obey_robots=n.source.obey_robots
            ),
        )
        stored: dict[str, int] = {}
        with contextlib.closing(pages):
            for item, page in pages:
                started = time.monotonic()
                stored[item.url] = store_new(
                    self.app, item, page, self.now, self.indexes, self.report
                )
                self.stored_articles.add(stored[item.url])
                if self.app.on_ingest is not None:
                    self.app.on_ingest(time.monotonic() - started)
        return stored

    def _read_in_order(
        self, order: list[Item], *, url: Callable[[Item], str], work: Callable[[Item], Page]
    ) -> Generator[tuple[Item, Page], None, None]:
        """Each item of ``order`` with its page (``work`` in the worker threads), in that
        order, once it and those before it are read (on one core, the whole lot: ``_overlap``);
        none once stopped. Closed early, the workers stop after the page in hand."""
        pages = pool.by_host(
            self.executor,
            order,
            url=url,
            work=work,
            workers=self.app.config.poll.workers,
            ready_at=self.app.fetcher.gate.ready_at,
            stop=self.stop,
        )
        with contextlib.closing(pages):
            for item, page in pool.in_order(pages, order, hold=not self._overlap):
                if self.stopped():
                    return
                yield item, page

    def _recheck_listed(self, ids: set[int]) -> None:
        """Re-check now the stored articles a feed listed as updated (those another process
        has not claimed)."""
        self.rechecks(
            queue.claim_articles(
                self.app.db, now=self.now, limit=len(ids), everything=True, ids=sorted(ids)
            )
        )

    def _record_feeds(
        self,
        feeds: list[tuple[queue.DueSource, Polled]],
        plan: EntryPlan,
        linked: dict[str, int],
    ) -> None:
        """Each source's entries (new ones with their article) and its next check, in one
        transaction. Entries over the ``max_new_entries`` cap stay unrecorded, to be taken
        next time."""
        with self.app.db.write() as session:
            for source, outcome in feeds:
                fresh_keys = {e.key for e in plan.fresh[source.id]}
                sources.record_entries(
                    session,
                    source.id,
                    entry_rows(outcome.entries, linked),
                    new=fresh_keys,
                    now=self.now,
                )
                new_items = len(fresh_keys)
                fixed = source.url in self.fixed
                self._source_ok(session, source, outcome, fixed, new_items=new_items)

    def _policy(self) -> schedule.Policy:
        cfg = self.app.config.poll
        return schedule.Policy(cfg.min_interval, cfg.max_interval, cfg.max_backoff)

    def _source_ok(
        self,
        session: WriteSession,
        source: queue.DueSource,
        outcome: Polled,
        fixed: bool,
        *,
        new_items: int,
    ) -> None:
        result = outcome.result
        assert result is not None
        feed = outcome.feed
        plan = schedule.next_check(
            source.interval_s,
            None if fixed else source.learned_interval_s,
            schedule.Outcome(
                headers=result.headers,
                ttl=feed.ttl_s if feed else None,
                dates=() if fixed else _dates(outcome.entries),
            ),
            now=self.now,
            policy=self._policy(),
        )
        sources.record_source_ok(
            session,
            source.id,
            now=self.now,
            status=result.status,
            etag=result.headers.get("etag"),
            last_modified=result.headers.get("last-modified"),
            body_sha256=outcome.body_sha,
            new_items=new_items,
            next_check_at=plan.at,
            next_check_reason=plan.reason,
            learned_interval_s=plan.learned_interval,
            format=feed.format if feed else None,
        )

    def _source_failed(
        self,
        session: WriteSession,
        source: queue.DueSource,
        exc: FetchError | ParseError,
        fixed: bool,
        status: int | None = None,
    ) -> None:
        self.report.sources_failed += 1
        # Errors name the URL that failed; after a redirect that is not the source's own.
        message = str(exc) if str(exc).startswith(source.url) else f"{source.url}: {exc}"
        self.report.errors.append(message)
        plan = schedule.next_check(
            source.interval_s,
            None if fixed else source.learned_interval_s,
            schedule.Outcome(
                error_count=source.error_count + 1,
                retry_after=exc.retry_delay(self.now) if isinstance(exc, FetchError) else None,
            ),
            now=self.now,
            policy=self._policy(),
        )
        count = sources.record_source_error(
            session,
            source.id,
            now=self.now,
            kind=exc.kind,
            message=message,
            status=exc.status if isinstance(exc, FetchError) else status,
            next_check_at=plan.at,
            next_check_reason=plan.reason,
        )
        log(
            logger,
            "source_error",
            level=logging.WARNING,
            source=source.name,
            url=source.url,
            error=exc.kind,
            error_message=message,
            consecutive=count,
            next_check=plan.at.isoformat(),
        )

    # -- articles due for a re-check ---------------------------------------------------------------

    def rechecks(self, due: list[queue.DueArticle]) -> None:
        self.claimed_articles.update(a.id for a in due)
        obey = self._obeying_sources()
        order = sorted(due, key=lambda a: (a.first_seen_at, a.id))
        pages = self._read_in_order(
            order,
            url=lambda a: a.url,
            work=lambda a: read_page(
                self.app,
                a.url,
                a.outlet,
                now=self.now,
                obey_robots=a.source_id is None or a.source_id in obey,
                etag=a.etag,
                last_modified=a.last_modified,
            ),
        )
        with contextlib.closing(pages):
            for article, page in pages:
                store_recheck(self.app, article, page, self.now, self.indexes, self.report)

    def _obeying_sources(self) -> set[int]:
        with self.app.db.read() as session:
            return sources.sources_obeying_robots(session)


def _dates(entries: list[FeedEntry]) -> tuple[datetime, ...]:
    return tuple(d for d in (e.published_at or e.updated_at for e in entries) if d is not None)
