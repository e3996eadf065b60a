"""What a batch of feeds asks the round to do with their entries (``EntryPlan``): which are new
(their pages to fetch and store), which new ones name an article stored already, and which
stored articles a feed says were updated (to re-check now); and the entry rows recorded last.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from monitor.parse import FeedEntry
from monitor.poll.ingest import NewArticle
from monitor.urls import normalise_url
from storage import articles, queue, sources


@dataclass
class EntryPlan:
    """The entries of a batch of feeds, sorted. A URL is planned once: the first source listing
    it in the batch has it."""

    new: dict[str, NewArticle] = field(default_factory=dict)  # by URL: pages to fetch and store
    linked: dict[str, int] = field(default_factory=dict)  # URL -> the article stored under it
    recheck: set[int] = field(default_factory=set)  # articles a feed updated
    fresh: dict[int, list[FeedEntry]] = field(default_factory=dict)  # by source: its new entries

    def add_source(
        self,
        session: Session,
        source: queue.DueSource,
        entries: list[FeedEntry],
        *,
        max_new: int,
        now: datetime,
    ) -> int:
        """Plan one source's entries: those not seen before (the newest ``max_new``) are new
        unless an article already has their URL (then linked); known entries whose updated
        date moved put their article up for a re-check. Returns how many entries were new."""
        by_key = {e.key: e for e in entries}  # a feed may repeat a GUID; the last wins
        seen = sources.seen_entries(session, source.id, list(by_key))
        for key, entry in by_key.items():
            old = seen.get(key)
            if old is not None and old.article_id is not None and old.updated != updated(entry):
                self.recheck.add(old.article_id)
        unseen = [e for k, e in by_key.items() if k not in seen]
        unseen.sort(key=oldest_first_entry(now), reverse=True)
        fresh = unseen[:max_new]
        self.fresh[source.id] = fresh
        urls = [normalise_url(entry.url) for entry in fresh]
        # One query for the source's new entries, not one per entry.
        stored = articles.article_ids(
            session, [u for u in urls if u not in self.new and u not in self.linked]
        )
        for url, entry in zip(urls, fresh, strict=True):
            if url in self.new or url in self.linked:
                continue
            if url in stored:
                self.linked[url] = stored[url]
            else:
                self.new[url] = NewArticle(url, source, entry)
        return len(fresh)


def entry_rows(entries: list[FeedEntry], linked: dict[str, int]) -> list[sources.EntryRow]:
    """Every entry of a body as its row, with the article stored under its URL."""
    rows = {  # a feed may repeat a key; the last one wins
        e.key: sources.EntryRow(
            e.key, normalise_url(e.url), e.title, updated(e), linked.get(normalise_url(e.url))
        )
        for e in entries
    }
    return list(rows.values())


def updated(entry: FeedEntry) -> str | None:
    return entry.updated_at.isoformat() if entry.updated_at else None


def oldest_first_entry(now: datetime) -> Callable[[FeedEntry], tuple[bool, datetime, str]]:
    """Sort key: dated entries oldest first, then the undated (as if published ``now``)."""
    return lambda e: (e.published_at is None, e.published_at or now, e.url)


def oldest_first(now: datetime) -> Callable[[NewArticle], tuple[bool, datetime, str]]:
    entry_key = oldest_first_entry(now)
    return lambda item: entry_key(item.entry)
