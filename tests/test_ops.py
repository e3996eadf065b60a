"""The daemon's operations in parts: the [ops] settings, the liveness rule, systemd's
notifications over a real Unix datagram socket, the HTTP listener over a real socket, the
readiness check and the database gauges on real databases, and the systemd unit."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import threading
import time
import urllib.error
import urllib.request
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor import config as configmod
from monitor.errors import ConfigError, OpsError
from monitor.ops.health import Liveness
from monitor.ops.listener import Answer, Listener, split_address
from monitor.ops.metrics import ArchiveCollector
from monitor.ops.notify import Notifier
from storage import schema
from storage.db import open_database
from tests.conftest import REPO

# --- [ops] settings ----------------------------------------------------------------------------


def test_ops_listen_defaults_to_loopback_and_reads_the_environment():
    """[ops] listen is 127.0.0.1:9108 by default, MONITOR_OPS_LISTEN overrides the file, and an
    empty value (which turns the listener off) is accepted from either."""
    assert configmod.load(None, env={}).ops.listen == "127.0.0.1:9108"
    env = {"MONITOR_OPS_LISTEN": "[::1]:0"}
    assert configmod.from_mapping({"ops": {"listen": "0.0.0.0:80"}}, env=env).ops.listen == (
        "[::1]:0"
    )
    assert configmod.from_mapping({"ops": {"listen": ""}}, env={}).ops.listen == ""
    assert configmod.load(None, env={"MONITOR_OPS_LISTEN": ""}).ops.listen == ""


@pytest.mark.parametrize("bad", ["9108", "localhost", "host:port", "::1:9108", "h:70000", "a b:1"])
def test_a_bad_listen_address_names_the_variable(bad):
    """A value that is not host:port is a configuration error naming MONITOR_OPS_LISTEN."""
    with pytest.raises(ConfigError) as info:
        configmod.load(None, env={"MONITOR_OPS_LISTEN": bad})
    assert str(info.value).startswith("environment MONITOR_OPS_LISTEN: expected host:port")


def test_a_bad_listen_address_in_the_file_names_the_file_and_key():
    """In the file, the message names the file, the section and the key."""
    with pytest.raises(ConfigError) as info:
        configmod.from_mapping({"ops": {"listen": 9108}}, where="m.toml", env={})
    assert str(info.value).startswith("m.toml: [ops] listen: expected host:port")


def test_split_address_reads_ipv4_ipv6_and_names():
    """The listener's host and port come out of each written form."""
    assert split_address("127.0.0.1:9108") == ("127.0.0.1", 9108)
    assert split_address("[::1]:0") == ("::1", 0)
    assert split_address("localhost:80") == ("localhost", 80)


# --- liveness ----------------------------------------------------------------------------------


def test_liveness_allows_a_tick_and_stall_after_since_the_last_beat():
    """Alive while the last beat is at most tick + stall_after old; a beat revives it; a
    stopped scheduler is never alive."""
    life = Liveness(tick_s=60, stall_after_s=600, now=1000.0)
    assert life.verdict(1000.0 + 660, scheduler_running=True).alive
    late = life.verdict(1000.0 + 661, scheduler_running=True)
    assert not late.alive
    assert "no progress for 661 s" in late.reason
    life.beat(1700.0, tick=True)
    assert life.verdict(1701.0, scheduler_running=True).alive
    assert life.ticks == 1
    assert not life.verdict(1701.0, scheduler_running=False).alive


def test_an_older_beat_from_another_thread_never_moves_the_clock_back():
    """Beats arrive from the fetch threads in any order: the newest one counts."""
    life = Liveness(tick_s=1, stall_after_s=1, now=0.0)
    life.beat(10.0)
    life.beat(5.0)
    assert life.verdict(11.5, scheduler_running=True).alive


# --- sd_notify ---------------------------------------------------------------------------------


@pytest.fixture
def notify_socket(tmp_path):
    """A Unix datagram socket standing in for systemd's NOTIFY_SOCKET."""
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(5)
    with closing(sock):
        yield path, sock


def test_notify_sends_ready_watchdog_and_stopping_datagrams(notify_socket):
    """READY=1 with a STATUS line, WATCHDOG=1 when WATCHDOG_USEC names this process, and
    STOPPING=1 arrive as one datagram each."""
    path, sock = notify_socket
    notifier = Notifier(
        {"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "4000000", "WATCHDOG_PID": str(os.getpid())}
    )
    assert notifier.enabled and notifier.watchdog_s == 4.0
    assert notifier.ready("polling 3 sources")
    assert notifier.watchdog()
    assert notifier.stopping()
    got = [sock.recv(4096).decode() for _ in range(3)]
    assert got == ["READY=1\nSTATUS=polling 3 sources", "WATCHDOG=1", "STOPPING=1\nSTATUS=stopping"]


def test_notify_reaches_an_abstract_socket():
    """A NOTIFY_SOCKET starting with @ is in the abstract namespace."""
    name = f"news-monitor-test-{os.getpid()}-{threading.get_ident()}"
    with closing(socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)) as sock:
        sock.bind("\0" + name)
        sock.settimeout(5)
        assert Notifier({"NOTIFY_SOCKET": "@" + name}).ready("up")
        assert sock.recv(4096) == b"READY=1\nSTATUS=up"


def test_no_watchdog_for_another_process_or_without_systemd(notify_socket):
    """WATCHDOG_PID naming another process, or no WATCHDOG_USEC, means no WATCHDOG=1; without
    NOTIFY_SOCKET nothing is sent at all."""
    path, _ = notify_socket
    other = Notifier({"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "1000", "WATCHDOG_PID": "1"})
    assert other.watchdog_s is None and not other.watchdog()
    assert not Notifier({"NOTIFY_SOCKET": str(path)}).watchdog()
    quiet = Notifier({})
    assert not quiet.enabled and not quiet.ready("x") and not quiet.stopping()


def test_a_notify_socket_that_is_gone_never_stops_the_daemon(tmp_path, caplog):
    """Sending to a socket that does not exist returns False and logs one warning, however
    often it is tried."""
    notifier = Notifier({"NOTIFY_SOCKET": str(tmp_path / "gone")})
    assert not notifier.ready("x")
    assert not notifier.stopping()
    assert [r.getMessage() for r in caplog.records].count("notify_failed") == 1


def test_a_notify_socket_nobody_reads_never_blocks_the_daemon(notify_socket, caplog):
    """When the reader has fallen behind and the socket's queue is full, a send fails at once
    (it would block until the reader read), is logged once, and the next sends go through
    again once the reader has caught up."""
    path, sock = notify_socket
    notifier = Notifier({"NOTIFY_SOCKET": str(path)})
    started = time.monotonic()
    sent = [notifier.send(f"STATUS={n}") for n in range(2_000)]
    assert time.monotonic() - started < 5
    assert sent[0] and not sent[-1]  # the queue filled and the sends failed, without waiting
    assert [r.getMessage() for r in caplog.records].count("notify_failed") == 1
    sock.setblocking(False)
    while True:
        try:
            sock.recv(4096)
        except BlockingIOError:
            break
    assert notifier.stopping()


# --- the listener ------------------------------------------------------------------------------


def _get(url: str, method: str = "GET") -> tuple[int, bytes, dict[str, str]]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), dict(exc.headers)


@pytest.fixture
def listener():
    """A listener on a free loopback port with the three routes answering canned replies; the
    third route raises, as a failing probe would."""

    def broken() -> Answer:
        raise RuntimeError("the database driver blew up")

    routes = {
        "/healthz": lambda: Answer(200, b'{"status": "ok"}'),
        "/readyz": lambda: Answer(503, b'{"status": "unready"}'),
        "/metrics": broken,
    }
    served = Listener("127.0.0.1:0", routes, where="test.toml: [ops] listen")
    served.start()
    try:
        yield served
    finally:
        served.close()


def test_the_listener_answers_its_routes_and_nothing_else(listener):
    """The three paths answer (a query string ignored); any other path is 404, a POST 501, a
    HEAD has headers only; the Server header names no Python version."""
    base = f"http://{listener.address}"
    status, body, headers = _get(base + "/healthz?verbose=1")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    assert headers["Server"] == "news-monitor"
    assert headers["Cache-Control"] == "no-store"
    assert _get(base + "/readyz")[0] == 503
    for path in ("/", "/healthz/", "/metrics/../etc/passwd", "/favicon.ico", "/HEALTHZ"):
        assert _get(base + path)[0] == 404, path
    assert _get(base + "/healthz", method="POST")[0] == 501
    status, body, headers = _get(base + "/healthz", method="HEAD")
    assert (status, body, headers["Content-Length"]) == (200, b"", "16")


def test_a_route_that_fails_answers_500_and_the_listener_goes_on(listener):
    """An exception behind a route is a 500 with a JSON body; the next request is served."""
    base = f"http://{listener.address}"
    status, body, _ = _get(base + "/metrics")
    assert (status, json.loads(body)) == (500, {"error": "internal error"})
    assert _get(base + "/healthz")[0] == 200


def test_a_taken_port_is_one_ops_error_naming_the_setting():
    """Binding an address another socket holds raises OpsError naming where it was configured
    and the system's reason."""
    with closing(socket.socket()) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OpsError) as info:
            Listener(f"127.0.0.1:{port}", {}, where="m.toml: [ops] listen")
    message = str(info.value)
    assert message == f"m.toml: [ops] listen: cannot listen on 127.0.0.1:{port}: " + (
        "Address already in use"
    )
    assert "\n" not in message


def test_an_unresolvable_host_is_one_ops_error():
    """A host name that does not resolve is an OpsError too, not a traceback."""
    with pytest.raises(OpsError, match=r"cannot listen on no-such-host\.invalid:0"):
        Listener("no-such-host.invalid:0", {}, where="[ops] listen")


# --- readiness and the database gauges ---------------------------------------------------------


def test_readiness_on_each_backend(db_url):
    """A migrated database is ready; one whose schema is behind the code's is not, and the
    reason names both revisions and the command that fixes it."""
    db = open_database(db_url)
    try:
        assert schema.unready(db.engine) is None
        with db.engine.begin() as connection:
            connection.exec_driver_sql("UPDATE alembic_version SET version_num = '0009'")
        reason = schema.unready(db.engine)
        assert reason == f"schema at 0009, the code needs {schema.head()}: run monitor db upgrade"
    finally:
        db.close()


def test_an_sqlite_file_that_is_gone_is_not_ready_and_is_not_recreated(tmp_path):
    """Removing the SQLite file makes the database unready, and neither the check nor the
    gauges' scrape brings an empty file back in its place."""
    path = tmp_path / "monitor.sqlite"
    db = open_database(f"sqlite:///{path}")
    try:
        collector = ArchiveCollector(db, lambda: datetime.now(UTC))
        assert _gauges(collector)["news_monitor_database_up"] == 1
        path.unlink()
        assert schema.unready(db.engine) == f"{path}: no such database file"
        assert _gauges(collector) == {"news_monitor_database_up": 0}
        assert not path.exists()
    finally:
        db.close()


def test_an_unreachable_server_is_not_ready():
    """A PostgreSQL URL nobody answers gives a one-line reason."""
    with closing(socket.socket()) as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    db = open_database(f"postgresql+psycopg://nobody@127.0.0.1:{port}/none", migrate=False)
    try:
        reason = schema.unready(db.engine)
    finally:
        db.close()
    assert reason is not None and reason.startswith("cannot reach the database: ")
    assert "\n" not in reason


def _gauges(collector: ArchiveCollector) -> dict[str, float]:
    out = {}
    for family in collector.collect():
        for sample in family.samples:
            key = sample.name + "".join(f"[{v}]" for v in sample.labels.values())
            out[key] = sample.value
    return out


def test_the_gauges_count_due_work_failing_sources_and_digests(hostile_story, tmp_path):
    """On a real archive the gauges agree with counts made directly in SQL at the same time."""
    path = tmp_path / "copy.sqlite"
    shutil.copy(hostile_story["db"], path)
    now = datetime(2030, 1, 1, tzinfo=UTC)
    db = open_database(f"sqlite:///{path}")
    try:
        got = _gauges(ArchiveCollector(db, lambda: now))
    finally:
        db.close()
    with closing(sqlite3.connect(path)) as conn:
        iso = now.isoformat(timespec="microseconds")
        due_sources = conn.execute(
            "SELECT count(*) FROM sources WHERE active AND next_check_at <= ? "
            "AND (claimed_until IS NULL OR claimed_until <= ?)",
            (iso, iso),
        ).fetchone()[0]
        rechecks = conn.execute(
            "SELECT count(*) FROM articles WHERE next_check_at <= ? AND status != 'removed' "
            "AND (claimed_until IS NULL OR claimed_until <= ?)",
            (iso, iso),
        ).fetchone()[0]
        failing = conn.execute(
            "SELECT count(*) FROM sources WHERE active AND failing_since IS NOT NULL"
        ).fetchone()[0]
        states = dict(
            conn.execute("SELECT state, count(*) FROM digest_outbox GROUP BY state").fetchall()
        )
    assert got["news_monitor_database_up"] == 1
    assert got["news_monitor_queue_depth[sources]"] == due_sources
    assert got["news_monitor_queue_depth[rechecks]"] == rechecks
    assert got["news_monitor_sources_failing"] == failing
    # The outbox by state, every state named; what waits to be sent is the queue's depth.
    for state in ("pending", "sending", "sent", "failed"):
        assert got[f"news_monitor_digests[{state}]"] == states.get(state, 0)
    assert got["news_monitor_queue_depth[digests]"] == states.get("pending", 0)


# --- the systemd unit --------------------------------------------------------------------------


def test_the_systemd_unit_verifies(tmp_path):
    """deploy/news-monitor.service passes systemd-analyze verify with no warning (its ExecStart
    pointed at this checkout's monitor, since /opt/news-monitor is not installed here)."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed (apt-get install systemd)")
    monitor = Path(REPO / ".venv" / "bin" / "monitor")
    if not monitor.exists():
        monitor = Path(shutil.which("monitor") or "/nonexistent")
    unit = (REPO / "deploy" / "news-monitor.service").read_text(encoding="utf-8")
    assert "Type=notify" in unit and "ExecStart=/opt/news-monitor/.venv/bin/monitor run" in unit
    local = tmp_path / "news-monitor.service"
    local.write_text(unit.replace("/opt/news-monitor/.venv/bin/monitor", str(monitor)))
    result = subprocess.run(
        [analyze, "verify", str(local)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr
