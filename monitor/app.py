"""The service's context: configuration, database and HTTP client, opened once per command.

Opening applies migrations and brings the database in line with the configuration: sources,
stories and seed articles (a seed whose text changed gets a new version).
"""

from __future__ import annotations

import dataclasses
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor import config as configmod
from monitor.errors import StorageError
from monitor.fetch.client import Fetcher, Resolver, system_resolver
from monitor.fetch.robots import RobotsCache
from monitor.log import log
from monitor.match import (
    Fingerprint,
    MatchSettings,
    band_keys,
    fingerprint,
    lsh_params,
    minhash_from_bytes,
)
from monitor.match.story import TERMS_VERSION, TermChange, document_terms
from monitor.stories.seeds import Seed, load_seeds
from monitor.urls import domain_of
from storage import articles, lsh, members, sources, stories, termstats
from storage.db import Database, DatabaseError, WriteSession, open_database
from storage.models import Article, ArticleVersion

logger = logging.getLogger(__name__)
# Versions indexed per write when the band table is rebuilt: buckets shared within a chunk are
# written once, and progress is logged after each.
REBUILD_CHUNK = 10_000


@dataclass(frozen=True)
class StoryRef:
    id: int
    slug: str
    title: str
    keywords: tuple[str, ...]
    sources: frozenset[str] | None  # source names; None: every source
    story_threshold: float | None = None  # None: [match] story_threshold


@dataclass
class App:
    config: configmod.Config
    db: Database
    fetcher: Fetcher
    stories: list[StoryRef] = field(default_factory=list)
    _robots: RobotsCache | None = None

    @property
    def robots(self) -> RobotsCache:
        """robots.txt of every host, fetched through the same client, cached for a day."""
        if self._robots is None:
            fetcher = self.fetcher
            self._robots = RobotsCache(
                lambda url: fetcher.get(url, accept="text/plain", log_fields={"kind": "robots"}),
                user_agent=self.config.fetch.user_agent,
            )
        return self._robots

    @property
    def match_settings(self) -> MatchSettings:
        m = self.config.match
        return MatchSettings(
            m.num_perm, m.shingle_size, m.candidate_threshold, m.copy_threshold, m.story_threshold
        )

    def story_settings(self, story: StoryRef) -> MatchSettings:
        """The matching settings of one story: ``[match]``, with the story's own
        ``story_threshold`` when it sets one."""
        settings = self.match_settings
        if story.story_threshold is None:
            return settings
        return dataclasses.replace(settings, story_threshold=story.story_threshold)

    def stories_for(self, source_name: str | None) -> list[StoryRef]:
        return [
            s
            for s in self.stories
            if s.sources is None or (source_name is not None and source_name in s.sources)
        ]

    def close(self) -> None:
        self.fetcher.close()
        self.db.close()

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_db(config: configmod.Config) -> Database:
    try:
        return open_database(config.storage.url)
    except DatabaseError as exc:
        raise StorageError(f"{config.path}: [storage] url: {exc}") from exc


def open_app(
    config: configmod.Config,
    *,
    now: datetime,
    transport: httpx.BaseTransport | None = None,
    resolver: Resolver = system_resolver,
) -> App:
    """Open the database, sync sources, stories and seeds from ``config``, build the client."""
    seeds = {s.slug: load_seeds(s.seeds, s.slug) for s in config.stories if s.seeds}
    db = open_db(config)
    app = App(config, db, Fetcher(config.fetch, transport=transport, resolver=resolver))
    try:
        _sync(app, seeds, now)
    except Exception:
        app.close()
        raise
    return app


def _sync(app: App, seeds: dict[str, list[Seed]], now: datetime) -> None:
    cfg = app.config
    with app.db.write() as session:
        for source in cfg.sources:
            sources.sync_source(
                session,
                url=source.url,
                name=source.name,
                domain=domain_of(source.url),
                interval_s=source.interval or cfg.poll.default_interval,
                now=now,
                obey_robots=source.robots,
            )
        sources.deactivate_sources_except(session, {s.url for s in cfg.sources})
        new = set()
        for story in cfg.stories:
            if stories.story_by_slug(session, story.slug) is None:
                new.add(story.slug)
            row = stories.sync_story(
                session, slug=story.slug, title=story.title, keywords=list(story.keywords), now=now
            )
            app.stories.append(
                StoryRef(
                    row.id,
                    story.slug,
                    story.title,
                    story.keywords,
                    frozenset(story.sources) if story.sources is not None else None,
                    story.story_threshold,
                )
            )
    _sync_lsh(app)
    _sync_terms(app)
    for ref in app.stories:
        for seed in seeds.get(ref.slug, []):
            _sync_seed(app, ref, seed, now)
    for ref in app.stories:
        if ref.slug in new:
            with app.db.read() as session:
                stored = len(members.undecided(session, ref.id, sources=ref.sources))
            if stored:
                # Deciding them takes minutes on a large archive: the user's call, not a start's.
                log(
                    logger,
                    "story_added",
                    level=logging.WARNING,
                    story=ref.slug,
                    undecided_articles=stored,
                    hint=f"monitor story backfill {ref.slug}",
                )


def _sync_lsh(app: App) -> None:
    """Rebuild the band table when it was built with another geometry (``[match]``
    ``num_perm`` or ``candidate_threshold`` changed), or never (a database from before it):
    from the stored signatures (their texts only when ``num_perm`` changed)."""
    settings = app.match_settings
    n_bands, rows = lsh_params(settings.candidate_threshold, settings.num_perm)
    geometry = f"{n_bands} bands x {rows} rows of {settings.num_perm}"
    with app.db.write() as session:
        if lsh.geometry(session) == geometry:
            return
        lsh.reset(session, geometry)
        versions = lsh.member_versions(session)
        for start in range(0, len(versions), REBUILD_CHUNK):
            chunk = versions[start : start + REBUILD_CHUNK]
            lsh.fill(
                session,
                [(s, a, v, _bands(session, settings, a, v, sig)) for s, a, v, sig in chunk],
            )
            done = start + len(chunk)
            log(logger, "lsh_rebuild_progress", versions=done, of=len(versions))
    log(logger, "lsh_rebuilt", geometry=geometry, versions=len(versions))


def _sync_terms(app: App) -> None:
    """Count the document frequencies again when the term definition changed, or never was
    (a database from before the table): once, from the newest text of every article."""
    with app.db.write() as session:
        if termstats.built_with(session) == TERMS_VERSION:
            return
        termstats.reset(session, TERMS_VERSION)
        df: Counter[str] = Counter()
        docs = 0
        for docs, text in enumerate(articles.latest_texts(session), start=1):
            df.update(document_terms(text))
            if docs % 10_000 == 0:
                log(logger, "term_df_progress", texts=docs)
        termstats.insert(session, df, docs)
    log(logger, "term_df_counted", texts=docs, terms=len(df), version=TERMS_VERSION)


def _bands(
    session: Session, settings: MatchSettings, article_id: int, version: int, signature: bytes
) -> list[tuple[int, int]]:
    """A stored version's band keys: from its signature, or from its text when the signature
    was made with another ``num_perm``."""
    minhash = minhash_from_bytes(signature)
    if len(minhash.hashvalues) != settings.num_perm:
        stored = session.scalar(
            select(ArticleVersion.text).where(
                ArticleVersion.article_id == article_id, ArticleVersion.version == version
            )
        )
        minhash = fingerprint(stored or "", settings).minhash
    return band_keys(minhash, settings)


def index_member(
    session: WriteSession, settings: MatchSettings, story_id: int, article_id: int
) -> None:
    """Put every version of a story's member into the band table (a no-op for those in it)."""
    for version, signature in lsh.article_signatures(session, article_id):
        bands = _bands(session, settings, article_id, version, signature)
        lsh.add(session, story_id, article_id, version, bands)


def store_version(
    session: WriteSession,
    article: Article,
    *,
    title: str | None,
    text: str,
    fp: Fingerprint,
    now: datetime,
    changes: dict[str, Any],
    previous: ArticleVersion | None,
) -> tuple[ArticleVersion, TermChange]:
    """Store ``text`` as the article's next version after ``previous`` (its newest, as the
    caller read it in this transaction; None for the first), with its fingerprint, and count its
    terms in place of the predecessor's in the document frequencies (returned, for the indexes
    in memory)."""
    change = TermChange.between(previous.text if previous else None, text)
    termstats.apply(session, change.added, change.removed, new_doc=change.new_doc)
    version = articles.add_version(
        session,
        article,
        fetched_at=now,
        title=title,
        text=text,
        content_sha256=fp.sha256,
        word_count=fp.word_count,
        shingle_count=len(fp.shingles),
        minhash=fp.minhash_bytes(),
        changes=changes,
    )
    return version, change


def _sync_seed(app: App, story: StoryRef, seed: Seed, now: datetime) -> None:
    fp = fingerprint(seed.text, app.match_settings)
    with app.db.write() as session:
        article = articles.find_article(session, seed.url)
        if article is None:
            article = articles.create_article(
                session,
                url=seed.url,
                canonical_url=None,
                source_id=None,
                outlet=seed.outlet,
                domain=domain_of(seed.url) or "seed",
                title=seed.title,
                authors=[],
                language=seed.language,
                published_at=seed.published_at,
                published_precision=seed.published_precision,
                first_seen_at=now,
                last_fetched_at=now,
                status="ok",
            )
        latest = articles.latest_version(session, article.id)
        if latest is not None and latest.content_sha256 == fp.sha256 and latest.title == seed.title:
            if members.membership(session, story.id, article.id) is not None:
                return
        else:
            version, _ = store_version(
                session,
                article,
                title=seed.title,
                text=seed.text,
                fp=fp,
                now=now,
                changes={} if latest is None else {"seed_file_changed": True},
                previous=latest,
            )
            article.title = seed.title
            if latest is not None and members.membership(session, story.id, article.id):
                stories.add_event(
                    session,
                    story_id=story.id,
                    article_id=article.id,
                    event="update",
                    at=now,
                    now=now,
                    article_version=version.version,
                )
        if members.membership(session, story.id, article.id) is None:
            off_topic = members.count_off_topic(session, story.id)
            if off_topic:
                # They were judged without this seed: the user's call to judge them again.
                log(
                    logger,
                    "seed_added",
                    level=logging.WARNING,
                    story=story.slug,
                    seed=seed.path.name,
                    off_topic_articles=off_topic,
                    hint=f"monitor story backfill {story.slug} --off-topic",
                )
            members.record_decision(
                session,
                story_id=story.id,
                article_id=article.id,
                relation="seed",
                copy_of_id=None,
                similarity=None,
                match={"kind": "seed", "reason": f"seed file {seed.path.name}"},
                now=now,
            )
            stories.add_event(
                session,
                story_id=story.id,
                article_id=article.id,
                event="first_report",
                at=seed.published_at or now,
                now=now,
                article_version=1,
            )
        index_member(session, app.match_settings, story.id, article.id)
    log(logger, "seed", story=story.slug, url=seed.url, file=str(seed.path))
