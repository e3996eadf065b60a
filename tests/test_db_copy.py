"""Moving an archive: ``storage.archive.copy_archive`` on real SQLite files and the suite's
PostgreSQL, and ``monitor db copy`` and ``monitor db upgrade`` through the real command."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import insert, text

from storage import archive, schema, storyfile
from storage.db import alembic_config, open_database
from storage.models import Source
from tests.storyschema import checked

LEAVES = ("story_events", "story_articles", "entries")  # tables no other table refers to


def _story(url: str, slug: str) -> dict:
    db = open_database(url, migrate=False)
    try:
        with db.read() as session:
            return checked(storyfile.build(session, slug, texts=True))
    finally:
        db.close()


def test_a_copy_keeps_every_row_id_and_the_story_file(hostile_story, db_url):
    """Copying an archive into an empty database of each backend gives the same story file
    (texts included), the same rows in every table, and ids that new rows do not reuse."""
    source = open_database(f"sqlite:///{hostile_story['db']}", migrate=False)
    target = open_database(db_url)
    seen = []
    try:
        counts = archive.copy_archive(source, target, progress=seen.append)
        with target.write() as session:
            new_id = session.execute(
                insert(Source).returning(Source.id),
                [{"url": "https://new.example/feed", "name": "n", "domain": "new.example",
                  "interval_s": 60.0, "next_check_at": _now(), "created_at": _now()}],
            ).scalar_one()  # fmt: skip
    finally:
        source.close()
        target.close()
    assert {c.table for c in counts} == {t.name for t in archive.tables()}
    assert all(c.source == c.target for c in counts)
    assert sum(c.target for c in counts) > 0
    assert {p.table for p in seen if p.done == p.total} == {c.table for c in counts}
    sources = next(c for c in counts if c.table == "sources")
    assert new_id > sources.source  # ids run from 1 in the fixture: the sequence moved past them
    assert _story(db_url, hostile_story["slug"]) == hostile_story["full"]


def _now():
    from datetime import UTC, datetime

    return datetime(2030, 1, 1, tzinfo=UTC)


def test_a_non_empty_target_is_refused_and_left_alone(hostile_story, tmp_path):
    """A second copy into the same target is refused before it writes anything."""
    source = open_database(f"sqlite:///{hostile_story['db']}", migrate=False)
    target = open_database(f"sqlite:///{tmp_path / 'target.sqlite'}")
    try:
        archive.copy_archive(source, target)
        before = archive.target_rows(target)
        with pytest.raises(archive.TargetNotEmpty, match="the target is not empty: "):
            archive.copy_archive(source, target)
        assert archive.target_rows(target) == before
    finally:
        source.close()
        target.close()


def test_resume_finishes_an_interrupted_copy(hostile_story, db_url):
    """A target whose last tables are empty (a copy stopped between tables) is finished by
    resume, which skips the complete tables; a table left partly filled is refused by name."""
    source = open_database(f"sqlite:///{hostile_story['db']}", migrate=False)
    target = open_database(db_url)
    try:
        archive.copy_archive(source, target)
        with target.engine.begin() as connection:
            for table in LEAVES:
                connection.execute(text(f"DELETE FROM {table}"))
        seen = []
        counts = archive.copy_archive(source, target, resume=True, progress=seen.append)
        assert all(c.source == c.target for c in counts)
        copied = {p.table for p in seen if not p.skipped}
        rows = archive.target_rows(target)
        # The emptied tables, and tables empty on both sides (nothing to skip, nothing to copy).
        assert set(LEAVES) <= copied
        assert all(rows[name] == 0 for name in copied - set(LEAVES))
        assert {p.table for p in seen if p.skipped} >= {"articles", "stories"}
        with target.engine.begin() as connection:
            last = "(SELECT MAX(id) FROM story_events)"
            connection.execute(text(f"DELETE FROM story_events WHERE id = {last}"))
        with pytest.raises(archive.ArchiveCopyError, match=r"^story_events: \d+ of \d+ rows"):
            archive.copy_archive(source, target, resume=True)
    finally:
        source.close()
        target.close()
    assert _story(db_url, hostile_story["slug"])["story"] == hostile_story["slug"]


# --- the commands ------------------------------------------------------------------------------


def _monitor(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None):
    base = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**base, **(env or {})},
        cwd=cwd,
    )


@pytest.mark.slow
@pytest.mark.postgres
def test_db_copy_moves_the_demo_archive_to_postgresql(tmp_path, postgres_server):
    """The demo's SQLite archive, copied by `monitor db copy` into PostgreSQL, exports the same
    story file (JSON and Markdown) as before; the copy prints each table's count, a second copy
    is refused with one line and exit 2, and --resume over the complete copy changes nothing."""
    demo = _monitor("demo", "--out", str(tmp_path / "demo"), cwd=tmp_path)
    assert demo.returncode == 0, demo.stderr
    config = tmp_path / "demo" / "monitor.toml"
    sqlite_url = f"sqlite:///{tmp_path / 'demo' / 'demo.sqlite'}"
    pg_url = postgres_server.new_database()
    slug = "roxham-road-demo"

    copy = _monitor("db", "copy", "--from", sqlite_url, "--to", pg_url)
    assert copy.returncode == 0, copy.stderr
    # Every table of the schema (13 since migration 0011's story_labels).
    tables = len(archive.tables())
    assert copy.stdout.splitlines()[-1].startswith(f"copied and counted: {tables} tables, ")
    assert "monitor db copy: articles: 0/" in copy.stderr
    for fmt in ("json", "md"):
        before = _monitor("--config", str(config), "story", "export", slug, "--format", fmt)
        after = _monitor(
            "--config", str(config), "story", "export", slug, "--format", fmt,
            env={"MONITOR_STORAGE_URL": pg_url},
        )  # fmt: skip
        assert before.returncode == after.returncode == 0, after.stderr
        assert after.stdout == before.stdout
        if fmt == "json":
            assert json.loads(after.stdout)["story"] == slug

    again = _monitor("db", "copy", "--from", sqlite_url, "--to", pg_url)
    assert again.returncode == 2
    assert again.stderr.strip().startswith(f"monitor: error: --to {pg_url}: the target is not")
    assert len(again.stderr.strip().splitlines()) == 1
    resumed = _monitor("db", "copy", "--from", sqlite_url, "--to", pg_url, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert "articles: " in resumed.stderr and "skipped" in resumed.stderr


@pytest.mark.slow
def test_db_copy_refuses_a_missing_source_without_creating_it(tmp_path):
    """A mistyped --from SQLite path is one line, exit 2, and no file or folder appears."""
    missing = tmp_path / "nowhere" / "archive.sqlite"
    result = _monitor(
        "db", "copy", "--from", f"sqlite:///{missing}", "--to", f"sqlite:///{tmp_path / 'b.db'}"
    )
    assert result.returncode == 2
    assert result.stderr == f"monitor: error: --from {missing}: no such SQLite file\n"
    assert not missing.parent.exists()


@pytest.mark.slow
def test_db_upgrade_applies_and_names_the_missing_migrations(tmp_path):
    """`monitor db upgrade` on a database two migrations behind applies them and prints each;
    run again, it says there is nothing to apply."""
    url = f"sqlite:///{tmp_path / 'old.sqlite'}"
    db = open_database(url)
    behind = [m.revision for m in schema.pending(None)][-3]
    command.downgrade(alembic_config(db.engine), behind)
    db.close()
    assert schema.revision_of(url) == behind
    todo = schema.pending(behind)
    assert len(todo) == 2

    first = _monitor("db", "upgrade", "--url", url)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        f"{url}: applied 2 migrations:",
        *(f"  {m.revision}  {m.title}" for m in todo),
        f"now at {schema.head()}, the newest",
    ]
    assert schema.revision_of(url) == schema.head()
    second = _monitor("db", "upgrade", "--url", url)
    assert second.stdout == f"{url}: at {schema.head()}, the newest migration: nothing to apply\n"


def _main(capsys, *args: str) -> tuple[int, str, str]:
    from monitor.cli import main

    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_db_commands_answer_mistakes_in_one_line(tmp_path, capsys, monkeypatch):
    """A malformed URL is exit 2; a database migrated by a newer news-monitor, or a source
    behind the code's schema, is exit 1; each says so in one line naming the option."""
    monkeypatch.delenv("MONITOR_CONFIG", raising=False)
    code, _, err = _main(capsys, "db", "copy", "--from", "nonsense", "--to", "sqlite://")
    assert (code, err) == (2, "monitor: error: not a database URL: 'nonsense'\n")

    newer = tmp_path / "newer.sqlite"
    db = open_database(f"sqlite:///{newer}")
    with db.engine.begin() as connection:
        connection.exec_driver_sql("UPDATE alembic_version SET version_num = '9999'")
    db.close()
    code, _, err = _main(capsys, "db", "upgrade", "--url", f"sqlite:///{newer}")
    assert code == 1
    assert err == (
        f"monitor: error: --url sqlite:///{newer}: schema at 9999, newer than this version of "
        f"news-monitor knows (its newest is {schema.head()}): upgrade news-monitor\n"
    )

    old = tmp_path / "old.sqlite"
    db = open_database(f"sqlite:///{old}")
    command.downgrade(alembic_config(db.engine), schema.pending(None)[-2].revision)
    db.close()
    target = f"sqlite:///{tmp_path / 'target.sqlite'}"
    code, _, err = _main(capsys, "db", "copy", "--from", f"sqlite:///{old}", "--to", target)
    assert code == 1
    assert err.startswith(f"monitor: error: --from sqlite:///{old}: schema behind the code's")
    assert err.count("\n") == 1


def test_db_copy_in_process_prints_the_counts(hostile_story, tmp_path, capsys, monkeypatch):
    """`monitor db copy` prints one line per table with its rows and a last line of totals;
    progress goes to standard error."""
    monkeypatch.delenv("MONITOR_CONFIG", raising=False)
    source = f"sqlite:///{hostile_story['db']}"
    target = f"sqlite:///{tmp_path / 'copy.sqlite'}"
    code, out, err = _main(capsys, "db", "copy", "--from", source, "--to", target)
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == len(archive.tables()) + 1
    assert lines[-1].startswith(f"copied and counted: {len(archive.tables())} tables, ")
    assert all(line.startswith("monitor db copy: ") for line in err.splitlines())
