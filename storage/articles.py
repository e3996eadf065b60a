"""Articles and their versions: finding, creating, versioning, what is stored."""

from __future__ import annotations

from collections.abc import Iterator
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
