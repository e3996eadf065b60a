"""The copy stage's LSH index in the database (storage.lsh), on SQLite and PostgreSQL: what it
holds, that it is shared by processes and survives restarts, that deciding and recording are one
step (and storing a re-checked version), and that a copy group follows its earliest-published
member."""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import random
import tomllib
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import delete, inspect, select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from monitor import config as configmod
from monitor import demo
from monitor.app import App, open_app
from monitor.extract import Extracted, extract
from monitor.match import band_keys, fingerprint, lsh_params
from monitor.poll.indexes import Indexes
from monitor.poll.ingest import first_version
from monitor.poll.page import Page
from monitor.poll.recheck import store_recheck
from monitor.poll.report import RoundReport
from storage import articles, lsh, members, queue, stories
from storage.db import alembic_config, open_database
from storage.models import ArticleVersion, LshBucket, Meta, StoryArticle
from tests.conftest import with_db

NOW = datetime(2023, 3, 24, 12, tzinfo=UTC)
PAGE = "round-1/capital-wire/2023/03/23/canada-us-roxham-deal.html"
# Three of the demo's originals: three different texts of the story.
ORIGINALS = (
    PAGE,
    "round-1/northern-ledger/2023/03/23/ottawa-washington-roxham-road-deal.html",
    "round-3/lakeshore-post/2023/03/25/migrants-turned-back-roxham-road.html",
)
OFF_TOPIC = (
    "The city council voted on Tuesday to extend the summer hours of the public library and to "
    "repaint the reading room. Librarians said attendance at the children's story hour had "
    "doubled since the spring, and the council approved two new part-time positions. " * 3
)


def _config(db_url: str, tmp_path: Path, **match: float) -> configmod.Config:
    """The demo story (its seed, its keywords) with no sources, on ``db_url``."""
    config = demo.demo_config("http://127.0.0.1:9", tmp_path, {"outlet": [], **_manifest()})
    config = config.replace(sources=())
    if match:
        config = config.replace(match=dataclasses.replace(config.match, **match))
    return with_db(config, db_url)


def _manifest() -> dict:
    data = tomllib.loads((demo.STORY / "manifest.toml").read_text(encoding="utf-8"))
    return {k: data[k] for k in ("slug", "title", "keywords")}


def _page(path: str = PAGE) -> Extracted:
    return extract((demo.STORY / path).read_bytes(), "https://" + path.split("/", 1)[1])


def _new_article(app: App, url: str, published_at: datetime) -> int:
    with app.db.write() as session:
        article = articles.create_article(
            session,
            url=url,
            source_id=None,
            outlet=url.split("/")[2],
            domain=url.split("/")[2],
            title=None,
            authors=[],
            language="en",
            published_at=published_at,
            first_seen_at=NOW,
            status="ok",
        )
        return article.id


def _ingest(
    app: App, article_id: int, extracted: Extracted, indexes: Indexes | None = None
) -> None:
    first_version(
        app, article_id, extracted, None, NOW, indexes or Indexes(app), RoundReport(now=NOW)
    )


def _relations(app: App) -> dict[int, tuple[str, int | None]]:
    with app.db.read() as session:
        rows = session.scalars(select(StoryArticle)).all()
        return {r.article_id: (r.relation, r.copy_of_id) for r in rows}


def _index_rows(app: App) -> set[tuple[int, int, int, int, int]]:
    """The band table as (story_id, band, key, article_id, version), one per entry; no bucket
    holds an entry twice."""
    rows = set()
    with app.db.read() as session:
        buckets = session.execute(
            select(LshBucket.story_id, LshBucket.band, LshBucket.key, LshBucket.members)
        )
        for story_id, band, key, members in buckets:
            versions = lsh.unpack(bytes(members))
            assert len(versions) * 8 == len(members), (band, key)
            rows |= {(story_id, band, key, a, v) for a, v in versions}
    return rows


def _band_rows(app: App, article_id: int | None = None) -> int:
    return sum(1 for row in _index_rows(app) if article_id in (None, row[3]))


def test_members_versions_are_in_the_band_table_and_off_topic_articles_are_not(
    db_url: str, tmp_path: Path
) -> None:
    """The seed is indexed at start, a member's first version when it is decided, and an
    off-topic article not at all: one row per band for each member version."""
    config = _config(db_url, tmp_path)
    bands, _ = lsh_params(config.match.candidate_threshold, config.match.num_perm)
    with open_app(config, now=NOW) as app:
        assert _band_rows(app) == bands  # the one seed, one version
        member = _new_article(app, "https://a.example/deal", NOW)
        _ingest(app, member, _page())
        off = _new_article(app, "https://b.example/library", NOW)
        _ingest(app, off, dataclasses.replace(_page(), title="Library hours", text=OFF_TOPIC))
        relations = _relations(app)
        assert relations[member][0] == "original"
        assert relations[off][0] == "off_topic"
        assert _band_rows(app, member) == bands
        assert _band_rows(app, off) == 0
        assert _band_rows(app) == 2 * bands


def test_the_band_table_survives_a_restart_and_is_rebuilt_for_another_geometry(
    db_url: str, tmp_path: Path
) -> None:
    """Reopening changes nothing; a database without the table's geometry (older than it) is
    filled from the stored signatures at start; another candidate threshold or signature size
    rebuilds it with that geometry's bands, and copies are still found against it."""
    config = _config(db_url, tmp_path)
    bands, _ = lsh_params(config.match.candidate_threshold, config.match.num_perm)
    with open_app(config, now=NOW) as app:
        first = _new_article(app, "https://a.example/deal", NOW)
        _ingest(app, first, _page())
        before = _index_rows(app)
    assert len(before) == 2 * bands
    with open_app(config, now=NOW) as app:
        assert _index_rows(app) == before
        with app.db.write() as session:  # as a database from before the table was
            session.execute(delete(LshBucket))
            session.execute(delete(Meta))
    with open_app(config, now=NOW) as app:
        assert _index_rows(app) == before
    other = _config(db_url, tmp_path, candidate_threshold=0.5)
    other_bands, _ = lsh_params(0.5, other.match.num_perm)
    assert other_bands != bands
    with open_app(other, now=NOW) as app:
        assert _band_rows(app) == 2 * other_bands
        second = _new_article(app, "https://b.example/deal-copy", NOW + timedelta(hours=1))
        _ingest(app, second, _page())
        assert _relations(app)[second] == ("copy", first)
    # Fewer permutations: the stored 128-value signatures no longer fit; the texts are read.
    fewer = _config(db_url, tmp_path, num_perm=64)
    fewer_bands, _ = lsh_params(fewer.match.candidate_threshold, 64)
    with open_app(fewer, now=NOW) as app:
        assert _band_rows(app) == 3 * fewer_bands
        third = _new_article(app, "https://c.example/deal-copy", NOW + timedelta(hours=2))
        _ingest(app, third, _page())
        assert _relations(app)[third] == ("copy", first)


def test_a_database_with_the_row_per_version_table_is_upgraded_and_refilled(
    db_url: str, tmp_path: Path
) -> None:
    """A database at migration 0005 (one row per band key and version) opens at head, with
    the bucket table filled at start with the same entries and copies still found."""
    config = _config(db_url, tmp_path)
    with open_app(config, now=NOW) as app:
        first = _new_article(app, "https://a.example/deal", NOW)
        _ingest(app, first, _page())
        before = _index_rows(app)
        command.downgrade(alembic_config(app.db.engine), "0005")
        with app.db.read() as session:
            assert "lsh_bands" in inspect(session.connection()).get_table_names()
    with open_app(config, now=NOW) as app:
        assert _index_rows(app) == before
        second = _new_article(app, "https://b.example/deal-copy", NOW + timedelta(hours=1))
        _ingest(app, second, _page())
        assert _relations(app)[second] == ("copy", first)


def test_a_member_another_process_stored_is_a_candidate_without_a_rebuild(
    db_url: str, tmp_path: Path
) -> None:
    """Two applications on one database, each with the index it built before the other wrote:
    the second finds the first's article through the band table and records a copy."""
    config = _config(db_url, tmp_path)
    with open_app(config, now=NOW) as one, open_app(config, now=NOW) as two:
        indexes_two = Indexes(two)
        for story in two.stories:
            indexes_two.get(story)  # built now, before the first app stores anything
        first = _new_article(one, "https://a.example/deal", NOW)
        _ingest(one, first, _page())
        second = _new_article(two, "https://b.example/reprint", NOW + timedelta(hours=2))
        shortened = _page()
        half = shortened.text[: len(shortened.text) * 2 // 3]
        _ingest(two, second, dataclasses.replace(shortened, text=half), indexes_two)
        assert _relations(one)[second] == ("copy", first)


def _race(config: configmod.Config, article_id: int, path: str, barrier: object) -> None:
    """One worker process: open the application, wait for the other, store the article."""
    with open_app(config, now=NOW) as app:
        indexes = Indexes(app)
        for story in app.stories:
            indexes.get(story)
        barrier.wait()  # type: ignore[attr-defined]
        _ingest(app, article_id, _page(path), indexes)


@pytest.mark.slow
def test_two_processes_storing_two_copies_at_once_record_one_original(
    db_url: str, tmp_path: Path
) -> None:
    """Two worker processes, released together, each store one of two copies of a text the
    story has not seen: the decision and the insert are one transaction, so exactly one is the
    original and the other its copy (three texts, for three chances to interleave)."""
    config = _config(db_url, tmp_path)
    with open_app(config, now=NOW) as app:
        pairs = [
            (
                _new_article(app, f"https://a.example/{n}", NOW),
                _new_article(app, f"https://b.example/{n}", NOW),
                path,
            )
            for n, path in enumerate(ORIGINALS)
        ]
    ctx = multiprocessing.get_context("spawn")
    for a, b, path in pairs:
        barrier = ctx.Barrier(2)
        workers = [ctx.Process(target=_race, args=(config, i, path, barrier)) for i in (a, b)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=120)
            assert w.exitcode == 0
        with open_app(config, now=NOW) as app:
            relations = _relations(app)
        kinds = sorted([relations[a][0], relations[b][0]])
        assert kinds == ["copy", "original"], (a, b, relations)
        original = a if relations[a][0] == "original" else b
        copy = b if original == a else a
        assert relations[copy][1] == original


def test_a_copy_published_before_its_group_becomes_the_original(
    db_url: str, tmp_path: Path
) -> None:
    """A reprint arrives first (12:00), a later reprint follows (14:00) as its copy; then the
    wire's own story, published at 09:00, arrives: it becomes the original and both reprints
    point at it, with the reason recorded."""
    config = _config(db_url, tmp_path)
    with open_app(config, now=NOW) as app:
        indexes = Indexes(app)
        reprint = _new_article(app, "https://reprint.example/deal", NOW)
        later = _new_article(app, "https://later.example/deal", NOW + timedelta(hours=2))
        wire = _new_article(app, "https://wire.example/deal", NOW - timedelta(hours=3))
        _ingest(app, reprint, _page(), indexes)
        _ingest(app, later, _page(), indexes)
        assert _relations(app)[later] == ("copy", reprint)
        _ingest(app, wire, _page(), indexes)
        relations = _relations(app)
        assert relations[wire] == ("original", None)
        assert relations[reprint] == ("copy", wire)
        assert relations[later] == ("copy", wire)
        with app.db.read() as session:
            old = members.membership(session, app.stories[0].id, reprint)
            assert old is not None and old.match["copy_of_earlier"] == "https://wire.example/deal"
        # The in-memory index agrees: the next copy points at the wire too.
        again = _new_article(app, "https://again.example/deal", NOW + timedelta(hours=5))
        _ingest(app, again, _page(), indexes)
        assert _relations(app)[again] == ("copy", wire)


def test_band_rows_of_a_version_are_the_band_keys_of_its_text(tmp_path: Path) -> None:
    """What the table holds for a version equals band_keys of the text's signature, and the
    version is its own candidate: the insert at decision time and the lookup agree."""
    config = _config(f"sqlite:///{tmp_path / 'm.sqlite'}", tmp_path)
    with open_app(config, now=NOW) as app:
        member = _new_article(app, "https://a.example/deal", NOW)
        page = _page()
        _ingest(app, member, page)
        expected = band_keys(fingerprint(page.text, app.match_settings).minhash, app.match_settings)
        with app.db.read() as session:
            found = lsh.candidates(session, app.stories[0].id, expected)
        rows = sorted((band, key) for _, band, key, a, _ in _index_rows(app) if a == member)
        assert rows == expected
        assert (member, 1) in found


def test_a_bucket_entry_round_trips_and_out_of_range_versions_are_refused() -> None:
    """pack and unpack are inverse over the whole range of ids and versions, joined buckets
    unpack to their distinct versions, and an id or version that does not fit is refused
    rather than folded into another's entry."""
    top_article, top_version = (1 << (64 - lsh.VERSION_BITS)) - 1, (1 << lsh.VERSION_BITS) - 1
    versions = [(1, 1), (7, 2), (top_article, top_version), (123_456_789, 1)]
    joined = b"".join(lsh.pack(a, v) for a, v in versions + versions[:2])
    assert lsh.unpack(joined) == set(versions)
    for article_id, version in ((top_article + 1, 1), (1, top_version + 1), (-1, 1), (1, -1)):
        with pytest.raises(ValueError, match=f"article {article_id} version {version} "):
            lsh.pack(article_id, version)


def test_adding_an_indexed_version_again_changes_nothing(db_url: str, tmp_path: Path) -> None:
    """lsh.add of a version already in the table (a seed synced again, a member of a second
    story indexed twice) leaves every bucket as it was: no entry twice, none lost."""
    config = _config(db_url, tmp_path)
    with open_app(config, now=NOW) as app:
        member = _new_article(app, "https://a.example/deal", NOW)
        page = _page()
        _ingest(app, member, page)
        before = _index_rows(app)
        bands = band_keys(fingerprint(page.text, app.match_settings).minhash, app.match_settings)
        with app.db.write() as session:
            lsh.add(session, app.stories[0].id, member, 1, bands)
        assert _index_rows(app) == before  # _index_rows also refuses an entry held twice
        with app.db.write() as session:
            lsh.add(session, app.stories[0].id, member, 2, bands)
        assert _index_rows(app) - before == {
            (app.stories[0].id, band, key, member, 2) for band, key in bands
        }


def test_a_story_threshold_of_its_own_decides_in_place_of_the_match_one(
    db_url: str, tmp_path: Path
) -> None:
    """An article that scores under [match] story_threshold is off-topic; with the story's own
    story_threshold set where its score suffices, the same article on a fresh database joins
    the story, and the threshold recorded with the decision is the story's."""
    page = _page()
    lead = " ".join(page.text.split()[:40])
    weak = dataclasses.replace(page, title="Library hours", text=lead + " " + OFF_TOPIC)
    config = _config(db_url, tmp_path)
    with open_app(config, now=NOW) as app:
        article = _new_article(app, "https://a.example/weak", NOW)
        _ingest(app, article, weak)
        with app.db.read() as session:
            decided = members.membership(session, app.stories[0].id, article)
            assert decided is not None
            relation, match = decided.relation, decided.match
    # Scores are stored to four decimals; a story keyword in the text halves the threshold.
    score = match["scores"]["score"] - 0.0001
    threshold = 2 * score if match["scores"]["keyword_hits"] else score
    assert relation == "off_topic"
    assert 0 < threshold < config.match.story_threshold
    own = dataclasses.replace(
        config, stories=(dataclasses.replace(config.stories[0], story_threshold=threshold),)
    )
    own = with_db(own, f"sqlite:///{tmp_path / 'own.sqlite'}")
    with open_app(own, now=NOW) as app:
        article = _new_article(app, "https://a.example/weak", NOW)
        _ingest(app, article, weak)
        with app.db.read() as session:
            decided = members.membership(session, app.stories[0].id, article)
            assert decided is not None
            assert decided.relation == "original"
            assert decided.match["thresholds"]["story"] == pytest.approx(threshold, abs=1e-4)


def test_appended_entries_of_any_id_and_version_read_back_exactly(db_url: str) -> None:
    """Entries of ids and versions over their whole range (bytes that are neither text nor
    small numbers) appended to shared buckets one transaction at a time read back as they were
    written: the database's concatenation keeps every byte (SQLite's || goes through text)."""
    rng = random.Random(5)
    versions = {(rng.randrange(1 << 40), rng.randrange(1 << lsh.VERSION_BITS)) for _ in range(60)}
    bands = [(0, 12345), (1, -(1 << 62))]
    db = open_database(db_url)
    try:
        with db.write() as session:
            story = stories.sync_story(session, slug="s", title="s", keywords=[], now=NOW)
            story_id = story.id
        for article_id, version in sorted(versions):
            with db.write() as session:
                lsh.add(session, story_id, article_id, version, bands)
        with db.read() as session:
            assert lsh.candidates(session, story_id, bands) == versions
            assert lsh.candidates(session, story_id, bands[1:]) == versions
            assert lsh.candidates(session, story_id, [(2, 12345)]) == set()
    finally:
        db.close()


def test_lock_holds_one_advisory_lock_per_key_until_commit(db_url: str) -> None:
    """On PostgreSQL lsh.lock holds a transaction-scoped advisory lock on every distinct key
    (extremes of the 64-bit range included) until the transaction ends, and a second transaction
    wanting one of them waits; on SQLite, whose writers are serial already, it is a no-op."""
    keys = [5, -5, 5, 1 << 62, -(1 << 63), (1 << 63) - 1, 0]
    held = text(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
    )
    db = open_database(db_url)
    try:
        with db.write() as session:
            lsh.lock(session, keys)
            if db.dialect != "postgresql":
                return
            assert session.scalar(held) == len(set(keys))
            with db.engine.connect() as other:
                other.exec_driver_sql("SET lock_timeout = '100ms'")
                with pytest.raises(OperationalError, match="lock timeout"):
                    other.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": 1 << 62})
                other.rollback()
                assert other.execute(text("SELECT pg_try_advisory_xact_lock(7)")).scalar()
        with db.read() as session:
            assert session.scalar(held) == 0
    finally:
        db.close()


def _second_writes_after_first(one: App, two: App, first: Callable[[], None]) -> None:
    """From now on, ``two``'s next write transaction starts only after ``first`` ran (and
    committed) in ``one``: what happens when two processes handle the same article at once and
    the other commits between this one's reads and its write."""
    write = two.db.write

    @contextlib.contextmanager
    def after_first() -> Iterator[Session]:
        two.db.write = write  # type: ignore[method-assign]
        first()
        with write() as session:
            yield session

    two.db.write = after_first  # type: ignore[method-assign]


def _versions(app: App, article_id: int) -> list[ArticleVersion]:
    with app.db.read() as session:
        return list(
            session.scalars(
                select(ArticleVersion)
                .where(ArticleVersion.article_id == article_id)
                .order_by(ArticleVersion.version)
            )
        )


def test_two_rechecks_of_one_change_store_one_version(db_url: str, tmp_path: Path) -> None:
    """Two processes re-check an article whose text changed (two feeds listed it as updated);
    the second to write saw the old version when it started, but the first committed the new one
    just before its write: the second finds the text already stored and adds no version."""
    config = _config(db_url, tmp_path)
    with open_app(config, now=NOW) as one, open_app(config, now=NOW) as two:
        article = _new_article(one, "https://a.example/deal", NOW)
        _ingest(one, article, _page())
        edited = _page()
        edited = dataclasses.replace(edited, text=edited.text + " Updated at 18:00 with reaction.")
        page = Page(url="https://a.example/deal", extracted=edited)
        with one.db.read() as session:
            row = articles.latest_version(session, article)
            assert row is not None and row.version == 1
            due = queue.DueArticle(article, "https://a.example/deal", None, "a", NOW, 0, None, None)

        def recheck(app: App) -> None:
            store_recheck(app, due, page, NOW, Indexes(app), RoundReport(now=NOW))

        _second_writes_after_first(one, two, lambda: recheck(one))
        recheck(two)
        versions = _versions(one, article)
        assert [v.version for v in versions] == [1, 2]
        assert versions[1].text == edited.text


def test_two_first_fetches_of_one_article_store_one_version(db_url: str, tmp_path: Path) -> None:
    """An article whose first fetch failed is re-checked by two processes at once and both read
    it: the one that writes second finds version 1 stored and records neither a second version
    nor a second decision."""
    config = _config(db_url, tmp_path)
    with open_app(config, now=NOW) as one, open_app(config, now=NOW) as two:
        article = _new_article(one, "https://a.example/deal", NOW)
        page = Page(url="https://a.example/deal", extracted=_page())
        due = queue.DueArticle(article, "https://a.example/deal", None, "a", NOW, 0, None, None)

        def recheck(app: App) -> None:
            store_recheck(app, due, page, NOW, Indexes(app), RoundReport(now=NOW))

        _second_writes_after_first(one, two, lambda: recheck(one))
        recheck(two)
        assert [v.version for v in _versions(one, article)] == [1]
        assert _relations(one)[article] == ("original", None)
        with one.db.read() as session:
            decisions = session.scalars(
                select(StoryArticle).where(StoryArticle.article_id == article)
            ).all()
        assert len(decisions) == 1
