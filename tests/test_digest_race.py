"""Digests with several senders: a story's digest is claimed (a lease) by one sender at a time,
events are covered by marking them with the digest that showed them (not by an id watermark),
so three `monitor digest send` at once send one digest, an event committed late with a lower id
is in the next digest, and a killed sender's claim ends with its lease."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from alembic import command
from sqlalchemy import func, insert, select, text

from monitor import config as configmod
from monitor.app import App, open_app
from monitor.poll.round import poll
from monitor.publish import digest
from storage import digests
from storage.db import alembic_config
from storage.models import Digest, Story, StoryEvent
from tests.conftest import at, with_db, write_demo_config
from tests.postgres import free_port

# -- helpers -------------------------------------------------------------------------------------


class _HeldStore:
    """An aiosmtpd handler that keeps every envelope and answers DATA only once ``gate`` is
    set (at most 25 s, under the sender's 30 s timeout): a delivery in progress stays in
    progress while the other senders try the same story."""

    def __init__(self) -> None:
        self.envelopes: list = []
        self.gate = threading.Event()

    async def handle_DATA(self, server, session, envelope) -> str:
        await asyncio.get_running_loop().run_in_executor(None, self.gate.wait, 25)
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def held_smtp() -> Iterator[tuple[Controller, _HeldStore]]:
    """A real SMTP server on 127.0.0.1 that holds each message until told to accept it."""
    handler = _HeldStore()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, handler
    finally:
        handler.gate.set()
        controller.stop()


def _first_round(app: App, replay, manifest: dict) -> datetime:
    spec = manifest["round"][0]
    replay.set_round(spec["name"])
    now = at(spec["now"])
    poll(app, now=now)
    return now


def _config_file(tmp_path: Path, replay, manifest: dict, extra: list[str] = ()) -> Path:
    return write_demo_config(
        tmp_path / "monitor.toml",
        base=replay.base,
        manifest=manifest,
        db=tmp_path / "unused.sqlite",  # the database comes from MONITOR_STORAGE_URL
        outbox=tmp_path / "outbox",
        extra=list(extra),
    )


def _env(db_url: str, **more: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    return clean | {"MONITOR_STORAGE_URL": db_url} | more


def _send_command(path: Path, now: datetime) -> list[str]:
    config = ["--config", str(path)]
    return [sys.executable, "-m", "monitor", *config, "digest", "send", "--now", now.isoformat()]


def _marks(app: App) -> dict[int, int | None]:
    """Each event's digest, by event id."""
    with app.db.read() as session:
        rows = session.execute(select(StoryEvent.id, StoryEvent.digest_id))
        return {event_id: digest_id for event_id, digest_id in rows}


def _digest_ids(app: App) -> list[int]:
    with app.db.read() as session:
        return list(session.scalars(select(Digest.id).order_by(Digest.id)))


def _wait(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.1)
    return condition()


def _events(stderr: str) -> list[str]:
    return [json.loads(line)["event"] for line in stderr.splitlines() if line.startswith("{")]


# -- several senders -----------------------------------------------------------------------------


@pytest.mark.slow
def test_three_senders_at_once_send_one_digest_per_story(
    db_url, replay, manifest, tmp_path, held_smtp
):
    """Three `monitor digest send` processes at once on one archive: the first to claim the
    story delivers (its SMTP delivery held open meanwhile), the other two skip it and say so;
    one message reaches the SMTP server, one digest is recorded and every event is marked
    with it."""
    controller, handler = held_smtp
    smtp = [f'smtp_url = "smtp://127.0.0.1:{controller.port}"', 'to = ["desk@example.org"]']
    path = _config_file(tmp_path, replay, manifest, smtp)
    config = configmod.load(str(path), env={"MONITOR_STORAGE_URL": db_url})
    with open_app(config, now=at(manifest["round"][0]["now"])) as app:
        now = _first_round(app, replay, manifest)
    senders = [
        subprocess.Popen(
            _send_command(path, now),
            env=_env(db_url),
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    try:
        # Two of them finish while the third's delivery is held: they found the story claimed.
        # Generous: on a loaded machine three cold starts can take a minute, and releasing the
        # delivery early would let the others find the story sent, not claimed.
        held = _wait(lambda: sum(p.poll() is not None for p in senders) >= 2, 180)
        assert held, "two senders did not finish while the third's delivery was held"
        handler.gate.set()
        outputs = [p.communicate(timeout=60) for p in senders]
    finally:
        for p in senders:
            if p.poll() is None:
                p.kill()
                p.wait()
    for p, (_, err) in zip(senders, outputs, strict=True):
        assert p.returncode == 0, err[-2000:]
        assert "Traceback" not in err
    logged = [_events(err) for _, err in outputs]
    assert sorted(events.count("digest") for events in logged) == [0, 0, 1]
    assert sorted(events.count("digest_skipped") for events in logged) == [0, 1, 1]
    assert len(handler.envelopes) == 1
    with open_app(config, now=now) as app:
        (only,) = _digest_ids(app)
        assert set(_marks(app).values()) == {only}
        with app.db.read() as session:
            assert session.scalar(select(Story.digest_claimed_until)) is None


# -- coverage by marking -------------------------------------------------------------------------


def _clone_event(app: App, event_id: int, *, new_id: int) -> None:
    """A copy of event ``event_id`` under the explicit id ``new_id``, not in any digest: an
    event whose transaction committed at another time than its id says."""
    with app.db.write() as session:
        row = session.get(StoryEvent, event_id)
        assert row is not None
        columns = ("story_id", "article_id", "at", "recorded_at", "event", "article_version")
        values = {c: getattr(row, c) for c in columns}
        values |= {"story_version": row.story_version, "detail": row.detail}
        session.execute(insert(StoryEvent).values(id=new_id, digest_id=None, **values))


def test_an_event_committed_late_with_a_lower_id_is_in_the_next_digest(
    db_url, demo_config, replay, manifest
):
    """A digest that showed an event with a high id does not cover a lower id committed after
    it: the next digest shows exactly that event, and the metrics' pending count sees it."""
    config = with_db(demo_config, db_url)
    with open_app(config, now=at(manifest["round"][0]["now"])) as app:
        now = _first_round(app, replay, manifest)
        first_event = min(_marks(app))
        top = max(_marks(app))
        _clone_event(app, first_event, new_id=top + 100)
        (first,) = digest.send_due(app, now=now)
        assert first.events == len(_marks(app))
        _clone_event(app, first_event, new_id=top + 1)
        with app.db.read() as session:
            assert digests.by_state(session)["pending"] == 1
        (second,) = digest.send_due(app, now=now)
        assert second.events == 1
        marks = _marks(app)
        one, two = _digest_ids(app)
        assert marks[top + 1] == two
        assert {d for e, d in marks.items() if e != top + 1} == {one}
        with app.db.read() as session:
            assert digests.by_state(session)["pending"] == 0
            assert session.get(Digest, two).last_event_id == top + 1
        assert digest.send_due(app, now=now) == []


def test_interleaved_transactions_on_postgresql_lose_no_event(
    postgres_server, demo_config, replay, manifest
):
    """On PostgreSQL a transaction that took the lower id commits after a digest showed the
    higher one (committed first): the next digest shows the late event."""
    config = with_db(demo_config, postgres_server.new_database())
    with open_app(config, now=at(manifest["round"][0]["now"])) as app:
        now = _first_round(app, replay, manifest)
        (first,) = digest.send_due(app, now=now)
        template = min(_marks(app))
        clone = (
            "INSERT INTO story_events (story_id, article_id, at, recorded_at, event,"
            " article_version, story_version, detail) SELECT story_id, article_id, at,"
            " recorded_at, event, article_version, story_version, detail FROM story_events"
            " WHERE id = :id RETURNING id"
        )
        with app.db.engine.connect() as slow, app.db.engine.connect() as fast:
            late = slow.execute(text(clone), {"id": template}).scalar_one()
            early = fast.execute(text(clone), {"id": template}).scalar_one()
            fast.commit()
            assert late < early
            (second,) = digest.send_due(app, now=now)
            slow.commit()
        (third,) = digest.send_due(app, now=now)
        assert (first.events > 1, second.events, third.events) == (True, 1, 1)
        marks = _marks(app)
        assert marks[early] == _digest_ids(app)[1] and marks[late] == _digest_ids(app)[2]


def test_the_migration_marks_what_earlier_digests_covered(db_url, demo_config, replay, manifest):
    """Migration 0012 on an archive digested by watermark: every event is marked with the first
    digest whose ``last_event_id`` reached it, and the events after the last digest with none."""
    config = with_db(demo_config, db_url)
    with open_app(config, now=at(manifest["round"][0]["now"])) as app:
        now = _first_round(app, replay, manifest)
        digest.send_due(app, now=now)
        spec = manifest["round"][1]
        replay.set_round(spec["name"])
        poll(app, now=at(spec["now"]))
        before = _marks(app)
        assert set(before.values()) == {_digest_ids(app)[0], None}
        command.downgrade(alembic_config(app.db.engine), "0011")
        command.upgrade(alembic_config(app.db.engine), "head")
        assert _marks(app) == before
        with app.db.read() as session:
            assert session.scalar(select(func.count()).select_from(Digest)) == 1


# -- a sender that dies --------------------------------------------------------------------------


@pytest.mark.slow
def test_a_killed_senders_claim_expires_and_the_digest_is_sent_then(
    db_url, replay, manifest, tmp_path
):
    """A sender SIGKILLed after delivering and before recording leaves the story claimed: a
    second sender skips it until the lease ends, then sends the digest again with every event
    (at least once: issue 17's outbox will record before sending)."""
    path = _config_file(tmp_path, replay, manifest)
    config = configmod.load(str(path), env={"MONITOR_STORAGE_URL": db_url})
    with open_app(config, now=at(manifest["round"][0]["now"])) as app:
        now = _first_round(app, replay, manifest)
    crashed = subprocess.run(
        _send_command(path, now),
        env=_env(db_url, NEWS_MONITOR_CRASH_AT="digest.delivered"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert crashed.returncode == -9, crashed.stderr[-2000:]
    assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
    with open_app(config, now=now) as app:
        assert _digest_ids(app) == []
        assert digest.send_due(app, now=now + digests.DIGEST_LEASE / 2) == []
        (sent,) = digest.send_due(app, now=now + digests.DIGEST_LEASE)
        assert sent.events == len(_marks(app))
        assert set(_marks(app).values()) == set(_digest_ids(app))
        with app.db.read() as session:
            assert session.scalar(select(Story.digest_claimed_until)) is None
