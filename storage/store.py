"""Writes: configuration sync, fetch outcomes, articles and versions, decisions and timeline.

Every function takes an open write session and plain values; the caller owns the transaction,
so an article, its version, its story memberships and its timeline events land together.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from storage import searchtext
from storage.models import (
    Article,
    ArticleVersion,
    Entry,
    Source,
    Story,
    StoryArticle,
    StoryEvent,
)


def sync_source(
    session: Session,
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


def deactivate_sources_except(session: Session, urls: set[str]) -> None:
    """Sources removed from the configuration stop being polled; their history stays."""
    for source in session.scalars(select(Source).where(Source.active.is_(True))):
        if source.url not in urls:
            source.active = False


def sync_story(
    session: Session, *, slug: str, title: str, keywords: list[str], now: datetime
) -> Story:
    story = session.scalar(select(Story).where(Story.slug == slug))
    if story is None:
        story = Story(
            slug=slug, title=title, keywords=keywords, version=0, created_at=now, updated_at=now
        )
        session.add(story)
    else:
        story.title, story.keywords = title, keywords
    session.flush()
    return story


def record_source_ok(
    session: Session,
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
    session: Session,
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
    session: Session, source_id: int, rows: list[EntryRow], *, new: set[str], now: datetime
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


def find_article(session: Session, *urls: str | None) -> Article | None:
    """The article stored under any of ``urls``, as its own URL or its canonical URL."""
    wanted = [u for u in urls if u]
    if not wanted:
        return None
    return session.scalar(
        select(Article).where(Article.url.in_(wanted) | Article.canonical_url.in_(wanted)).limit(1)
    )


def create_article(session: Session, **values: Any) -> Article:
    article = Article(**values)
    session.add(article)
    session.flush()
    return article


def latest_version(session: Session, article_id: int) -> ArticleVersion | None:
    return session.scalar(
        select(ArticleVersion)
        .where(ArticleVersion.article_id == article_id)
        .order_by(ArticleVersion.version.desc())
        .limit(1)
    )


def add_version(
    session: Session,
    article: Article,
    *,
    fetched_at: datetime,
    title: str | None,
    text: str,
    content_sha256: str,
    word_count: int,
    shingle_count: int,
    minhash: bytes,
    changes: dict[str, Any],
) -> ArticleVersion:
    """Store a new version, numbered after the last; its search text is derived here."""
    number = (
        session.scalar(
            select(func.max(ArticleVersion.version)).where(ArticleVersion.article_id == article.id)
        )
        or 0
    ) + 1
    version = ArticleVersion(
        article_id=article.id,
        version=number,
        fetched_at=fetched_at,
        title=title,
        text=text,
        content_sha256=content_sha256,
        word_count=word_count,
        shingle_count=shingle_count,
        minhash=minhash,
        changes=changes,
        search_text=searchtext.fold(f"{title or ''} {text}"),
    )
    session.add(version)
    session.flush()
    return version


def bump_story(session: Session, story_id: int, now: datetime) -> int:
    """Add one to the story's version, atomically: concurrent writers never reuse a number."""
    version = session.execute(
        update(Story)
        .where(Story.id == story_id)
        .values(version=Story.version + 1, updated_at=now)
        .returning(Story.version)
        .execution_options(synchronize_session=False)
    ).scalar_one()
    story = session.get(Story, story_id)
    if story is not None:
        session.expire(story, ["version", "updated_at"])
    return int(version)


def membership(session: Session, story_id: int, article_id: int) -> StoryArticle | None:
    return session.scalar(
        select(StoryArticle).where(
            StoryArticle.story_id == story_id, StoryArticle.article_id == article_id
        )
    )


def record_decision(
    session: Session,
    *,
    story_id: int,
    article_id: int,
    relation: str,
    copy_of_id: int | None,
    similarity: float | None,
    match: dict[str, Any],
    now: datetime,
) -> StoryArticle:
    row = membership(session, story_id, article_id)
    if row is None:
        row = StoryArticle(
            story_id=story_id,
            article_id=article_id,
            relation=relation,
            copy_of_id=copy_of_id,
            similarity=similarity,
            match=match,
            decided_at=now,
        )
        session.add(row)
    else:
        row.relation, row.copy_of_id, row.similarity = relation, copy_of_id, similarity
        row.match, row.decided_at = match, now
    session.flush()
    return row


def repoint_copy_group(
    session: Session, *, story_id: int, old_id: int, new_id: int, new_url: str, now: datetime
) -> None:
    """``new_id`` was published before ``old_id``, the original of its copy group, and copies
    it: the old original becomes a copy of the new one, and so do the old one's copies. A seed
    is never re-pointed."""
    old = membership(session, story_id, old_id)
    if old is not None and old.relation == "original":
        old.relation, old.copy_of_id = "copy", new_id
        old.match = old.match | {
            "copy_of_earlier": new_url,
            "reason": f"{old.match.get('reason', '')}; later found to copy {new_url}, "
            "published earlier",
        }
        old.decided_at = now
    for row in session.scalars(
        select(StoryArticle).where(
            StoryArticle.story_id == story_id,
            StoryArticle.copy_of_id == old_id,
            StoryArticle.relation == "copy",
        )
    ):
        row.copy_of_id = new_id
    session.flush()


def add_event(
    session: Session,
    *,
    story_id: int,
    article_id: int,
    event: str,
    at: datetime,
    now: datetime,
    article_version: int | None,
) -> StoryEvent:
    """Append a timeline event; every event is a change, so the story version grows."""
    version = bump_story(session, story_id, now)
    row = StoryEvent(
        story_id=story_id,
        article_id=article_id,
        event=event,
        at=at,
        recorded_at=now,
        article_version=article_version,
        story_version=version,
    )
    session.add(row)
    session.flush()
    return row


def stories_of_article(session: Session, article_id: int) -> list[StoryArticle]:
    """The stories an article belongs to (not those that judged it off-topic)."""
    return list(
        session.scalars(
            select(StoryArticle).where(
                StoryArticle.article_id == article_id, StoryArticle.relation != "off_topic"
            )
        )
    )
