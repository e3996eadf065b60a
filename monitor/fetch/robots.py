"""robots.txt per origin for article fetches: the edge. ``RobotsCache`` fetches each origin's
file through the caller's function, one entry per origin (scheme, host, port), one lock per
origin so that concurrent callers for an origin cause one fetch and callers for different
origins never wait for each other. ``now`` comes from the caller. What a file says and what
its fetch's outcome means is ``monitor.fetch.robots_rules`` (pure).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from monitor.errors import FetchError
from monitor.fetch.result import FetchResult
from monitor.fetch.robots_rules import (
    Entry,
    Verdict,
    interpret,
    origin_of,
    product_token,
    robots_url,
)
from monitor.log import log

logger = logging.getLogger(__name__)


@dataclass
class _Slot:
    lock: threading.Lock = field(default_factory=threading.Lock)
    entry: Entry | None = None


class RobotsCache:
    """robots.txt per origin, fetched with ``fetch`` at most once per ``ttl`` (``retry`` while
    unreachable). Safe to share between threads."""

    def __init__(
        self,
        fetch: Callable[[str], FetchResult],
        *,
        user_agent: str,
        ttl: float = 86400.0,
        retry: float = 3600.0,
    ) -> None:
        self._fetch = fetch
        self.token = product_token(user_agent)
        self.ttl = ttl
        self.retry = retry
        self._lock = threading.Lock()  # guards _slots only, never held during a fetch
        self._slots: dict[tuple[str, str, int], _Slot] = {}

    def entry(self, url: str, *, now: datetime) -> Entry | None:
        """The entry for ``url``'s origin, fetched first if missing or expired; None for a URL
        robots.txt does not apply to."""
        origin = origin_of(url)
        robots = robots_url(url)
        if origin is None or robots is None:
            return None
        with self._lock:
            slot = self._slots.setdefault(origin, _Slot())
        with slot.lock:
            current = slot.entry
            if current is None or now >= current.expires_at:
                outcome: FetchResult | FetchError
                try:
                    outcome = self._fetch(robots)
                except FetchError as exc:
                    outcome = exc
                current = interpret(
                    outcome,
                    robots=robots,
                    token=self.token,
                    now=now,
                    ttl=self.ttl,
                    retry=self.retry,
                    previous=current,
                )
                slot.entry = current
            return current

    def allowed(self, url: str, *, now: datetime) -> Verdict:
        """Whether we may fetch ``url``; a refusal is logged as ``robots_disallowed``."""
        entry = self.entry(url, now=now)
        if entry is None:
            # Not http(s): the fetcher refuses it with its own error.
            return Verdict(True, "", "robots.txt does not apply to this URL")
        verdict = entry.verdict(url)
        if not verdict.allowed:
            log(
                logger,
                "robots_disallowed",
                url=url,
                robots=verdict.robots,
                reason=verdict.reason,
            )
        return verdict

    def crawl_delay(self, url: str, *, now: datetime) -> float | None:
        """The Crawl-delay (seconds) ``url``'s robots.txt sets for us, if any."""
        entry = self.entry(url, now=now)
        return entry.rules.crawl_delay if entry else None
