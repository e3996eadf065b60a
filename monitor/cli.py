"""The ``monitor`` command: a thin layer over the library. Each command parses its arguments,
calls one or two ``monitor`` functions and prints the result.

Exit codes: 0 success; 1 the command ran but something failed (a page in ``extract``, a digest
delivery); 2 a user's mistake (configuration, arguments, unknown story), printed as one line.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from monitor import config as configmod
from monitor import log as logmod
from monitor.errors import MonitorError, NotFoundError, UserError

if TYPE_CHECKING:  # the commands import the library when they run: a quick --help
    from monitor.app import App, StoryRef


def _now(value: str | None) -> datetime:
    return datetime.now(UTC) if value is None else _time("--now", value)


def _time(option: str, value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"{option}: not an ISO 8601 time: {value!r}") from None
    if parsed.tzinfo is None:
        raise UserError(f"{option}: give a UTC offset, e.g. {value}+00:00")
    return parsed.astimezone(UTC)


def _config(args: argparse.Namespace) -> configmod.Config:
    cfg = configmod.load(args.config)
    logmod.setup(args.log_level or cfg.log.level, cfg.log.format)
    return cfg


def cmd_poll(args: argparse.Namespace) -> int:
    from monitor.app import open_app
    from monitor.poll.round import poll
    from monitor.publish import digest

    now = _now(args.now)
    with open_app(_config(args), now=now) as app:
        report = poll(app, now=now, everything=args.all)
        sent = digest.send_due(app, now=now) if report.changed else []
    print(
        f"polled {report.sources_polled} sources ({report.sources_failed} failed, "
        f"{report.sources_unchanged} unchanged), {report.articles_new} new articles: "
        f"{report.originals} original, {report.copies} copies, {report.off_topic} off-topic, "
        f"{report.not_articles} not articles; {report.updates} updated, "
        f"{report.removed} removed; {len(sent)} digests"
    )
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from monitor import daemon

    daemon.run(_config(args))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from monitor import demo

    logmod.setup(args.log_level or "warning", "text")
    result = demo.run(Path(args.out))
    print(result.summary())
    return 0


def cmd_extract(args: argparse.Namespace) -> int:
    from monitor.errors import ExtractError, FetchError
    from monitor.extract import extract
    from monitor.fetch.client import Fetcher

    cfg = _config(args)
    failed = 0
    with Fetcher(cfg.fetch) as fetcher:
        for source in args.inputs:
            try:
                if source.startswith(("http://", "https://")):
                    result = fetcher.get(source, accept="text/html, */*;q=0.5")
                    html, url = result.body, result.url
                else:
                    path = Path(source)
                    html = path.read_bytes()
                    if path.suffix == ".gz":
                        html = gzip.decompress(html)
                    url = path.resolve().as_uri()
                e = extract(html, url, min_words=cfg.poll.min_words)
                row = {
                    "source": source,
                    "title": e.title,
                    "text": e.text,
                    "authors": list(e.authors),
                    "published_at": e.published_at.isoformat() if e.published_at else None,
                    "updated_at": e.updated_at.isoformat() if e.updated_at else None,
                    "canonical_url": e.canonical_url,
                    "language": e.language,
                    "site_name": e.site_name,
                    "word_count": e.word_count,
                    # ok, too_short, paywalled or not_article; the reason is null when ok.
                    "status": e.status,
                    "status_reason": e.status_reason,
                    # "day": the page gives only the day, and the time above is midnight UTC.
                    "published_precision": e.published_precision,
                    "updated_precision": e.updated_precision,
                }
            except (OSError, EOFError, gzip.BadGzipFile) as exc:
                failed += 1
                row = {"source": source, "error": f"cannot read: {exc}"}
            except (ExtractError, FetchError) as exc:
                failed += 1
                row = {"source": source, "error": str(exc)}
            print(json.dumps(row, ensure_ascii=False), flush=True)
    return 1 if failed else 0


def cmd_story_list(args: argparse.Namespace) -> int:
    from monitor.app import open_db
    from storage import stories

    db = open_db(_config(args))
    try:
        with db.read() as session:
            rows = stories.list_stories(session)
    finally:
        db.close()
    if args.json:
        print(
            json.dumps(
                [{**r.__dict__, "updated_at": r.updated_at.isoformat()} for r in rows],
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    if not rows:
        print("no stories (add a [[story]] table to the configuration)")
    for r in rows:
        print(
            f"{r.slug}\tv{r.version}\t{r.outlets} outlets\t{r.articles} articles "
            f"({r.copies} copies, {r.off_topic} off-topic)\t{r.title}"
        )
    return 0


def cmd_story_export(args: argparse.Namespace) -> int:
    from monitor.app import open_db
    from monitor.publish import render
    from storage import storyfile

    db = open_db(_config(args))
    try:
        with db.read() as session:
            story = storyfile.build(session, args.slug)
    finally:
        db.close()
    if story is None:
        raise NotFoundError(f"no story {args.slug!r} (see: monitor story list)")
    text = render.story_json(story) if args.format == "json" else render.story_markdown(story)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def cmd_story_scores(args: argparse.Namespace) -> int:
    from monitor.app import open_db
    from monitor.match import story_bar, would_flip
    from storage import members, stories

    if args.threshold is not None and not 0 <= args.threshold <= 1:
        raise UserError(f"--threshold: expected a number from 0 to 1, got {args.threshold}")
    db = open_db(_config(args))
    try:
        with db.read() as session:
            story = stories.story_by_slug(session, args.slug)
            if story is None:
                raise NotFoundError(f"no story {args.slug!r} (see: monitor story list)")
            rows = members.story_scores(session, story.id)
    finally:
        db.close()

    def needed(r: members.StoryScore) -> float:
        """What the article needs at the threshold looked at: the one it was decided with, or
        ``--threshold`` to see what another would decide."""
        return story_bar(r.threshold if args.threshold is None else args.threshold, r.keyword_hits)

    def flips(r: members.StoryScore) -> bool:
        return args.threshold is not None and would_flip(r, args.threshold)

    # The articles nearest the line are the ones another story_threshold would decide otherwise.
    scored = sorted(((r.score - needed(r), r) for r in rows), key=lambda x: abs(x[0]))
    shown = sorted(scored[: args.limit] if args.limit else scored, key=lambda x: -x[0])
    if args.json:
        for margin, r in shown:
            row = {**r.__dict__, "needed": needed(r), "margin": round(margin, 4)}
            row["decided_at"] = r.decided_at.isoformat()
            row["would_be"] = "same_story" if margin >= 0 else "off_topic"
            print(json.dumps(row, ensure_ascii=False))
        return 0
    if not rows:
        print(f"{args.slug}: no article has been through the same-story stage yet")
        return 0
    which = f"the {len(shown)} nearest the threshold" if len(shown) < len(rows) else "all"
    at = "it was decided with" if args.threshold is None else str(args.threshold)
    print(
        f"{args.slug}: {len(rows)} articles scored by the same-story stage, {which}, by how far "
        f"they scored above what they need at the story threshold {at} (half with a keyword)"
    )
    print(f"{'score':>6} {'needed':>6} {'margin':>7}  {'decided':9}  outlet: title / url")
    for margin, r in shown:
        decided = "in story" if r.kind == "same_story" else "off-topic"
        flip = "  (would flip)" if flips(r) else ""
        print(
            f"{r.score:6.3f} {needed(r):6.3f} {margin:+7.3f}  {decided:9}  "
            f"{r.outlet}: {r.title or ''}{flip}\n{'':35}{r.url}"
        )
        if r.shared_terms:
            print(f"{'':35}shared: {', '.join(t.lstrip('#') for t in r.shared_terms)}")
    if args.threshold is not None:
        flipped = [r for _, r in scored if flips(r)]
        joins = sum(r.relation == "off_topic" for r in flipped)
        leaves = len(flipped) - joins
        print(
            f"at {args.threshold}: {joins} would join the story and {leaves} leave it, with "
            "their copies (set it as the story's story_threshold, then: monitor story redecide "
            f"{args.slug})"
        )
    return 0


def _configured(app: App, config: configmod.Config, slug: str) -> StoryRef:
    """The story ``slug`` of the configuration (a command that decides needs its settings)."""
    story = next((s for s in app.stories if s.slug == slug), None)
    if story is None:
        raise NotFoundError(f"{config.path}: no [[story]] with slug {slug!r}")
    return story


def cmd_story_redecide(args: argparse.Namespace) -> int:
    from monitor.app import open_app
    from monitor.stories.redecide import redecide

    now = _now(args.now)
    config = _config(args)
    with open_app(config, now=now) as app:
        story = _configured(app, config, args.slug)
        threshold = app.story_settings(story).story_threshold
        changes = redecide(app, story, now=now, dry_run=args.dry_run)
    if args.json:
        for c in changes:
            print(json.dumps(c.__dict__, ensure_ascii=False))
        return 0
    joined = [c for c in changes if c.after != "off_topic"]
    copies = sum(c.after == "copy" for c in joined)
    verb = "would change" if args.dry_run else "changed"
    print(
        f"{args.slug}: at story_threshold {threshold}, {len(changes)} decisions {verb}: "
        f"{len(joined)} joining the story ({copies} as copies), "
        f"{len(changes) - len(joined)} leaving it"
    )
    for c in changes:
        print(f"{c.before:>9} -> {c.after:9}  {c.outlet}: {c.title or ''}\n{'':25}{c.url}")
        print(f"{'':25}{c.reason}")
    return 0


def cmd_story_backfill(args: argparse.Namespace) -> int:
    from monitor.app import open_app
    from monitor.stories.redecide import backfill

    now = _now(args.now)
    since = None if args.since is None else _time("--since", args.since)
    config = _config(args)
    with open_app(config, now=now) as app:
        story = _configured(app, config, args.slug)
        done = backfill(app, story, now=now, since=since, off_topic=args.off_topic)
    if args.json:
        print(json.dumps({"story": args.slug, **done.__dict__}))
        return 0
    again = f" ({done.joined} of them judged off-topic before)" if args.off_topic else ""
    print(
        f"{args.slug}: decided {done.articles} articles of the archive: {done.originals} new "
        f"reporting, {done.copies} copies{again}, {done.off_topic} off-topic"
    )
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    from monitor.app import open_db
    from storage import search

    db = open_db(_config(args))
    try:
        with db.read() as session:
            hits = search.search(session, args.text, limit=args.limit, story=args.story)
    finally:
        db.close()
    for h in hits:
        if args.json:
            print(
                json.dumps(
                    {
                        **h.__dict__,
                        "published_at": h.published_at.isoformat() if h.published_at else None,
                        "stories": list(h.stories),
                    },
                    ensure_ascii=False,
                )
            )
        else:
            when = h.published_at.date().isoformat() if h.published_at else "????-??-??"
            print(f"{when}  {h.outlet}: {h.title or h.url}\n    {h.url}\n    …{h.snippet}…")
    if not hits and not args.json:
        print(f"no article contains every word of {args.text!r}")
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from monitor.app import open_db
    from monitor.urls import normalise_url
    from storage import articles, members

    db = open_db(_config(args))
    try:
        with db.read() as session:
            # As the archive stores it (normalised), else as given.
            article = articles.stored(session, normalise_url(args.url)) or articles.stored(
                session, args.url
            )
            rows = members.explain(session, article.url) if article is not None else []
    finally:
        db.close()
    if article is None:
        raise NotFoundError(f"{args.url}: no such article in the archive (see: monitor search)")
    if not rows:
        print(f"{article.outlet}: {article.title or article.url}")
        if not article.versions:
            why = f": {article.error}" if article.error else ""
            print(f"  stored but never matched: status {article.status}{why}")
        else:
            print(
                "  stored, but no story has decided it: its source feeds none of the configured "
                "stories, or the story was added after it (monitor story backfill SLUG)"
            )
        return 0
    for r in rows:
        verdict = {
            "seed": "is a seed of",
            "original": "is new reporting in",
            "copy": "is a copy in",
            "off_topic": "was judged off-topic for",
        }[r.relation]
        print(
            f"{r.outlet}: {r.title or r.url}\n  {verdict} story {r.story!r} "
            f"(decided {r.decided_at.isoformat()})"
        )
        if r.copy_of:
            print(f"  copy of: {r.copy_of}")
        if r.match.get("reason"):
            print(f"  because: {r.match['reason']}")
        scores = r.match.get("scores") or {}
        if scores:
            print("  scores: " + ", ".join(f"{k} {v}" for k, v in scores.items()))
        thresholds = r.match.get("thresholds") or {}
        if thresholds:
            print("  thresholds: " + ", ".join(f"{k} {v}" for k, v in thresholds.items()))
        for before in r.match.get("redecided") or []:
            print(
                f"  re-decided {before['at']} (monitor story redecide): before, "
                f"{before['relation']} at story_threshold {before['story_threshold']}"
            )
    return 0


def cmd_digest_send(args: argparse.Namespace) -> int:
    from monitor.app import open_app
    from monitor.publish import digest

    now = _now(args.now)
    with open_app(_config(args), now=now) as app:
        sent = digest.send_due(app, now=now)
    for d in sent:
        print(f"{d.story}: {d.events} events -> {d.delivered_to}")
    if not sent:
        print("no digest due: nothing new since the last one")
    return 0


def cmd_sources(args: argparse.Namespace) -> int:
    from monitor.sources import manage as sources

    command = args.sources_command or "list"
    cfg = _config(args)
    if command == "export":
        sys.stdout.write(sources.export_opml(cfg.sources, now=_now(None)))
        return 0
    if command in ("add", "import") and not (args.config or os.environ.get("MONITOR_CONFIG")):
        raise UserError(
            f"sources {command}: no configuration file to write to "
            "(give --config FILE or set MONITOR_CONFIG)"
        )
    if command == "add":
        from monitor.fetch.client import Fetcher

        url = sources.site_url(args.url)
        try:
            interval = configmod.parse_duration(args.interval) if args.interval else None
        except ValueError as exc:
            raise UserError(f"--interval: {exc}") from None
        with Fetcher(cfg.fetch) as fetcher:
            found = sources.find_feed(fetcher, url)
        new = sources.NewSource(found.url, args.name or found.title, interval).named()
        done = sources.append_sources(
            cfg.path, [new], comment=f"added by: monitor sources add {args.url}"
        )
        if done.present:
            print(f"already in {cfg.path}: {found.url}")
        else:
            print(f"added {new.name} ({found.kind} feed) {found.url} to {cfg.path}")
        return 0
    if command == "import":
        done = sources.append_sources(
            cfg.path,
            sources.read_opml_files(args.files),
            comment="imported from " + ", ".join(Path(f).name for f in args.files),
        )
        for source, problem in done.invalid:
            print(f"skipped {source.url}: {problem}")
        print(
            f"{len(done.added)} added to {cfg.path}; skipped {len(done.present)} already there "
            f"and {len(done.invalid)} with an invalid URL"
        )
        return 0
    from monitor.app import open_app
    from storage.sources import all_sources

    now = _now(args.now)
    with open_app(cfg, now=now) as app, app.db.read() as session:
        rows = [sources.status_of(s, now=now) for s in all_sources(session)]
    if args.format == "json":
        print(json.dumps([r.as_json() for r in rows], ensure_ascii=False, indent=2))
        return 0
    if not rows:
        print("no sources (add one with: monitor sources add URL)")
    for r in rows:
        print(r.as_line())
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="monitor", description="Follow one news story across many outlets."
    )
    parser.add_argument(
        "--config",
        default=None,
        help="configuration file (TOML); default $MONITOR_CONFIG, else defaults",
    )
    parser.add_argument("--log-level", default=None, help="debug, info, warning or error")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("poll", help="poll due sources, re-check due articles, then exit")
    p.add_argument("--all", action="store_true", help="treat every source and article as due")
    p.add_argument("--now", help="the clock the pipeline sees (ISO 8601 with offset)")
    p.set_defaults(func=cmd_poll)

    p = sub.add_parser("run", help="the daemon: poll on schedule until SIGTERM or SIGINT")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("demo", help="run the whole pipeline offline on a replayed demo story")
    p.add_argument(
        "--out",
        default="data/demo",
        help="folder for the demo's database, story "
        "file and digests (emptied first; default data/demo)",
    )
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser(
        "extract",
        help="print what extraction makes of pages (text, metadata, status), one JSON per line",
    )
    p.add_argument("inputs", nargs="+", metavar="FILE_OR_URL", help=".html or .html.gz files, URLs")
    p.set_defaults(func=cmd_extract)

    p = sub.add_parser(
        "story", help="list or export stories, see their scores, re-decide at a new threshold"
    )
    story = p.add_subparsers(dest="story_command", required=True, metavar="SUBCOMMAND")
    q = story.add_parser("list", help="every story with its counts")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_story_list)
    q = story.add_parser("export", help="print the story file")
    q.add_argument("slug")
    q.add_argument("--format", choices=("json", "md"), default="json")
    q.add_argument("--output", "-o", help="write to this file instead of standard output")
    q.set_defaults(func=cmd_story_export)
    q = story.add_parser(
        "scores",
        help="what each article scored in the same-story stage against what it needed: for "
        "choosing a story's story_threshold",
    )
    q.add_argument("slug")
    q.add_argument(
        "--limit", type=int, default=20, help="the N nearest the threshold (0: every article)"
    )
    q.add_argument(
        "--threshold",
        type=float,
        help="see what this story_threshold would decide instead of the one in force",
    )
    q.add_argument("--json", action="store_true", help="one JSON object per line")
    q.set_defaults(func=cmd_story_scores)
    q = story.add_parser(
        "redecide",
        help="apply the story's story_threshold to the articles decided before it was set",
    )
    q.add_argument("slug")
    q.add_argument(
        "--dry-run", action="store_true", help="print what would change and change nothing"
    )
    q.add_argument("--now", help="the clock (ISO 8601 with offset)")
    q.add_argument("--json", action="store_true", help="one JSON object per change")
    q.set_defaults(func=cmd_story_redecide)
    q = story.add_parser(
        "backfill",
        help="decide the archive's articles the story has not decided (stored before it was "
        "configured), oldest first",
    )
    q.add_argument("slug")
    q.add_argument(
        "--off-topic",
        action="store_true",
        help="also those it judged off-topic: after adding seeds or keywords",
    )
    q.add_argument("--since", help="only articles published (else first seen) from this time on")
    q.add_argument("--now", help="the clock (ISO 8601 with offset)")
    q.add_argument("--json", action="store_true", help="the counts as one JSON object")
    q.set_defaults(func=cmd_story_backfill)

    p = sub.add_parser("search", help="articles containing every word of TEXT")
    p.add_argument("text")
    p.add_argument("--story", help="only this story's articles")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--json", action="store_true", help="one JSON object per line")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("explain", help="why an article is in a story, a copy, or off-topic")
    p.add_argument("url")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("digest", help="digest emails")
    digest = p.add_subparsers(dest="digest_command", required=True, metavar="SUBCOMMAND")
    q = digest.add_parser("send", help="send every digest that is due now")
    q.add_argument("--now", help="the clock (ISO 8601 with offset)")
    q.set_defaults(func=cmd_digest_send)

    p = sub.add_parser("sources", help="every source with its state; add, import or export sources")
    p.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text: one tab-separated line per source; json: a list of objects, for scripts",
    )
    p.add_argument("--now", help="the clock the states are judged at (ISO 8601 with offset)")
    p.set_defaults(func=cmd_sources)
    srcs = p.add_subparsers(dest="sources_command", metavar="SUBCOMMAND")
    q = srcs.add_parser("add", help="find the feed of URL (a feed or a site) and add it")
    q.add_argument("url")
    q.add_argument("--name", help="the outlet's name (default: the feed's title)")
    q.add_argument("--interval", help="seconds between polls (or 30m, 6h, ...)")
    q = srcs.add_parser("import", help="add every feed of OPML files not already there")
    q.add_argument("files", nargs="+", metavar="FILE.opml")
    q = srcs.add_parser("export", help="print the configured sources as OPML")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except UserError as exc:
        print(f"monitor: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except MonitorError as exc:
        print(f"monitor: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `monitor story export ... | head`: not an error; silence the interpreter's complaint.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
