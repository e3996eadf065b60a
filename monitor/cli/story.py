"""``monitor story``: list and export stories (as they stand or stood), say what changed between
two versions, trace their facts, see their same-story scores (and which articles a label would
teach most), re-decide them at a new threshold, backfill the archive (labels:
``monitor.cli.labels``). Each command reads its options and configuration before it imports the
library."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from monitor.cli import present
from monitor.cli.common import (
    configured_story,
    load_config,
    no_such_story,
    now_option,
    reading,
    time_option,
    window_option,
)
from monitor.errors import UserError

if TYPE_CHECKING:
    from monitor.config import Config
    from storage.db import ReadSession
    from storage.facts import FactFinder
    from storage.members import StoryScore


def cmd_story_list(args: argparse.Namespace) -> int:
    config = load_config(args)
    from storage import stories

    with reading(config) as session:
        rows = stories.list_stories(session)
    present.emit(present.story_list(rows, as_json=args.json))
    return 0


def point_option(option: str, value: str) -> int | datetime:
    """A point in a story's history: a story version (a whole number) or an ISO 8601 time."""
    if value.isdigit():
        return int(value)
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UserError(
            f"{option}: expected a story version (0, 1, 2...) or an ISO 8601 time with a UTC "
            f"offset, got {value!r}"
        ) from None
    return time_option(option, value)


def _story_file(
    session: ReadSession,
    slug: str,
    when: int | datetime | None,
    option: str,
    facts: FactFinder | None = None,
    *,
    texts: bool = False,
    threshold: float | None = None,
) -> dict[str, Any]:
    """The story file of ``slug``, as it stands (with its facts when ``facts`` finds them) or as
    it stood at ``when`` (facts are of the members as they stand: an earlier file has none),
    each version with its text when ``texts``; a UserError naming ``option`` for a point the
    story never had."""
    from storage import history, storyfile

    try:
        story = (
            storyfile.build(session, slug, facts=facts, texts=texts, threshold=threshold)
            if when is None
            else storyfile.build_as_of(session, slug, when, texts=texts)
        )
    except history.NoSuchPoint as exc:
        raise UserError(f"{option}: {exc}") from None
    if story is None:
        raise no_such_story(slug)
    return story


def _export_options(args: argparse.Namespace) -> dict[str, Any]:
    """The rendering options ``story export`` was given, checked before anything is read."""
    from monitor.publish import atom

    if args.entries is not None and args.entries < 1:
        raise UserError(f"--entries: expected a positive number, got {args.entries}")
    options: dict[str, Any] = {"versions": args.versions, "entries": args.entries}
    if args.tag_authority is not None:
        try:
            options["tag_authority"] = atom.check_authority(args.tag_authority)
        except ValueError as exc:
            raise UserError(f"--tag-authority: {exc}") from None
    return options


def cmd_story_export(args: argparse.Namespace) -> int:
    when = None if args.as_of is None else point_option("--as-of", args.as_of)
    config = load_config(args)
    # After the configuration: checking --tag-authority imports the renderings, and a mistake
    # in the configuration is answered before any library loads.
    options = _export_options(args)
    from monitor.match.facts import story_facts
    from monitor.publish import render

    with reading(config) as session:
        finder = None if args.no_facts else story_facts
        # Only the page diffs the texts; the other formats would carry them for nothing.
        story = _story_file(
            session,
            args.slug,
            when,
            "--as-of",
            finder,
            texts=args.format == "html",
            threshold=configured_threshold(config, args.slug),
        )
    data = render.render(story, args.format, **options).encode("utf-8")
    if args.output:
        Path(args.output).write_bytes(data)
    else:
        # Bytes, so that the CSV's CRLF and the UTF-8 reach the file whatever the locale.
        sys.stdout.flush()
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    return 0


def cmd_story_diff(args: argparse.Namespace) -> int:
    start = point_option("FROM", args.start)
    end = point_option("TO", args.end)
    config = load_config(args)
    from monitor.publish import storydiff

    with reading(config) as session:
        before = _story_file(session, args.slug, start, "FROM")
        after = _story_file(session, args.slug, end, "TO")
    if before["version"] > after["version"]:
        raise UserError(
            f"FROM ({args.start}: version {before['version']}) comes after TO ({args.end}: "
            f"version {after['version']}): give the earlier first"
        )
    found = storydiff.changes(before, after)
    if args.json:
        print(json.dumps(storydiff.as_json(before, after, found), ensure_ascii=False, indent=2))
    else:
        sys.stdout.write(storydiff.text(before, after, found))
    return 0


def _scored(rows: Sequence[StoryScore], threshold: float | None) -> list[present.Scored]:
    """Each decision seen at ``threshold`` (None: the one it was decided with), nearest the line
    first: those are the ones another story_threshold would decide otherwise."""
    from monitor.match import story_bar, would_flip

    out = []
    for r in rows:
        needed = story_bar(r.threshold if threshold is None else threshold, r.keyword_hits)
        flips = threshold is not None and would_flip(r, threshold)
        out.append(present.Scored(r, needed, r.score - needed, flips))
    return sorted(out, key=lambda s: abs(s.margin))


def configured_threshold(config: Config, slug: str) -> float:
    """The story's configured threshold: its own ``story_threshold``, else ``[match]``'s."""
    own = next((s.story_threshold for s in config.stories if s.slug == slug), None)
    return config.match.story_threshold if own is None else own


def _suggested(rows: Sequence[StoryScore], threshold: float, limit: int) -> list[present.Scored]:
    """The unlabelled decisions nearest the line at ``threshold``, both sides, nearest first."""
    from monitor.match import story_bar

    out = []
    for r in rows:
        if r.label is None:
            needed = story_bar(threshold, r.keyword_hits)
            out.append(present.Scored(r, needed, r.score - needed, False))
    out.sort(key=lambda s: (abs(s.margin), s.row.decided_at, s.row.url))
    return out[:limit] if limit else out


def cmd_story_scores(args: argparse.Namespace) -> int:
    if args.threshold is not None and not 0 <= args.threshold <= 1:
        raise UserError(f"--threshold: expected a number from 0 to 1, got {args.threshold}")
    if args.suggest and args.threshold is not None:
        raise UserError("--suggest: uses the threshold the story decides with; drop --threshold")
    config = load_config(args)
    from storage import labels, members, stories

    with reading(config) as session:
        story = stories.story_by_slug(session, args.slug)
        if story is None:
            raise no_such_story(args.slug)
        rows = members.story_scores(session, story.id)
        fitted = labels.fitted(session, story.id)
    prior = configured_threshold(config, args.slug)
    if args.suggest:
        effective = prior if fitted is None else fitted
        suggested = _suggested(rows, effective, args.limit)
        if args.json:
            present.emit(present.scores_json(suggested))
        else:
            present.emit(present.suggestions(args.slug, suggested, effective))
        return 0
    scored = _scored(rows, args.threshold)
    shown = sorted(scored[: args.limit] if args.limit else scored, key=lambda s: -s.margin)
    if args.json:
        present.emit(present.scores_json(shown))
        return 0
    print(f"{args.slug}: decides with {present.thresholds_line(prior, fitted)}")
    present.emit(present.scores_text(args.slug, len(rows), shown, args.threshold))
    if rows and args.threshold is not None:
        flipped = [s.row for s in scored if s.flips]
        print(present.flips_summary(args.slug, args.threshold, flipped))
    return 0


def cmd_story_redecide(args: argparse.Namespace) -> int:
    now = now_option(args.now)
    config = load_config(args)
    from monitor.app import open_app
    from monitor.stories import facts as kept_facts
    from monitor.stories.redecide import redecide

    with open_app(config, now=now) as app:
        story = configured_story(app, config, args.slug)
        threshold = app.story_settings(story).story_threshold
        changes = redecide(app, story, now=now, dry_run=args.dry_run)
        kept_facts.refresh(app, now=now)
    if args.json:
        present.emit(present.json_line(c.__dict__) for c in changes)
        return 0
    present.emit(present.redecided(args.slug, threshold, changes, dry_run=args.dry_run))
    return 0


def cmd_story_backfill(args: argparse.Namespace) -> int:
    if args.origin is not None:
        return _backfill_archive(args)
    if args.until is not None or args.no_versions:
        raise UserError("--until and --no-versions go with --from wayback|gdelt")
    now = now_option(args.now)
    since = None if args.since is None else time_option("--since", args.since)
    config = load_config(args)
    from monitor.app import open_app
    from monitor.stories import facts as kept_facts
    from monitor.stories.backfill import backfill

    with open_app(config, now=now) as app:
        story = configured_story(app, config, args.slug)
        done = backfill(app, story, now=now, since=since, off_topic=args.off_topic)
        kept_facts.refresh(app, now=now)
    if args.json:
        print(json.dumps({"story": args.slug, **done.__dict__}))
        return 0
    print(present.backfilled(args.slug, done, off_topic=args.off_topic))
    return 0


def cmd_story_facts(args: argparse.Namespace) -> int:
    if args.limit < 0:
        raise UserError(f"--limit: expected 0 (all) or more, got {args.limit}")
    config = load_config(args)
    from monitor.match.facts import story_facts
    from storage import facts, stories

    with reading(config) as session:
        story = stories.story_by_slug(session, args.slug)
        if story is None:
            raise no_such_story(args.slug)
        # Those kept after the round that made this version, else found now.
        found = facts.facts_at(session, story.id, story.version, story_facts)
    shown = found[: args.limit] if args.limit else found
    if args.json:
        present.emit(present.json_line(f) for f in shown)
        return 0
    present.emit(present.facts_text(args.slug, len(found), shown))
    return 0


def _backfill_archive(args: argparse.Namespace) -> int:
    """``story backfill SLUG --from wayback|gdelt``: the story rebuilt from a web archive."""
    if args.since is None or args.until is None:
        raise UserError(f"--from {args.origin}: give the window with --since and --until")
    since = window_option("--since", args.since)
    until = window_option("--until", args.until, end=True)
    if until < since:
        raise UserError(f"--until {args.until} is before --since {args.since}")
    now = now_option(args.now)
    config = load_config(args)
    from monitor.app import open_app
    from monitor.stories import facts as kept_facts
    from monitor.stories.wayback import backfill_archive

    with open_app(config, now=now) as app:
        story = configured_story(app, config, args.slug)
        past = backfill_archive(
            app,
            story,
            since=since,
            until=until,
            origin=args.origin,
            versions=not args.no_versions,
            now=now,
        )
        kept_facts.refresh(app, now=now)
    if args.json:
        print(json.dumps({"story": args.slug, "from": args.origin, **present.past_counts(past)}))
    else:
        print(present.rebuilt(args.slug, args.origin, past))
    return 0 if past.stopped is None else 1
