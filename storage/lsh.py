"""The copy stage's LSH index as a table: band keys in, candidate versions out.

Every version of every member of a story (seeds, originals, copies) has one row per band
(``monitor.match_signature.band_keys``). A new article's candidates are the member versions that
share a key with it in some band: one index seek per band on ``(story_id, band, key)``.

Deciding and recording must be one step, or two processes ingesting two copies of the same
text at once would each find no candidate and both record an original. The caller decides inside
its write transaction, after ``lock``: on SQLite the transaction's ``BEGIN IMMEDIATE`` already
serialises writers; on PostgreSQL ``lock`` takes transaction-scoped advisory locks on the new
article's band keys, so only writers that could see each other as candidates wait for each other.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from storage import meta
from storage.db import upsert_insert
from storage.models import ArticleVersion, LshBand, StoryArticle

GEOMETRY = "lsh_geometry"


def lock(session: Session, keys: Iterable[int]) -> None:
    """Serialise writers whose new articles share a band key (PostgreSQL; a no-op on SQLite,
    whose write transactions are serial already). Locks are taken in key order, so two writers
    never wait for each other in a cycle, and released at commit."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for key in sorted(set(keys)):
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})


@functools.cache
def _candidates_sql(n: int, dialect: str) -> str:
    """The new signature's keys joined to the table: one primary-key seek per band.

    A row-value ``(band, key) IN (...)`` reads the whole story's rows on SQLite instead (400 ms
    at 100,000 versions, against 0.3 ms), and SQLAlchemy's ``values()`` construct costs 2 ms a
    call to compile, so this is the driver's own SQL, made once and run without SQLAlchemy's
    statement handling (about 0.2 ms a call on PostgreSQL). PostgreSQL gets the keys as two arrays:
    two parameters to plan instead of 102. Both drivers take named parameters: ``:name`` for
    sqlite3, ``%(name)s`` for psycopg."""
    if dialect == "postgresql":
        return (
            "SELECT DISTINCT l.article_id, l.version "
            "FROM unnest(%(bands)s::smallint[], %(keys)s::bigint[]) AS w (band, key) "
            "JOIN lsh_bands l ON l.story_id = %(story)s AND l.band = w.band AND l.key = w.key"
        )
    rows = ", ".join(f"(:b{i}, :k{i})" for i in range(n))
    return (
        f"WITH w (band, key) AS (VALUES {rows}) SELECT DISTINCT l.article_id, l.version FROM w "
        "JOIN lsh_bands l ON l.story_id = :story AND l.band = w.band AND l.key = w.key"
    )


def candidates(
    session: Session, story_id: int, bands: Sequence[tuple[int, int]]
) -> set[tuple[int, int]]:
    """The (article_id, version) of every member version sharing a band key with ``bands``."""
    if not bands:
        return set()
    connection = session.connection()
    dialect = connection.dialect.name
    params: dict[str, Any] = {"story": story_id}
    if dialect == "postgresql":
        params["bands"], params["keys"] = [b for b, _ in bands], [k for _, k in bands]
    else:
        for i, (band, key) in enumerate(bands):
            params[f"b{i}"], params[f"k{i}"] = band, key
    rows = connection.exec_driver_sql(_candidates_sql(len(bands), dialect), params)
    return {(int(a), int(v)) for a, v in rows}


def add(
    session: Session,
    story_id: int,
    article_id: int,
    version: int,
    bands: Sequence[tuple[int, int]],
) -> None:
    """Index one version of a member; a version indexed already stays as it is."""
    if not bands:
        return
    rows = [
        {"story_id": story_id, "band": b, "key": k, "article_id": article_id, "version": version}
        for b, k in bands
    ]
    session.execute(upsert_insert(session, LshBand).on_conflict_do_nothing(), rows)


def members_with_text(session: Session, story_id: int, sha256: str) -> set[int]:
    """Members of the story with a version of exactly this text (the exact stage's lookup)."""
    rows = session.scalars(
        select(StoryArticle.article_id)
        .join(ArticleVersion, ArticleVersion.article_id == StoryArticle.article_id)
        .where(
            StoryArticle.story_id == story_id,
            StoryArticle.relation != "off_topic",
            ArticleVersion.content_sha256 == sha256,
        )
        .distinct()
    )
    return {int(a) for a in rows}


def geometry(session: Session) -> str | None:
    """The band geometry the table was built with (``bands x rows of num_perm``), if any."""
    return meta.get(session, GEOMETRY)


def reset(session: Session, built_with: str) -> None:
    """Empty the table before a rebuild with another geometry, and record the new one."""
    session.execute(delete(LshBand))
    meta.put(session, GEOMETRY, built_with)


def member_versions(session: Session) -> list[tuple[int, int, int, bytes]]:
    """(story_id, article_id, version, signature) of every version of every member: what a
    rebuild indexes."""
    rows = session.execute(
        select(
            StoryArticle.story_id,
            ArticleVersion.article_id,
            ArticleVersion.version,
            ArticleVersion.minhash,
        )
        .join(ArticleVersion, ArticleVersion.article_id == StoryArticle.article_id)
        .where(StoryArticle.relation != "off_topic")
        .order_by(StoryArticle.story_id, ArticleVersion.article_id, ArticleVersion.version)
    )
    return [(int(s), int(a), int(v), bytes(m)) for s, a, v, m in rows]


def article_signatures(session: Session, article_id: int) -> list[tuple[int, bytes]]:
    """(version, signature) of every version of one article."""
    rows = session.execute(
        select(ArticleVersion.version, ArticleVersion.minhash)
        .where(ArticleVersion.article_id == article_id)
        .order_by(ArticleVersion.version)
    )
    return [(int(v), bytes(m)) for v, m in rows]
