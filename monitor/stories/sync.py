"""The configuration brought into the database at start: sources and stories, in one
transaction. The seeds and the derived tables follow (``monitor.stories.seeding``), for the
commands that read or add to the archive; ``monitor sources`` needs only these.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from monitor import config as configmod
from monitor.urls import domain_of
from storage import sources, stories
from storage.db import Database


@dataclass(frozen=True)
class SyncedStory:
    """A configured story as the database now has it."""

    id: int
    config: configmod.Story
    new: bool  # not in the database before this start


def configuration(db: Database, config: configmod.Config, now: datetime) -> list[SyncedStory]:
    """The configured sources (the others deactivated) and stories, in one transaction."""
    with db.write() as session:
        for source in config.sources:
            sources.sync_source(
                session,
                url=source.url,
                name=source.name,
                domain=domain_of(source.url),
                interval_s=source.interval or config.poll.default_interval,
                now=now,
                obey_robots=source.robots,
            )
        sources.deactivate_sources_except(session, {s.url for s in config.sources})
        synced = []
        for story in config.stories:
            new = stories.story_by_slug(session, story.slug) is None
            row = stories.sync_story(
                session, slug=story.slug, title=story.title, keywords=list(story.keywords), now=now
            )
            synced.append(SyncedStory(row.id, story, new))
        return synced
