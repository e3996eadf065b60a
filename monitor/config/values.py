"""The kinds of value a setting or a table key can hold, and how one is declared.

A declaration is a dataclass field whose metadata is a ``Rule``: its help text, its kind (where
the annotation alone is ambiguous), the range a number must fall in and, for the keys of the
``[[source]]`` and ``[[story]]`` tables, whether the key is required and how the documentation
shows its default. ``checked`` is the one validation every value goes through: convert to the
kind, then check the range; a ValueError says what is wrong, and the caller names where.
"""

from __future__ import annotations

import dataclasses
import json
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
    if from_env and str(value).lstrip().startswith("["):
        # A JSON array, as a shell or a container's environment often writes a list
        # (MONITOR_EMAIL_TO='["desk@example.org"]'): read as the list it is, not as one item.
        try:
            parsed = json.loads(str(value))
        except ValueError:
            raise ValueError(f"expected a JSON array of strings or commas, got {value!r}") from None
        return _array(parsed, False)
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


_ADDRESS = re.compile(r"^[^@\s<>,;\"]+@[^@\s<>,;\"]+$")
_EVERY = re.compile(r"^\s*every\s+(\S+)\s*$")


def _email(value: Any, from_env: bool) -> str:
    """One bare address (``desk@example.org``): a list or a display name here would end up in a
    To: header as written."""
    if not isinstance(value, str) or not _ADDRESS.match(value.strip()):
        raise ValueError(f"expected an email address such as desk@example.org, got {value!r}")
    return value.strip()


def _emails(value: Any, from_env: bool) -> list[str]:
    return [_email(v, False) for v in _list(value, from_env)]


def _schedule(value: Any, from_env: bool) -> str:
    """``immediately``, ``every 30m`` (immediately, at most every 30 minutes) or a five-field
    cron expression, which APScheduler's CronTrigger parses (imported only for one)."""
    if not isinstance(value, str):
        raise ValueError(f"expected a schedule (immediately, every 30m or cron), got {value!r}")
    text = " ".join(value.split())
    if text == "immediately":
        return text
    every = _EVERY.match(text)
    if every:
        parse_duration(every.group(1))
        return text
    if len(text.split()) != 5:
        raise ValueError(
            f"expected immediately, every DURATION or a cron expression of 5 fields, got {value!r}"
        )
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(text, timezone="UTC")
    except ValueError as exc:
        raise ValueError(f"cron expression {value!r}: {exc}") from None
    return text


def _timezone(value: Any, from_env: bool) -> str:
    """An IANA time zone name (Europe/Paris, America/Toronto, UTC)."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"expected a time zone such as America/Toronto, got {value!r}")
    try:
        ZoneInfo(value.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"no such time zone: {value!r} (try America/Toronto or UTC)") from None
    return value.strip()


def _base_url(value: Any, from_env: bool) -> str | None:
    """An absolute http(s) URL, its trailing slash dropped; empty: none."""
    if value in ("", None):
        return None
    if not isinstance(value, str) or not re.match(r"^https?://[^/\s]+(/\S*)?$", value.strip()):
        raise ValueError(f"expected an absolute http(s) URL, got {value!r}")
    return value.strip().rstrip("/")


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
    "email": _email,  # one bare email address
    "emails": _emails,  # a list of them (the environment's: commas or a JSON array)
    "schedule": _schedule,  # immediately, every DURATION, or cron
    "timezone": _timezone,  # an IANA name
    "base_url": _base_url,  # an absolute http(s) URL, or empty: none
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
    choices: tuple[str, ...] = ()  # a str setting that must be one of these (any case)
    # A secret (a password, a URL holding one): also read from the file its environment
    # variable with _FILE appended names, so it need not sit in the file or the environment.
    secret: bool = False

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


def one_of(choices: tuple[str, ...], value: str) -> str:
    """``value`` in lower case if it is one of ``choices`` (any case); ValueError naming them."""
    if value.lower() in choices:
        return value.lower()
    *first, last = choices
    raise ValueError(f"expected {', '.join(first)} or {last}, got {value!r}")


def checked(f: dataclasses.Field[Any], value: Any, *, from_env: bool = False) -> Any:
    """``value`` converted to the kind ``f`` declares and within its range (or among its
    choices); ValueError saying what is wrong (the rule's own wording when it has one)."""
    rule = Rule.of(f)
    try:
        out = KINDS[kind_of(f)](value, from_env)
        if rule.choices:
            out = one_of(rule.choices, out)
    except ValueError:
        if rule.wrong is None:
            raise
        raise ValueError(rule.wrong.format(value=value)) from None
    problem = _out_of_range(rule, out)
    if problem:
        raise ValueError(problem if rule.wrong is None else rule.wrong.format(value=value))
    return out
