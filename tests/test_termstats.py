"""The story stage's document frequencies kept in the database (storage.termstats): after real
rounds they are exactly those of the newest text of every stored article, a round reads only the
terms it needs instead of every text, and a new term definition recounts them at start."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import delete, select

from monitor.app import open_app
from monitor.match import StoryIndex
from monitor.match import story as match_story
from monitor.poll.indexes import Indexes
from storage import articles, termstats
from storage.models import Meta, TermDf
from tests.conftest import at, with_db
from tests.test_pipeline import _run_rounds


def _stored(session) -> tuple[Counter[str], int]:
    """The table as it stands: every term's document frequency, and the number of documents."""
    df: Counter[str] = Counter()
    docs = 0
    for term, count in session.execute(select(TermDf.term, TermDf.df)):
        if term == termstats.DOCS:
            docs = count
        elif count > 0:
            df[term] = count
    return df, docs


def _recounted(app) -> tuple[Counter[str], int]:
    """The frequencies counted afresh from every article's newest stored text."""
    df: Counter[str] = Counter()
    with app.db.read() as session:
        texts = list(articles.latest_texts(session))
    for text in texts:
        df.update(match_story.document_terms(text))
    return df, len(texts)


def test_stored_frequencies_are_those_of_every_articles_newest_text(
    demo_config, replay, manifest, db_url
):
    """Three demo rounds (new articles, an edit, a removal, seeds) on SQLite and PostgreSQL:
    the table counts each article once, by its newest version's terms, and an index built for
    a round gets the same term statistics as one fed every text."""
    config = with_db(demo_config, db_url)
    with open_app(config, now=at(manifest["round"][0]["now"])) as app:
        _run_rounds(app, replay, manifest)
        with app.db.read() as session:
            stored = _stored(session)
        expected = _recounted(app)
        assert stored == expected
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


def test_a_new_term_definition_recounts_at_start(demo_config, replay, manifest, tmp_path):
    """A database whose table was counted with another term definition (or never) is counted
    again, from the stored texts, when the application opens it."""
    with open_app(demo_config, now=at(manifest["round"][0]["now"])) as app:
        _run_rounds(app, replay, manifest, upto=2)
        expected = _recounted(app)
        with app.db.write() as session:
            session.execute(delete(TermDf))
            session.add(TermDf(term="stale", df=99))
            session.get_one(Meta, termstats.MARKER).value = "0: an older definition"
    with (
        open_app(demo_config, now=at(manifest["round"][1]["now"])) as app,
        app.db.read() as session,
    ):
        assert _stored(session) == expected
        assert termstats.built_with(session) == match_story.TERMS_VERSION
