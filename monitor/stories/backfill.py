"""Deciding the archive's articles for a story added after they were stored (``backfill``), or
judging again those it found off-topic before a seed, keyword or threshold changed.

A backfill decides each article as ``monitor.poll.ingest.first_version`` would have, against the
story as it is now, oldest first so that members anchor the story as they join, in batches of
``BACKFILL_BATCH`` per write transaction so that the pipeline's writers are not kept waiting.
benchmarks/backfill.py checks that it accepts what benchmarks/matching.py's seeded scoring does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from monitor.app import App, StoryRef
from monitor.log import log
from monitor.match import MatchSettings
from monitor.poll.indexes import Indexes
from monitor.stories.decide import decide_again, history, store_again
from storage import articles, labels, members
from storage.db import WriteSession

logger = logging.getLogger(__name__)
# Articles decided per write transaction by a backfill: on SQLite each holds the one write lock,
# and 200 decisions take about half a second (1.5 s on PostgreSQL: benchmarks/backfill.py).
BACKFILL_BATCH = 200


@dataclass
class Backfill:
    """What a backfill decided: counts by relation, and how many of the articles judged
    off-topic before are in the story now."""

    articles: int = 0
    originals: int = 0
    copies: int = 0
    off_topic: int = 0
    joined: int = 0

    def count(self, relation: str, *, joined: bool) -> None:
        self.articles += 1
        self.joined += joined
        if relation == "copy":
            self.copies += 1
        elif relation == "original":
            self.originals += 1
        else:
            self.off_topic += 1


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
    settings = app.story_settings(story)  # with the threshold fitted from its labels
    with app.db.read() as session:
        ids = members.undecided(
            session, story.id, sources=story.sources, since=since, off_topic=off_topic
        )
    result = Backfill()
    indexes = Indexes(app)
    for start in range(0, len(ids), BACKFILL_BATCH):
        with app.db.write() as session:
            for article_id in ids[start : start + BACKFILL_BATCH]:
                decided = _decide(session, indexes, story, settings, article_id, now)
                if decided is not None:
                    relation, joined = decided
                    result.count(relation, joined=joined)
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


def _decide(
    session: WriteSession,
    indexes: Indexes,
    story: StoryRef,
    settings: MatchSettings,
    article_id: int,
    now: datetime,
) -> tuple[str, bool] | None:
    """Decide one article and record the decision; its relation and whether it joined from
    off-topic, or None when another backfill decided it meanwhile. One judged off-topic
    before and still off-topic keeps its first decision."""
    article = articles.lock_article(session, article_id)
    member = members.membership(session, story.id, article_id)
    if member is not None and member.relation != "off_topic":
        return None  # decided meanwhile (another backfill)
    if labels.current(session, story.id, article_id) is not None:
        return None  # the analyst's label decides it (labelled out: --off-topic finds it)
    decision, version = decide_again(session, indexes, story, settings, article)
    if member is not None and decision.relation == "off_topic":
        return "off_topic", False
    match = decision.as_match()
    if member is not None:
        match["redecided"] = history(member, now)
    store_again(session, indexes, story, settings, article, decision, match, version, now)
    return decision.relation, member is not None
