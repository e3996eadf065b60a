"""The archive's upkeep after a round, in the daemon and ``monitor poll`` alike: SQLite's search
index merged into one segment when the last merge is a day old (storage.searchmerge)."""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from monitor.app import App
from monitor.log import log
from storage import searchmerge

logger = logging.getLogger(__name__)

# Seconds of merging a round may spend: a 100,000-article index merges in about 3 s (a step of
# 0.1-0.15 s each), a larger one over the next rounds, so the next poll is not held up.
ROUND_BUDGET_S = 2.0


def merge_search_index(
    app: App, *, now: datetime, stop: threading.Event | None = None
) -> searchmerge.Merged | None:
    """Merge the search index's segments if it is due; what the merge did, None if not due."""
    if not searchmerge.due(app.db, now=now):
        return None
    merged = searchmerge.merge(app.db, now=now, budget_s=ROUND_BUDGET_S, stop=stop)
    if merged is not None:
        log(
            logger,
            "search_index_merged" if merged.done else "search_index_merging",
            segments_before=merged.before,
            segments_after=merged.after,
            steps=merged.steps,
        )
    return merged
