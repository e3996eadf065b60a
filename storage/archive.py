"""Reads: stories, their members for the match index, search, events for digests."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session, aliased

from storage import searchtext
from storage.models import (
    Article,
    ArticleVersion,
    Digest,
    Source,
    Story,
    StoryArticle,
    StoryEvent,
)


def story_by_slug(session: Session, slug: str) -> Story | None:
    return session.scalar(select(Story).where(Story.slug == slug))


@dataclass(frozen=True)
class StorySummary:
    slug: str
    title: str
    version: int
    updated_at: datetime
    outlets: int
    articles: int
    copies: int
    off_topic: int


def list_stories(session: Session) -> list[StorySummary]:
    out = []
    for story in session.scalars(select(Story).order_by(Story.slug)):
        counts = dict(
            session.execute(
                select(StoryArticle.relation, func.count())
                .where(StoryArticle.story_id == story.id)
                .group_by(StoryArticle.relation)
            ).all()
        )
        outlets = (
            session.scalar(
                select(func.count(func.distinct(Article.outlet)))
                .join(StoryArticle, StoryArticle.article_id == Article.id)
                .where(StoryArticle.story_id == story.id, StoryArticle.relation != "off_topic")
            )
            or 0
        )
        out.append(
            StorySummary(
                story.slug,
                story.title,
                story.version,
                story.updated_at,
                outlets,
                sum(n for r, n in counts.items() if r != "off_topic"),
                counts.get("copy", 0),
                counts.get("off_topic", 0),
            )
        )
    return out


@dataclass
class Member:
    article_id: int
    url: str
    title: str | None
    relation: str
    copy_of_id: int | None
    published_at: datetime | None
    texts: list[str] = field(default_factory=list)
    language: str | None = None


def story_members(
    session: Session, story_id: int, only: Collection[int] | None = None
) -> list[Member]:
    """Seeds, originals and copies of a story (or ``only`` those of these article ids), each
    with every version's text, oldest first."""
    query = (
        select(StoryArticle, Article)
        .join(Article, Article.id == StoryArticle.article_id)
        .where(StoryArticle.story_id == story_id, StoryArticle.relation != "off_topic")
        .order_by(Article.published_at, Article.id)
    )
    if only is not None:
        query = query.where(StoryArticle.article_id.in_(list(only)))
    rows = session.execute(query).all()
    members = {
        a.id: Member(
            a.id, a.url, a.title, m.relation, m.copy_of_id, a.published_at, language=a.language
        )
        for m, a in rows
    }
    if members:
        # Texts only: the signatures are in the band table, and the whole rows (signature and
        # search text) would double what a round reads.
        versions = session.execute(
            select(ArticleVersion.article_id, ArticleVersion.text)
            .where(ArticleVersion.article_id.in_(list(members)))
            .order_by(ArticleVersion.article_id, ArticleVersion.version)
        )
        for article_id, body in versions:
            members[article_id].texts.append(body)
    return list(members.values())


def count_off_topic(session: Session, story_id: int) -> int:
    """How many articles the story judged off-topic."""
    return int(
        session.scalar(
            select(func.count())
            .select_from(StoryArticle)
            .where(StoryArticle.story_id == story_id, StoryArticle.relation == "off_topic")
        )
        or 0
    )


def undecided(
    session: Session,
    story_id: int,
    *,
    sources: Collection[str] | None,
    since: datetime | None = None,
    off_topic: bool = False,
) -> list[int]:
    """Articles of the archive the story has not decided (also those it judged off-topic, with
    ``off_topic``): fetched from ``sources`` (names; None: any source), with a stored version,
    published (else first seen) at ``since`` or later; oldest first."""
    when = func.coalesce(Article.published_at, Article.first_seen_at)
    decided = select(StoryArticle.article_id).where(StoryArticle.story_id == story_id)
    if off_topic:
        decided = decided.where(StoryArticle.relation != "off_topic")
    query = (
        select(Article.id)
        .join(Source, Source.id == Article.source_id)
        .where(
            Article.id.not_in(decided),
            select(ArticleVersion.id).where(ArticleVersion.article_id == Article.id).exists(),
        )
        .order_by(when, Article.id)
    )
    if sources is not None:
        query = query.where(Source.name.in_(sorted(sources)))
    if since is not None:
        query = query.where(when >= since)
    return list(session.scalars(query))


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


def last_digest(session: Session, story_id: int) -> Digest | None:
    return session.scalar(
        select(Digest).where(Digest.story_id == story_id).order_by(Digest.id.desc()).limit(1)
    )


def events_after(session: Session, story_id: int, after_id: int) -> list[StoryEvent]:
    return list(
        session.scalars(
            select(StoryEvent)
            .where(StoryEvent.story_id == story_id, StoryEvent.id > after_id)
            .order_by(StoryEvent.id)
        )
    )


def failing_sources(session: Session, *, since: datetime) -> list[Source]:
    """Active sources whose errors began at or before ``since`` and have not stopped."""
    return list(
        session.scalars(
            select(Source)
            .where(Source.active.is_(True), Source.failing_since <= since)
            .order_by(Source.failing_since, Source.name)
        )
    )


def sources(session: Session) -> list[Source]:
    return list(session.scalars(select(Source).order_by(Source.name, Source.url)))


@dataclass(frozen=True)
class Explanation:
    story: str
    url: str
    outlet: str
    title: str | None
    relation: str
    copy_of: str | None
    similarity: float | None
    match: dict[str, Any]
    decided_at: datetime


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
    article = _article_at(session, url)
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


def _article_at(session: Session, url: str) -> Article | None:
    return session.scalar(
        select(Article).where((Article.url == url) | (Article.canonical_url == url)).limit(1)
    )


def explain(session: Session, url: str) -> list[Explanation]:
    """Every story's decision on the article stored under ``url`` (or with that canonical URL)."""
    article = _article_at(session, url)
    if article is None:
        return []
    rows = session.scalars(
        select(StoryArticle).where(StoryArticle.article_id == article.id).order_by(StoryArticle.id)
    )
    out = []
    for row in rows:
        story = session.get_one(Story, row.story_id)
        out.append(
            Explanation(
                story.slug,
                article.url,
                article.outlet,
                article.title,
                row.relation,
                row.copy_of.url if row.copy_of is not None else None,
                row.similarity,
                row.match,
                row.decided_at,
            )
        )
    return out


@dataclass(frozen=True)
class StoryScore:
    """One decision of a story's same-story stage: what the article scored and against what."""

    article_id: int
    url: str
    outlet: str
    title: str | None
    relation: str  # original, copy, off_topic (as decided, or re-pointed since)
    kind: str  # same_story or off_topic
    score: float
    threshold: float  # the story_threshold in force when it was decided
    keyword_hits: float
    decided_at: datetime
    shared_terms: tuple[str, ...] = ()  # what added most to the score (older decisions: none)


def story_scores(session: Session, story_id: int) -> list[StoryScore]:
    """Every decision of the story's same-story stage (not seeds, exact texts or copies, which
    are decided before it), in the order they were made."""
    rows = session.execute(
        select(StoryArticle, Article)
        .join(Article, Article.id == StoryArticle.article_id)
        .where(StoryArticle.story_id == story_id)
        .order_by(StoryArticle.decided_at, StoryArticle.id)
    )
    out = []
    for member, article in rows:
        match = member.match or {}
        scores = match.get("scores") or {}
        threshold = (match.get("thresholds") or {}).get("story")
        if match.get("kind") not in ("same_story", "off_topic") or threshold is None:
            continue
        out.append(
            StoryScore(
                article.id,
                article.url,
                article.outlet,
                article.title,
                member.relation,
                match["kind"],
                float(scores.get("score", 0.0)),
                float(threshold),
                float(scores.get("keyword_hits", 0.0)),
                member.decided_at,
                tuple(str(t) for t, _ in match.get("shared_terms") or ()),
            )
        )
    return out
