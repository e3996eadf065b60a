"""A request's query parameters, checked: each reader returns the value or raises a
RequestError (400) whose message names the parameter, says what it expects and quotes (cut)
what it got. A parameter the route does not know is refused too: a misspelt filter silently
ignored would answer another question than the one asked.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from monitor.errors import RequestError

QUOTED = 60  # characters of a bad value repeated in the message
MAX_TEXT = 10_000  # longest text parameter (a search query) read


def _shown(value: str) -> str:
    return repr(value if len(value) <= QUOTED else value[:QUOTED] + "…")


def bad(name: str, expected: str, value: str) -> RequestError:
    return RequestError(400, f"{name}: expected {expected}, got {_shown(value)}")


@dataclass(frozen=True)
class Params:
    """The query of one request: ``Params(request.query_params, known)``."""

    query: Mapping[str, str]
    known: Collection[str]

    def __post_init__(self) -> None:
        unknown = sorted(set(self.query) - set(self.known))
        if unknown:
            known = ", ".join(sorted(self.known)) or "none"
            raise RequestError(400, f"{unknown[0]}: unknown parameter (known: {known})")

    def text(self, name: str, *, limit: int = MAX_TEXT) -> str | None:
        """The parameter as given, None when absent or empty."""
        value = self.query.get(name)
        if not value:
            return None
        if len(value) > limit:
            raise RequestError(400, f"{name}: at most {limit:,} characters, got {len(value):,}")
        return value

    def integer(self, name: str, default: int, low: int, high: int | None = None) -> int:
        value = self.query.get(name)
        if value is None or value == "":
            return default
        upper = "" if high is None else f" to {high:,}"
        expected = f"a whole number from {low:,}{upper}"
        if not value.isascii() or not value.isdigit():
            raise bad(name, expected, value)
        number = int(value)
        if number < low or (high is not None and number > high):
            raise bad(name, expected, value)
        return number

    def choice(self, name: str, choices: Collection[str]) -> str | None:
        value = self.text(name)
        if value is None:
            return None
        if value.lower() not in choices:
            raise bad(name, "one of " + ", ".join(choices), value)
        return value.lower()

    def flag(self, name: str) -> bool:
        value = (self.query.get(name) or "false").lower()
        if value in ("1", "true", "yes", "on"):
            return True
        if value in ("0", "false", "no", "off"):
            return False
        raise bad(name, "true or false", value)

    def time(self, name: str) -> datetime | None:
        """An ISO 8601 time with its UTC offset, or a date (midnight UTC)."""
        value = self.text(name, limit=64)
        if value is None:
            return None
        expected = "an ISO 8601 date (2023-03-24) or time with offset (2023-03-24T12:00Z)"
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace(" ", "+"))
        except ValueError:
            raise bad(name, expected, value) from None
        if parsed.tzinfo is None:
            if len(value) > 10:  # a time without its offset is ambiguous
                raise bad(name, expected, value)
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC)


@dataclass(frozen=True)
class Window:
    """One page of a list: ``limit`` items from ``offset``."""

    limit: int
    offset: int

    @staticmethod
    def of(params: Params, default: int, most: int) -> Window:
        return Window(
            params.integer("limit", min(default, most), 1, most),
            params.integer("offset", 0, 0),
        )

    def links(self, path: str, query: Mapping[str, str], total: int) -> dict[str, str | None]:
        """``self``, ``next`` and ``prev`` of this page as relative URLs, the other
        parameters kept; ``next`` null on the last page, ``prev`` on the first."""

        def at(offset: int) -> str:
            kept = {k: v for k, v in query.items() if k not in ("limit", "offset")}
            return f"{path}?{urlencode({**kept, 'limit': self.limit, 'offset': offset})}"

        return {
            "self": at(self.offset),
            "next": at(self.offset + self.limit) if self.offset + self.limit < total else None,
            "prev": at(max(0, self.offset - self.limit)) if self.offset else None,
        }


def identifier(value: str, name: str) -> int:
    """A path's numeric id: anything else is 404 (no such thing), not 400."""
    if not value.isascii() or not value.isdigit() or len(value) > 18:
        raise RequestError(404, f"no {name} {_shown(value)}")
    return int(value)
