"""The one exception tree of news-monitor.

::

    MonitorError                  anything this package raises on purpose
    ├── UserError                 the user's mistake: one line, exit code 2, never a traceback
    │   ├── ConfigError           a configuration file, key or environment variable is wrong
    │   ├── SeedError             a seed file cannot be read or lacks what it needs
    │   └── NotFoundError         a story slug, URL or file the user named does not exist
    ├── FetchError                a URL could not be fetched; ``kind`` is one of FETCH_ERROR_KINDS
    │   └── BlockedAddressError   the URL resolves to a private address and that is not allowed
    ├── ParseError                fetched bytes are not a feed we can read (``kind`` too)
    ├── ExtractError              a page holds no article text
    ├── ExtractorDied             the child process extracting a page died (killed, out of memory)
    ├── LabelError                a label names a story or article that is not there, or one
    │                             that cannot be labelled (a seed): exit code 1
    ├── StorageError              the database cannot be opened or migrated
    ├── ArchiveStop               a backfill stopped asking the archives: its request budget is
    │                             spent, or an archive asked for a longer wait than allowed
    ├── OpsError                  the daemon's health and metrics listener cannot listen
    ├── ServeError                `monitor serve` cannot listen on its address
    └── RequestError              a request to `monitor serve` cannot be answered (``status``
                                  400 or 404): answered as JSON, never raised past the server

Beside the tree, the storage layer (which never imports ``monitor``) raises its own
``storage.errors.DatabaseError`` for a storage fault met mid-command (a full disk, a corrupt
page, a server gone): the command line prints it as one line with exit code 1, and the daemon's
tick logs it, as they do a StorageError.

Library errors (httpx, feedparser, SQLAlchemy, tomllib) are translated where they happen,
with ``raise ... from exc``, so callers only ever catch these. A FetchError, ParseError,
ExtractError or ExtractorDied is recorded against its source or article and the round goes on;
a UserError stops the command with one line naming the file, key or URL.
"""

from __future__ import annotations

from datetime import datetime

# The closed set of ways a fetch or parse can fail, stored on the source (``error_kind``).
FETCH_ERROR_KINDS = (
    "dns",
    "connect",
    "tls",
    "timeout",
    "too_large",
    "too_many_redirects",
    "blocked",
    "bad_url",
    "http_4xx",
    "http_429",
    "http_5xx",
    "not_a_feed",
    "parse",
)


class MonitorError(Exception):
    """Base of every error news-monitor raises on purpose."""


class UserError(MonitorError):
    """A mistake the user can fix; printed as one line, exit code 2."""

    exit_code = 2


class ConfigError(UserError):
    """A configuration file, key or environment variable is wrong."""


class SeedError(UserError):
    """A seed file cannot be read or lacks what it needs."""


class NotFoundError(UserError):
    """Something the user named (story, URL, file) does not exist."""


class LabelError(MonitorError):
    """``monitor story label``: the story or article named is not there, or cannot be labelled.
    Exit code 1: the command ran against the archive and found nothing to label."""


class FetchError(MonitorError):
    """A URL could not be fetched.

    ``kind`` is one of FETCH_ERROR_KINDS; ``status`` is the HTTP status when there was one;
    ``retry_after`` is the server's Retry-After, when it sent one: seconds, or the time it named
    when only that is known (an HTTP date without a usable Date header). ``retry_delay(now)``
    reads either as seconds from the caller's clock, so a ``--now`` replay never mixes clocks.
    """

    def __init__(
        self,
        kind: str,
        url: str,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | datetime | None = None,
    ) -> None:
        assert kind in FETCH_ERROR_KINDS, kind
        super().__init__(f"{url}: {message}")
        self.kind = kind
        self.url = url
        self.message = message
        self.status = status
        self.retry_after = retry_after

    def retry_delay(self, now: datetime) -> float | None:
        """Seconds to wait from ``now`` before asking again, if the server said."""
        if isinstance(self.retry_after, datetime):
            return max(0.0, (self.retry_after - now).total_seconds())
        return self.retry_after


class BlockedAddressError(FetchError):
    """The URL resolves to a private, loopback or link-local address and that is not allowed."""

    def __init__(self, url: str, message: str) -> None:
        super().__init__("blocked", url, message)


class ParseError(MonitorError):
    """Fetched bytes are not a feed we can read; ``kind`` is ``not_a_feed`` or ``parse``."""

    def __init__(self, kind: str, message: str) -> None:
        assert kind in ("not_a_feed", "parse"), kind
        super().__init__(message)
        self.kind = kind


class ExtractError(MonitorError):
    """A page holds no article text we can use."""


class ExtractorDied(MonitorError):
    """The child process extracting a page (``[poll] extract_processes``) died before it
    answered: killed, out of memory, or a crash in C code. The page is recorded as failed."""


class ExtractTimedOut(ExtractorDied):
    """A page's extraction took longer than ``[poll] extract_timeout``: its child process was
    stopped, and the page is recorded as failed as if the child had died."""


class ArchiveStop(MonitorError):
    """A backfill stops asking the web archives for this run: its request budget is spent, or
    an archive asked it to wait longer than ``[reach] max_wait``. What it was answered is kept;
    the next run continues from there."""


class StorageError(MonitorError):
    """The database cannot be opened, reached or migrated."""


class OpsError(MonitorError):
    """The daemon's health and metrics listener (``[ops] listen``) cannot listen: the address is
    taken, not this machine's, or not allowed; exit code 1."""


class ServeError(MonitorError):
    """``monitor serve`` cannot listen on its host and port (in use, not an address here)."""


class RequestError(MonitorError):
    """A request ``monitor serve`` cannot answer: a bad parameter (``status`` 400, the message
    naming it) or something that is not there (404). The server answers it as JSON (or as an
    error page) with that status; it never reaches the command line."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
