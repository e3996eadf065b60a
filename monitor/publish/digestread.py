"""What a digest shows, read from the archive: each event with its article, its decision
(relation, the original a copy copies and its outlet), an edit's change kinds and diff, a new
report's text; whether the event brought a new outlet to the story; the sources failing."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from monitor.publish.digestview import EventRow, Failing
from storage import sources
from storage.models import Article, ArticleVersion, StoryArticle, StoryEvent

_JOINS = ("first_report", "copy")


def rows(session: Session, story_id: int, events: Sequence[StoryEvent]) -> list[EventRow]:
    """The events as the digest's rows, in the order given."""
    ids = {e.article_id for e in events}
    members = {
        m.article_id: m
        for m in session.scalars(
            select(StoryArticle)
            .where(StoryArticle.story_id == story_id, StoryArticle.article_id.in_(ids))
            .options(selectinload(StoryArticle.copy_of))
        )
    }
    wanted = {(e.article_id, e.article_version) for e in events if e.event == "update"}
    versions = _versions(session, ids, wanted)
    latest = _latest_texts(session, {e.article_id for e in events if e.event == "first_report"})
    seen = _outlets_before(session, story_id, [e.id for e in events])
    out = []
    for e in events:
        row = _row(e, members.get(e.article_id), versions, latest, e.article.outlet not in seen)
        if row.new_outlet:
            seen.add(row.outlet)
        out.append(row)
    return out


def _versions(
    session: Session, ids: set[int], wanted: set[tuple[int, int | None]]
) -> dict[tuple[int, int], ArticleVersion]:
    if not wanted:
        return {}
    found = session.scalars(
        select(ArticleVersion).where(
            ArticleVersion.article_id.in_({a for a, _ in wanted}),
            ArticleVersion.version.in_({v for _, v in wanted if v is not None}),
        )
    )
    return {(v.article_id, v.version): v for v in found}


def _latest_texts(session: Session, ids: set[int]) -> dict[int, str]:
    """Each article's first version's text: its opening as first reported."""
    if not ids:
        return {}
    found = session.execute(
        select(ArticleVersion.article_id, ArticleVersion.text).where(
            ArticleVersion.article_id.in_(ids), ArticleVersion.version == 1
        )
    )
    return {a: t for a, t in found}


def _outlets_before(session: Session, story_id: int, event_ids: list[int]) -> set[str]:
    """Outlets the story had before these events (their articles joined by other events)."""
    query = (
        select(Article.outlet)
        .join(StoryEvent, StoryEvent.article_id == Article.id)
        .where(StoryEvent.story_id == story_id, StoryEvent.event.in_(_JOINS))
        .distinct()
    )
    if event_ids:
        query = query.where(StoryEvent.id < min(event_ids))
    return set(session.scalars(query))


def _row(
    e: StoryEvent,
    member: StoryArticle | None,
    versions: dict[tuple[int, int], ArticleVersion],
    texts: dict[int, str],
    new_outlet: bool,
) -> EventRow:
    a: Article = e.article
    detail: dict[str, Any] = e.detail or {}
    relation = detail.get("relation") or (member.relation if member else None)
    original = member.copy_of if member is not None else None
    version = versions.get((a.id, e.article_version or 0))
    day_only = e.event in _JOINS and a.published_precision == "day" and e.at == a.published_at
    return EventRow(
        event=e.event,
        at=e.at,
        day_only=day_only,
        article_id=a.id,
        outlet=a.outlet,
        title=a.title,
        url=a.url,
        relation=relation,
        copy_of_url=detail.get("copy_of") or (original.url if original else None),
        copy_of_outlet=detail.get("copy_of_outlet") or (original.outlet if original else None),
        copy_of_title=original.title if original else None,
        text=texts.get(a.id) if e.event == "first_report" else None,
        version=e.article_version,
        kinds=(version.kinds if version is not None else detail.get("kinds")) or [],
        diff=version.diff if version is not None else None,
        redirected_to=detail.get("target") or a.redirected_to,
        reason=_reason(e, detail, member),
        new_outlet=new_outlet and e.event in _JOINS and relation != "seed",
    )


def _reason(e: StoryEvent, detail: dict[str, Any], member: StoryArticle | None) -> str | None:
    """Why an article left the story (dropped) or was re-pointed to another original."""
    if e.event == "repointed":
        if detail.get("previous_relation") == "original":
            return "found to copy an article published earlier: no longer an original"
        return "published earlier than what it was a copy of"
    return detail.get("reason") or ((member.match or {}).get("reason") if member else None)


def failing(
    session: Session, story_sources: Collection[str] | None, now: datetime
) -> list[Failing]:
    return [
        Failing(s.name, s.url, s.failing_since, s.error_message or "")
        for s in sources.failing_sources(session, since=now - sources.FAILING_FOR)
        if s.failing_since is not None and (story_sources is None or s.name in story_sources)
    ]
