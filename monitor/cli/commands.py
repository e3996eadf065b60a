"""The commands that poll, run, extract, search, explain and send digests. Each reads its
options and configuration first, then imports the library it needs (a mistake is answered
before anything heavy loads), calls it, and prints what a presenter makes of the result."""

from __future__ import annotations

import argparse
import gzip
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from monitor import log as logmod
from monitor.cli import hits, present
from monitor.cli.common import (
    day_option,
    load_config,
    log_level,
    now_option,
    program,
    reading,
)
from monitor.errors import NotFoundError, UserError

if TYPE_CHECKING:
    from monitor.fetch.client import Fetcher


def cmd_poll(args: argparse.Namespace) -> int:
    now = now_option(args.now)
    config = load_config(args)
    from monitor.app import open_app
    from monitor.poll import upkeep
    from monitor.poll.round import poll
    from monitor.publish import digest
    from monitor.stories import facts as kept_facts

    with open_app(config, now=now) as app:
        report = poll(app, now=now, everything=args.all)
        # Every round, changed or not: a cron schedule may fire, a refused digest be retried.
        digests = digest.run(app, now=now)
        kept_facts.refresh(app, now=now)
        upkeep.merge_search_index(app, now=now)
    print(present.poll_report(report, digests.sent))
    refused = [d for d in digests.delivered if d.result != "sent"]
    if refused:
        # Recorded (retried later, or failed for good); the exit code tells a cron job now.
        print(f"monitor: error: {refused[0].reply}", file=sys.stderr)
        return 1
    if report.sources_failed:
        # A cron job or a script sees a failing round by its exit code; the round still stored
        # what the other sources gave and sent the digests, which name the failing sources.
        print(f"monitor: error: {present.failed_sources(report)}", file=sys.stderr)
        return 1
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    config = load_config(args)
    if args.workers > 1:
        from monitor import workers

        level = args.log_level or config.log.level
        workers.run(config, args.workers, level=level, fmt=config.log.format)
        return 0
    from monitor import daemon

    daemon.run(config)
    return 0


def cmd_config_example(args: argparse.Namespace) -> int:
    """The example configuration shipped in the package (monitor/config/example.toml)."""
    from importlib import resources

    print(resources.files("monitor.config").joinpath("example.toml").read_text("utf-8"), end="")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from monitor import demo

    logmod.setup(log_level(args, "warning"), "text")
    result = demo.run(Path(args.out))
    print(result.summary(program()))
    return 0


def _page(fetcher: Fetcher, source: str) -> tuple[bytes, str]:
    """The HTML of ``source`` (a URL, an .html file or an .html.gz file) and its URL."""
    if source.startswith(("http://", "https://")):
        result = fetcher.get(source, accept="text/html, */*;q=0.5")
        return result.body, result.url
    path = Path(source)
    html = path.read_bytes()
    if path.suffix == ".gz":
        html = gzip.decompress(html)
    return html, path.resolve().as_uri()


def cmd_extract(args: argparse.Namespace) -> int:
    config = load_config(args)
    from monitor.errors import ExtractError, FetchError
    from monitor.extract import extract
    from monitor.fetch.client import Fetcher

    failed = 0
    with Fetcher(config.fetch) as fetcher:
        for source in args.inputs:
            try:
                html, url = _page(fetcher, source)
                row = present.extracted(source, extract(html, url, min_words=config.poll.min_words))
            except (OSError, EOFError, gzip.BadGzipFile) as exc:
                failed += 1
                row = {"source": source, "error": f"cannot read: {exc}"}
            except (ExtractError, FetchError) as exc:
                failed += 1
                row = {"source": source, "error": str(exc)}
            print(present.json_line(row), flush=True)
    return 1 if failed else 0


def cmd_search(args: argparse.Namespace) -> int:
    since = day_option("--since", args.since)
    until = day_option("--until", args.until)
    config = load_config(args)
    from storage import search

    filters = search.Filters(
        story=args.story,
        outlet=args.outlet,
        relation=args.relation,
        lang=args.lang,
        since=since,
        until=until,
        any_version=args.any_version,
    )
    with reading(config) as session:
        try:
            found = search.search(session, args.text, filters, limit=args.limit, offset=args.offset)
        except search.QueryError as exc:
            raise UserError(f"search: {exc}") from None
    present.emit(hits.hits(args.text, found, form="json" if args.json else args.format))
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    config = load_config(args)
    from monitor.urls import normalise_url
    from storage import articles, members

    with reading(config) as session:
        # As the archive stores it (normalised), else as given.
        article = articles.stored(session, normalise_url(args.url)) or articles.stored(
            session, args.url
        )
        rows = members.explain(session, article.url) if article is not None else []
    if article is None:
        raise NotFoundError(f"{args.url}: no such article in the archive (see: monitor search)")
    if not rows:
        present.emit(present.undecided(article))
    for r in rows:
        present.emit(present.explanation(r))
    return 0


def cmd_digest_send(args: argparse.Namespace) -> int:
    now = now_option(args.now)
    config = load_config(args)
    from monitor.app import open_app
    from monitor.publish import digest

    with open_app(config, now=now) as app:
        done = digest.run(app, now=now)
    present.emit(present.digests_sent(done.delivered))
    # A digest refused (for now or for good) is recorded, and the command says so by its code.
    return 1 if any(d.result != "sent" for d in done.delivered) else 0


def cmd_digest_preview(args: argparse.Namespace) -> int:
    now = now_option(args.now)
    config = load_config(args)
    from monitor.app import open_app
    from monitor.publish import digest

    with open_app(config, now=now) as app:
        text = digest.preview(app, args.slug, recipient=args.recipient, now=now, fmt=args.format)
    print(text, end="" if text.endswith("\n") else "\n")
    return 0


def cmd_digest_status(args: argparse.Namespace) -> int:
    config = load_config(args)
    from monitor.app import open_app
    from monitor.publish import digest

    with open_app(config, now=now_option(None)) as app:
        rows = digest.status(app)
    present.emit(present.digest_status(rows, as_json=args.json))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    config = load_config(args)
    host = config.web.host if args.host is None else args.host
    port = config.web.port if args.port is None else args.port
    from monitor.web.server import serve

    def ready(url: str) -> None:
        print(f"monitor serve: {url} (Ctrl-C stops)", flush=True)

    serve(config, host, port, ready=ready)
    return 0
