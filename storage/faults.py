"""Which database errors are storage faults, and their one-line message.

A fault is what an operator must fix and no retry by the program will: the disk is full, the
file is corrupt or not a database, the file or its folder cannot be written, the server went
away or refuses the credentials. ``fault`` turns such an error into a DatabaseError naming the
database; any other error (a unique-constraint conflict another worker won, a lock held a
moment, a serialisation failure) is left to the code that expects it.

SQLite's error is told by its result code (``sqlite_errorname``, Python 3.11+), PostgreSQL's by
its SQLSTATE class, never by the message's wording, which changes between versions.
"""

from __future__ import annotations

from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from storage.errors import DatabaseError, DatabaseURLError

# SQLite primary result codes that are faults (the extended ones start with these).
_SQLITE_FAULTS = (
    "SQLITE_FULL",  # database or disk is full (ENOSPC, or max_page_count reached)
    "SQLITE_CORRUPT",  # database disk image is malformed
    "SQLITE_NOTADB",  # file is not a database
    "SQLITE_IOERR",  # disk I/O error
    "SQLITE_READONLY",  # attempt to write a readonly database
    "SQLITE_CANTOPEN",  # unable to open database file
    "SQLITE_PERM",  # access permission denied
)
# PostgreSQL SQLSTATE classes and codes that are faults.
_PG_FAULTS = (
    "08",  # connection exception: the server went away
    "53",  # insufficient resources: disk full (53100), out of memory, too many connections
    "57P",  # operator intervention: shutdown, crash, cannot connect now
    "58",  # system error: I/O error, undefined file
    "XX001",  # data corrupted
    "XX002",  # index corrupted
)
# The configuration's: the credentials are refused, the database does not exist.
_PG_CONFIG = ("28", "3D000")


def one_line(error: object) -> str:
    """``error``'s message on one line (PostgreSQL's carry hints on further lines)."""
    return " ".join(str(error).split())


def name_of(url: URL) -> str:
    """How messages name a database: an SQLite file's path, else the URL, password hidden."""
    if url.get_backend_name() == "sqlite" and url.database:
        return url.database
    return url.render_as_string(hide_password=True)


def _sqlite_fault(orig: BaseException | None) -> bool:
    code = getattr(orig, "sqlite_errorname", None)
    return isinstance(code, str) and code.startswith(_SQLITE_FAULTS)


def _pg_state(orig: BaseException | None) -> str | None:
    state = getattr(orig, "sqlstate", None)
    return state if isinstance(state, str) else None


def fault(database: str, error: DBAPIError, *, opening: bool = False) -> DatabaseError | None:
    """The DatabaseError ``error`` is when it is a storage fault, else None. ``opening``: it
    happened while opening the database (a connection refused then is a fault too)."""
    orig = error.orig
    message = f"{database}: {one_line(orig)}"
    if error.connection_invalidated:
        return DatabaseError(f"{database}: connection lost: {one_line(orig)}")
    if _sqlite_fault(orig):
        return DatabaseError(message)
    state = _pg_state(orig)
    if state is not None and state.startswith(_PG_CONFIG):
        return DatabaseURLError(message)
    if state is not None and state.startswith(_PG_FAULTS):
        return DatabaseError(message)
    if opening and state is None and hasattr(orig, "sqlstate"):
        # psycopg's error when it cannot connect at all carries no SQLSTATE; libpq's message
        # says why (refused, unknown host, or credentials and database, told by their words).
        return _connect_error(database, one_line(orig))
    return None


def _connect_error(database: str, reason: str) -> DatabaseError:
    configuration = ("password authentication failed", "does not exist", "no password supplied")
    if any(words in reason for words in configuration):
        return DatabaseURLError(f"{database}: {reason}")
    return DatabaseError(f"{database}: cannot connect: {reason}")
