"""``monitor db upgrade``, ``monitor db copy`` and ``monitor db optimize``: bringing a
database's schema to the code's newest migration explicitly, moving a whole archive to another
database (SQLite to PostgreSQL when one machine is no longer enough), and merging SQLite's
search index now rather than at the next day's poll (storage.searchmerge)."""

from __future__ import annotations

import argparse
import sys
import time
from typing import TYPE_CHECKING

from monitor.cli.common import load_config
from monitor.errors import NotFoundError, StorageError, UserError

if TYPE_CHECKING:
    from storage.archive import Progress, TableCount
    from storage.db import Database


def _shown(url: str) -> str:
    """The URL as it may be printed: its password masked."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        raise UserError(f"not a database URL: {url!r}") from None


def _missing_sqlite(url: str) -> str | None:
    """The path of an SQLite URL whose file does not exist (opening it would create it)."""
    from pathlib import Path

    from sqlalchemy.engine import make_url

    _shown(url)  # a malformed URL: one line
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return None if Path(parsed.database).exists() else parsed.database


def _revision(option: str, url: str) -> str | None:
    """The schema revision at ``url``, or a one-line error naming the option."""
    from storage import schema
    from storage.db import DatabaseError

    try:
        revision = schema.revision_of(url)
    except DatabaseError as exc:
        raise StorageError(f"{option}: {exc}") from exc
    if not schema.known(revision):
        raise StorageError(
            f"{option} {_shown(url)}: schema at {revision}, newer than this version of "
            f"news-monitor knows (its newest is {schema.head()}): upgrade news-monitor"
        )
    return revision


def _open(option: str, url: str, *, migrate: bool) -> Database:
    from storage.db import DatabaseError, open_database

    try:
        return open_database(url, migrate=migrate)
    except DatabaseError as exc:
        raise StorageError(f"{option}: {exc}") from exc


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    config = load_config(args)
    url = args.url or config.storage.url
    option = "--url" if args.url else f"{config.path}: [storage] url"
    shown = _shown(url)
    from storage import schema

    todo = schema.pending(_revision(option, url))
    _open(option, url, migrate=True).close()
    if not todo:
        print(f"{shown}: at {schema.head()}, the newest migration: nothing to apply")
        return 0
    print(f"{shown}: applied {len(todo)} migration{'s' if len(todo) > 1 else ''}:")
    for migration in todo:
        print(f"  {migration.revision}  {migration.title}")
    print(f"now at {schema.head()}, the newest")
    return 0


def cmd_db_optimize(args: argparse.Namespace) -> int:
    config = load_config(args)
    url = args.url or config.storage.url
    option = "--url" if args.url else f"{config.path}: [storage] url"
    gone = _missing_sqlite(url)
    if gone is not None:
        raise NotFoundError(f"{option} {gone}: no such SQLite file")
    from datetime import UTC, datetime

    from storage import searchmerge

    _revision(option, url)  # migrated by a newer news-monitor: one line
    db = _open(option, url, migrate=True)
    started = time.monotonic()
    try:
        merged = searchmerge.merge(db, now=datetime.now(UTC))
    finally:
        db.close()
    if merged is None:
        print(
            f"{_shown(url)}: PostgreSQL merges its search index itself (autovacuum): nothing to do"
        )
        return 0
    if merged.before <= 1:
        print(f"{_shown(url)}: the search index is one segment already: nothing to merge")
        return 0
    print(
        f"{_shown(url)}: search index of {merged.before} segments merged into {merged.after} "
        f"in {merged.steps} steps, {time.monotonic() - started:.1f} s"
    )
    return 0


class _Reporter:
    """Progress on standard error: each table's start and end, and every few seconds between."""

    def __init__(self) -> None:
        self.last = 0.0

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        if p.skipped:
            line = f"{p.table}: {p.total} rows already there (resume), skipped"
        elif p.done in (0, p.total) or now - self.last >= 2.0:
            line = f"{p.table}: {p.done}/{p.total} rows"
        else:
            return
        self.last = now
        print(f"monitor db copy: {line}", file=sys.stderr, flush=True)


def cmd_db_copy(args: argparse.Namespace) -> int:
    load_config(args)
    source_url, target_url = args.from_, args.to
    _shown(target_url)  # a malformed URL is an argument mistake: said before anything opens
    from storage import archive, schema

    gone = _missing_sqlite(source_url)
    if gone is not None:
        raise NotFoundError(f"--from {gone}: no such SQLite file")
    if _revision("--from", source_url) != schema.head():
        raise StorageError(
            f"--from {_shown(source_url)}: schema behind the code's ({schema.head()}): run "
            f"monitor db upgrade --url {_shown(source_url)} first"
        )
    source = _open("--from", source_url, migrate=False)
    target = _open("--to", target_url, migrate=True)
    try:
        counts = archive.copy_archive(source, target, resume=args.resume, progress=_Reporter())
    except archive.TargetNotEmpty as exc:
        raise UserError(
            f"--to {_shown(target_url)}: {exc} (--resume finishes an interrupted copy)"
        ) from exc
    except archive.ArchiveCopyError as exc:
        raise StorageError(f"--to {_shown(target_url)}: {exc}") from exc
    finally:
        source.close()
        target.close()
    _print_counts(counts)
    return 0


def _print_counts(counts: list[TableCount]) -> None:
    width = max(len(c.table) for c in counts)
    for c in counts:
        print(f"{c.table:<{width}}  {c.target:>9} rows")
    total = sum(c.target for c in counts)
    print(f"copied and counted: {len(counts)} tables, {total} rows, the same on both sides")
