"""Articles and their versions: finding, creating, versioning, what is stored."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from storage import searchtext
from storage.db import WriteSession
from storage.models import (
    Article,
    ArticleVersion,
)


def find_article(session: Session, *urls: str | None) -> Article | None:
    """The article stored under any of ``urls``, as its own URL or its canonical URL."""
    wanted = [u for u in urls if u]
    if not wanted:
        return None
    return session.scalar(
        select(Article).where(Article.url.in_(wanted) | Article.canonical_url.in_(wanted)).limit(1)
    )


def create_article(session: WriteSession, **values: Any) -> Article:
    article = Article(**values)
    session.add(article)
    session.flush()
    return article


def get_article(session: Session, article_id: int) -> Article:
    return session.get_one(Article, article_id)


def lock_article(session: WriteSession, article_id: int) -> Article:
    """The article's row, locked until the transaction ends (PostgreSQL; SQLite's writers are
    serial already): what the caller reads under the lock no other writer changes meanwhile."""
    return session.get_one(Article, article_id, with_for_update=True)


def articles_by_id(session: Session, ids: Collection[int]) -> list[Article]:
    return list(session.scalars(select(Article).where(Article.id.in_(ids))))


def set_title(session: WriteSession, article_id: int, title: str | None) -> None:
    session.get_one(Article, article_id).title = title


def record_not_modified(
    session: WriteSession,
    article_id: int,
    *,
    check_count: int,
    next_check_at: datetime | None,
    now: datetime,
) -> None:
    """A re-check the outlet answered with 304: fetched, nothing new."""
    article = session.get_one(Article, article_id)
    article.check_count, article.next_check_at = check_count, next_check_at
    article.last_fetched_at = now


def record_check_error(
    session: WriteSession,
    article_id: int,
    *,
    check_count: int,
    next_check_at: datetime | None,
    error: str | None,
) -> None:
    """A re-check that could not fetch the page: the error is kept, the rest as it was."""
    article = session.get_one(Article, article_id)
    article.check_count, article.next_check_at = check_count, next_check_at
    article.error = error


def mark_removed(
    session: WriteSession, article_id: int, *, check_count: int, now: datetime
) -> bool:
    """The outlet took the article down: status ``removed``, never checked again. Only an
    article whose status is ``ok`` is removed (returns False otherwise, changing nothing): one
    that was never read as an article has nothing to take down."""
    article = session.get_one(Article, article_id)
    if article.status != "ok":
        return False
    article.check_count = check_count
    article.status, article.removed_at, article.next_check_at = "removed", now, None
    return True


def record_not_article(
    session: WriteSession,
    article_id: int,
    *,
    check_count: int,
    next_check_at: datetime | None,
    now: datetime,
    error: str | None,
) -> None:
    """A re-check that fetched the page but found no article to version (``error`` says why)."""
    article = session.get_one(Article, article_id)
    article.check_count = check_count
    article.last_fetched_at, article.next_check_at = now, next_check_at
    article.error = error


def refresh_from_page(
    session: WriteSession,
    article_id: int,
    *,
    title: str | None,
    updated_at: datetime | None,
    authors: Sequence[str],
    etag: str | None,
    last_modified: str | None,
    check_count: int,
    next_check_at: datetime | None,
    now: datetime,
) -> None:
    """A re-check that read the article: its metadata as the page gives it now (what the page
    no longer gives is kept as stored), its validators and its next check."""
    article = session.get_one(Article, article_id)
    article.title = title or article.title
    article.updated_at = updated_at or article.updated_at
    article.authors = list(authors) or article.authors
    article.last_fetched_at, article.next_check_at = now, next_check_at
    article.check_count = check_count
    article.etag, article.last_modified = etag, last_modified


def mark_ok(session: WriteSession, article_id: int) -> None:
    """An article whose earlier fetches failed or found no article has been read as one."""
    article = session.get_one(Article, article_id)
    article.status, article.error = "ok", None


def latest_version(session: Session, article_id: int) -> ArticleVersion | None:
    return session.scalar(
        select(ArticleVersion)
        .where(ArticleVersion.article_id == article_id)
        .order_by(ArticleVersion.version.desc())
        .limit(1)
    )


def add_version(
    session: WriteSession,
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


@dataclass(frozen=True)
class Stored:
    """An article as stored, for saying why no story decided it."""

    url: str
    outlet: str
    title: str | None
    status: str  # ok, not_article, too_short, paywalled, error, removed
    error: str | None
    versions: int


def stored(session: Session, url: str) -> Stored | None:
    """The article stored under ``url`` (or with that canonical URL), if any."""
    article = article_at(session, url)
    if article is None:
        return None
    versions = session.scalar(
        select(func.count())
        .select_from(ArticleVersion)
        .where(ArticleVersion.article_id == article.id)
    )
    return Stored(
        article.url, article.outlet, article.title, article.status, article.error, versions or 0
    )


def version_text(session: Session, article_id: int, version: int) -> str | None:
    """The text of one version of an article."""
    return session.scalar(
        select(ArticleVersion.text).where(
            ArticleVersion.article_id == article_id, ArticleVersion.version == version
        )
    )


def article_at(session: Session, url: str) -> Article | None:
    return session.scalar(
        select(Article).where((Article.url == url) | (Article.canonical_url == url)).limit(1)
    )


def latest_texts(session: Session) -> Iterator[str]:
    """The newest text of every stored article: the background for term statistics."""
    newest = (
        select(ArticleVersion.article_id, func.max(ArticleVersion.version).label("v"))
        .group_by(ArticleVersion.article_id)
        .subquery()
    )
    query = select(ArticleVersion.text).join(
        newest,
        and_(
            ArticleVersion.article_id == newest.c.article_id, ArticleVersion.version == newest.c.v
        ),
    )
    yield from session.scalars(query)
