"""Shared fixtures: the demo replay server on 127.0.0.1, configurations, database URLs.

``db_url`` runs a test on a fresh SQLite file and, through ``tests/postgres.py``, on a
throwaway PostgreSQL cluster started with initdb (as the ``postgres`` user when run as root).
Set MONITOR_TEST_POSTGRES=skip to leave PostgreSQL out on a machine without its binaries;
CI never sets it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from monitor import config as configmod
from monitor import demo
from monitor.demo.server import ReplayServer

REPO = Path(__file__).resolve().parent.parent
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
