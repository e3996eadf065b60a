"""The daemon's operations, put together: the listener's three answers, the liveness the
scheduler feeds, the metrics the round feeds, and systemd's notifications.

``monitor.daemon`` makes one ``Ops`` after opening the app and calls it at each tick's start and
end, once a second from its main loop (``watch``: the systemd watchdog is fed only while the
daemon is alive by the same rule as ``/healthz``), and on the way out.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from monitor.app import App
from monitor.config import Config
from monitor.ops.health import Liveness
from monitor.ops.listener import Answer, Listener
from monitor.ops.metrics import Metrics
from monitor.ops.notify import Notifier
from monitor.poll.report import RoundReport
from storage import schema


def _json(status: int, body: dict[str, Any]) -> Answer:
    return Answer(status, (json.dumps(body) + "\n").encode("utf-8"))


class Ops:
    def __init__(
        self,
        app: App,
        config: Config,
        *,
        notifier: Notifier | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.clock = clock
        self.notifier = notifier or Notifier()
        self.liveness = Liveness(
            tick_s=config.poll.tick, stall_after_s=config.ops.stall_after, now=clock()
        )
        self.metrics = Metrics(app.db)
        self.scheduler_running: Callable[[], bool] = lambda: False
        self._fed = clock()
        self._ready = False  # the watchdog is fed only between READY=1 and STOPPING=1
        self._stopping = False
        self.listener: Listener | None = None
        if config.ops.listen:
            routes = {"/healthz": self.healthz, "/readyz": self.readyz, "/metrics": self.scrape}
            self.listener = Listener(
                config.ops.listen, routes, where=f"{config.path}: [ops] listen"
            )
        # The round reports its progress through these (each also proves the daemon alive).
        app.fetcher.on_fetch = self._fetched
        app.on_ingest = self._ingested

    # -- the three answers -----------------------------------------------------------------

    def healthz(self) -> Answer:
        verdict = self.liveness.verdict(self.clock(), scheduler_running=self.scheduler_running())
        body = {
            "status": "ok" if verdict.alive else "stalled",
            "reason": verdict.reason,
            "last_progress_s": round(verdict.last_beat_s or 0.0, 3),
            "ticks": self.liveness.ticks,
        }
        return _json(200 if verdict.alive else 503, body)

    def readyz(self) -> Answer:
        reason = schema.unready(self.app.db.engine)
        if reason is None:
            return _json(200, {"status": "ready", "schema": schema.head()})
        return _json(503, {"status": "unready", "reason": reason})

    def scrape(self) -> Answer:
        body, content_type = self.metrics.exposition()
        return Answer(200, body, content_type)

    # -- what the daemon calls ---------------------------------------------------------------

    def start(self, scheduler_running: Callable[[], bool], status: str) -> str | None:
        """Serve, and tell systemd the daemon is ready; returns the listener's address."""
        self.scheduler_running = scheduler_running
        if self.listener is not None:
            self.listener.start()
        self.notifier.ready(status)
        self._ready = True
        self._feed()
        return self.listener.address if self.listener else None

    def tick_started(self) -> None:
        self.liveness.beat(self.clock(), tick=True)
        self._feed()

    def tick_ended(self, report: RoundReport | None, *, at: datetime) -> None:
        self.liveness.beat(self.clock())
        self.metrics.round_done(report, at=at)
        self._feed()
        if report is not None:
            self.notifier.send(
                f"STATUS=last round {at.isoformat(timespec='seconds')}: "
                f"{report.sources_polled} sources polled, {report.articles_new} new articles"
            )

    def watch(self) -> None:
        """Between ticks: feed the watchdog at half its period, while alive."""
        period = self.notifier.watchdog_s
        if period is not None and self.clock() - self._fed >= period / 2:
            self._feed()

    def stopping(self) -> None:
        self._stopping = True  # the round in hand still ends, but the watchdog is not fed again
        self.notifier.stopping()

    def close(self) -> None:
        if self.listener is not None:
            self.listener.close()

    # -- inside ----------------------------------------------------------------------------

    def _feed(self) -> None:
        now = self.clock()
        alive = self.liveness.verdict(now, scheduler_running=self.scheduler_running()).alive
        if alive and self._ready and not self._stopping and self.notifier.watchdog():
            self._fed = now

    def _fetched(self, kind: str, result: str) -> None:
        self.liveness.beat(self.clock())
        self.metrics.fetched(kind, result)

    def _ingested(self, seconds: float) -> None:
        self.liveness.beat(self.clock())
        self.metrics.ingested(seconds)
