"""The copy stage's LSH index as a table: band keys in, candidate versions out.

Every version of every member of a story (seeds, originals, copies) is indexed under one key per
band (``monitor.match.band_keys``). The table has one row per bucket, ``(story_id, band,
key)``, holding the versions filed under that key as packed 8-byte entries. A new article's
candidates are the versions in the buckets of its own keys: one index seek per band.

One row per bucket rather than per version: a text with many near copies in the story shares a
good part of its band keys with each, so a row per version meant an index entry to read and send
for every key shared with every copy; a bucket makes it one seek and one value per band (the
figures: benchmarks/README.md, "Experiment history"). Appending to a bucket is an upsert, so
writers that share a bucket must not interleave: they do not, because they share a band key
(below).

Deciding and recording must be one step, or two processes ingesting two copies of the same
text at once would each find no candidate and both record an original. The caller decides inside
its write transaction, after ``lock``: on SQLite the transaction's ``BEGIN IMMEDIATE`` already
serialises writers; on PostgreSQL ``lock`` takes transaction-scoped advisory locks on the new
article's band keys, so only writers that could see each other as candidates wait for each other.
"""

from __future__ import annotations

import functools
import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from sqlalchemy import LargeBinary, bindparam, cast, delete, select, text
from sqlalchemy.orm import Session

from storage import meta
from storage.db import WriteSession, upsert_insert
from storage.models import ArticleVersion, LshBucket, StoryArticle

GEOMETRY = "lsh_geometry"

# An entry is one little-endian unsigned 64-bit integer: the article id above VERSION_BITS bits
# of version number. 2**40 articles and 2**24 versions of one article are far beyond any archive;
# one integer (not two) lets numpy deduplicate a lookup's entries in one call.
VERSION_BITS = 24
_ENTRY = np.dtype("<u8")

Version = tuple[int, int]  # (article_id, version)
Bands = Sequence[tuple[int, int]]  # (band, key), as band_keys makes them


def pack(article_id: int, version: int) -> bytes:
    """One version's entry in a bucket."""
    if not (0 <= version < 1 << VERSION_BITS and 0 <= article_id < 1 << (64 - VERSION_BITS)):
        raise ValueError(f"article {article_id} version {version} does not fit a bucket entry")
    return np.array([article_id << VERSION_BITS | version], dtype=_ENTRY).tobytes()


def unpack(blob: bytes) -> set[Version]:
    """The distinct versions in a bucket's entries (or several buckets' joined)."""
    values = np.unique(np.frombuffer(blob, dtype=_ENTRY))
    mask = (1 << VERSION_BITS) - 1
    return set(zip((values >> VERSION_BITS).tolist(), (values & mask).tolist(), strict=True))


def lock(session: WriteSession, keys: Iterable[int]) -> None:
    """Serialise writers whose new articles share a band key (PostgreSQL; a no-op on SQLite,
    whose write transactions are serial already). Locks are taken in key order, so two writers
    never wait for each other in a cycle, and released at commit."""
    if session.get_bind().dialect.name != "postgresql":
        return
    # One statement, not a round trip per key: the keys come out of the sorted subquery in
    # order and each lock is taken as its row is read.
    session.execute(
        text(
            "SELECT count(pg_advisory_xact_lock(k)) "
            "FROM (SELECT DISTINCT unnest(CAST(:keys AS bigint[])) AS k ORDER BY k) AS sorted_keys"
        ),
        {"keys": sorted(set(keys))},
    )


def url_keys(*urls: str | None) -> list[int]:
    """Advisory-lock keys for URLs (signed 64-bit, from their SHA-256): writers that may store
    the same URL or canonical URL lock them first (``lock``)."""
    return [
        int.from_bytes(hashlib.sha256(u.encode()).digest()[:8], "big", signed=True)
        for u in urls
        if u
    ]


@functools.cache
def _candidates_sql(n: int, dialect: str) -> str:
    """The new signature's keys joined to the table: one primary-key seek per band.

    A row-value ``(band, key) IN (...)`` reads the whole story's rows on SQLite instead (400 ms
    at 100,000 versions, against 0.3 ms), and SQLAlchemy's ``values()`` construct costs 2 ms a
    call to compile, so this is the driver's own SQL, made once and run without SQLAlchemy's
    statement handling (about 0.2 ms a call on PostgreSQL). PostgreSQL gets the keys as two arrays
    (two parameters to plan instead of 102) and joins the buckets into one value, which is
    cheaper to send than a row per bucket. Both drivers take named parameters: ``:name`` for
    sqlite3, ``%(name)s`` for psycopg."""
    if dialect == "postgresql":
        return (
            "SELECT string_agg(l.members, ''::bytea) "
            "FROM unnest(%(bands)s::smallint[], %(keys)s::bigint[]) AS w (band, key) "
            "JOIN lsh_buckets l ON l.story_id = %(story)s AND l.band = w.band AND l.key = w.key"
        )
    rows = ", ".join(f"(:b{i}, :k{i})" for i in range(n))
    return (
        f"WITH w (band, key) AS (VALUES {rows}) SELECT l.members FROM w "
        "JOIN lsh_buckets l ON l.story_id = :story AND l.band = w.band AND l.key = w.key"
    )


def candidates(session: Session, story_id: int, bands: Bands) -> set[Version]:
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
    return unpack(b"".join(bytes(blob) for (blob,) in rows if blob))


def add(session: WriteSession, story_id: int, article_id: int, version: int, bands: Bands) -> None:
    """Index one version of a member; a version indexed already stays as it is (its entry is
    in its first band's bucket exactly when it is in all of them: they are written together)."""
    if not bands:
        return
    band, key = bands[0]
    first = session.scalar(
        select(LshBucket.members).where(
            LshBucket.story_id == story_id, LshBucket.band == band, LshBucket.key == key
        )
    )
    if first is not None and (article_id, version) in unpack(bytes(first)):
        return
    fill(session, [(story_id, article_id, version, bands)])


def fill(session: WriteSession, versions: Iterable[tuple[int, int, int, Bands]]) -> None:
    """Append (story_id, article_id, version, bands) to their buckets, without ``add``'s check
    that they are not there yet: for versions that cannot be (one stored in the same
    transaction, or a rebuild after ``reset``).

    Each bucket is written once, in (story, band, key) order, so two writers sharing buckets
    take their row locks in the same order and cannot deadlock."""
    buckets: defaultdict[tuple[int, int, int], bytearray] = defaultdict(bytearray)
    for story_id, article_id, version, bands in versions:
        entry = pack(article_id, version)
        for band, key in bands:
            buckets[story_id, band, key] += entry
    if not buckets:
        return
    insert = upsert_insert(session, LshBucket)
    upsert = insert.on_conflict_do_update(
        index_elements=["story_id", "band", "key"],
        # SQLite's || makes text of two blobs; the cast keeps the bytes a blob.
        set_={"members": cast(LshBucket.members.concat(insert.excluded.members), LargeBinary)},
    )
    rows = [
        {"story_id": s, "band": b, "key": k, "members": bytes(m)}
        for (s, b, k), m in sorted(buckets.items())
    ]
    session.execute(upsert, rows)


# Built once: it runs at every decision, where building it cost more than running it.
_WITH_TEXT = (
    select(StoryArticle.article_id)
    .join(ArticleVersion, ArticleVersion.article_id == StoryArticle.article_id)
    .where(
        StoryArticle.story_id == bindparam("story"),
        StoryArticle.relation != "off_topic",
        ArticleVersion.content_sha256 == bindparam("sha256"),
    )
    .distinct()
)


def members_with_text(session: Session, story_id: int, sha256: str) -> set[int]:
    """Members of the story with a version of exactly this text (the exact stage's lookup)."""
    rows = session.scalars(_WITH_TEXT, {"story": story_id, "sha256": sha256})
    return {int(a) for a in rows}


def geometry(session: Session) -> str | None:
    """The band geometry the table was built with (``bands x rows of num_perm``), if any."""
    return meta.get(session, GEOMETRY)


def reset(session: WriteSession, built_with: str) -> None:
    """Empty the table before a rebuild with another geometry, and record the new one."""
    session.execute(delete(LshBucket))
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
