"""Column types that keep timestamps ISO 8601 with a UTC offset on every backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime, stored in UTC.

    PostgreSQL: ``timestamptz``. SQLite: a fixed-width ISO 8601 string ending in ``+00:00``
    (SQLAlchemy's own SQLite DateTime drops the offset). A naive datetime is refused: every
    time in this program is aware.
    """

    impl = String(32)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            # Imported here: the PostgreSQL dialect's package imports every driver's module
            # (asyncpg's among them), 25 ms an SQLite command need not pay.
            from sqlalchemy.dialects.postgresql import TIMESTAMP

            return dialect.type_descriptor(TIMESTAMP(timezone=True))
        return dialect.type_descriptor(String(32))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: every stored time must be aware")
        value = value.astimezone(UTC)
        # Fixed width (32 characters, the year zero-padded, which strftime's %Y is not for
        # years before 1000), so that string order is time order on SQLite.
        return value if dialect.name == "postgresql" else value.isoformat(timespec="microseconds")

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return stored(value)


def stored(value: Any) -> datetime | None:
    """A time as the database gives it (SQLite: its text; PostgreSQL: a datetime), aware and
    in UTC: what the column type reads; for rows read without it (``type_coerce(column,
    String)``), where its processing costs too much (``storage.storypage``)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    return from_text(value)


def from_text(value: str) -> datetime:
    """A time as SQLite stores it, aware and in UTC."""
    parsed = datetime.fromisoformat(value)
    # Stored in UTC: converting again made a second object for each of a 5,000-article
    # story's 35,000 times (4 ms of its page); another offset is still converted.
    return parsed if parsed.tzinfo is UTC else parsed.astimezone(UTC)


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def micros(value: datetime) -> int:
    """An aware time as whole microseconds since 1970-01-01 UTC."""
    return (value - EPOCH) // _MICROSECOND


def from_micros(value: int) -> datetime:
    """``micros``' inverse: the aware datetime in UTC."""
    return EPOCH + timedelta(microseconds=value)
