"""``monitor run``: the daemon. APScheduler ticks; the database says what is due.

One job runs every ``poll.tick`` seconds: it polls the sources whose ``next_check_at`` has come
(each source's own interval, backoff and Retry-After decide that), re-checks due articles and
sends digests when something changed. ``max_instances=1`` and ``coalesce`` mean a slow round is
never run twice at once nor queued up. SIGTERM and SIGINT set a stop flag that the round checks
between items, so the item in hand finishes and nothing is left half-written.
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
from monitor.poll.round import poll
from monitor.publish import digest
from monitor.stories import facts as kept_facts
from storage.errors import DatabaseError

logger = logging.getLogger(__name__)


def tick(app: App, stop: threading.Event) -> None:
    now = datetime.now(UTC)
    try:
        report = poll(app, now=now, stop=stop)
        if report.changed and not stop.is_set():
            digest.send_due(app, now=now)
        if not stop.is_set():
            kept_facts.refresh(app, now=now)
    except (MonitorError, DatabaseError) as exc:
        # A database outage, a full disk or a failed delivery: log it and try again at the
        # next tick.
        log(logger, "tick_failed", level=logging.ERROR, error=str(exc))


def run(config: Config, *, stop: threading.Event | None = None) -> None:
    """Run until SIGTERM/SIGINT (or until ``stop`` is set)."""
    stop = stop or threading.Event()
    app = open_app(config, now=datetime.now(UTC))
    scheduler = BackgroundScheduler(timezone=UTC)
    scheduler.add_job(
        tick,
        "interval",
        args=(app, stop),
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
    log(
        logger,
        "started",
        sources=len(config.sources),
        stories=len(config.stories),
        tick_s=config.poll.tick,
    )
    scheduler.start()
    try:
        while not stop.wait(1.0):
            pass
    finally:
        scheduler.shutdown(wait=True)  # lets the round in hand finish its current item
        for s, handler in previous.items():
            signal.signal(s, handler)
        app.close()
        log(logger, "stopped")
