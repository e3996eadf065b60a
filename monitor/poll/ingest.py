"""A new article stored from what a worker read (``store_new``), and its first version with the
decision of every story that follows its source (``first_version``), on the round's thread.

``first_version`` works in three steps: deciding every story inside the write transaction (so
that two processes storing two copies of one text at once cannot both record an original: see
storage.lsh), recording the version, the decisions and the band entries in that same
transaction, and, after the commit, bringing the round's indexes and report up to date and
logging the decisions. Nothing already stored is touched by a failure.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitor import crash
from monitor.app import App, StoryRef
from monitor.extract import Extracted
from monitor.log import log
from monitor.match import Decision, Fingerprint, Known, band_keys, fingerprint
from monitor.match.story import TermChange
from monitor.parse import FeedEntry
from monitor.poll import schedule
from monitor.poll.indexes import Indexes, remember
from monitor.poll.page import Page
from monitor.poll.record import store_decision, store_version
from monitor.poll.report import RoundReport
from monitor.urls import domain_of, normalise_url
from storage import articles, lsh, queue
from storage.db import WriteSession

if TYPE_CHECKING:
    from storage.models import Article

logger = logging.getLogger(__name__)

_COUNTER = {"original": "originals", "copy": "copies", "off_topic": "off_topic"}
Decisions = list[tuple[StoryRef, Decision]]


@dataclass(frozen=True)
class NewArticle:
    """An entry's URL, not yet stored, with where it came from."""

    url: str  # normalised
    source: queue.DueSource
    entry: FeedEntry


def store_new(
    app: App, new: NewArticle, page: Page, now: datetime, indexes: Indexes, report: RoundReport
) -> int:
    """Store a new article from what ``read_page`` found, with its first version and every
    story's decision, in one transaction; returns its id (an existing article's, when the page
    names itself by a URL already stored, or another worker stored it first)."""
    report.articles_new += 1
    source = new.source
    extracted = page.extracted  # for metadata, whatever the status; page.article to match
    canonical = _canonical(extracted, page)
    if page.error is not None:
        report.page_errors += 1
        report.errors.append(f"{new.url}: {page.error}")
    ready = _prepare(app, page.article, source.name, indexes)
    evidence = page.evidence(keep_html=app.config.storage.keep_html) if ready else None
    with app.db.write() as session:
        # The URLs' locks with the band keys', in one sorted set (PostgreSQL; SQLite's writers
        # are serial): a worker storing the same URL or canonical URL waits here, then finds
        # this one's row below.
        lsh.lock(session, [*lsh.url_keys(new.url, canonical), *(ready.keys if ready else ())])
        known = articles.stored_id(session, new.url, canonical)
        article = None if known else articles.insert_article(session, _values(app, new, page, now))
        if article is None:
            known = known or articles.stored_id(session, new.url, canonical)
            assert known is not None  # the winner of the insert's conflict
            # The same page under another URL (a tracking link, a redirect, AMP), or the
            # same entry stored by another worker first: an expected race, not an error.
            stored_url = articles.get_article(session, known).url
            log(logger, "same_article", url=new.url, canonical=canonical, article=stored_url)
            return known
        crash.point("ingest.article")
        stored = (
            _store_first(session, ready, indexes, article, now, evidence, fresh=True)
            if ready
            else None
        )
        crash.point("ingest.recorded")
    if page.error is None and page.article is None:
        _not_article(report, new, page)
    if stored is not None:
        _after_commit(indexes, report, article, *stored)
    return article.id


def _not_article(report: RoundReport, new: NewArticle, page: Page) -> None:
    """A section front, a teaser behind a paywall, a stub: stored, never matched."""
    report.not_articles += 1
    log(
        logger,
        "not_article",
        url=new.url,
        source=new.source.name,
        status=page.article_status,
        reason=page.why_not,
    )


def _values(app: App, new: NewArticle, page: Page, now: datetime) -> dict[str, Any]:
    """The article's row: the page's metadata, else the feed entry's; tracked for re-checks."""
    source, entry, extracted = new.source, new.entry, page.extracted
    return dict(
        url=new.url,
        source_id=source.id,
        # A news search's article is its outlet's (monitor.poll.query), not the service's.
        outlet=entry.outlet or source.name,
        domain=domain_of(new.url),
        title=(extracted.title if extracted else None) or entry.title,
        authors=list(extracted.authors) if extracted else [],
        language=extracted.language if extracted else None,
        published_at=(extracted.published_at if extracted else None) or entry.published_at,
        published_precision=_precision(extracted, entry),
        updated_at=extracted.updated_at if extracted else None,
        canonical_url=normalise_url(extracted.canonical_url)
        if extracted and extracted.canonical_url
        else None,
        first_seen_at=now,
        last_fetched_at=None if page.error else now,
        check_count=0,
        next_check_at=schedule.next_article_check(
            first_seen_at=now, check_count=0, now=now, recheck_for=app.config.poll.recheck_for
        ),
        etag=page.etag,
        last_modified=page.last_modified,
        final_url=page.final_url,
        status=page.article_status,
        error=page.error or page.why_not,
    )


def _precision(extracted: Extracted | None, entry: FeedEntry) -> str | None:
    """How precise the stored publication time is: the page's own, else the feed's (feeds
    give a full timestamp), else unknown."""
    if extracted is not None and extracted.published_at is not None:
        return extracted.published_precision
    return "time" if entry.published_at is not None else None


def _canonical(extracted: Extracted | None, page: Page) -> str | None:
    """The page's canonical URL, normalised, when it names another address than the one we
    asked for."""
    if extracted is None or not extracted.canonical_url:
        return None
    canonical = normalise_url(extracted.canonical_url)
    return canonical if canonical != normalise_url(page.final_url or page.url) else None


@dataclass(frozen=True)
class _Ready:
    """A text to store as a first version, fingerprinted before the write transaction."""

    extracted: Extracted
    fp: Fingerprint
    bands: list[tuple[int, int]]
    stories: list[StoryRef]

    @property
    def keys(self) -> list[int]:
        return [key for _, key in self.bands]


def _prepare(
    app: App, extracted: Extracted | None, source_name: str | None, indexes: Indexes
) -> _Ready | None:
    """The fingerprint and band keys of ``extracted`` (None: nothing to version), and the
    stories that decide on it, their indexes built."""
    if extracted is None:
        return None
    fp = fingerprint(extracted.text, app.match_settings)
    stories = app.stories_for(source_name)
    for story in stories:
        # Built (once a round) before the write transaction, which then reads only what
        # changed: on SQLite that transaction holds the database's one write lock.
        indexes.get(story)
    return _Ready(extracted, fp, band_keys(fp.minhash, app.match_settings), stories)


_Stored = tuple[Extracted, Fingerprint, Decisions, TermChange]


def _store_first(
    session: WriteSession,
    ready: _Ready,
    indexes: Indexes,
    article: Article,
    now: datetime,
    evidence: articles.Evidence | None,
    *,
    fresh: bool = False,
) -> _Stored:
    """Decide every story on what the database holds inside the caller's transaction, and
    record version 1 with the decisions and band entries there; returned for after the
    commit. ``fresh``: the caller's transaction inserted the article."""
    decisions = _decide(
        session, indexes, ready.stories, article, ready.extracted, ready.fp, ready.bands
    )
    change = _record(
        session, article, ready.extracted, ready.fp, ready.bands, decisions, now, evidence, fresh
    )
    return ready.extracted, ready.fp, decisions, change


def first_version(
    app: App,
    article_id: int,
    extracted: Extracted,
    source_name: str | None,
    now: datetime,
    indexes: Indexes,
    report: RoundReport,
    evidence: articles.Evidence | None = None,
    also: Callable[[WriteSession], None] | None = None,
) -> None:
    """Store version 1 of an article stored without one (its first fetches failed) and the
    decision of every story that follows this source, in one transaction with the decisions,
    so that two processes storing two copies of one text at once cannot both record an
    original (see storage.lsh). ``evidence``: what the fetch that read it answered; ``also``:
    what else the caller records in that transaction (the re-check's row)."""
    ready = _prepare(app, extracted, source_name, indexes)
    assert ready is not None
    with app.db.write() as session:
        lsh.lock(session, ready.keys)
        article = articles.lock_article(session, article_id)
        if articles.latest_version(session, article.id) is not None:
            return  # another process re-checking it stored it first (store_recheck)
        # Read as an article only with its version: a crash before this commit leaves it as
        # it was, due for its next re-check.
        articles.mark_ok(session, article.id)
        if also is not None:
            also(session)
        stored = _store_first(session, ready, indexes, article, now, evidence)
        crash.point("first_version.recorded")
    _after_commit(indexes, report, article, *stored)


def _decide(
    session: WriteSession,
    indexes: Indexes,
    stories: list[StoryRef],
    article: Article,
    extracted: Extracted,
    fp: Fingerprint,
    bands: list[tuple[int, int]],
) -> Decisions:
    """Every story's decision, on what the database holds inside the write transaction."""
    # As stored: the page's date, else the feed's. The story stage weighs time proximity.
    return [
        (
            story,
            indexes.decide(
                session,
                story,
                extracted.title,
                extracted.text,
                fp,
                bands,
                article.published_at,
                extracted.language,
                url=article.url,
            ),
        )
        for story in stories
    ]


def _record(
    session: WriteSession,
    article: Article,
    extracted: Extracted,
    fp: Fingerprint,
    bands: list[tuple[int, int]],
    decisions: Decisions,
    now: datetime,
    evidence: articles.Evidence | None,
    fresh: bool,
) -> TermChange:
    """Version 1, each story's decision and the band entries of the stories it joined
    (``fresh``: of an article this transaction inserted: no label or membership to read)."""
    version, change = store_version(
        session,
        article,
        title=extracted.title,
        text=extracted.text,
        fp=fp,
        now=now,
        changes={},
        previous=None,  # checked by the caller, under the row lock
        authors=extracted.authors,
        notices=extracted.notices,
        evidence=evidence,
    )
    for story, decision in decisions:
        store_decision(
            session,
            story.id,
            article,
            decision,
            decision.as_match(),
            version=version.version,
            at=article.published_at or now,
            now=now,
            fresh=fresh,
        )
    # A version stored just now cannot be indexed yet: appended without lsh.add's check.
    lsh.fill(
        session,
        [
            (story.id, article.id, version.version, bands)
            for story, decision in decisions
            if decision.relation != "off_topic"
        ],
    )
    return change


def _after_commit(
    indexes: Indexes,
    report: RoundReport,
    article: Article,
    extracted: Extracted,
    fp: Fingerprint,
    decisions: Decisions,
    change: TermChange,
) -> None:
    """The recorded version and decisions join the round's indexes and report, and are logged."""
    indexes.learn(change)
    for story, decision in decisions:
        counter = _COUNTER[decision.relation]
        setattr(report, counter, getattr(report, counter) + 1)
        if decision.relation != "off_topic":
            remember(
                indexes.get(story),
                decision,
                Known(
                    article.id,
                    article.url,
                    decision.relation,
                    article.published_at,
                    decision.matched_id if decision.relation == "copy" else None,
                    [extracted.text],
                    extracted.title,
                    extracted.language,
                ),
                [fp.minhash],
            )
        log(
            logger,
            "decision",
            story=story.slug,
            url=article.url,
            kind=decision.kind,
            relation=decision.relation,
            similarity=round(decision.similarity, 4),
            matched=decision.matched_url,
            reason=decision.reason,
        )
