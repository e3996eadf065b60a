"""Renderings of the story file and digests (Jinja templates in monitor/publish/templates). Pure:
the story file in, text out.

``render(story, fmt, ...)`` gives every format ``monitor story export`` offers:

- ``json``: the story file itself (docs/story-file.md, docs/story-file.schema.json);
- ``md``: Markdown, every value from the web escaped by ``monitor.publish.mdtext``;
- ``html``: one self-contained page (``monitor.publish.page`` computes what it shows);
- ``csv``: the articles, or the versions, as RFC 4180 CSV (``monitor.publish.table``);
- ``atom``: an Atom 1.0 feed of the timeline (``monitor.publish.atom``).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import jinja2
import orjson

from monitor.publish import atom, kindtext, marks, mdtext, page, table

FORMATS = ("json", "md", "html", "csv", "atom")

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("monitor.publish", "templates"),
    autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    undefined=jinja2.StrictUndefined,
)
_ENV.filters["md"] = mdtext.text
_ENV.filters["mdurl"] = mdtext.url
_ENV.filters["mdcode"] = mdtext.code
_ENV.globals.update(marks.GLOBALS)


def template(name: str) -> jinja2.Template:
    return _ENV.get_template(name)


def story_json(story: dict[str, Any]) -> str:
    """The story file as JSON, indented by two spaces, UTF-8 characters as they are: the same
    text ``json.dumps(story, ensure_ascii=False, indent=2)`` gives (a test holds them equal),
    made by orjson in a seventh of the time (a 32 MB file: 0.11 s against 0.78 s)."""
    return orjson.dumps(story, option=orjson.OPT_INDENT_2).decode("utf-8") + "\n"


def _version_note(v: dict[str, Any]) -> str:
    """What changed in a version, as Markdown (the previous title escaped)."""
    changes = v.get("changes") or {}
    if v["version"] == 1 or not changes:
        return ""
    note = (
        f": {changes.get('words_added', 0)} words added, {changes.get('words_removed', 0)} removed"
    )
    if changes.get("title_changed"):
        note += f", title was “{mdtext.text(changes.get('previous_title'))}”"
    for kind in v.get("kinds") or []:
        name, evidence = kindtext.describe(kind)
        note += f"\n    - {mdtext.text(name)}" + (f": {mdtext.text(evidence)}" if evidence else "")
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


def _stylesheet() -> tuple[str, str]:
    """The page's CSS and the Content-Security-Policy that allows it, by its hash, and nothing
    else: no script runs and nothing is fetched, whatever a value from the web might hold."""
    loader = _ENV.loader
    assert loader is not None
    css = loader.get_source(_ENV, "story.css")[0]
    digest = base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode("ascii")
    csp = (
        f"default-src 'none'; style-src 'sha256-{digest}'; img-src 'none'; "
        "base-uri 'none'; form-action 'none'"
    )
    return css, csp


def story_html(story: dict[str, Any]) -> str:
    """The story page. Its diffs need each version's ``text`` (``build(..., texts=True)``) or
    a stored ``diff``; without either, versions show their counts only."""
    css, csp = _stylesheet()
    legend = [(e, page.event_label(e)) for e in page.EVENT_LABELS]
    return template("story.html.j2").render(
        p=page.model(story),
        css=css,
        csp=csp,
        legend=legend,
        label_width=page.LABEL_WIDTH,
        schema=story.get("schema", 1),
    )


def render(
    story: dict[str, Any],
    fmt: str,
    *,
    versions: bool = False,
    entries: int | None = None,
    tag_authority: str = atom.TAG_AUTHORITY,
) -> str:
    """``story`` in format ``fmt`` (one of ``FORMATS``). ``versions``: the CSV lists versions
    instead of articles; ``entries``: the Atom feed keeps the newest N events;
    ``tag_authority``: the Atom ids' ``tag:`` authority and date."""
    if fmt == "json":
        return story_json(story)
    if fmt == "md":
        return story_markdown(story)
    if fmt == "html":
        return story_html(story)
    if fmt == "csv":
        return table.versions_csv(story) if versions else table.articles_csv(story)
    if fmt == "atom":
        return atom.feed(story, entries=entries, tag_authority=tag_authority)
    raise ValueError(f"unknown format {fmt!r}: expected one of {', '.join(FORMATS)}")
