"""The whole configuration: the file read and parsed (tomllib), its sections and tables checked,
the environment's overrides applied. A mistake is one ConfigError line naming the file (or the
variable), the place and what is wrong."""

from __future__ import annotations

import dataclasses
import difflib
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.config.reach import ReachSettings
from monitor.config.reading import read_section
from monitor.config.sections import (
    SECTIONS,
    SETTINGS,
    EmailSettings,
    FetchSettings,
    LogSettings,
    MatchSettings,
    OpsSettings,
    PollSettings,
    StorageSettings,
    WebSettings,
)
from monitor.config.tables import (
    TABLES,
    Recipient,
    Source,
    Story,
    read_recipients,
    read_sources,
    read_stories,
)
from monitor.errors import ConfigError


@dataclass(frozen=True)
class Config:
    path: str
    storage: StorageSettings = field(default_factory=StorageSettings)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    poll: PollSettings = field(default_factory=PollSettings)
    match: MatchSettings = field(default_factory=MatchSettings)
    email: EmailSettings = field(default_factory=EmailSettings)
    web: WebSettings = field(default_factory=WebSettings)
    log: LogSettings = field(default_factory=LogSettings)
    ops: OpsSettings = field(default_factory=OpsSettings)
    reach: ReachSettings = field(default_factory=ReachSettings)
    sources: tuple[Source, ...] = ()
    stories: tuple[Story, ...] = ()
    # [[recipient]] tables, then one per [email] to address: see ``recipients``.
    recipient_tables: tuple[Recipient, ...] = ()
    # "section.key": where a setting given in the file or the environment came from, as
    # messages name it ("environment MONITOR_STORAGE_URL", "monitor.toml: [storage] url").
    origins: Mapping[str, str] = field(default_factory=dict)

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)

    @property
    def recipients(self) -> tuple[Recipient, ...]:
        """Every digest recipient: the ``[[recipient]]`` tables, then ``[email] to`` on the
        ``[email]`` schedule (computed here, so a test that replaces ``email`` sees it)."""
        e = self.email
        tables = [r for r in self.recipient_tables if r.address not in e.to]
        return (*tables, *(Recipient(a, e.schedule, e.timezone, e.quiet, None) for a in e.to))

    def where(self, section: str, key: str) -> str:
        """Where ``[section] key`` was set, for a message about its value found wrong later
        (a database URL no driver reads): the variable or the file's key."""
        return self.origins.get(f"{section}.{key}") or f"{self.path}: [{section}] {key}"


# MONITOR_* variables that are not settings: MONITOR_CONFIG names the file. MONITOR_TEST_*
# belong to the test suite (MONITOR_TEST_POSTGRES=skip), which the commands it runs inherit.
OTHER_VARIABLES = ("MONITOR_CONFIG",)
TEST_PREFIX = "MONITOR_TEST_"


def variables() -> list[str]:
    """Every MONITOR_* variable the configuration reads: settings, secrets' _FILE variables,
    MONITOR_CONFIG."""
    names = [s.env for s in SETTINGS] + [s.env_file for s in SETTINGS if s.env_file]
    return [*names, *OTHER_VARIABLES]


def check_environment(env: Mapping[str, str]) -> None:
    """A MONITOR_* variable that names no setting is a mistake (a misspelt override would
    otherwise be silently ignored), refused like an unknown key of the file."""
    known = variables()
    for name in sorted(env):
        if not name.startswith("MONITOR_") or name in known or name.startswith(TEST_PREFIX):
            continue
        near = difflib.get_close_matches(name, known, n=1, cutoff=0.8)
        hint = f" (did you mean {near[0]}?)" if near else " (see docs/configuration.md)"
        raise ConfigError(f"environment {name}: unknown setting{hint}")


def from_mapping(
    data: Mapping[str, Any],
    *,
    where: str = "<config>",
    base: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Config:
    """Build a Config from parsed TOML (``where`` names the file in error messages)."""
    env = os.environ if env is None else env
    check_environment(env)
    base = base or Path.cwd()
    known = set(SECTIONS) | set(TABLES)
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"{where}: [{unknown[0]}]: unknown section (known: {', '.join(sorted(known))})"
        )
    origins: dict[str, str] = {}
    sections = {name: read_section(name, data.get(name), env, where, origins) for name in SECTIONS}
    sources = read_sources(data.get("source"), where, sections["reach"])
    stories = read_stories(data.get("story"), sources, base, where)
    email = sections["email"]
    defaults = {"schedule": email.schedule, "timezone": email.timezone, "quiet": email.quiet}
    recipients = read_recipients(data.get("recipient"), stories, email.to, defaults, where)
    return Config(
        path=where,
        sources=sources,
        stories=stories,
        recipient_tables=recipients[: len(recipients) - len(email.to)],
        origins=origins,
        **sections,
    )


def load(path: str | os.PathLike[str] | None, *, env: Mapping[str, str] | None = None) -> Config:
    """Load the configuration from ``path`` (or $MONITOR_CONFIG); no file means all defaults."""
    env = os.environ if env is None else env
    if path is None:
        path = env.get("MONITOR_CONFIG") or None
    if path is None:
        return from_mapping({}, where="<defaults>", env=env)
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{file}: no such configuration file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: invalid TOML: {exc}") from None
    return from_mapping(data, where=str(file), base=file.parent, env=env)
