"""What each timeline event changed (``story_events.detail``), written with the event.

The public part is what the story file shows on the timeline: the decision of a
``first_report`` or ``copy`` (relation, kind, similarity, what it copies and whose it is), the
move of a ``repointed`` copy, what left with a ``dropped`` one. Under ``state`` an event also
keeps what ``storage.history`` needs to rebuild the story as it stood at that version and the
story file leaves out (the article carries it): the decision's whole reason (``match``) as it
was then, the page's dateModified then, and the off-topic decision an article joined from.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from storage.models import Article, StoryArticle

STATE = "state"


def public(detail: dict[str, Any]) -> dict[str, Any]:
    """The detail as the story file shows it: without the rebuild ``state``."""
    return {k: v for k, v in detail.items() if k != STATE}


def state(detail: dict[str, Any]) -> dict[str, Any]:
    value = detail.get(STATE)
    return value if isinstance(value, dict) else {}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _similarity(value: float | None) -> float | None:
    return round(value, 4) if value is not None else None


def _outlet_of(session: Session, article_id: int | None) -> tuple[str | None, str | None]:
    """The URL and outlet of ``article_id`` (None, None for no article)."""
    if article_id is None:
        return None, None
    article = session.get_one(Article, article_id)
    return article.url, article.outlet


def before(row: StoryArticle | None) -> dict[str, Any] | None:
    """The decision ``row`` holds, taken before it is overwritten: an article that joins the
    story from off-topic (``monitor story redecide``, ``backfill --off-topic``) was off-topic
    until then, with that reason, which an earlier version's off-topic list shows."""
    if row is None or row.relation != "off_topic":
        return None
    return {"relation": row.relation, "match": row.match, "decided_at": _iso(row.decided_at)}


def decided(
    session: Session,
    row: StoryArticle,
    article: Article,
    *,
    was: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The detail of a ``first_report`` or ``copy`` event: the decision ``row`` now holds on
    ``article``; ``was``, the off-topic decision it replaced (see ``before``)."""
    match = row.match or {}
    copy_of, copy_of_outlet = _outlet_of(session, row.copy_of_id)
    detail: dict[str, Any] = {
        "relation": row.relation,
        "kind": match.get("kind"),
        "similarity": _similarity(row.similarity),
        "copy_of": copy_of,
        "copy_of_outlet": copy_of_outlet,
    }
    if match.get("leads_copy_group"):
        detail["leads_copy_group"] = True
    if was is not None:
        detail["previously"] = was["relation"]
    kept: dict[str, Any] = {"match": match, "updated_at": _iso(article.updated_at)}
    if was is not None:
        kept["was"] = was
    return detail | {STATE: kept}


def repointed(
    session: Session,
    row: StoryArticle,
    *,
    relation_before: str,
    copy_of_before: int | None,
    because: str,
) -> dict[str, Any]:
    """The detail of a ``repointed`` event: ``row`` (an original, or a copy of it) now copies
    the earlier-published article ``because`` found to lead its copy group."""
    copy_of, copy_of_outlet = _outlet_of(session, row.copy_of_id)
    previous, previous_outlet = _outlet_of(session, copy_of_before)
    detail: dict[str, Any] = {
        "relation": row.relation,
        "copy_of": copy_of,
        "copy_of_outlet": copy_of_outlet,
        "previous_relation": relation_before,
        "previous_copy_of": previous,
        "previous_copy_of_outlet": previous_outlet,
        "because": because,
    }
    # Only the old original's reason changes (copy_of_earlier); its copies keep theirs.
    return detail | ({STATE: {"match": row.match}} if relation_before != row.relation else {})


def dropped(
    session: Session,
    row: StoryArticle,
    *,
    relation_before: str,
    copy_of_before: int | None,
    reason: str,
    left_with: int | None = None,
) -> dict[str, Any]:
    """The detail of a ``dropped`` event: what left the story (``row``, now off-topic), what it
    was, why, and the original it left with (a copy leaves with its original)."""
    previous, previous_outlet = _outlet_of(session, copy_of_before)
    detail: dict[str, Any] = {
        "relation": row.relation,
        "previous_relation": relation_before,
        "previous_copy_of": previous,
        "previous_copy_of_outlet": previous_outlet,
        "reason": reason,
    }
    if left_with is not None:
        detail["left_with"] = _outlet_of(session, left_with)[0]
    return detail | {STATE: {"match": row.match}}
