"""Ingest throughput with 1, 2 and 4 worker processes, on SQLite and PostgreSQL.

Run: ``.venv/bin/python benchmarks/scale.py [--sources N] [--items N] [--workers 1,2,4]
[--archived N] [--no-postgres]``

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
VmHWM, since a spawned worker's ``ru_maxrss`` counts the parent's size too).

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
import json
import multiprocessing
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.report import peak_rss_mb  # noqa: E402
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


def write_config(folder: Path, url: str, port: str, sources: int) -> Path:
    lines = [
        "[storage]",
        f"url = {json.dumps(url)}",
        "[fetch]",
        "allow_private_networks = true",
        "per_host_delay = 0",
        "[email]",
        f"outbox_dir = {json.dumps(str(folder / 'outbox'))}",
        "[poll]",
        "batch_size = 10",
        "[log]",
        'level = "warning"',
        "",
    ]
    for i in range(sources):
        lines += [
            "[[source]]",
            f'name = "S{i}"',
            f'url = "http://{host(i)}:{port}/feed/{i}.xml"',
            "",
        ]
    lines += [
        "[[story]]",
        'slug = "roxham-road"',
        'title = "Roxham Road"',
        f"seeds = {json.dumps(str(ROOT / 'seeds' / 'roxham-road'))}",
        'keywords = ["Roxham"]',
    ]
    path = folder / "monitor.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def worker(config_path: str, barrier: object, out: object) -> None:
    """One worker process: open the app, wait for the others, poll once, report."""
    from monitor import log as logmod

    config = configmod.load(config_path)
    logmod.setup("warning", "json")
    with open_app(config, now=NOW, resolver=resolve_local) as app:
        barrier.wait()  # type: ignore[attr-defined]
        report = poll(app, now=NOW)
    out.put((report.articles_new, peak_rss_mb()))  # type: ignore[attr-defined]


def run_workers(config_path: Path, n: int) -> tuple[float, int, list[float]]:
    """Seconds from the barrier until every worker is done, articles stored, peak RSS each."""
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
    return elapsed, sum(r[0] for r in results), [r[1] for r in results]


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
    ap.add_argument("--archived", type=int, default=0, help="articles archived beforehand")
    ap.add_argument("--no-postgres", action="store_true")
    args = ap.parse_args()
    counts = [int(w) for w in args.workers.split(",")]
    pages = load_pages()
    total = args.sources * args.items
    load_before = os.getloadavg()
    alone = extraction_alone(pages, total)
    rows = []
    with tempfile.TemporaryDirectory() as tmp, newsroom(pages, args.sources, args.items) as port:
        folder = Path(tmp)
        for backend, new_url in backends(not args.no_postgres, folder):
            base = None
            for n in counts:
                sub = folder / f"{backend}-{n}"
                sub.mkdir()
                config = write_config(sub, new_url(), port, args.sources)
                if args.archived:
                    from benchmarks.ingest_archive import build

                    build(configmod.load(str(config)), archived=args.archived, members=0, now=NOW)
                elapsed, stored, rss = run_workers(config, n)
                rate = stored / elapsed
                base = base or rate
                rows.append(
                    (backend, n, stored, elapsed, rate, rate / base, rate / alone, max(rss))
                )
                print(
                    f"{backend} {n} workers: {stored} articles in {elapsed:.1f} s", file=sys.stderr
                )
    load_after = os.getloadavg()
    print(f"pages: {total} ({len(pages)} distinct real pages), sources: {args.sources}")
    print(f"articles archived beforehand: {args.archived:,}")
    print(f"extraction alone, one thread: {alone:.1f} articles/s")
    print()
    header = ["backend", "workers", "articles", "seconds", "articles/s", "vs 1 worker"]
    header += ["vs extraction alone", "peak RSS per worker (MB)"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for backend, n, stored, elapsed, rate, ratio, vs_alone, rss in rows:
        cells = [backend, str(n), str(stored), f"{elapsed:.1f}", f"{rate:.1f}", f"{ratio:.2f}"]
        cells += [f"{vs_alone:.2f}", f"{rss:.0f}"]
        print("| " + " | ".join(cells) + " |")
    print()
    print(
        f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}; "
        f"after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}; "
        f"cpus: {os.cpu_count()}"
    )


if __name__ == "__main__":
    main()
