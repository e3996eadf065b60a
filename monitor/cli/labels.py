"""``monitor story label`` and ``monitor story labels``: the analyst in the loop. Each command
reads its options and configuration before it imports the library. A story or article that is
not there is a runtime error (exit 1: the archive was read); a wrong combination of options is
a usage error (exit 2)."""

from __future__ import annotations

import argparse
import json

from monitor.cli import present
from monitor.cli.common import load_config, now_option, reading
from monitor.errors import LabelError, UserError


def _value(args: argparse.Namespace) -> str:
    """``in``, ``out`` or ``clear``, from the arguments (a UserError for a wrong combination)."""
    if args.clear and args.value is not None:
        raise UserError(f"story label: give {args.value} or --clear, not both")
    if args.clear and args.note is not None:
        raise UserError("story label: --note goes with in or out, not with --clear")
    if not args.clear and args.value is None:
        raise UserError("story label: give in or out (or --clear to withdraw the label)")
    return "clear" if args.clear else str(args.value)


def cmd_story_label(args: argparse.Namespace) -> int:
    value = _value(args)
    now = now_option(args.now)
    config = load_config(args)
    from monitor.app import open_app
    from monitor.stories import facts as kept_facts
    from monitor.stories.labels import label

    with open_app(config, now=now) as app:
        story = next((s for s in app.stories if s.slug == args.slug), None)
        if story is None:
            raise LabelError(f"{config.path}: no [[story]] with slug {args.slug!r}")
        done = label(app, story, args.url, value, note=args.note, now=now)
        kept_facts.refresh(app, now=now)
    if args.json:
        print(present.json_line(present.labelled_json(args.slug, done)))
        return 0
    present.emit(present.labelled(args.slug, done))
    return 0


def cmd_story_labels(args: argparse.Namespace) -> int:
    config = load_config(args)
    from storage import labels, stories

    with reading(config) as session:
        story = stories.story_by_slug(session, args.slug)
        if story is None:
            raise LabelError(f"no story {args.slug!r} (see: monitor story list)")
        rows = labels.labelled(session, story.id)
        fitted = labels.fitted(session, story.id)
    if args.format == "json":
        print(json.dumps([present.label_row(r) for r in rows], ensure_ascii=False, indent=2))
        return 0
    present.emit(present.labels_table(args.slug, rows, fitted))
    return 0
