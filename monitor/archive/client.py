"""The polite, resumable way a backfill asks the web archives and news search services.

Every request goes through the one fetcher (``App.fetcher``: the private-network guard, the
size cap, redirects checked hop by hop, one request at a time per host), and on top of it:

- ``[reach] pause`` between two requests to one host, whatever ``[fetch] per_host_delay`` is;
- on 429, 5xx or a failed connection, up to ``retries`` more tries, after what Retry-After asks
  (seconds or a date) or else 2, 4, 8... seconds; a wait over ``max_wait`` stops the run;
- a budget of requests per run (``budget``): past it the run stops (``ArchiveStop``);
- every answer recorded (``storage.answered``, in its own transaction as it comes) and asked
  there first, so a run killed at any point is continued by the next and nothing answered is
  asked twice; an answer that failed after its retries is not recorded and is asked again;
- a progress line (``archive_progress``) with the count, the requests sent and an estimate of
  the time left.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from monitor.app import App
from monitor.errors import ArchiveStop, FetchError, ParseError
from monitor.log import log
from storage import answered
from storage.answered import Answer

logger = logging.getLogger(__name__)

# Statuses that are an answer about the thing asked for (it is not there), recorded as such.
DEFINITE = frozenset({400, 403, 404, 410, 451})
_RETRIED_KINDS = frozenset({"connect", "timeout", "http_429", "http_5xx"})


@dataclass
class ArchiveClient:
    """Asks the archives for one backfill run; ``sleep`` and ``clock`` are the real ones except
    where a test or benchmark replays time."""

    app: App
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    sent: int = 0  # requests sent this run
    remembered: int = 0  # asked, and answered from what an earlier run recorded
    _last: dict[str, float] = field(default_factory=dict)  # host -> when its last request began

    @property
    def budget(self) -> int:
        return self.app.config.reach.budget

    def get(
        self, url: str, *, accept: str = "*/*", check: Callable[[bytes], object] | None = None
    ) -> Answer | None:
        """The answer for ``url``: recorded before, else asked (and recorded); None when it
        failed after its retries (asked again by the next run). ``check`` reads a body before
        it is recorded: one it refuses (ParseError: truncated JSON) is asked again, like a
        5xx. Raises ArchiveStop when the budget is spent or the archive asks for too long a
        wait."""
        with self.app.db.read() as session:
            known = answered.find(session, url)
        if known is not None:
            self.remembered += 1
            return known
        answer = self._ask(url, accept, check)
        if answer is not None:
            with self.app.db.write() as session:
                answered.record(
                    session,
                    url,
                    status=answer.status,
                    final_url=answer.final_url,
                    body=answer.body,
                    now=datetime.now(UTC),
                )
        return answer

    def _ask(self, url: str, accept: str, check: Callable[[bytes], object] | None) -> Answer | None:
        settings = self.app.config.reach
        for attempt in range(settings.retries + 1):
            if self.sent >= self.budget:
                raise ArchiveStop(f"the request budget of {self.budget} is spent")
            self._pause(url)
            self.sent += 1
            try:
                result = self.app.fetcher.get(url, accept=accept, log_fields={"kind": "archive"})
            except FetchError as exc:
                if exc.status in DEFINITE:
                    return Answer(url, exc.status or 0, exc.url, b"")
                if exc.kind not in _RETRIED_KINDS or attempt == settings.retries:
                    log(logger, "archive_failed", level=logging.WARNING, url=url, error=str(exc))
                    return None
                self._wait(url, exc, attempt)
                continue
            try:
                if check is not None:
                    check(result.body)
            except ParseError as exc:
                log(logger, "archive_unreadable", level=logging.WARNING, url=url, error=str(exc))
                if attempt == settings.retries:
                    return None
                self._wait(url, FetchError("http_5xx", url, str(exc)), attempt)
                continue
            return Answer(url, result.status, result.url, result.body)
        return None

    def _pause(self, url: str) -> None:
        """One request at a time per host (the fetcher's gate), ``pause`` apart."""
        host = urlsplit(url).netloc
        last = self._last.get(host)
        if last is not None:
            left = self.app.config.reach.pause - (self.clock() - last)
            if left > 0:
                self.sleep(left)
        self._last[host] = self.clock()

    def _wait(self, url: str, exc: FetchError, attempt: int) -> None:
        asked = exc.retry_delay(datetime.now(UTC))
        wait = asked if asked is not None else float(2 ** (attempt + 1))
        if wait > self.app.config.reach.max_wait:
            raise ArchiveStop(f"{url}: asked to wait {wait:.0f} s (over [reach] max_wait)")
        log(logger, "archive_retry", url=url, status=exc.status, wait_s=wait, attempt=attempt + 1)
        self.sleep(wait)


@dataclass
class Progress:
    """Progress of one stage of a backfill: a log line every ``every`` items and at the end,
    with the count, the requests sent and an estimate of the time left."""

    client: ArchiveClient
    stage: str
    of: int
    every: int = 25
    done: int = 0
    started: float = field(default_factory=time.monotonic)

    def step(self, n: int = 1) -> None:
        self.done += n
        if self.done % self.every == 0 or self.done >= self.of:
            elapsed = time.monotonic() - self.started
            left = elapsed / self.done * (self.of - self.done) if self.done else None
            log(
                logger,
                "archive_progress",
                stage=self.stage,
                done=self.done,
                of=self.of,
                requests=self.client.sent,
                remembered=self.client.remembered,
                budget=self.client.budget,
                eta_s=round(left, 1) if left is not None else None,
            )
