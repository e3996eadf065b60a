"""Ingest throughput with 1, 2 and 4 worker processes, each extracting in 0, 1 or 2 child
processes, on SQLite and PostgreSQL.

Run: ``.venv/bin/python benchmarks/scale.py [--sources N] [--items N] [--workers 1,2,4]
[--extract-processes 0,1,2] [--repeat N] [--batch-size N] [--archived N] [--no-postgres]``

A ThreadingHTTPServer on 127.0.0.1 serves N RSS feeds (default 30), each under its own host
name (``s001.scale.test:PORT``; the workers resolve every name to 127.0.0.1, so their per-host
limits see N hosts), each listing ``--items`` articles (default 4): the real pages of
../shared/data/article_extraction_benchmark (read in place, canonical URL tags removed, as in
benchmarks/poll.py), each page served under its own URL, the 181 pages going round. The
roxham-road story of ``seeds/`` decides every article (almost all off-topic: the pages are on
other subjects, which costs the matching its full story stage).

For each backend and worker count: a fresh database, migrated and synced once; then the
workers (processes started with ``spawn``, each opening the app) wait at a barrier and run one
``poll`` each at the same ``now``, sharing the sources through the database's claims. Timed
from the barrier until the last worker is done: articles stored per second, and the ratio to
one worker's. Each worker reports its peak resident memory (``benchmarks.report.peak_rss_mb``:
VmHWM, since a spawned worker's ``ru_maxrss`` counts the parent's size too) and CPU seconds
(its own during the poll), and, read from /proc before it stops them, each extraction child's
peak resident memory (``VmHWM``) and CPU seconds. Every combination of worker count and
``[poll] extract_processes`` runs once per repetition, interleaved, so that a change in the
machine's load falls on all of them; "vs in-thread" is the ratio to the same repetition's run
with the first ``--extract-processes`` value. ``--archived N``: each database holds N archived
articles before the poll (benchmarks/ingest_archive.py).

Extraction alone: ``monitor.extract.extract`` over the same pages in this process, one thread,
articles per second; one worker's throughput is shown as a ratio of it (the issue's goal: at
least 0.75; one worker has ``poll.workers`` threads, and fetching, matching and storing around
the extraction).

``--archived N``: each fresh database is first pre-filled with N archived articles
(benchmarks/ingest_archive.py: bulk rows of real texts, the derived tables built by the app's
own start), for the peak memory per worker with a large archive (issue 15's goal: under 300 MB
with 100,000); the build is not timed.

PostgreSQL: the throwaway cluster of the tests (tests/postgres.py: initdb in a temporary folder,
stopped at the end); ``--no-postgres`` skips it.
"""

from __future__ import annotations

import argparse
import gzip
import itertools
import json
import multiprocessing
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.report import machine, peak_rss_mb, table  # noqa: E402
from monitor import config as configmod  # noqa: E402
from monitor.app import open_app  # noqa: E402
from monitor.extract import extract  # noqa: E402
from monitor.poll.round import poll  # noqa: E402
from tests.httpserver import Reply, serve  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "article_extraction_benchmark"
NOW = datetime(2023, 3, 24, 12, tzinfo=UTC)
_CANONICAL = re.compile(
    rb"<link\b[^>]*\brel\s*=\s*[\"']?canonical\b[^>]*>"
    rb"|<meta\b[^>]*\bproperty\s*=\s*[\"']?og:url\b[^>]*>",
    re.IGNORECASE,
)


def load_pages() -> list[bytes]:
    truth = json.loads((DATA / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for key in sorted(truth):
        gz = DATA / "html" / f"{key}.html.gz"
        raw = (
            gzip.decompress(gz.read_bytes())
            if gz.exists()
            else (DATA / "html" / f"{key}.html").read_bytes()
        )
        pages.append(_CANONICAL.sub(b"", raw))
    return pages


def host(i: int) -> str:
    return f"s{i:03d}.scale.test"


def resolve_local(_host: str, _port: int) -> list[str]:
    return ["127.0.0.1"]


@contextmanager
def newsroom(pages: list[bytes], sources: int, items: int) -> Iterator[str]:
    """The feeds and pages on 127.0.0.1; yields the port."""
    with serve() as site:
        port = site.port
        for i in range(sources):
            links = []
            for k in range(items):
                n = i * items + k
                path = f"/a/{n}.html"
                page = pages[n % len(pages)]
                site.routes[path] = Reply(200, page, {"Content-Type": "text/html; charset=utf-8"})
                when = (NOW - timedelta(minutes=n)).strftime("%a, %d %b %Y %H:%M:%S +0000")
                links.append(
                    f"<item><title>Item {n}</title><link>http://{host(i)}:{port}{path}</link>"
                    f"<guid>{n}</guid><pubDate>{when}</pubDate></item>"
                )
            body = (
                '<?xml version="1.0"?><rss version="2.0"><channel><title>f</title>'
                + "".join(links)
                + "</channel></rss>"
            ).encode()
            # Every feed has its own path: routes match the path, whatever the host.
            site.routes[f"/feed/{i}.xml"] = Reply(
                200, body, {"Content-Type": "application/rss+xml"}
            )
        site.routes["/robots.txt"] = Reply(404)
        yield str(port)


def write_config(
    folder: Path, url: str, port: str, sources: int, *, processes: int = 0, batch_size: int = 10
) -> Path:
    lines = [
        "[storage]",
        f"url = {json.dumps(url)}",
        "[fetch]",
        "allow_private_networks = true",
        "per_host_delay = 0",
        "[email]",
        f"outbox_dir = {json.dumps(str(folder / 'outbox'))}",
        "[poll]",
        f"batch_size = {batch_size}",
        f"extract_processes = {processes}",
        "[log]",
        'level = "warning"',
        "",
    ]
    lines += sources_and_story([f"http://{host(i)}:{port}/feed/{i}.xml" for i in range(sources)])
    path = folder / "monitor.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def sources_and_story(urls: list[str], prefix: str = "S") -> list[str]:
    """Configuration lines: a ``[[source]]`` per feed URL (named PREFIX0, PREFIX1, ...), then the
    roxham-road story of ``seeds/`` deciding every article."""
    lines = []
    for i, url in enumerate(urls):
        lines += ["[[source]]", f'name = "{prefix}{i}"', f"url = {json.dumps(url)}", ""]
    return [
        *lines,
        "[[story]]",
        'slug = "roxham-road"',
        'title = "Roxham Road"',
        f"seeds = {json.dumps(str(ROOT / 'seeds' / 'roxham-road'))}",
        'keywords = ["Roxham"]',
    ]


def worker(config_path: str, barrier: object, out: object) -> None:
    """One worker process: open the app, wait for the others, poll once, report."""
    from monitor import log as logmod

    config = configmod.load(config_path)
    logmod.setup("warning", "json")
    with open_app(config, now=NOW, resolver=resolve_local) as app:
        barrier.wait()  # type: ignore[attr-defined]
        cpu = time.process_time()
        report = poll(app, now=NOW)
        cpu = time.process_time() - cpu
        children = [_child_usage(pid) for pid in app.extractor.pids()]
    out.put((report.articles_new, peak_rss_mb(), cpu, children))  # type: ignore[attr-defined]


def _child_usage(pid: int) -> tuple[float, float]:
    """An extraction child's peak resident memory (MB) and CPU seconds, from /proc."""
    status = Path(f"/proc/{pid}/status").read_text(encoding="utf-8")
    hwm = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8").rsplit(")", 1)[1].split()
    ticks = int(stat[11]) + int(stat[12])  # utime, stime (fields 14 and 15)
    return int(hwm.split()[1]) / 1024, ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class Run:
    """One worker count's poll: seconds from the barrier, articles stored, and per worker its
    peak RSS (MB), CPU seconds and its children's (peak RSS MB, CPU seconds)."""

    elapsed: float
    stored: int
    rss: list[float]
    cpu: list[float]
    children: list[list[tuple[float, float]]]

    @property
    def rate(self) -> float:
        return self.stored / self.elapsed

    @property
    def cpu_total(self) -> float:
        return sum(self.cpu) + sum(c for kids in self.children for _, c in kids)


def run_workers(config_path: Path, n: int) -> Run:
    """Start ``n`` workers on ``config_path``, poll once each from a barrier, collect."""
    with open_app(configmod.load(str(config_path)), now=NOW, resolver=resolve_local):
        pass  # migrated and synced before the workers start
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(n + 1), ctx.Queue()
    procs = [ctx.Process(target=worker, args=(str(config_path), barrier, out)) for _ in range(n)]
    for p in procs:
        p.start()
    barrier.wait()
    started = time.perf_counter()
    results = [out.get(timeout=1800) for _ in procs]
    elapsed = time.perf_counter() - started
    for p in procs:
        p.join()
    return Run(
        elapsed,
        sum(r[0] for r in results),
        [r[1] for r in results],
        [r[2] for r in results],
        [r[3] for r in results],
    )


def extraction_alone(pages: list[bytes], count: int) -> float:
    """Articles per second of extract() alone on the same ``count`` pages, one thread (after one
    page not timed: the first call loads trafilatura's and htmldate's data)."""
    extract(pages[-1], "http://x.test/warm-up.html")
    started = time.perf_counter()
    for n in range(count):
        extract(pages[n % len(pages)], f"http://x.test/a/{n}.html")
    return count / (time.perf_counter() - started)


def backends(use_postgres: bool, folder: Path) -> Iterator[tuple[str, Callable[[], str]]]:
    counter = iter(range(1000))
    yield "sqlite", lambda: f"sqlite:///{folder / f'scale{next(counter)}.sqlite'}"
    if use_postgres:
        from tests.postgres import Cluster

        cluster = Cluster.start(folder / "pg")
        try:
            yield "postgresql", cluster.new_database
        finally:
            cluster.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sources", type=int, default=30)
    ap.add_argument("--items", type=int, default=4)
    ap.add_argument("--workers", default="1,2,4")
    ap.add_argument("--extract-processes", default="0,1,2")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=10)
    ap.add_argument("--archived", type=int, default=0, help="articles archived beforehand")
    ap.add_argument("--no-postgres", action="store_true")
    args = ap.parse_args()
    counts = [int(w) for w in args.workers.split(",")]
    processes = [int(p) for p in args.extract_processes.split(",")]
    pages = load_pages()
    total = args.sources * args.items
    load_before = os.getloadavg()
    alone = extraction_alone(pages, total)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, newsroom(pages, args.sources, args.items) as port:
        folder = Path(tmp)
        for backend, new_url in backends(not args.no_postgres, folder):
            for rep, n, p in itertools.product(range(args.repeat), counts, processes):
                sub = folder / f"{backend}-{rep}-{n}-{p}"
                sub.mkdir()
                config = write_config(
                    sub, new_url(), port, args.sources, processes=p, batch_size=args.batch_size
                )
                if args.archived:
                    from benchmarks.ingest_archive import build

                    build(configmod.load(str(config)), archived=args.archived, members=0, now=NOW)
                run = run_workers(config, n)
                rows.append((backend, rep, n, p, run))
                print(
                    f"{backend} {n} workers, {p} extract processes: {run.stored} articles in "
                    f"{run.elapsed:.1f} s, {run.cpu_total:.1f} CPU s",
                    file=sys.stderr,
                )
    print(f"pages: {total} ({len(pages)} distinct real pages), sources: {args.sources}")
    print(f"batch_size: {args.batch_size}; extraction alone, one thread: {alone:.1f} articles/s")
    print(f"articles archived beforehand: {args.archived:,}")
    print()
    print(_table(rows, alone))
    print()
    print(machine(load_before))


def _table(rows: list[tuple[str, int, int, int, Run]], alone: float) -> str:
    base = {(b, rep, n): run.rate for b, rep, n, _, run in reversed(rows)}
    header = ["backend", "workers", "extract processes", "articles", "seconds", "articles/s"]
    header += ["vs in-thread", "vs extraction alone", "CPU s workers", "CPU s children"]
    header += ["peak RSS per worker (MB)", "peak RSS per child (MB)"]
    lines = []
    for backend, rep, n, p, run in rows:
        kids = [k for per_worker in run.children for k in per_worker]
        cells = [backend, str(n), str(p), str(run.stored), f"{run.elapsed:.1f}"]
        cells += [f"{run.rate:.1f}", f"{run.rate / base[backend, rep, n]:.2f}"]
        cells += [f"{run.rate / alone:.2f}", f"{sum(run.cpu):.1f}"]
        cells += [f"{sum(c for _, c in kids):.1f}", f"{max(run.rss):.0f}"]
        cells += [f"{max((m for m, _ in kids), default=0):.0f}"]
        lines.append(cells)
    return table(header, lines)


if __name__ == "__main__":
    main()
