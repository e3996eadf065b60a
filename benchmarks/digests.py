"""Digests by marking: what migration 0012's backfill costs on a large archive, and what a
digest tick costs per story now that it checks for unmarked events and claims the story.

Run: ``.venv/bin/python benchmarks/digests.py [--articles N] [--versions N] [--every N]
[--repeat N]``

The synthetic story of ``benchmarks/storyfile_export.py`` (default 5,000 articles, 20,000
versions, in one SQLite file) is the archive; a digest row is added for every ``--every``
events, as the id watermark recorded them before 0012. Timed: the migration from 0011 to 0012
(the backfill marking every covered event), then ``--repeat`` times (best and median) the
tick's read for a story with nothing to send (``has_undigested``), the claim and its release
(two write transactions), and the metrics' ``by_state``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from alembic import command  # noqa: E402
from sqlalchemy import func, select, text  # noqa: E402

from benchmarks.report import machine, table, versions  # noqa: E402
from benchmarks.storyfile_export import populate  # noqa: E402
from storage import digests  # noqa: E402
from storage.db import Database, alembic_config, open_database  # noqa: E402
from storage.models import Story, StoryEvent  # noqa: E402

HEADERS = ("step", "best ms", "median ms", "what")
NOW = datetime(2026, 12, 6, tzinfo=UTC)


def _timed(step: Callable[[], Any], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return times


def _row(name: str, times: list[float], what: str) -> tuple[str, ...]:
    best, median = min(times) * 1000, statistics.median(times) * 1000
    return (name, f"{best:.2f}", f"{median:.2f}", what)


def _digests_by_watermark(db: Database, every: int) -> tuple[int, int]:
    """Digest rows every ``every`` events of the story, as 0011 recorded them."""
    with db.write() as session:
        story_id, top = session.execute(
            select(StoryEvent.story_id, func.max(StoryEvent.id)).group_by(StoryEvent.story_id)
        ).one()
        marks = list(range(every, top + 1, every))
        for last in marks:
            session.execute(
                text(
                    "INSERT INTO digests (story_id, created_at, last_event_id, events,"
                    " recipients, delivered_to) VALUES (:s, :c, :l, :e, '[]', 'outbox')"
                ),
                {"s": story_id, "c": NOW.isoformat(), "l": last, "e": every},
            )
    return story_id, len(marks)


def _tick(db: Database, story_id: int) -> None:
    with db.write() as session:
        until = digests.claim(session, story_id, now=NOW)
    assert until is not None
    with db.write() as session:
        digests.release(session, story_id, until)


def measure(folder: Path, args: argparse.Namespace) -> tuple[list[tuple[str, ...]], str]:
    db = open_database(f"sqlite:///{folder / 'archive.sqlite'}")
    try:
        populate(db, n_articles=args.articles, n_versions=args.versions)
        command.downgrade(alembic_config(db.engine), "0011")
        story_id, n_digests = _digests_by_watermark(db, args.every)
        migrated = _timed(lambda: command.upgrade(alembic_config(db.engine), "head"), 1)
        with db.read() as session:
            events = session.scalar(select(func.count()).select_from(StoryEvent)) or 0
            marked = session.scalar(select(func.count(StoryEvent.digest_id))) or 0
            assert session.scalar(select(func.count()).select_from(Story)) == 1

        def check() -> None:
            with db.read() as session:
                digests.has_undigested(session, story_id)

        def states() -> None:
            with db.read() as session:
                digests.by_state(session)

        rows = [
            _row("migration 0011 -> 0012", migrated, f"{marked:,} of {events:,} events marked"),
            _row("tick's check, nothing to send", _timed(check, args.repeat), "one read"),
            _row("claim and release", _timed(lambda: _tick(db, story_id), args.repeat), "2 writes"),
            _row("by_state (metrics)", _timed(states, args.repeat), "one read"),
        ]
    finally:
        db.close()
    return rows, f"{events:,} events, {n_digests:,} digests"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--versions", type=int, default=20000)
    parser.add_argument("--every", type=int, default=20, help="events per digest")
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args(argv)
    before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="digests-bench-") as folder:
        rows, data = measure(Path(folder), args)
    shown = versions("sqlalchemy", "alembic")
    print(" ".join(f"{k} {v}" for k, v in shown.items()))
    print(f"data set (SQLite): {args.articles} articles, {args.versions} versions, {data}")
    print(machine(before))
    print()
    print(table(HEADERS, rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
