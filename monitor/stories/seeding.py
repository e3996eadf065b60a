"""The seed articles that define each story, brought into the database at start (a seed whose
text or title changed gets a new version), after the derived tables are rebuilt if their
definition changed (``monitor.stories.rebuild``). Each seed is one transaction of its own.

What a start cannot decide quickly it names instead of doing: the articles a new story has not
decided, and those judged off-topic before a seed was added, each with the command that decides
them. Apart from ``monitor.stories.sync`` because it needs the matcher (numpy, 0.05 s of
imports), which ``monitor sources`` does not.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from monitor import text as textmod
from monitor.log import log
from monitor.match import Fingerprint, MatchSettings, fingerprint
from monitor.poll.record import index_member, store_version
from monitor.stories import rebuild
from monitor.stories.seeds import Seed
from monitor.urls import domain_of
from storage import articles, details, members, stories
from storage.db import Database, WriteSession

if TYPE_CHECKING:
    from monitor.app import App, StoryRef
    from storage.models import Article, ArticleVersion

logger = logging.getLogger(__name__)


def archive(app: App, seeds: dict[str, list[Seed]], *, new: set[str], now: datetime) -> None:
    """Bring the archive in line with the stories of ``app``: the derived tables, every seed
    (``seeds`` by story slug), then a word about each story in ``new`` (slugs)."""
    rebuild.band_table(app.db, app.match_settings)
    rebuild.term_frequencies(app.db)
    for ref in app.stories:
        for seed in seeds.get(ref.slug, []):
            sync_seed(app.db, app.match_settings, ref, seed, now)
    for ref in app.stories:
        if ref.slug in new:
            _name_backfill(app.db, ref)


def _name_backfill(db: Database, story: StoryRef) -> None:
    """A story added to an archive that holds articles of its sources has not decided them."""
    with db.read() as session:
        stored = len(members.undecided(session, story.id, sources=story.sources))
    if stored:
        # Deciding them takes minutes on a large archive: the user's call, not a start's.
        log(
            logger,
            "story_added",
            level=logging.WARNING,
            story=story.slug,
            undecided_articles=stored,
            hint=f"monitor story backfill {story.slug}",
        )


def sync_seed(
    db: Database, settings: MatchSettings, story: StoryRef, seed: Seed, now: datetime
) -> None:
    """Store the seed's article, a new version of it when its file changed, and its decision
    as the story's seed, in one transaction; an unchanged seed of the story changes nothing.
    The text's hash tells whether it changed: its fingerprint (datasketch, with SciPy, 0.3 s
    of imports) is made only for a text to store, so a command that opens the archive does
    not pay for it at every start."""
    sha256 = textmod.content_sha256(seed.text)
    with db.write() as session:
        article = _seed_article(session, seed, now)
        latest = articles.latest_version(session, article.id)
        member = members.membership(session, story.id, article.id) is not None
        unchanged = _unchanged(session, article, latest, seed, sha256)
        if unchanged and member:
            return
        if not unchanged:
            fp = fingerprint(seed.text, settings)
            _seed_version(session, article, seed, fp, latest, now=now)
        if not member:
            _join_as_seed(session, story, article, seed, now)
        index_member(session, settings, story.id, article.id)
    log(logger, "seed", story=story.slug, url=seed.url, file=str(seed.path))


def _unchanged(
    session: WriteSession,
    article: Article,
    latest: ArticleVersion | None,
    seed: Seed,
    sha256: str,
) -> bool:
    """Whether the seed file holds the text and title of the article's newest version. A
    title made from the text (the file gives none) is no edit of a version stored without one:
    the article takes it, the version stays as stored."""
    if latest is None or latest.content_sha256 != sha256:
        return False
    if latest.title == seed.title:
        return True
    if seed.titled or latest.title is not None:
        return False
    if article.title is None:
        articles.set_title(session, article.id, seed.title)
    return True


def _seed_article(session: WriteSession, seed: Seed, now: datetime) -> Article:
    """The seed's article, stored under its URL the first time."""
    article = articles.find_article(session, seed.url)
    if article is not None:
        return article
    return articles.create_article(
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


def _seed_version(
    session: WriteSession,
    article: Article,
    seed: Seed,
    fp: Fingerprint,
    latest: ArticleVersion | None,
    *,
    now: datetime,
) -> None:
    """The seed file's text as the article's next version (its first, or an ``update`` on the
    timeline of every story it is in already)."""
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
    articles.set_title(session, article.id, seed.title)
    if latest is not None:
        # On the timeline of every story it is in, as a re-check's new version is: a seed of
        # one story may be another's original.
        stories.add_events(
            session,
            members.stories_of_article(session, article.id),
            article_id=article.id,
            event="update",
            at=now,
            now=now,
            article_version=version.version,
        )


def _join_as_seed(
    session: WriteSession, story: StoryRef, article: Article, seed: Seed, now: datetime
) -> None:
    """The article becomes a seed of the story, first on its timeline."""
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
    was = details.before(members.membership(session, story.id, article.id))
    row = members.record_decision(
        session,
        story_id=story.id,
        article_id=article.id,
        relation="seed",
        copy_of_id=None,
        similarity=None,
        match={"kind": "seed", "reason": f"seed file {seed.path.name}"},
        now=now,
    )
    latest = articles.latest_version(session, article.id)
    stories.add_event(
        session,
        story_id=story.id,
        article_id=article.id,
        event="first_report",
        at=seed.published_at or now,
        now=now,
        # The article may have had versions before it became this story's seed.
        article_version=latest.version if latest is not None else 1,
        detail=details.decided(session, row, article, was=was),
    )
