"""One poll round: claim what is due, fetch, parse, extract, match, store.

This module is the edge that wires the pure stages (parse, extract, match, schedule, diff) to
the world (fetch, storage). Every failure of a source or page is recorded against it and the
round goes on; nothing already stored is touched by a failure.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from monitor import diff, schedule
from monitor.app import App, StoryRef, store_version
from monitor.errors import ExtractError, FetchError, ParseError
from monitor.extract import Extracted, extract
from monitor.fetch import FetchResult
from monitor.log import log
from monitor.match import Decision, Fingerprint, Known, StoryIndex, fingerprint, minhash_from_bytes
from monitor.parse import FeedEntry, parse_feed
from monitor.urls import domain_of, normalise_url
from storage import archive, queue, store
from storage.models import Article

logger = logging.getLogger(__name__)

FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
)
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.5"
GONE = {404, 410}


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
    """The match index of each story, built from the database on first use in a round."""

    def __init__(self, app: App) -> None:
        self.app = app
        self._built: dict[int, StoryIndex] = {}
        # Every stored text, read once per round and shared by the stories' term statistics.
        self._background: list[str] | None = None

    def get(self, story: StoryRef) -> StoryIndex:
        if story.id not in self._built:
            index = StoryIndex(self.app.match_settings, story.keywords)
            with self.app.db.read() as session:
                if self._background is None:
                    self._background = list(archive.latest_texts(session))
                for body in self._background:
                    index.add_background(body)
                for m in archive.story_members(session, story.id):
                    index.add(
                        Known(
                            m.article_id,
                            m.url,
                            m.relation,
                            m.published_at,
                            m.copy_of_id,
                            m.texts,
                            m.title,
                        ),
                        [minhash_from_bytes(b) for b in m.minhashes],
                    )
            self._built[story.id] = index
        return self._built[story.id]

    def built(self, story: StoryRef) -> StoryIndex | None:
        return self._built.get(story.id)

    def learn(self, text: str) -> None:
        """A newly stored text joins the term statistics of every index, built or to come."""
        if self._background is not None:
            self._background.append(text)
        for index in self._built.values():
            index.add_background(text)


def poll(
    app: App, *, now: datetime, everything: bool = False, stop: threading.Event | None = None
) -> RoundReport:
    """Poll every due source, then re-check every due article; ``now`` is the pipeline's clock."""
    report = RoundReport(now=now)
    indexes = Indexes(app)
    lease = timedelta(seconds=app.config.fetch.total_timeout * 4 + 60)
    polled: set[int] = set()  # with everything=True, claims would otherwise come back forever
    while not (stop and stop.is_set()):
        batch = queue.claim_sources(
            app.db,
            now=now,
            limit=app.config.poll.batch_size,
            lease=lease,
            everything=everything,
            exclude=polled,
        )
        if not batch:
            break
        polled.update(source.id for source in batch)
        for source in batch:
            if stop and stop.is_set():
                break
            _poll_source(app, source, now, indexes, report, stop)
    while not (stop and stop.is_set()):
        due = queue.claim_articles(
            app.db, now=now, limit=app.config.poll.batch_size, everything=everything
        )
        if not due:
            break
        for article in due:
            if stop and stop.is_set():
                break
            _recheck(app, article, now, indexes, report)
        if everything:
            break  # with --all, each tracked article once; the claims moved them into the future
    report.stopped = bool(stop and stop.is_set())
    log(
        logger,
        "round",
        now=now.isoformat(),
        polled=report.sources_polled,
        failed=report.sources_failed,
        new=report.articles_new,
        originals=report.originals,
        copies=report.copies,
        off_topic=report.off_topic,
        updates=report.updates,
        removed=report.removed,
    )
    return report


# -- sources -------------------------------------------------------------------------------------


def _poll_source(
    app: App,
    source: queue.DueSource,
    now: datetime,
    indexes: Indexes,
    report: RoundReport,
    stop: threading.Event | None,
) -> None:
    report.sources_polled += 1
    cfg = app.config.poll
    try:
        result = app.fetcher.get(
            source.url,
            etag=source.etag,
            last_modified=source.last_modified,
            accept=FEED_ACCEPT,
            log_fields={"source": source.name},
        )
        body_sha = hashlib.sha256(result.body).hexdigest()
        if result.not_modified or body_sha == source.body_sha256:
            report.sources_unchanged += 1
            _source_ok(app, source, result, body_sha, now, new_items=0, ttl=None)
            return
        feed = parse_feed(result.body, result.url, result.headers)
    except (FetchError, ParseError) as exc:
        report.sources_failed += 1
        report.errors.append(f"{source.url}: {exc}")
        retry_after = exc.retry_after if isinstance(exc, FetchError) else None
        with app.db.write() as session:
            count = store.record_source_error(
                session,
                source.id,
                now=now,
                kind=exc.kind,
                message=str(exc),
                status=getattr(exc, "status", None),
                next_check_at=schedule.next_source_check(
                    interval=source.interval_s,
                    now=now,
                    error_count=source.error_count + 1,
                    retry_after=retry_after,
                    max_backoff=cfg.max_backoff,
                ),
            )
        log(
            logger,
            "source_error",
            level=logging.WARNING,
            source=source.name,
            url=source.url,
            error=exc.kind,
            error_message=str(exc),
            consecutive=count,
        )
        return
    # Oldest first, so that within one round an original is stored before its copies.
    entries = sorted(
        feed.entries, key=lambda e: (e.published_at is None, e.published_at or now, e.url)
    )
    new_items = 0
    for entry in entries:
        if stop and stop.is_set():
            break
        new_items += _entry(app, source, entry, now, indexes, report)
    _source_ok(app, source, result, body_sha, now, new_items=new_items, ttl=feed.ttl_s)


def _source_ok(
    app: App,
    source: queue.DueSource,
    result: FetchResult,
    body_sha: str,
    now: datetime,
    *,
    new_items: int,
    ttl: float | None,
) -> None:
    with app.db.write() as session:
        store.record_source_ok(
            session,
            source.id,
            now=now,
            status=result.status,
            etag=result.headers.get("etag"),
            last_modified=result.headers.get("last-modified"),
            body_sha256=body_sha,
            new_items=new_items,
            next_check_at=schedule.next_source_check(
                interval=source.interval_s,
                now=now,
                ttl=ttl,
                max_backoff=app.config.poll.max_backoff,
            ),
        )


def _entry(
    app: App,
    source: queue.DueSource,
    entry: FeedEntry,
    now: datetime,
    indexes: Indexes,
    report: RoundReport,
) -> int:
    """Handle one feed entry; returns 1 if it was new to this source."""
    updated = entry.updated_at.isoformat() if entry.updated_at else None
    url = normalise_url(entry.url)
    with app.db.read() as session:
        seen = store.seen_entry(session, source.id, entry.key)
        # Most entries of a feed were seen on earlier polls: look the article up only for new ones.
        article = store.find_article(session, url) if seen is None else None
        article_id = article.id if article else None
    if seen is not None and seen.updated != updated and seen.article_id is not None:
        # The feed says the entry changed: re-check its article now.
        for item in queue.claim_articles(
            app.db, now=now, limit=1, everything=True, ids=[seen.article_id]
        ):
            _recheck(app, item, now, indexes, report)
    if seen is None:
        report.entries_new += 1
        if article_id is None:
            article_id = _ingest(app, url, source, entry, now, indexes, report)
    with app.db.write() as session:
        store.record_entry(
            session,
            source_id=source.id,
            key=entry.key,
            url=url,
            title=entry.title,
            updated=updated,
            now=now,
            article_id=article_id,
        )
    return 1 if seen is None else 0


# -- articles ------------------------------------------------------------------------------------


def _next_check(
    app: App, first_seen_at: datetime, check_count: int, now: datetime
) -> datetime | None:
    return schedule.next_article_check(
        first_seen_at=first_seen_at,
        check_count=check_count,
        now=now,
        recheck_for=app.config.poll.recheck_for,
    )


def _fetch_page(
    app: App, url: str, outlet: str, *, etag: str | None = None, last_modified: str | None = None
) -> FetchResult:
    return app.fetcher.get(
        url,
        etag=etag,
        last_modified=last_modified,
        accept=PAGE_ACCEPT,
        log_fields={"source": outlet, "kind": "article"},
    )


def _extract(app: App, result: FetchResult) -> tuple[Extracted | None, str | None]:
    """The extraction, or None and why the page is not an article we can match."""
    try:
        extracted = extract(result.body, result.url)
    except ExtractError as exc:
        return None, str(exc)
    if extracted.word_count < app.config.poll.min_words:
        return None, (
            f"{result.url}: {extracted.word_count} words, fewer than "
            f"poll.min_words {app.config.poll.min_words}"
        )
    return extracted, None


def _ingest(
    app: App,
    url: str,
    source: queue.DueSource,
    entry: FeedEntry | None,
    now: datetime,
    indexes: Indexes,
    report: RoundReport,
) -> int:
    """Fetch, extract, match and store a new article; returns its id."""
    report.articles_new += 1
    try:
        result = _fetch_page(app, url, source.name)
    except FetchError as exc:
        report.page_errors += 1
        report.errors.append(str(exc))
        with app.db.write() as session:
            article = store.create_article(
                session,
                url=url,
                source_id=source.id,
                outlet=source.name,
                domain=domain_of(url),
                title=entry.title if entry else None,
                authors=[],
                published_at=entry.published_at if entry else None,
                first_seen_at=now,
                status="error",
                error=f"{exc.kind}: {exc.message}",
                check_count=0,
                next_check_at=_next_check(app, now, 0, now),
            )
            return article.id
    extracted, why_not = _extract(app, result)
    canonical = _canonical(extracted, result)
    if canonical:
        with app.db.read() as session:
            known = store.find_article(session, canonical)
        if known is not None:
            # The same page under another URL (a feed's tracking link, a redirect, AMP).
            log(logger, "same_article", url=url, canonical=canonical, article=known.url)
            return known.id
    with app.db.write() as session:
        article = store.create_article(
            session,
            url=url,
            source_id=source.id,
            outlet=source.name,
            domain=domain_of(url),
            title=(extracted.title if extracted else None) or (entry.title if entry else None),
            authors=list(extracted.authors) if extracted else [],
            language=extracted.language if extracted else None,
            published_at=(extracted.published_at if extracted else None)
            or (entry.published_at if entry else None),
            updated_at=extracted.updated_at if extracted else None,
            canonical_url=normalise_url(extracted.canonical_url)
            if extracted and extracted.canonical_url
            else None,
            first_seen_at=now,
            last_fetched_at=now,
            check_count=0,
            next_check_at=_next_check(app, now, 0, now),
            etag=result.headers.get("etag"),
            last_modified=result.headers.get("last-modified"),
            status="ok" if extracted else "not_article",
            error=why_not,
        )
        article_id = article.id
    if extracted is None:
        report.not_articles += 1
        log(logger, "not_article", url=url, source=source.name, reason=why_not)
        return article_id
    _first_version(app, article_id, extracted, source.name, now, indexes, report)
    return article_id


def _canonical(extracted: Extracted | None, result: FetchResult) -> str | None:
    """The page's canonical URL, normalised, when it names another address than the one we
    asked for."""
    if extracted is None or not extracted.canonical_url:
        return None
    canonical = normalise_url(extracted.canonical_url)
    return canonical if canonical != normalise_url(result.url) else None


def _first_version(
    app: App,
    article_id: int,
    extracted: Extracted,
    source_name: str | None,
    now: datetime,
    indexes: Indexes,
    report: RoundReport,
) -> None:
    """Store version 1 and the decision of every story that follows this source, together."""
    fp = fingerprint(extracted.text, app.match_settings)
    decisions: list[tuple[StoryRef, Decision]] = [
        (story, indexes.get(story).decide(extracted.title, extracted.text, fp))
        for story in app.stories_for(source_name)
    ]
    with app.db.write() as session:
        article = session.get_one(Article, article_id)
        version = store_version(
            session,
            article,
            title=extracted.title,
            text=extracted.text,
            fp=fp,
            now=now,
            changes={},
        )
        for story, decision in decisions:
            store.record_decision(
                session,
                story_id=story.id,
                article_id=article.id,
                relation=decision.relation,
                copy_of_id=decision.matched_id if decision.relation == "copy" else None,
                similarity=decision.similarity,
                match=decision.as_match(),
                now=now,
            )
            if decision.relation != "off_topic":
                store.add_event(
                    session,
                    story_id=story.id,
                    article_id=article.id,
                    event="copy" if decision.relation == "copy" else "first_report",
                    at=article.published_at or now,
                    now=now,
                    article_version=version.version,
                )
    indexes.learn(extracted.text)
    for story, decision in decisions:
        counter = {"original": "originals", "copy": "copies", "off_topic": "off_topic"}
        setattr(report, counter[decision.relation], getattr(report, counter[decision.relation]) + 1)
        if decision.relation != "off_topic":
            indexes.get(story).add(
                Known(
                    article_id,
                    article.url,
                    decision.relation,
                    article.published_at,
                    decision.matched_id if decision.relation == "copy" else None,
                    [extracted.text],
                    extracted.title,
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


def _recheck(
    app: App, due: queue.DueArticle, now: datetime, indexes: Indexes, report: RoundReport
) -> None:
    """Re-fetch a tracked article: a new version if its text or title changed, ``removed`` if
    the outlet took it down."""
    report.rechecked += 1
    next_check = _next_check(app, due.first_seen_at, due.check_count + 1, now)
    try:
        result = _fetch_page(
            app, due.url, due.outlet, etag=due.etag, last_modified=due.last_modified
        )
    except FetchError as exc:
        with app.db.write() as session:
            article = session.get_one(Article, due.id)
            article.check_count += 1
            article.next_check_at = next_check
            if exc.status in GONE and article.status == "ok":
                article.status, article.removed_at, article.next_check_at = "removed", now, None
                for member in store.stories_of_article(session, article.id):
                    store.add_event(
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
                article.error = f"{exc.kind}: {exc.message}"
        return
    if result.not_modified:
        with app.db.write() as session:
            article = session.get_one(Article, due.id)
            article.check_count += 1
            article.last_fetched_at, article.next_check_at = now, next_check
        return
    extracted, why_not = _extract(app, result)
    with app.db.read() as session:
        latest = store.latest_version(session, due.id)
        previous = (latest.title, latest.text, latest.content_sha256) if latest else None
    if extracted is not None and previous is None:
        # The first fetch failed or found no article; this one is its first version.
        with app.db.write() as session:
            article = session.get_one(Article, due.id)
            _refresh(article, extracted, result, now, next_check, due.check_count + 1)
            article.status, article.error = "ok", None
        source_name = due.outlet if due.source_id is not None else None
        _first_version(app, due.id, extracted, source_name, now, indexes, report)
        return
    with app.db.write() as session:
        article = session.get_one(Article, due.id)
        if extracted is None:
            article.check_count += 1
            article.last_fetched_at, article.next_check_at = now, next_check
            article.error = why_not
            return
        _refresh(article, extracted, result, now, next_check, due.check_count + 1)
        assert previous is not None
        fp = fingerprint(extracted.text, app.match_settings)
        old_title, old_text, old_sha = previous
        changes = diff.summarise(old_title, old_text, extracted.title, extracted.text)
        if fp.sha256 == old_sha and not changes["title_changed"]:
            return
        version = store_version(
            session,
            article,
            title=extracted.title,
            text=extracted.text,
            fp=fp,
            now=now,
            changes=changes,
        )
        members = store.stories_of_article(session, article.id)
        at = extracted.updated_at if extracted.updated_at and extracted.updated_at <= now else now
        for member in members:
            store.add_event(
                session,
                story_id=member.story_id,
                article_id=article.id,
                event="update",
                at=at,
                now=now,
                article_version=version.version,
            )
        member_ids = {m.story_id for m in members}
    report.updates += 1
    _learn_version(indexes, app, member_ids, due.id, extracted, fp)
    log(logger, "update", url=due.url, source=due.outlet, version=version.version, **changes)


def _refresh(
    article: Article,
    extracted: Extracted,
    result: FetchResult,
    now: datetime,
    next_check: datetime | None,
    check_count: int,
) -> None:
    article.title = extracted.title or article.title
    article.updated_at = extracted.updated_at or article.updated_at
    article.authors = list(extracted.authors) or article.authors
    article.last_fetched_at, article.next_check_at = now, next_check
    article.check_count = check_count
    article.etag = result.headers.get("etag")
    article.last_modified = result.headers.get("last-modified")


def _learn_version(
    indexes: Indexes,
    app: App,
    story_ids: set[int],
    article_id: int,
    extracted: Extracted,
    fp: Fingerprint,
) -> None:
    indexes.learn(extracted.text)
    for story in app.stories:
        index = indexes.built(story)
        # An index built later reads this version from the database.
        if story.id in story_ids and index is not None:
            known = index.member(article_id)
            if known is not None:
                known.texts.append(extracted.text)
                index.add(known, None)
