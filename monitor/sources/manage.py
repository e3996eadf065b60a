"""Managing sources: find a site's feed, append sources to the configuration file, and say how
each configured source is doing.

The configuration file stays the truth (``app.open_app`` syncs its ``[[source]]`` tables into the
database), so adding a source appends a ``[[source]]`` table to it. The user's text is never
rewritten: new tables go after it, through a temporary file that must load as a configuration
before it replaces the original, so a failure never leaves a broken or truncated file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import tempfile
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from monitor import config as configmod
from monitor.errors import ConfigError, FetchError, NotFoundError, ParseError, UserError
from monitor.log import log
from monitor.sources.discover import common_urls, feed_links
from monitor.sources.opml import OpmlFeed, read_opml, write_opml
from monitor.urls import BadUrl, check_source_url, normalise_url

if TYPE_CHECKING:
    # The HTTP client and the feed parser (about 0.1 s of imports) are for adding a source;
    # listing them imports neither.
    from monitor.fetch.client import Fetcher
    from monitor.fetch.result import FetchResult
    from monitor.parse import Feed
    from storage.models import Source

logger = logging.getLogger(__name__)

# A page is welcome too: when the URL is a site's home page, discovery reads its <link>s.
DISCOVERY_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, text/html;q=0.8, */*;q=0.5"
)
# The database's limit on a source's name (storage.models.Source; its URL's is urls.URL_MAX).
NAME_MAX = 200


# --- discovery ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Found:
    url: str
    title: str | None
    kind: str  # the feed's format as the parser names it: rss20, atom10, json1, ...


def _read(result: FetchResult) -> Feed | None:
    from monitor.parse import parse_feed

    try:
        return parse_feed(result.body, result.url, result.headers)
    except ParseError:
        return None


def find_feed(fetcher: Fetcher, url: str) -> Found:
    """The feed at ``url``: the URL itself when it is a feed; else the first that parses of the
    feeds its page advertises, then of ``discover.COMMON_PATHS`` on the page's origin."""
    try:
        page = fetcher.get(url, accept=DISCOVERY_ACCEPT)
    except FetchError as exc:
        raise UserError(f"{url}: cannot fetch: {exc.message}") from exc
    feed = _read(page)
    if feed is not None:
        return Found(url, feed.title, feed.format)
    tried = {normalise_url(url), normalise_url(page.url)}
    count = 1
    for candidate in [*feed_links(page.body, page.url), *common_urls(page.url)]:
        if normalise_url(candidate) in tried:
            continue
        tried.add(normalise_url(candidate))
        count += 1
        try:
            result = fetcher.get(candidate, accept=DISCOVERY_ACCEPT)
        except FetchError as exc:
            log(logger, "discover_miss", level=logging.DEBUG, url=candidate, error=exc.kind)
            continue
        feed = _read(result)
        if feed is not None:
            return Found(candidate, feed.title, feed.format)
        log(logger, "discover_miss", level=logging.DEBUG, url=candidate, error="not_a_feed")
    raise UserError(f"{url}: no feed found (tried {count} addresses)")


# --- appending to the configuration file -------------------------------------------------------


@dataclass(frozen=True)
class NewSource:
    url: str
    name: str | None = None  # None: the host
    interval: float | None = None

    def named(self) -> NewSource:
        """This source with its name made fit for the file: one line, at most NAME_MAX
        characters, the URL's host when there is none."""
        name = " ".join((self.name or "").split())[:NAME_MAX].strip()
        return replace(self, name=name or urlsplit(self.url).hostname or self.url)


@dataclass
class Appended:
    added: list[NewSource] = field(default_factory=list)
    present: list[NewSource] = field(default_factory=list)  # already in the file (or twice here)
    invalid: list[tuple[NewSource, str]] = field(default_factory=list)  # with the reason


def site_url(text: str) -> str:
    """The URL a user typed, ``https://`` added when it has no scheme; UserError if it cannot
    be a source."""
    url = text.strip() if "://" in text else f"https://{text.strip()}"
    problem = check_url(url)
    if problem:
        raise UserError(f"{text}: {problem}")
    return url


def read_opml_files(paths: Sequence[str]) -> list[NewSource]:
    """The feeds of every OPML file in ``paths``, in order; UserError naming a file that is
    missing, unreadable or not OPML."""
    out: list[NewSource] = []
    for name in paths:
        try:
            body = Path(name).read_bytes()
        except FileNotFoundError:
            raise NotFoundError(f"{name}: no such file") from None
        except OSError as exc:
            raise UserError(f"{name}: cannot read: {exc.strerror or exc}") from None
        out += [NewSource(f.url, f.name) for f in read_opml(body, name)]
    return out


def export_opml(sources: Sequence[configmod.Source], *, now: datetime) -> str:
    """The configured ``sources`` as an OPML document."""
    feeds = [OpmlFeed(s.url, s.name) for s in sources]
    return write_opml(feeds, title="news-monitor sources", now=now)


def check_url(url: str) -> str | None:
    """Why ``url`` cannot be a source (the configuration's own rule, urls.check_source_url), or
    None."""
    try:
        check_source_url(url)
    except BadUrl as exc:
        return str(exc)
    return None


_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def toml_string(value: str) -> str:
    """``value`` as a TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif char < " " or char == "\x7f":
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _table(source: NewSource) -> list[str]:
    lines = ["[[source]]"]
    lines.append(f"name = {toml_string(source.name or '')}")
    lines.append(f"url = {toml_string(source.url)}")
    if source.interval is not None:
        lines.append(f"interval = {_number(source.interval)}")
    return lines


def _urls_in(text: str, where: str) -> set[str]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: invalid TOML: {exc}") from None
    tables: Any = data.get("source") or []
    return {
        normalise_url(t["url"])
        for t in (tables if isinstance(tables, list) else [])
        if isinstance(t, dict) and isinstance(t.get("url"), str)
    }


def append_sources(
    config_path: str | os.PathLike[str], new: Sequence[NewSource], *, comment: str | None = None
) -> Appended:
    """Append a ``[[source]]`` table for each of ``new`` not already in the file (URLs compared
    normalised); ``comment`` goes above them. The file is replaced only by a version that loads."""
    path = Path(os.path.realpath(config_path))  # replace the file a symlink points to, not it
    where = str(config_path)
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            text = handle.read()
    except FileNotFoundError:
        raise ConfigError(f"{where}: no such configuration file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{where}: cannot read: {exc}") from None
    known = _urls_in(text, where)
    result = Appended()
    for source in new:
        problem = check_url(source.url)
        if problem:
            result.invalid.append((source, problem))
            continue
        source = source.named()
        if normalise_url(source.url) in known:
            result.present.append(source)
        else:
            known.add(normalise_url(source.url))
            result.added.append(source)
    if not result.added:
        return result
    newline = "\r\n" if "\r\n" in text else "\n"
    lines = [f"# {' '.join(comment.split())}"] if comment else []
    for source in result.added:
        lines += [*_table(source), ""]
    if text and not text.endswith("\n"):
        text += newline
    text += newline + newline.join(lines)
    replace_checked(path, where, text, [s.url for s in result.added])
    return result


def replace_checked(path: Path, where: str, text: str, urls: list[str]) -> None:
    """Write ``text`` beside ``path``, check it loads with ``urls`` among its sources, and only
    then move it over ``path`` (atomic on POSIX and Windows)."""
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(OSError):
            os.chmod(temporary, stat.S_IMODE(os.stat(path).st_mode))
        try:
            loaded = configmod.load(temporary)
        except ConfigError as exc:
            message = str(exc).replace(temporary, where)
            raise ConfigError(f"{where}: not changed: {message}") from None
        listed = {normalise_url(s.url) for s in loaded.sources}
        missing = [u for u in urls if normalise_url(u) not in listed]
        if missing:  # e.g. sources given as an inline array, which [[source]] cannot extend
            raise ConfigError(f"{where}: not changed: cannot append {missing[0]}")
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


# --- state of the configured sources -----------------------------------------------------------


@dataclass(frozen=True)
class SourceStatus:
    name: str
    url: str
    state: str  # new, ok, backing_off, failing, inactive
    error_kind: str | None
    error_message: str | None
    error_count: int
    failing_since: datetime | None
    last_ok_at: datetime | None
    next_check_at: datetime | None
    items_seen: int

    def as_json(self) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return value.astimezone(UTC).isoformat() if value else None

        return {
            "name": self.name,
            "url": self.url,
            "state": self.state,
            "error_kind": self.error_kind,
            "error_message": self.error_message,
            "error_count": self.error_count,
            "failing_since": iso(self.failing_since),
            "last_ok_at": iso(self.last_ok_at),
            "next_check_at": iso(self.next_check_at),
            "items_seen": self.items_seen,
        }

    def as_line(self) -> str:
        def short(value: datetime | None) -> str:
            return f"{value.astimezone(UTC):%Y-%m-%d %H:%M}Z" if value else "-"

        state = {
            "backing_off": "backing off",
            "failing": f"failing since {short(self.failing_since)}",
        }.get(self.state, self.state)
        error = (
            " ".join(f"{self.error_kind}: {self.error_message or ''}".split())
            if self.error_kind
            else "-"
        )
        return (
            f"{self.name}\t{state}\t{error}\tnext {short(self.next_check_at)}\t"
            f"{self.items_seen} item{'' if self.items_seen == 1 else 's'}\t{self.url}"
        )


def never_polled(name: str, url: str) -> SourceStatus:
    """A configured source no archive holds yet."""
    return SourceStatus(name, url, "new", None, None, 0, None, None, None, 0)


def status_of(source: Source, *, now: datetime) -> SourceStatus:
    """How ``source`` is doing at ``now``: failing means errors for at least ``FAILING_FOR``
    (the day after which digests name it too)."""
    from storage.sources import FAILING_FOR  # imported here: it brings SQLAlchemy

    if not source.active:
        state = "inactive"
    elif source.error_count:
        long = source.failing_since is not None and source.failing_since <= now - FAILING_FOR
        state = "failing" if long else "backing_off"
    elif source.last_checked_at is None:
        state = "new"
    else:
        state = "ok"
    return SourceStatus(
        name=source.name,
        url=source.url,
        state=state,
        error_kind=source.error_kind,
        error_message=source.error_message,
        error_count=source.error_count,
        failing_since=source.failing_since,
        last_ok_at=source.last_ok_at,
        next_check_at=source.next_check_at if source.active else None,
        items_seen=source.items_seen,
    )
