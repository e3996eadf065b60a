"""Each story's facts found once per story version, after the round (or the redecide or
backfill) that made it, and kept (``storage.facts.store_facts``): an export then reads them
instead of comparing every member's sentences again, which at 5,000 articles costs more than the
rest of the export."""

from __future__ import annotations

import logging
import time
from datetime import datetime

from monitor.app import App
from monitor.log import log
from monitor.match.facts import story_facts
from storage import facts, stories

logger = logging.getLogger(__name__)


def refresh(app: App, *, now: datetime) -> int:
    """Find and keep the facts of every configured story whose kept facts are of another
    version than its current one; returns how many stories had theirs found."""
    found = 0
    for ref in app.stories:
        with app.db.read() as session:
            story = stories.story_by_id(session, ref.id)
            if facts.kept_version(session, ref.id) == story.version:
                continue
            version = story.version
            started = time.perf_counter()
            texts = facts.member_texts(session, ref.id)
        found_facts = story_facts(texts)
        with app.db.write() as session:
            facts.store_facts(session, ref.id, version, found_facts, now=now)
        found += 1
        log(
            logger,
            "facts_found",
            story=ref.slug,
            story_version=version,
            articles=len(texts),
            facts=len(found_facts),
            duration_ms=int((time.perf_counter() - started) * 1000),
        )
    return found
