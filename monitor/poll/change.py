"""A re-read article against its newest stored version, inside the re-check's write transaction:
whether it makes a new version, and what that version changed (``monitor.publish.diff``).

A new version is stored when the normalised text or the title changed, and also when only the
byline changed (both known) or the page shows a correction notice it did not show before: each
is an edit a reader of the story file must see. A changed time stamp, a rotating sidebar or an
"Updated 10:32" notice alone make none (the extraction leaves them out of the text).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from monitor.extract import Extracted, Notice
from monitor.match import Fingerprint
from monitor.publish import diff
from monitor.publish.kinds import Snapshot, byline_changed, fresh_notices
from monitor.text import normalised
from storage import articles
from storage.db import WriteSession

if TYPE_CHECKING:
    from storage.models import Article, ArticleVersion


@dataclass(frozen=True)
class Before:
    """What the article's row said before this re-check refreshed it: the page's dateModified
    and byline as last read."""

    updated_at: datetime | None
    authors: tuple[str, ...]

    @classmethod
    def of(cls, article: Article) -> Before:
        return cls(article.updated_at, tuple(article.authors))


def snapshots(
    latest: ArticleVersion, before: Before, extracted: Extracted
) -> tuple[Snapshot, Snapshot]:
    """The newest stored version and the page just read, as the change kinds see them. A
    version stored before its byline was recorded (migration 0008) has the article's."""
    old = Snapshot(
        latest.title,
        latest.text,
        tuple(latest.authors) or before.authors,
        tuple(Notice(n["kind"], n["text"]) for n in latest.notices),
        before.updated_at,
    )
    new = Snapshot(
        extracted.title,
        extracted.text,
        extracted.authors,
        extracted.notices,
        extracted.updated_at,
    )
    return old, new


def is_new_version(
    latest: ArticleVersion, fp: Fingerprint, changes: dict[str, Any], old: Snapshot, new: Snapshot
) -> bool:
    """Whether the page read makes a new version (see the module docstring)."""
    if fp.sha256 != latest.content_sha256 or changes["title_changed"]:
        return True
    return byline_changed(old, new) or any(n.kind == "correction" for n in fresh_notices(old, new))


def returns_to(
    session: WriteSession, article: Article, latest: ArticleVersion, sha256: str, title: str | None
) -> int | None:
    """The newest earlier version (not ``latest``) with this text and title: an A/B headline
    flipping back, an edit undone. None when the text and title are new."""
    if sha256 == latest.content_sha256 and normalised(title or "") == normalised(
        latest.title or ""
    ):
        return None  # the same as the newest: a byline or a notice made this version
    for number, seen in articles.earlier_versions(
        session, article.id, sha256, before=latest.version
    ):
        if normalised(seen or "") == normalised(title or ""):
            return number
    return None


def compare(
    session: WriteSession,
    article: Article,
    latest: ArticleVersion,
    fp: Fingerprint,
    old: Snapshot,
    new: Snapshot,
) -> articles.Change:
    """What the new version changed from ``latest``: the diff, the kinds, a return."""
    back = returns_to(session, article, latest, fp.sha256, new.title)
    found = diff.compare(old, new, returns_to=back)
    return articles.Change(found.diff, found.kinds, back)
