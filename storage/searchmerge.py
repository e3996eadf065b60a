"""Keeping SQLite's search index quick to read: its segments merged into one, once a day.

FTS5 writes each transaction's new index entries as a new segment and merges four segments of
a size into one bigger (its ``automerge``), so an archive stored an article at a time holds
ten to thirty segments; a query looks every word up in every segment, once for every FTS5
cursor it opens. On a 100,000-article archive built by the search benchmark (21 segments) a
phrase search took 17.5 ms, and 14.6 ms with the segments merged into one; an OR query 14.1
and 10.6; 1,000 articles stored one transaction each after the merge made 10 segments and
15.6 ms (benchmarks/README.md, search.py). Merging rewrites the whole index (2.2 CPU s at
100,000 articles), so it runs when the last merge is MERGE_EVERY old, not whenever a segment
is added.

The merge is FTS5's own incremental one (``merge`` with a negative page count: every segment
into one, STEP_PAGES pages written per call; a call while such a merge is under way goes on
with it). Each step is its own write transaction: a process waiting to store an article waits
for one step (0.1-0.15 s at 100,000 articles), and a process killed mid-merge leaves the index
as its last committed step left it, which the next merge goes on from. Several processes may
merge at once: their steps take turns on SQLite's write lock.

PostgreSQL needs none of this: its GIN index's pending entries are merged into the index by
autovacuum and whenever they pass ``gin_pending_list_limit``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from storage import meta
from storage.db import Database

MERGE_EVERY = timedelta(days=1)
STEP_PAGES = 1_000
_MERGED_AT = "search_index_merged_at"
_MERGE = text("INSERT INTO version_search (version_search, rank) VALUES ('merge', :pages)")
_SEGMENTS = text("SELECT count(DISTINCT segid) FROM version_search_idx")


@dataclass(frozen=True)
class Merged:
    """What a merge did: the index's segments before and after, the steps taken, and whether
    it finished (False: stopped by its time budget or the stop flag; the next merge goes on)."""

    before: int
    after: int
    steps: int
    done: bool


def segments(session: Session) -> int | None:
    """How many segments the search index holds; None on PostgreSQL (a GIN index)."""
    if session.get_bind().dialect.name != "sqlite":
        return None
    return int(session.execute(_SEGMENTS).scalar_one())


def due(db: Database, *, now: datetime) -> bool:
    """Whether the index is to be merged: on SQLite, more than one segment and no merge
    finished within MERGE_EVERY of ``now``."""
    if db.dialect != "sqlite":
        return False
    with db.read() as session:
        last = meta.get(session, _MERGED_AT)
        if last is not None and now - datetime.fromisoformat(last) < MERGE_EVERY:
            return False  # most rounds: one row read, not the index's segments counted
        return (segments(session) or 0) > 1


def merge(
    db: Database,
    *,
    now: datetime,
    budget_s: float | None = None,
    stop: threading.Event | None = None,
) -> Merged | None:
    """Merge the search index's segments into one, a step at a time, until FTS5 has nothing
    left to merge, ``budget_s`` seconds have gone (the step in hand finishes) or ``stop`` is
    set; record ``now`` as the last merge when it finishes. None on PostgreSQL."""
    if db.dialect != "sqlite":
        return None
    with db.read() as session:
        before = segments(session) or 0
    started, steps, done = time.monotonic(), 0, False
    while not done:
        if stop is not None and stop.is_set():
            break
        if budget_s is not None and steps and time.monotonic() - started >= budget_s:
            break
        with db.write() as session:
            done = not _step(session)
            steps += 1
            if done:
                meta.put(session, _MERGED_AT, now.isoformat())
    with db.read() as session:
        after = segments(session) or 0
    return Merged(before, after, steps, done)


def _step(session: Session) -> bool:
    """One step of FTS5's merge of every segment into one; whether it did any work. FTS5's
    documented test: the connection's total changes grow by 2 or more when it merged."""
    driver = session.connection().connection.driver_connection
    changes = driver.total_changes  # type: ignore[union-attr]
    session.execute(_MERGE, {"pages": -STEP_PAGES})
    return bool(driver.total_changes - changes >= 2)  # type: ignore[union-attr]
