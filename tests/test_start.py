"""Any number of processes may start at once on an empty database (storage.db.start_lock): one
migrates and brings the configuration in, the others wait and find it done. Without the lock,
SQLite answered "database is locked" and PostgreSQL "relation already exists"."""

from __future__ import annotations

import multiprocessing
import sys
import traceback
from pathlib import Path

import pytest
from sqlalchemy import func, select

from monitor import config as configmod
from monitor.app import open_app
from storage.db import DatabaseError, open_database
from storage.models import Article, Source, Story
from tests.newsroom import Newsroom, round_time

PROCESSES = 4


def _start(config_path: str, barrier: object) -> None:
    """One process starting: wait for the others, then open the app (migrate, sync)."""
    config = configmod.load(config_path)
    barrier.wait()  # type: ignore[attr-defined]
    try:
        open_app(config, now=round_time(0)).close()
    except BaseException:
        traceback.print_exc()
        sys.exit(1)


def test_a_lock_file_that_cannot_be_opened_is_one_error_naming_the_database(
    tmp_path: Path,
) -> None:
    """The start lock's file beside an SQLite database cannot be made (here a folder holds its
    name): opening fails with a DatabaseError naming the database, not an OSError."""
    (tmp_path / "m.sqlite.lock").mkdir()
    with pytest.raises(DatabaseError, match=r"m\.sqlite: cannot open: .*m\.sqlite\.lock"):
        open_database(f"sqlite:///{tmp_path / 'm.sqlite'}")


def test_processes_starting_at_once_on_an_empty_database_all_start(
    db_url: str, tmp_path: Path
) -> None:
    """Four processes opening one new database at the same moment all start, and the database
    holds each source, story and seed once."""
    newsroom = Newsroom(5)
    path = newsroom.write_config(tmp_path / "m.toml", "http://127.0.0.1:9", db_url, tmp_path / "s")
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(PROCESSES)
    procs = [ctx.Process(target=_start, args=(str(path), barrier)) for _ in range(PROCESSES)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0] * PROCESSES
    db = open_database(db_url, migrate=False)
    try:
        with db.read() as session:
            counts = [
                session.scalar(select(func.count()).select_from(t))
                for t in (Source, Story, Article)
            ]
    finally:
        db.close()
    assert counts == [5, 1, 1]
