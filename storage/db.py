"""Opening the database: engine, SQLite pragmas, migrations on start, read and write sessions.

SQLite runs in WAL mode with a busy timeout, and every write transaction starts with
``BEGIN IMMEDIATE``: the writer takes the lock up front instead of failing half-way when
another process writes too. PostgreSQL needs none of this.

Starting is serialised (``start_lock``): migrations, and whatever the caller brings into the
database at start, run under a PostgreSQL session advisory lock or, on SQLite, an exclusive
``flock`` on a lock file beside the database, so any number of processes may start at once on
an empty database. Both locks die with their process: a worker killed while starting blocks no
other.

The single-writer rule holds by construction, not by convention: only ``Database.write``
hands out a ``WriteSession``, every storage function that writes takes one (so mypy refuses
a write on a read session), and a read session refuses to flush or execute an INSERT, UPDATE
or DELETE at run time (on SQLite it would otherwise take the write lock half-way through a
deferred transaction, and fail there when another process holds it).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Engine, bindparam, create_engine, event, insert, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, SQLAlchemyError
from sqlalchemy.orm import (
    DeclarativeBase,
    ORMExecuteState,
    Session,
    make_transient_to_detached,
    sessionmaker,
)

from storage.errors import DatabaseError, DatabaseURLError
from storage.faults import fault, name_of, one_line

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

__all__ = ["Database", "DatabaseError", "DatabaseURLError", "open_database"]

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
# Seconds a PostgreSQL connection may take before it fails (a URL's own ?connect_timeout= wins).
CONNECT_TIMEOUT_S = 10


class ReadOnlyError(RuntimeError):
    """A write was attempted in a read session: a programming error, never a user's."""


class ReadSession(Session):
    """A session for queries only: see the module docstring."""


class WriteSession(Session):
    """The session of one write transaction (``Database.write``); storage functions that write
    take this type."""


@event.listens_for(ReadSession, "before_flush")
def _refuse_flush(session: Session, _context: Any, _instances: Any) -> None:
    if session.new or session.dirty or session.deleted:
        raise ReadOnlyError("a read session cannot write: use Database.write()")


@event.listens_for(ReadSession, "do_orm_execute")
def _refuse_dml(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        raise ReadOnlyError("a read session cannot write: use Database.write()")


class Database:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self.name = name_of(engine.url)
        writer = engine.execution_options(begin_immediate=True)
        self._read = sessionmaker(engine, class_=ReadSession, expire_on_commit=False)
        self._write = sessionmaker(writer, class_=WriteSession, expire_on_commit=False)

    @contextmanager
    def read(self) -> Iterator[ReadSession]:
        """A session for queries; rolled back at the end. It refuses to write. A storage fault
        (full disk, corrupt file, server gone) is a DatabaseError naming the database."""
        try:
            with self._read() as session:
                yield session
        except DBAPIError as exc:
            error = fault(self.name, exc)
            if error is None:
                raise
            raise error from exc

    @contextmanager
    def write(self) -> Iterator[WriteSession]:
        """One write transaction: committed at the end, rolled back on any exception. A storage
        fault is a DatabaseError naming the database; any other database error (a conflict a
        caller resolves, a lock) passes through as SQLAlchemy raised it."""
        try:
            with self._write() as session, session.begin():
                yield session
        except DBAPIError as exc:
            error = fault(self.name, exc)
            if error is None:
                raise
            raise error from exc

    def start_lock(self) -> contextlib.AbstractContextManager[None]:
        """Held while a process brings its configuration into the database at start."""
        return start_lock(self.engine)

    def close(self) -> None:
        self.engine.dispose()


# The key of the advisory lock every process takes to start (any constant no other lock uses).
START_LOCK_KEY = 727274


@contextmanager
def start_lock(engine: Engine) -> Iterator[None]:
    """One process at a time past this point, whatever the backend: see the module docstring."""
    if engine.dialect.name == "postgresql":
        # A session lock on a connection of its own: the work under it commits on others.
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": START_LOCK_KEY})
            conn.commit()
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": START_LOCK_KEY})
                conn.commit()
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        yield  # a private database: nobody to wait for
        return
    with open(f"{database}.lock", "a+b") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)


def upsert_insert(session: Session, table: Any) -> Any:
    """INSERT for ``table`` in the session's dialect, which has ``on_conflict_do_nothing`` and
    ``on_conflict_do_update`` (both backends spell them alike; SQLAlchemy's generic insert has
    neither)."""
    # Imported here, not at the top: the PostgreSQL dialect's package imports every driver's
    # module (25 ms), which a command reading an SQLite archive never needs.
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table)
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table)


Row = TypeVar("Row", bound=DeclarativeBase)
_INSERTS: dict[tuple[Any, ...], Any] = {}


def insert_row(session: WriteSession, model: type[Row], values: dict[str, Any]) -> Row:
    """``values`` inserted as a row of ``model``'s table, returned as the object a query would
    load: in the session, its given columns loaded, any other read when first asked for.

    What ``session.add`` and a flush do, for less of SQLAlchemy's work (0.17 against 0.29 ms a
    version: the unit of work's bookkeeping, for one row). The statement is built once per table
    and set of columns: building it at each call cost more than running it."""
    row = _insert(session, model, values, unless=None)
    assert row is not None  # nothing to conflict with
    return row


def insert_unless(
    session: WriteSession, model: type[Row], values: dict[str, Any], unique: str
) -> Row | None:
    """``insert_row``, or None and no row when another row holds ``values[unique]`` already
    (ON CONFLICT DO NOTHING on both backends: no exception, the transaction goes on)."""
    return _insert(session, model, values, unless=unique)


def _insert(
    session: WriteSession, model: type[Row], values: dict[str, Any], *, unless: str | None
) -> Row | None:
    key = (model, session.get_bind().dialect.name, unless, tuple(values))
    statement = _INSERTS.get(key)
    if statement is None:
        table: Any = model.__table__
        built: Any = upsert_insert(session, table) if unless else insert(table)
        built = built.values({c: bindparam(c) for c in values})
        if unless:
            built = built.on_conflict_do_nothing(index_elements=[unless])
        statement = _INSERTS[key] = built.returning(table.c.id)
    session.flush()  # what the ORM flushes before an insert of its own: rows this one may need
    row_id = session.connection().execute(statement, values).scalar()
    if row_id is None:
        return None
    row = model(id=row_id, **values)
    make_transient_to_detached(row)
    session.add(row)
    return row


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's BEGIN (below) open transactions, not the driver's implicit one.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        # The timeout first: switching a new file to WAL takes a lock another process may hold.
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn: Any) -> None:
        immediate = conn.get_execution_options().get("begin_immediate")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def parse_url(url: str, *, password: str = "") -> URL:
    """``url`` parsed, with ``password`` in place of its own when one is given."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        # The text may hold a password: say what is wrong without repeating it.
        raise DatabaseURLError(
            "not a database URL (expected e.g. sqlite:///data/monitor.sqlite or "
            "postgresql+psycopg://user@host/dbname)"
        ) from None
    return parsed.set(password=password) if password else parsed


def _sqlite_file(parsed: URL, *, existing: bool) -> None:
    """The SQLite file's folder made, or for ``existing`` the file checked to be there, so a
    command that only reads never leaves an empty archive where a path was mistyped."""
    if not parsed.database or parsed.database == ":memory:" or parsed.database.startswith("file:"):
        return
    path = Path(parsed.database)
    if existing and not path.is_file():
        raise DatabaseURLError(
            f"{path}: no such database file (a command that only reads creates none; "
            "check the path, or run `monitor poll` to start an archive)"
        )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DatabaseURLError(
            f"{path}: cannot make its folder {path.parent}: {exc.strerror or exc}"
        ) from None


def create(url: str, *, password: str = "", existing: bool = False) -> Engine:
    """An engine for ``url``; ``existing``: an SQLite file must already be there."""
    parsed = parse_url(url, password=password)
    kwargs: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        _sqlite_file(parsed, existing=existing)
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs["pool_pre_ping"] = True
        if "connect_timeout" not in parsed.query:
            # libpq waits for an unreachable server as long as TCP does (minutes): a poll, and
            # the daemon's /readyz, should say the database is unreachable sooner.
            kwargs["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_S}
    try:
        engine = create_engine(parsed, **kwargs)
    except (NoSuchModuleError, ImportError) as exc:
        raise DatabaseURLError(f"no driver for {parsed.drivername!r}: {exc}") from None
    if engine.dialect.name == "sqlite":
        _sqlite_pragmas(engine)
    return engine


def alembic_config(engine: Engine) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def open_database(
    url: str, *, migrate: bool = True, password: str = "", existing: bool = False
) -> Database:
    """Open ``url`` and bring its schema to the newest migration. ``password`` replaces the
    URL's own; ``existing``: an SQLite file must already be there (commands that only read)."""
    engine = create(url, password=password, existing=existing)
    if migrate:
        try:
            # A command that only reads leaves an archive at the head as it found it: no lock
            # file made beside it (it may sit in a folder the reader cannot write).
            if not (existing and _at_head(engine)):
                with start_lock(engine):
                    _migrate(engine)
        except DBAPIError as exc:
            engine.dispose()
            raise fault(name_of(engine.url), exc, opening=True) or DatabaseError(
                f"{name_of(engine.url)}: cannot open: {one_line(exc.orig)}"
            ) from exc
        except SQLAlchemyError as exc:
            engine.dispose()
            reason = " ".join(str(exc).split())
            raise DatabaseError(f"{name_of(engine.url)}: cannot migrate: {reason}") from exc
        except OSError as exc:  # the lock file beside an SQLite database
            engine.dispose()
            raise DatabaseError(f"{name_of(engine.url)}: cannot open: {exc}") from exc
    return Database(engine)


def _migrate(engine: Engine) -> None:
    """Bring the schema to the head, through Alembic unless it is there already: most opens
    find it there, and Alembic's import alone cost a command about 0.3 s (a third of what
    ``monitor story list`` took to start)."""
    if _at_head(engine):
        return
    from alembic import command

    command.upgrade(alembic_config(engine), "head")


def _at_head(engine: Engine) -> bool:
    """Whether the database's schema is already the newest the code ships (False when that
    cannot be read without Alembic: no schema yet, or a database Alembic must look at)."""
    head = shipped_head()
    if head is None:
        return False
    try:
        with engine.connect() as connection:
            stored = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
            return [row[0] for row in stored] == [head]
    except SQLAlchemyError:
        return False


_REVISION = re.compile(r"^(down_revision|revision)\s*(?::[^=]*)?=\s*(.+)$", re.MULTILINE)


@functools.cache
def shipped_head() -> str | None:
    """The newest revision of storage/migrations, read from the versions' ``revision`` and
    ``down_revision`` lines without importing Alembic; None when they do not make one plain
    chain (Alembic's ``ScriptDirectory`` reads it then; tests check both agree)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        found = dict(_REVISION.findall(path.read_text(encoding="utf-8")))
        revision = found.get("revision", "").strip().strip("\"'")
        parent = found.get("down_revision", "").strip()
        if not revision or not (parent == "None" or re.fullmatch(r"[\"'][\w]+[\"']", parent)):
            return None
        revisions.add(revision)
        if parent != "None":
            parents.add(parent.strip("\"'"))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 and parents <= revisions else None
