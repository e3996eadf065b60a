"""The whole configuration: the file read and parsed (tomllib), its sections and tables checked,
the environment's overrides applied. A mistake is one ConfigError line naming the file (or the
variable), the place and what is wrong."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from monitor.config.sections import (
    SECTIONS,
    EmailSettings,
    FetchSettings,
    LogSettings,
    MatchSettings,
    OpsSettings,
    PollSettings,
    StorageSettings,
    read_section,
)
from monitor.config.tables import TABLES, Source, Story, read_sources, read_stories
from monitor.errors import ConfigError


@dataclass(frozen=True)
class Config:
    path: str
    storage: StorageSettings = field(default_factory=StorageSettings)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    poll: PollSettings = field(default_factory=PollSettings)
    match: MatchSettings = field(default_factory=MatchSettings)
    email: EmailSettings = field(default_factory=EmailSettings)
    log: LogSettings = field(default_factory=LogSettings)
    ops: OpsSettings = field(default_factory=OpsSettings)
    sources: tuple[Source, ...] = ()
    stories: tuple[Story, ...] = ()

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)


def from_mapping(
    data: Mapping[str, Any],
    *,
    where: str = "<config>",
    base: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Config:
    """Build a Config from parsed TOML (``where`` names the file in error messages)."""
    env = os.environ if env is None else env
    base = base or Path.cwd()
    known = set(SECTIONS) | set(TABLES)
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"{where}: [{unknown[0]}]: unknown section (known: {', '.join(sorted(known))})"
        )
    sections = {name: read_section(name, data.get(name), env, where) for name in SECTIONS}
    sources = read_sources(data.get("source"), where)
    stories = read_stories(data.get("story"), sources, base, where)
    return Config(path=where, sources=sources, stories=stories, **sections)


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
