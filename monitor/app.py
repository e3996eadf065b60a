"""The service's context: configuration, database and HTTP client, opened once per command.

Opening applies migrations and, under the database's start lock, brings the database in line
with the configuration: sources and stories (``monitor.stories.sync``), then the derived
tables and the seed articles (``monitor.stories.seeding``; a seed whose text changed gets a new
version), which ``monitor sources`` skips.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from monitor import config as configmod
from monitor.errors import ConfigError, StorageError
from storage.db import Database, DatabaseError, DatabaseURLError, open_database, parse_url

# The HTTP client, the matcher and the sync are imported where they are used: a command that
# only reads the database (``monitor story list``) opens it through this module, and with them
# here it paid about 1.5 s of imports (httpx, trafilatura, numpy, datasketch) for nothing.
if TYPE_CHECKING:
    import httpx
    from sqlalchemy.orm import Session

    from monitor.fetch.client import Fetcher
    from monitor.fetch.robots import RobotsCache
    from monitor.fetch.transport import Resolver
    from monitor.match import MatchSettings
    from monitor.poll.extracting import Extractor
    from monitor.stories.seeds import Seed


@dataclass(frozen=True)
class StoryRef:
    id: int
    slug: str
    title: str
    keywords: tuple[str, ...]
    sources: frozenset[str] | None  # source names; None: every source
    story_threshold: float | None = None  # None: [match] story_threshold

    @classmethod
    def configured(cls, story_id: int, story: configmod.Story) -> StoryRef:
        return cls(
            story_id,
            story.slug,
            story.title,
            story.keywords,
            frozenset(story.sources) if story.sources is not None else None,
            story.story_threshold,
        )


@dataclass
class App:
    config: configmod.Config
    db: Database
    # Makes the HTTP client at its first use (``fetcher``): a command that only reads the
    # archive does not import it (httpx, 0.06 s of a start).
    make_fetcher: Callable[[], Fetcher]
    stories: list[StoryRef] = field(default_factory=list)
    _fetcher: Fetcher | None = None
    _fetcher_made: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _robots: RobotsCache | None = None
    _extractor: Extractor | None = None
    # The fetch threads ask for the extractor at once: two would each start their children.
    _extractor_lock: threading.Lock = field(default_factory=threading.Lock)
    # Told how long each new article took to store (decide and record): the daemon's metrics.
    on_ingest: Callable[[float], None] | None = None
    _robots_made: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def fetcher(self) -> Fetcher:
        """The HTTP client, one for every thread of the process (made under a lock: the
        round's worker threads ask for it at once)."""
        with self._fetcher_made:
            if self._fetcher is None:
                self._fetcher = self.make_fetcher()
            return self._fetcher

    @property
    def robots(self) -> RobotsCache:
        """robots.txt of every host, fetched through the same client, cached for a day."""
        # Made once under a lock: the round's worker threads ask for it at once, and each
        # making its own cache fetched one host's robots.txt several times (27 for 20 hosts).
        with self._robots_made:
            if self._robots is None:
                from monitor.fetch.robots import RobotsCache

                fetcher = self.fetcher
                self._robots = RobotsCache(
                    lambda url: fetcher.get(
                        url, accept="text/plain", log_fields={"kind": "robots"}
                    ),
                    user_agent=self.config.fetch.user_agent,
                )
            return self._robots

    @property
    def extractor(self) -> Extractor:
        """Page extraction, in ``[poll] extract_processes`` child processes started at the first
        page and kept until ``close``: a daemon's rounds share them."""
        with self._extractor_lock:
            if self._extractor is None:
                from monitor.poll.extracting import Extractor, processes_for

                cfg = self.config.poll
                self._extractor = Extractor(
                    processes_for(cfg.extract_processes, cfg.workers), timeout=cfg.extract_timeout
                )
            return self._extractor

    @property
    def match_settings(self) -> MatchSettings:
        from monitor.match import MatchSettings

        m = self.config.match
        return MatchSettings(
            m.num_perm, m.shingle_size, m.candidate_threshold, m.copy_threshold, m.story_threshold
        )

    def prior_settings(self, story: StoryRef) -> MatchSettings:
        """The configured matching settings of one story: ``[match]``, with the story's own
        ``story_threshold`` when it sets one (the prior of the threshold fitted from labels)."""
        settings = self.match_settings
        if story.story_threshold is None:
            return settings
        return dataclasses.replace(settings, story_threshold=story.story_threshold)

    def story_settings(self, story: StoryRef, session: Session | None = None) -> MatchSettings:
        """The matching settings a story decides with: the configured ones, with the threshold
        fitted from the analyst's labels when the story has some (``monitor.stories.labels``).
        Read in ``session`` when given (a write transaction sees the threshold it just fitted),
        else in a read session of its own, so a daemon's next round sees a label given since."""
        from storage import labels

        settings = self.prior_settings(story)
        with nullcontext(session) if session is not None else self.db.read() as s:
            fitted = labels.fitted(s, story.id)
        if fitted is None:
            return settings
        return dataclasses.replace(settings, story_threshold=fitted)

    def stories_for(self, source_name: str | None) -> list[StoryRef]:
        return [
            s
            for s in self.stories
            if s.sources is None or (source_name is not None and source_name in s.sources)
        ]

    def close(self) -> None:
        if self._extractor is not None:
            self._extractor.close()
        if self._fetcher is not None:
            self._fetcher.close()
        self.db.close()

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def missing_archive(config: configmod.Config) -> str | None:
    """The configured SQLite file, when it does not exist yet (None: it does, or the database
    is a server's). A wrong URL is a ConfigError naming the setting."""
    try:
        url = parse_url(config.storage.url)
    except DatabaseURLError as exc:
        raise ConfigError(f"{config.where('storage', 'url')}: {exc}") from exc
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    return None if Path(database).exists() else database


def open_db(config: configmod.Config, *, existing: bool = False) -> Database:
    """The configured database, migrated. ``existing``: for a command that only reads, an
    SQLite file that is not there is a mistake, not a new archive. A wrong URL is a
    ConfigError, a database that cannot be reached or written a StorageError; both name the
    setting (or the variable) the URL came from."""
    where = config.where("storage", "url")
    try:
        return open_database(
            config.storage.url, password=config.storage.password, existing=existing
        )
    except DatabaseURLError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    except DatabaseError as exc:
        raise StorageError(f"{where}: {exc}") from exc


def open_app(
    config: configmod.Config,
    *,
    now: datetime,
    transport: httpx.BaseTransport | None = None,
    resolver: Resolver | None = None,
    seeds: bool = True,
) -> App:
    """Open the database, sync sources and stories from ``config`` (``monitor.stories.sync``),
    then, unless not ``seeds``, the derived tables and the seeds (``monitor.stories.seeding``:
    what only the commands that decide or read the archive need); build the client
    (``resolver``: the system's by default)."""
    from monitor.stories import sync

    def make_fetcher() -> Fetcher:
        from monitor.fetch.client import Fetcher
        from monitor.fetch.transport import system_resolver

        return Fetcher(config.fetch, transport=transport, resolver=resolver or system_resolver)

    files = _seed_files(config) if seeds else None  # a broken seed file: before the database
    db = open_db(config)
    app = App(config, db, make_fetcher)
    try:
        # Serialised with every other process starting (storage.db.start_lock): two workers
        # syncing the same sources and seeds at once would race to insert them.
        with db.start_lock():
            synced = sync.configuration(db, config, now)
            app.stories = [StoryRef.configured(s.id, s.config) for s in synced]
            if files is not None:
                from monitor.stories import seeding

                new = {s.config.slug for s in synced if s.new}
                seeding.archive(app, files, new=new, now=now)
    except Exception:
        app.close()
        raise
    return app


def _seed_files(config: configmod.Config) -> dict[str, list[Seed]]:
    """Every configured story's seed files, read (by story slug)."""
    from monitor.stories.seeds import load_seeds

    return {s.slug: load_seeds(s.seeds, s.slug, s.title) for s in config.stories if s.seeds}
