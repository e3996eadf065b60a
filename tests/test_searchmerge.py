"""The search index's merge (storage.searchmerge, ``monitor db optimize``) on real SQLite files
written an article per transaction, as the poll writes them, and on the suite's PostgreSQL."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from storage import articles, search, searchmerge
from storage.db import Database, open_database
from storage.search import Filters

T0 = datetime(2023, 3, 24, 9, tzinfo=UTC)
WORDS = [
    *("border", "crossing", "asylum", "seekers", "roxham", "road", "quebec", "new", "york"),
    *("closed", "agreement", "ottawa", "washington", "migrants", "police", "officers"),
    *("minister", "announced", "safe", "third", "country", "treaty"),
]
QUERIES = ('"roxham road"', "asylum", "minist*", "police OR treaty -quebec", "ottawa seekers")


def _text(k: int) -> str:
    """Article ``k``'s text: sixty of WORDS in an order of its own, then 300 words of its own
    (so that the index is some pages long and its merge takes several one-page steps)."""
    words = [WORDS[(k * 7 + i * (k % 5 + 1)) % len(WORDS)] for i in range(60)]
    return " ".join([*words, *(f"k{k}w{i}" for i in range(300))])


def _archive(url: str, n: int) -> Database:
    """``n`` articles stored one transaction each: FTS5 writes a segment per transaction."""
    db = open_database(url)
    _store(db, range(n))
    return db


def _store(db: Database, ks: range) -> None:
    for k in ks:
        with db.write() as session:
            article = articles.create_article(
                session,
                url=f"https://gazette.example/{k}",
                outlet="Gazette",
                domain="gazette.example",
                title=f"Roxham Road, day {k}",
                language="en",
                published_at=T0 + timedelta(hours=k),
                first_seen_at=T0 + timedelta(hours=k),
            )
            body = _text(k)
            articles.add_version(
                session,
                article,
                fetched_at=T0 + timedelta(hours=k),
                title=article.title,
                text=body,
                content_sha256=hashlib.sha256(body.encode()).hexdigest(),
                word_count=360,
                shingle_count=1,
                minhash=b"",
                changes={},
            )


def _segments(db: Database) -> int:
    with db.read() as session:
        count = searchmerge.segments(session)
    assert count is not None
    return count


def _answers(db: Database) -> list[object]:
    """Every QUERIES search's hits (url, score, snippet) and total."""
    out: list[object] = []
    with db.read() as session:
        for q in QUERIES:
            found = search.search(session, q, Filters(), limit=50)
            out.append(([(h.url, h.score, h.snippet) for h in found.hits], found.total))
    return out


def _sound(db: Database) -> None:
    """FTS5's own check of the index against the versions' texts (raises if they differ)."""
    with db.write() as session:
        session.execute(
            text("INSERT INTO version_search (version_search) VALUES ('integrity-check')")
        )


def test_a_merge_leaves_one_segment_and_every_answer_the_same(tmp_path: Path) -> None:
    """An index written an article per transaction holds several segments; merged, it holds
    one, passes FTS5's integrity check, and every search gives the same hits, scores,
    snippets and totals."""
    db = _archive(f"sqlite:///{tmp_path / 'a.sqlite'}", 40)
    try:
        before, answers = _segments(db), _answers(db)
        assert before > 1
        assert all(hits for hits, _ in answers)  # type: ignore[misc]
        merged = searchmerge.merge(db, now=T0)
        assert merged is not None and merged.done
        assert (merged.before, merged.after) == (before, 1)
        assert _segments(db) == 1
        _sound(db)
        assert _answers(db) == answers
    finally:
        db.close()


def test_a_merge_is_due_a_day_after_the_last_and_only_with_segments_to_merge(
    tmp_path: Path,
) -> None:
    """Never merged and several segments: due. Merged at T0, one segment: not due. New
    articles add segments: not due at T0 + 23 h, due at T0 + 1 day."""
    db = _archive(f"sqlite:///{tmp_path / 'a.sqlite'}", 12)
    try:
        assert searchmerge.due(db, now=T0)
        searchmerge.merge(db, now=T0)
        assert not searchmerge.due(db, now=T0 + timedelta(days=3))
        _store(db, range(12, 20))
        assert _segments(db) > 1
        assert not searchmerge.due(db, now=T0 + timedelta(hours=23))
        assert searchmerge.due(db, now=T0 + timedelta(days=1))
    finally:
        db.close()


def test_a_merge_within_a_budget_stops_and_the_next_goes_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With steps of one page and no time to spare, a merge takes one step and says it is not
    done (and stays due); the next merge finishes it, to one segment."""
    monkeypatch.setattr(searchmerge, "STEP_PAGES", 1)
    db = _archive(f"sqlite:///{tmp_path / 'a.sqlite'}", 40)
    try:
        first = searchmerge.merge(db, now=T0, budget_s=0.0)
        assert first is not None and (first.steps, first.done) == (1, False)
        assert searchmerge.due(db, now=T0)
        rest = searchmerge.merge(db, now=T0)
        assert rest is not None and rest.done and rest.steps > 1
        assert _segments(db) == 1
        assert not searchmerge.due(db, now=T0 + timedelta(hours=1))
    finally:
        db.close()


# A process that merges three steps, then starts a fourth and is killed before it commits.
_KILLED = textwrap.dedent(
    """
    import sqlite3, sys
    from datetime import UTC, datetime
    from storage import searchmerge
    from storage.db import open_database

    searchmerge.STEP_PAGES = 1
    db = open_database(sys.argv[1], existing=True)
    for _ in range(3):
        assert not searchmerge.merge(db, now=datetime.now(UTC), budget_s=0.0).done
    db.close()
    raw = sqlite3.connect(sys.argv[1].removeprefix("sqlite:///"), isolation_level=None)
    raw.execute("BEGIN IMMEDIATE")
    raw.execute("INSERT INTO version_search (version_search, rank) VALUES ('merge', -1)")
    print("inside a step", flush=True)
    sys.stdin.readline()
    """
)


def test_a_merge_killed_midway_leaves_a_sound_index_that_the_next_merge_finishes(
    tmp_path: Path,
) -> None:
    """A process killed (SIGKILL) after three committed steps of a merge and inside a fourth
    leaves an index that passes FTS5's integrity check and answers every search as before;
    the next merge goes on and ends with one segment."""
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    db = _archive(url, 40)
    answers = _answers(db)
    db.close()
    root = Path(__file__).resolve().parent.parent
    with subprocess.Popen(
        [sys.executable, "-c", _KILLED, url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    ) as child:
        try:
            assert child.stdout is not None
            assert child.stdout.readline() == "inside a step\n"
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    db = open_database(url, existing=True)
    try:
        assert _segments(db) > 1  # the merge was under way
        _sound(db)
        assert _answers(db) == answers
        merged = searchmerge.merge(db, now=T0)
        assert merged is not None and merged.done and _segments(db) == 1
        _sound(db)
        assert _answers(db) == answers
    finally:
        db.close()


def test_postgresql_has_nothing_to_merge(postgres_server: object) -> None:
    """On PostgreSQL (a GIN index, merged by autovacuum) the index has no segments to count,
    is never due, and a merge does nothing."""
    db = open_database(postgres_server.new_database())  # type: ignore[attr-defined]
    try:
        _store(db, range(3))
        with db.read() as session:
            assert searchmerge.segments(session) is None
        assert not searchmerge.due(db, now=T0)
        assert searchmerge.merge(db, now=T0) is None
    finally:
        db.close()


def test_monitor_db_optimize_merges_now_and_says_what_it_did(
    tmp_path: Path,
    postgres_server: object,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``monitor db optimize --url`` merges the index and prints the segments before and after;
    again, it says there is nothing to merge; on PostgreSQL, that there is nothing to do; a
    missing SQLite file is one line and exit 2, and no file appears."""
    from monitor.cli import main

    monkeypatch.delenv("MONITOR_CONFIG", raising=False)
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    db = _archive(url, 40)
    before = _segments(db)
    db.close()
    assert main(["db", "optimize", "--url", url]) == 0
    out = capsys.readouterr().out
    assert re.fullmatch(
        rf"{re.escape(url)}: search index of {before} segments merged into 1 in \d+ steps, "
        r"\d+\.\d s\n",
        out,
    ), out
    assert main(["db", "optimize", "--url", url]) == 0
    assert (
        capsys.readouterr().out
        == f"{url}: the search index is one segment already: nothing to merge\n"
    )

    pg = postgres_server.new_database()  # type: ignore[attr-defined]
    assert main(["db", "optimize", "--url", pg]) == 0
    assert capsys.readouterr().out.endswith(
        ": PostgreSQL merges its search index itself (autovacuum): nothing to do\n"
    )

    missing = tmp_path / "nowhere.sqlite"
    assert main(["db", "optimize", "--url", f"sqlite:///{missing}"]) == 2
    assert capsys.readouterr().err == f"monitor: error: --url {missing}: no such SQLite file\n"
    assert not missing.exists()
