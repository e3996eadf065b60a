"""A story as it stood at one of its versions, rebuilt from its timeline: each event is one
story version and its ``detail`` (``storage.details``) says what it changed, so walking the
events up to a version gives every article's relation, copy and reason then, the newest of its
versions the story had seen, and whether it had been taken down. Nothing is decided again.

A point is a story version (0 to the current one) or a time; a time stands for the newest
version recorded at or before it. Off-topic judgements make no version: those made before the
next version was recorded (at a time: by that time) count as made then.

Events recorded before their ``detail`` was (an archive older than migration 0008) carry none:
their article is rebuilt with the decision it holds now.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from storage import details
from storage.models import Story, StoryArticle, StoryEvent

MEMBER_EVENTS = ("first_report", "copy")


class NoSuchPoint(ValueError):
    """The story has no such version, or did not exist at that time."""


@dataclass(frozen=True)
class Point:
    """Where in a story's history: its version then, when that version was made, and whether
    something recorded at a given time (an off-topic judgement, a fetch) had happened by then."""

    version: int
    updated_at: datetime
    made_by: Callable[[datetime], bool]


def events_of(session: Session, story_id: int) -> list[StoryEvent]:
    """Every event of the story with its article, in the order they were made."""
    return list(
        session.scalars(
            select(StoryEvent)
            .where(StoryEvent.story_id == story_id)
            .options(selectinload(StoryEvent.article))
            .order_by(StoryEvent.story_version, StoryEvent.id)
        )
    )


def point(story: Story, events: Sequence[StoryEvent], when: int | datetime) -> Point:
    """The point ``when`` names: a version number, or a time (aware). NoSuchPoint for a version
    the story has not reached or a time before it was created."""
    if isinstance(when, datetime):
        if when < story.created_at:
            raise NoSuchPoint(
                f"story {story.slug!r} was created at {story.created_at.isoformat()}, "
                f"after {when.isoformat()}"
            )
        version = max((e.story_version for e in events if e.recorded_at <= when), default=0)
        return Point(version, _made_at(story, events, version), lambda t: t <= when)
    if not 0 <= when <= story.version:
        raise NoSuchPoint(f"story {story.slug!r} has versions 0 to {story.version}, not {when}")
    later = [e.recorded_at for e in events if e.story_version > when]
    if not later:
        return Point(when, _made_at(story, events, when), lambda t: True)
    following = min(later)
    return Point(when, _made_at(story, events, when), lambda t: t < following)


def _made_at(story: Story, events: Sequence[StoryEvent], version: int) -> datetime:
    """When the story reached ``version``: its event's time (version 0: the story's creation)."""
    made = [e.recorded_at for e in events if e.story_version == version]
    return made[0] if made else story.created_at


@dataclass
class Then:
    """One article as the story had it at a point."""

    relation: str  # seed, original, copy, or off_topic once it was taken out
    copy_of: str | None
    copy_of_outlet: str | None
    similarity: float | None
    match: dict[str, Any]
    version: int | None = None  # the newest of its versions the story had seen
    removed_at: datetime | None = None
    updated_at: str | None = None  # the page's dateModified then, as the events recorded it
    updated_known: bool = False


@dataclass
class State:
    """The story at a point: its members and the articles taken out by then, by article id,
    and the off-topic decisions it had made (current rows, or the one an article joined from
    later)."""

    point: Point
    events: list[StoryEvent]  # up to the point
    articles: dict[int, Then] = field(default_factory=dict)
    off_topic: dict[int, dict[str, Any]] = field(default_factory=dict)  # article id -> match


def rebuild(rows: Sequence[StoryArticle], events: Sequence[StoryEvent], at: Point) -> State:
    """The story at ``at`` from its decisions as they are now (``rows``) and its events."""
    now_rows = {r.article_id: r for r in rows}
    state = State(at, [e for e in events if e.story_version <= at.version])
    for e in state.events:
        _apply(state.articles, e, now_rows.get(e.article_id))
    for article_id, then in state.articles.items():
        if then.relation == "off_topic":
            state.off_topic[article_id] = then.match
    joined_later = _first_events_after(events, at.version)
    for row in rows:
        if row.article_id in state.articles:
            continue
        first = joined_later.get(row.article_id)
        if first is None:
            # Never in the story: judged off-topic when it was decided, if by then.
            if row.relation == "off_topic" and at.made_by(row.decided_at):
                state.off_topic[row.article_id] = row.match
            continue
        was = details.state(first.detail).get("was")
        if was and at.made_by(datetime.fromisoformat(was["decided_at"])):
            state.off_topic[row.article_id] = was["match"]
    return state


def _first_events_after(events: Sequence[StoryEvent], version: int) -> dict[int, StoryEvent]:
    first: dict[int, StoryEvent] = {}
    for e in events:
        if e.story_version > version:
            first.setdefault(e.article_id, e)
    return first


def _apply(articles: dict[int, Then], e: StoryEvent, row: StoryArticle | None) -> None:
    """One event's change to the articles."""
    detail = e.detail or {}
    kept = details.state(detail)
    then = articles.get(e.article_id)
    if e.event in MEMBER_EVENTS:
        then = _joined(e, detail, row, then)
        articles[e.article_id] = then
        if "updated_at" in kept:
            then.updated_at, then.updated_known = kept["updated_at"], True
    elif then is None:
        return  # nothing to change: an event of an article the story never had (none so far)
    elif e.event == "repointed":
        then.relation = str(detail.get("relation", then.relation))
        then.copy_of, then.copy_of_outlet = detail.get("copy_of"), detail.get("copy_of_outlet")
        then.match = kept.get("match", then.match)
    elif e.event == "dropped":
        then.relation, then.copy_of, then.copy_of_outlet = "off_topic", None, None
        then.match = kept.get("match") or (row.match if row is not None else then.match)
    elif e.event == "removed":
        then.removed_at = e.at
    elif e.event == "update" and e.at != e.recorded_at:
        # A re-check's event is at the page's dateModified when it gives one, else when seen.
        then.updated_at, then.updated_known = e.at.isoformat(), True
    if e.article_version is not None:
        then.version = max(then.version or 0, e.article_version)


def _joined(
    e: StoryEvent, detail: dict[str, Any], row: StoryArticle | None, before: Then | None
) -> Then:
    """An article's state after its ``first_report`` or ``copy`` event."""
    version = before.version if before is not None else None
    removed_at = before.removed_at if before is not None else None
    if "relation" in detail:
        return Then(
            relation=str(detail["relation"]),
            copy_of=detail.get("copy_of"),
            copy_of_outlet=detail.get("copy_of_outlet"),
            similarity=detail.get("similarity"),
            match=details.state(detail).get("match") or (row.match if row else {}),
            version=version,
            removed_at=removed_at,
        )
    # An event without detail: the decision as it stands now.
    relation = row.relation if row is not None else "original"
    if relation == "off_topic":
        relation = "copy" if e.event == "copy" else "original"
    copy_of = row.copy_of if row is not None else None
    return Then(
        relation=relation,
        copy_of=copy_of.url if copy_of is not None else None,
        copy_of_outlet=copy_of.outlet if copy_of is not None else None,
        similarity=round(row.similarity, 4) if row and row.similarity is not None else None,
        match=row.match if row is not None else {},
        version=version,
        removed_at=removed_at,
    )
