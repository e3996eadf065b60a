"""Copying a whole archive from one database to another (``monitor db copy``): SQLite to
PostgreSQL when a deployment outgrows one file, or any backend to any other.

Every table of the schema is copied in foreign-key order with its ids as they are, through the
models' column types (so SQLite's timestamp strings become ``timestamptz`` and back), in
batches. Each table is copied in one write transaction on the target: a copy that stops half-way
leaves every table either complete or empty, and ``resume`` skips the complete ones and copies
the empty ones. The source is read in one transaction, so a daemon still writing to it cannot
make the copy disagree with itself (stop it anyway: what it writes after is not copied).
PostgreSQL's id sequences are set past the copied ids, so new rows do not collide with them.
At the end every table's rows are counted on both sides.

Both databases must be at the code's newest migration: the target is migrated by
``open_database``; a source behind it is refused (``monitor db upgrade`` brings it there), since
copying an old schema into a new one would leave the new columns to chance.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import Connection, Table, func, insert, select, text

from storage.db import Database
from storage.models import Base

BATCH = 2000  # rows per INSERT: large enough to amortise round trips, small enough for memory


class ArchiveCopyError(Exception):
    """The copy cannot go on: a non-empty target, a partly filled table, counts that differ."""


class TargetNotEmpty(ArchiveCopyError):
    """The target holds rows already and the copy was not told to resume."""


@dataclass(frozen=True)
class Progress:
    table: str
    done: int
    total: int
    skipped: bool = False  # with resume: the table was complete on the target already


@dataclass(frozen=True)
class TableCount:
    table: str
    source: int
    target: int


def tables() -> list[Table]:
    """Every table of the schema, each after the tables it refers to."""
    return list(Base.metadata.sorted_tables)


def count(connection: Connection, table: Table) -> int:
    return int(connection.scalar(select(func.count()).select_from(table)) or 0)


def target_rows(target: Database) -> dict[str, int]:
    """Rows in each table of ``target`` (its alembic_version aside)."""
    with target.engine.connect() as connection:
        return {t.name: count(connection, t) for t in tables()}


def copy_archive(
    source: Database,
    target: Database,
    *,
    resume: bool = False,
    progress: Callable[[Progress], None] = lambda _p: None,
) -> list[TableCount]:
    """Copy every table of ``source`` into ``target``; the counts of both, table by table.

    ArchiveCopyError when the target has rows and ``resume`` is not set, when a table on the
    target is neither empty nor as full as the source's (resume cannot tell which rows are
    missing), or when the counts differ at the end.
    """
    existing = target_rows(target)
    if not resume and any(existing.values()):
        filled = ", ".join(f"{name} ({n})" for name, n in existing.items() if n)
        raise TargetNotEmpty(f"the target is not empty: {filled}")
    with source.engine.connect() as reader, reader.begin():
        totals = {t.name: count(reader, t) for t in tables()}
        for table in tables():
            have, want = existing[table.name], totals[table.name]
            if have and have == want:  # only with resume: otherwise every table is empty
                progress(Progress(table.name, have, want, skipped=True))
                continue
            if have:
                raise ArchiveCopyError(
                    f"{table.name}: {have} of {want} rows on the target, which a copy never "
                    "leaves; empty that table (or the whole target) and copy again"
                )
            _copy_table(reader, target, table, want, progress)
    _set_sequences(target)
    return verify(source, target)


def _copy_table(
    reader: Connection,
    target: Database,
    table: Table,
    total: int,
    progress: Callable[[Progress], None],
) -> None:
    done = 0
    progress(Progress(table.name, done, total))
    with target.write() as session:
        for rows in _batches(reader, table):
            session.execute(insert(table), rows)
            done += len(rows)
            progress(Progress(table.name, done, total))


def _batches(reader: Connection, table: Table) -> Iterator[list[dict[str, object]]]:
    """The table's rows in primary-key order, as dicts keyed by column, BATCH at a time."""
    query = select(table).order_by(*table.primary_key.columns)
    result = reader.execution_options(stream_results=True, yield_per=BATCH).execute(query)
    for part in result.partitions(BATCH):
        yield [dict(row._mapping) for row in part]


def _set_sequences(target: Database) -> None:
    """PostgreSQL: each table's id sequence past the largest id copied (SQLite needs nothing:
    its next rowid is the largest plus one)."""
    if target.dialect != "postgresql":
        return
    with target.engine.begin() as connection:
        for table in tables():
            if list(table.primary_key.columns.keys()) != ["id"]:
                continue
            connection.execute(
                text(
                    "SELECT setval(pg_get_serial_sequence(:table, 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
                ),
                {"table": table.name},
            )


def verify(source: Database, target: Database) -> list[TableCount]:
    """Count every table on both sides; ArchiveCopyError naming the tables that differ."""
    with source.engine.connect() as a, target.engine.connect() as b:
        counts = [TableCount(t.name, count(a, t), count(b, t)) for t in tables()]
    wrong = [c for c in counts if c.source != c.target]
    if wrong:
        raise ArchiveCopyError(
            "counts differ after the copy: "
            + ", ".join(f"{c.table} {c.source} → {c.target}" for c in wrong)
        )
    return counts
