"""The story's timeline as an Atom 1.0 feed (RFC 4287), one entry per event, newest first, so
that a feed reader follows the story. Pure.

Entry ids are ``tag:`` URIs (RFC 4151) made of the story's slug and the story version the event
made (``tag:news-monitor.invalid,2026:roxham-road/v12``): an event keeps its id in every export,
and no two events of a story share one, so a reader shows each change once. The tag authority
(a domain or e-mail address and a date its owner held it) defaults to a name under the reserved
``.invalid`` domain, which nobody owns; whoever publishes the feed can give their own
(``--tag-authority example.org,2026``), once, before readers subscribe: a new authority gives
every entry a new id.

``updated`` is the event's time (RFC 3339, UTC); an entry links to its article when the URL is
http(s) (a seed has none) and always has a text ``content``, so a link is never required.
Characters XML 1.0 cannot carry (most control characters) are dropped from text from the web.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import quote

from monitor.publish.page import event_label, href, parse_time

ATOM = "http://www.w3.org/2005/Atom"
TAG_AUTHORITY = "news-monitor.invalid,2026"
# RFC 4151: a DNS name or an e-mail address, a comma, a date (year, year-month or full date).
_AUTHORITY = re.compile(
    r"^(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"|[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+),\d{4}(?:-\d{2}(?:-\d{2})?)?$"
)
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def check_authority(value: str) -> str:
    if not _AUTHORITY.match(value):
        raise ValueError(
            f"tag authority {value!r}: expected a domain or e-mail address, a comma and a date "
            "(example.org,2026 or you@example.org,2026-01-31)"
        )
    return value


def rfc3339(value: str) -> str:
    return parse_time(value).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(value: Any) -> str:
    return _NOT_XML.sub("", "" if value is None else str(value))


def _add(parent: ET.Element, tag: str, text: Any = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: _text(v) for k, v in attrs.items()})
    if text is not None:
        element.text = _text(text)
    return element


def feed(
    story: dict[str, Any], *, entries: int | None = None, tag_authority: str = TAG_AUTHORITY
) -> str:
    """The feed of ``story``'s timeline; ``entries``: only the newest N events."""
    base = f"tag:{check_authority(tag_authority)}:{quote(story['story'], safe='-._~')}"
    root = ET.Element("feed", {"xmlns": ATOM})
    _add(root, "id", base)
    _add(root, "title", story["title"], type="text")
    articles = [a for o in story["outlets"] for a in o["articles"]]
    _add(
        root,
        "subtitle",
        f"What {len(story['outlets'])} outlets reported on this story and every later edit: "
        f"{len(articles)} articles, story version {story['version']}.",
        type="text",
    )
    _add(root, "updated", rfc3339(story["updated_at"]))
    _add(_add(root, "author"), "name", "news-monitor")
    _add(root, "generator", "news-monitor")
    index = {a["url"]: (o["name"], a) for o in story["outlets"] for a in o["articles"]}
    events = story["timeline"] if entries is None else story["timeline"][-entries:]
    for event in reversed(events):
        _entry(root, event, base, index)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, "unicode") + "\n"


def _entry(
    root: ET.Element, e: dict[str, Any], base: str, index: dict[str, tuple[str, Any]]
) -> None:
    entry = _add(root, "entry")
    _add(entry, "id", f"{base}/v{e['story_version']}")
    label = event_label(e["event"])
    title = e["title"] or e["url"]
    _add(entry, "title", f"{label.capitalize()} — {e['outlet']}: {title}", type="text")
    _add(entry, "updated", rfc3339(e["at"]))
    _add(_add(entry, "author"), "name", e["outlet"])
    link = href(e["url"])
    if link:
        _add(entry, "link", rel="alternate", type="text/html", href=link)
    _add(entry, "category", term=e["event"], label=label)
    _add(entry, "content", _summary(e, index.get(e["url"])), type="text")


def _summary(e: dict[str, Any], found: tuple[str, Any] | None) -> str:
    """What the event says, in a few plain lines."""
    label = event_label(e["event"])
    lines = [f"{label.capitalize()} by {e['outlet']}: {e['title'] or e['url']}"]
    article = found[1] if found else None
    version = next(
        (v for v in (article or {}).get("versions", []) if v["version"] == e["article_version"]),
        None,
    )
    if version and e["event"] == "update":
        changes = version.get("changes") or {}
        line = (
            f"Version {version['version']}: {changes.get('words_added', 0)} words added, "
            f"{changes.get('words_removed', 0)} removed"
        )
        if changes.get("title_changed"):
            line += f"; the title was: {changes.get('previous_title')}"
        lines.append(line)
    if article and article.get("copy_of"):
        lines.append(f"Copy of {article['copy_of']} (similarity {article['similarity']})")
    lines.append(e["url"])
    lines.append(f"Story version {e['story_version']}, {e['at']}")
    return "\n".join(lines)
