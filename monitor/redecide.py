"""Re-deciding a story's past articles after its ``story_threshold`` changed.

A story's threshold applies to the articles decided after it is set; ``redecide`` applies it to
those decided before, from the score each decision stored, so that it changes exactly what
``monitor story scores --threshold`` showed (``match.would_flip``):

- an original whose stored score now falls short leaves the story (relation ``off_topic``, a
  ``dropped`` event on the timeline), and its copies leave with it;
- an off-topic article whose stored score now reaches the bar joins it, through the copy stage
  first and in publication order, so that of a wire story five outlets reprinted the earliest
  joins as the original and the others as its copies; copies that left with an original come
  back with it.

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
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.app import App, StoryRef, index_member
from monitor.ingest import Indexes, as_known, record, remember
from monitor.log import log
from monitor.match import Decision, MatchSettings, band_keys, fingerprint, story_bar, would_flip
from storage import archive, lsh, meta, store
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
    """Apply the story's configured threshold to its past same-story decisions; the changes
    made (or, with ``dry_run``, those that would be)."""
    try:
        with app.db.write() as session:
            changes = _redecide(app, session, story, app.story_settings(story), now)
            if dry_run:
                raise _RolledBack(changes)
    except _RolledBack as rolled_back:
        return rolled_back.changes
    for c in changes:
        log(logger, "redecided", story=story.slug, url=c.url, before=c.before, after=c.after)
    return changes


def _redecide(
    app: App, session: Session, story: StoryRef, settings: MatchSettings, now: datetime
) -> list[Change]:
    threshold = settings.story_threshold
    rows = [r for r in archive.story_scores(session, story.id) if would_flip(r, threshold)]
    changes: list[Change] = []
    # Leaving first: the copy stage of the joining articles then sees the story without them.
    for r in rows:
        if r.relation == "off_topic":
            continue
        needed = story_bar(threshold, r.keyword_hits)
        member = _member(session, story.id, r.article_id)
        why = (
            f"re-decided at story_threshold {threshold}: score {r.score:.3f} < {needed:.3f} "
            f"needed (in the story at {r.threshold} before)"
        )
        changes.append(_leave(session, story, member, why, {"kind": "off_topic"}, threshold, now))
        copies = session.scalars(
            select(StoryArticle).where(
                StoryArticle.story_id == story.id,
                StoryArticle.copy_of_id == r.article_id,
                StoryArticle.relation == "copy",
            )
        ).all()
        for copy in copies:
            why = f"left the story with {r.url}, of which it is a copy"
            left_with = {"left_with": r.article_id}
            changes.append(_leave(session, story, copy, why, left_with, threshold, now))
    if changes:
        # Other processes' match indexes built before this hold the members that left.
        key = meta.members_left(story.id)
        meta.put(session, key, str(int(meta.get(session, key) or 0) + 1))
    joining = {r.article_id: r for r in rows if r.relation == "off_topic"}
    came_back = [
        m
        for m in session.scalars(
            select(StoryArticle).where(
                StoryArticle.story_id == story.id, StoryArticle.relation == "off_topic"
            )
        )
        if (m.match or {}).get("left_with") in joining
    ]
    ids = set(joining) | {m.article_id for m in came_back}
    articles = session.scalars(select(Article).where(Article.id.in_(ids))).all()
    indexes = Indexes(app)
    for article in sorted(articles, key=lambda a: (a.published_at or a.first_seen_at, a.id)):
        change = _join(session, indexes, story, settings, article, joining.get(article.id), now)
        if change is not None:
            changes.append(change)
    return changes


def _member(session: Session, story_id: int, article_id: int) -> StoryArticle:
    member = store.membership(session, story_id, article_id)
    if member is None:  # story_scores read it in this transaction
        raise LookupError(f"story {story_id} has no decision on article {article_id}")
    return member


def _history(member: StoryArticle, now: datetime) -> list[dict[str, Any]]:
    match = member.match or {}
    before = {
        "at": now.isoformat(),
        "relation": member.relation,
        "story_threshold": (match.get("thresholds") or {}).get("story"),
    }
    return [*match.get("redecided", []), before]


def _leave(
    session: Session,
    story: StoryRef,
    member: StoryArticle,
    why: str,
    extra: dict[str, Any],
    threshold: float,
    now: datetime,
) -> Change:
    match = member.match or {}
    article = session.get_one(Article, member.article_id)
    change = Change(article.url, article.outlet, article.title, member.relation, "off_topic", why)
    thresholds = (match.get("thresholds") or {}) | {"story": threshold}
    new = match | extra | {"thresholds": thresholds, "reason": why}
    new["redecided"] = _history(member, now)
    member.relation, member.copy_of_id = "off_topic", None
    member.match, member.decided_at = new, now
    store.add_event(
        session,
        story_id=story.id,
        article_id=article.id,
        event="dropped",
        at=now,
        now=now,
        article_version=None,
    )
    return change


def _join(
    session: Session,
    indexes: Indexes,
    story: StoryRef,
    settings: MatchSettings,
    article: Article,
    scored: archive.StoryScore | None,
    now: datetime,
) -> Change | None:
    """Decide ``article`` again, copy stage first. ``scored``: it joins on its stored score
    unless it is a copy; None: it left with its original, and joins only as a copy of it."""
    member = _member(session, story.id, article.id)
    latest = store.latest_version(session, article.id)
    if latest is None:  # a decision is only ever stored with a version
        raise LookupError(f"article {article.id} has no version")
    fp = fingerprint(latest.text, settings)
    bands = band_keys(fp.minhash, settings)
    lsh.lock(session, (key for _, key in bands))
    decision = indexes.decide(
        session, story, latest.title, latest.text, fp, bands, article.published_at
    )
    history = _history(member, now)
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
        decision = Decision(
            "same_story",
            None,
            None,
            member.similarity or 0.0,
            {},
            thresholds,
            why,
        )
    before = member.relation
    record(
        session,
        story.id,
        article,
        decision,
        match | {"redecided": history},
        version=latest.version,
        at=article.published_at or article.first_seen_at,
        now=now,
    )
    index_member(session, settings, story.id, article.id)
    (known,) = archive.story_members(session, story.id, only={article.id})
    remember(indexes.get(story, session), decision, as_known(known), None)
    reason = str(match["reason"])
    return Change(article.url, article.outlet, article.title, before, decision.relation, reason)
