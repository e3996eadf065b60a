"""The daemon's Prometheus metrics, in a registry of its own.

Two kinds: what the process counts as it works (fetches by kind and result, the time to store a
new article, ticks, articles by decision, digest deliveries), kept in memory since the start as
Prometheus counters are; and what the database says at the moment of the scrape (the queue's
depth, failing sources, digests by state), read by ``ArchiveCollector`` then, so several
workers sharing one database all report the same queue, and a restart loses nothing of it.
Process metrics (CPU, memory, open files) come from prometheus_client's own collectors.

A registry of its own rather than prometheus_client's global one: the global registry is shared
by everything imported into the process, and tests start many daemons in one interpreter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError

from monitor.errors import FETCH_ERROR_KINDS
from monitor.poll.report import RoundReport
from storage import digests, queue, schema, sources
from storage.db import Database

PREFIX = "news_monitor"
FETCH_KINDS = ("feed", "article", "robots")
FETCH_RESULTS = ("ok", "not_modified", *FETCH_ERROR_KINDS)
# Storing a new article takes milliseconds (decide, one transaction) to seconds (a large story
# on PostgreSQL under load); the buckets span both.
INGEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
_DECISIONS = {
    "original": "originals",
    "copy": "copies",
    "off_topic": "off_topic",
    "not_article": "not_articles",
    "page_error": "page_errors",
}


class Metrics:
    def __init__(self, db: Database, *, clock: Callable[[], datetime] | None = None) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.fetches = Counter(
            f"{PREFIX}_fetches",
            "HTTP fetches by what was fetched (feed, article, robots) and their result "
            "(ok, not_modified, or the error kind)",
            ["kind", "result"],
            registry=r,
        )
        self.ingest = Histogram(
            f"{PREFIX}_ingest_seconds",
            "Time to store one new article: decide it for every story and record it",
            buckets=INGEST_BUCKETS,
            registry=r,
        )
        self.articles = Counter(
            f"{PREFIX}_articles", "New articles stored, by decision", ["decision"], registry=r
        )
        self.ticks = Counter(
            f"{PREFIX}_ticks", "Scheduler ticks (poll rounds), by result", ["result"], registry=r
        )
        self.last_tick = Gauge(
            f"{PREFIX}_last_tick_end_timestamp_seconds",
            "When the last tick ended (Unix time)",
            registry=r,
        )
        self.deliveries = Counter(
            f"{PREFIX}_digest_deliveries",
            "Digest deliveries attempted by this process, by result (sent, failed)",
            ["result"],
            registry=r,
        )
        for kind in FETCH_KINDS:
            self.fetches.labels(kind, "ok")
        for result in ("ok", "failed"):
            self.ticks.labels(result)
            self.deliveries.labels("sent" if result == "ok" else result)
        r.register(ArchiveCollector(db, clock or (lambda: datetime.now(UTC))))
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)

    def fetched(self, kind: str, result: str) -> None:
        self.fetches.labels(kind if kind in FETCH_KINDS else "other", result).inc()

    def ingested(self, seconds: float) -> None:
        self.ingest.observe(seconds)

    def round_done(self, report: RoundReport | None, *, at: datetime) -> None:
        """A tick ended (``report`` None: it failed)."""
        self.ticks.labels("ok" if report is not None else "failed").inc()
        self.last_tick.set(at.timestamp())
        if report is not None:
            for decision, attribute in _DECISIONS.items():
                self.articles.labels(decision).inc(getattr(report, attribute))

    def delivered(self, sent: int, *, failed: bool = False) -> None:
        self.deliveries.labels("sent").inc(sent)
        if failed:
            self.deliveries.labels("failed").inc()

    def exposition(self) -> tuple[bytes, str]:
        """The scrape's body and content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class ArchiveCollector(Collector):
    """Gauges read from the database at each scrape: one read session, four counts."""

    def __init__(self, db: Database, clock: Callable[[], datetime]) -> None:
        self.db = db
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            f"{PREFIX}_database_up", "1 when the database answered this scrape's queries"
        )
        try:
            if schema.missing_file(self.db.engine) is not None:
                # Connecting would create an empty file in its place.
                raise SQLAlchemyError("no database file")
            with self.db.read() as session:
                depth = queue.depth(session, now=self.clock())
                failing = sources.failing_count(session)
                states = digests.by_state(session)
        except SQLAlchemyError:
            # An unreachable database must not break the scrape: /readyz says why.
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        queued = GaugeMetricFamily(
            f"{PREFIX}_queue_depth",
            "Work waiting now: due sources, due re-checks, digests waiting to be sent",
            labels=["queue"],
        )
        queued.add_metric(["sources"], depth["sources"])
        queued.add_metric(["rechecks"], depth["rechecks"])
        queued.add_metric(["digests"], states["pending"])
        yield queued
        yield GaugeMetricFamily(
            f"{PREFIX}_sources_failing", "Active sources whose last poll failed", value=failing
        )
        by_state = GaugeMetricFamily(
            f"{PREFIX}_digests",
            "Digests in the outbox by state: pending (built, waiting to be sent or retried), "
            "sending, sent, failed (refused for good)",
            labels=["state"],
        )
        for state, n in states.items():
            by_state.add_metric([state], n)
        yield by_state
