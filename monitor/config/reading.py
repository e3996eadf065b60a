"""Reading one section of the configuration (``read_section``): from the environment
(``MONITOR_<SECTION>_<KEY>`` wins, and a secret's ``_FILE`` variable), else the file's table,
else the defaults declared in ``monitor.config.sections``."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from monitor.config.sections import SECTIONS
from monitor.config.values import Rule, checked, toml_key
from monitor.errors import ConfigError


def _secret_file(variable: str, env: Mapping[str, str]) -> str:
    """The text of the file ``env[variable]`` names, less its final line break (``echo`` and
    editors add one; no password or URL ends with one)."""
    path = env[variable]
    try:
        with open(path, encoding="utf-8") as file:
            return file.read().removesuffix("\n").removesuffix("\r")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ConfigError(f"environment {variable}: cannot read {path}: {reason}") from None


def _given(
    name: str, key: str, f: dataclasses.Field[Any], raw: dict[str, Any], env: Mapping[str, str]
) -> tuple[Any, bool, str] | None:
    """Where ``[name] key`` is given: (value, from the environment?, origin for messages), the
    environment first (its variable, else for a secret the file its ``_FILE`` variable names),
    then the file's table; None when nowhere."""
    env_name = f"MONITOR_{name}_{key}".upper()
    file_name = f"{env_name}_FILE" if Rule.of(f).secret else ""
    if file_name in env and env_name in env:
        raise ConfigError(f"environment {env_name} and {file_name}: set one of them, not both")
    if env_name in env:
        return env[env_name], True, f"environment {env_name}"
    if file_name in env:
        return _secret_file(file_name, env), True, f"environment {file_name}"
    if key in raw:
        return raw[key], False, f"[{name}] {key}"
    return None


def read_section(
    name: str, raw: Any, env: Mapping[str, str], where: str, origins: dict[str, str] | None = None
) -> Any:
    """The settings of ``[name]``: the environment's, else the file's ``raw`` table's, else the
    defaults; a ConfigError names the variable, or the file, section and key. ``origins`` gets
    ``"section.key"``: where each given setting came from, for later messages."""
    cls = SECTIONS[name]
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: [{name}] must be a table")
    fields = {toml_key(f.name): f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ConfigError(
            f"{where}: [{name}] {unknown[0]}: unknown setting (known: {', '.join(sorted(fields))})"
        )
    values: dict[str, Any] = {}
    for key, f in fields.items():
        given = _given(name, key, f, raw, env)
        if given is None:
            continue
        value, from_env, origin = given
        origin = origin if from_env else f"{where}: {origin}"
        try:
            values[f.name] = checked(f, value, from_env=from_env)
        except ValueError as exc:
            raise ConfigError(f"{origin}: {exc}") from None
        if origins is not None:
            origins[f"{name}.{key}"] = origin
    return cls(**values)
