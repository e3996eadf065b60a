"""Story membership: each story's decision on an article (seed, original, copy or off-topic)
with its reason, the members a match index is built from, and the decisions read back."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage import meta
from storage.articles import article_at
from storage.db import WriteSession, insert_row
from storage.models import (
    Article,
    ArticleVersion,
    Source,
    Story,
    StoryArticle,
)


def membership(session: Session, story_id: int, article_id: int) -> StoryArticle | None:
    return session.scalar(
        select(StoryArticle).where(
            StoryArticle.story_id == story_id, StoryArticle.article_id == article_id
        )
    )


def decision(session: Session, story_id: int, article_id: int) -> StoryArticle:
    """The story's decision on the article, which the caller knows exists (NoResultFound
    otherwise)."""
    return session.execute(
        select(StoryArticle).where(
            StoryArticle.story_id == story_id, StoryArticle.article_id == article_id
        )
    ).scalar_one()


def record_decision(
    session: WriteSession,
    *,
    story_id: int,
    article_id: int,
    relation: str,
    copy_of_id: int | None,
    similarity: float | None,
    match: dict[str, Any],
    now: datetime,
    new: bool = False,
) -> StoryArticle:
    """The story's decision on the article, recorded over any it had; ``new``: the caller's
    transaction inserted the article, so it has none to read."""
    row = None if new else membership(session, story_id, article_id)
    if row is None:
        values = dict(
            story_id=story_id,
            article_id=article_id,
            relation=relation,
            copy_of_id=copy_of_id,
            similarity=similarity,
            match=match,
            decided_at=now,
        )
        return insert_row(session, StoryArticle, values)
    row.relation, row.copy_of_id, row.similarity = relation, copy_of_id, similarity
    row.match, row.decided_at = match, now
    session.flush()
    return row


@dataclass(frozen=True)
class Moved:
    """A member a repoint moved, with its relation and copy before."""

    row: StoryArticle
    relation_before: str
    copy_of_before: int | None


def repoint_copy_group(
    session: WriteSession, *, story_id: int, old_id: int, new_id: int, new_url: str, now: datetime
) -> list[Moved]:
    """``new_id`` was published before ``old_id``, the original of its copy group, and copies
    it: the old original becomes a copy of the new one, and so do the old one's copies. A seed
    is never re-pointed. Returns the members moved (each is a ``repointed`` event)."""
    moved = []
    old = membership(session, story_id, old_id)
    if old is not None and old.relation == "original":
        moved.append(Moved(old, old.relation, old.copy_of_id))
        old.relation, old.copy_of_id = "copy", new_id
        old.match = old.match | {
            "copy_of_earlier": new_url,
            "reason": f"{old.match.get('reason', '')}; later found to copy {new_url}, "
            "published earlier",
        }
        old.decided_at = now
    for row in copies_of(session, story_id, old_id):
        moved.append(Moved(row, row.relation, row.copy_of_id))
        row.copy_of_id = new_id
    session.flush()
    return moved


def relations(
    session: Session, story_id: int, article_ids: Collection[int]
) -> dict[int, tuple[str, int | None]]:
    """Each of ``article_ids``' relation in the story and the article it copies, as stored
    now (another process may have re-pointed a copy group since an index read them)."""
    rows = session.execute(
        select(StoryArticle.article_id, StoryArticle.relation, StoryArticle.copy_of_id).where(
            StoryArticle.story_id == story_id, StoryArticle.article_id.in_(article_ids)
        )
    )
    return {article_id: (relation, copy_of) for article_id, relation, copy_of in rows}


def copies_of(session: Session, story_id: int, article_id: int) -> list[StoryArticle]:
    """The story's members that are copies of ``article_id``."""
    return list(
        session.scalars(
            select(StoryArticle).where(
                StoryArticle.story_id == story_id,
                StoryArticle.copy_of_id == article_id,
                StoryArticle.relation == "copy",
            )
        )
    )


def leave(
    session: WriteSession, story_id: int, article_id: int, *, match: dict[str, Any], now: datetime
) -> None:
    """A member leaves the story (``monitor story redecide``): off-topic from now, with
    ``match`` as its new reason; its similarity stays as scored."""
    row = decision(session, story_id, article_id)
    row.relation, row.copy_of_id = "off_topic", None
    row.match, row.decided_at = match, now


def left_with(session: Session, story_id: int, article_ids: Collection[int]) -> list[int]:
    """Articles the story judged off-topic because they left it with one of ``article_ids``
    (the ``left_with`` of their reason), of which they are copies."""
    if not article_ids:
        return []
    # A JSON path that both backends read.
    return list(
        session.scalars(
            select(StoryArticle.article_id).where(
                StoryArticle.story_id == story_id,
                StoryArticle.relation == "off_topic",
                StoryArticle.match["left_with"].as_integer().in_(sorted(article_ids)),
            )
        )
    )


def note_members_left(session: WriteSession, story_id: int) -> None:
    """Count once more that members left the story: other processes' match indexes built
    before hold members that are no longer in it (``meta.members_left``)."""
    key = meta.members_left(story_id)
    meta.put(session, key, str(int(meta.get(session, key) or 0) + 1))


def stories_of_article(session: Session, article_id: int) -> list[int]:
    """The ids of the stories an article belongs to (not those that judged it off-topic): those
    whose timeline an update, removal or redirect of it reaches."""
    return list(
        session.scalars(
            select(StoryArticle.story_id).where(
                StoryArticle.article_id == article_id, StoryArticle.relation != "off_topic"
            )
        )
    )


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
    labelled_in: bool = False  # the analyst's label put it in the story


def _labelled_in(match: dict[str, Any] | None) -> bool:
    """Whether a decision's reason says an analyst's ``in`` label decided it."""
    label = (match or {}).get("label") if (match or {}).get("kind") == "label" else None
    return isinstance(label, dict) and label.get("value") == "in"


def story_members(
    session: Session, story_id: int, only: Collection[int] | None = None
) -> list[Member]:
    """Seeds, originals and copies of a story (or ``only`` those of these article ids), each
    with every version's text, oldest first."""
    # The columns a member needs, not the whole rows: ORM objects of 5,000 articles and
    # their decisions (authors, reasons, instance state) were 17 MB more at the index's build.
    query = (
        select(
            Article.id,
            Article.url,
            Article.title,
            StoryArticle.relation,
            StoryArticle.copy_of_id,
            Article.published_at,
            Article.language,
            StoryArticle.match,
        )
        .join(Article, Article.id == StoryArticle.article_id)
        .where(StoryArticle.story_id == story_id, StoryArticle.relation != "off_topic")
        .order_by(Article.published_at, Article.id)
    )
    if only is not None:
        query = query.where(StoryArticle.article_id.in_(list(only)))
    members = {
        row.id: Member(
            row.id,
            row.url,
            row.title,
            row.relation,
            row.copy_of_id,
            row.published_at,
            language=row.language,
            labelled_in=_labelled_in(row.match),
        )
        for row in session.execute(query)
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


def explain(session: Session, url: str) -> list[Explanation]:
    """Every story's decision on the article stored under ``url`` (or with that canonical URL)."""
    article = article_at(session, url)
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
    label: str | None = None  # in or out: the analyst's label decided, not the score


def story_scores(session: Session, story_id: int) -> list[StoryScore]:
    """Every decision of the story's same-story stage (not seeds, exact texts or copies, which
    are decided before it), in the order they were made; one a label decided keeps the
    matcher's kind and score, with the label beside them."""
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
        labelled = match.get("kind") == "label"
        kind = (match.get("matcher") or {}).get("kind") if labelled else match.get("kind")
        if kind not in ("same_story", "off_topic") or threshold is None:
            continue
        out.append(
            StoryScore(
                article.id,
                article.url,
                article.outlet,
                article.title,
                member.relation,
                str(kind),
                float(scores.get("score", 0.0)),
                float(threshold),
                float(scores.get("keyword_hits", 0.0)),
                member.decided_at,
                tuple(str(t) for t, _ in match.get("shared_terms") or ()),
                match["label"]["value"] if labelled else None,
            )
        )
    return out


def relabel(session: WriteSession, member: StoryArticle, match: dict[str, Any]) -> None:
    """A decision's reason rewritten, its relation unchanged: a label given or withdrawn that
    agrees with what the story holds."""
    member.match = match
    session.flush()
