"""Operations: what a scrape of /metrics and a /readyz probe cost on a large archive, and how
fast ``monitor db copy`` moves one.

Run: ``.venv/bin/python benchmarks/ops.py [--articles N] [--versions N] [--repeat N]
[--postgres URL]``

The synthetic story of ``benchmarks/storyfile_export.py`` (default 5,000 articles, 20,000
versions, in one SQLite file) is the archive. Timed ``--repeat`` times (best and median): the
database gauges and the whole /metrics body (``Metrics.exposition``, the database read at
scrape time included), the /readyz check (``storage.schema.unready``), and the copy of the
whole archive into a fresh SQLite file and into a fresh PostgreSQL database (``--postgres``
names a server URL whose databases it may create; without it a throwaway cluster is started
as the test suite does, when PostgreSQL's binaries are installed).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.report import machine, table, versions  # noqa: E402
from benchmarks.storyfile_export import populate  # noqa: E402
from monitor.ops.metrics import Metrics  # noqa: E402
from storage import archive, schema  # noqa: E402
from storage.db import Database, open_database  # noqa: E402

HEADERS = ("step", "best s", "median s", "what")


def _timed(step: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    times, out = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        out = step()
        times.append(time.perf_counter() - started)
    return min(times), statistics.median(times), out


def _row(name: str, timed: tuple[float, float, Any], what: str) -> tuple[str, ...]:
    return (name, f"{timed[0]:.4f}", f"{timed[1]:.4f}", what)


def _copy_into(source: Database, make_target: Callable[[], str]) -> Callable[[], int]:
    def step() -> int:
        target = open_database(make_target())
        try:
            return sum(c.target for c in archive.copy_archive(source, target))
        finally:
            target.close()

    return step


def _postgres(url: str | None) -> tuple[Callable[[], str] | None, Callable[[], None]]:
    """A factory of fresh PostgreSQL database URLs, and how to clean up after it."""
    if url:
        import psycopg
        from sqlalchemy.engine import make_url

        def fresh() -> str:
            name = f"bench_{uuid.uuid4().hex[:8]}"
            plain = make_url(url).set(drivername="postgresql").render_as_string(False)
            with psycopg.connect(plain, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
            return make_url(url).set(database=name).render_as_string(False)

        return fresh, lambda: None
    try:
        from tests.postgres import Cluster

        cluster = Cluster.start(Path(tempfile.gettempdir()))
    except (RuntimeError, ImportError) as exc:
        print(f"PostgreSQL left out: {exc}", file=sys.stderr)
        return None, lambda: None
    return cluster.new_database, cluster.stop


def measure(folder: Path, args: argparse.Namespace) -> tuple[list[tuple[str, ...]], int]:
    db = open_database(f"sqlite:///{folder / 'archive.sqlite'}")
    populate(db, n_articles=args.articles, n_versions=args.versions)
    rows = []
    metrics = Metrics(db)
    scraped = _timed(metrics.exposition, args.repeat)
    size = f"{len(scraped[2][0])} B"
    rows.append(_row("/metrics (gauges read from the database)", scraped, size))
    rows.append(_row("/readyz check", _timed(lambda: schema.unready(db.engine), args.repeat), ""))
    counter = iter(range(10**6))
    to_sqlite = _copy_into(db, lambda: f"sqlite:///{folder / f'copy{next(counter)}.sqlite'}")
    copied = _timed(to_sqlite, args.repeat)
    total = copied[2]
    rows.append(_row("db copy to SQLite", copied, f"{total / copied[1]:,.0f} rows/s"))
    fresh, stop = _postgres(args.postgres)
    try:
        if fresh is not None:
            copied = _timed(_copy_into(db, fresh), args.repeat)
            rows.append(_row("db copy to PostgreSQL", copied, f"{total / copied[1]:,.0f} rows/s"))
    finally:
        stop()
        db.close()
    return rows, total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--versions", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--postgres", help="a PostgreSQL server URL whose databases it may create")
    args = parser.parse_args(argv)
    before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="ops-bench-") as folder:
        rows, total = measure(Path(folder), args)
    shown = versions("sqlalchemy", "prometheus_client", "psycopg")
    print(" ".join(f"{k} {v}" for k, v in shown.items()))
    print(f"data set: {args.articles} articles, {args.versions} versions, {total} rows in all")
    print(machine(before))
    print()
    print(table(HEADERS, rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
