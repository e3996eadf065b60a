"""Claims on sources and re-checks end: a worker that stops cleanly gives back what it claimed
and did not record, so a restart polls at once; a worker that dies leaves claims that expire and
another worker takes over; `monitor run --workers N` restarts a worker that died and stops every
worker on SIGTERM."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor import config as configmod
from monitor.app import open_app
from monitor.poll.round import poll
from storage import queue
from storage.db import open_database
from storage.models import Article, Source
from tests.newsroom import Newsroom, round_time, serve_newsroom

NOW = round_time(0)
LEASE = timedelta(minutes=5)


def _claimed(url: str) -> list[str]:
    """The sources and articles still claimed at NOW."""
    db = open_database(url, migrate=False)
    try:
        with db.read() as session:
            sources = session.scalars(select(Source.url).where(Source.claimed_until > NOW))
            articles = session.scalars(
                select(Article.url).where(Article.claimed_until > NOW, Article.next_check_at > NOW)
            )
            return [*sources, *articles]
    finally:
        db.close()


def test_a_dead_workers_claims_expire_and_another_worker_takes_them_over(
    db_url: str, tmp_path: Path
) -> None:
    """Sources claimed by a worker that never records them (it died) are nobody else's until the
    lease ends, then the next claim takes every one of them."""
    newsroom = Newsroom(4)
    path = newsroom.write_config(tmp_path / "m.toml", "http://127.0.0.1:9", db_url, tmp_path / "s")
    with open_app(configmod.load(str(path)), now=NOW) as app:
        first = queue.claim_sources(app.db, now=NOW, limit=10, lease=LEASE)
        assert len(first) == 4
        assert queue.claim_sources(app.db, now=NOW + LEASE / 2, limit=10, lease=LEASE) == []
        later = queue.claim_sources(app.db, now=NOW + LEASE, limit=10, lease=LEASE)
        assert sorted(s.id for s in later) == sorted(s.id for s in first)


def test_release_gives_back_only_the_claims_a_worker_still_holds(
    db_url: str, tmp_path: Path
) -> None:
    """``queue.release`` frees the sources claimed until the worker's own lease end, and leaves
    alone one another worker took over since (its claim ends at another time)."""
    newsroom = Newsroom(3)
    path = newsroom.write_config(tmp_path / "m.toml", "http://127.0.0.1:9", db_url, tmp_path / "s")
    with open_app(configmod.load(str(path)), now=NOW) as app:
        mine = queue.claim_sources(app.db, now=NOW, limit=2, lease=LEASE)
        theirs = queue.claim_sources(app.db, now=NOW, limit=2, lease=LEASE * 2)
        released = queue.release(
            app.db,
            sources=[s.id for s in mine + theirs],
            source_until=NOW + LEASE,
            articles=[],
            article_until=NOW,
            now=NOW,
        )
        assert released == 2
        again = queue.claim_sources(app.db, now=NOW, limit=10, lease=LEASE)
        assert sorted(s.id for s in again) == sorted(s.id for s in mine)


def test_a_round_stopped_partway_leaves_nothing_claimed(db_url: str, tmp_path: Path) -> None:
    """A round stopped (SIGTERM's flag) while its pages are being fetched gives back every
    source and re-check it had claimed: a poll started right after it takes them all at once."""
    newsroom = Newsroom(6)
    stop = threading.Event()
    with serve_newsroom(newsroom) as server:
        path = newsroom.write_config(tmp_path / "m.toml", server.base, db_url, tmp_path / "s")
        config = configmod.load(str(path))
        server.on_page = lambda count: stop.set() if count >= 2 else None
        with open_app(config, now=NOW) as app:
            report = poll(app, now=NOW, stop=stop)
        assert report.stopped
        assert _claimed(db_url) == []
        server.on_page = None
        with open_app(config, now=NOW) as app:
            again = poll(app, now=NOW)
        assert report.sources_polled + again.sources_polled >= newsroom.sources
        assert again.articles_new > 0


def _env() -> dict[str, str]:
    """The environment without the caller's MONITOR_* settings; the workers' ops listeners on
    free ports (the default port may be taken on a shared machine)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    return clean | {"MONITOR_OPS_LISTEN": "127.0.0.1:0"}


def _records(log: Path) -> list[dict]:
    lines = log.read_text(encoding="utf-8", errors="replace").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def _started(log: Path) -> list[int]:
    return [r["pid"] for r in _records(log) if r.get("event") == "worker_started"]


def _daemons(log: Path) -> int:
    """How many workers' daemons have started."""
    return sum(r.get("event") == "started" for r in _records(log))


def _wait(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)
    return condition()


@pytest.mark.slow
def test_run_with_workers_restarts_a_dead_one_and_stops_all_on_sigterm(tmp_path: Path) -> None:
    """`monitor run --workers 2` starts two workers that poll the sources between them, starts
    another when one is SIGKILLed, and on SIGTERM stops every worker and then itself, exit 0,
    with no traceback and no claim left but the dead worker's, which expire."""
    newsroom = Newsroom(6)
    url = f"sqlite:///{tmp_path / 'm.sqlite'}"
    log = tmp_path / "run.log"
    with serve_newsroom(newsroom) as server, log.open("wb") as err:
        path = newsroom.write_config(tmp_path / "m.toml", server.base, url, tmp_path / "s")
        command = [sys.executable, "-m", "monitor", "--config", str(path), "run", "--workers", "2"]
        process = subprocess.Popen(
            command, cwd=tmp_path, env=_env(), stdout=subprocess.DEVNULL, stderr=err
        )
        try:
            assert _wait(lambda: server.pages >= 3, 60), "the workers fetched no page in 60 s"
            assert len(_started(log)) == 2
            assert _wait(lambda: _daemons(log) == 2, 60), "the two workers did not start"
            killed_at = datetime.now(UTC)
            os.kill(_started(log)[0], signal.SIGKILL)
            # The new worker's daemon started (its signals taken) before the SIGTERM.
            assert _wait(lambda: _daemons(log) == 3, 60), "no worker started in its place"
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=90)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    text = log.read_text(encoding="utf-8", errors="replace")
    assert process.returncode == 0, text[-3000:]
    assert "Traceback" not in text
    records = _records(log)
    assert [r["exitcode"] for r in records if r.get("event") == "worker_died"] == [-9]
    for pid in _started(log):
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # gone, and reaped by the parent
    # The two living workers, then the parent.
    assert sum(r.get("event") == "stopped" for r in records) == 3
    # The living workers gave their claims back; the SIGKILLed one's (if it held any) end
    # within one lease from its kill, for the others to take over (the test above).
    lease = timedelta(seconds=configmod.FetchSettings().total_timeout * 4 + 60)
    db = open_database(url, migrate=False)
    try:
        with db.read() as session:
            ends = session.scalars(
                select(Source.claimed_until).where(Source.claimed_until.is_not(None))
            )
            assert all(end <= killed_at + lease for end in ends)
    finally:
        db.close()


def test_each_worker_listens_on_its_own_ops_port() -> None:
    """``run --workers N``: worker 1 keeps ``[ops] listen``, worker n listens on the port plus
    n - 1 (two workers cannot bind one port); port 0 (any free port) and an empty address (no
    listener) are left as they are."""
    import dataclasses

    from monitor import config as configmod
    from monitor.workers import worker_config

    base = configmod.load(None, env={})
    assert worker_config(base, 1).ops.listen == "127.0.0.1:9108"
    assert worker_config(base, 3).ops.listen == "127.0.0.1:9110"
    v6 = dataclasses.replace(base, ops=dataclasses.replace(base.ops, listen="[::1]:9200"))
    assert worker_config(v6, 2).ops.listen == "[::1]:9201"
    for listen in ("", "127.0.0.1:0"):
        same = dataclasses.replace(base, ops=dataclasses.replace(base.ops, listen=listen))
        assert worker_config(same, 2).ops.listen == listen
