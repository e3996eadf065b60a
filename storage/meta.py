"""Facts the database keeps about itself (the ``meta`` table): what its derived tables were
built with, so that a change in the code that derives them is noticed at start."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.db import WriteSession
from storage.models import Meta


def get(session: Session, name: str) -> str | None:
    return session.scalar(select(Meta.value).where(Meta.name == name))


def members_left(story_id: int) -> str:
    """The meta key that counts the times members left a story (monitor.stories.redecide): a match
    index built before the count changed holds members that are no longer in it."""
    return f"members_left:{story_id}"


def put(session: WriteSession, name: str, value: str) -> None:
    row = session.get(Meta, name)
    if row is None:
        session.add(Meta(name=name, value=value))
    else:
        row.value = value
    session.flush()
