"""The story file: what each outlet reported and when, every version, and the timeline.

``build`` returns plain JSON-ready data; its schema is documented in docs/story-file.md and is a
public contract: add keys freely, change or remove one only with a CHANGELOG entry.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from storage.models import Article, ArticleVersion, StoryArticle, StoryEvent
from storage.stories import story_by_slug

SCHEMA_VERSION = 1


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def build(session: Session, slug: str) -> dict[str, Any] | None:
    """The story file of ``slug``, or None if there is no such story."""
    story = story_by_slug(session, slug)
    if story is None:
        return None
    outlets: dict[str, dict[str, Any]] = {}
    off_topic = []
    for row in _decisions(session, story.id):
        a = row.article
        if row.relation == "off_topic":
            off_topic.append(_off_topic(row))
            continue
        outlet = outlets.setdefault(
            a.outlet, {"name": a.outlet, "domain": a.domain, "articles": []}
        )
        outlet["articles"].append(_member(row))
    return {
        "schema": SCHEMA_VERSION,
        "story": story.slug,
        "title": story.title,
        "keywords": story.keywords,
        "version": story.version,
        "updated_at": iso(story.updated_at),
        "outlets": list(outlets.values()),
        "timeline": _timeline(session, story.id),
        "off_topic": off_topic,
    }


def _decisions(session: Session, story_id: int) -> list[StoryArticle]:
    """Every decision of the story with its article and versions, in publication order (first
    seen, for the undated)."""
    rows = session.scalars(
        select(StoryArticle)
        .where(StoryArticle.story_id == story_id)
        .options(
            selectinload(StoryArticle.article).selectinload(Article.versions),
            selectinload(StoryArticle.copy_of),
        )
    ).all()
    return sorted(
        rows, key=lambda r: (r.article.published_at or r.article.first_seen_at, r.article.id)
    )


def _off_topic(row: StoryArticle) -> dict[str, Any]:
    a = row.article
    return {
        "url": a.url,
        "title": a.title,
        "outlet": a.outlet,
        "first_seen_at": iso(a.first_seen_at),
        "match": row.match,
    }


def _member(row: StoryArticle) -> dict[str, Any]:
    """One article of an outlet: the article, the decision and every version."""
    a = row.article
    return {
        "url": a.url,
        "canonical_url": a.canonical_url,
        "title": a.title,
        "authors": a.authors,
        "language": a.language,
        "published_at": iso(a.published_at),
        "published_precision": a.published_precision,
        "updated_at": iso(a.updated_at),
        "first_seen_at": iso(a.first_seen_at),
        "status": a.status,
        "removed_at": iso(a.removed_at),
        "relation": row.relation,
        "copy_of": row.copy_of.url if row.copy_of is not None else None,
        "similarity": round(row.similarity, 4) if row.similarity is not None else None,
        "match": row.match,
        "redirected_to": a.redirected_to,
        "versions": [_version(v) for v in a.versions],
    }


def _version(v: ArticleVersion) -> dict[str, Any]:
    """One version: its text's identity, what it changed and the evidence of its fetch (never
    the page itself: ``storage.articles.version_html`` reads it)."""
    return {
        "version": v.version,
        "fetched_at": iso(v.fetched_at),
        "title": v.title,
        "content_sha256": v.content_sha256,
        "word_count": v.word_count,
        "changes": v.changes,
        "diff": v.diff,
        "kinds": v.kinds,
        "returns_to": v.returns_to,
        "authors": v.authors,
        "notices": v.notices,
        "evidence": {
            "http_status": v.http_status,
            "etag": v.etag,
            "last_modified": v.last_modified,
            "final_url": v.final_url,
            "html_size": v.html_size,
            "html_kept": v.html_kept,
        },
    }


def _timeline(session: Session, story_id: int) -> list[dict[str, Any]]:
    events = session.scalars(
        select(StoryEvent)
        .where(StoryEvent.story_id == story_id)
        .options(selectinload(StoryEvent.article))
        .order_by(StoryEvent.at, StoryEvent.id)
    ).all()
    return [
        {
            "at": iso(e.at),
            "outlet": e.article.outlet,
            "url": e.article.url,
            "title": e.article.title,
            "event": e.event,
            "article_version": e.article_version,
            "story_version": e.story_version,
            "detail": e.detail,
        }
        for e in events
    ]
