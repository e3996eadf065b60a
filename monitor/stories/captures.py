"""A story's articles as they were before we followed them: each article's captures in the
Wayback Machine (CDX, one per distinct content) read oldest first and recorded as versions with
their capture time and ``evidence: wayback``, then its outlet's page read at the command's
``now`` and recorded as the newest version when its text differs (``evidence`` null), all
through the re-check's own recording (``poll.recheck.store_recheck``: the diff, the change
kinds, the ``update`` event).

The backfill read each article's first version from its capture nearest publication
(``stories.past``), so its later captures all come after it. A capture whose text is that of a
stored version adds nothing, and neither does one from before the newest stored version:
versions stay in the order of their times (a capture older than the text we stored cannot be
placed before it without renumbering what the timeline and the band table refer to). An
article the archive never captured was read from its outlet already: it is not asked again.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from monitor.app import App, StoryRef
from monitor.archive.client import ArchiveClient, Progress
from monitor.log import log
from monitor.poll.indexes import Indexes
from monitor.poll.page import read_page
from monitor.poll.recheck import store_recheck
from monitor.poll.report import RoundReport
from monitor.stories.past import captures_of, read_capture
from monitor.text import content_sha256
from storage import articles, members, queue
from storage import sources as stored_sources

if TYPE_CHECKING:
    from datetime import datetime

    from monitor.archive.cdx import Capture
    from storage.models import Article

logger = logging.getLogger(__name__)


def past_versions(
    app: App,
    client: ArchiveClient,
    story: StoryRef,
    indexes: Indexes,
    report: RoundReport,
    *,
    now: datetime,
) -> tuple[int, int]:
    """Record the captures of every article of the story as versions, then its outlet's page
    at ``now`` when it differs; returns how many of each were recorded."""
    with app.db.read() as session:
        urls = [
            (m.article_id, m.url)
            for m in members.story_members(session, story.id)
            if m.relation != "seed" and m.url.startswith(("http://", "https://"))
        ]
        obey = {row.id: row.obey_robots for row in stored_sources.all_sources(session)}
    progress = Progress(client, "versions", len(urls))
    added = live = 0
    for article_id, url in urls:
        captured = captures_of(app, client, url)
        added += _article_captures(app, client, article_id, captured, indexes, report)
        if captured:
            live += _live_page(app, article_id, obey, now, indexes, report)
        progress.step()
    return added, live


def _article_captures(
    app: App,
    client: ArchiveClient,
    article_id: int,
    captured: list[Capture],
    indexes: Indexes,
    report: RoundReport,
) -> int:
    """One article's captures after its newest version, oldest first, each recorded as a
    version when its text is new; returns how many were."""
    added = 0
    for capture in captured:
        with app.db.read() as session:
            article = articles.get_article(session, article_id)
            latest = articles.latest_version(session, article_id)
            known = articles.version_hashes(session, article_id)
            due = _due(article)
        if latest is not None and capture.at <= latest.fetched_at:
            continue  # before the text we hold: not fetched (see the module docstring)
        page = read_capture(app, client, due.url, capture)
        if page is None or page.article is None:
            continue
        if content_sha256(page.article.text) in known:
            continue
        before = report.updates
        store_recheck(app, due, page, capture.at, indexes, report)
        if report.updates > before:
            added += 1
            log(logger, "past_version", url=due.url, at=capture.at.isoformat())
    return added


def _live_page(
    app: App,
    article_id: int,
    obey: dict[int, bool],
    now: datetime,
    indexes: Indexes,
    report: RoundReport,
) -> int:
    """The outlet's page as it is ``now``, recorded as the newest version when its text is
    new (1, else 0). A page the outlet took down, or a failed fetch, records nothing: the
    backfill read the article from the archive, and the re-checks of a live poll are what
    mark a page removed."""
    with app.db.read() as session:
        article = articles.get_article(session, article_id)
        known = articles.version_hashes(session, article_id)
        due = _due(article)
    obeying = due.source_id is None or obey.get(due.source_id, True)
    page = read_page(app, due.url, due.outlet, now=now, obey_robots=obeying)
    if page.article is None or page.error is not None or page.gone:
        log(logger, "live_page_unread", url=due.url, status=page.status, error=page.error)
        return 0
    if content_sha256(page.article.text) in known:
        return 0
    before = report.updates
    store_recheck(app, due, page, now, indexes, report)
    return 1 if report.updates > before else 0


def _due(article: Article) -> queue.DueArticle:
    """The article as a re-check takes it (no validators: a capture is never a 304)."""
    return queue.DueArticle.of(article, validators=False)
