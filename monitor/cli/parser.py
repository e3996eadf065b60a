"""The ``monitor`` command line: one function per group of commands, each command's handler set
as ``func``. Building the parser imports no library module, so ``--help`` is quick."""

from __future__ import annotations

import argparse
from typing import Any

from monitor import __version__
from monitor.cli.commands import (
    cmd_config_example,
    cmd_demo,
    cmd_digest_preview,
    cmd_digest_send,
    cmd_digest_status,
    cmd_explain,
    cmd_extract,
    cmd_poll,
    cmd_run,
    cmd_search,
    cmd_serve,
)
from monitor.cli.db import cmd_db_copy, cmd_db_optimize, cmd_db_upgrade
from monitor.cli.labels import cmd_story_label, cmd_story_labels
from monitor.cli.sources import (
    cmd_sources_add,
    cmd_sources_export,
    cmd_sources_import,
    cmd_sources_list,
    cmd_story_sources,
)
from monitor.cli.story import (
    cmd_story_backfill,
    cmd_story_diff,
    cmd_story_export,
    cmd_story_facts,
    cmd_story_list,
    cmd_story_redecide,
    cmd_story_scores,
)

Commands = Any  # argparse's _SubParsersAction, which typeshed does not name publicly


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
    parser.add_argument("--version", action="version", version=f"monitor {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_pipeline(sub)
    _add_config(sub)
    _add_story(sub)
    _add_archive(sub)
    _add_digest(sub)
    _add_sources(sub)
    _add_db(sub)
    return parser


def _add_pipeline(sub: Commands) -> None:
    """poll, run, demo and extract: the pipeline, whole or one stage."""
    p = sub.add_parser("poll", help="poll due sources, re-check due articles, then exit")
    p.add_argument("--all", action="store_true", help="treat every source and article as due")
    p.add_argument("--now", help="the clock the pipeline sees (ISO 8601 with offset)")
    p.set_defaults(func=cmd_poll)

    p = sub.add_parser("run", help="the daemon: poll on schedule until SIGTERM or SIGINT")
    p.add_argument(
        "--workers",
        type=_positive_int,
        default=1,
        metavar="N",
        help="worker processes sharing the database's work (default 1)",
    )
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


def _add_config(sub: Commands) -> None:
    p = sub.add_parser("config", help="the configuration file")
    config = p.add_subparsers(dest="config_command", required=True, metavar="SUBCOMMAND")
    q = config.add_parser(
        "example",
        help="print an example configuration: every setting at its default, with its help "
        "(monitor config example > monitor.toml)",
    )
    q.set_defaults(func=cmd_config_example)


def _add_story(sub: Commands) -> None:
    p = sub.add_parser(
        "story",
        help="list or export stories, see their scores, label articles, re-decide at a new "
        "threshold",
    )
    story = p.add_subparsers(dest="story_command", required=True, metavar="SUBCOMMAND")
    q = story.add_parser("list", help="every story with its counts")
    q.add_argument("--json", action="store_true")
    q.set_defaults(func=cmd_story_list)

    _add_story_export(story)

    q = story.add_parser(
        "sources",
        help="the sources a story follows; --add-queries appends its query sources (Google "
        "News, Bing News, GDELT) made from its keywords to the configuration file",
    )
    q.add_argument("slug")
    q.add_argument("--add-queries", action="store_true")
    q.set_defaults(func=cmd_story_sources)

    q = story.add_parser(
        "diff", help="what changed in a story between two versions (or times), in words"
    )
    q.add_argument("slug")
    q.add_argument(
        "start", metavar="FROM", help="a story version, or a time (ISO 8601 with offset)"
    )
    q.add_argument("end", metavar="TO", help="a later story version, or a later time")
    q.add_argument("--json", action="store_true", help="one JSON object, for scripts")
    q.set_defaults(func=cmd_story_diff)

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
    q.add_argument(
        "--suggest",
        action="store_true",
        help="the unlabelled articles whose label would teach the story most: those nearest "
        "the line at the threshold it decides with, both sides",
    )
    q.add_argument("--json", action="store_true", help="one JSON object per line")
    q.set_defaults(func=cmd_story_scores)
    _add_story_facts(story)
    _add_story_labels(story)
    _add_story_deciding(story)


def _add_story_labels(story: Commands) -> None:
    """story label and labels: the analyst in the loop."""
    q = story.add_parser(
        "label",
        help="label an article in or out of the story (the matcher never overrides it), refit "
        "the story's threshold from its labels and re-decide the past at it",
    )
    q.add_argument("slug")
    q.add_argument("url", help="the article's URL (as stored, its canonical URL or final URL)")
    q.add_argument("value", nargs="?", choices=("in", "out"), help="in or out of the story")
    q.add_argument("--note", help="why: kept with the label and shown in the story file")
    q.add_argument(
        "--clear", action="store_true", help="withdraw the article's label (the matcher decides)"
    )
    q.add_argument("--now", help="the clock (ISO 8601 with offset)")
    q.add_argument("--json", action="store_true", help="what the label did, as one JSON object")
    q.set_defaults(func=cmd_story_label)

    q = story.add_parser("labels", help="the story's labelled articles, newest label first")
    q.add_argument("slug")
    q.add_argument(
        "--format",
        choices=("table", "json"),
        default="table",
        help="table: one line per article; json: a list of objects, for scripts",
    )
    q.set_defaults(func=cmd_story_labels)


def _add_story_export(story: Commands) -> None:
    q = story.add_parser("export", help="print the story file")
    q.add_argument("slug")
    q.add_argument(
        "--format",
        choices=("json", "md", "html", "csv", "atom"),
        default="json",
        help="json: the story file; md: Markdown; html: one self-contained page with the "
        "timeline and side-by-side diffs; csv: one row per article; atom: a feed of the "
        "timeline (docs/story-file.md#renderings)",
    )
    q.add_argument("--output", "-o", help="write to this file instead of standard output")
    q.add_argument(
        "--as-of",
        metavar="VERSION_OR_TIME",
        help="the file as it stood at this story version, or at this time (ISO 8601 with offset)",
    )
    q.add_argument(
        "--no-facts",
        action="store_true",
        help="leave out the facts (kept after each round that changed the story; found afresh, "
        "which takes seconds for thousands of articles, when they were not)",
    )
    _add_export_options(q)
    q.set_defaults(func=cmd_story_export)


def _add_story_facts(story: Commands) -> None:
    q = story.add_parser(
        "facts",
        help="each fact (a sentence with a number, a name, a quote or a date) carried by two "
        "articles or more: which outlet carried it first and when, who carried it later",
    )
    q.add_argument("slug")
    q.add_argument("--limit", type=int, default=20, help="the first N facts (0: all)")
    q.add_argument("--json", action="store_true", help="one JSON object per fact")
    q.set_defaults(func=cmd_story_facts)


def _add_export_options(q: argparse.ArgumentParser) -> None:
    """story export's options for one format each."""
    q.add_argument(
        "--versions", action="store_true", help="csv: one row per version instead of per article"
    )
    q.add_argument(
        "--entries", type=int, metavar="N", help="atom: only the newest N events (default: all)"
    )
    q.add_argument(
        "--tag-authority",
        metavar="DOMAIN,DATE",
        help="atom: the authority of the entries' tag: ids, a domain or e-mail address you "
        "held on DATE (default news-monitor.invalid,2026); set it once, before readers subscribe",
    )


def _add_story_deciding(story: Commands) -> None:
    """story redecide and backfill: the commands that decide again."""
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
    q.add_argument(
        "--since",
        help="only articles published (else first seen) from this time on; with --from, the "
        "window's start (a day, 2023-03-01, or a time with its offset)",
    )
    q.add_argument("--until", help="with --from: the window's end (a day, inclusive, or a time)")
    q.add_argument(
        "--from",
        dest="origin",
        choices=("wayback", "gdelt"),
        help="rebuild the story from a web archive over --since..--until: the Wayback "
        "Machine's captures of its feeds, or GDELT's article lists for its GDELT query "
        "sources; then its articles' past versions from their captures and their outlets' "
        "pages as they are --now. Resumable: run it "
        "again to continue",
    )
    q.add_argument(
        "--no-versions",
        action="store_true",
        help="with --from: one version per article, as published (its capture nearest "
        "publication, else its outlet's page): no later captures, not today's page",
    )
    q.add_argument("--now", help="the clock (ISO 8601 with offset)")
    q.add_argument("--json", action="store_true", help="the counts as one JSON object")
    q.set_defaults(func=cmd_story_backfill)


def _add_archive(sub: Commands) -> None:
    """search, serve and explain: reading the archive."""
    p = sub.add_parser(
        "search",
        help="ranked full-text search of titles and texts (syntax: docs/search.md)",
        description='QUERY: words (all must match), "a phrase", prefix*, a OR b, -excluded.',
    )
    p.add_argument("text", metavar="QUERY")
    p.add_argument("--story", help="only this story's members (not those judged off-topic)")
    p.add_argument("--outlet", help="only this outlet (its name, any case)")
    p.add_argument(
        "--relation",
        choices=("seed", "original", "copy", "off_topic"),
        help="only articles with this relation (to --story, else to any story)",
    )
    p.add_argument("--lang", help="only articles in this language (en, fr, ...)")
    p.add_argument("--since", help="published (else first seen) on or after: YYYY-MM-DD or a time")
    p.add_argument("--until", help="published (else first seen) before: YYYY-MM-DD or a time")
    p.add_argument(
        "--any-version", action="store_true", help="match every version, not only the newest"
    )
    p.add_argument("--limit", type=int, default=20, help="hits to show (default 20, at most 1000)")
    p.add_argument("--offset", type=int, default=0, help="hits to skip first (default 0)")
    p.add_argument(
        "--format",
        choices=("table", "json", "csv"),
        default="table",
        help="table (default), json (one object per hit and line) or csv",
    )
    p.add_argument("--json", action="store_true", help="the same as --format json")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser(
        "serve",
        help="serve the JSON API and the web pages (stories, timelines, diffs, facts, search, "
        "sources) on 127.0.0.1:8080 ([web] settings), read-only",
    )
    p.add_argument("--host", help="the address to listen on (default [web] host, 127.0.0.1)")
    p.add_argument(
        "--port", type=_port, help="the port to listen on (default [web] port, 8080; 0: any free)"
    )
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("explain", help="why an article is in a story, a copy, or off-topic")
    p.add_argument("url")
    p.set_defaults(func=cmd_explain)


def _add_digest(sub: Commands) -> None:
    p = sub.add_parser("digest", help="digest emails")
    digest = p.add_subparsers(dest="digest_command", required=True, metavar="SUBCOMMAND")
    q = digest.add_parser(
        "send", help="build the digests due now and send every digest due (retries too)"
    )
    q.add_argument("--now", help="the clock (ISO 8601 with offset)")
    q.set_defaults(func=cmd_digest_send)
    q = digest.add_parser("preview", help="print a recipient's next digest of SLUG, not sent")
    q.add_argument("slug")
    q.add_argument("--recipient", help="whose digest (default: the first recipient)")
    q.add_argument("--format", choices=("text", "html"), default="text", help="which part")
    q.add_argument("--now", help="the clock (ISO 8601 with offset)")
    q.set_defaults(func=cmd_digest_preview)
    q = digest.add_parser("status", help="every digest with its state, attempts and last reply")
    q.add_argument("--json", action="store_true", help="one JSON object per line")
    q.set_defaults(func=cmd_digest_status)


def _add_sources(sub: Commands) -> None:
    p = sub.add_parser("sources", help="every source with its state; add, import or export sources")
    p.add_argument(
        "--format",
        choices=("text", "json"),
        default="text",
        help="text: one tab-separated line per source; json: a list of objects, for scripts",
    )
    p.add_argument("--now", help="the clock the states are judged at (ISO 8601 with offset)")
    p.set_defaults(func=cmd_sources_list)  # without a subcommand: the list
    srcs = p.add_subparsers(dest="sources_command", metavar="SUBCOMMAND")
    q = srcs.add_parser("add", help="find the feed of URL (a feed or a site) and add it")
    q.add_argument("url")
    q.add_argument("--name", help="the outlet's name (default: the feed's title)")
    q.add_argument("--interval", help="seconds between polls (or 30m, 6h, ...)")
    q.set_defaults(func=cmd_sources_add)
    q = srcs.add_parser("import", help="add every feed of OPML files not already there")
    q.add_argument("files", nargs="+", metavar="FILE.opml")
    q.set_defaults(func=cmd_sources_import)
    q = srcs.add_parser("export", help="print the configured sources as OPML")
    q.set_defaults(func=cmd_sources_export)


def _add_db(sub: Commands) -> None:
    """db upgrade, db copy and db optimize: the schema, moving an archive, the search index."""
    p = sub.add_parser(
        "db", help="apply migrations; copy an archive to another database; merge the search index"
    )
    db = p.add_subparsers(dest="db_command", required=True, metavar="SUBCOMMAND")
    q = db.add_parser(
        "upgrade", help="apply the migrations the database lacks and print them (run does too)"
    )
    q.add_argument("--url", help="this database instead of [storage] url (an SQLAlchemy URL)")
    q.set_defaults(func=cmd_db_upgrade)
    q = db.add_parser(
        "copy",
        help="copy every table of an archive, ids included, into an empty database (e.g. "
        "SQLite to PostgreSQL), then count both sides; stop the daemon first",
    )
    q.add_argument("--from", dest="from_", required=True, metavar="URL", help="the archive")
    q.add_argument("--to", required=True, metavar="URL", help="the database to fill (migrated)")
    q.add_argument(
        "--resume",
        action="store_true",
        help="the target holds an interrupted copy: keep its complete tables, copy the rest "
        "(each table is copied in one transaction, so none is half-copied)",
    )
    q.set_defaults(func=cmd_db_copy)
    q = db.add_parser(
        "optimize",
        help="merge SQLite's search index into one segment now, for faster searches (polls do "
        "it once a day; after a large import or copy, do it at once); nothing on PostgreSQL",
    )
    q.add_argument("--url", help="this database instead of [storage] url (an SQLAlchemy URL)")
    q.set_defaults(func=cmd_db_optimize)


def _positive_int(value: str) -> int:
    """An argument that must be a whole number of at least 1 (argparse names the option)."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value}")
    return number


def _port(value: str) -> int:
    """A TCP port, 0 (any free one) to 65535 (argparse names the option)."""
    if not value.isdigit() or int(value) > 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {value!r}")
    return int(value)
