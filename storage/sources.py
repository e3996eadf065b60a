"""Sources and their feed entries: configuration sync, fetch outcomes, the entries seen."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.db import WriteSession
from storage.models import (
    Entry,
    Source,
)


def sync_source(
    session: WriteSession,
    *,
    url: str,
    name: str,
    domain: str,
    interval_s: float,
    now: datetime,
    obey_robots: bool = True,
) -> Source:
    """Create or update the configured source ``url``; a new one is due at once."""
    source = session.scalar(select(Source).where(Source.url == url))
    if source is None:
        source = Source(
            url=url,
            name=name,
            domain=domain,
            interval_s=interval_s,
            next_check_at=now,
            created_at=now,
            error_count=0,
            items_seen=0,
            active=True,
            obey_robots=obey_robots,
        )
        session.add(source)
    else:
        source.name, source.domain, source.active = name, domain, True
        source.obey_robots = obey_robots
        if source.interval_s != interval_s:
            source.interval_s = interval_s
            source.next_check_at = min(source.next_check_at, now)
    session.flush()
    return source


def deactivate_sources_except(session: WriteSession, urls: set[str]) -> None:
    """Sources removed from the configuration stop being polled; their history stays."""
    for source in session.scalars(select(Source).where(Source.active.is_(True))):
        if source.url not in urls:
            source.active = False


def record_source_ok(
    session: WriteSession,
    source_id: int,
    *,
    now: datetime,
    status: int,
    etag: str | None,
    last_modified: str | None,
    body_sha256: str | None,
    next_check_at: datetime,
    new_items: int,
    next_check_reason: str | None = None,
    learned_interval_s: float | None = None,
    format: str | None = None,
) -> None:
    source = session.get_one(Source, source_id)
    source.next_check_reason = next_check_reason
    source.learned_interval_s = learned_interval_s or source.learned_interval_s
    source.format = format or source.format
    source.last_checked_at = source.last_ok_at = now
    source.last_status = status
    if status != 304:
        source.etag, source.last_modified = etag, last_modified
        source.body_sha256 = body_sha256
    source.error_kind = source.error_message = None
    source.error_count = 0
    source.failing_since = None
    source.items_seen += new_items
    source.next_check_at = next_check_at
    source.claimed_until = None


def record_source_error(
    session: WriteSession,
    source_id: int,
    *,
    now: datetime,
    kind: str,
    message: str,
    status: int | None,
    next_check_at: datetime,
    next_check_reason: str | None = None,
) -> int:
    """Record a failed poll; returns the count of consecutive errors."""
    source = session.get_one(Source, source_id)
    source.next_check_reason = next_check_reason
    source.last_checked_at = now
    source.last_status = status
    source.error_kind, source.error_message = kind, message
    source.error_count += 1
    source.failing_since = source.failing_since or now
    source.next_check_at = next_check_at
    source.claimed_until = None
    return source.error_count


def sources_obeying_robots(session: Session) -> set[int]:
    """Ids of the sources whose article pages are fetched only where robots.txt allows."""
    return set(session.scalars(select(Source.id).where(Source.obey_robots.is_(True))))


def seen_entries(session: Session, source_id: int, keys: list[str]) -> dict[str, Entry]:
    """The entries of ``source_id`` among ``keys`` already seen, by key."""
    found: dict[str, Entry] = {}
    for start in range(0, len(keys), 500):  # well under every backend's bound-parameter limit
        chunk = keys[start : start + 500]
        found.update(
            (e.key, e)
            for e in session.scalars(
                select(Entry).where(Entry.source_id == source_id, Entry.key.in_(chunk))
            )
        )
    return found


@dataclass(frozen=True)
class EntryRow:
    key: str
    url: str
    title: str | None
    updated: str | None
    article_id: int | None


def record_entries(
    session: WriteSession, source_id: int, rows: list[EntryRow], *, new: set[str], now: datetime
) -> None:
    """Record a poll's entries of one source in one go: seen ones get their last sighting,
    title and updated date (and an article if they had none); unseen ones are added if their
    key is in ``new``, else left for a later poll."""
    seen = seen_entries(session, source_id, [r.key for r in rows])
    for row in rows:
        entry = seen.get(row.key)
        if entry is None and row.key not in new:
            continue
        if entry is None:
            session.add(
                Entry(
                    source_id=source_id,
                    key=row.key,
                    url=row.url,
                    title=row.title,
                    updated=row.updated,
                    first_seen_at=now,
                    last_seen_at=now,
                    article_id=row.article_id,
                )
            )
        else:
            entry.last_seen_at, entry.updated, entry.title = now, row.updated, row.title
            entry.article_id = entry.article_id or row.article_id


# A source is failing, not merely backing off, once its errors have lasted this long: `monitor
# sources` says so, and every digest of the stories it feeds names it.
FAILING_FOR = timedelta(days=1)


def failing_sources(session: Session, *, since: datetime) -> list[Source]:
    """Active sources whose errors began at or before ``since`` and have not stopped."""
    return list(
        session.scalars(
            select(Source)
            .where(Source.active.is_(True), Source.failing_since <= since)
            .order_by(Source.failing_since, Source.name)
        )
    )


def all_sources(session: Session) -> list[Source]:
    return list(session.scalars(select(Source).order_by(Source.name, Source.url)))


def failing_count(session: Session) -> int:
    """Active sources whose last poll failed (``failing_since`` set until one succeeds)."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(Source)
            .where(Source.active.is_(True), Source.failing_since.is_not(None))
        )
        or 0
    )
