"""Digests with several processes and crashes: three senders at once deliver one message, a
sender killed between the server's acceptance and the record is replaced by one that resends
the same message (same Message-ID) and records it sent, the daemon's own rounds deliver a
digest refused for now, a cron schedule holds across a replay, and migration 0013 keeps what
earlier digests showed."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from alembic import command
from sqlalchemy import select

from monitor import config as configmod
from monitor.app import App, open_app
from monitor.poll.round import poll
from monitor.publish import digest
from storage import digests
from storage.db import alembic_config
from storage.models import DigestEvent
from tests.conftest import at, with_db, write_demo_config
from tests.postgres import free_port
from tests.test_digest import Answering


class _Held:
    """An aiosmtpd handler that answers DATA only once ``gate`` is set (at most 25 s, under
    the sender's 30 s timeout): a delivery in progress stays in progress meanwhile."""

    def __init__(self) -> None:
        self.accepted: list = []
        self.gate = threading.Event()

    async def handle_DATA(self, server, session, envelope) -> str:
        await asyncio.get_running_loop().run_in_executor(None, self.gate.wait, 25)
        self.accepted.append(envelope)
        return "250 Message accepted for delivery"


def _serve(handler: object) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller


def _config(tmp_path: Path, replay, manifest: dict, *email_lines: str, db_url: str) -> Path:
    path = write_demo_config(
        tmp_path / "monitor.toml",
        base=replay.base,
        manifest=manifest,
        db=tmp_path / "unused.sqlite",  # the database comes from MONITOR_STORAGE_URL
        outbox=tmp_path / "outbox",
        extra=list(email_lines),
    )
    return path


def _env(db_url: str, **more: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    return clean | {"MONITOR_STORAGE_URL": db_url} | more


def _monitor(path: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "monitor", "--config", str(path), *args]


def _first_round(path: Path, db_url: str, replay, manifest: dict) -> datetime:
    config = configmod.load(str(path), env={"MONITOR_STORAGE_URL": db_url})
    spec = manifest["round"][0]
    replay.set_round(spec["name"])
    with open_app(config, now=at(spec["now"])) as app:
        poll(app, now=at(spec["now"]))
    return at(spec["now"])


def _status(path: Path, db_url: str) -> list[digests.Status]:
    config = configmod.load(str(path), env={"MONITOR_STORAGE_URL": db_url})
    with open_app(config, now=at("2023-03-23T18:00:00+00:00")) as app:
        return digest.status(app)


def _wait(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)
    return condition()


def _events(stderr: str) -> list[str]:
    return [json.loads(line)["event"] for line in stderr.splitlines() if line.startswith("{")]


SMTP = 'to = ["desk@example.org"]'


@pytest.mark.slow
def test_three_senders_started_at_once_deliver_one_message(db_url, replay, manifest, tmp_path):
    """Three `monitor digest send` processes at once: one builds the digest and claims it (its
    delivery held open meanwhile), the others find it built and claimed; the server gets one
    message and the digest is recorded sent once."""
    handler = _Held()
    controller = _serve(handler)
    try:
        smtp = f'smtp_url = "smtp://127.0.0.1:{controller.port}"'
        path = _config(tmp_path, replay, manifest, SMTP, smtp, db_url=db_url)
        now = _first_round(path, db_url, replay, manifest)
        send = _monitor(path, "digest", "send", "--now", now.isoformat())
        senders = [
            subprocess.Popen(
                send,
                env=_env(db_url),
                cwd=tmp_path,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(3)
        ]
        try:
            held = _wait(lambda: sum(p.poll() is not None for p in senders) >= 2, 180)
            assert held, "two senders did not finish while the third's delivery was held"
            handler.gate.set()
            outputs = [p.communicate(timeout=60) for p in senders]
        finally:
            for p in senders:
                if p.poll() is None:
                    p.kill()
                    p.wait()
    finally:
        handler.gate.set()
        controller.stop()
    for p, (_, err) in zip(senders, outputs, strict=True):
        assert p.returncode == 0, err[-2000:]
        assert "Traceback" not in err
    logged = [_events(err) for _, err in outputs]
    assert sorted(e.count("digest") for e in logged) == [0, 0, 1]
    assert sum(e.count("digest_built") for e in logged) == 1
    assert len(handler.accepted) == 1
    (row,) = _status(path, db_url)
    assert (row.state, row.attempts) == ("sent", 1)


@pytest.mark.slow
def test_a_sender_killed_after_the_server_accepted_resends_the_same_message_id(
    db_url, replay, manifest, tmp_path
):
    """SIGKILLed after the server accepted the digest and before recording it: the digest stays
    claimed until its lease ends, then the next sender resends the same bytes (the same
    Message-ID, which a mail system can drop) and records it sent, after two attempts."""
    handler = Answering()
    controller = _serve(handler)
    try:
        smtp = f'smtp_url = "smtp://127.0.0.1:{controller.port}"'
        path = _config(tmp_path, replay, manifest, SMTP, smtp, db_url=db_url)
        now = _first_round(path, db_url, replay, manifest)
        crashed = subprocess.run(
            _monitor(path, "digest", "send", "--now", now.isoformat()),
            env=_env(db_url, NEWS_MONITOR_CRASH_AT="digest.delivered"),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert crashed.returncode == -signal.SIGKILL, crashed.stderr[-2000:]
        (row,) = _status(path, db_url)
        assert (row.state, len(handler.accepted)) == ("sending", 1)
        for later, sent in ((digests.DIGEST_LEASE / 2, 1), (digests.DIGEST_LEASE, 2)):
            again = subprocess.run(
                _monitor(path, "digest", "send", "--now", (now + later).isoformat()),
                env=_env(db_url),
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert again.returncode == 0, again.stderr[-2000:]
            assert len(handler.accepted) == sent
    finally:
        controller.stop()
    ids = [
        email.message_from_bytes(e.content, policy=email.policy.default)["Message-ID"]
        for e in handler.accepted
    ]
    (row,) = _status(path, db_url)
    assert ids[0] == ids[1] == row.message_id
    assert (row.state, row.attempts) == ("sent", 2)


@pytest.mark.slow
def test_the_daemons_rounds_deliver_a_digest_refused_for_now(replay, manifest, tmp_path):
    """`monitor run` with the server answering 451 then 250: the daemon records the refusal,
    and one of its later rounds (no command run in between) delivers the digest once."""
    db_url = f"sqlite:///{tmp_path / 'monitor.sqlite'}"
    handler = Answering("451 4.7.1 Greylisted, try again", "250 OK")
    controller = _serve(handler)
    lines = [
        SMTP,
        f'smtp_url = "smtp://127.0.0.1:{controller.port}"',
        'retry_backoff = "1s"',
        "[poll]",
        'tick = "1s"',
        "[ops]",
        'listen = ""',
    ]
    path = _config(tmp_path, replay, manifest, *lines, db_url=db_url)
    _first_round(path, db_url, replay, manifest)
    daemon = subprocess.Popen(
        _monitor(path, "run"),
        env=_env(db_url),
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert _wait(lambda: len(handler.accepted) == 1, 120), "the daemon never retried"
    finally:
        daemon.send_signal(signal.SIGTERM)
        _, err = daemon.communicate(timeout=60)
        controller.stop()
    assert "digest_retry" in _events(err) and "digest" in _events(err)
    assert handler.tried == 2 and len(handler.accepted) == 1
    (row,) = _status(path, db_url)
    assert (row.state, row.attempts, row.last_reply) == ("sent", 2, "250 OK")


@pytest.mark.slow
def test_a_cron_schedule_holds_across_a_replay_with_now(replay, manifest, tmp_path):
    """Schedule `0 7 * * *` in America/Toronto through `monitor poll --now` for each round:
    round 1 (14:00 there) sends nothing; round 2 (next day, 17:00) sends the 07:00 digest with
    rounds 1 and 2; round 3 (two days on) sends one digest, that morning's, not one per day."""
    db_url = f"sqlite:///{tmp_path / 'monitor.sqlite'}"
    lines = [SMTP, 'schedule = "0 7 * * *"', 'timezone = "America/Toronto"']
    path = _config(tmp_path, replay, manifest, *lines, db_url=db_url)
    periods = []
    for spec in manifest["round"]:
        replay.set_round(spec["name"])
        proc = subprocess.run(
            _monitor(path, "poll", "--now", spec["now"]),
            env=_env(db_url),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        periods.append(sorted(r.period.isoformat() for r in _status(path, db_url)))
    assert periods == [
        [],
        ["2023-03-24T11:00:00+00:00"],
        ["2023-03-24T11:00:00+00:00", "2023-03-26T11:00:00+00:00"],
    ]
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 2


# -- migration 0013 ------------------------------------------------------------------------------


def test_migration_0013_keeps_what_each_digest_showed(db_url, demo_config, replay, manifest):
    """Down to 0012 and up again: the sent digests come back sent, each showing the same
    events, and the next run builds nothing new for them."""
    config = with_db(demo_config, db_url)
    with open_app(config, now=at(manifest["round"][0]["now"])) as app:
        replay.set_round("round-1")
        now = at(manifest["round"][0]["now"])
        poll(app, now=now)
        digest.run(app, now=now)
        shown = _shown(app)
        command.downgrade(alembic_config(app.db.engine), "0012")
        command.upgrade(alembic_config(app.db.engine), "head")
        assert _shown(app) == shown and shown
        assert [r.state for r in digest.status(app)] == ["sent"]
        assert digest.run(app, now=now).built == []


def _shown(app: App) -> set[int]:
    with app.db.read() as session:
        return set(session.scalars(select(DigestEvent.event_id)))
