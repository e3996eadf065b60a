"""What the HTTP API and the web pages read (``monitor serve``): pages of articles, sources and
digests with their totals, an article with its versions and its stories, one version with its
text. Read-only; every list is a page (``limit``, ``offset``) in a stable order, so that a
client walking the pages sees each row once while nothing is added.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, null, select
from sqlalchemy.orm import Session

from storage.models import (
    Article,
    ArticleVersion,
    Digest,
    Source,
    Story,
    StoryArticle,
)


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    total: int


def _page(session: Session, query: Any, limit: int, offset: int) -> Page:
    # Any: Select's type parameters differ between SQLAlchemy 2.0 and 2.1.
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = list(session.execute(query.limit(limit).offset(offset)))
    return Page(rows, int(total or 0))


@dataclass(frozen=True)
class ArticleRow:
    """An article in a list: its fields, how many versions it has and, in a story's list, its
    relation to the story."""

    article: Article
    versions: int
    relation: str | None = None


def articles(
    session: Session,
    *,
    limit: int,
    offset: int,
    story_id: int | None = None,
    outlet: str | None = None,
    relation: str | None = None,
) -> Page:
    """Articles, newest first (published, else first seen), with their version counts; with
    ``story_id``, its decisions (members unless ``relation`` asks for ``off_topic``), in the
    story file's order (oldest first)."""
    counts = (
        select(ArticleVersion.article_id, func.count().label("n"))
        .group_by(ArticleVersion.article_id)
        .subquery()
    )
    when = func.coalesce(Article.published_at, Article.first_seen_at)
    if story_id is None:
        query: Any = select(Article, func.coalesce(counts.c.n, 0), null()).order_by(
            when.desc(), Article.id.desc()
        )
    else:
        query = (
            select(Article, func.coalesce(counts.c.n, 0), StoryArticle.relation)
            .join(StoryArticle, StoryArticle.article_id == Article.id)
            .where(StoryArticle.story_id == story_id)
            .order_by(when, Article.id)
        )
        if relation is None:
            query = query.where(StoryArticle.relation != "off_topic")
        else:
            query = query.where(StoryArticle.relation == relation)
    query = query.outerjoin(counts, counts.c.article_id == Article.id)
    if outlet is not None:
        query = query.where(func.lower(Article.outlet) == outlet.lower())
    page = _page(session, query, limit, offset)
    return Page([ArticleRow(a, n, r) for a, n, r in page.rows], page.total)


def article(session: Session, article_id: int) -> Article | None:
    """The article with its versions (texts included: its page diffs them)."""
    return session.get(Article, article_id)


@dataclass(frozen=True)
class Membership:
    """An article's place in one story: the decision and its reason."""

    slug: str
    title: str
    relation: str
    copy_of_id: int | None
    copy_of_url: str | None
    similarity: float | None
    match: dict[str, Any]


def memberships(session: Session, article_id: int) -> list[Membership]:
    """Every story's decision on the article, by story slug."""
    copy = select(Article.id, Article.url).subquery()
    rows = session.execute(
        select(Story.slug, Story.title, StoryArticle, copy.c.url)
        .join(StoryArticle, StoryArticle.story_id == Story.id)
        .outerjoin(copy, copy.c.id == StoryArticle.copy_of_id)
        .where(StoryArticle.article_id == article_id)
        .order_by(Story.slug)
    )
    return [
        Membership(slug, title, row.relation, row.copy_of_id, url, row.similarity, row.match)
        for slug, title, row, url in rows
    ]


def version(session: Session, article_id: int, number: int) -> ArticleVersion | None:
    return session.scalar(
        select(ArticleVersion).where(
            ArticleVersion.article_id == article_id, ArticleVersion.version == number
        )
    )


def sources(session: Session, *, limit: int, offset: int) -> Page:
    """Sources by name (the order of ``monitor sources``)."""
    page = _page(session, select(Source).order_by(Source.name, Source.url), limit, offset)
    return Page([row[0] for row in page.rows], page.total)


@dataclass(frozen=True)
class DigestRow:
    id: int
    story: str
    created_at: datetime
    events: int
    recipients: list[str]
    delivered_to: str


def digests(session: Session, *, limit: int, offset: int, story_id: int | None = None) -> Page:
    """Digests sent or written, newest first; only the story's with ``story_id``. Where each
    went is shown as recorded: an SMTP URL never holds its password there."""
    query = (
        select(Digest, Story.slug)
        .join(Story, Story.id == Digest.story_id)
        .order_by(Digest.created_at.desc(), Digest.id.desc())
    )
    if story_id is not None:
        query = query.where(Digest.story_id == story_id)
    page = _page(session, query, limit, offset)
    return Page(
        [
            DigestRow(d.id, slug, d.created_at, d.events, list(d.recipients), d.delivered_to)
            for d, slug in page.rows
        ],
        page.total,
    )


def outlets(session: Session) -> list[str]:
    """Every outlet's name, for a search form's choices."""
    return list(session.scalars(select(Article.outlet).distinct().order_by(Article.outlet)))


def story_names(session: Session) -> Sequence[tuple[str, str]]:
    """Every story's slug and title, by slug."""
    return [
        (s, t) for s, t in session.execute(select(Story.slug, Story.title).order_by(Story.slug))
    ]
