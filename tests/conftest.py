"""Shared fixtures: the demo replay server on 127.0.0.1, configurations, database URLs.

``db_url`` runs a test on a fresh SQLite file and, through ``tests/postgres.py``, on a
throwaway PostgreSQL cluster started with initdb (as the ``postgres`` user when run as root).
Set MONITOR_TEST_POSTGRES=skip to leave PostgreSQL out on a machine without its binaries;
CI never sets it.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from monitor import config as configmod
from monitor import demo
from monitor.demo.server import ReplayServer
from tests.httpserver import Site, serve

REPO = Path(__file__).resolve().parent.parent

# Extraction in child processes ([poll] extract_processes, one per core by default) costs every
# app that polls about a second of CPU starting its children: the tests extract in the fetching
# threads unless they ask for processes (tests/test_extracting.py, and the commands run with a
# clean environment).
os.environ.setdefault("MONITOR_POLL_EXTRACT_PROCESSES", "0")
SHARED_DATA = REPO.parent / "shared" / "data"


def at(text: str) -> datetime:
    """An aware datetime from ISO 8601 text with an offset."""
    value = datetime.fromisoformat(text)
    assert value.tzinfo is not None
    return value


@pytest.fixture(scope="session")
def manifest() -> dict:
    return demo.manifest()


@pytest.fixture
def replay(manifest: dict) -> Iterator[ReplayServer]:
    """The demo story served on 127.0.0.1, starting at its first round."""
    with ReplayServer(demo.STORY, [r["name"] for r in manifest["round"]]) as server:
        yield server


@pytest.fixture
def http_server() -> Iterator[Site]:
    """An HTTP server on 127.0.0.1 with no routes yet (tests/httpserver.py), stopped after."""
    with serve() as site:
        yield site


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    if os.environ.get("MONITOR_TEST_POSTGRES") == "skip":
        pytest.skip("MONITOR_TEST_POSTGRES=skip")
    from tests.postgres import Cluster

    cluster = Cluster.start(tmp_path_factory.mktemp("pg"))
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty database of each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'monitor.sqlite'}"
    cluster = request.getfixturevalue("postgres_server")
    return cluster.new_database()  # type: ignore[attr-defined]


@pytest.fixture
def demo_config(replay: ReplayServer, manifest: dict, tmp_path: Path):
    """The demo's configuration against the replay server, with an SQLite file in tmp_path."""
    return demo.demo_config(replay.base, tmp_path, manifest)


def with_db(config: configmod.Config, url: str) -> configmod.Config:
    return config.replace(storage=configmod.StorageSettings(url=url))


# The keys GUIDE §3 promises in a story file (tests of the CLI and of storage check them).
STORY_ARTICLE_KEYS = frozenset({
    "url", "canonical_url", "title", "published_at", "first_seen_at", "relation", "copy_of",
    "similarity", "match", "versions",
})  # fmt: skip
STORY_VERSION_KEYS = frozenset({"version", "fetched_at", "title", "content_sha256", "changes"})
STORY_TIMELINE_KEYS = frozenset({"at", "outlet", "url", "event"})


def toml_value(value: object) -> str:
    """A TOML value for a string or a list of strings (JSON's form of them is valid TOML)."""
    return json.dumps(value, ensure_ascii=False)


def write_demo_config(
    path: Path, *, base: str, manifest: dict, db: Path, outbox: Path, extra: list[str] = ()
) -> Path:
    """A configuration file for the replay at ``base``: the SQLite file ``db``, the outbox,
    private networks allowed, one [[source]] per outlet and the demo story with its seeds;
    ``extra`` lines (whole sections) go before the sources."""
    lines = [
        "[storage]",
        f"url = {toml_value(f'sqlite:///{db}')}",
        "[fetch]",
        "allow_private_networks = true",
        "per_host_delay = 0",
        "[email]",
        f"outbox_dir = {toml_value(str(outbox))}",
        *extra,
        "",
    ]
    for outlet in manifest["outlet"]:
        lines += [
            "[[source]]",
            f"name = {toml_value(outlet['name'])}",
            f"url = {toml_value(base + outlet['feed'])}",
            f"interval = {toml_value(outlet['interval'])}",
            "",
        ]
    lines += [
        "[[story]]",
        f"slug = {toml_value(manifest['slug'])}",
        f"title = {toml_value(manifest['title'])}",
        f"seeds = {toml_value(str((demo.STORY / 'seeds').resolve()))}",
        f"keywords = {toml_value(manifest['keywords'])}",
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def hostile_story(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The hostile story of tests/hostile.py in an SQLite file: the file, and its story file
    built as the JSON export builds it (``story``) and as the HTML page does (``full``, with
    each version's text), both checked against the schema."""
    from storage import storyfile
    from storage.db import open_database
    from tests import hostile as fixture
    from tests.storyschema import checked

    path = tmp_path_factory.mktemp("hostile") / "monitor.sqlite"
    db = open_database(f"sqlite:///{path}")
    try:
        slug = fixture.write(db)
        with db.read() as session:
            story = checked(storyfile.build(session, slug))
            full = checked(storyfile.build(session, slug, texts=True))
    finally:
        db.close()
    return {"db": path, "slug": slug, "story": story, "full": full}


# The longest files (a quiet --durations=0 run of the whole suite, longest first). scripts/test
# keeps each file on one process (--dist loadfile) and hands files out in collection order:
# a long file handed out last ran on alone while the other process sat idle (20 s at the end of
# a run). Handed out first, the short files fill in around them. Files not named keep their order.
LONGEST_FIRST = (
    "test_race.py",
    "test_redecide.py",
    "test_labels.py",
    "test_digest_race.py",
    "test_cli.py",
    "test_faults.py",
    "test_extraction_gate.py",
    "test_facts_story.py",
    "test_copy_index.py",
    "test_export.py",
    "test_developing.py",
    "test_operator_faults.py",
    "test_matching_gate.py",
    "test_storyversions.py",
    "test_crash.py",
    "test_ops_daemon.py",
    "test_workers.py",
    "test_sources.py",
    "test_labels_gate.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable within a file
