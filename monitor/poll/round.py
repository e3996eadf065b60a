"""One poll round: claim what is due, fetch, parse, extract, match, store.

This module wires the pure stages (parse, extract, match, schedule, diff) to the world (fetch,
storage). A round takes due sources from the database in batches (at most ``poll.per_host`` of
one host in a batch), and for each batch:

1. fetches and parses the feeds in parallel, one host at a time (``monitor.pool``);
2. finds the entries not seen before, on this thread;
3. fetches and extracts their pages in parallel, again one host at a time;
4. stores, decides and versions them on this thread, oldest first, so that within a round an
   original is stored before its copies whichever host answered first;
5. records each source's entries and its next check, last, so that a crash before then leaves
   the source due again with its old validators and nothing is missed.

Then it re-checks the tracked articles that are due, the same way. Every failure of a source or
page is recorded against it and the round goes on; nothing already stored is touched by one.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitor.app import App
from monitor.errors import FetchError, ParseError
from monitor.fetch import pool
from monitor.fetch.client import FetchResult
from monitor.log import log
from monitor.parse import Feed, FeedEntry, parse_feed
from monitor.poll import schedule
from monitor.poll.ingest import (
    Indexes,
    NewArticle,
    Page,
    RoundReport,
    read_page,
    store_new,
    store_recheck,
)
from monitor.urls import normalise_url
from storage import articles, queue, sources
from storage.db import WriteSession

__all__ = ["RoundReport", "poll"]

logger = logging.getLogger(__name__)

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
# Child sitemaps of a sitemap index read per poll: the newest, where news is.
SITEMAP_CHILDREN = 3


def poll(
    app: App, *, now: datetime, everything: bool = False, stop: threading.Event | None = None
) -> RoundReport:
    """Poll every due source, then re-check every due article; ``now`` is the pipeline's clock."""
    report = RoundReport(now=now)
    indexes = Indexes(app)
    cfg = app.config.poll
    lease = timedelta(seconds=app.config.fetch.total_timeout * 4 + 60)
    polled: set[int] = set()  # with everything=True, claims would otherwise come back forever

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
        while not round_.stopped():
            due = queue.claim_articles(app.db, now=now, limit=cfg.batch_size, everything=everything)
            if not due:
                break
            round_.rechecks(due)
            if everything:
                break  # with --all, each tracked article once; the claims moved them on
    report.stopped = round_.stopped()
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
    )
    return report


@dataclass
class _Polled:
    """A worker's answer for one source: a feed to read, an unchanged body, or an error."""

    result: FetchResult | None = None
    body_sha: str | None = None
    feed: Feed | None = None
    error: FetchError | ParseError | None = None
    entries: list[FeedEntry] = field(default_factory=list)


@dataclass
class _Round:
    app: App
    now: datetime
    indexes: Indexes
    report: RoundReport
    executor: Executor
    stop: threading.Event | None

    def stopped(self) -> bool:
        return bool(self.stop and self.stop.is_set())

    # -- sources ---------------------------------------------------------------------------------

    def feeds(self, claim: Callable[[int], list[queue.DueSource]]) -> None:
        """Fetch every due source through a sliding window: claims top the window up as
        fetches finish, so a slow feed holds one worker, never a whole batch; every
        ``batch_size`` answers (or at the end) are handed to ``sources`` on this thread."""
        batch_size = self.app.config.poll.batch_size
        window = max(batch_size, 2 * self.app.config.poll.workers)
        in_flight: dict[Future[_Polled], queue.DueSource] = {}
        ready: list[tuple[queue.DueSource, _Polled]] = []
        exhausted = False
        while not self.stopped():
            # Top up once half the window has drained: a claim is a write transaction, and
            # claiming after every answer made the claims, not the network, the bottleneck.
            if not exhausted and len(in_flight) <= window // 2:
                batch = claim(window - len(in_flight))
                exhausted = not batch
                for source in batch:
                    in_flight[self.executor.submit(self._fetch_source, source)] = source
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

    def sources(self, polled: list[tuple[queue.DueSource, _Polled]]) -> None:
        """Record what the sources' fetches found, then ingest their new entries."""
        fixed = {s.url for s in self.app.config.sources if s.interval is not None}
        feeds: list[tuple[queue.DueSource, _Polled]] = []
        # Failures and unchanged bodies are settled at once, in one transaction for the lot.
        with self.app.db.write() as session:
            for source, outcome in polled:
                self.report.sources_polled += 1
                if outcome.error is not None:
                    status = outcome.result.status if outcome.result else None
                    self._source_failed(session, source, outcome.error, source.url in fixed, status)
                elif outcome.feed is None:
                    self.report.sources_unchanged += 1
                    self._source_ok(session, source, outcome, source.url in fixed, new_items=0)
                else:
                    feeds.append((source, outcome))
        # Which entries are new, and which known ones changed.
        new: dict[str, NewArticle] = {}
        linked: dict[str, int] = {}
        recheck: set[int] = set()
        fresh: dict[int, list[FeedEntry]] = {}
        for source, outcome in feeds:
            fresh[source.id] = self._sort_entries(source, outcome, new, linked, recheck)
        if self.stopped():
            return
        # Pages in parallel; then stored oldest first.
        pages = dict(
            pool.by_host(
                self.executor,
                list(new.values()),
                url=lambda n: n.url,
                work=lambda n: read_page(
                    self.app, n.url, n.source.name, now=self.now, obey_robots=n.source.obey_robots
                ),
                workers=self.app.config.poll.workers,
                ready_at=self.app.fetcher.gate.ready_at,
                stop=self.stop,
            )
        )
        for item in sorted(pages, key=_oldest_first(self.now)):
            if self.stopped():
                return
            linked[item.url] = store_new(
                self.app, item, pages[item], self.now, self.indexes, self.report
            )
        if recheck and not self.stopped():
            self.rechecks(
                queue.claim_articles(
                    self.app.db,
                    now=self.now,
                    limit=len(recheck),
                    everything=True,
                    ids=sorted(recheck),
                )
            )
        if self.stopped():
            return  # unrecorded sources stay claimed until the lease ends, then are due
        with self.app.db.write() as session:
            for source, outcome in feeds:
                new_items = self._record_entries(
                    session, source, outcome.entries, fresh[source.id], linked
                )
                self._source_ok(session, source, outcome, source.url in fixed, new_items=new_items)

    def _fetch_source(self, source: queue.DueSource) -> _Polled:
        """Worker side: fetch and parse one source (and the newest children of a sitemap index)."""
        try:
            result = self.app.fetcher.get(
                source.url,
                etag=source.etag,
                last_modified=source.last_modified,
                accept=FEED_ACCEPT,
                log_fields={"source": source.name},
            )
            body_sha = hashlib.sha256(result.body).hexdigest()
            if result.not_modified or body_sha == source.body_sha256:
                return _Polled(result=result, body_sha=body_sha)
            try:
                feed = parse_feed(result.body, result.url, result.headers)
            except ParseError as exc:
                # The parser knows bytes, not where they came from: name the feed, as every
                # fetch error does, and keep the status the bytes came with.
                return _Polled(result=result, error=ParseError(exc.kind, f"{result.url}: {exc}"))
            entries = list(feed.entries)
            for child in feed.children[:SITEMAP_CHILDREN]:
                if self.stopped():
                    break
                try:
                    child_result = self.app.fetcher.get(
                        child, accept=FEED_ACCEPT, log_fields={"source": source.name}
                    )
                    entries.extend(
                        parse_feed(
                            child_result.body, child_result.url, child_result.headers
                        ).entries
                    )
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
            return _Polled(result=result, body_sha=body_sha, feed=feed, entries=entries)
        except (FetchError, ParseError) as exc:
            return _Polled(error=exc)

    def _sort_entries(
        self,
        source: queue.DueSource,
        outcome: _Polled,
        new: dict[str, NewArticle],
        linked: dict[str, int],
        recheck: set[int],
    ) -> list[FeedEntry]:
        """The source's entries not seen before (the newest ``poll.max_new_entries``); their
        pages join ``new`` unless an article already has the URL (then ``linked``). Known
        entries whose updated date moved put their article in ``recheck``."""
        by_key = {e.key: e for e in outcome.entries}  # a feed may repeat a GUID; the last wins
        with self.app.db.read() as session:
            seen = sources.seen_entries(session, source.id, list(by_key))
            for key, entry in by_key.items():
                old = seen.get(key)
                if (
                    old is not None
                    and old.article_id is not None
                    and old.updated != _updated(entry)
                ):
                    recheck.add(old.article_id)
            unseen = [e for k, e in by_key.items() if k not in seen]
            unseen.sort(key=_oldest_first_entry(self.now), reverse=True)
            fresh = unseen[: self.app.config.poll.max_new_entries]
            for entry in fresh:
                url = normalise_url(entry.url)
                if url in new or url in linked:
                    continue
                article = articles.find_article(session, url)
                if article is not None:
                    linked[url] = article.id
                else:
                    new[url] = NewArticle(url, source, entry)
        self.report.entries_new += len(fresh)
        return fresh

    def _record_entries(
        self,
        session: WriteSession,
        source: queue.DueSource,
        entries: list[FeedEntry],
        fresh: list[FeedEntry],
        linked: dict[str, int],
    ) -> int:
        """Write every entry of the body (new ones with their article); returns how many were
        new. Entries over the ``max_new_entries`` cap stay unrecorded, to be taken next time."""
        fresh_keys = {e.key for e in fresh}
        rows = {  # a feed may repeat a key; the last one wins
            e.key: sources.EntryRow(
                e.key, normalise_url(e.url), e.title, _updated(e), linked.get(normalise_url(e.url))
            )
            for e in entries
        }
        sources.record_entries(
            session, source.id, list(rows.values()), new=fresh_keys, now=self.now
        )
        return len(fresh_keys)

    def _policy(self) -> schedule.Policy:
        cfg = self.app.config.poll
        return schedule.Policy(cfg.min_interval, cfg.max_interval, cfg.max_backoff)

    def _source_ok(
        self,
        session: WriteSession,
        source: queue.DueSource,
        outcome: _Polled,
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
        obey = self._obeying_sources()
        pages = pool.by_host(
            self.executor,
            due,
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
            workers=self.app.config.poll.workers,
            ready_at=self.app.fetcher.gate.ready_at,
            stop=self.stop,
        )
        done: list[tuple[queue.DueArticle, Page]] = list(pages)
        for article, page in sorted(done, key=lambda pair: (pair[0].first_seen_at, pair[0].id)):
            if self.stopped():
                return
            store_recheck(self.app, article, page, self.now, self.indexes, self.report)

    def _obeying_sources(self) -> set[int]:
        with self.app.db.read() as session:
            return sources.sources_obeying_robots(session)


def _dates(entries: list[FeedEntry]) -> tuple[datetime, ...]:
    return tuple(d for d in (e.published_at or e.updated_at for e in entries) if d is not None)


def _updated(entry: FeedEntry) -> str | None:
    return entry.updated_at.isoformat() if entry.updated_at else None


def _oldest_first_entry(now: datetime) -> Callable[[FeedEntry], tuple[bool, datetime, str]]:
    """Sort key: dated entries oldest first, then the undated (as if published ``now``)."""
    return lambda e: (e.published_at is None, e.published_at or now, e.url)


def _oldest_first(now: datetime) -> Callable[[NewArticle], tuple[bool, datetime, str]]:
    entry_key = _oldest_first_entry(now)
    return lambda item: entry_key(item.entry)
