"""The storage layer's contract, run on every backend (SQLite and PostgreSQL) by ``db_url``."""

from __future__ import annotations

import hashlib
import threading
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from alembic import command
from alembic.script import ScriptDirectory
from sqlalchemy import delete, func, inspect, select, text, update
from sqlalchemy.exc import StatementError

from storage import articles, members, queue, sources, stories, storyfile
from storage.db import (
    MIGRATIONS,
    Database,
    ReadOnlyError,
    alembic_config,
    open_database,
    shipped_head,
)
from storage.models import (
    Article,
    ArticleVersion,
    Entry,
    Source,
    Story,
    StoryArticle,
    StoryEvent,
)
from tests.conftest import STORY_ARTICLE_KEYS, STORY_VERSION_KEYS
from tests.storyschema import checked

T0 = datetime(2023, 3, 23, 12, tzinfo=UTC)
LEASE = timedelta(minutes=5)
MINHASH = b"\0" * 512
TABLES = {
    "sources",
    "entries",
    "articles",
    "article_versions",
    "stories",
    "story_articles",
    "story_events",
    "digest_outbox",
    "digest_events",
    "lsh_buckets",
    "meta",
    "term_df",
}


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    database = open_database(db_url)
    try:
        yield database
    finally:
        database.close()


def test_a_read_session_refuses_every_write_and_keeps_the_database_as_it_was(db: Database) -> None:
    """A write in a read session (an ORM change flushed, or an INSERT, UPDATE or DELETE
    statement) raises ReadOnlyError and changes nothing; the same write in a write session
    lands."""
    with db.write() as session:
        sources.sync_source(
            session, url="https://a.test/feed", name="A", domain="a.test", interval_s=60, now=T0
        )
    with db.read() as session:
        source = session.scalars(select(Source)).one()
        source.name = "changed"
        with pytest.raises(ReadOnlyError):
            session.flush()
        session.rollback()
        with pytest.raises(ReadOnlyError):
            session.execute(update(Source).values(name="changed"))
        with pytest.raises(ReadOnlyError):
            session.execute(delete(Source))
        with pytest.raises(ReadOnlyError):
            session.add(
                Story(slug="s", title="S", keywords=[], version=0, created_at=T0, updated_at=T0)
            )
            session.flush()
    with db.read() as session:
        assert session.scalars(select(Source.name)).all() == ["A"]
        assert session.scalar(select(func.count()).select_from(Story)) == 0
    with db.write() as session:
        session.execute(update(Source).values(name="B"))
    with db.read() as session:
        assert session.scalars(select(Source.name)).all() == ["B"]


# -- helpers ---------------------------------------------------------------------------------


def _source(db: Database, name: str, next_check_at: datetime, *, active: bool = True) -> int:
    with db.write() as session:
        source = sources.sync_source(
            session,
            url=f"https://{name}.example/feed.xml",
            name=name,
            domain=f"{name}.example",
            interval_s=600.0,
            now=T0 - timedelta(days=1),
        )
        source.next_check_at = next_check_at
        source.active = active
        return source.id


def _names(claimed: list[queue.DueSource]) -> list[str]:
    return [s.name for s in claimed]


def _article(session: Any, url: str, outlet: str, **values: Any) -> Any:
    values.setdefault("first_seen_at", T0)
    return articles.create_article(
        session,
        url=url,
        outlet=outlet,
        domain=url.split("/")[2],
        title=values.pop("title", f"Title of {url}"),
        **values,
    )


def _version(session: Any, article: Any, text_: str, *, at: datetime, **extra: Any) -> Any:
    return articles.add_version(
        session,
        article,
        fetched_at=at,
        title=extra.pop("title", article.title),
        text=text_,
        content_sha256=hashlib.sha256(text_.encode()).hexdigest(),
        word_count=len(text_.split()),
        shingle_count=max(0, len(text_.split()) - 2),
        minhash=MINHASH,
        changes=extra.pop("changes", {}),
    )


def _story(session: Any, slug: str) -> Story:
    return stories.sync_story(
        session, slug=slug, title=f"Story {slug}", keywords=[slug, "harbour"], now=T0
    )


def _is_aware_iso(value: Any) -> datetime:
    assert isinstance(value, str), value
    parsed = datetime.fromisoformat(value)
    assert parsed.tzinfo is not None, value
    return parsed


def test_an_inserted_row_reads_as_a_query_would_load_it_and_a_taken_url_inserts_nothing(
    db: Database,
) -> None:
    """A version stored by ``add_version`` (``storage.db.insert_row``) is the session's object
    for its row: the values given read back, a column not given (``html_kept``) is read from the
    database when asked, and a query by its id finds the same object. ``insert_article`` on a
    URL stored already returns None, stores nothing and leaves the transaction going on; on a
    new URL it returns the new row's object, committed with the rest."""
    with db.write() as session:
        article = _article(session, "https://a.example/1", "A")
        version = _version(session, article, "one two three four", at=T0)
        assert version in session and version.id is not None
        assert (version.version, version.kinds, version.word_count) == (1, [], 4)
        assert version.html_kept is False
        assert session.get(ArticleVersion, version.id) is version
        text_ = select(ArticleVersion.text).where(ArticleVersion.id == version.id)
        assert session.execute(text_).scalar_one() == "one two three four"
        values = dict(url=article.url, outlet="B", domain="a.example", first_seen_at=T0)
        assert articles.insert_article(session, values) is None
        fresh = articles.insert_article(session, values | {"url": "https://a.example/2"})
        assert fresh is not None and fresh.id != article.id
        assert session.get(Article, fresh.id) is fresh and fresh.check_count == 0
    with db.read() as session:
        stored = session.execute(select(Article.url, Article.outlet).order_by(Article.id)).all()
    assert stored == [("https://a.example/1", "A"), ("https://a.example/2", "B")]


def test_a_stored_article_is_found_by_its_url_or_canonical_url_as_find_article_finds_it(
    db: Database,
) -> None:
    """``stored_id`` answers what ``find_article`` answers, by id: an article by its own URL or
    its canonical URL, given as either of the two URLs asked, an article added in the same
    session and not yet flushed, and None for URLs nothing is stored under."""
    with db.write() as session:
        plain = _article(session, "https://a.example/1", "A")
        tagged = _article(
            session, "https://a.example/amp/2", "A", canonical_url="https://a.example/2"
        )
        session.add(
            Article(url="https://b.example/3", outlet="B", domain="b.example", first_seen_at=T0)
        )
        assert articles.stored_id(session, "https://b.example/3") is not None  # not flushed
        asked = [
            ("https://a.example/1", None),
            ("https://x.example/1", "https://a.example/1"),
            ("https://a.example/2", None),
            ("https://x.example/2", "https://a.example/2"),
            ("https://a.example/amp/2", "https://x.example/2"),
            ("https://b.example/3", None),
            ("https://x.example/9", None),
            ("https://x.example/9", "https://x.example/10"),
        ]
        for url, other in asked:
            found = articles.find_article(session, url, other)
            assert articles.stored_id(session, url, other) == (found.id if found else None)
        assert articles.stored_id(session, "https://a.example/1") == plain.id
        assert articles.stored_id(session, "https://a.example/2") == tagged.id


# -- migrations ------------------------------------------------------------------------------


def test_the_head_read_without_alembic_is_alembics() -> None:
    """The newest revision storage.db reads from the migration files (to skip Alembic when a
    database is there already) is the head Alembic's own ScriptDirectory finds."""
    scripts = ScriptDirectory(str(MIGRATIONS))
    assert shipped_head() is not None
    assert shipped_head() == scripts.get_current_head()


def test_migrations_create_the_schema_and_a_second_open_is_a_no_op(db_url: str) -> None:
    """Opening an empty database migrates it to head; opening it again changes nothing."""
    first = open_database(db_url)
    try:
        head = ScriptDirectory.from_config(alembic_config(first.engine)).get_current_head()
        assert head is not None
        assert set(inspect(first.engine).get_table_names()) >= TABLES
        with first.read() as session:
            assert session.scalars(text("SELECT version_num FROM alembic_version")).all() == [head]
        _source(first, "kept", T0)
    finally:
        first.close()

    second = open_database(db_url)
    try:
        assert set(inspect(second.engine).get_table_names()) >= TABLES
        with second.read() as session:
            assert session.scalars(text("SELECT version_num FROM alembic_version")).all() == [head]
            assert session.scalars(select(Source.name)).all() == ["kept"]
    finally:
        second.close()


SEARCH_INDEXES = ("ix_articles_when", "ix_versions_search_span", "ix_articles_outlet_folded")


def test_the_migrations_build_exactly_the_schema_the_models_declare(db: Database) -> None:
    """After every migration the database has the columns, types and nullability the models
    declare, and nothing else: a column added to a model without its migration (or the other
    way round) fails here, on every backend."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from storage.models import Base

    with db.engine.connect() as conn, warnings.catch_warnings():
        # SQLAlchemy cannot read back an index on an expression (ix_articles_when, 0014, for
        # search's date filters; no model declares it): it says so, and skips it.
        warnings.filterwarnings("ignore", "Skipped unsupported reflection of expression-based")
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "compare_server_default": False,
                # The search index (0014) is the database's own, kept by triggers, and no
                # model: an FTS5 table and its shadow tables on SQLite, a table on PostgreSQL;
                # so are the search's own indexes (0014, 0016 on PostgreSQL).
                "include_name": lambda name, kind, _parent: (
                    not (
                        (kind == "table" and (name or "").startswith("version_search"))
                        or (kind == "index" and name in SEARCH_INDEXES)
                    )
                ),
            },
        )
        differences = compare_metadata(context, Base.metadata)
    assert differences == []


# -- UTCDateTime -----------------------------------------------------------------------------


def test_aware_datetime_in_another_zone_reads_back_as_the_same_instant_in_utc(
    db: Database,
) -> None:
    """A time written with a UTC-05:00 offset reads back as the same instant, tz-aware, in UTC."""
    written = datetime(2023, 3, 23, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=-5)))
    source_id = _source(db, "zoned", written)
    with db.read() as session:
        value = session.get_one(Source, source_id).next_check_at
    assert value == written
    assert value.tzinfo is not None
    assert value.utcoffset() == timedelta(0)
    assert (value.hour, value.minute, value.microsecond) == (14, 30, 123456)
    if db.dialect == "sqlite":
        with db.read() as session:
            raw = session.scalar(
                text("SELECT next_check_at FROM sources WHERE id = :id"), {"id": source_id}
            )
        assert raw == "2023-03-23T14:30:15.123456+00:00"


def test_a_date_before_the_year_1000_round_trips(db: Database) -> None:
    """0001-01-01 (a JSON-LD placeholder some pages carry) is written zero-padded and reads
    back as itself, instead of crashing the reader."""
    written = datetime(1, 1, 1, tzinfo=UTC)
    source_id = _source(db, "ancient", written)
    with db.read() as session:
        assert session.get_one(Source, source_id).next_check_at == written


def test_naive_datetime_is_refused_when_written(db: Database) -> None:
    """Writing a naive datetime raises and stores nothing."""
    with pytest.raises(StatementError, match="naive datetime") as info:
        _source(db, "naive", datetime(2023, 3, 23, 12))
    assert isinstance(info.value.orig, ValueError)
    with db.read() as session:
        assert session.scalar(select(func.count()).select_from(Source)) == 0


# -- the source queue ------------------------------------------------------------------------


def test_claim_sources_takes_only_due_sources_in_due_order_up_to_the_limit(db: Database) -> None:
    """Only sources with next_check_at <= now are claimed, earliest first, at most ``limit``."""
    _source(db, "later", T0 + timedelta(hours=1))
    _source(db, "b", T0 - timedelta(hours=1))
    _source(db, "now", T0)
    _source(db, "a", T0 - timedelta(hours=3))
    _source(db, "c", T0 - timedelta(minutes=30))

    first = queue.claim_sources(db, now=T0, limit=3, lease=LEASE)
    assert _names(first) == ["a", "b", "c"]
    assert first[0].url == "https://a.example/feed.xml"
    second = queue.claim_sources(db, now=T0, limit=10, lease=LEASE)
    assert _names(second) == ["now"]
    assert queue.claim_sources(db, now=T0, limit=10, lease=LEASE) == []
    with db.read() as session:
        leases = dict(session.execute(select(Source.name, Source.claimed_until)).all())
    assert leases == {
        "a": T0 + LEASE,
        "b": T0 + LEASE,
        "c": T0 + LEASE,
        "now": T0 + LEASE,
        "later": None,
    }


def test_claim_takes_at_most_per_host_sources_of_one_host_per_batch(db: Database) -> None:
    """Five due feeds of one host and two of others: a batch holds the two most overdue of the
    busy host beside the others; the rest of that host comes in the next batch."""
    for minutes in range(5):
        source_id = _source(db, f"busy{minutes}", T0 - timedelta(minutes=50 - minutes))
        with db.write() as session:
            session.get_one(Source, source_id).domain = "busy.example"
    _source(db, "x", T0 - timedelta(minutes=10))
    _source(db, "y", T0 - timedelta(minutes=5))

    first = queue.claim_sources(db, now=T0, limit=10, lease=LEASE, per_host=2)
    assert _names(first) == ["busy0", "busy1", "x", "y"]
    second = queue.claim_sources(db, now=T0, limit=10, lease=LEASE, per_host=2)
    assert _names(second) == ["busy2", "busy3"]
    assert _names(queue.claim_sources(db, now=T0, limit=10, lease=LEASE, per_host=2)) == ["busy4"]


def test_a_claimed_source_is_not_claimed_again_until_its_lease_ends(db: Database) -> None:
    """A second claim inside the lease gets nothing; once claimed_until has passed, it gets it."""
    _source(db, "due", T0 - timedelta(minutes=1))
    assert _names(queue.claim_sources(db, now=T0, limit=5, lease=LEASE)) == ["due"]
    inside = T0 + LEASE - timedelta(seconds=1)
    assert queue.claim_sources(db, now=inside, limit=5, lease=LEASE) == []
    assert queue.claim_sources(db, now=inside, limit=5, lease=LEASE, everything=True) == []
    after = T0 + LEASE + timedelta(seconds=1)
    assert _names(queue.claim_sources(db, now=after, limit=5, lease=LEASE)) == ["due"]
    with db.read() as session:
        assert session.scalar(select(Source.claimed_until)) == after + LEASE


def test_an_article_claimed_by_id_is_not_claimed_again_until_its_lease_ends(db: Database) -> None:
    """Two feeds listing one article as changed, in two processes, claim it by id: the second
    claim inside the lease gets nothing (one fetch, not two), and neither does a claim of due
    articles; once the lease has passed it is claimed again."""
    with db.write() as session:
        article = _article(
            session, "https://a.example/1", "A", next_check_at=T0 - timedelta(minutes=1)
        )
        article_id = article.id
    first = queue.claim_articles(db, now=T0, limit=5, everything=True, ids=[article_id])
    assert [a.id for a in first] == [article_id]
    inside = T0 + queue.ARTICLE_LEASE - timedelta(seconds=1)
    assert queue.claim_articles(db, now=inside, limit=5, everything=True, ids=[article_id]) == []
    assert queue.claim_articles(db, now=inside, limit=5) == []
    with db.read() as session:
        assert session.get_one(Article, article_id).claimed_until == T0 + queue.ARTICLE_LEASE
    after = T0 + queue.ARTICLE_LEASE + timedelta(seconds=1)
    again = queue.claim_articles(db, now=after, limit=5, everything=True, ids=[article_id])
    assert [a.id for a in again] == [article_id]


def test_a_downgrade_to_the_first_migration_and_back_keeps_every_row(db: Database) -> None:
    """Down to 0001 and up to head again, a database keeps its sources, entries, articles,
    versions and decisions: no migration's downgrade rebuilds a table whose drop would delete
    (cascade) the rows that point at it."""
    source_id = _source(db, "wire", T0)
    with db.write() as session:
        article = _article(session, "https://wire.example/1", "Wire", source_id=source_id)
        articles.add_version(
            session,
            article,
            fetched_at=T0,
            title="t",
            text="A text.",
            content_sha256="0" * 64,
            word_count=2,
            shingle_count=0,
            minhash=b"",
            changes={},
        )
        story = stories.sync_story(session, slug="s", title="S", keywords=[], now=T0)
        members.record_decision(
            session,
            story_id=story.id,
            article_id=article.id,
            relation="original",
            copy_of_id=None,
            similarity=0.5,
            match={},
            now=T0,
        )
        session.add(
            Entry(
                source_id=source_id,
                key="e1",
                url=article.url,
                first_seen_at=T0,
                last_seen_at=T0,
                article_id=article.id,
            )
        )

    def counts() -> list[int]:
        with db.read() as session:
            return [
                session.scalar(select(func.count()).select_from(table)) or 0
                for table in (Source, Entry, Article, ArticleVersion, StoryArticle)
            ]

    before = counts()
    assert before == [1, 1, 1, 1, 1]
    command.downgrade(alembic_config(db.engine), "0001")
    assert counts() == before
    command.upgrade(alembic_config(db.engine), "head")
    assert counts() == before


def test_every_downgrade_runs_to_an_empty_database_and_the_chain_builds_it_again(
    db: Database,
) -> None:
    """Down to base every migration's downgrade runs and leaves no table of ours; up to head
    again the chain builds the same tables: an operator can step back any number of releases."""

    def tables() -> set[str]:
        return set(inspect(db.engine).get_table_names()) - {"alembic_version"}

    built = tables()
    assert {"articles", "article_versions", "digest_outbox", "archive_requests"} <= built
    command.downgrade(alembic_config(db.engine), "base")
    assert {t for t in tables() if not t.startswith("sqlite_")} == set()
    command.upgrade(alembic_config(db.engine), "head")
    assert tables() == built


def test_claim_everything_takes_sources_not_yet_due(db: Database) -> None:
    """``everything=True`` claims sources whose next_check_at is still in the future."""
    _source(db, "tomorrow", T0 + timedelta(days=1))
    _source(db, "in_an_hour", T0 + timedelta(hours=1))
    _source(db, "due", T0 - timedelta(hours=1))
    assert queue.claim_sources(db, now=T0 - timedelta(hours=2), limit=5, lease=LEASE) == []
    claimed = queue.claim_sources(db, now=T0, limit=5, lease=LEASE, everything=True)
    assert _names(claimed) == ["due", "in_an_hour", "tomorrow"]


def test_inactive_sources_are_never_claimed(db: Database) -> None:
    """An inactive source is skipped even when due, and even with ``everything=True``."""
    _source(db, "off", T0 - timedelta(hours=2), active=False)
    _source(db, "on", T0 - timedelta(hours=1))
    assert _names(queue.claim_sources(db, now=T0, limit=5, lease=LEASE)) == ["on"]
    later = T0 + timedelta(days=1)
    assert _names(queue.claim_sources(db, now=later, limit=5, lease=LEASE, everything=True)) == [
        "on"
    ]
    with db.write() as session:
        sources.deactivate_sources_except(session, set())
    assert queue.claim_sources(db, now=later + LEASE, limit=5, lease=LEASE, everything=True) == []


def test_two_concurrent_claimers_never_get_the_same_source(db_url: str) -> None:
    """Two threads, each with its own Database, claiming batches of 5 until none is left,
    share 40 due sources exactly: FOR UPDATE SKIP LOCKED on PostgreSQL, BEGIN IMMEDIATE on
    SQLite."""
    setup = open_database(db_url)
    try:
        expected = {_source(setup, f"s{i:02d}", T0 - timedelta(minutes=i)) for i in range(40)}
    finally:
        setup.close()
    databases = [open_database(db_url), open_database(db_url)]
    barrier = threading.Barrier(len(databases))
    claimed: list[list[int]] = [[] for _ in databases]
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            for _ in range(100):
                batch = queue.claim_sources(databases[index], now=T0, limit=5, lease=LEASE)
                if not batch:
                    return
                assert len(batch) <= 5
                claimed[index].extend(s.id for s in batch)
        except BaseException as exc:  # reported by the main thread
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(databases))]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not any(thread.is_alive() for thread in threads), "a claimer hung"
    finally:
        for database in databases:
            database.close()
    assert errors == []
    first, second = (set(ids) for ids in claimed)
    assert len(claimed[0]) == len(first) and len(claimed[1]) == len(second)
    assert first & second == set()
    assert first | second == expected


# -- versions and events ---------------------------------------------------------------------


def test_add_version_numbers_versions_per_article(db: Database) -> None:
    """Versions count 1, 2, 3 for each article on its own, interleaved with another's."""
    with db.write() as session:
        one = _article(session, "https://one.example/a", "One")
        two = _article(session, "https://two.example/b", "Two")
        numbers = [
            _version(session, one, "first", at=T0).version,
            _version(session, two, "first", at=T0).version,
            _version(session, one, "second", at=T0 + timedelta(hours=1)).version,
            _version(session, one, "third", at=T0 + timedelta(hours=2)).version,
            _version(session, two, "second", at=T0 + timedelta(hours=2)).version,
        ]
        ids = (one.id, two.id)
    assert numbers == [1, 1, 2, 3, 2]
    with db.read() as session:
        rows = session.execute(
            select(ArticleVersion.article_id, ArticleVersion.version, ArticleVersion.text).order_by(
                ArticleVersion.article_id, ArticleVersion.version
            )
        ).all()
        assert articles.latest_version(session, ids[0]).text == "third"  # type: ignore[union-attr]
    assert rows == [
        (ids[0], 1, "first"),
        (ids[0], 2, "second"),
        (ids[0], 3, "third"),
        (ids[1], 1, "first"),
        (ids[1], 2, "second"),
    ]


def test_add_event_bumps_the_story_version_once_per_event(db: Database) -> None:
    """Each event raises the story version by one and records that version on the event."""
    with db.write() as session:
        story = _story(session, "harbour")
        other = _story(session, "other")
        article = _article(session, "https://one.example/a", "One")
        assert story.version == 0
        recorded = []
        for i, kind in enumerate(["first_report", "update", "removed"]):
            event = stories.add_event(
                session,
                story_id=story.id,
                article_id=article.id,
                event=kind,
                at=T0 + timedelta(hours=i),
                now=T0 + timedelta(hours=i, minutes=1),
                article_version=i + 1,
            )
            recorded.append(event.story_version)
        story_id, other_id = story.id, other.id
    assert recorded == [1, 2, 3]
    with db.read() as session:
        stored = session.get_one(Story, story_id)
        assert stored.version == 3
        assert stored.updated_at == T0 + timedelta(hours=2, minutes=1)
        assert session.get_one(Story, other_id).version == 0
        events = session.execute(
            select(StoryEvent.event, StoryEvent.story_version, StoryEvent.article_version)
            .where(StoryEvent.story_id == story_id)
            .order_by(StoryEvent.id)
        ).all()
    assert events == [("first_report", 1, 1), ("update", 2, 2), ("removed", 3, 3)]


# -- the story file --------------------------------------------------------------------------


def test_story_file_of_an_unknown_slug_is_none(db: Database) -> None:
    """build() returns None when no story has the slug."""
    with db.write() as session:
        _story(session, "known")
    with db.read() as session:
        assert checked(storyfile.build(session, "unknown")) is None
        assert checked(storyfile.build(session, "known")) is not None


def test_story_file_has_the_contract_keys_and_aware_iso_timestamps(db: Database) -> None:
    """A seed, an original with two versions and a copy of it come out with every contract key,
    the copy pointing at the original, and every timestamp ISO 8601 with an offset."""
    paris = timezone(timedelta(hours=1))
    with db.write() as session:
        story = _story(session, "harbour")
        seed = _article(
            session,
            "https://seed.example/s",
            "Seed Times",
            published_at=datetime(2023, 3, 23, 9, tzinfo=paris),
            first_seen_at=T0,
        )
        original = _article(
            session,
            "https://orig.example/o",
            "Original Post",
            canonical_url="https://orig.example/canonical-o",
            published_at=T0 + timedelta(hours=1),
            first_seen_at=T0 + timedelta(hours=1),
        )
        copy = _article(
            session,
            "https://copy.example/c",
            "Copy Daily",
            published_at=T0 + timedelta(hours=2),
            first_seen_at=T0 + timedelta(hours=2),
        )
        _version(session, seed, "seed text about the harbour", at=T0)
        _version(session, original, "original harbour text", at=T0 + timedelta(hours=1))
        _version(
            session,
            original,
            "original harbour text, edited",
            at=T0 + timedelta(hours=3),
            changes={"title": None, "added": 1},
        )
        _version(session, copy, "original harbour text", at=T0 + timedelta(hours=2))
        decisions = [
            (seed, "seed", None, None),
            (original, "original", None, None),
            (copy, "copy", original.id, 0.912345),
        ]
        for article, relation, copy_of_id, similarity in decisions:
            members.record_decision(
                session,
                story_id=story.id,
                article_id=article.id,
                relation=relation,
                copy_of_id=copy_of_id,
                similarity=similarity,
                match={"reason": f"{relation} reason"},
                now=T0,
            )
        events = [
            (seed, "first_report", T0, 1),
            (original, "first_report", T0 + timedelta(hours=1), 1),
            (copy, "copy", T0 + timedelta(hours=2), 1),
            (original, "update", T0 + timedelta(hours=3), 2),
        ]
        for article, kind, at, article_version in events:
            stories.add_event(
                session,
                story_id=story.id,
                article_id=article.id,
                event=kind,
                at=at,
                now=at + timedelta(minutes=1),
                article_version=article_version,
            )
    with db.read() as session:
        data = checked(storyfile.build(session, "harbour"))
    assert data is not None

    assert {"story", "title", "version", "updated_at", "outlets", "timeline"} <= set(data)
    assert data["story"] == "harbour"
    assert data["title"] == "Story harbour"
    assert data["version"] == 4
    assert _is_aware_iso(data["updated_at"]) == T0 + timedelta(hours=3, minutes=1)

    outlets = {o["name"]: o for o in data["outlets"]}
    assert list(outlets) == ["Seed Times", "Original Post", "Copy Daily"]
    assert outlets["Original Post"]["domain"] == "orig.example"
    article_keys = STORY_ARTICLE_KEYS
    version_keys = STORY_VERSION_KEYS
    for outlet in data["outlets"]:
        assert {"name", "domain", "articles"} <= set(outlet)
        assert len(outlet["articles"]) == 1
        for article in outlet["articles"]:
            assert article_keys <= set(article)
            _is_aware_iso(article["published_at"])
            _is_aware_iso(article["first_seen_at"])
            for version in article["versions"]:
                assert version_keys <= set(version)
                _is_aware_iso(version["fetched_at"])

    seed_out = outlets["Seed Times"]["articles"][0]
    assert seed_out["relation"] == "seed"
    assert _is_aware_iso(seed_out["published_at"]) == datetime(2023, 3, 23, 8, tzinfo=UTC)
    orig_out = outlets["Original Post"]["articles"][0]
    assert orig_out["url"] == "https://orig.example/o"
    assert orig_out["canonical_url"] == "https://orig.example/canonical-o"
    assert orig_out["relation"] == "original"
    assert orig_out["copy_of"] is None
    assert orig_out["match"] == {"reason": "original reason"}
    assert [v["version"] for v in orig_out["versions"]] == [1, 2]
    assert (
        orig_out["versions"][1]["content_sha256"]
        == hashlib.sha256(b"original harbour text, edited").hexdigest()
    )
    assert orig_out["versions"][1]["changes"] == {"title": None, "added": 1}
    assert _is_aware_iso(orig_out["versions"][1]["fetched_at"]) == T0 + timedelta(hours=3)
    copy_out = outlets["Copy Daily"]["articles"][0]
    assert copy_out["relation"] == "copy"
    assert copy_out["copy_of"] == "https://orig.example/o"
    assert copy_out["similarity"] == pytest.approx(0.9123)

    assert [(e["event"], e["outlet"], e["url"]) for e in data["timeline"]] == [
        ("first_report", "Seed Times", "https://seed.example/s"),
        ("first_report", "Original Post", "https://orig.example/o"),
        ("copy", "Copy Daily", "https://copy.example/c"),
        ("update", "Original Post", "https://orig.example/o"),
    ]
    assert [_is_aware_iso(e["at"]) for e in data["timeline"]] == [e[2] for e in events]


# -- source outcomes -------------------------------------------------------------------------


def test_source_errors_count_up_keep_failing_since_and_an_ok_clears_them(db: Database) -> None:
    """record_source_error counts consecutive errors and sets failing_since on the first only;
    record_source_ok resets the count and clears failing_since and the error."""
    source_id = _source(db, "flaky", T0)
    counts = []
    for i, (kind, status) in enumerate([("http", 503), ("timeout", None)]):
        at = T0 + timedelta(minutes=10 * i)
        with db.write() as session:
            counts.append(
                sources.record_source_error(
                    session,
                    source_id,
                    now=at,
                    kind=kind,
                    message=f"{kind} failure",
                    status=status,
                    next_check_at=at + timedelta(minutes=5),
                )
            )
        with db.read() as session:
            source = session.get_one(Source, source_id)
            assert source.error_count == i + 1
            assert source.failing_since == T0
            assert source.error_kind == kind
            assert source.last_status == status
            assert source.last_checked_at == at
            assert source.next_check_at == at + timedelta(minutes=5)
            assert source.claimed_until is None
    assert counts == [1, 2]

    ok_at = T0 + timedelta(minutes=20)
    with db.write() as session:
        sources.record_source_ok(
            session,
            source_id,
            now=ok_at,
            status=200,
            etag='"v1"',
            last_modified=None,
            body_sha256="0" * 64,
            next_check_at=ok_at + timedelta(minutes=10),
            new_items=3,
        )
    with db.read() as session:
        source = session.get_one(Source, source_id)
        assert source.error_count == 0
        assert source.failing_since is None
        assert source.error_kind is None
        assert source.error_message is None
        assert source.last_ok_at == ok_at
        assert source.etag == '"v1"'
        assert source.items_seen == 3

    with db.write() as session:
        assert (
            sources.record_source_error(
                session,
                source_id,
                now=ok_at + timedelta(hours=1),
                kind="http",
                message="again",
                status=500,
                next_check_at=ok_at + timedelta(hours=2),
            )
            == 1
        )
    with db.read() as session:
        assert session.get_one(Source, source_id).failing_since == ok_at + timedelta(hours=1)
