"""Articles: read a page (in a worker), then store it, decide and version it (on the caller's
thread).

``read_page`` is all a worker thread does for an article: robots.txt, the fetch and the pure
extraction; it never raises for an expected failure and never touches the database.
``store_new`` and ``store_recheck`` take what it read and write: a new article with its first
version and the decision of every story that follows its source, or a re-check's new version,
or its removal. Nothing already stored is touched by a failure.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from monitor.app import App, StoryRef, store_version
from monitor.errors import ExtractError, FetchError
from monitor.extract import Extracted, extract
from monitor.log import log
from monitor.match import (
    Decision,
    Fingerprint,
    Known,
    StoryIndex,
    band_keys,
    fingerprint,
    version_key,
)
from monitor.match.story import TermChange
from monitor.parse import FeedEntry
from monitor.poll import schedule
from monitor.publish import diff
from monitor.urls import domain_of, normalise_url
from storage import articles, lsh, members, meta, queue, stories, termstats
from storage.db import WriteSession
from storage.models import Article, ArticleVersion

logger = logging.getLogger(__name__)

PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
GONE = {404, 410}
# A robots.txt Crawl-delay is obeyed up to this: longer would park a worker thread for minutes
# per page; such a site is still never fetched faster than this.
MAX_CRAWL_DELAY = 30.0


@dataclass
class RoundReport:
    """What one poll round did; ``changed`` says whether any story file changed."""

    now: datetime
    sources_polled: int = 0
    sources_failed: int = 0
    sources_unchanged: int = 0
    entries_new: int = 0
    articles_new: int = 0
    originals: int = 0
    copies: int = 0
    off_topic: int = 0
    not_articles: int = 0
    page_errors: int = 0
    updates: int = 0
    removed: int = 0
    rechecked: int = 0
    stopped: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.originals or self.copies or self.updates or self.removed)


class Indexes:
    """The match index of each story: its members and term statistics, read from the database
    on first use in a round. The copy stage's LSH index is the database's band table
    (``storage.lsh``), read inside each decision's write transaction, so members that another
    process added since are seen too."""

    def __init__(self, app: App) -> None:
        self.app = app
        self._built: dict[int, StoryIndex] = {}
        # Per story, how many times members had left it when its index was built (see decide).
        self._left: dict[int, str | None] = {}

    def get(self, story: StoryRef, session: Session | None = None) -> StoryIndex:
        if story.id not in self._built:
            index = StoryIndex(self.app.story_settings(story), story.keywords, in_memory_lsh=False)
            with nullcontext(session) if session is not None else self.app.db.read() as s:
                # The archive's document frequencies stay in the database: only the terms of
                # the story's members, and of each article decided, are read.
                index.use_background(termstats.documents(s))
                for m in members.story_members(s, story.id):
                    index.add(as_known(m))
                _provide_df(s, index)
                self._left[story.id] = meta.get(s, meta.members_left(story.id))
            self._built[story.id] = index
        return self._built[story.id]

    def decide(
        self,
        session: Session,
        story: StoryRef,
        title: str | None,
        text: str,
        fp: Fingerprint,
        bands: list[tuple[int, int]],
        published_at: datetime | None,
        language: str | None = None,
    ) -> Decision:
        """Decide inside the caller's write transaction, on what the database holds now: the
        band table proposes the candidates, and members this index has not seen (another
        process stored them) are read in first. An index built before members left the story
        (``monitor story redecide`` in another process) is built again: it would match them."""
        if story.id in self._built and self._left[story.id] != meta.get(
            session, meta.members_left(story.id)
        ):
            del self._built[story.id]
        index = self.get(story, session)
        found = lsh.candidates(session, story.id, bands)
        missing = {a for a, v in found if not index.has_version(a, v)}
        if not index.knows_text(fp.sha256):
            missing |= lsh.members_with_text(session, story.id, fp.sha256)
        if missing:
            for m in members.story_members(session, story.id, only=missing):
                index.add(as_known(m))
        _provide_df(session, index, title, text)
        return index.decide(
            title,
            text,
            fp,
            published_at=published_at,
            candidates=[version_key(a, v) for a, v in sorted(found)],
            language=language,
        )

    def built(self, story: StoryRef) -> StoryIndex | None:
        return self._built.get(story.id)

    def learn(self, change: TermChange) -> None:
        """A newly stored version's terms join the statistics of every built index (the
        database's changed in the same transaction: storage.termstats)."""
        for index in self._built.values():
            index.update_background(change)


def _provide_df(
    session: Session, index: StoryIndex, title: str | None = None, text: str | None = None
) -> None:
    """Read the document frequencies the index lacks: its members' terms, and the article's."""
    asked = index.terms_to_look_up(title, text)
    if asked:
        index.provide_df(asked, termstats.lookup(session, asked))


def as_known(m: members.Member) -> Known:
    return Known(
        m.article_id, m.url, m.relation, m.published_at, m.copy_of_id, m.texts, m.title, m.language
    )


# -- the worker side -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    """What a worker made of one article URL: an ``error`` (not fetched), ``not_modified``, or
    a page read, with its extraction (whatever its status) and ``why_not`` when it is not an
    article we match and version."""

    url: str
    final_url: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    extracted: Extracted | None = None  # any status: its metadata is kept even for a teaser
    why_not: str | None = None  # fetched, but not an article we can match
    error: str | None = None  # not fetched: "kind: message"
    status: int | None = None  # the HTTP status of an error, when there was one
    not_modified: bool = False

    @property
    def gone(self) -> bool:
        return self.status in GONE

    @property
    def article(self) -> Extracted | None:
        """The extraction, when it is an article to match and version (status ``ok``)."""
        return self.extracted if self.why_not is None else None

    @property
    def article_status(self) -> str:
        """What the article row records: error, ok, too_short, paywalled or not_article."""
        if self.error is not None:
            return "error"
        return self.extracted.status if self.extracted is not None else "not_article"


def read_page(
    app: App,
    url: str,
    outlet: str,
    *,
    now: datetime,
    obey_robots: bool = True,
    etag: str | None = None,
    last_modified: str | None = None,
) -> Page:
    """Robots, fetch, extract: everything about an article that needs no database."""
    crawl_delay = None
    if obey_robots and app.config.fetch.obey_robots:
        verdict = app.robots.allowed(url, now=now)
        if not verdict.allowed:
            return Page(url, error=f"robots: {verdict.reason}")
        crawl_delay = app.robots.crawl_delay(url, now=now)
    try:
        result = app.fetcher.get(
            url,
            etag=etag,
            last_modified=last_modified,
            accept=PAGE_ACCEPT,
            log_fields={"source": outlet, "kind": "article"},
            host_delay=min(crawl_delay, MAX_CRAWL_DELAY) if crawl_delay else None,
        )
    except FetchError as exc:
        return Page(url, error=f"{exc.kind}: {exc.message}", status=exc.status)
    page = Page(
        url,
        final_url=result.url,
        etag=result.headers.get("etag"),
        last_modified=result.headers.get("last-modified"),
    )
    if result.not_modified:
        return replace(page, not_modified=True)
    try:
        extracted = extract(result.body, result.url, min_words=app.config.poll.min_words)
    except ExtractError as exc:
        return replace(page, why_not=str(exc))
    except Exception as exc:
        # A page that crashes the extractor (lxml and trafilatura raise a zoo of errors on
        # hostile markup) is that page's problem, recorded on it; the round goes on.
        log(logger, "extract_crashed", level=logging.ERROR, url=result.url, error=repr(exc))
        return replace(page, why_not=f"{result.url}: the extractor failed: {exc!r}")
    if extracted.status != "ok":
        why = f"{result.url}: {extracted.status}: {extracted.status_reason}"
        return replace(page, extracted=extracted, why_not=why)
    return replace(page, extracted=extracted)


# -- the storing side ----------------------------------------------------------------------------


@dataclass(frozen=True)
class NewArticle:
    """An entry's URL, not yet stored, with where it came from."""

    url: str  # normalised
    source: queue.DueSource
    entry: FeedEntry


def _next_check(
    app: App, first_seen_at: datetime, check_count: int, now: datetime
) -> datetime | None:
    return schedule.next_article_check(
        first_seen_at=first_seen_at,
        check_count=check_count,
        now=now,
        recheck_for=app.config.poll.recheck_for,
    )


def store_new(
    app: App, new: NewArticle, page: Page, now: datetime, indexes: Indexes, report: RoundReport
) -> int:
    """Store a new article from what ``read_page`` found; returns its id (an existing
    article's, when the page names itself by a URL already stored)."""
    report.articles_new += 1
    source, entry = new.source, new.entry
    extracted = page.extracted  # for metadata, whatever the status; page.article to match
    canonical = _canonical(extracted, page)
    if canonical:
        with app.db.read() as session:
            known = articles.find_article(session, canonical)
        if known is not None:
            # The same page under another URL (a feed's tracking link, a redirect, AMP).
            log(logger, "same_article", url=new.url, canonical=canonical, article=known.url)
            return known.id
    if page.error is not None:
        report.page_errors += 1
        report.errors.append(f"{new.url}: {page.error}")
    with app.db.write() as session:
        article = articles.create_article(
            session,
            url=new.url,
            source_id=source.id,
            outlet=source.name,
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
            next_check_at=_next_check(app, now, 0, now),
            etag=page.etag,
            last_modified=page.last_modified,
            status=page.article_status,
            error=page.error or page.why_not,
        )
        article_id = article.id
    if page.error is None and page.article is None:
        # A section front, a teaser behind a paywall, a stub: stored, never matched.
        report.not_articles += 1
        log(
            logger,
            "not_article",
            url=new.url,
            source=source.name,
            status=page.article_status,
            reason=page.why_not,
        )
    if page.article is not None:
        first_version(app, article_id, page.article, source.name, now, indexes, report)
    return article_id


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


_COUNTER = {"original": "originals", "copy": "copies", "off_topic": "off_topic"}


def first_version(
    app: App,
    article_id: int,
    extracted: Extracted,
    source_name: str | None,
    now: datetime,
    indexes: Indexes,
    report: RoundReport,
) -> None:
    """Store version 1 and the decision of every story that follows this source, in one
    transaction with the decisions, so that two processes storing two copies of one text at
    once cannot both record an original (see storage.lsh)."""
    fp = fingerprint(extracted.text, app.match_settings)
    bands = band_keys(fp.minhash, app.match_settings)
    stories = app.stories_for(source_name)
    for story in stories:
        # Built (once a round) before the write transaction, which then reads only what
        # changed: on SQLite that transaction holds the database's one write lock.
        indexes.get(story)
    with app.db.write() as session:
        lsh.lock(session, (key for _, key in bands))
        article = session.get_one(Article, article_id, with_for_update=True)
        if articles.latest_version(session, article.id) is not None:
            return  # another process re-checking it stored it first (store_recheck)
        # As stored: the page's date, else the feed's. The story stage weighs time proximity.
        decisions = [
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
                ),
            )
            for story in stories
        ]
        version, change = store_version(
            session,
            article,
            title=extracted.title,
            text=extracted.text,
            fp=fp,
            now=now,
            changes={},
            previous=None,  # checked above, under the row lock
        )
        for story, decision in decisions:
            record(
                session,
                story.id,
                article,
                decision,
                decision.as_match(),
                version=version.version,
                at=article.published_at or now,
                now=now,
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
    indexes.learn(change)
    for story, decision in decisions:
        counter = _COUNTER[decision.relation]
        setattr(report, counter, getattr(report, counter) + 1)
        if decision.relation != "off_topic":
            remember(
                indexes.get(story),
                decision,
                Known(
                    article_id,
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


def record(
    session: WriteSession,
    story_id: int,
    article: Article,
    decision: Decision,
    match: dict[str, Any],
    *,
    version: int,
    at: datetime,
    now: datetime,
) -> None:
    """Store one story's decision on ``article`` with ``match`` as its reason: the copy group
    it leads re-pointed at it, and its event on the timeline unless it is off-topic."""
    members.record_decision(
        session,
        story_id=story_id,
        article_id=article.id,
        relation=decision.relation,
        copy_of_id=decision.matched_id if decision.relation == "copy" else None,
        similarity=decision.similarity,
        match=match,
        now=now,
    )
    if decision.leads_group and decision.matched_id is not None:
        members.repoint_copy_group(
            session,
            story_id=story_id,
            old_id=decision.matched_id,
            new_id=article.id,
            new_url=article.url,
            now=now,
        )
    if decision.relation != "off_topic":
        stories.add_event(
            session,
            story_id=story_id,
            article_id=article.id,
            event="copy" if decision.relation == "copy" else "first_report",
            at=at,
            now=now,
            article_version=version,
        )


def remember(
    index: StoryIndex, decision: Decision, known: Known, minhashes: list[Any] | None
) -> None:
    """After the commit: a member just recorded joins the story's index of this round."""
    if decision.leads_group and decision.matched_id is not None:
        index.repoint(decision.matched_id, known.article_id)
    index.add(known, minhashes)


def store_recheck(
    app: App,
    due: queue.DueArticle,
    page: Page,
    now: datetime,
    indexes: Indexes,
    report: RoundReport,
) -> None:
    """Record a re-check of a tracked article: a new version if its text or title changed,
    ``removed`` if the outlet took it down."""
    report.rechecked += 1
    check_count = due.check_count + 1
    next_check = _next_check(app, due.first_seen_at, check_count, now)
    if page.error is not None or page.not_modified:
        with app.db.write() as session:
            article = session.get_one(Article, due.id)
            article.check_count, article.next_check_at = check_count, next_check
            if page.not_modified:
                article.last_fetched_at = now
            elif page.gone and article.status == "ok":
                article.status, article.removed_at, article.next_check_at = "removed", now, None
                for member in members.stories_of_article(session, article.id):
                    stories.add_event(
                        session,
                        story_id=member.story_id,
                        article_id=article.id,
                        event="removed",
                        at=now,
                        now=now,
                        article_version=None,
                    )
                report.removed += 1
            else:
                article.error = page.error
        return
    extracted = page.article
    with app.db.write() as session:
        # The article's row is locked (PostgreSQL; SQLite's writers are serial already) and its
        # newest version read under the lock: two processes re-checking it at once (two feeds
        # listing it as changed) must not both store the same new text as a version.
        article = session.get_one(Article, due.id, with_for_update=True)
        if extracted is None:
            article.check_count = check_count
            article.last_fetched_at, article.next_check_at = now, next_check
            article.error = page.why_not
            return
        _refresh(article, extracted, page, now, next_check, check_count)
        latest = articles.latest_version(session, article.id)
        if latest is None:
            # The first fetch failed or found no article; this one is its first version,
            # stored with the stories' decisions by first_version (below).
            article.status, article.error = "ok", None
        else:
            updated = _record_change(app, session, article, latest, extracted, now)
    if latest is None:
        source_name = due.outlet if due.source_id is not None else None
        first_version(app, due.id, extracted, source_name, now, indexes, report)
        return
    if updated is None:
        return
    version, change, member_ids, changes = updated
    report.updates += 1
    _learn_version(indexes, app, member_ids, due.id, extracted, change)
    log(logger, "update", url=due.url, source=due.outlet, version=version.version, **changes)


def _record_change(
    app: App,
    session: WriteSession,
    article: Article,
    latest: ArticleVersion,
    extracted: Extracted,
    now: datetime,
) -> tuple[ArticleVersion, TermChange, set[int], dict[str, Any]] | None:
    """A new version when the text or title differs from ``latest``, indexed and put on the
    timeline of every story the article is in; None when nothing changed."""
    fp = fingerprint(extracted.text, app.match_settings)
    changes = diff.summarise(latest.title, latest.text, extracted.title, extracted.text)
    if fp.sha256 == latest.content_sha256 and not changes["title_changed"]:
        return None
    version, change = store_version(
        session,
        article,
        title=extracted.title,
        text=extracted.text,
        fp=fp,
        now=now,
        changes=changes,
        previous=latest,
    )
    stories_in = members.stories_of_article(session, article.id)
    bands = band_keys(fp.minhash, app.match_settings)
    lsh.fill(session, [(m.story_id, article.id, version.version, bands) for m in stories_in])
    at = extracted.updated_at if extracted.updated_at and extracted.updated_at <= now else now
    for member in stories_in:
        stories.add_event(
            session,
            story_id=member.story_id,
            article_id=article.id,
            event="update",
            at=at,
            now=now,
            article_version=version.version,
        )
    return version, change, {m.story_id for m in stories_in}, changes


def _refresh(
    article: Article,
    extracted: Extracted,
    page: Page,
    now: datetime,
    next_check: datetime | None,
    check_count: int,
) -> None:
    article.title = extracted.title or article.title
    article.updated_at = extracted.updated_at or article.updated_at
    article.authors = list(extracted.authors) or article.authors
    article.last_fetched_at, article.next_check_at = now, next_check
    article.check_count = check_count
    article.etag, article.last_modified = page.etag, page.last_modified


def _learn_version(
    indexes: Indexes,
    app: App,
    story_ids: set[int],
    article_id: int,
    extracted: Extracted,
    change: TermChange,
) -> None:
    indexes.learn(change)
    for story in app.stories:
        index = indexes.built(story)
        # An index built later reads this version from the database.
        if story.id in story_ids and index is not None:
            known = index.member(article_id)
            if known is not None:
                known.texts.append(extracted.text)
                index.add(known, None)
