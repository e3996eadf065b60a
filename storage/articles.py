"""Articles and their versions: finding, creating, versioning, what is stored."""

from __future__ import annotations

import gzip
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from isal import igzip
from sqlalchemy import String, and_, bindparam, func, select
from sqlalchemy.orm import Session

from storage.db import WriteSession, insert_row, insert_unless
from storage.models import (
    Article,
    ArticleVersion,
)

# Built once: built at each call it cost SQLAlchemy 0.21 ms, run 0.08 (a poll's every page).
_BY_URL = (
    select(Article)
    .where(
        Article.url.in_(bindparam("urls", expanding=True))
        | Article.canonical_url.in_(bindparam("urls", expanding=True))
    )
    .limit(1)
)


def find_article(session: Session, *urls: str | None) -> Article | None:
    """The article stored under any of ``urls``, as its own URL or its canonical URL."""
    wanted = [u for u in urls if u]
    if not wanted:
        return None
    return session.scalar(_BY_URL, {"urls": wanted})


# The id alone, read on the connection: checked for every page a poll stores, where loading
# the entity (``find_article``) cost 85 µs against 31.
_A, _B = bindparam("a", type_=String), bindparam("b", type_=String)
_ID_BY_URL = (
    select(Article.id)
    .where(Article.url.in_([_A, _B]) | Article.canonical_url.in_([_A, _B]))
    .limit(1)
)


def stored_id(session: Session, url: str, other: str | None = None) -> int | None:
    """The id of ``find_article(session, url, other)``."""
    session.flush()  # as the ORM's own query would: rows pending in the session count
    found: int | None = session.connection().execute(_ID_BY_URL, {"a": url, "b": other}).scalar()
    return found


def article_ids(session: Session, urls: Collection[str]) -> dict[str, int]:
    """The article stored under each of ``urls`` that has one (as its own URL or its canonical
    URL): what ``find_article`` answers for each, in one query per 5,000 URLs."""
    wanted = sorted(set(urls))
    found: dict[str, int] = {}
    for start in range(0, len(wanted), 5_000):  # SQLite binds at most 32,766 parameters
        chunk = wanted[start : start + 5_000]
        asked = set(chunk)
        rows = session.execute(
            select(Article.id, Article.url, Article.canonical_url)
            .where(Article.url.in_(chunk) | Article.canonical_url.in_(chunk))
            .order_by(Article.id)
        )
        for article_id, url, canonical in rows:
            for u in (url, canonical):
                if u in asked and u not in found:
                    found[u] = article_id
    return found


def create_article(session: WriteSession, **values: Any) -> Article:
    return insert_row(session, Article, values)


def insert_article(session: WriteSession, values: dict[str, Any]) -> Article | None:
    """A new article's row; None when another writer stored its URL first (an expected race:
    the caller reads the winner). ON CONFLICT DO NOTHING on both backends: no exception, so
    the caller's transaction goes on."""
    return insert_unless(session, Article, values, "url")


def get_article(session: Session, article_id: int) -> Article:
    return session.get_one(Article, article_id)


def lock_article(session: WriteSession, article_id: int) -> Article:
    """The article's row, locked until the transaction ends (PostgreSQL; SQLite's writers are
    serial already): what the caller reads under the lock no other writer changes meanwhile."""
    return session.get_one(Article, article_id, with_for_update=True)


def articles_by_id(session: Session, ids: Collection[int]) -> list[Article]:
    return list(session.scalars(select(Article).where(Article.id.in_(ids))))


def set_title(session: WriteSession, article_id: int, title: str | None) -> None:
    session.get_one(Article, article_id).title = title


def record_not_modified(
    session: WriteSession,
    article_id: int,
    *,
    check_count: int,
    next_check_at: datetime | None,
    now: datetime,
) -> None:
    """A re-check the outlet answered with 304: fetched, nothing new."""
    article = session.get_one(Article, article_id)
    article.check_count, article.next_check_at = check_count, next_check_at
    article.last_fetched_at = now


def record_check_error(
    session: WriteSession,
    article_id: int,
    *,
    check_count: int,
    next_check_at: datetime | None,
    error: str | None,
) -> None:
    """A re-check that could not fetch the page: the error is kept, the rest as it was."""
    article = session.get_one(Article, article_id)
    article.check_count, article.next_check_at = check_count, next_check_at
    article.error = error


def mark_removed(
    session: WriteSession, article_id: int, *, check_count: int, now: datetime
) -> bool:
    """The outlet took the article down: status ``removed``, never checked again. Only an
    article whose status is ``ok`` is removed (returns False otherwise, changing nothing): one
    that was never read as an article has nothing to take down."""
    article = session.get_one(Article, article_id)
    if article.status != "ok":
        return False
    article.check_count = check_count
    article.status, article.removed_at, article.next_check_at = "removed", now, None
    return True


def record_not_article(
    session: WriteSession,
    article_id: int,
    *,
    check_count: int,
    next_check_at: datetime | None,
    now: datetime,
    error: str | None,
) -> None:
    """A re-check that fetched the page but found no article to version (``error`` says why)."""
    article = session.get_one(Article, article_id)
    article.check_count = check_count
    article.last_fetched_at, article.next_check_at = now, next_check_at
    article.error = error


def refresh_from_page(
    session: WriteSession,
    article_id: int,
    *,
    title: str | None,
    updated_at: datetime | None,
    authors: Sequence[str],
    etag: str | None,
    last_modified: str | None,
    check_count: int,
    next_check_at: datetime | None,
    now: datetime,
) -> None:
    """A re-check that read the article: its metadata as the page gives it now (what the page
    no longer gives is kept as stored), its validators and its next check."""
    article = session.get_one(Article, article_id)
    article.title = title or article.title
    article.updated_at = updated_at or article.updated_at
    article.authors = list(authors) or article.authors
    article.last_fetched_at, article.next_check_at = now, next_check_at
    article.check_count = check_count
    article.etag, article.last_modified = etag, last_modified


def mark_ok(session: WriteSession, article_id: int) -> None:
    """An article whose earlier fetches failed or found no article has been read as one."""
    article = session.get_one(Article, article_id)
    article.status, article.error = "ok", None


def note_final_url(session: WriteSession, article_id: int, final_url: str | None) -> None:
    """Where the fetch of the article's own page ended; an article that had been redirecting
    elsewhere is back at its page."""
    article = session.get_one(Article, article_id)
    article.final_url = final_url or article.final_url
    article.redirected_to = None


def record_redirect(
    session: WriteSession,
    article_id: int,
    *,
    target: str,
    final_url: str,
    check_count: int,
    next_check_at: datetime | None,
    now: datetime,
) -> bool:
    """The article's URL now leads to another page, ``target``: recorded (its text is not the
    article's), and True when this is a new target (not the one recorded before)."""
    article = session.get_one(Article, article_id)
    new = article.redirected_to != target
    article.final_url, article.redirected_to = final_url, target
    article.check_count, article.next_check_at = check_count, next_check_at
    article.last_fetched_at = now
    article.error = f"redirected to {target}"
    return new


def latest_version(session: Session, article_id: int) -> ArticleVersion | None:
    return session.scalar(
        select(ArticleVersion)
        .where(ArticleVersion.article_id == article_id)
        .order_by(ArticleVersion.version.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class Evidence:
    """What the fetch that found a version answered: its HTTP status, validators, the URL it
    ended at after redirects, and the page as fetched, kept (compressed) when ``keep_html``."""

    http_status: int | None = None
    etag: str | None = None
    last_modified: str | None = None
    final_url: str | None = None
    html: bytes | None = field(default=None, repr=False)
    keep_html: bool = False
    # Or, instead of ``html``: its size and ``compress_html(html)`` (None when not kept), made
    # where the page was read, so that a round holds its pages compressed until it stores them.
    html_size: int | None = None
    html_gz: bytes | None = field(default=None, repr=False)
    # Where the text was read: None for the outlet's page, "wayback" for an archive's capture.
    origin: str | None = None
    # When the text was seen, when that is not the time it was stored: a capture's time (the
    # version's ``fetched_at``), so a backfilled version is dated when the archive saw it.
    seen_at: datetime | None = None


@dataclass(frozen=True)
class Change:
    """What a version changed from the previous one, beyond ``changes``' counts: the sentence
    diff, the change kinds with their evidence, the earlier version it returns to."""

    diff: dict[str, Any] | None = None
    kinds: list[dict[str, Any]] = field(default_factory=list)
    returns_to: int | None = None


# gzip (the format, so that `gunzip` reads an exported page), by ISA-L at its level 1: on
# benchmarks/ingest.py's 707 pages 0.30 ms a page against 1.21 for zlib's fastest level and 2.88
# for its default, in 24.5 % of the pages' size (zlib: 24.9 % and 21.2 %; benchmarks/README.md).
# Pages stored by zlib, at any level, read back the same: gunzip reads every gzip stream.
_GZIP_LEVEL = 1


def compress_html(html: bytes) -> bytes:
    """A page as ``article_versions.html`` keeps it: gzip with no timestamp, so the same page
    always gives the same bytes."""
    return igzip.compress(html, compresslevel=_GZIP_LEVEL, mtime=0)


def version_html(session: Session, article_id: int, version: int) -> bytes | None:
    """The page of one version as it was fetched, or None when it was not kept."""
    stored = session.scalar(
        select(ArticleVersion.html).where(
            ArticleVersion.article_id == article_id, ArticleVersion.version == version
        )
    )
    return gzip.decompress(stored) if stored is not None else None


def earlier_versions(
    session: Session, article_id: int, content_sha256: str, *, before: int
) -> list[tuple[int, str | None]]:
    """The versions before ``before`` with this text hash, newest first, with their titles."""
    rows = session.execute(
        select(ArticleVersion.version, ArticleVersion.title)
        .where(
            ArticleVersion.article_id == article_id,
            ArticleVersion.content_sha256 == content_sha256,
            ArticleVersion.version < before,
        )
        .order_by(ArticleVersion.version.desc())
    )
    return [(number, title) for number, title in rows]


def add_version(
    session: WriteSession,
    article: Article,
    *,
    fetched_at: datetime,
    title: str | None,
    text: str,
    content_sha256: str,
    word_count: int,
    shingle_count: int,
    minhash: bytes,
    changes: dict[str, Any],
    change: Change | None = None,
    authors: Sequence[str] = (),
    notices: Sequence[dict[str, str]] = (),
    evidence: Evidence | None = None,
    number: int | None = None,
) -> ArticleVersion:
    """Store a new version, numbered ``number`` (by default after the last, read here), with the
    page, when the evidence carries it, compressed; the database indexes it for search (0014)."""
    if number is None:
        number = (
            session.scalar(
                select(func.max(ArticleVersion.version)).where(
                    ArticleVersion.article_id == article.id
                )
            )
            or 0
        ) + 1
    change, evidence = change or Change(), evidence or Evidence()
    row = dict(
        article_id=article.id,
        version=number,
        fetched_at=fetched_at,
        title=title,
        text=text,
        content_sha256=content_sha256,
        word_count=word_count,
        shingle_count=shingle_count,
        minhash=minhash,
        changes=changes,
        authors=list(authors),
        notices=[dict(n) for n in notices],
        diff=change.diff,
        kinds=change.kinds,
        returns_to=change.returns_to,
        http_status=evidence.http_status,
        final_url=evidence.final_url,
        etag=evidence.etag,
        last_modified=evidence.last_modified,
        evidence=evidence.origin,
        **_page(evidence),
    )
    return insert_row(session, ArticleVersion, row)


def _page(evidence: Evidence) -> dict[str, Any]:
    """The page's size, and the page compressed when it is kept."""
    if evidence.html is not None:
        gz = compress_html(evidence.html) if evidence.keep_html else None
        return {"html_size": len(evidence.html), "html": gz}
    kept = evidence.keep_html and evidence.html_size is not None
    return {"html_size": evidence.html_size, "html": evidence.html_gz if kept else None}


@dataclass(frozen=True)
class Stored:
    """An article as stored, for saying why no story decided it."""

    url: str
    outlet: str
    title: str | None
    status: str  # ok, not_article, too_short, paywalled, error, removed
    error: str | None
    versions: int


def stored(session: Session, url: str) -> Stored | None:
    """The article stored under ``url`` (or with that canonical URL), if any."""
    article = article_at(session, url)
    if article is None:
        return None
    versions = session.scalar(
        select(func.count())
        .select_from(ArticleVersion)
        .where(ArticleVersion.article_id == article.id)
    )
    return Stored(
        article.url, article.outlet, article.title, article.status, article.error, versions or 0
    )


def version_text(session: Session, article_id: int, version: int) -> str | None:
    """The text of one version of an article."""
    return session.scalar(
        select(ArticleVersion.text).where(
            ArticleVersion.article_id == article_id, ArticleVersion.version == version
        )
    )


def article_at(session: Session, url: str) -> Article | None:
    return session.scalar(
        select(Article).where((Article.url == url) | (Article.canonical_url == url)).limit(1)
    )


def latest_texts(session: Session) -> Iterator[str]:
    """The newest text of every stored article: the background for term statistics."""
    newest = (
        select(ArticleVersion.article_id, func.max(ArticleVersion.version).label("v"))
        .group_by(ArticleVersion.article_id)
        .subquery()
    )
    query = select(ArticleVersion.text).join(
        newest,
        and_(
            ArticleVersion.article_id == newest.c.article_id, ArticleVersion.version == newest.c.v
        ),
    )
    yield from session.scalars(query)


def named(session: Session, urls: Sequence[str]) -> Article | None:
    """The article a user names by one of ``urls`` (as given, normalised...): its stored URL,
    else its canonical URL, else the URL its last fetch ended at, in that order."""
    for column in (Article.url, Article.canonical_url, Article.final_url):
        found = session.scalar(
            select(Article).where(column.in_(list(urls))).order_by(Article.id).limit(1)
        )
        if found is not None:
            return found
    return None


def version_hashes(session: Session, article_id: int) -> set[str]:
    """The text hashes of every stored version of an article."""
    return set(
        session.scalars(
            select(ArticleVersion.content_sha256).where(ArticleVersion.article_id == article_id)
        )
    )
