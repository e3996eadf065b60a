"""The story stage's document frequencies kept in the database (storage.termstats): after real
rounds the table and its queue count exactly the newest text of every stored article, a fold
moves the queue into the table (once, whoever folds), a round reads only the terms it needs
instead of every text, and a new term definition recounts them at start."""

from __future__ import annotations

import threading
from collections import Counter

from sqlalchemy import delete, func, select

from monitor.app import open_app
from monitor.match import StoryIndex
from monitor.match import story as match_story
from monitor.poll.indexes import Indexes
from storage import articles, termstats
from storage.db import open_database
from storage.models import Meta, TermDf, TermDfQueued
from tests.conftest import at, with_db
from tests.test_pipeline import _run_rounds


def _stored(session, *, queue: bool = True) -> tuple[Counter[str], int]:
    """The table as it stands, and its queue unless not ``queue``: every term's document
    frequency, and the number of documents."""
    df: Counter[str] = Counter(dict(session.execute(select(TermDf.term, TermDf.df)).all()))
    if queue:
        for row in session.scalars(select(TermDfQueued)):
            df.update(t for t in row.added.split("\n") if t)
            df.subtract(t for t in row.removed.split("\n") if t)
            df[termstats.DOCS] += row.docs
    docs = df.pop(termstats.DOCS, 0)
    return Counter({t: n for t, n in df.items() if n}), docs  # a negative count stays to see


def assert_counts_match_the_texts(session) -> None:
    """The table and its queue count the newest text of every article, exactly; and lookups
    read them so."""
    expected, docs = _recounted(session)
    assert _stored(session) == (expected, docs)
    assert termstats.lookup(session, expected) == expected
    assert termstats.documents(session) == docs


def _recounted(session) -> tuple[Counter[str], int]:
    """The frequencies counted afresh from every article's newest stored text."""
    df: Counter[str] = Counter()
    texts = list(articles.latest_texts(session))
    for text in texts:
        df.update(match_story.document_terms(text))
    return df, len(texts)


def test_stored_frequencies_are_those_of_every_articles_newest_text(
    demo_config, replay, manifest, db_url
):
    """Three demo rounds (new articles, an edit, a removal, seeds) on SQLite and PostgreSQL:
    the table and its queue count each article once, by its newest version's terms, as the
    table alone does once the queue is folded; and an index built for a round gets the same
    term statistics as one fed every text."""
    config = with_db(demo_config, db_url)
    with open_app(config, now=at(manifest["round"][0]["now"])) as app:
        _run_rounds(app, replay, manifest)
        with app.db.read() as session:
            assert session.scalar(select(func.count()).select_from(TermDfQueued)) > 0
            assert_counts_match_the_texts(session)
            expected = _recounted(session)
        assert expected[1] > 10 and len(expected[0]) > 500
        story = app.stories[0]
        from_table = Indexes(app).get(story)
        from_texts = StoryIndex(app.match_settings, story.keywords)
        with app.db.read() as session:
            for text in articles.latest_texts(session):
                from_texts.add_background(text)
        # The round's index read only its members' terms, with the frequencies a full count
        # gives them.
        looked_up = from_table.terms_looked_up
        assert looked_up and len(looked_up) < len(expected[0])
        assert from_table.documents == from_texts.documents == expected[1]
        assert {t: from_table.document_frequency(t) for t in looked_up} == {
            t: from_texts.document_frequency(t) for t in looked_up
        }
        with app.db.write() as session:
            assert termstats.fold(session) > 0
        with app.db.read() as session:
            assert session.scalar(select(func.count()).select_from(TermDfQueued)) == 0
            assert _stored(session, queue=False) == expected
            assert_counts_match_the_texts(session)


def test_a_new_term_definition_recounts_at_start(demo_config, replay, manifest, tmp_path):
    """A database whose table was counted with another term definition (or never) is counted
    again, from the stored texts, when the application opens it."""
    with open_app(demo_config, now=at(manifest["round"][0]["now"])) as app:
        _run_rounds(app, replay, manifest, upto=2)
        with app.db.read() as session:
            expected = _recounted(session)
        with app.db.write() as session:
            session.execute(delete(TermDf))
            session.add(TermDf(term="stale", df=99))
            session.add(TermDfQueued(added="stale\nqueued", removed="", docs=1))
            session.get_one(Meta, termstats.MARKER).value = "0: an older definition"
    with (
        open_app(demo_config, now=at(manifest["round"][1]["now"])) as app,
        app.db.read() as session,
    ):
        assert _stored(session) == expected
        assert termstats.built_with(session) == match_story.TERMS_VERSION


def _queue_changes(db, changes) -> Counter[str]:
    """Queue each (added, removed, new document) in a transaction of its own, as stored
    versions do; returns what they add up to (``DOCS``: the documents)."""
    total: Counter[str] = Counter()
    for added, removed, new_doc in changes:
        with db.write() as session:
            termstats.apply(session, added, removed, new_doc=new_doc)
        total.update(added)
        total.subtract(removed)
        total[termstats.DOCS] += new_doc
    return total


def test_two_processes_folding_at_once_move_each_queued_row_once(db_url) -> None:
    """Two connections fold the same queue at the same moment, while lookups run beside them
    (SQLite and PostgreSQL): every row is moved by exactly one of them, and the table ends with
    exactly the counts queued, which a lookup gave before, during and after."""
    first, second = open_database(db_url), open_database(db_url)
    try:
        words = [f"w{i:03d}" for i in range(120)]
        changes = [(words[i % 40 : i % 40 + 60], [], True) for i in range(150)]
        changes += [(["late"], words[50:60], False) for _ in range(20)]  # each in all 150
        total = _queue_changes(first, changes)
        expected = {t: n for t, n in total.items() if t != termstats.DOCS and n}
        with first.read() as session:
            assert termstats.lookup(session, [*words, "late"]) == expected
        barrier = threading.Barrier(3)
        moved: list[int] = []
        seen: list[dict[str, int]] = []

        def fold(db) -> None:
            with db.write() as session:
                barrier.wait()
                moved.append(termstats.fold(session))

        def look() -> None:
            barrier.wait()
            for _ in range(20):
                with second.read() as session:
                    seen.append(termstats.lookup(session, [*words, "late"]))

        threads = [
            threading.Thread(target=f, args=a)
            for f, a in ((fold, (first,)), (fold, (second,)), (look, ()))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert sorted(moved) == [0, len(changes)]
        assert all(s == expected for s in seen)
        with first.read() as session:
            assert session.scalar(select(func.count()).select_from(TermDfQueued)) == 0
            assert _stored(session) == (Counter(expected), total[termstats.DOCS])
            assert termstats.lookup(session, [*words, "late"]) == expected
            assert termstats.documents(session) == 150
    finally:
        first.close()
        second.close()


def test_a_database_replaced_at_the_same_url_is_counted_as_it_is(tmp_path) -> None:
    """A process remembers the queued rows it has read, by id; a new database file at the same
    path numbers its rows afresh, and its counts are its own, not the old file's."""
    url = f"sqlite:///{tmp_path / 'archive.db'}"
    db = open_database(url)
    try:
        _queue_changes(db, [(["old", "gone"], [], True), (["old"], [], True)])
        with db.read() as session:
            assert termstats.lookup(session, ["old", "gone", "new"]) == {"old": 2, "gone": 1}
    finally:
        db.close()
    (tmp_path / "archive.db").unlink()
    db = open_database(url)
    try:
        _queue_changes(db, [(["new"], [], True)])
        with db.read() as session:
            assert termstats.lookup(session, ["old", "gone", "new"]) == {"new": 1}
            assert termstats.documents(session) == 1
    finally:
        db.close()


def test_a_round_folds_the_queue_once_it_is_long_enough(
    demo_config, replay, manifest, monkeypatch
) -> None:
    """With a fold due every 4 queued rows, the demo's rounds fold as they go: the queue never
    ends longer than a fold and the article in hand, the table holds the rest, and together they
    count every article's newest text exactly."""
    monkeypatch.setattr(termstats, "FOLD_AT", 4)
    with open_app(demo_config, now=at(manifest["round"][0]["now"])) as app:
        _run_rounds(app, replay, manifest)
        with app.db.read() as session:
            queued = session.scalar(select(func.count()).select_from(TermDfQueued))
            assert queued <= 5
            table, docs = _stored(session, queue=False)
            assert docs >= 8 and len(table) > 300
            assert_counts_match_the_texts(session)


def test_a_fold_is_due_after_enough_rows_written_even_with_no_lookup(tmp_path) -> None:
    """Rows this process queued count toward a fold before any lookup reads the queue (a
    round of articles with no new term reads none), and a fold makes it not due."""
    db = open_database(f"sqlite:///{tmp_path / 'archive.db'}")
    try:
        _queue_changes(db, [(["a"], [], True)] * (termstats.FOLD_AT - 1))
        assert not termstats.due(db.engine.url)
        _queue_changes(db, [(["b"], [], True)])
        assert termstats.due(db.engine.url)
        with db.write() as session:
            assert termstats.fold(session) == termstats.FOLD_AT
        assert not termstats.due(db.engine.url)
        with db.read() as session:
            assert termstats.lookup(session, ["a", "b"]) == {"a": termstats.FOLD_AT - 1, "b": 1}
    finally:
        db.close()
