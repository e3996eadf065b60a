"""What the commands share: reading the clock options and the configuration, and a read session
on the database. Imports only the configuration and the standard library: the library is
imported by each command once its arguments and configuration are known to be good."""

from __future__ import annotations

import argparse
import contextlib
import os
import shlex
import shutil
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from monitor import config as configmod
from monitor import log as logmod
from monitor.errors import NotFoundError, UserError

if TYPE_CHECKING:
    from monitor.app import App, StoryRef
    from storage.db import ReadSession


def now_option(value: str | None) -> datetime:
    """``--now``: the clock the pipeline sees, the real one when not given."""
    return datetime.now(UTC) if value is None else time_option("--now", value)


def time_option(option: str, value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"{option}: not an ISO 8601 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise UserError(f"{option}: give a UTC offset, e.g. {value}+00:00")
    return parsed.astimezone(UTC)


def day_option(option: str, value: str | None) -> datetime | None:
    """A day (midnight UTC) or an ISO 8601 time with its offset; None when not given."""
    return None if value is None else window_option(option, value)


def window_option(option: str, value: str, *, end: bool = False) -> datetime:
    """A window's edge: a day (``2023-03-01``, a UTC day: its start, or its last second with
    ``end``) or a time with its offset."""
    if len(value) == 10 and value[4:5] == "-" and value[7:8] == "-":
        try:
            day = datetime.fromisoformat(value).replace(tzinfo=UTC)
        except ValueError:
            raise UserError(f"{option}: not a day (YYYY-MM-DD): {value!r}") from None
        return day + timedelta(days=1, seconds=-1) if end else day
    return time_option(option, value)


def log_level(args: argparse.Namespace, default: str) -> str:
    """``--log-level`` if given (checked like ``[log] level``), else ``default``."""
    if args.log_level is None:
        return default
    try:
        return configmod.one_of(configmod.LOG_LEVELS, args.log_level)
    except ValueError as exc:
        raise UserError(f"--log-level: {exc}") from None


def load_config(args: argparse.Namespace) -> configmod.Config:
    """The configuration ``--config`` (or $MONITOR_CONFIG) names, with logging set up by it."""
    level = log_level(args, "")  # a wrong option is answered before a wrong file
    cfg = configmod.load(args.config)
    logmod.setup(level or cfg.log.level, cfg.log.format)
    return cfg


def writable_config(args: argparse.Namespace, command: str) -> None:
    """UserError unless a configuration file is named, for a command that writes to it."""
    if not (args.config or os.environ.get("MONITOR_CONFIG")):
        raise UserError(
            f"{command}: no configuration file to write to "
            "(give --config FILE or set MONITOR_CONFIG)"
        )


@contextlib.contextmanager
def reading(config: configmod.Config) -> Iterator[ReadSession]:
    """A read session on the configured database, which is closed on the way out. The
    database must exist: a mistyped SQLite path is an error, not a new empty archive."""
    from monitor.app import open_db

    db = open_db(config, existing=True)
    try:
        with db.read() as session:
            yield session
    finally:
        db.close()


def configured_story(app: App, config: configmod.Config, slug: str) -> StoryRef:
    """The story ``slug`` of the configuration (a command that decides needs its settings)."""
    story = next((s for s in app.stories if s.slug == slug), None)
    if story is None:
        raise NotFoundError(f"{config.path}: no [[story]] with slug {slug!r}")
    return story


def no_such_story(slug: str) -> NotFoundError:
    return NotFoundError(f"no story {slug!r} (see: monitor story list)")


def program() -> str:
    """This program as the user can type it again, for the commands a command suggests:
    ``monitor`` when that is what their shell finds, else the path they ran. The README's first
    command runs ``.venv/bin/monitor`` without activating the environment, where a suggestion
    saying ``monitor`` would be "command not found"."""
    ran = sys.argv[0] if sys.argv else ""
    if os.path.basename(ran) != "monitor":  # python -m monitor, or the library embedded
        return "monitor"
    found = shutil.which("monitor")
    with contextlib.suppress(OSError):  # either gone since: the path as run says most
        if found is not None and os.path.samefile(found, ran):
            return "monitor"
    return shlex.quote(ran)
