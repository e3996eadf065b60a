"""The database is the queue: which sources and articles are due, claimed with a lease.

A claim sets ``claimed_until`` inside a write transaction (``BEGIN IMMEDIATE`` on SQLite,
``FOR UPDATE SKIP LOCKED`` on PostgreSQL), so several processes share the work without a
leader and no source is polled twice at once. A crashed worker's claim simply expires; a worker
that stops cleanly gives back what it claimed and did not record (``release``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, Result, func, or_, select, update
from sqlalchemy.orm import Session

from storage.db import Database
from storage.models import Article, Source

# How long a claimed article is out of other processes' reach: one fetch, with retries.
ARTICLE_LEASE = timedelta(minutes=15)


@dataclass(frozen=True)
class DueSource:
    id: int
    url: str
    name: str
    interval_s: float
    etag: str | None
    last_modified: str | None
    body_sha256: str | None
    error_count: int
    learned_interval_s: float | None = None
    obey_robots: bool = True


@dataclass(frozen=True)
class DueArticle:
    id: int
    url: str
    source_id: int | None
    outlet: str
    first_seen_at: datetime
    check_count: int
    etag: str | None
    last_modified: str | None

    @classmethod
    def of(cls, article: Article, *, validators: bool = True) -> DueArticle:
        """The article as a re-check takes it; without ``validators`` (a web archive's
        capture, never a 304) its ETag and Last-Modified are left out."""
        return cls(
            article.id,
            article.url,
            article.source_id,
            article.outlet,
            article.first_seen_at,
            article.check_count,
            article.etag if validators else None,
            article.last_modified if validators else None,
        )


def claim_sources(
    db: Database,
    *,
    now: datetime,
    limit: int,
    lease: timedelta,
    everything: bool = False,
    exclude: set[int] | None = None,
    per_host: int | None = None,
) -> list[DueSource]:
    """Claim up to ``limit`` active sources due at ``now`` (all of them with ``everything``),
    at most ``per_host`` of any one host, leaving out ``exclude`` (those a round has already
    polled)."""
    conditions = [
        Source.active.is_(True),
        or_(Source.claimed_until.is_(None), Source.claimed_until <= now),
    ]
    if not everything:
        conditions.append(Source.next_check_at <= now)
    if exclude:
        conditions.append(Source.id.not_in(exclude))
    with db.write() as session:
        query = (
            select(Source).where(*conditions).order_by(Source.next_check_at, Source.id).limit(limit)
        )
        if per_host is not None:
            # The most overdue few of each host. The window runs in a subquery because
            # PostgreSQL allows no FOR UPDATE next to a window function.
            ranked = (
                select(
                    Source.id,
                    func.row_number()
                    .over(partition_by=Source.domain, order_by=(Source.next_check_at, Source.id))
                    .label("rank"),
                )
                .where(*conditions)
                .subquery()
            )
            query = query.where(Source.id.in_(select(ranked.c.id).where(ranked.c.rank <= per_host)))
        if db.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = session.scalars(query).all()
        for row in rows:
            row.claimed_until = now + lease
        return [
            DueSource(
                r.id,
                r.url,
                r.name,
                r.interval_s,
                r.etag,
                r.last_modified,
                r.body_sha256,
                r.error_count,
                r.learned_interval_s,
                r.obey_robots,
            )
            for r in rows
        ]


def claim_articles(
    db: Database,
    *,
    now: datetime,
    limit: int,
    everything: bool = False,
    ids: list[int] | None = None,
    exclude: Collection[int] = (),
    after: int | None = None,
) -> list[DueArticle]:
    """Articles due for a re-check at ``now`` (with ``ids``, those of them, due or not):
    tracked (``next_check_at`` set), not removed, not claimed by another process, and not in
    ``exclude`` (those a round has already read). With ``after``, those with a greater id, in
    id order: how ``everything`` walks every tracked article once, batch after batch.

    A claim sets ``claimed_until`` and moves ``next_check_at`` out of reach for the time one
    fetch can take: the caller sets the next check when it records the result, and a crash
    leaves the article due again when both pass.
    """
    with db.write() as session:
        query = (
            select(Article)
            .where(Article.next_check_at.is_not(None))
            .where(Article.status != "removed")
            .where(or_(Article.claimed_until.is_(None), Article.claimed_until <= now))
            .order_by(Article.next_check_at, Article.id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(Article.id > after).order_by(None).order_by(Article.id)
        if exclude:
            query = query.where(Article.id.not_in(exclude))
        if ids is not None:
            query = query.where(Article.id.in_(ids))
        elif not everything:
            query = query.where(Article.next_check_at <= now)
        if db.dialect == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = session.scalars(query).all()
        out = [DueArticle.of(r) for r in rows]
        # Out of reach of other workers for the time one fetch can take.
        for row in rows:
            row.next_check_at = row.claimed_until = now + ARTICLE_LEASE
        return out


def depth(session: Session, *, now: datetime) -> dict[str, int]:
    """How much work waits at ``now``: sources due and not claimed, articles due for a re-check
    and not claimed (what a round would claim; the metrics' queue depth)."""
    free_source = or_(Source.claimed_until.is_(None), Source.claimed_until <= now)
    free_article = or_(Article.claimed_until.is_(None), Article.claimed_until <= now)
    sources_due = session.scalar(
        select(func.count())
        .select_from(Source)
        .where(Source.active.is_(True), Source.next_check_at <= now, free_source)
    )
    rechecks_due = session.scalar(
        select(func.count())
        .select_from(Article)
        .where(Article.next_check_at <= now, Article.status != "removed", free_article)
    )
    return {"sources": int(sources_due or 0), "rechecks": int(rechecks_due or 0)}


def release(
    db: Database,
    *,
    sources: Collection[int],
    source_until: datetime,
    articles: Collection[int],
    article_until: datetime,
    now: datetime,
) -> int:
    """Give back the claims a stopping round still holds (those it claimed until
    ``source_until`` / ``article_until`` and did not record): each due again at once for the
    next worker instead of at the end of its lease. A claim another worker has taken over since
    (its lease ended) holds another time and is left alone. Returns how many were released."""
    if not sources and not articles:
        return 0
    with db.write() as session:
        released = _count(
            session.execute(
                update(Source)
                .where(Source.id.in_(sources), Source.claimed_until == source_until)
                .values(claimed_until=None)
            )
        )
        # An article recorded since its claim has its next check set: only the unrecorded
        # ones (next check still the claim's end) are made due again.
        released += _count(
            session.execute(
                update(Article)
                .where(
                    Article.id.in_(articles),
                    Article.claimed_until == article_until,
                    Article.next_check_at == article_until,
                )
                .values(claimed_until=None, next_check_at=now)
            )
        )
    return released


def _count(result: Result[Any]) -> int:
    """The rows an UPDATE changed."""
    assert isinstance(result, CursorResult)
    return int(result.rowcount)
