"""``monitor run``'s operations as a real process: its listener answers real HTTP requests
while it polls the demo replay on 127.0.0.1, its readiness follows the database, its liveness
follows the scheduler, and it speaks systemd's notification protocol over a real socket."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from storage import schema
from tests.conftest import toml_value, write_demo_config
from tests.httpserver import Handler, Reply, send

pytestmark = pytest.mark.slow

RSS = (
    b'<?xml version="1.0"?><rss version="2.0"><channel><title>Slow</title>'
    b"<link>http://example.org/</link><description>d</description></channel></rss>"
)


def _env(**extra: str) -> dict[str, str]:
    """The test's environment without MONITOR_* overrides or systemd's variables, plus
    ``extra``."""
    skip = ("MONITOR_", "NOTIFY_SOCKET", "WATCHDOG_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
    return {**env, **extra}


@contextmanager
def _daemon(
    config: Path, cwd: Path, env: dict[str, str]
) -> Iterator[tuple[subprocess.Popen, Path]]:
    """``monitor run`` with its standard error in a file; killed if the test did not stop it."""
    log = cwd / "daemon.log"
    with log.open("wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config), "run"],
            cwd=cwd,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    try:
        yield process, log
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def _wait(what: str, check: Callable[[], object], timeout: float = 30) -> object:
    """Poll ``check`` until it returns something true; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"not within {timeout:.0f} s: {what}")


def _address(log: Path) -> str | None:
    """The listener's address, from the daemon's ``started`` log line."""
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if '"event": "started"' in line:
            return json.loads(line)["ops_listen"]
    return None


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return 0, b""


def _samples(base: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, keyed by name and labels."""
    status, body = _get(base + "/metrics")
    assert status == 200
    out = {}
    for family in text_string_to_metric_families(body.decode("utf-8")):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def _stored(db: Path) -> set[str]:
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as conn:
        try:
            return {row[0] for row in conn.execute("SELECT url FROM articles")}
        except sqlite3.OperationalError:
            return set()


@pytest.fixture
def notify_socket() -> Iterator[tuple[str, list[str]]]:
    """systemd's notification socket, stood in for by a datagram socket in a short path (a
    Unix socket's path has at most 107 bytes, which pytest's folders can exceed), read as it
    arrives, as systemd reads it: the datagrams received so far are the list yielded."""
    folder = tempfile.mkdtemp(prefix="notify-", dir="/tmp")
    path = os.path.join(folder, "sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.1)
    received: list[str] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                received.append(sock.recv(4096).decode("utf-8"))
            except TimeoutError:
                continue

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        yield path, received
    finally:
        done.set()
        reader.join(timeout=5)
        sock.close()
        os.unlink(path)
        os.rmdir(folder)


def test_the_daemon_serves_health_readiness_and_metrics_and_notifies_systemd(
    tmp_path, replay, manifest, notify_socket
):
    """While polling the replay, /healthz is 200, /readyz 200, and /metrics counts the fetches
    and stored articles, with the tick counter moving between scrapes; /readyz turns 503 with
    its reason while the schema is behind or the SQLite file is gone, and 200 again after;
    systemd hears READY=1, then WATCHDOG=1, then STOPPING=1 on SIGTERM, and the log stays
    JSON lines with no traceback."""
    replay.set_round("round-1")
    db = tmp_path / "daemon.sqlite"
    expected = {replay.url(e["path"]) for e in manifest["expect"] if e["first_round"] == "round-1"}
    config = write_demo_config(
        tmp_path / "daemon.toml",
        base=replay.base,
        manifest=manifest,
        db=db,
        outbox=tmp_path / "outbox",
        extra=["[poll]", 'tick = "1s"', "[ops]", 'listen = "127.0.0.1:0"'],
    )
    path, received = notify_socket
    env = _env(NOTIFY_SOCKET=path, WATCHDOG_USEC="1000000")
    with _daemon(config, tmp_path, env) as (process, log):
        base = "http://" + str(_wait("the started line", lambda: _address(log)))
        _wait("/readyz 200", lambda: _get(base + "/readyz")[0] == 200)
        first = _samples(base)
        _wait("the round-1 articles stored", lambda: _stored(db) >= expected)
        _wait("a tick after them", lambda: _samples(base)[TICKS] > first[TICKS] + 1)
        later = _samples(base)
        assert _get(base + "/healthz")[0] == 200
        _check_counters(later, outlets=len(manifest["outlet"]), articles=len(expected))
        _check_readiness(base, db)
        assert _get(base + "/admin")[0] == 404
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
    _wait("STOPPING=1 read", lambda: any(d.startswith("STOPPING=1") for d in received), 5)
    _check_notifications(list(received))
    lines = log.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    assert "Traceback" not in log.read_text(encoding="utf-8")
    assert records[-1]["event"] == "stopped"


TICKS = ("news_monitor_ticks_total", (("result", "ok"),))


def _check_counters(samples: dict, *, outlets: int, articles: int) -> None:
    def value(name: str, **labels: str) -> float:
        return samples[(name, tuple(sorted(labels.items())))]

    assert value("news_monitor_fetches_total", kind="feed", result="ok") >= outlets
    assert value("news_monitor_fetches_total", kind="article", result="ok") >= articles
    assert value("news_monitor_ingest_seconds_count") >= articles
    assert value("news_monitor_ingest_seconds_sum") > 0
    decided = sum(v for (name, _), v in samples.items() if name == "news_monitor_articles_total")
    assert decided >= articles
    assert value("news_monitor_database_up") == 1
    assert value("news_monitor_sources_failing") == 0
    for queue in ("sources", "rechecks", "digests"):
        assert value("news_monitor_queue_depth", queue=queue) >= 0
    assert ("process_resident_memory_bytes", ()) in samples


def _check_readiness(base: str, db: Path) -> None:
    """/readyz follows the database: behind the code's schema, then gone, then back."""
    head = schema.head()
    previous = schema.pending(None)[-2].revision
    with closing(sqlite3.connect(db, timeout=30)) as conn:
        conn.execute("UPDATE alembic_version SET version_num = ?", (previous,))
        conn.commit()
        status, body = _get(base + "/readyz")
        assert status == 503
        assert json.loads(body) == {
            "status": "unready",
            "reason": f"schema at {previous}, the code needs {head}: run monitor db upgrade",
        }
        conn.execute("UPDATE alembic_version SET version_num = ?", (head,))
        conn.commit()
    assert _get(base + "/readyz")[0] == 200
    moved = db.with_suffix(".moved")
    db.rename(moved)
    try:
        status, body = _get(base + "/readyz")
        assert status == 503
        assert json.loads(body)["reason"] == f"{db}: no such database file"
        assert _samples(base)[("news_monitor_database_up", ())] == 0
    finally:
        moved.rename(db)
    assert _get(base + "/readyz")[0] == 200


def _check_notifications(got: list[str]) -> None:
    kinds = [d.splitlines()[0] for d in got]
    assert kinds.count("READY=1") == 1
    ready = kinds.index("READY=1")
    assert "WATCHDOG=1" in kinds[ready:]
    assert "WATCHDOG=1" not in kinds[:ready]
    stopping = kinds.index("STOPPING=1")
    assert stopping > ready and "WATCHDOG=1" not in kinds[stopping:]
    assert any(d.startswith("STATUS=last round") for d in got)


def test_healthz_turns_503_while_the_round_is_stuck_and_200_after(tmp_path, http_server):
    """With stall_after 1 s, a feed that takes 5 s to answer makes /healthz 503 ("stalled") in
    the meantime; once it answers, /healthz is 200 again."""
    released = []

    @http_server.route("/slow.xml")
    def _(h: Handler) -> None:
        h.stop.wait(5)
        released.append(True)
        send(h, Reply(200, RSS, {"Content-Type": "application/rss+xml"}))

    config = tmp_path / "stall.toml"
    config.write_text(
        "\n".join([
            "[storage]",
            f"url = {toml_value('sqlite:///' + str(tmp_path / 'stall.sqlite'))}",
            "[fetch]",
            "allow_private_networks = true",
            "per_host_delay = 0",
            "[poll]",
            'tick = "1s"',
            "[ops]",
            'listen = "127.0.0.1:0"',
            'stall_after = "1s"',
            "[[source]]",
            f"url = {toml_value(http_server.url('/slow.xml'))}",
        ])
        + "\n",
        encoding="utf-8",
    )  # fmt: skip
    with _daemon(config, tmp_path, _env()) as (process, log):
        base = "http://" + str(_wait("the started line", lambda: _address(log)))
        _, body = _wait("/healthz 503", lambda: _503(base), timeout=20)  # type: ignore[misc]
        assert json.loads(body)["status"] == "stalled"
        assert not released, "503 came only after the feed answered"
        _wait("/healthz 200 again", lambda: _get(base + "/healthz")[0] == 200, timeout=20)
        assert released
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0


def _503(base: str) -> tuple[int, bytes] | None:
    answer = _get(base + "/healthz")
    return answer if answer[0] == 503 else None


def test_a_taken_port_stops_the_daemon_with_one_line_and_exit_1(tmp_path):
    """`monitor run` whose [ops] listen is taken exits 1 with one line naming the file, the
    setting and the address, and no traceback."""
    with closing(socket.socket()) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = tmp_path / "taken.toml"
        config.write_text(
            f"[storage]\nurl = {toml_value('sqlite:///' + str(tmp_path / 'x.sqlite'))}\n"
            f'[ops]\nlisten = "127.0.0.1:{port}"\n',
            encoding="utf-8",
        )
        result = subprocess.run(
            [sys.executable, "-m", "monitor", "--config", str(config), "run"],
            cwd=tmp_path,
            env=_env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        f"monitor: error: {config}: [ops] listen: cannot listen on 127.0.0.1:{port}: "
        "Address already in use"
    )
    assert "Traceback" not in result.stderr
