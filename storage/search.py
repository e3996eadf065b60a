"""Searching the archive: articles whose newest version contains every word of a query."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from storage import searchtext
from storage.models import (
    Article,
    ArticleVersion,
    Story,
    StoryArticle,
)


@dataclass(frozen=True)
class Hit:
    url: str
    title: str | None
    outlet: str
    published_at: datetime | None
    snippet: str
    stories: tuple[str, ...]


def search(session: Session, text: str, *, limit: int = 20, story: str | None = None) -> list[Hit]:
    """Articles whose newest version contains every word of ``text``, blind to case and
    accents (see storage.searchtext), newest first."""
    words = searchtext.fold(text).split()
    if not words:
        return []
    newest = (
        select(ArticleVersion.article_id, func.max(ArticleVersion.version).label("v"))
        .group_by(ArticleVersion.article_id)
        .subquery()
    )
    version = aliased(ArticleVersion)
    query = (
        select(Article, version)
        .join(newest, newest.c.article_id == Article.id)
        .join(version, and_(version.article_id == Article.id, version.version == newest.c.v))
    )
    for word in words:
        query = query.where(version.search_text.like(searchtext.like_pattern(word), escape="\\"))
    if story is not None:
        query = query.where(
            Article.id.in_(
                select(StoryArticle.article_id)
                .join(Story, Story.id == StoryArticle.story_id)
                .where(Story.slug == story, StoryArticle.relation != "off_topic")
            )
        )
    query = query.order_by(Article.published_at.desc(), Article.id.desc()).limit(limit)
    hits = []
    for article, ver in session.execute(query):
        lowered = ver.text.lower()
        at = max(0, lowered.find(words[0].lower()) - 80)
        snippet = " ".join(ver.text[at : at + 240].split())
        slugs = session.scalars(
            select(Story.slug)
            .join(StoryArticle, StoryArticle.story_id == Story.id)
            .where(StoryArticle.article_id == article.id, StoryArticle.relation != "off_topic")
        ).all()
        hits.append(
            Hit(
                article.url,
                ver.title or article.title,
                article.outlet,
                article.published_at,
                snippet,
                tuple(slugs),
            )
        )
    return hits
