"""robots.txt (RFC 9309), the pure part: what a file says and what a fetch of it means. No I/O
and no HTTP client: the outcome of the fetch comes in as a FetchResult or a FetchError, and
``now`` from the caller. The per-origin cache that fetches is ``monitor.fetch.robots``.

Two layers:

- ``Rules``: pure. robots.txt bytes (UTF-8, BOM dropped, invalid bytes replaced, cut at
  ``MAX_BYTES`` on a line boundary) parsed by protego, answering for our product token.
- ``interpret``: pure. The RFC's status rules, from the outcome of the robots.txt fetch:

  ====================================  =====================================================
  2xx                                   parse; cached for ``ttl``, or the Cache-Control
                                        max-age when shorter (never below ``MIN_LIFETIME``)
  3xx                                   followed by the fetcher; past its redirect limit, as
                                        a 4xx (RFC 9309 2.3.1.2)
  4xx except 429 (401 and 403 too)      "unavailable": everything allowed, cached for ``ttl``
  429, 5xx, timeout, connect, DNS,      "unreachable": everything disallowed, retried after
  TLS, blocked address, too large       ``retry`` (or the server's longer Retry-After); after
                                        ``GIVE_UP`` of that, everything allowed (2.3.1.4)
  ====================================  =====================================================

  An unreachable origin we already hold a file (or a 4xx) for keeps that copy instead of
  refusing everything: RFC 9309 2.4 lets a crawler use a cached copy past 24 hours while the
  file is unreachable, and one 503 on robots.txt should not stop a site we know the rules of.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal
from urllib.parse import urlsplit

from protego import Protego

from monitor.errors import ConfigError, FetchError
from monitor.fetch.result import FetchResult

# RFC 9309 2.5: a crawler may stop parsing here (and must read at least this much).
MAX_BYTES = 500 * 1024
# Cache-Control can shorten the cache lifetime, but not below this: "max-age=0" on a dynamic
# robots.txt would otherwise cost one extra request per article.
MIN_LIFETIME = 3600.0
# RFC 9309 2.3.1.4: unreachable for "a reasonably long period of time (for example, 30 days)".
GIVE_UP = timedelta(days=30)

# RFC 9309 2.3.1.2 lets a crawler treat too many redirects as "unavailable".
_UNAVAILABLE_KINDS = frozenset({"http_4xx", "too_many_redirects"})
_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d+)\"?", re.IGNORECASE)
# RFC 9309 2.2.1: the product token is made of letters, "_" and "-".
_TOKEN = re.compile(r"[A-Za-z_-]+")

Status = Literal["parsed", "unavailable", "unreachable"]


def product_token(user_agent: str) -> str:
    """The product token robots.txt groups are matched against: "news-monitor/0.1 (+...)" gives
    "news-monitor"."""
    match = _TOKEN.match(user_agent.strip())
    if match is None:
        raise ConfigError(
            f"fetch.user_agent {user_agent!r} does not start with a product token "
            "(letters, '_' and '-', as in 'news-monitor/0.1')"
        )
    return match.group()


def robots_url(url: str) -> str | None:
    """The robots.txt URL for ``url``'s origin; None for a URL that has none (not http(s))."""
    origin = origin_of(url)
    if origin is None:
        return None
    scheme, host, port = origin
    netloc = f"[{host}]" if ":" in host else host
    if port != (443 if scheme == "https" else 80):
        netloc = f"{netloc}:{port}"
    return f"{scheme}://{netloc}/robots.txt"


def origin_of(url: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        host = parts.hostname
        port = parts.port
    except ValueError:  # a bad port or an unbalanced IPv6 bracket
        return None
    if scheme not in ("http", "https") or not host:
        return None
    return scheme, host, port or (443 if scheme == "https" else 80)


def _cut(body: bytes) -> bytes:
    """The body up to MAX_BYTES, ending on a line boundary: a rule cut in half could allow
    more than the whole rule ("Allow: /a/b" cut to "Allow: /")."""
    if len(body) <= MAX_BYTES:
        return body
    head = body[:MAX_BYTES]
    end = max(head.rfind(b"\n"), head.rfind(b"\r"))
    return head[: end + 1] if end >= 0 else b""


@dataclass(frozen=True, eq=False)
class Rules:
    """The rules one robots.txt sets for our product token.

    ``parser`` None means no file applies and ``everything`` says whether all is allowed.
    """

    token: str
    parser: Protego | None = field(default=None, repr=False)
    everything: bool = True
    agent: str = "*"  # the name we query protego with: our token, or "*" (see parse)
    crawl_delay: float | None = None

    @classmethod
    def parse(cls, body: bytes, token: str) -> Rules:
        """Rules from robots.txt bytes; any bytes give rules (garbage allows everything)."""
        # utf-8-sig: protego would read a BOM as part of the first field name and lose the
        # first "User-agent" line.
        text = _cut(body).decode("utf-8-sig", errors="replace")
        parser = Protego.parse(text)
        agent = token if _group_is_ours(parser, token) else "*"
        # protego memoises the group match and builds its prefix index on first use; doing it
        # here, under the cache's per-origin lock, leaves only reads for the worker threads.
        parser.can_fetch("/", agent)
        return cls(token, parser, True, agent, parser.crawl_delay(agent))

    @classmethod
    def allow_all(cls, token: str) -> Rules:
        return cls(token, None, True)

    @classmethod
    def disallow_all(cls, token: str) -> Rules:
        return cls(token, None, False)

    def allowed(self, url: str) -> bool:
        if self.parser is None:
            return self.everything
        return self.parser.can_fetch(url, self.agent)


def _group_is_ours(parser: Protego, token: str) -> bool:
    """Whether the group protego picks for ``token`` is named by the whole token.

    protego also matches a group whose name is a prefix of the token ("User-agent: news" for
    "news-monitor"); RFC 9309 2.2.1 and Google's parser match the whole token, so such a group
    is skipped and the "*" group used instead. ``_get_matching_rule_set`` is private;
    tests/test_robots.py fails if it goes away.
    """
    match = getattr(parser, "_get_matching_rule_set", None)
    if match is None:
        return True
    group = match(token)
    return group is None or group.user_agent in ("*", token.lower())


@dataclass(frozen=True)
class Entry:
    """What we know of one origin's robots.txt, and until when."""

    robots: str  # the robots.txt URL
    status: Status
    rules: Rules
    note: str  # "HTTP 200", "HTTP 404", or the FetchError kind ("http_5xx", "timeout", ...)
    checked_at: datetime
    expires_at: datetime
    # Set while the file is unreachable: since when, and whether ``rules`` is an older copy.
    unreachable_since: datetime | None = None
    stale_copy: bool = False

    def verdict(self, url: str) -> Verdict:
        allowed = self.rules.allowed(url)
        if self.status == "parsed":
            word = "allowed" if allowed else "disallowed"
            reason = f"{word} by {self.robots}"
        elif self.status == "unavailable":
            reason = f"{self.robots} gave {self.note}: everything allowed"
        elif self.stale_copy:
            word = "allowed" if allowed else "disallowed"
            reason = (
                f"{word} by the last copy of {self.robots}; unreachable ({self.note}) since "
                f"{_iso(self.unreachable_since)}, retry after {_iso(self.expires_at)}"
            )
        elif allowed:
            reason = (
                f"{self.robots} unreachable ({self.note}) since {_iso(self.unreachable_since)}, "
                f"over {GIVE_UP.days} days: everything allowed"
            )
        else:
            reason = f"{self.robots} unreachable ({self.note}); retry after {_iso(self.expires_at)}"
        return Verdict(allowed, self.robots, reason)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    robots: str  # the robots.txt URL consulted ("" when none applies)
    reason: str


def _iso(when: datetime | None) -> str:
    return when.isoformat(timespec="seconds") if when else "?"


def _max_age(headers: Mapping[str, str]) -> float | None:
    match = _MAX_AGE.search(headers.get("cache-control", ""))
    return float(match.group(1)) if match else None


def interpret(
    outcome: FetchResult | FetchError,
    *,
    robots: str,
    token: str,
    now: datetime,
    ttl: float,
    retry: float,
    previous: Entry | None = None,
) -> Entry:
    """RFC 9309's reading of a robots.txt fetch (see the table in the module docstring).

    ``previous`` is the entry this one replaces: an unreachable file keeps its rules (if it was
    ever reached) and the time it became unreachable.
    """
    if isinstance(outcome, FetchResult) and 200 <= outcome.status < 300:
        return _parsed(outcome, robots, token, now, ttl)
    if isinstance(outcome, FetchError) and outcome.kind in _UNAVAILABLE_KINDS:
        note = f"HTTP {outcome.status}" if outcome.status else outcome.kind
        return Entry(
            robots, "unavailable", Rules.allow_all(token), note, now, now + timedelta(seconds=ttl)
        )
    # Unreachable: any other error (a BlockedAddressError is kind "blocked"), or a status the
    # fetcher passed through without being 2xx (a 304 to a request that was not conditional).
    if isinstance(outcome, FetchError):
        note = outcome.kind
        wait = max(retry, min(outcome.retry_delay(now) or 0.0, ttl))
    else:
        note = f"HTTP {outcome.status}"
        wait = retry
    return _unreachable(robots, token, note, now, now + timedelta(seconds=wait), previous)


def _parsed(outcome: FetchResult, robots: str, token: str, now: datetime, ttl: float) -> Entry:
    max_age = _max_age(outcome.headers)
    lifetime = ttl if max_age is None else min(ttl, max(max_age, MIN_LIFETIME))
    return Entry(
        robots,
        "parsed",
        Rules.parse(outcome.body, token),
        f"HTTP {outcome.status}",
        now,
        now + timedelta(seconds=lifetime),
    )


def _unreachable(
    robots: str, token: str, note: str, now: datetime, retry_at: datetime, previous: Entry | None
) -> Entry:
    """An unreachable file: the last copy if we ever had one, else everything disallowed, and
    everything allowed once it has been unreachable for GIVE_UP."""
    since = previous.unreachable_since if previous else None
    since = since or now
    if previous is not None and (previous.status != "unreachable" or previous.stale_copy):
        rules, stale = previous.rules, True
    elif now - since > GIVE_UP:
        rules, stale = Rules.allow_all(token), False
    else:
        rules, stale = Rules.disallow_all(token), False
    return Entry(
        robots,
        "unreachable",
        rules,
        note,
        now,
        retry_at,
        unreachable_since=since,
        stale_copy=stale,
    )
