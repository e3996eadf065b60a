"""Deciding a story's past decisions again after its ``story_threshold`` changed.

A story's threshold applies to the articles decided after it is set; ``redecide`` applies it to
those decided before, from the score each decision stored, so that it changes exactly what
``monitor story scores --threshold`` showed (``match.would_flip``):

- an original whose stored score now falls short leaves the story (relation ``off_topic``, a
  ``dropped`` event on the timeline), and its copies leave with it;
- an off-topic article whose stored score now reaches the bar joins it, through the copy stage
  first and in publication order, so that of a wire story five outlets reprinted the earliest
  joins as the original and the others as its copies; copies that left with an original come
  back with it.

An article the analyst labelled is decided by its label (``monitor.stories.labels``), never
here: its row is left as it is, and a copy labelled ``in`` stays when its original leaves, as
an original.

Nothing is deleted: each re-decided row keeps its scores and gains a ``redecided`` entry (when,
the relation before, the threshold before). The band table keeps a leaving article's entries:
the copy stage skips a candidate that is not a member (``Indexes.decide`` finds no member row
for it), and an article that joins again finds them there. The whole re-decision is one write
transaction; a dry run makes it and rolls it back, so it reports what the real one would do.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitor.app import App, StoryRef
from monitor.log import log
from monitor.match import Decision, MatchSettings, story_bar, would_flip
from monitor.poll.indexes import Indexes
from monitor.poll.record import store_decision
from monitor.stories.decide import decide_again, history, store_again
from storage import articles, details, labels, members, stories
from storage.db import WriteSession

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from storage.models import Article, StoryArticle

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Change:
    """One article the re-decision moved, and why."""

    url: str
    outlet: str
    title: str | None
    before: str  # relation: original, copy or off_topic
    after: str
    reason: str


class _RolledBack(Exception):
    def __init__(self, changes: list[Change]) -> None:
        self.changes = changes


def redecide(app: App, story: StoryRef, *, now: datetime, dry_run: bool = False) -> list[Change]:
    """Apply the story's threshold (the one fitted from its labels when it has some, else the
    configured one) to its past same-story decisions; the changes made (or, with ``dry_run``,
    those that would be)."""
    try:
        with app.db.write() as session:
            changes = redecide_in(app, session, story, app.story_settings(story, session), now)
            if dry_run:
                raise _RolledBack(changes)
    except _RolledBack as rolled_back:
        return rolled_back.changes
    for c in changes:
        log(logger, "redecided", story=story.slug, url=c.url, before=c.before, after=c.after)
    return changes


def redecide_in(
    app: App, session: WriteSession, story: StoryRef, settings: MatchSettings, now: datetime
) -> list[Change]:
    """Re-decide, inside the caller's write transaction, the story's unlabelled same-story
    decisions that ``settings.story_threshold`` decides otherwise; the changes made."""
    threshold = settings.story_threshold
    rows = [
        r
        for r in members.story_scores(session, story.id)
        if r.label is None and would_flip(r, threshold)
    ]
    # Leaving first: the copy stage of the joining articles then sees the story without them.
    changes = _leaving(
        session, story, [r for r in rows if r.relation != "off_topic"], threshold, now
    )
    if changes:
        # Other processes' match indexes built before this hold the members that left.
        members.note_members_left(session, story.id)
    joining = {r.article_id: r for r in rows if r.relation == "off_topic"}
    # Copies that left with an article joining now come back with it.
    came_back = members.left_with(session, story.id, joining)
    found = articles.articles_by_id(session, set(joining) | set(came_back))
    indexes = Indexes(app)
    for article in sorted(found, key=lambda a: (a.published_at or a.first_seen_at, a.id)):
        change = _join(session, indexes, story, settings, article, joining.get(article.id), now)
        if change is not None:
            changes.append(change)
    return changes


def _leaving(
    session: WriteSession,
    story: StoryRef,
    rows: list[members.StoryScore],
    threshold: float,
    now: datetime,
) -> list[Change]:
    """Members whose stored score now falls short leave the story, and their copies with them."""
    changes: list[Change] = []
    for r in rows:
        needed = story_bar(threshold, r.keyword_hits)
        member = _member(session, story.id, r.article_id)
        why = (
            f"re-decided at story_threshold {threshold}: score {r.score:.3f} < {needed:.3f} "
            f"needed (in the story at {r.threshold} before)"
        )
        changes.append(leave(session, story, member, why, {"kind": "off_topic"}, threshold, now))
        changes += copies_leave(session, story, r.article_id, r.url, threshold, now)
    return changes


def copies_leave(
    session: WriteSession,
    story: StoryRef,
    original_id: int,
    original_url: str,
    threshold: float,
    now: datetime,
) -> list[Change]:
    """The copies of an original that left leave with it; one the analyst labelled ``in``
    stays, as an original (its label decides)."""
    changes = []
    for copy in members.copies_of(session, story.id, original_id):
        if labels.current(session, story.id, copy.article_id) is not None:
            changes.append(_stays_labelled(session, story, copy, now))
            continue
        why = f"left the story with {original_url}, of which it is a copy"
        left_with = {"left_with": original_id}
        changes.append(leave(session, story, copy, why, left_with, threshold, now))
    return changes


def _stays_labelled(
    session: WriteSession, story: StoryRef, copy: StoryArticle, now: datetime
) -> Change:
    """A copy labelled ``in`` whose original left: an original of the story from now."""
    article = articles.get_article(session, copy.article_id)
    match = copy.match or {}
    decision = Decision(
        "same_story", None, None, copy.similarity or 0.0, {}, match.get("thresholds") or {}, ""
    )
    version = articles.latest_version(session, article.id)
    at = article.published_at or article.first_seen_at
    stored = store_decision(
        session,
        story.id,
        article,
        decision,
        match | {"redecided": history(copy, now)},
        version=version.version if version is not None else 1,
        at=at,
        now=now,
    )
    return Change(
        article.url, article.outlet, article.title, "copy", stored.relation, stored.reason
    )


def _member(session: Session, story_id: int, article_id: int) -> StoryArticle:
    member = members.membership(session, story_id, article_id)
    if member is None:  # story_scores read it in this transaction
        raise LookupError(f"story {story_id} has no decision on article {article_id}")
    return member


def leave(
    session: WriteSession,
    story: StoryRef,
    member: StoryArticle,
    why: str,
    extra: dict[str, Any],
    threshold: float,
    now: datetime,
) -> Change:
    """``member`` leaves the story with ``why`` as its reason (and ``extra`` in it), a
    ``dropped`` event on the timeline."""
    match = member.match or {}
    article = articles.get_article(session, member.article_id)
    change = Change(article.url, article.outlet, article.title, member.relation, "off_topic", why)
    thresholds = (match.get("thresholds") or {}) | {"story": threshold}
    new = match | extra | {"thresholds": thresholds, "reason": why}
    new["redecided"] = history(member, now)
    relation_before, copy_of_before = member.relation, member.copy_of_id
    members.leave(session, story.id, article.id, match=new, now=now)
    stories.add_event(
        session,
        story_id=story.id,
        article_id=article.id,
        event="dropped",
        at=now,
        now=now,
        article_version=None,
        detail=details.dropped(
            session,
            member,
            relation_before=relation_before,
            copy_of_before=copy_of_before,
            reason=why,
            left_with=extra.get("left_with"),
        ),
    )
    return change


def _join(
    session: WriteSession,
    indexes: Indexes,
    story: StoryRef,
    settings: MatchSettings,
    article: Article,
    scored: members.StoryScore | None,
    now: datetime,
) -> Change | None:
    """Decide ``article`` again, copy stage first. ``scored``: it joins on its stored score
    unless it is a copy; None: it left with its original, and joins only as a copy of it."""
    member = _member(session, story.id, article.id)
    decision, version = decide_again(session, indexes, story, settings, article)
    before_history = history(member, now)
    if decision.kind in ("exact", "copy"):
        match = decision.as_match()
    elif scored is None:
        return None  # no longer a copy of anything in the story: it stays out
    else:
        needed = story_bar(settings.story_threshold, scored.keyword_hits)
        why = (
            f"re-decided at story_threshold {settings.story_threshold}: score "
            f"{scored.score:.3f} >= {needed:.3f} needed (off-topic at {scored.threshold} before)"
        )
        old = {k: v for k, v in (member.match or {}).items() if k != "left_with"}
        thresholds = (old.get("thresholds") or {}) | {"story": settings.story_threshold}
        match = old | {"kind": "same_story", "thresholds": thresholds, "reason": why}
        decision = Decision("same_story", None, None, member.similarity or 0.0, {}, thresholds, why)
    before = member.relation
    match |= {"redecided": before_history}
    decision = store_again(
        session, indexes, story, settings, article, decision, match, version, now
    )
    return Change(
        article.url, article.outlet, article.title, before, decision.relation, decision.reason
    )
