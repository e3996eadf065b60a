"""``monitor run``, the daemon, as a real process polling the demo replay on 127.0.0.1 and
stopping cleanly on SIGTERM and SIGINT."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pytest

from tests.conftest import write_demo_config


def _write_config(tmp_path: Path, base: str, manifest: dict) -> tuple[Path, Path]:
    """A configuration file for the daemon against the replay at ``base``; returns it and the
    SQLite file it uses."""
    db = tmp_path / "daemon.sqlite"
    path = write_demo_config(
        tmp_path / "daemon.toml",
        base=base,
        manifest=manifest,
        db=db,
        outbox=tmp_path / "outbox",
        extra=[
            "[poll]",
            'tick = "1s"',
            "[log]",
            'format = "json"',
            'level = "info"',
            # A free port: the default 9108 may be taken by another daemon on the machine.
            "[ops]",
            'listen = "127.0.0.1:0"',
        ],
    )
    return path, db


def _stored(db: Path, urls: set[str]) -> set[str]:
    """Which of ``urls`` the daemon has stored so far (the file may not exist yet)."""
    if not db.exists():
        return set()
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn:
            rows = conn.execute("SELECT url FROM articles").fetchall()
    except sqlite3.OperationalError:
        return set()  # the migrations have not created the table yet
    return urls & {row[0] for row in rows}


def _merged(db: Path) -> bool:
    """Whether a round has merged the search index (storage.searchmerge records when)."""
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn:
            row = conn.execute(
                "SELECT value FROM meta WHERE name = 'search_index_merged_at'"
            ).fetchone()
    except sqlite3.OperationalError:
        return False
    return row is not None


def _env() -> dict[str, str]:
    """The test process's environment without MONITOR_* overrides that would change the run."""
    return {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_daemon_polls_then_stops_cleanly_on_a_signal(tmp_path, replay, manifest, signum):
    """The daemon stores the replay's round-1 articles and, at the end of that round, merges
    the search index into one segment; then exits 0 within 10 s of the signal, having logged
    one JSON object per line, fetches with url/status/duration_ms, the merge, and 'stopped'."""
    replay.set_round("round-1")
    config, db = _write_config(tmp_path, replay.base, manifest)
    expected = {replay.url(e["path"]) for e in manifest["expect"] if e["first_round"] == "round-1"}
    assert expected
    process = subprocess.Popen(
        [sys.executable, "-m", "monitor", "--config", str(config), "run"],
        cwd=tmp_path,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        stored: set[str] = set()
        while time.monotonic() < deadline and process.poll() is None:
            stored = _stored(db, expected)
            if stored == expected and _merged(db):
                break
            time.sleep(0.2)
        assert process.poll() is None, "the daemon exited before it was told to"
        assert stored == expected, f"stored after 30 s: {sorted(stored)}"
        started = time.monotonic()
        process.send_signal(signum)
        _, stderr = process.communicate(timeout=10)
        assert time.monotonic() - started < 10
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr.decode("utf-8", "replace")[-2000:]

    lines = stderr.decode("utf-8").splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert all(isinstance(r, dict) for r in records)
    fetches = [r for r in records if r.get("event") == "fetch"]
    assert fetches
    for record in fetches:
        assert {"url", "status", "duration_ms"} <= set(record)
    assert {r["url"] for r in fetches} >= expected
    merged = [r for r in records if r.get("event") == "search_index_merged"]
    assert [r["segments_after"] for r in merged] == [1]
    assert merged[0]["segments_before"] > 1
    stopping = [r for r in records if r.get("event") == "stopping"]
    assert [r.get("signal") for r in stopping] == [signal.Signals(signum).name]
    assert records[-1]["event"] == "stopped"
