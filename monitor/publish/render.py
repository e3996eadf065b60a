"""Renderings of the story file and digests (Jinja templates in monitor/publish/templates). Pure."""

from __future__ import annotations

import json
from typing import Any

import jinja2

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("monitor.publish", "templates"),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    undefined=jinja2.StrictUndefined,
)


def template(name: str) -> jinja2.Template:
    return _ENV.get_template(name)


def story_json(story: dict[str, Any]) -> str:
    return json.dumps(story, ensure_ascii=False, indent=2) + "\n"


def _version_note(v: dict[str, Any]) -> str:
    changes = v.get("changes") or {}
    if v["version"] == 1 or not changes:
        return ""
    note = (
        f": {changes.get('words_added', 0)} words added, {changes.get('words_removed', 0)} removed"
    )
    if changes.get("title_changed"):
        note += f", title was “{changes.get('previous_title')}”"
    return note


# Lines of one outlet's off-topic articles a rendering lists; the rest are counted.
OFF_TOPIC_LINES = 5


def off_topic_groups(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The off-topic list as a reader takes it in: by outlet, in order of first appearance,
    each outlet's articles counted; identical lines (same title and reason: an aggregator's
    twenty copies of one page) one line with their count and first URL; at most
    ``OFF_TOPIC_LINES`` lines an outlet, the rest counted (``more``). The JSON lists every one."""
    outlets: dict[str, dict[str, Any]] = {}
    for entry in entries:
        outlet = outlets.setdefault(
            entry["outlet"], {"outlet": entry["outlet"], "count": 0, "lines": {}}
        )
        outlet["count"] += 1
        reason = (entry.get("match") or {}).get("reason")
        key = (entry.get("title") or entry["url"], reason)
        line = outlet["lines"].setdefault(
            key, {"title": entry.get("title"), "url": entry["url"], "reason": reason, "count": 0}
        )
        line["count"] += 1
    out = []
    for outlet in outlets.values():
        lines = list(outlet["lines"].values())
        shown = lines[:OFF_TOPIC_LINES]
        more = sum(line["count"] for line in lines[OFF_TOPIC_LINES:])
        out.append(
            {"outlet": outlet["outlet"], "count": outlet["count"], "lines": shown, "more": more}
        )
    return out


def story_markdown(story: dict[str, Any]) -> str:
    articles = [a for o in story["outlets"] for a in o["articles"]]
    return template("story.md.j2").render(
        s=story,
        version_note=_version_note,
        n_articles=len(articles),
        n_copies=sum(1 for a in articles if a["relation"] == "copy"),
        off_topic=off_topic_groups(story["off_topic"]),
    )
