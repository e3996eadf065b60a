"""``monitor sources``: every source with its state; ``add``, ``import`` and ``export``. The
configuration file is the truth: add and import append ``[[source]]`` tables to it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from monitor import config as configmod
from monitor.cli import present
from monitor.cli.common import load_config, now_option, writable_config
from monitor.errors import UserError


def cmd_sources_list(args: argparse.Namespace) -> int:
    config = load_config(args)
    now = now_option(args.now)
    from monitor.app import missing_archive, open_app
    from monitor.sources.manage import never_polled, status_of
    from storage.sources import all_sources

    missing = missing_archive(config)
    if missing is not None:
        # Listed from the configuration, with nothing created: a mistyped path must not
        # leave an empty archive behind (the next poll makes it, where it is meant to be).
        print(
            f"monitor: {missing}: no archive yet: the configured sources, never polled",
            file=sys.stderr,
        )
        rows = [never_polled(s.name, s.url) for s in config.sources]
    else:
        # The sources as configured (synced first); the seeds need not be read for them.
        with open_app(config, now=now, seeds=False) as app, app.db.read() as session:
            rows = [status_of(s, now=now) for s in all_sources(session)]
    present.emit(present.source_states(rows, as_json=args.format == "json"))
    return 0


def cmd_sources_export(args: argparse.Namespace) -> int:
    config = load_config(args)
    from monitor.sources.manage import export_opml

    sys.stdout.write(export_opml(config.sources, now=now_option(None)))
    return 0


def cmd_sources_add(args: argparse.Namespace) -> int:
    config = load_config(args)
    writable_config(args, "sources add")
    from monitor.fetch.client import Fetcher
    from monitor.sources import manage

    url = manage.site_url(args.url)
    try:
        interval = configmod.parse_duration(args.interval) if args.interval else None
    except ValueError as exc:
        raise UserError(f"--interval: {exc}") from None
    with Fetcher(config.fetch) as fetcher:
        found = manage.find_feed(fetcher, url)
    new = manage.NewSource(found.url, args.name or found.title, interval).named()
    done = manage.append_sources(
        config.path, [new], comment=f"added by: monitor sources add {args.url}"
    )
    if done.invalid:  # the feed URL the site gave cannot be a source: nothing was added
        source, problem = done.invalid[0]
        raise UserError(f"{source.url}: {problem}")
    if done.present:
        print(f"already in {config.path}: {found.url}")
    else:
        print(f"added {new.name} ({found.kind} feed) {found.url} to {config.path}")
    return 0


def cmd_sources_import(args: argparse.Namespace) -> int:
    config = load_config(args)
    writable_config(args, "sources import")
    from monitor.sources import manage

    done = manage.append_sources(
        config.path,
        manage.read_opml_files(args.files),
        comment="imported from " + ", ".join(Path(f).name for f in args.files),
    )
    present.emit(present.imported(done, config.path))
    return 0


def cmd_story_sources(args: argparse.Namespace) -> int:
    """``monitor story sources SLUG [--add-queries]``."""
    config = load_config(args)
    story = next((s for s in config.stories if s.slug == args.slug), None)
    if story is None:
        raise UserError(f"no story {args.slug!r} in {config.path}")
    if args.add_queries:
        writable_config(args, "story sources --add-queries")
        from monitor.sources.queries import add_queries

        done = add_queries(config, args.slug)
        for query in done.added:
            print(f"added: {query.name}")
        for query in done.present:
            print(f"already there: {query.name}")
        if story.sources is not None and done.added:
            print(
                f"note: story {args.slug} follows only the sources its `sources` list names: "
                "add these names to it"
            )
        return 0
    for source in config.sources:
        if story.sources is None or source.name in story.sources:
            print(f"{source.kind:12} {source.name}  {source.url}")
    return 0
