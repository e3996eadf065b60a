"""The kinds of value a setting or a table key can hold, and how one is declared.

A declaration is a dataclass field whose metadata is a ``Rule``: its help text, its kind (where
the annotation alone is ambiguous), the range a number must fall in and, for the keys of the
``[[source]]`` and ``[[story]]`` tables, whether the key is required and how the documentation
shows its default. ``checked`` is the one validation every value goes through: convert to the
kind, then check the range; a ValueError says what is wrong, and the caller names where.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from monitor.urls import BadUrl, check_source_url

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}
_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


def parse_duration(value: object) -> float:
    """Seconds from ``90``, ``"90s"``, ``"30m"``, ``"6h"``, ``"2d"`` or ``"1w"``."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30m, 6h or 2d")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"expected a duration such as 30m, 6h or 2d, got {value!r}")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"a duration must be positive, got {value!r}")
    return seconds


# --- kinds: each checks and converts one value; the environment gives text --------------------


def _duration(value: Any, from_env: bool) -> float:
    return parse_duration(value)


def _bool(value: Any, from_env: bool) -> bool:
    if isinstance(value, bool):
        return value
    if from_env and str(value).lower() in _TRUE:
        return True
    if from_env and str(value).lower() in _FALSE:
        return False
    raise ValueError(f"expected true or false, got {value!r}")


def _number(value: Any, from_env: bool, *, whole: bool) -> int | float:
    # TOML already typed the value: only the environment's text is converted. A bool is an int
    # to Python, never to us.
    wanted = int if whole else (int, float)
    noun = "an integer" if whole else "a number"
    if isinstance(value, bool) or not (from_env or isinstance(value, wanted)):
        raise ValueError(f"expected {noun}, got {value!r}")
    try:
        return int(value) if whole else float(value)
    except ValueError:
        raise ValueError(f"expected {noun}, got {value!r}") from None


def _int(value: Any, from_env: bool) -> int | float:
    return _number(value, from_env, whole=True)


def _float(value: Any, from_env: bool) -> int | float:
    return _number(value, from_env, whole=False)


def _list(value: Any, from_env: bool) -> list[str]:
    if from_env:
        return [part.strip() for part in str(value).split(",") if part.strip()]
    if isinstance(value, str):
        return [value]
    return _array(value, from_env)


def _array(value: Any, from_env: bool) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"expected a list of strings, got {value!r}")
    return list(value)


def _str(value: Any, from_env: bool) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value


def _url(value: Any, from_env: bool) -> str:
    if value is None:  # TOML has no null: None is a required key left out
        raise ValueError("missing")
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected an http(s) URL, got {value!r}")
    try:
        return check_source_url(value.strip())
    except BadUrl as exc:
        if exc.kind == "scheme":
            raise ValueError(f"expected an http(s) URL, got {value!r}") from None
        raise ValueError(f"{exc}: {value!r}") from None


def _address(value: Any, from_env: bool) -> str:
    """``host:port`` (``[v6]:port`` for an IPv6 address), port 0 to 65535, or the empty string
    (off). Checked here, before any socket exists, so a typo is a configuration error."""
    if not isinstance(value, str):
        raise ValueError(f"expected host:port or an empty string, got {value!r}")
    if value == "":
        return value
    host, sep, port = value.rpartition(":")
    bracketed = host.startswith("[") and host.endswith("]")
    if (
        not sep
        or not host
        or (":" in host and not bracketed)
        or not port.isdigit()
        or int(port) > 65535
        or any(c.isspace() or c in "/?#@" for c in host)
    ):
        raise ValueError(f"expected host:port (e.g. 127.0.0.1:9108) or '', got {value!r}")
    return value


def _slug(value: Any, from_env: bool) -> str:
    if not isinstance(value, str) or not _SLUG.match(value):
        raise ValueError(f"expected lower-case letters, digits and dashes, got {value!r}")
    return value


KINDS: dict[str, Callable[[Any, bool], Any]] = {
    "str": _str,
    "bool": _bool,
    "int": _int,
    "float": _float,
    "duration": _duration,
    "list": _list,  # the file's array of strings or one string; the environment's commas
    "array": _array,  # an array of strings, nothing else
    "url": _url,
    "slug": _slug,
    "address": _address,  # host:port to listen on, or empty: off
}


# --- declarations ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """What a field's metadata declares about it (``Rule.of(field)``)."""

    help: str
    kind: str | None = None  # None: read from the annotation (bool, int, float, str, list)
    low: float | None = None
    high: float | None = None
    required: bool = False  # a table key that must be written (absent, it is checked as None)
    shown: str | None = None  # the default as the documentation words it, when not a value
    wrong: str | None = None  # the message for any wrong value, formatted with ``value``

    @staticmethod
    def of(f: dataclasses.Field[Any]) -> Rule:
        rule = f.metadata["rule"]
        assert isinstance(rule, Rule), f.name
        return rule


def declare(default: Any, help: str, kind: str | None = None, **rule: Any) -> Any:
    """A dataclass field with its ``Rule``. ``dataclasses.MISSING`` as the default leaves the
    dataclass argument required (a table key whose default is computed from the others)."""
    metadata = {"rule": Rule(help, kind, **rule)}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=metadata)
    if default is dataclasses.MISSING:
        return field(metadata=metadata)
    return field(default=default, metadata=metadata)


def kind_of(f: dataclasses.Field[Any]) -> str:
    rule = Rule.of(f)
    if rule.kind:
        return rule.kind
    return {"bool": "bool", "int": "int", "float": "float", "str": "str"}.get(str(f.type), "list")


def toml_key(name: str) -> str:
    """The key as written in TOML (``from``, not ``from_``)."""
    return name.rstrip("_")


def default_of(f: dataclasses.Field[Any]) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return None if f.default is dataclasses.MISSING else f.default


def _out_of_range(rule: Rule, value: Any) -> str | None:
    # Written as "not within" so that NaN, which compares false with everything, is refused.
    if rule.low is not None and not value >= rule.low:
        return f"must be at least {rule.low:g}, got {value!r}"
    if rule.high is not None and not value <= rule.high:
        return f"must be at most {rule.high:g}, got {value!r}"
    return None


def checked(f: dataclasses.Field[Any], value: Any, *, from_env: bool = False) -> Any:
    """``value`` converted to the kind ``f`` declares and within its range; ValueError saying
    what is wrong (the rule's own wording when it has one)."""
    rule = Rule.of(f)
    try:
        out = KINDS[kind_of(f)](value, from_env)
    except ValueError:
        if rule.wrong is None:
            raise
        raise ValueError(rule.wrong.format(value=value)) from None
    problem = _out_of_range(rule, out)
    if problem:
        raise ValueError(problem if rule.wrong is None else rule.wrong.format(value=value))
    return out
