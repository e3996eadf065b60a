"""The requests a backfill made to the web archives and got an answer to (``archive_requests``):
the backfill's memory, so that a second run asks nothing the first was answered. Keyed by the
SHA-256 of the URL (URLs outgrow an index key); bodies gzipped as version pages are."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.db import WriteSession, upsert_insert
from storage.models import ArchiveRequest


@dataclass(frozen=True)
class Answer:
    """An answered request: its status, the URL it ended at after redirects, its body."""

    url: str
    status: int
    final_url: str | None
    body: bytes


def key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def find(session: Session, url: str) -> Answer | None:
    """The answer recorded for ``url``, or None when it was never answered."""
    row = session.get(ArchiveRequest, key(url))
    if row is None:
        return None
    body = gzip.decompress(row.body) if row.body is not None else b""
    return Answer(row.url, row.status, row.final_url, body)


def record(
    session: WriteSession,
    url: str,
    *,
    status: int,
    final_url: str | None,
    body: bytes,
    now: datetime,
) -> None:
    """Record an answer; one recorded by another process first wins (the same request)."""
    statement = (
        upsert_insert(session, ArchiveRequest)
        .values(
            url_sha256=key(url),
            url=url,
            status=status,
            final_url=final_url,
            body=gzip.compress(body, mtime=0) if body else None,
            answered_at=now,
        )
        .on_conflict_do_nothing(index_elements=["url_sha256"])
    )
    session.execute(statement)


def count(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(ArchiveRequest)) or 0)


def answered(session: Session, urls: Collection[str]) -> set[str]:
    """Which of ``urls`` were answered."""
    keys = {key(u): u for u in urls}
    rows = session.scalars(
        select(ArchiveRequest.url_sha256).where(ArchiveRequest.url_sha256.in_(list(keys)))
    )
    return {keys[k] for k in rows}
