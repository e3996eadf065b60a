"""Where a database's schema stands against the code's migrations: what ``monitor db upgrade``
prints and what the daemon's ``/readyz`` checks.

A database is ready when it can be reached and its Alembic revision is the newest the code
ships (the head). Migrating stays in ``storage.db.open_database``, the one path every command
and worker takes (and the one that holds the migration lock); this module only reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from storage.db import MIGRATIONS, DatabaseError, create


@dataclass(frozen=True)
class Migration:
    revision: str
    title: str  # the first line of the migration's docstring


@cache
def _scripts() -> ScriptDirectory:
    # The migrations folder never changes while the process runs: read it once.
    return ScriptDirectory(str(MIGRATIONS))


def head() -> str:
    """The newest revision the code ships."""
    revision = _scripts().get_current_head()
    assert revision is not None, "storage/migrations has no revision"
    return revision


def current(engine: Engine) -> str | None:
    """The database's revision (None: no schema yet); SQLAlchemyError when it cannot be read."""
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def known(revision: str | None) -> bool:
    """Whether the code ships ``revision`` (a database migrated by newer code is not known)."""
    return revision is None or revision in {s.revision for s in _scripts().walk_revisions()}


def pending(revision: str | None) -> list[Migration]:
    """The migrations that take a database at ``revision`` to the head, oldest first."""
    out = []
    for script in _scripts().iterate_revisions(head(), revision):
        doc = (script.doc or "").strip().splitlines()
        out.append(Migration(script.revision, doc[0] if doc else ""))
    return out[::-1]


def missing_file(engine: Engine) -> str | None:
    """An SQLite database's file, when it no longer exists: a connection would create it empty
    (and a pooled one keeps reading the deleted file), so it is checked by name first."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return None if Path(url.database).exists() else url.database


def unready(engine: Engine) -> str | None:
    """Why the database is not ready to serve (unreachable, no file, not at the head), or None."""
    gone = missing_file(engine)
    if gone is not None:
        return f"{gone}: no such database file"
    try:
        revision = current(engine)
    except SQLAlchemyError as exc:
        return f"cannot reach the database: {getattr(exc, 'orig', None) or exc}".splitlines()[0]
    if revision != head():
        at = revision or "no schema"
        return f"schema at {at}, the code needs {head()}: run monitor db upgrade"
    return None


def revision_of(url: str) -> str | None:
    """The revision of the database at ``url`` (None: no schema yet), without migrating it."""
    engine = create(url)
    try:
        return current(engine)
    except SQLAlchemyError as exc:
        shown = make_url(url).render_as_string()
        raise DatabaseError(f"cannot open {shown}: {getattr(exc, 'orig', None) or exc}") from exc
    finally:
        engine.dispose()
