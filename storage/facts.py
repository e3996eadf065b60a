"""What a story's facts are found in: each member's newest text, with who carried it and when.

The facts themselves are computed by ``monitor.match.facts.story_facts`` (the storage layer
never imports ``monitor``: ``storage.storyfile.build`` takes it as ``facts=``). They are derived
from the members as they stand, and every change to the members (a new one, an edit, one
dropped by ``story redecide``, a copy group re-pointed) makes a story version: so the facts
found at a version are kept with it (``story_facts``, written by ``monitor.stories.facts``
after the round that made it) and an export at that version reads them instead of finding them
again; at any other version they are found afresh.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.db import WriteSession, upsert_insert
from storage.models import Article, ArticleVersion, StoryArticle, StoryFacts


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


def stored_facts(session: Session, story_id: int, version: int) -> list[dict[str, Any]] | None:
    """The facts kept for the story at ``version``; None when those kept are of another version
    (or none are)."""
    row = session.get(StoryFacts, story_id)
    return row.facts if row is not None and row.story_version == version else None


def facts_at(
    session: Session, story_id: int, version: int, find: FactFinder
) -> list[dict[str, Any]]:
    """The story's facts at ``version`` (its current one): those kept for it, else found now
    by ``find`` in the members' newest texts."""
    kept = stored_facts(session, story_id, version)
    return kept if kept is not None else find(member_texts(session, story_id))


def kept_version(session: Session, story_id: int) -> int | None:
    """The story version whose facts are kept, if any."""
    return session.scalar(select(StoryFacts.story_version).where(StoryFacts.story_id == story_id))


def store_facts(
    session: WriteSession,
    story_id: int,
    version: int,
    facts: list[dict[str, Any]],
    *,
    now: datetime,
) -> None:
    """Keep ``facts`` as the story's at ``version``, unless facts of a newer version are kept
    already (two processes finding them at once: the newer wins, whichever writes last)."""
    insert = upsert_insert(session, StoryFacts).values(
        story_id=story_id, story_version=version, facts=facts, found_at=now
    )
    session.execute(
        insert.on_conflict_do_update(
            index_elements=[StoryFacts.story_id],
            set_={
                "story_version": insert.excluded.story_version,
                "facts": insert.excluded.facts,
                "found_at": insert.excluded.found_at,
            },
            where=StoryFacts.story_version < insert.excluded.story_version,
        )
    )
