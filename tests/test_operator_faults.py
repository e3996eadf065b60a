"""Operator faults (issue 15): every mistake in the configuration, and every fault of the machine
(a corrupt database, a full disk, a read-only outbox), is one line naming the file, setting or
path, with exit code 2 (configuration) or 1 (run time), never a traceback.

The commands run for real (``python -m monitor`` in a subprocess) on real SQLite files. A full
disk is a real one where the test may mount a tiny tmpfs (root with CAP_SYS_ADMIN, as on the
developers' machines and CI), and everywhere SQLite's own ``PRAGMA max_page_count`` set on
every connection by a wrapper around the real entry point. A read-only outbox is a tmpfs
mounted read-only (as root, ``chmod`` does not stop writes: root ignores permission bits), and
everywhere an outbox whose parent is a regular file.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from monitor import config as configmod
from monitor.errors import ConfigError
from storage.db import open_database
from storage.errors import DatabaseError
from tests.conftest import REPO, write_demo_config

ROUND_1 = "2023-03-23T18:00:00+00:00"


def run(*args: str, cwd: Path, env: dict[str, str] | None = None, python: tuple[str, ...] = ()):
    """``python -m monitor ARGS`` (or ``python PYTHON... ARGS``) in ``cwd`` with only ``env``'s
    MONITOR_* variables."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    clean["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), clean.get("PYTHONPATH")]))
    clean.update(env or {})
    command = [sys.executable, *(python or ("-m", "monitor")), *args]
    return subprocess.run(command, cwd=cwd, env=clean, capture_output=True, text=True, timeout=120)


def one_line(proc: subprocess.CompletedProcess, code: int) -> str:
    """The command exited ``code`` and its standard error's last line is its one error line,
    with no traceback anywhere."""
    shown = f"{proc.args[1:]} -> {proc.returncode}\n{proc.stdout[-1000:]}\n{proc.stderr[-3000:]}"
    assert proc.returncode == code, shown
    assert "Traceback" not in proc.stderr, shown
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("monitor: error: "), shown
    return last


def archive(path: Path) -> str:
    """An SQLite archive at ``path``, migrated and empty; its URL."""
    url = f"sqlite:///{path}"
    open_database(url).close()
    return url


# --- configuration: exit 2 -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("file", "option", "env", "names"),
    [
        ('[log]\nlevel = "loud"\n', (), {}, "[log] level: expected debug, info, warning or error"),
        ("", ("--log-level", "loud"), {}, "--log-level: expected debug, info, warning or error"),
        ("", (), {"MONITOR_LOG_LEVEL": "loud"}, "environment MONITOR_LOG_LEVEL: expected debug"),
        ('[log]\nformat = "xml"\n', (), {}, "[log] format: expected json or text, got 'xml'"),
        ("", (), {"MONITOR_LOG_FORMAT": "xml"}, "environment MONITOR_LOG_FORMAT: expected json"),
        (
            '[[source]]\nurl = "https://example.org/a feed.xml"\n',
            (),
            {},
            "[[source]] #1: url: contains whitespace or a control character",
        ),
        (
            "",
            (),
            {"MONITOR_POLL_BATCHSIZE": "5"},
            "environment MONITOR_POLL_BATCHSIZE: unknown setting (did you mean "
            "MONITOR_POLL_BATCH_SIZE?)",
        ),
        ("", (), {"MONITOR_STORAGE_URL": "nope://x"}, "environment MONITOR_STORAGE_URL: no driver"),
        (
            '[storage]\nurl = "postgresql://u:hunter2@[::1/db"\n',
            (),
            {},
            "[storage] url: not a database URL",
        ),
    ],
    ids=[
        "level-file",
        "level-option",
        "level-env",
        "format-file",
        "format-env",
        "source-url-space",
        "unknown-variable",
        "url-no-driver",
        "url-unparsable",
    ],
)
def test_a_configuration_mistake_is_one_line_naming_it_and_exits_2(
    tmp_path: Path, file: str, option: tuple[str, ...], env: dict[str, str], names: str
) -> None:
    """Each mistake of issue 15's list, in the file, the option or the environment: exit 2,
    one line naming where it was made and what is wrong, no password repeated, nothing made."""
    config = tmp_path / "monitor.toml"
    config.write_text(file, encoding="utf-8")
    proc = run(*option, "--config", str(config), "poll", cwd=tmp_path, env=env)
    line = one_line(proc, 2)
    assert names in line, line
    assert "hunter2" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["monitor.toml"]


@pytest.mark.parametrize(
    "command",
    [
        ("story", "list"),
        ("story", "export", "roxham-road"),
        ("story", "facts", "roxham-road"),
        ("search", "Roxham"),
        ("explain", "https://example.org/a"),
    ],
    ids=lambda c: " ".join(c[:2]),
)
def test_a_mistyped_sqlite_path_on_a_read_command_creates_nothing(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    """A command that only reads, given an SQLite path that does not exist: exit 2, one line
    naming the variable and the path, and neither the file nor its folders are created."""
    env = {"MONITOR_STORAGE_URL": "sqlite:///archve/typo.sqlite"}
    line = one_line(run(*command, cwd=tmp_path, env=env), 2)
    assert line.startswith("monitor: error: environment MONITOR_STORAGE_URL: archve/typo.sqlite:")
    assert "no such database file" in line
    assert list(tmp_path.iterdir()) == []


def test_sources_with_no_archive_lists_the_configuration_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``monitor sources`` before the first poll (or with a mistyped path) lists the configured
    sources as never polled, says on stderr that there is no archive at that path, and leaves
    the folder as it was: no file, no folder, no lock."""
    from monitor.cli import main

    cfg = tmp_path / "c.toml"
    cfg.write_text(
        '[storage]\nurl = "sqlite:///archve/typo.sqlite"\n'
        '[[source]]\nurl = "https://example.org/feed.xml"\n'
        '[[source]]\nurl = "https://news.example.net/rss"\nname = "Example News"\n',
        encoding="utf-8",
    )
    monkeypatch.chdir(tmp_path)
    assert main(["--config", str(cfg), "sources", "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert [(s["name"], s["url"], s["state"]) for s in json.loads(out)] == [
        ("example.org", "https://example.org/feed.xml", "new"),
        ("Example News", "https://news.example.net/rss", "new"),
    ]
    assert "archve/typo.sqlite: no archive yet" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.toml"]


def test_a_read_command_reads_an_existing_archive(tmp_path: Path) -> None:
    """The check is only for a missing file: an existing empty archive lists no story. An
    archive already at the newest schema is read without taking the start lock, so no
    ``m.sqlite.lock`` appears beside it."""
    env = {"MONITOR_STORAGE_URL": archive(tmp_path / "m.sqlite")}
    (tmp_path / "m.sqlite.lock").unlink()  # the one creating the archive made it
    proc = run("story", "list", "--json", cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() in ("", "[]")
    assert not (tmp_path / "m.sqlite.lock").exists()


def test_a_database_folder_that_cannot_be_made_is_one_line(tmp_path: Path) -> None:
    """An SQLite path under a regular file (its folder cannot exist) exits 2 naming it."""
    (tmp_path / "notes.txt").write_text("not a folder", encoding="utf-8")
    env = {"MONITOR_STORAGE_URL": "sqlite:///notes.txt/monitor.sqlite"}
    line = one_line(run("poll", cwd=tmp_path, env=env), 2)
    assert "notes.txt/monitor.sqlite: cannot make its folder notes.txt" in line


# --- secrets from files ----------------------------------------------------------------------


def test_a_secret_is_read_from_the_file_its_file_variable_names(tmp_path: Path) -> None:
    """MONITOR_EMAIL_SMTP_PASSWORD_FILE and MONITOR_STORAGE_URL_FILE give their settings the
    file's text, less its final line break; the origin named in messages is the variable."""
    (tmp_path / "smtp").write_text("s3cret pass\n", encoding="utf-8")
    (tmp_path / "db").write_text("postgresql+psycopg://monitor@db/monitor", encoding="utf-8")
    env = {
        "MONITOR_EMAIL_SMTP_PASSWORD_FILE": str(tmp_path / "smtp"),
        "MONITOR_STORAGE_URL_FILE": str(tmp_path / "db"),
    }
    cfg = configmod.load(None, env=env)
    assert cfg.email.smtp_password == "s3cret pass"
    assert cfg.storage.url == "postgresql+psycopg://monitor@db/monitor"
    assert cfg.where("storage", "url") == "environment MONITOR_STORAGE_URL_FILE"
    assert cfg.where("storage", "password") == "<defaults>: [storage] password"


@pytest.mark.parametrize(
    ("env", "says"),
    [
        (
            {"MONITOR_EMAIL_SMTP_PASSWORD_FILE": "/nonexistent/smtp"},
            "environment MONITOR_EMAIL_SMTP_PASSWORD_FILE: cannot read /nonexistent/smtp: "
            "No such file or directory",
        ),
        (
            {"MONITOR_STORAGE_PASSWORD": "a", "MONITOR_STORAGE_PASSWORD_FILE": "/run/secrets/db"},
            "environment MONITOR_STORAGE_PASSWORD and MONITOR_STORAGE_PASSWORD_FILE: set one",
        ),
        (
            {"MONITOR_LOG_LEVEL_FILE": "/run/secrets/level"},
            "environment MONITOR_LOG_LEVEL_FILE: unknown setting",
        ),
    ],
    ids=["unreadable", "both", "not-a-secret"],
)
def test_a_secret_file_mistake_is_a_config_error(env: dict[str, str], says: str) -> None:
    """An unreadable secret file, a secret given twice, or _FILE on a setting that is no
    secret: one ConfigError line naming the variable."""
    with pytest.raises(ConfigError) as caught:
        configmod.load(None, env=env)
    assert str(caught.value).startswith(says), caught.value


def test_every_monitor_variable_the_code_reads_is_accepted() -> None:
    """Every setting's variable, every secret's _FILE variable and MONITOR_CONFIG load; the
    test suite's own MONITOR_TEST_* are left alone."""
    names = configmod.variables()
    assert "MONITOR_EMAIL_SMTP_PASSWORD_FILE" in names and "MONITOR_CONFIG" in names
    assert "MONITOR_LOG_LEVEL_FILE" not in names
    configmod.check_environment(dict.fromkeys(names, "") | {"MONITOR_TEST_POSTGRES": "skip"})


# --- storage faults: exit 1 ------------------------------------------------------------------


def test_a_file_that_is_not_a_database_is_one_line_exit_1(tmp_path: Path) -> None:
    """An archive overwritten with text: exit 1, one line naming the file."""
    (tmp_path / "m.sqlite").write_bytes(b"this is not an SQLite file\n" * 200)
    env = {"MONITOR_STORAGE_URL": "sqlite:///m.sqlite"}
    line = one_line(run("story", "list", cwd=tmp_path, env=env), 1)
    assert line == (
        "monitor: error: environment MONITOR_STORAGE_URL: m.sqlite: file is not a database"
    )


def _corrupt_table(path: Path, table: str) -> None:
    """Overwrite the root pages of ``table`` and its indexes in the SQLite file with garbage
    (the WAL folded in first, so the main file is the whole database)."""
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA journal_mode=DELETE")
        page_size = db.execute("PRAGMA page_size").fetchone()[0]
        roots = db.execute(
            "SELECT rootpage FROM sqlite_master WHERE tbl_name = ? AND rootpage > 0", (table,)
        ).fetchall()
    assert roots
    with path.open("r+b") as file:
        for (root,) in roots:
            file.seek((root - 1) * page_size)
            file.write(b"\xff" * page_size)


def test_a_corrupt_page_is_one_line_exit_1(tmp_path: Path) -> None:
    """An archive whose stories table has a corrupt page opens (its migrations table is
    intact), and the query that reads the page fails: exit 1, one line naming the file."""
    archive(tmp_path / "m.sqlite")
    _corrupt_table(tmp_path / "m.sqlite", "stories")
    env = {"MONITOR_STORAGE_URL": "sqlite:///m.sqlite"}
    line = one_line(run("story", "list", cwd=tmp_path, env=env), 1)
    assert line == "monitor: error: m.sqlite: database disk image is malformed"


def test_a_full_database_in_a_write_session_is_a_database_error(tmp_path: Path) -> None:
    """SQLite's SQLITE_FULL in a write transaction (max_page_count reached) is a DatabaseError
    naming the file, and the transaction is rolled back."""
    db = open_database(archive(tmp_path / "m.sqlite"))
    try:
        with db.engine.connect() as conn:
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar()
        from sqlalchemy import event, text

        @event.listens_for(db.engine, "connect")
        def _cap(dbapi_conn, _record) -> None:
            dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")

        db.engine.dispose()  # the pool's connections are made again, with the cap
        with pytest.raises(DatabaseError) as caught, db.write() as session:
            session.execute(text("CREATE TABLE filler (x BLOB)"))
            session.execute(text("INSERT INTO filler VALUES (zeroblob(1000000))"))
        assert str(caught.value) == f"{tmp_path / 'm.sqlite'}: database or disk is full"
        with db.read() as session:
            assert (
                session.execute(
                    text("SELECT count(*) FROM sqlite_master WHERE name = 'filler'")
                ).scalar()
                == 0
            )
    finally:
        db.close()


# The real entry point with every SQLite connection capped at its size when opened plus a few
# pages: the poll's first writes fill the "disk".
CAPPED = """
import sys
from sqlalchemy import event
from sqlalchemy.engine import Engine

@event.listens_for(Engine, "connect")
def cap(dbapi_conn, _record):
    pages = dbapi_conn.execute("PRAGMA page_count").fetchone()[0]
    dbapi_conn.execute(f"PRAGMA max_page_count = {pages + 4}")

from monitor.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_poll_on_a_full_database_is_one_line_exit_1(tmp_path: Path, replay, manifest) -> None:
    """``monitor poll`` of the demo's first round into an archive that can grow by only four
    pages: exit 1, one line saying the database is full and naming it."""
    db = tmp_path / "m.sqlite"
    archive(db)
    config = write_demo_config(
        tmp_path / "c.toml", base=replay.base, manifest=manifest, db=db, outbox=tmp_path / "out"
    )
    proc = run(
        "--config", str(config), "poll", "--now", ROUND_1, cwd=tmp_path, python=("-c", CAPPED)
    )
    assert one_line(proc, 1) == f"monitor: error: {db}: database or disk is full"


@contextlib.contextmanager
def mounted(at: Path, options: str) -> Iterator[Path]:
    """A tmpfs mounted at ``at`` with ``options``; the test is skipped where mounting is not
    allowed (not root, or no CAP_SYS_ADMIN)."""
    at.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(at)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield at
    finally:
        subprocess.run(["umount", str(at)], check=True)


def _fill(folder: Path, *, leave: int) -> None:
    """Write zeros into ``folder`` until its file system says it is full, then give back
    ``leave`` bytes."""
    filler = folder / "filler"
    with contextlib.suppress(OSError), filler.open("wb") as file:
        while True:
            file.write(b"\0" * 65536)
            file.flush()
    os.truncate(filler, max(0, filler.stat().st_size - leave))


@pytest.mark.slow
def test_poll_on_a_full_disk_is_one_line_exit_1(tmp_path: Path, replay, manifest) -> None:
    """``monitor poll`` into an archive on a real full file system (a 4 MB tmpfs filled with
    zeros after the archive was made): ENOSPC is SQLite's "database or disk is full", exit 1,
    one line naming the file."""
    with mounted(tmp_path / "disk", "size=4m") as disk:
        db = disk / "m.sqlite"
        archive(db)
        _fill(disk, leave=96 * 1024)  # room to open: the WAL's index (32 KB) and first frames
        config = write_demo_config(
            tmp_path / "c.toml", base=replay.base, manifest=manifest, db=db, outbox=tmp_path / "o"
        )
        proc = run("--config", str(config), "poll", "--now", ROUND_1, cwd=tmp_path)
    assert one_line(proc, 1) == f"monitor: error: {db}: database or disk is full"


# --- the outbox: exit 1 ----------------------------------------------------------------------


def _poll_into(tmp_path: Path, replay, manifest, outbox: Path) -> subprocess.CompletedProcess:
    config = write_demo_config(
        tmp_path / "c.toml",
        base=replay.base,
        manifest=manifest,
        db=tmp_path / "m.sqlite",
        outbox=outbox,
    )
    return run("--config", str(config), "poll", "--now", ROUND_1, cwd=tmp_path)


@pytest.mark.slow
def test_a_read_only_outbox_is_one_line_exit_1(tmp_path: Path, replay, manifest) -> None:
    """The first round's digest into an outbox on a read-only file system (a tmpfs mounted
    ro: root's writes are refused too): exit 1, one line naming the setting and the file."""
    with mounted(tmp_path / "ro", "ro,size=64k") as outbox:
        line = one_line(_poll_into(tmp_path, replay, manifest, outbox), 1)
    assert line.startswith(f"monitor: error: [email] outbox_dir: cannot write {outbox}/")
    assert line.endswith(".eml: Read-only file system")


@pytest.mark.slow
def test_an_outbox_under_a_file_is_one_line_exit_1(tmp_path: Path, replay, manifest) -> None:
    """An outbox whose parent is a regular file (it can be made by no one, root included):
    exit 1, one line naming the setting and the folder."""
    (tmp_path / "mail").write_text("a file, not a folder", encoding="utf-8")
    outbox = tmp_path / "mail" / "outbox"
    line = one_line(_poll_into(tmp_path, replay, manifest, outbox), 1)
    assert line == f"monitor: error: [email] outbox_dir: cannot write {outbox}: Not a directory"


# --- PostgreSQL: a missing database is the configuration's, a server that is down the run's -----


@pytest.mark.postgres
def test_postgresql_missing_database_exits_2_and_a_closed_port_exits_1(
    tmp_path: Path, postgres_server
) -> None:
    """On the throwaway cluster: a database that does not exist is a mistake in the URL (exit
    2), a port nobody listens on is a fault of the run (exit 1); both one line naming the
    variable and the URL with its password hidden."""
    from sqlalchemy.engine import make_url

    from tests.postgres import free_port

    url = make_url(postgres_server.new_database()).set(password="hunter2")
    missing = url.set(database="no_such_db").render_as_string(hide_password=False)
    line = one_line(run("poll", cwd=tmp_path, env={"MONITOR_STORAGE_URL": missing}), 2)
    assert line.startswith("monitor: error: environment MONITOR_STORAGE_URL: postgresql")
    assert '"no_such_db" does not exist' in line and ":***@" in line
    closed = url.set(port=free_port()).render_as_string(hide_password=False)
    proc = run("story", "list", cwd=tmp_path, env={"MONITOR_STORAGE_URL": closed})
    line = one_line(proc, 1)
    assert ": cannot connect: " in line and "hunter2" not in proc.stderr


# --- the SMTP password from its own setting ---------------------------------------------------


# --- packaging: version, licence, the example configuration ---------------------------------


def test_version_is_the_package_version(tmp_path: Path) -> None:
    """``monitor --version`` prints the version pyproject.toml declares, and exits 0."""
    import tomllib

    declared = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    proc = run("--version", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"monitor {declared['project']['version']}\n"


def test_the_licence_is_the_mit_licence_pyproject_names() -> None:
    """LICENSE holds the MIT licence's text, as pyproject.toml's ``license = "MIT"`` says."""
    import tomllib

    declared = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert declared["project"]["license"] == "MIT"
    assert text.startswith("MIT License\n") and 'THE SOFTWARE IS PROVIDED "AS IS"' in text


def test_config_example_prints_a_loadable_file_with_every_setting(tmp_path: Path) -> None:
    """``monitor config example`` prints the file shipped as package data; written out, it
    loads as a configuration, and every setting is in it, commented out at its default."""
    import tomllib

    from scripts.config_docs import toml_value as toml

    proc = run("config", "example", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    shipped = REPO / "monitor" / "config" / "example.toml"
    assert proc.stdout == shipped.read_text(encoding="utf-8")
    (tmp_path / "monitor.toml").write_text(proc.stdout, encoding="utf-8")
    cfg = configmod.load(tmp_path / "monitor.toml", env={})
    assert len(cfg.sources) == 15 and [s.slug for s in cfg.stories] == ["roxham-road"]
    lines = proc.stdout.splitlines()
    for setting in configmod.SETTINGS:
        section = lines.index(f"[{setting.section}]")
        if setting.default is None:  # unset by default (TOML has no null): an example value
            line = next(x for x in lines[section:] if x.startswith(f"# {setting.key} = "))
            assert isinstance(tomllib.loads(line[2:])[setting.key], str), line
            continue
        line = f"# {setting.key} = {toml(setting.default)}"
        assert line in lines[section:], line
        assert (
            tomllib.loads(line[2:])[setting.key]
            == tomllib.loads(f"x = {toml(setting.default)}")["x"]
        )
    declared = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    assert "config/example.toml" in declared["tool"]["setuptools"]["package-data"]["monitor"]


def test_the_daemon_tick_logs_a_full_disk_and_keeps_running(
    demo_config, replay, caplog: pytest.LogCaptureFixture
) -> None:
    """A tick whose writes meet SQLITE_FULL logs one ``tick_failed`` error naming the database
    and returns (the daemon tries again at its next tick) instead of raising."""
    import logging
    import threading
    from datetime import UTC, datetime

    from sqlalchemy import event

    from monitor import daemon
    from monitor.app import open_app
    from monitor.ops.service import Ops

    quiet = dataclasses.replace(demo_config, ops=dataclasses.replace(demo_config.ops, listen=""))
    with open_app(quiet, now=datetime.now(UTC)) as app:
        with app.db.engine.connect() as conn:
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar()

        @event.listens_for(app.db.engine, "connect")
        def _cap(dbapi_conn, _record) -> None:
            dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")

        app.db.engine.dispose()
        with caplog.at_level(logging.ERROR, logger="monitor"):
            daemon.tick(app, threading.Event(), Ops(app, quiet))
    failed = [r for r in caplog.records if r.getMessage() == "tick_failed"]
    assert len(failed) == 1
    assert failed[0].error == f"{app.db.name}: database or disk is full"


def test_an_smtp_password_without_a_user_is_a_config_error() -> None:
    """smtp_password set while smtp_url names no user (it could be used for no login) is a
    ConfigError naming the setting, raised before any connection is tried."""
    from monitor.publish.smtp import check

    env = {
        "MONITOR_EMAIL_SMTP_URL": "smtp://127.0.0.1:9",
        "MONITOR_EMAIL_SMTP_PASSWORD": "s3cret",
        "MONITOR_EMAIL_TO": "desk@example.org",
    }
    with pytest.raises(ConfigError, match=r"^\[email\] smtp_password: set, but smtp_url names no"):
        check(configmod.load(None, env=env).email, recipients=1)


def test_a_postgresql_server_that_never_answers_fails_after_the_connect_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A host that accepts TCP and then says nothing (a hung server, a black-holing proxy) is a
    DatabaseError naming the URL once the connect timeout passes, not a process blocked for
    good; the URL's own ``connect_timeout`` wins over the default."""
    import socket

    from storage import db as dbmod

    with socket.create_server(("127.0.0.1", 0)) as silent:  # listens; never accepts or answers
        port = silent.getsockname()[1]
        monkeypatch.setattr(dbmod, "CONNECT_TIMEOUT_S", 1)
        url = f"postgresql+psycopg://u@127.0.0.1:{port}/x"
        with pytest.raises(DatabaseError, match=f"127.0.0.1:{port}.*timeout"):
            open_database(url)
        monkeypatch.setattr(dbmod, "CONNECT_TIMEOUT_S", 3600)
        with pytest.raises(DatabaseError, match="timeout"):
            open_database(url + "?connect_timeout=1")
