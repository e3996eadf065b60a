"""A re-check of a tracked article recorded, on the round's thread: a new version when its text
or title changed (``monitor.poll.change``: with its diff, change kinds and evidence), ``removed``
when the outlet took it down, ``redirected`` when its URL starts leading to another page, the
first version of one whose earlier fetches found no article, or just the next check.

A redirect is to another page unless it ends where the article was read before (its URL, its
canonical URL, where its newest version was fetched) or on a page whose canonical URL names the
article: a slug changed with the old URL redirecting. The text of another page is never stored
as a version of this article; the ``redirected`` event names the target once, and a page that
comes back to its own URL is versioned again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitor import crash
from monitor.app import App
from monitor.extract import Extracted
from monitor.log import log
from monitor.match import band_keys, fingerprint
from monitor.match.story import TermChange
from monitor.poll import change, schedule
from monitor.poll.indexes import Indexes
from monitor.poll.ingest import first_version
from monitor.poll.page import Page
from monitor.poll.record import store_version
from monitor.poll.report import RoundReport
from monitor.publish import diff
from monitor.urls import normalise_url
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
    """Record a re-check of a tracked article: a new version if it changed, ``removed`` if the
    outlet took it down, ``redirected`` if its URL now leads to another page."""
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
    checked = _Checked(due, page, now, check_count, next_check)
    with app.db.write() as session:
        first, updated = _record_page(app, session, checked, report)
    extracted = page.article
    if first and extracted is not None:
        source_name = due.outlet if due.source_id is not None else None
        evidence = page.evidence(keep_html=app.config.storage.keep_html)
        first_version(
            app,
            due.id,
            extracted,
            source_name,
            now,
            indexes,
            report,
            evidence,
            also=lambda session: _refresh(session, checked),
        )
        return
    if updated is None or extracted is None:
        return
    version, terms, member_ids, changes = updated
    report.updates += 1
    _learn_version(indexes, app, member_ids, due.id, extracted, terms)
    log(
        logger,
        "update",
        url=due.url,
        source=due.outlet,
        version=version.version,
        kinds=[k["kind"] for k in version.kinds],
        **changes,
    )


@dataclass(frozen=True)
class _Checked:
    """A re-check's page and what its row will record: the count and the next check."""

    due: queue.DueArticle
    page: Page
    now: datetime
    check_count: int
    next_check: datetime | None


def _record_page(
    app: App, session: WriteSession, checked: _Checked, report: RoundReport
) -> tuple[bool, Updated | None]:
    """A re-check that read a page: a redirect elsewhere, a page that is no article, or the
    article, versioned when it changed. Returns whether the article has no version yet (for
    first_version to store, with the stories' decisions, after this transaction), and the new
    version if one was stored."""
    # The article's row is locked (PostgreSQL; SQLite's writers are serial already) and its
    # newest version read under the lock: two processes re-checking it at once (two feeds
    # listing it as changed) must not both store the same new text as a version.
    article = articles.lock_article(session, checked.due.id)
    latest = articles.latest_version(session, article.id)
    page = checked.page
    target = _elsewhere(article, latest, page)
    if target is not None:
        _record_redirect(session, article, target, checked, report)
        return False, None
    articles.note_final_url(session, article.id, page.final_url)
    extracted = page.article
    if extracted is None:
        articles.record_not_article(
            session,
            article.id,
            check_count=checked.check_count,
            next_check_at=checked.next_check,
            now=checked.now,
            error=page.why_not,
        )
        return False, None
    if latest is None:
        # The first fetch failed or found no article: this one is its first version, stored
        # with the page's metadata and validators (_refresh) and the article marked read by
        # first_version in one transaction with its decisions. Recorded here, the validators
        # would make the next fetch a 304 and the article stay without a version if that
        # transaction never committed.
        return True, None
    before = change.Before.of(article)
    _refresh(session, checked)
    return False, _record_change(app, session, article, latest, before, checked)


def _refresh(session: WriteSession, checked: _Checked) -> None:
    """The re-read page's metadata, validators and the next check on the article's row."""
    extracted, page = checked.page.article, checked.page
    assert extracted is not None
    articles.refresh_from_page(
        session,
        checked.due.id,
        title=extracted.title,
        updated_at=extracted.updated_at,
        authors=extracted.authors,
        etag=page.etag,
        last_modified=page.last_modified,
        check_count=checked.check_count,
        next_check_at=checked.next_check,
        now=checked.now,
    )


def _elsewhere(article: Article, latest: ArticleVersion | None, page: Page) -> str | None:
    """The page the article's URL now leads to, normalised, when it is another page than the
    article (see the module docstring); None when it is the article."""
    if page.final_url is None:
        return None
    target = normalise_url(page.final_url)
    own = {article.url, article.canonical_url}
    if latest is not None and latest.final_url:
        own.add(normalise_url(latest.final_url))
    if article.final_url and article.redirected_to is None:
        own.add(normalise_url(article.final_url))
    if target in own:
        return None
    canonical = page.extracted.canonical_url if page.extracted is not None else None
    if canonical and normalise_url(canonical) in own:
        return None
    return target


def _record_redirect(
    session: WriteSession, article: Article, target: str, checked: _Checked, report: RoundReport
) -> None:
    """The article's URL leads to ``target``: recorded, and put on the timeline of every story
    it is in the first time it leads there."""
    new = articles.record_redirect(
        session,
        article.id,
        target=target,
        final_url=checked.page.final_url or target,
        check_count=checked.check_count,
        next_check_at=checked.next_check,
        now=checked.now,
    )
    if not new:
        return
    stories.add_events(
        session,
        members.stories_of_article(session, article.id),
        article_id=article.id,
        event="redirected",
        at=checked.now,
        now=checked.now,
        article_version=None,
        detail={"target": target},
    )
    report.redirected += 1
    log(logger, "redirected", url=article.url, source=article.outlet, to=target)


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
                members.stories_of_article(session, due.id),
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
    before: change.Before,
    checked: _Checked,
) -> Updated | None:
    """A new version when the page changed from ``latest`` (monitor.poll.change), indexed and
    put on the timeline of every story the article is in, with its change kinds; None when
    nothing changed."""
    extracted = checked.page.article
    assert extracted is not None  # the caller read an article
    now = checked.now
    fp = fingerprint(extracted.text, app.match_settings)
    changes = diff.summarise(latest.title, latest.text, extracted.title, extracted.text)
    old, new = change.snapshots(latest, before, extracted)
    if not change.is_new_version(latest, fp, changes, old, new):
        return None
    version, terms = store_version(
        session,
        article,
        title=extracted.title,
        text=extracted.text,
        fp=fp,
        now=now,
        changes=changes,
        previous=latest,
        change=change.compare(session, article, latest, fp, old, new),
        authors=extracted.authors,
        notices=extracted.notices,
        evidence=checked.page.evidence(keep_html=app.config.storage.keep_html),
    )
    crash.point("recheck.version")
    story_ids = members.stories_of_article(session, article.id)
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
        detail=_update_detail(version),
    )
    return version, terms, set(story_ids), changes


def _update_detail(version: ArticleVersion) -> dict[str, Any]:
    """An update event's detail: the version's change kinds, and the version it returns to."""
    detail: dict[str, Any] = {"kinds": [k["kind"] for k in version.kinds]}
    if version.returns_to is not None:
        detail["returns_to"] = version.returns_to
    return detail


def _learn_version(
    indexes: Indexes,
    app: App,
    story_ids: set[int],
    article_id: int,
    extracted: Extracted,
    terms: TermChange,
) -> None:
    """After the commit: the new version joins the round's indexes of the stories it is in."""
    indexes.learn(terms)
    for story in app.stories:
        index = indexes.built(story)
        # An index built later reads this version from the database.
        if story.id in story_ids and index is not None:
            known = index.member(article_id)
            if known is not None:
                known.texts.append(extracted.text)
                index.add(known, None)
