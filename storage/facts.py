"""What a story's facts are found in: each member's newest text, with who carried it and when.

The facts themselves are computed by ``monitor.match.facts.story_facts`` when the story file is
built (``storage.storyfile.build`` takes it as ``facts=``: the storage layer never imports
``monitor``). They are derived from the members as they stand, never stored: a member dropped
by ``story redecide``, an edit, or an earlier-published copy found later changes them at the
next export with nothing to migrate or keep in step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.models import Article, ArticleVersion, StoryArticle


@dataclass(frozen=True)
class MemberText:
    """One member of a story as facts read it (``monitor.match.facts.Reading``)."""

    outlet: str
    url: str
    published_at: datetime | None
    published_precision: str | None
    first_seen_at: datetime
    text: str


# What ``storage.storyfile.build`` calls with the members' texts: the facts as JSON-ready data.
FactFinder = Callable[[Sequence[MemberText]], list[dict[str, Any]]]


def member_texts(session: Session, story_id: int) -> list[MemberText]:
    """Every member of the story with its newest text, read in one query (only the newest
    version's text: not the other versions, not the stored HTML)."""
    newest = (
        select(ArticleVersion.article_id, func.max(ArticleVersion.version).label("version"))
        .join(StoryArticle, StoryArticle.article_id == ArticleVersion.article_id)
        .where(StoryArticle.story_id == story_id, StoryArticle.relation != "off_topic")
        .group_by(ArticleVersion.article_id)
        .subquery()
    )
    rows = session.execute(
        select(Article, ArticleVersion.text)
        .join(newest, newest.c.article_id == Article.id)
        .join(
            ArticleVersion,
            (ArticleVersion.article_id == Article.id)
            & (ArticleVersion.version == newest.c.version),
        )
        .order_by(Article.id)
    ).all()
    return [_member(a, text) for a, text in rows]


def _member(a: Article, text: str) -> MemberText:
    return MemberText(
        outlet=a.outlet,
        url=a.url,
        published_at=a.published_at,
        published_precision=a.published_precision,
        first_seen_at=a.first_seen_at,
        text=text,
    )
