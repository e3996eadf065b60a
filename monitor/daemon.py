"""``monitor run``: the daemon. APScheduler ticks; the database says what is due.

One job runs every ``poll.tick`` seconds: it polls the sources whose ``next_check_at`` has come
(each source's own interval, backoff and Retry-After decide that), re-checks due articles,
builds the digests that are due and sends them (retrying those refused for now) in every round,
then merges SQLite's search index when the last merge is a day old (monitor.poll.upkeep).
``max_instances=1`` and ``coalesce`` mean a slow round is never run twice at once nor queued up.
SIGTERM and SIGINT set a stop flag that the round checks between items, so the item in hand
finishes and nothing is left half-written.

Beside the scheduler, ``monitor.ops`` serves ``/healthz``, ``/readyz`` and ``/metrics`` on
``[ops] listen`` and speaks systemd's notification protocol when started by systemd.
"""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime
from types import FrameType

from apscheduler.schedulers.background import BackgroundScheduler

from monitor.app import App, open_app
from monitor.config import Config
from monitor.errors import MonitorError
from monitor.log import log
from monitor.ops.service import Ops
from monitor.poll import upkeep
from monitor.poll.report import RoundReport
from monitor.poll.round import poll
from monitor.publish import digest
from monitor.stories import facts as kept_facts
from storage.errors import DatabaseError

logger = logging.getLogger(__name__)


def tick(app: App, stop: threading.Event, ops: Ops) -> None:
    now = datetime.now(UTC)
    ops.tick_started()
    report: RoundReport | None = None
    try:
        report = poll(app, now=now, stop=stop)
        # Every round, changed or not: cron schedules fire and refused digests are retried.
        if not stop.is_set():
            _send_digests(app, now, ops)
        if not stop.is_set():
            kept_facts.refresh(app, now=now)
        if not stop.is_set():
            upkeep.merge_search_index(app, now=now, stop=stop)
    except (MonitorError, DatabaseError) as exc:
        # A database outage, a full disk or a failed delivery: log it and try again at the
        # next tick.
        log(logger, "tick_failed", level=logging.ERROR, error=str(exc))
        report = None
    finally:
        ops.tick_ended(report, at=datetime.now(UTC))


def _send_digests(app: App, now: datetime, ops: Ops) -> None:
    done = digest.run(app, now=now)
    ops.metrics.delivered(done.sent, failed=any(d.result != "sent" for d in done.delivered))


def run(config: Config, *, stop: threading.Event | None = None) -> None:
    """Run until SIGTERM/SIGINT (or until ``stop`` is set)."""
    stop = stop or threading.Event()
    app = open_app(config, now=datetime.now(UTC))
    try:
        ops = Ops(app, config)  # binds [ops] listen: a taken port stops here, exit 1
    except MonitorError:
        app.close()
        raise
    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.add_job(
        tick,
        "interval",
        args=(app, stop, ops),
        seconds=config.poll.tick,
        next_run_time=datetime.now(UTC),
        max_instances=1,
        coalesce=True,
        id="tick",
        misfire_grace_time=None,
    )

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log(logger, "stopping", signal=signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    scheduler.start()
    listening = ops.start(
        lambda: bool(scheduler.running),
        f"polling {len(config.sources)} sources for {len(config.stories)} stories",
    )
    log(
        logger,
        "started",
        sources=len(config.sources),
        stories=len(config.stories),
        tick_s=config.poll.tick,
        ops_listen=listening,
    )
    try:
        while not stop.wait(1.0):
            ops.watch()
    finally:
        ops.stopping()
        scheduler.shutdown(wait=True)  # lets the round in hand finish its current item
        for s, handler in previous.items():
            signal.signal(s, handler)
        ops.close()
        app.close()
        log(logger, "stopped")
