"""``storage.storyfile.build`` at scale: a fixed number of queries whatever the story's size, so
that exporting a large story never turns into a query per article or per version (what made the
5,000-article export slow; benchmarks/storyfile_export.py times it)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event

from benchmarks.storyfile_export import SLUG, populate
from storage import storyfile
from storage.db import open_database
from tests.storyschema import checked


def _queries(path: Path, articles: int, versions: int, *, texts: bool) -> tuple[int, dict]:
    db = open_database(f"sqlite:///{path}")
    try:
        populate(db, n_articles=articles, n_versions=versions)
        statements: list[str] = []
        event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        with db.read() as session:
            story = checked(storyfile.build(session, SLUG, texts=texts))
        return len([s for s in statements if s.lstrip().upper().startswith("SELECT")]), story
    finally:
        db.close()


def test_the_build_makes_as_many_queries_for_a_large_story_as_for_a_small_one(tmp_path):
    """A story of 60 articles and 150 versions is built with the same number of SELECTs as
    one of 3 articles and 6 versions, with and without the texts, and carries them all."""
    for texts in (False, True):
        small, _ = _queries(tmp_path / f"small-{texts}.sqlite", 3, 6, texts=texts)
        large, story = _queries(tmp_path / f"large-{texts}.sqlite", 60, 150, texts=texts)
        assert small == large, (texts, small, large)
        found = [v for o in story["outlets"] for a in o["articles"] for v in a["versions"]]
        assert len(found) == 150
        assert all(("text" in v) == texts for v in found)
