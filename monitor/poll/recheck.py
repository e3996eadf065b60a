"""A re-check of a tracked article recorded, on the round's thread: a new version when its text
or title changed, ``removed`` when the outlet took it down, the first version of one whose
earlier fetches found no article, or just the next check.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitor.app import App
from monitor.extract import Extracted
from monitor.log import log
from monitor.match import band_keys, fingerprint
from monitor.match.story import TermChange
from monitor.poll import schedule
from monitor.poll.indexes import Indexes
from monitor.poll.ingest import first_version
from monitor.poll.page import Page
from monitor.poll.record import store_version
from monitor.poll.report import RoundReport
from monitor.publish import diff
from storage import articles, lsh, members, queue, stories
from storage.db import WriteSession

if TYPE_CHECKING:
    from storage.models import Article, ArticleVersion

logger = logging.getLogger(__name__)

# A new version: the version, its terms' change, the stories it is in, and what changed.
Updated = tuple["ArticleVersion", TermChange, set[int], dict[str, Any]]


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
    next_check = schedule.next_article_check(
        first_seen_at=due.first_seen_at,
        check_count=check_count,
        now=now,
        recheck_for=app.config.poll.recheck_for,
    )
    if page.error is not None or page.not_modified:
        _record_unread(app, due, page, now, check_count, next_check, report)
        return
    extracted = page.article
    if extracted is None:
        _record_not_article(app, due, page, now, check_count, next_check)
        return
    with app.db.write() as session:
        first, updated = _record_read(
            app, session, due, page, extracted, now, check_count, next_check
        )
    if first:
        source_name = due.outlet if due.source_id is not None else None
        first_version(app, due.id, extracted, source_name, now, indexes, report)
        return
    if updated is None:
        return
    version, change, member_ids, changes = updated
    report.updates += 1
    _learn_version(indexes, app, member_ids, due.id, extracted, change)
    log(logger, "update", url=due.url, source=due.outlet, version=version.version, **changes)


def _record_not_article(
    app: App,
    due: queue.DueArticle,
    page: Page,
    now: datetime,
    check_count: int,
    next_check: datetime | None,
) -> None:
    """A re-check that read a page but no article to version (``page.why_not`` says why)."""
    with app.db.write() as session:
        # Under the row lock every re-check that read a page takes (see _record_read).
        articles.lock_article(session, due.id)
        articles.record_not_article(
            session,
            due.id,
            check_count=check_count,
            next_check_at=next_check,
            now=now,
            error=page.why_not,
        )


def _record_read(
    app: App,
    session: WriteSession,
    due: queue.DueArticle,
    page: Page,
    extracted: Extracted,
    now: datetime,
    check_count: int,
    next_check: datetime | None,
) -> tuple[bool, Updated | None]:
    """A re-check that read the article: its row refreshed, and a new version when it
    changed. Returns whether it has no version yet (for first_version to store, with the
    stories' decisions, after this transaction), and the new version if one was stored."""
    # The article's row is locked (PostgreSQL; SQLite's writers are serial already) and its
    # newest version read under the lock: two processes re-checking it at once (two feeds
    # listing it as changed) must not both store the same new text as a version.
    article = articles.lock_article(session, due.id)
    articles.refresh_from_page(
        session,
        due.id,
        title=extracted.title,
        updated_at=extracted.updated_at,
        authors=extracted.authors,
        etag=page.etag,
        last_modified=page.last_modified,
        check_count=check_count,
        next_check_at=next_check,
        now=now,
    )
    latest = articles.latest_version(session, article.id)
    if latest is None:
        # The first fetch failed or found no article: this one is its first version.
        articles.mark_ok(session, article.id)
        return True, None
    return False, _record_change(app, session, article, latest, extracted, now)


def _record_unread(
    app: App,
    due: queue.DueArticle,
    page: Page,
    now: datetime,
    check_count: int,
    next_check: datetime | None,
    report: RoundReport,
) -> None:
    """A re-check that read no page: unchanged (304), taken down (404 or 410 for an article
    read before) or failed."""
    with app.db.write() as session:
        if page.not_modified:
            articles.record_not_modified(
                session, due.id, check_count=check_count, next_check_at=next_check, now=now
            )
        elif page.gone and articles.mark_removed(session, due.id, check_count=check_count, now=now):
            stories.add_events(
                session,
                (m.story_id for m in members.stories_of_article(session, due.id)),
                article_id=due.id,
                event="removed",
                at=now,
                now=now,
                article_version=None,
                detail={"http_status": page.status},
            )
            report.removed += 1
        else:
            articles.record_check_error(
                session, due.id, check_count=check_count, next_check_at=next_check, error=page.error
            )


def _record_change(
    app: App,
    session: WriteSession,
    article: Article,
    latest: ArticleVersion,
    extracted: Extracted,
    now: datetime,
) -> Updated | None:
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
    story_ids = [m.story_id for m in members.stories_of_article(session, article.id)]
    bands = band_keys(fp.minhash, app.match_settings)
    lsh.fill(session, [(s, article.id, version.version, bands) for s in story_ids])
    at = extracted.updated_at if extracted.updated_at and extracted.updated_at <= now else now
    stories.add_events(
        session,
        story_ids,
        article_id=article.id,
        event="update",
        at=at,
        now=now,
        article_version=version.version,
    )
    return version, change, set(story_ids), changes


def _learn_version(
    indexes: Indexes,
    app: App,
    story_ids: set[int],
    article_id: int,
    extracted: Extracted,
    change: TermChange,
) -> None:
    """After the commit: the new version joins the round's indexes of the stories it is in."""
    indexes.learn(change)
    for story in app.stories:
        index = indexes.built(story)
        # An index built later reads this version from the database.
        if story.id in story_ids and index is not None:
            known = index.member(article_id)
            if known is not None:
                known.texts.append(extracted.text)
                index.add(known, None)
