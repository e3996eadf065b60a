"""The pre-filled archive benchmarks/ingest.py measures the poll against
(benchmarks/ingest_archive.py): if it rotted, the archive and story-size figures would measure
an empty database without saying so."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from benchmarks.ingest_archive import NOW, build, write_config
from monitor import config as configmod
from monitor.app import open_app
from storage import members
from storage.models import Article, StoryArticle


def test_prefilled_archive_holds_the_articles_and_members_asked(tmp_path: Path) -> None:
    """The builder's database opens in the app with exactly the archived articles and members
    asked for beside the story's seeds, and the matcher's member query loads every member with
    its text."""
    config = configmod.load(write_config(tmp_path, port=9))
    build(config, archived=40, members=7, now=NOW)
    with open_app(config, now=NOW) as app, app.db.read() as session:
        (story,) = app.stories
        seeds = session.scalar(
            select(func.count()).select_from(StoryArticle).where(StoryArticle.relation == "seed")
        )
        articles = session.scalar(select(func.count()).select_from(Article))
        loaded = members.story_members(session, story.id)
    assert seeds
    assert articles == 40 + 7 + seeds
    assert len(loaded) == 7 + seeds
    assert all(m.texts and m.texts[0].strip() for m in loaded)
