"""Deciding a stored article again for one story, as ``monitor.poll.ingest.first_version`` would
decide it now, and recording the new decision with a history of the old: what ``redecide`` and
``backfill`` share.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitor.app import StoryRef
from monitor.match import Decision, MatchSettings, band_keys, fingerprint
from monitor.poll.indexes import Indexes, as_known, remember
from monitor.poll.record import index_member, store_decision
from storage import articles, lsh, members
from storage.db import WriteSession

if TYPE_CHECKING:
    from storage.models import Article, StoryArticle


def history(member: StoryArticle, now: datetime) -> list[dict[str, Any]]:
    """The decision's ``redecided`` entries, with the one it is about to replace last."""
    match = member.match or {}
    before = {
        "at": now.isoformat(),
        "relation": member.relation,
        "story_threshold": (match.get("thresholds") or {}).get("story"),
    }
    return [*match.get("redecided", []), before]


def decide_again(
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
        session,
        story,
        latest.title,
        latest.text,
        fp,
        bands,
        article.published_at,
        article.language,
        url=article.url,
    )
    return decision, latest.version


def store_again(
    session: WriteSession,
    indexes: Indexes,
    story: StoryRef,
    settings: MatchSettings,
    article: Article,
    decision: Decision,
    match: dict[str, Any],
    version: int,
    now: datetime,
) -> Decision:
    """Record a decision made again; an article now in the story joins its band table and the
    match index, so that the next one decided can be its copy. The decision stored is returned:
    an analyst's label overrides ``decision`` (``store_decision``)."""
    at = article.published_at or article.first_seen_at
    decision = store_decision(
        session, story.id, article, decision, match, version=version, at=at, now=now
    )
    if decision.relation != "off_topic":
        index_member(session, settings, story.id, article.id)
        (known,) = members.story_members(session, story.id, only={article.id})
        remember(indexes.get(story, session), decision, as_known(known), None)
    return decision
