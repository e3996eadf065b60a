"""The analyst's labels: an article is ``in`` a story or ``out`` of it, whatever the matcher
computes. Every label is a row and the newest of an article counts; ``clear`` withdraws it and
keeps the history. Also the story threshold fitted from the labels (``stories.fitted_threshold``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from storage.db import WriteSession
from storage.models import Article, Story, StoryArticle, StoryLabel

VALUES = ("in", "out", "clear")


@dataclass(frozen=True)
class Label:
    """An article's label for a story as it stands: ``in`` or ``out``, the analyst's note, and
    when it was given."""

    value: str
    note: str | None
    at: datetime

    def as_json(self) -> dict[str, Any]:
        """The ``label`` object of the story file and of a decision's reason."""
        return {"value": self.value, "note": self.note, "at": self.at.isoformat()}


def add(
    session: WriteSession,
    *,
    story_id: int,
    article_id: int,
    value: str,
    note: str | None,
    now: datetime,
) -> None:
    """Record a label (``in``, ``out`` or ``clear``); the older ones stay as its history."""
    if value not in VALUES:
        raise ValueError(f"a label is one of {', '.join(VALUES)}, not {value!r}")
    session.add(
        StoryLabel(
            story_id=story_id, article_id=article_id, value=value, note=note, labelled_at=now
        )
    )
    session.flush()


def _newest(story_id: int) -> Any:
    """The id of the newest label of each article the story has labelled."""
    return (
        select(func.max(StoryLabel.id))
        .where(StoryLabel.story_id == story_id)
        .group_by(StoryLabel.article_id)
    )


def current(session: Session, story_id: int, article_id: int) -> Label | None:
    """The article's label for the story: None when it has none or it was cleared."""
    row = session.scalar(
        select(StoryLabel)
        .where(StoryLabel.story_id == story_id, StoryLabel.article_id == article_id)
        .order_by(StoryLabel.id.desc())
        .limit(1)
    )
    if row is None or row.value == "clear":
        return None
    return Label(row.value, row.note, row.labelled_at)


def current_labels(session: Session, story_id: int) -> dict[int, Label]:
    """Every labelled article of the story (by article id) with its label; cleared ones left
    out."""
    rows = session.scalars(
        select(StoryLabel).where(StoryLabel.id.in_(_newest(story_id)), StoryLabel.value != "clear")
    )
    return {r.article_id: Label(r.value, r.note, r.labelled_at) for r in rows}


@dataclass(frozen=True)
class Labelled:
    """One labelled article of a story, with the decision that stands on it."""

    url: str
    outlet: str
    title: str | None
    label: Label
    relation: str | None  # seed, original, copy, off_topic; None: the story never decided it
    given: int  # how many labels the article was given for the story, clears included


def labelled(session: Session, story_id: int) -> list[Labelled]:
    """The story's labelled articles (cleared ones left out), the most recently labelled first."""
    given: dict[int, int] = {
        article_id: count
        for article_id, count in session.execute(
            select(StoryLabel.article_id, func.count())
            .where(StoryLabel.story_id == story_id)
            .group_by(StoryLabel.article_id)
        )
    }
    rows = session.execute(
        select(StoryLabel, Article, StoryArticle.relation)
        .join(Article, Article.id == StoryLabel.article_id)
        .outerjoin(
            StoryArticle,
            (StoryArticle.story_id == StoryLabel.story_id)
            & (StoryArticle.article_id == StoryLabel.article_id),
        )
        .where(StoryLabel.id.in_(_newest(story_id)), StoryLabel.value != "clear")
        .order_by(StoryLabel.id.desc())
    )
    return [
        Labelled(
            a.url,
            a.outlet,
            a.title,
            Label(lab.value, lab.note, lab.labelled_at),
            relation,
            given[a.id],
        )
        for lab, a, relation in rows
    ]


def fitted(session: Session, story_id: int) -> float | None:
    """The story threshold fitted from the story's labels; None when it has none."""
    return session.scalar(select(Story.fitted_threshold).where(Story.id == story_id))


def set_fitted(session: WriteSession, story_id: int, threshold: float | None) -> None:
    """Keep the threshold fitted from the story's labels (None: no label left)."""
    session.get_one(Story, story_id).fitted_threshold = threshold
    session.flush()
