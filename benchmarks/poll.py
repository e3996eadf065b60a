"""Poller speed: one full poll cycle over many local feeds, beside a bare client making the same
requests.

Run: ``.venv/bin/python benchmarks/poll.py [--sources N] [--workers N] [--seed N]
[--per-host-delay S] [--trace-sources N] [--quiet]``

Everything runs in one process. A ThreadingHTTPServer on 127.0.0.1 serves N RSS 2.0 feeds
(default 2,000), each under its own host name (``f0001.bench.test:PORT``; the monitor is opened
with ``resolver=lambda host, port: ["127.0.0.1"]``, so its per-host limits see N hosts), and the
article pages of ../shared/data/article_extraction_benchmark (read in place, gunzipped in
memory). The monitor is opened with ``open_app`` on a temporary SQLite file and polled with
``poll`` at a ``now`` at which every source is due:

1. a warm-up round (not measured) stores every feed's ETag, Last-Modified and its 30 entries.
   In the warm-up bodies every item links to one shared page, so the warm-up fetches and
   extracts one page instead of 30 per feed; the entries are known by their GUIDs, which do
   not change, so the measured cycle sees them as old whatever their link.
2. the measured cycle, 20 minutes later on the pipeline's clock (sources poll every 15
   minutes): 80 % of the feeds answer 304 to the conditional GET, 18 % return the feed with
   1 to 3 new items (their pages are fetched, after the host's robots.txt, extracted, matched
   against the roxham-road story of ``seeds/`` and stored), 1 % answer after 2 s, 0.5 % with
   HTTP 500, 0.5 % reset the connection. The server records every request it receives.
3. the measured cycle's requests (URL, Accept, Accept-Encoding, User-Agent, If-None-Match,
   If-Modified-Since) replayed, in the order received, with the cycle's worker count
   (``poll.workers``) through a ThreadPoolExecutor: once through the monitor's own
   ``Fetcher.get`` alone, once through a bare ``httpx.Client`` (no parsing, no extraction, no
   database, no per-host limit or delay, no address guard).
4. the quiet cycle, 40 minutes after the warm-up: every source is due again (the failed ones
   backed off 15 minutes), no article re-check is due, and every feed answers 304 to its
   conditional GET except the same slow (2 s), HTTP 500 and reset ones: pure polling (claims,
   fetches, schedule and state writes; no entry, page or article). Its requests are replayed
   the same two ways; the quiet cycle's sources per second over the bare client's is the
   polling ratio of the issue's goal (at least 0.7).
5. a third cycle of the measured mix (new items again) under tracemalloc, for the peak of
   Python allocations, stopped (``poll``'s ``stop`` event) after ``--trace-sources`` sources
   (default 250: answers are handed over alike, 50 at a time, and tracemalloc slows the code
   it watches about threefold); it is not timed.
6. ``monitor.parse.parse_feed`` against ``feedparser.parse(io.BytesIO(body))`` with
   feedparser's defaults, on the feed bodies served with 200 in the measured cycle.

The cycle's time is split by wrapping, for timing only, functions the pipeline looks up by
name (``monitor.fetch.pool.by_host``, ``parse_feed``, ``extract``, ``store_new``,
``storage.queue.claim_sources``, ``_Round.feeds`` and ``_Round.sources``); the per-request
network time is the ``duration_ms`` of the monitor's own ``fetch`` log lines. Nothing in the
monitor is changed.

The article pages have their ``<link rel=canonical>`` and ``og:url`` removed: 181 pages are
served under about 720 URLs, and with the canonical URL kept, every repeat would be taken for
the same article and neither stored nor matched, which no real round does at that rate.

Ratios of requests per second, monitor over bare client, each on the same requests: the quiet
cycle (the polling ratio, goal 0.7); ``Fetcher.get`` alone (the network layer, like with like,
on either cycle's requests); and the whole measured cycle (which also extracts, matches and
stores; no goal). The feeds of the measured cycle have no ratio of their own: the round
fetches them through a sliding window while its main thread handles earlier answers, so no
stretch of the cycle does their requests and nothing else; the time the main thread waited on
that window is shown, without a ratio.

The per-host delay is 0 by default (the configuration's default is 1 s) so that the figures
measure the machinery rather than the politeness wait; ``--per-host-delay 1`` shows that cost.
The server's handlers report their CPU time: about 0.2 ms a request, under a tenth of the
bare replay's wall time, so ThreadingHTTPServer is not what limits either client.
This script is never part of the test run.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import gzip
import hashlib
import io
import json
import logging
import os
import platform
import random
import re
import resource
import socket
import statistics
import struct
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

import feedparser  # noqa: E402
import httpx  # noqa: E402

import monitor.fetch.pool  # noqa: E402
import monitor.poll.feed  # noqa: E402
import monitor.poll.page  # noqa: E402
import monitor.poll.round  # noqa: E402
import storage.queue  # noqa: E402
from benchmarks.report import table, versions  # noqa: E402
from monitor import config as configmod  # noqa: E402
from monitor import log as logmod  # noqa: E402
from monitor.app import App, open_app  # noqa: E402
from monitor.errors import FetchError  # noqa: E402
from monitor.fetch.client import Fetcher  # noqa: E402
from monitor.parse import parse_feed  # noqa: E402
from monitor.poll.round import RoundReport, poll  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "article_extraction_benchmark"
SEEDS = ROOT / "seeds" / "roxham-road"
DOMAIN = "bench.test"
ITEMS = 30
INTERVAL = "15m"
# The pipeline's clock, by generation of the feeds: warm-up, measured cycle (every 15-minute
# source due, no article re-check due before an hour), traced cycle (at +75 the sources that
# failed twice, backing off 15 then 30 minutes, are due again; the articles of +20 are not).
T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
CLOCK = {0: T0, 1: T0 + timedelta(minutes=20), 2: T0 + timedelta(minutes=75)}
# The quiet cycle serves generation 1 again: every source is due (checked at +20, failed ones
# backed off 15 minutes), their stored validators match, and the one article of the warm-up is
# not due for a re-check before +60.
QUIET_AT = T0 + timedelta(minutes=40)
SLOW_S = 2.0
ROBOTS = b"User-agent: *\nDisallow: /private/\n"
KEYWORDS = ["Roxham", "Safe Third Country Agreement", "asylum seekers", "irregular crossing"]

# Share of feeds per behaviour in the measured cycle; the rest answer 304.
MIX = {"new": 0.18, "slow": 0.01, "http_500": 0.005, "reset": 0.005}


def progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- the data -----------------------------------------------------------------------------------

_CANONICAL = re.compile(
    rb"<link\b[^>]*\brel\s*=\s*[\"']?canonical\b[^>]*>"
    rb"|<meta\b[^>]*\bproperty\s*=\s*[\"']?og:url\b[^>]*>",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Corpus:
    pages: list[bytes]  # article HTML, canonical URL tags removed
    words: list[list[str]]  # the ground-truth texts, for item titles and descriptions


def load_corpus() -> Corpus:
    truth = json.loads((DATA / "ground-truth.json").read_text(encoding="utf-8"))
    pages, words = [], []
    for key in sorted(truth):
        path = DATA / "html" / f"{key}.html.gz"
        raw = gzip.decompress(path.read_bytes()) if path.exists() else b""
        if not raw:
            raw = (DATA / "html" / f"{key}.html").read_bytes()
        pages.append(_CANONICAL.sub(b"", raw))
        text = truth[key]["articleBody"].split()
        words.append(text if len(text) > 80 else text + ["news"] * 80)
    return Corpus(pages, words)


@dataclass(frozen=True)
class FeedPlan:
    index: int
    behaviour: str  # unchanged | new | slow | http_500 | reset
    new_items: int  # per measured generation, for "new"


def make_plan(n: int, rng: random.Random) -> list[FeedPlan]:
    counts = {name: max(1, round(n * share)) for name, share in MIX.items()}
    behaviours = [name for name, count in counts.items() for _ in range(count)]
    behaviours += ["unchanged"] * (n - len(behaviours))
    rng.shuffle(behaviours)
    return [
        FeedPlan(i, b, rng.randint(1, 3) if b == "new" else 0) for i, b in enumerate(behaviours)
    ]


@dataclass(frozen=True)
class Body:
    raw: bytes
    gz: bytes  # served when the client accepts gzip; empty: never compressed
    etag: str  # empty: no validators
    last_modified: str
    content_type: str


def _body(raw: bytes, tag: str, when: datetime, content_type: str) -> Body:
    etag = f'"{tag}-{hashlib.sha1(raw).hexdigest()[:12]}"'
    return Body(raw, gzip.compress(raw, 6), etag, format_datetime(when, usegmt=True), content_type)


RSS_TYPE = "application/rss+xml; charset=utf-8"
ROBOTS_BODY = Body(ROBOTS, b"", "", "", "text/plain")


class Feeds:
    """Every feed's bodies: the warm-up body (generation 0) and, for the feeds that publish,
    one body per measured generation."""

    def __init__(self, plan: list[FeedPlan], corpus: Corpus, port: int, seed: int) -> None:
        self.plan, self.corpus, self.port, self.seed = plan, corpus, port, seed
        self.width = max(4, len(str(len(plan) - 1)))
        self.bodies: dict[tuple[int, int], Body] = {}
        for feed in plan:
            self.bodies[feed.index, 0] = self._build(feed, 0)
            if feed.behaviour == "new":
                for generation in (1, 2):
                    self.bodies[feed.index, generation] = self._build(feed, generation)

    def host(self, i: int) -> str:
        return f"f{i:0{self.width}d}.{DOMAIN}:{self.port}"

    def feed_url(self, i: int) -> str:
        return f"http://{self.host(i)}/f/{i}/feed.xml"

    def shared_url(self) -> str:
        return f"http://shared.{DOMAIN}:{self.port}/shared.html"

    def page_of(self, i: int, k: int) -> int:
        return (i * 13 + k * 7 + self.seed) % len(self.corpus.pages)

    def _item(self, i: int, k: int, link: str, published: datetime) -> str:
        words = self.corpus.words[(i * 31 + k * 11 + self.seed) % len(self.corpus.words)]
        start = (k * 5) % max(1, len(words) - 80)
        title = " ".join(words[start : start + 9 + k % 5]).rstrip(",;:")
        description = " ".join(words[start + 15 : start + 75])
        return (
            "<item>"
            f"<title>{escape(title)}</title>"
            f"<link>{escape(link)}</link>"
            f'<guid isPermaLink="false">bench-{i}-{k}</guid>'
            f"<pubDate>{format_datetime(published, usegmt=True)}</pubDate>"
            f"<dc:creator>Staff {k % 7}</dc:creator>"
            f"<category>{'World' if k % 2 else 'Politics'}</category>"
            f"<description>{escape(f'<p>{description}</p>')}</description>"
            "</item>"
        )

    def _build(self, feed: FeedPlan, generation: int) -> Body:
        i, when = feed.index, CLOCK[generation]
        # (k, published); old items every 47 minutes before T0, new ones a minute apart.
        items = [(k, T0 - timedelta(minutes=47 * (ITEMS - k))) for k in range(ITEMS)]
        for g in range(1, generation + 1):
            first = ITEMS + (g - 1) * feed.new_items
            items += [
                (first + j, CLOCK[g] - timedelta(minutes=feed.new_items - j))
                for j in range(feed.new_items)
            ]
        items = sorted(items, reverse=True)[:ITEMS]
        base = f"http://{self.host(i)}"
        xml = "".join(
            self._item(
                i, k, self.shared_url() if generation == 0 else f"{base}/f/{i}/a/{k}.html", pub
            )
            for k, pub in items
        )
        raw = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            "<channel>"
            f"<title>Bench outlet {i}</title><link>{base}/</link>"
            f"<description>Latest news from bench outlet {i}</description>"
            f"<language>en</language><lastBuildDate>{format_datetime(when, usegmt=True)}"
            f"</lastBuildDate>{xml}</channel></rss>\n"
        ).encode()
        return _body(raw, f"{i}-{generation}", when, RSS_TYPE)


# --- the server ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    url: str
    kind: str  # feed | page | robots | other
    headers: tuple[tuple[str, str], ...]  # the ones replayed

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name), None)


REPLAYED = ("accept", "accept-encoding", "user-agent", "if-none-match", "if-modified-since")


class Site:
    """What the server answers, what it records, and what it spent."""

    def __init__(self, plan: list[FeedPlan], corpus: Corpus) -> None:
        self.plan, self.corpus = plan, corpus
        self.feeds: Feeds | None = None
        self.pages: list[Body] = []
        self.generation = 0
        self.recording = False
        self.records: list[Request] = []
        self.counts: Counter[str] = Counter()  # "kind status" while recording
        self.handled = 0
        self.feeds_served = 0
        self.cpu_s = 0.0  # handler CPU time (thread_time) since the last reset
        self._lock = threading.Lock()

    def build(self, port: int, seed: int) -> None:
        self.feeds = Feeds(self.plan, self.corpus, port, seed)
        self.pages = [
            _body(p, f"p{n}", T0 - timedelta(days=1), "text/html")
            for n, p in enumerate(self.corpus.pages)
        ]

    def reset_counters(self) -> None:
        with self._lock:
            self.counts.clear()
            self.cpu_s = 0.0

    def spent(self, cpu_s: float) -> None:
        with self._lock:
            self.cpu_s += cpu_s

    def handle(self, h: BaseHTTPRequestHandler) -> None:
        feeds = self.feeds
        assert feeds is not None
        parts = h.path.split("?", 1)[0].split("/")
        kind, status = "other", 404
        body: Body | None = None
        if h.path == "/robots.txt":
            kind, status, body = "robots", 200, ROBOTS_BODY
        elif h.path == "/shared.html":
            kind, status, body = "page", 200, self.pages[0]
        elif len(parts) == 4 and parts[1] == "f" and parts[3] == "feed.xml":
            kind = "feed"
            status, body = self._feed(h, int(parts[2]))
        elif len(parts) == 5 and parts[1] == "f" and parts[3] == "a":
            kind, status = "page", 200
            body = self.pages[feeds.page_of(int(parts[2]), int(parts[4].split(".")[0]))]
            if h.headers.get("if-none-match") == body.etag:
                status = 304
        with self._lock:
            self.handled += 1
            self.feeds_served += kind == "feed"
            if self.recording:
                self.records.append(
                    Request(
                        f"http://{h.headers.get('host', '')}{h.path}",
                        kind,
                        tuple((k, h.headers[k]) for k in REPLAYED if h.headers.get(k)),
                    )
                )
                self.counts[f"{kind} {status or 'reset'}"] += 1
        if status == 0:
            _reset(h)
        else:
            _send(h, status, body)

    def _feed(self, h: BaseHTTPRequestHandler, i: int) -> tuple[int, Body | None]:
        assert self.feeds is not None
        feed = self.plan[i]
        warm = self.feeds.bodies[i, 0]
        if self.generation == 0 or feed.behaviour == "unchanged":
            current = warm
        elif feed.behaviour == "new":
            current = self.feeds.bodies[i, self.generation]
        elif feed.behaviour == "slow":
            time.sleep(SLOW_S)
            current = warm
        elif feed.behaviour == "http_500":
            return 500, None
        else:
            return 0, None  # reset
        if (
            h.headers.get("if-none-match") == current.etag
            or h.headers.get("if-modified-since") == current.last_modified
        ):
            return 304, current
        return 200, current


def _send(h: BaseHTTPRequestHandler, status: int, body: Body | None) -> None:
    h.send_response(status)
    payload = b"Internal Server Error" if status == 500 else b"Not Found" if body is None else b""
    if body is not None:
        if body.etag:
            h.send_header("ETag", body.etag)
            h.send_header("Last-Modified", body.last_modified)
        if status == 200:
            h.send_header("Content-Type", body.content_type)
            payload = body.raw
            if body.gz and "gzip" in h.headers.get("accept-encoding", ""):
                payload = body.gz
                h.send_header("Content-Encoding", "gzip")
                h.send_header("Vary", "Accept-Encoding")
    if status != 304:
        h.send_header("Content-Length", str(len(payload)))
    h.end_headers()
    if status != 304:
        h.wfile.write(payload)


def _reset(h: BaseHTTPRequestHandler) -> None:
    """Close with RST (SO_LINGER 0) before any byte of the response."""
    h.close_connection = True
    with contextlib.suppress(OSError):
        h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        h.connection.close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as real servers and both clients use it
    # Headers and body are two writes: with Nagle's algorithm the body waits for the client's
    # delayed ACK (40 ms on Linux) on every kept-alive request, which real servers avoid.
    disable_nagle_algorithm = True
    server: _Server

    def handle_one_request(self) -> None:
        # CPU time of the whole request (header parsing and writing included); waiting for
        # the next request on a kept-alive connection costs none.
        started = time.thread_time()
        try:
            super().handle_one_request()
        finally:
            self.server.site.spent(time.thread_time() - started)

    def do_GET(self) -> None:
        self.server.site.handle(self)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # the default 5 drops SYNs under 8 concurrent connects

    def __init__(self, site: Site) -> None:
        self.site = site
        super().__init__(("127.0.0.1", 0), _Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # resets and clients closing kept-alive connections; not the benchmark's concern


@contextlib.contextmanager
def serve(site: Site) -> Iterator[_Server]:
    server = _Server(site)
    thread = threading.Thread(target=server.serve_forever, name="bench-server", daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


# --- watching the monitor -----------------------------------------------------------------------


class FetchLog(logging.Handler):
    """The monitor's ``fetch`` log lines: one per request, with its duration."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage() == "fetch":
            self.lines.append(
                {
                    "kind": getattr(record, "kind", "feed"),
                    "duration_ms": getattr(record, "duration_ms", 0) or 0,
                    "error": getattr(record, "error", None),
                }
            )


class Probe:
    """Wall and CPU time of the pipeline's parts, from wrappers around functions it looks up
    by name at call time (a name it imported under another path would go untimed: the report
    then says so)."""

    WORK = (
        (monitor.poll.feed, "parse_feed", "parse_feed (workers)"),
        (monitor.poll.page, "extract", "extract (workers)"),
        (monitor.poll.round, "store_new", "store and match new articles (main thread)"),
        (monitor.poll.round, "store_recheck", "store re-checks (main thread)"),
        (storage.queue, "claim_sources", "claim due sources (main thread)"),
    )

    def __init__(self) -> None:
        self.seconds: defaultdict[str, float] = defaultdict(float)  # wall
        self.cpu: defaultdict[str, float] = defaultdict(float)  # the calling thread's CPU time
        self.calls: Counter[str] = Counter()
        self.batches: list[tuple[str, int, float]] = []  # phase kind, items, wall s
        self.missing: list[str] = []
        self._lock = threading.Lock()

    def add(self, name: str, seconds: float, cpu: float = 0.0) -> None:
        with self._lock:
            self.seconds[name] += seconds
            self.cpu[name] += cpu
            self.calls[name] += 1

    def reset(self) -> None:
        self.seconds.clear()
        self.cpu.clear()
        self.calls.clear()
        self.batches.clear()

    @contextlib.contextmanager
    def installed(self) -> Iterator[None]:
        saved: list[tuple[Any, str, Any]] = []
        self.missing.clear()
        for module, name, label in self.WORK:
            original = getattr(module, name, None)
            if original is None:
                self.missing.append(f"{module.__name__}.{name}")
                continue
            saved.append((module, name, original))
            setattr(module, name, self._timed(original, label))
        # The feed phase is a sliding window (round._Round.feeds) that hands answers to
        # _Round.sources as they come: its time waiting on feeds is feeds minus sources.
        round_class = getattr(monitor.poll.round, "_Round", None)
        for method, label in (("feeds", "round feeds"), ("sources", "round sources")):
            original = getattr(round_class, method, None)
            if original is None:
                self.missing.append(f"monitor.poll.round._Round.{method}")
                continue
            saved.append((round_class, method, original))
            setattr(round_class, method, self._timed(original, label))
        by_host = getattr(monitor.fetch.pool, "by_host", None)
        if by_host is None:
            self.missing.append("monitor.fetch.pool.by_host")
        else:
            saved.append((monitor.fetch.pool, "by_host", by_host))
            monitor.fetch.pool.by_host = self._phase(by_host)
        try:
            yield
        finally:
            for module, name, original in saved:
                setattr(module, name, original)

    def _timed(self, function: Callable[..., Any], label: str) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started, cpu = time.perf_counter(), time.thread_time()
            try:
                return function(*args, **kwargs)
            finally:
                self.add(label, time.perf_counter() - started, time.thread_time() - cpu)

        return timed

    def _phase(self, by_host: Callable[..., Iterator[Any]]) -> Callable[..., Iterator[Any]]:
        kinds = {"DueSource": "feeds", "NewArticle": "pages", "DueArticle": "re-checks"}

        def phase(executor: Any, items: Any, **kwargs: Any) -> Iterator[Any]:
            items = list(items)
            kind = kinds.get(type(items[0]).__name__, "other") if items else "empty"
            started = time.perf_counter()
            try:
                yield from by_host(executor, items, **kwargs)
            finally:
                spent = time.perf_counter() - started
                self.add(f"phase {kind}", spent)
                self.batches.append((kind, len(items), spent))

        return phase


class Ticker:
    """A line on stderr every few seconds while something long runs."""

    def __init__(self, label: str, site: Site, every: float = 5.0) -> None:
        self.label, self.site, self.every = label, site, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        started, base = time.monotonic(), self.site.handled
        while not self._stop.wait(self.every):
            progress(
                f"  {self.label}: {time.monotonic() - started:.0f} s, "
                f"{self.site.handled - base} requests served"
            )

    def __enter__(self) -> Ticker:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def max_rss_mib() -> float:
    # Linux reports kilobytes (macOS bytes; this benchmark runs on Linux).
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the monitor's side -------------------------------------------------------------------------


def write_config(
    path: Path, feeds: Feeds, db: Path, *, workers: int | None, per_host_delay: float
) -> configmod.Config:
    q = json.dumps  # a JSON string is a valid TOML string
    lines = [
        "[storage]",
        f"url = {q(f'sqlite:///{db}')}",
        "[fetch]",
        "allow_private_networks = true",
        f"per_host_delay = {per_host_delay}",
        "[poll]",
        *([f"workers = {workers}"] if workers is not None else []),
        "",
    ]
    for feed in feeds.plan:
        lines += [
            "[[source]]",
            f"name = {q(f'Bench outlet {feed.index}')}",
            f"url = {q(feeds.feed_url(feed.index))}",
            f"interval = {q(INTERVAL)}",
            "",
        ]
    lines += [
        "[[story]]",
        'slug = "roxham-road"',
        'title = "The US-Canada deal to close Roxham Road (March 2023)"',
        f"seeds = {q(str(SEEDS))}",
        f"keywords = {q(KEYWORDS)}",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # No environment: a MONITOR_* variable of the caller's shell would change the scenario.
    return configmod.load(path, env={})


def resolve(host: str, port: int) -> list[str]:
    return ["127.0.0.1"]


@dataclass
class Cycle:
    report: RoundReport
    wall_s: float
    requests: Counter[str]  # "kind status" as the server saw them
    fetches: list[dict[str, Any]]
    probe: dict[str, tuple[float, float, int]]  # wall s, CPU s, calls
    batches: list[tuple[str, int, float]]  # phase kind, items, wall s
    server_cpu_s: float


def run_cycle(
    app: App,
    site: Site,
    generation: int,
    probe: Probe,
    fetch_log: FetchLog,
    *,
    now: datetime,
    label: str,
    record: bool,
    stop_after: int | None = None,
) -> Cycle:
    """One poll round at ``now``, the server at generation ``generation`` of the feeds; with
    ``stop_after``, the round is asked to stop (poll's ``stop`` event) once that many feeds
    have been served."""
    site.generation = generation
    site.records.clear()
    site.reset_counters()
    site.recording = record
    probe.reset()
    fetch_log.lines.clear()
    stop = threading.Event()
    base = site.feeds_served

    def watch() -> None:
        while stop_after is not None and not stop.wait(0.05):
            if site.feeds_served - base >= stop_after:
                stop.set()

    watcher = threading.Thread(target=watch, daemon=True)
    gc.collect()
    with Ticker(label, site):
        watcher.start()
        started = time.perf_counter()
        try:
            report = poll(app, now=now, stop=stop)
        finally:
            wall = time.perf_counter() - started
            stop.set()
            watcher.join()
    site.recording = False
    return Cycle(
        report,
        wall,
        Counter(site.counts),
        list(fetch_log.lines),
        {k: (probe.seconds[k], probe.cpu[k], probe.calls[k]) for k in probe.seconds},
        list(probe.batches),
        site.cpu_s,
    )


# --- replays ------------------------------------------------------------------------------------


@dataclass
class Replay:
    wall_s: float
    outcomes: Counter[str]
    durations: list[float]  # seconds, per request
    server_cpu_s: float

    def rate(self, n: int) -> float:
        return n / self.wall_s if self.wall_s else 0.0


@contextlib.contextmanager
def bench_names() -> Iterator[None]:
    """*.bench.test resolves to 127.0.0.1 for the bare client: one connection pool entry per
    host name, as the monitor has, rather than one for 127.0.0.1 shared by every feed."""
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(host, str) and host.endswith("." + DOMAIN):
            host = "127.0.0.1"
        return real(host, port, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo
    try:
        yield
    finally:
        socket.getaddrinfo = real


def replay(
    records: Sequence[Request], workers: int, get: Callable[[Request], str], site: Site
) -> Replay:
    durations: list[float] = []

    def one(request: Request) -> str:
        started = time.perf_counter()
        try:
            return get(request)
        finally:
            durations.append(time.perf_counter() - started)  # list.append is atomic

    site.reset_counters()
    gc.collect()
    with ThreadPoolExecutor(workers, thread_name_prefix="bench-replay") as executor:
        started = time.perf_counter()
        outcomes = Counter(executor.map(one, records))
        wall = time.perf_counter() - started
    return Replay(wall, outcomes, durations, site.cpu_s)


def replay_both(
    records: Sequence[Request], workers: int, config: configmod.Config, site: Site, name: str
) -> dict[str, Replay]:
    """``records`` through a fresh ``Fetcher`` of the monitor's, then a fresh bare client."""
    replays: dict[str, Replay] = {}
    fetcher = Fetcher(config.fetch, resolver=resolve)
    try:
        with Ticker(f"{name}: Fetcher.get", site):
            replays["fetcher"] = replay(records, workers, fetcher_get(fetcher), site)
    finally:
        fetcher.close()
    with (
        bench_names(),
        httpx.Client(timeout=httpx.Timeout(10.0, read=20.0)) as client,
        Ticker(f"{name}: bare", site),
    ):
        replays["bare"] = replay(records, workers, bare_get(client), site)
    return replays


def bare_get(client: httpx.Client) -> Callable[[Request], str]:
    def get(request: Request) -> str:
        try:
            response = client.get(request.url, headers=dict(request.headers))
            response.read()
            return str(response.status_code)
        except httpx.HTTPError as exc:
            return type(exc).__name__

    return get


def fetcher_get(fetcher: Fetcher) -> Callable[[Request], str]:
    def get(request: Request) -> str:
        try:
            result = fetcher.get(
                request.url,
                etag=request.header("if-none-match"),
                last_modified=request.header("if-modified-since"),
                accept=request.header("accept") or "*/*",
            )
            return str(result.status)
        except FetchError as exc:
            return str(exc.status) if exc.status else exc.kind

    return get


# --- parsing ------------------------------------------------------------------------------------


@dataclass
class ParseCost:
    bodies: int
    entries: int
    ours_us: list[float] = field(default_factory=list)  # per entry, one value per body
    feedparser_us: list[float] = field(default_factory=list)


def parse_costs(bodies: Sequence[tuple[str, Body]]) -> ParseCost:
    headers = {"content-type": RSS_TYPE}
    # One call each first: imports and regex compilation are not per-entry costs.
    url, first = bodies[0]
    parse_feed(first.raw, url, headers)
    feedparser.parse(io.BytesIO(first.raw))
    cost = ParseCost(len(bodies), 0)
    for n, (url, body) in enumerate(bodies):
        runs: list[tuple[str, Callable[[], int]]] = [
            ("ours", lambda: len(parse_feed(body.raw, url, headers).entries)),  # noqa: B023
            ("feedparser", lambda: len(feedparser.parse(io.BytesIO(body.raw)).entries)),  # noqa: B023
        ]
        if n % 2:  # alternate who goes first, so neither always finds the caches warm
            runs.reverse()
        for name, run in runs:
            started = time.perf_counter()
            entries = run()
            per_entry = (time.perf_counter() - started) * 1e6 / max(1, entries)
            (cost.ours_us if name == "ours" else cost.feedparser_us).append(per_entry)
            if name == "ours":
                cost.entries += entries
    return cost


# --- output -------------------------------------------------------------------------------------


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(counter.items()))


def _by_kind(requests: Counter[str]) -> Counter[str]:
    out: Counter[str] = Counter()
    for key, n in requests.items():
        out[key.split()[0]] += n
    return out


def _ms(values: Sequence[float]) -> str:
    """Median and 90th percentile of durations in seconds, as milliseconds."""
    if not values:
        return "n/a"
    return f"{statistics.median(values) * 1000:.1f} / {_percentile(values, 90) * 1000:.1f}"


PHASES = {
    "phase feeds": "fetch and parse feeds",
    "phase pages": "robots.txt, fetch and extract new pages",
    "phase re-checks": "fetch and extract re-checked pages",
}


def report_cycle(cycle: Cycle) -> None:
    r = cycle.report
    total = sum(cycle.requests.values())
    kinds = _by_kind(cycle.requests)
    print("\n## Measured cycle: poll(app, now=T0+20min), every source due, after a warm-up round")
    rows = [
        ["wall time", f"{cycle.wall_s:.2f} s"],
        [
            "sources polled (failed, unchanged)",
            f"{r.sources_polled} ({r.sources_failed}, {r.sources_unchanged})",
        ],
        ["**sources per second**", f"**{r.sources_polled / cycle.wall_s:.1f}**"],
        [
            "requests made (feeds, robots.txt, article pages, other)",
            f"{total} ({kinds['feed']}, {kinds['robots']}, {kinds['page']}, {kinds['other']})",
        ],
        ["requests per second, whole cycle", f"{total / cycle.wall_s:.1f}"],
        [
            "articles fetched (HTTP 200) / new articles stored / not articles / page errors",
            f"{cycle.requests['page 200']} / {r.articles_new} / {r.not_articles} / {r.page_errors}",
        ],
        ["decisions (original, copy, off topic)", f"{r.originals}, {r.copies}, {r.off_topic}"],
        ["server answers", _counts(cycle.requests)],
    ]
    print(table(["figure", "value"], rows))
    page_errors = [e for e in r.errors if not e.split(": ", 1)[0].endswith("/feed.xml")]
    for error in page_errors[:5]:
        print(f"- page error: {error[:200]}")


CLAIMS = "claim due sources (main thread)"
# The failing feeds' answers: the same in the quiet cycle as in the measured one.
QUIET_FAILURES = ("feed 500", "feed reset")


def report_time(cycle: Cycle, name: str) -> None:
    """The cycle's wall time split into parts of the main thread that add up to it, then what
    the workers spent (summed over threads, so not part of that sum)."""
    print(f"\n## Where the {name}'s time went")
    p = cycle.probe
    rows = []
    rest = cycle.wall_s
    untimed: list[str] = []
    if "round feeds" in p and "round sources" in p:
        feeds_wall, feeds_cpu, _ = p["round feeds"]
        sources_wall, sources_cpu, calls = p["round sources"]
        claims_wall, claims_cpu, _ = p.get(CLAIMS, (0.0, 0.0, 0))
        waited = feeds_wall - sources_wall - claims_wall
        rest -= waited
        rows.append(
            [
                "main thread: waiting on the window of feed fetches (fetch and parse in the "
                f"workers; answers handed over in {calls} lots)",
                f"{waited:.2f}",
                f"{feeds_cpu - sources_cpu - claims_cpu:.2f}",
                "",
            ]
        )
    else:
        untimed.append("the wait on the feed window (round._Round.feeds or .sources not found)")
    for key, what in PHASES.items():
        if key in p:
            wall, _, calls = p[key]
            rest -= wall
            rows.append([f"parallel phases: {what}", f"{wall:.2f}", "", f"{calls} batches"])
    for _, _, label in Probe.WORK:
        if label in p and "main thread" in label:
            wall, cpu, calls = p[label]
            rest -= wall
            rows.append([f"serial: {label}", f"{wall:.2f}", f"{cpu:.2f}", str(calls)])
    rows.append(
        [
            "serial: the rest (seen-entry lookups, entry, schedule and state writes, the "
            "round's start and end)",
            f"{rest:.2f}",
            "",
            "",
        ]
    )
    net = [f["duration_ms"] / 1000 for f in cycle.fetches]
    rows.append(
        [
            "in workers: network, the fetch log lines' duration_ms (summed)",
            f"{sum(net):.2f}",
            "",
            f"{len(net)} fetches",
        ]
    )
    for _, _, label in Probe.WORK:
        if label in p and "workers" in label:
            wall, cpu, calls = p[label]
            rows.append([f"in workers: {label} (summed)", f"{wall:.2f}", f"{cpu:.2f}", str(calls)])
    rows.append(["server: request handlers (same process)", "", f"{cycle.server_cpu_s:.2f}", ""])
    print(table(["part", "wall s", "CPU s", "calls"], rows))
    if cycle.report.articles_new:
        untimed += [
            label for _, _, label in Probe.WORK if label not in p and "re-checks" not in label
        ]
        if not any(key in p for key in PHASES):
            untimed.append("the parallel phases (monitor.fetch.pool.by_host was not called)")
    if untimed:
        print(f"\nNot timed, so counted in 'the rest': {'; '.join(untimed)}.")
    print(
        "\nThe main thread's rows add up to the wall time. Parallel phases: the main thread "
        "waits while the workers fetch and extract pages. Worker times are summed over "
        "threads; their wall time includes waiting for the GIL, their CPU time does not. "
        f"Per fetch (the fetch log), median / p90: {_ms(net)} ms."
    )


REPLAY_NOTES = {
    "fetcher": ("monitor: Fetcher.get alone", "guard, per-host gate, size cap, inflate, log"),
    "bare": ("bare httpx.Client", "send the request, read the body; nothing else"),
}


def report_replays(
    name: str, cycle: Cycle, does: str, replays: dict[str, Replay], workers: int
) -> None:
    total = sum(cycle.requests.values())
    net = [f["duration_ms"] / 1000 for f in cycle.fetches]
    print(
        f"\n## The {name}'s {total} requests replayed, {workers} threads, in the order the "
        "server saw them"
    )
    rows = [
        [
            f"monitor: the {name}",
            str(total),
            f"{cycle.wall_s:.2f}",
            f"{total / cycle.wall_s:.1f}",
            _ms(net),
            does,
        ]
    ]
    for key, (label, note) in REPLAY_NOTES.items():
        rp = replays[key]
        n = sum(rp.outcomes.values())
        rows.append(
            [label, str(n), f"{rp.wall_s:.2f}", f"{rp.rate(n):.1f}", _ms(rp.durations), note]
        )
    print(
        table(
            ["client", "requests", "wall s", "requests/s", "ms per request, median / p90", "does"],
            rows,
        )
    )
    for key, rp in replays.items():
        print(
            f"- {key}: answers {_counts(rp.outcomes)}; server handlers' CPU "
            f"{rp.server_cpu_s:.2f} s in {rp.wall_s:.2f} s"
        )


def quiet_problems(cycle: Cycle) -> list[str]:
    """Whatever would make the quiet cycle more than pure polling."""
    r = cycle.report
    expected = ("feed 304", *QUIET_FAILURES)
    problems = [
        f"{n} '{key}' answers" for key, n in sorted(cycle.requests.items()) if key not in expected
    ]
    for what, n in (
        ("new entries", r.entries_new),
        ("new articles", r.articles_new),
        ("re-checks", r.rechecked),
    ):
        if n:
            problems.append(f"{n} {what}")
    return problems


def report_quiet(cycle: Cycle, slow: int) -> None:
    r = cycle.report
    total = sum(cycle.requests.values())
    print(
        "\n## Quiet cycle: poll(app, now=T0+40min), every source due, every feed unchanged "
        "(304) but the same slow and failing ones"
    )
    rows = [
        ["wall time", f"{cycle.wall_s:.2f} s"],
        [
            "sources polled (failed, unchanged)",
            f"{r.sources_polled} ({r.sources_failed}, {r.sources_unchanged}; {slow} of the "
            f"unchanged answer after {SLOW_S:g} s)",
        ],
        ["**sources per second**", f"**{r.sources_polled / cycle.wall_s:.1f}**"],
        ["requests made", f"{total} ({total / cycle.wall_s:.1f} per second)"],
        [
            "new entries / new articles / re-checks",
            f"{r.entries_new} / {r.articles_new} / {r.rechecked}",
        ],
        ["server answers", _counts(cycle.requests)],
    ]
    print(table(["figure", "value"], rows))
    problems = quiet_problems(cycle)
    if problems:
        print(f"\n**Not pure polling** ({'; '.join(problems)}): the polling ratio is off.")


def report_ratios(
    measured: Cycle,
    measured_replays: dict[str, Replay],
    quiet: Cycle,
    quiet_replays: dict[str, Replay],
) -> None:
    total = sum(measured.requests.values())
    quiet_total = sum(quiet.requests.values())
    bare, quiet_bare = measured_replays["bare"], quiet_replays["bare"]
    print(
        "\nThe bare client does no parsing, no extraction, no matching and no database work, "
        "keeps no per-host limit or delay and checks no address: it sends the recorded request "
        "(same URL, Accept, Accept-Encoding, User-Agent, If-None-Match, If-Modified-Since) and "
        "reads the body, gunzipped by httpx. The replays submit every request to the pool at "
        "once, so one host's requests may overlap in a replay. In the quiet cycle each source "
        "makes one request, so requests per second are sources per second."
    )
    rows = [
        [
            f"**polling: the quiet cycle / bare, its {quiet_total} requests**",
            f"**{(quiet_total / quiet.wall_s) / quiet_bare.rate(quiet_total):.2f}**",
            "**at least 0.7**",
        ],
        [
            "network layer: Fetcher.get alone / bare, the quiet cycle's requests",
            f"{quiet_replays['fetcher'].rate(quiet_total) / quiet_bare.rate(quiet_total):.2f}",
            "none (a part of the above)",
        ],
        [
            "network layer: Fetcher.get alone / bare, the measured cycle's requests",
            f"{measured_replays['fetcher'].rate(total) / bare.rate(total):.2f}",
            "none",
        ],
        [
            "whole measured cycle / bare, its requests (the cycle also extracts, matches, stores)",
            f"{(total / measured.wall_s) / bare.rate(total):.2f}",
            "none",
        ],
    ]
    print()
    print(
        table(
            ["requests per second, monitor / bare (same requests, same threads)", "ratio", "goal"],
            rows,
        )
    )


def report_parsing(costs: ParseCost) -> None:
    ours, theirs = costs.ours_us, costs.feedparser_us
    print(
        f"\n## Feed parsing: the measured cycle's {costs.bodies} feed bodies served with 200 "
        f"({costs.entries} entries), microseconds per entry"
    )
    rows = [
        [
            "monitor.parse.parse_feed(body, url, headers)",
            f"{statistics.median(ours):.0f}",
            f"{_percentile(ours, 90):.0f}",
        ],
        [
            "feedparser.parse(io.BytesIO(body)), its defaults",
            f"{statistics.median(theirs):.0f}",
            f"{_percentile(theirs, 90):.0f}",
        ],
    ]
    print(table(["parser", "median", "p90"], rows))
    ratio = statistics.median(ours) / statistics.median(theirs)
    print(f"\nratio of the medians, parse_feed / feedparser: {ratio:.2f} (goal: 0.33 or less)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sources", type=int, default=2000, help="feeds served and polled")
    parser.add_argument(
        "--workers", type=int, default=None, help="poll.workers (default: the configuration's)"
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the random choices")
    parser.add_argument(
        "--per-host-delay",
        type=float,
        default=0.0,
        help="fetch.per_host_delay in seconds (default 0; the configuration's default is 1)",
    )
    parser.add_argument(
        "--trace-sources",
        type=int,
        default=250,
        help="sources of the second cycle run under tracemalloc before it is stopped "
        "(0: no traced cycle; tracemalloc slows the code about threefold)",
    )
    parser.add_argument("--quiet", action="store_true", help="monitor logs at warning level")
    args = parser.parse_args(argv)
    if args.sources < 100:
        parser.error("--sources: at least 100, so that every behaviour of the mix occurs")

    logmod.setup("warning" if args.quiet else "info", "json")
    for handler in logging.getLogger("monitor").handlers:
        handler.setLevel(logging.WARNING if args.quiet else logging.INFO)
    fetch_log = FetchLog()
    fetch_logger = logging.getLogger("monitor.fetch")
    fetch_logger.setLevel(logging.INFO)  # the fetch lines are read even when not printed
    fetch_logger.addHandler(fetch_log)

    load_before = os.getloadavg()
    progress("loading article pages")
    corpus = load_corpus()
    plan = make_plan(args.sources, random.Random(args.seed))
    site = Site(plan, corpus)
    probe = Probe()
    traced: tuple[Cycle, int] | None = None
    with serve(site) as server, tempfile.TemporaryDirectory(prefix="bench-poll-") as tmp:
        progress(f"building {args.sources} feeds")
        site.build(server.server_address[1], args.seed)
        feeds = site.feeds
        assert feeds is not None
        config = write_config(
            Path(tmp) / "bench.toml",
            feeds,
            Path(tmp) / "bench.sqlite",
            workers=args.workers,
            per_host_delay=args.per_host_delay,
        )
        workers = config.poll.workers
        progress("opening the app (migrations, sources, seeds)")
        app = open_app(config, now=CLOCK[0], resolver=resolve)
        try:
            progress("warm-up round (not measured)")
            started = time.perf_counter()
            with Ticker("warm-up", site):
                warm = poll(app, now=CLOCK[0])
            warm_s = time.perf_counter() - started
            if warm.sources_failed or warm.sources_polled != args.sources:
                raise SystemExit(f"the warm-up round went wrong: {warm}")
            rss_warm = max_rss_mib()
            progress(f"warm-up: {warm_s:.1f} s; the measured cycle")
            with probe.installed():
                cycle = run_cycle(
                    app, site, 1, probe, fetch_log, now=CLOCK[1], label="measured", record=True
                )
            rss_cycle = max_rss_mib()
            records = list(site.records)
            progress(f"cycle: {cycle.wall_s:.1f} s, {len(records)} requests; replaying them")
            replays = replay_both(records, workers, config, site, "measured")
            progress("the quiet cycle")
            with probe.installed():
                quiet = run_cycle(
                    app, site, 1, probe, fetch_log, now=QUIET_AT, label="quiet", record=True
                )
            quiet_records = list(site.records)
            progress(f"quiet: {quiet.wall_s:.1f} s, {len(quiet_records)} requests; replaying them")
            quiet_replays = replay_both(quiet_records, workers, config, site, "quiet")
            if args.trace_sources > 0:
                progress(
                    f"a third cycle under tracemalloc, stopped after {args.trace_sources} sources"
                )
                tracemalloc.start()
                try:
                    second = run_cycle(
                        app,
                        site,
                        2,
                        probe,
                        fetch_log,
                        now=CLOCK[2],
                        label="traced",
                        record=False,
                        stop_after=args.trace_sources,
                    )
                    traced = (second, tracemalloc.get_traced_memory()[1])
                finally:
                    tracemalloc.stop()
        finally:
            app.close()
        progress("parsing the measured cycle's feed bodies with both parsers")
        costs = parse_costs(
            [
                (feeds.feed_url(f.index), feeds.bodies[f.index, 1])
                for f in plan
                if f.behaviour == "new"
            ]
        )

    mix = Counter(f.behaviour for f in plan)
    print(
        "versions: "
        + ", ".join(
            f"{k} {v}"
            for k, v in versions(
                "httpx", "httpcore", "feedparser", "sqlalchemy", "lxml", "trafilatura"
            ).items()
        )
    )
    print(
        f"machine: {os.cpu_count()} CPUs, {platform.platform()}; load average (1 min) "
        f"{load_before[0]:.2f} at the start, {os.getloadavg()[0]:.2f} at the end (other "
        "processes on the machine slow every figure)"
    )
    print(f"data: article_extraction_benchmark, {len(corpus.pages)} pages, {DATA}")
    print(f"story: roxham-road, seeds {SEEDS} ({len(list(SEEDS.glob('*.txt')))} files)")
    print(
        f"scenario: {args.sources} RSS 2.0 feeds of {ITEMS} items, one host name each, served by "
        f"a ThreadingHTTPServer in this process; in the measured cycle {mix['unchanged']} answer "
        f"304, {mix['new']} publish 1-3 new items ({sum(f.new_items for f in plan)} in all), "
        f"{mix['slow']} answer after {SLOW_S:g} s, {mix['http_500']} with HTTP 500, "
        f"{mix['reset']} reset the connection; poll.workers {workers}, poll.batch_size "
        f"{config.poll.batch_size}, fetch.per_host_delay {config.fetch.per_host_delay:g} s; "
        f"SQLite in a temporary directory; seed {args.seed}"
    )
    print(
        f"warm-up round (not measured): {warm_s:.1f} s, {warm.sources_polled} sources, "
        f"{warm.entries_new} entries stored"
    )
    report_cycle(cycle)
    report_time(cycle, "measured cycle")
    report_replays(
        "measured cycle",
        cycle,
        "fetch, parse, robots.txt, extract, match, SQLite",
        replays,
        workers,
    )
    report_quiet(quiet, mix["slow"])
    report_time(quiet, "quiet cycle")
    report_replays(
        "quiet cycle", quiet, "claim, fetch, schedule, SQLite state writes", quiet_replays, workers
    )
    report_ratios(cycle, replays, quiet, quiet_replays)

    print("\n## Memory")
    rows = [
        [
            "ru_maxrss after the warm-up round (the whole process: server, bodies, pages)",
            f"{rss_warm:.0f} MiB",
        ],
        ["ru_maxrss after the measured cycle", f"{rss_cycle:.0f} MiB"],
    ]
    if traced is not None:
        second, peak = traced
        rows.append(
            [
                f"tracemalloc peak, a third cycle of the measured mix stopped after "
                f"{second.report.sources_polled} sources ({second.report.articles_new} new "
                f"articles; {second.wall_s:.0f} s traced)",
                f"{peak / 2**20:.0f} MiB",
            ]
        )
    print(table(["figure", "value"], rows))
    report_parsing(costs)
    if probe.missing:
        print(f"\nnot timed (not found in the monitor): {', '.join(probe.missing)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
