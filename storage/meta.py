"""Facts the database keeps about itself (the ``meta`` table): what its derived tables were
built with, so that a change in the code that derives them is noticed at start."""

from __future__ import annotations

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from storage.db import WriteSession
from storage.models import Meta

# Built once: read at every decision (monitor.poll.indexes), where building it cost more than
# running it.
_VALUE = select(Meta.value).where(Meta.name == bindparam("name"))


def get(session: Session, name: str) -> str | None:
    return session.scalar(_VALUE, {"name": name})


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
