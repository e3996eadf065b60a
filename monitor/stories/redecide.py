"""Deciding stored articles again: a story's past decisions after its ``story_threshold``
changed (``redecide``), and the archive's articles for a story added after they were stored
(``backfill``).

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

A backfill decides each article as ``ingest.first_version`` would have, against the story as it
is now, oldest first so that members anchor the story as they join, in batches of
``BACKFILL_BATCH`` per write transaction so that the pipeline's writers are not kept waiting.
benchmarks/backfill.py checks that it accepts what benchmarks/matching.py's seeded scoring does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor.app import App, StoryRef, index_member
from monitor.log import log
from monitor.match import (
    Decision,
    MatchSettings,
    band_keys,
    fingerprint,
    story_bar,
    would_flip,
)
from monitor.poll.ingest import Indexes, as_known, record, remember
from storage import articles, lsh, members, meta, stories
from storage.db import WriteSession
from storage.models import Article, StoryArticle

logger = logging.getLogger(__name__)
# Articles decided per write transaction by a backfill: on SQLite each holds the one write lock,
# and 200 decisions take about half a second (1.5 s on PostgreSQL: benchmarks/backfill.py).
BACKFILL_BATCH = 200


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
    app: App, session: WriteSession, story: StoryRef, settings: MatchSettings, now: datetime
) -> list[Change]:
    threshold = settings.story_threshold
    rows = [r for r in members.story_scores(session, story.id) if would_flip(r, threshold)]
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
    # Copies that left with an article joining now come back with it (JSON path: both backends).
    came_back = (
        session.scalars(
            select(StoryArticle.article_id).where(
                StoryArticle.story_id == story.id,
                StoryArticle.relation == "off_topic",
                StoryArticle.match["left_with"].as_integer().in_(sorted(joining)),
            )
        ).all()
        if joining
        else []
    )
    ids = set(joining) | set(came_back)
    articles = session.scalars(select(Article).where(Article.id.in_(ids))).all()
    indexes = Indexes(app)
    for article in sorted(articles, key=lambda a: (a.published_at or a.first_seen_at, a.id)):
        change = _join(session, indexes, story, settings, article, joining.get(article.id), now)
        if change is not None:
            changes.append(change)
    return changes


def _member(session: Session, story_id: int, article_id: int) -> StoryArticle:
    member = members.membership(session, story_id, article_id)
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
    session: WriteSession,
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
    stories.add_event(
        session,
        story_id=story.id,
        article_id=article.id,
        event="dropped",
        at=now,
        now=now,
        article_version=None,
    )
    return change


def _decide(
    session: WriteSession,
    indexes: Indexes,
    story: StoryRef,
    settings: MatchSettings,
    article: Article,
) -> tuple[Decision, int]:
    """The story's decision on the newest version of a stored article (and that version's
    number), as first_version would make it now: copy stage first, under the band-key locks."""
    latest = articles.latest_version(session, article.id)
    if latest is None:  # callers only ask about articles with a version
        raise LookupError(f"article {article.id} has no version")
    fp = fingerprint(latest.text, settings)
    bands = band_keys(fp.minhash, settings)
    lsh.lock(session, (key for _, key in bands))
    decision = indexes.decide(
        session, story, latest.title, latest.text, fp, bands, article.published_at, article.language
    )
    return decision, latest.version


def _store(
    session: WriteSession,
    indexes: Indexes,
    story: StoryRef,
    settings: MatchSettings,
    article: Article,
    decision: Decision,
    match: dict[str, Any],
    version: int,
    now: datetime,
) -> None:
    """Record a decision made again; an article now in the story joins its band table and the
    match index, so that the next one decided can be its copy."""
    at = article.published_at or article.first_seen_at
    record(session, story.id, article, decision, match, version=version, at=at, now=now)
    if decision.relation != "off_topic":
        index_member(session, settings, story.id, article.id)
        (known,) = members.story_members(session, story.id, only={article.id})
        remember(indexes.get(story, session), decision, as_known(known), None)


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
    decision, version = _decide(session, indexes, story, settings, article)
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
        decision = Decision("same_story", None, None, member.similarity or 0.0, {}, thresholds, why)
    before = member.relation
    match |= {"redecided": history}
    _store(session, indexes, story, settings, article, decision, match, version, now)
    reason = str(match["reason"])
    return Change(article.url, article.outlet, article.title, before, decision.relation, reason)


@dataclass
class Backfill:
    """What a backfill decided: counts by relation, and how many of the articles judged
    off-topic before are in the story now."""

    articles: int = 0
    originals: int = 0
    copies: int = 0
    off_topic: int = 0
    joined: int = 0


def backfill(
    app: App,
    story: StoryRef,
    *,
    now: datetime,
    since: datetime | None = None,
    off_topic: bool = False,
) -> Backfill:
    """Decide, against the story as it is now, the articles of the archive it has not decided:
    those stored before it was configured, or from a source it follows since. With
    ``off_topic``, also those it judged off-topic, against seeds, keywords or a threshold changed
    since (those still off-topic keep their first decision). Oldest first, so a copy group is
    led by its earliest member, in write transactions of ``BACKFILL_BATCH`` articles with a
    progress log after each."""
    settings = app.story_settings(story)
    with app.db.read() as session:
        ids = members.undecided(
            session, story.id, sources=story.sources, since=since, off_topic=off_topic
        )
    result = Backfill()
    indexes = Indexes(app)
    for start in range(0, len(ids), BACKFILL_BATCH):
        with app.db.write() as session:
            for article_id in ids[start : start + BACKFILL_BATCH]:
                article = session.get_one(Article, article_id, with_for_update=True)
                member = members.membership(session, story.id, article_id)
                if member is not None and member.relation != "off_topic":
                    continue  # decided meanwhile (another backfill)
                decision, version = _decide(session, indexes, story, settings, article)
                result.articles += 1
                if member is not None and decision.relation == "off_topic":
                    result.off_topic += 1
                    continue
                match = decision.as_match()
                if member is not None:
                    match["redecided"] = _history(member, now)
                    result.joined += 1
                _store(session, indexes, story, settings, article, decision, match, version, now)
                if decision.relation == "copy":
                    result.copies += 1
                elif decision.relation == "original":
                    result.originals += 1
                else:
                    result.off_topic += 1
        log(
            logger,
            "backfill_progress",
            story=story.slug,
            articles=min(start + BACKFILL_BATCH, len(ids)),
            of=len(ids),
            originals=result.originals,
            copies=result.copies,
        )
    return result
