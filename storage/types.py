"""Column types that keep timestamps ISO 8601 with a UTC offset on every backend."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
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


# The stored text (process_bind_param: 32 characters, the offset always +00:00), each character
# between these two bounds.
_LOW = np.frombuffer(b"0000-00-00T00:00:00.000000+00:00", dtype=np.uint8)
_HIGH = np.frombuffer(b"9999-99-99T99:99:99.999999+00:00", dtype=np.uint8)
# The digits' weights: of the year, of the second in the day (the colons weigh nothing) and of
# the microsecond.
_YEAR = np.array([1000, 100, 10, 1], dtype=np.int32)
_SECOND = np.array([36_000, 3_600, 0, 600, 60, 0, 10, 1], dtype=np.int32)
_MICRO = np.array([100_000, 10_000, 1_000, 100, 10, 1], dtype=np.int32)


def texts_as_micros(texts: Sequence[str]) -> npt.NDArray[np.int64]:
    """SQLite's stored times as microseconds since the epoch, in one numpy pass over their
    characters (a 5,000-article story's 20,000 events: 3.5 ms, against 25 through datetimes
    made by the column type); a text of another shape (none is written so) parsed alone."""
    try:
        chars = np.array(texts, dtype="S33").view(np.uint8).reshape(len(texts), 33)
    except UnicodeEncodeError:
        return np.array([micros(from_text(t)) for t in texts], dtype=np.int64)
    body = chars[:, :32]
    fits = ((body >= _LOW) & (body <= _HIGH)).all(axis=1) & (chars[:, 32] == 0)
    d = body[:, :26].astype(np.int32) - ord("0")
    days = _days((d[:, :4] @ _YEAR).astype(np.int64), (d[:, 5] * 10 + d[:, 6]).astype(np.int64),
                 (d[:, 8] * 10 + d[:, 9]).astype(np.int64))  # fmt: skip
    seconds = days * 86_400 + d[:, 11:19] @ _SECOND
    out: npt.NDArray[np.int64] = seconds * 1_000_000 + d[:, 20:26] @ _MICRO
    for i in np.flatnonzero(~fits).tolist():
        out[i] = micros(from_text(texts[i]))
    return out


def _days(
    year: npt.NDArray[np.int64], month: npt.NDArray[np.int64], day: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's days_from_civil)."""
    year = year - (month <= 2)
    era = year // 400
    of_era = year - era * 400
    of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    of_cycle = of_era * 365 + of_era // 4 - of_era // 100 + of_year
    days: npt.NDArray[np.int64] = era * 146_097 + of_cycle - 719_468
    return days
