"""OPML subscription lists, read and written. Pure: bytes in, feeds out; feeds in, text out.

OPML files come from other programs and from the web, so they are parsed with defusedxml:
entity declarations (the billion-laughs bomb) and external entities are refused rather than
expanded or fetched.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from xml.etree import ElementTree as ET

import defusedxml
import defusedxml.ElementTree as SafeET

from monitor.errors import UserError


@dataclass(frozen=True)
class OpmlFeed:
    url: str
    name: str | None = None
    category: str | None = None  # the folder(s) the outline sat in, joined with " / "


def _text(value: str | None) -> str | None:
    cleaned = " ".join((value or "").split())
    return cleaned or None


# Real exports leave ``&`` and ``"`` unescaped inside attribute values: 14 of the 26 files of
# awesome-rss-feeds (``text="World & Nation"``, ``text="Газета "Коммерсантъ". Главное"``). An
# outline tag is taken to end at a ``>`` followed by the next tag, and a value to end at the
# quote followed by the next ``name="`` or by the tag's end.
_OUTLINE = re.compile(rb"<outline\b(.*?)(/?)>(?=\s*(?:<|\Z))", re.S)
_ATTRIBUTE = re.compile(rb'\s*([\w:.-]+)\s*=\s*"(.*?)"(?=\s+[\w:.-]+\s*=\s*"|\s*\Z)', re.S)
_BARE_AMPERSAND = re.compile(rb"&(?!#\d+;|#x[0-9a-fA-F]+;|(?:amp|lt|gt|quot|apos);)")


def _repair_tag(match: re.Match[bytes]) -> bytes:
    attributes = match.group(1)
    pairs = list(_ATTRIBUTE.finditer(attributes))
    if not pairs or b"".join(p.group(0) for p in pairs).strip() != attributes.strip():
        return match.group(0)  # not the fault we know how to mend: leave it to the parser
    fixed = [
        b" "
        + p.group(1)
        + b'="'
        + _BARE_AMPERSAND.sub(b"&amp;", p.group(2)).replace(b'"', b"&quot;").replace(b"<", b"&lt;")
        + b'"'
        for p in pairs
    ]
    return b"<outline" + b"".join(fixed) + match.group(2) + b">"


def _parse(body: bytes, where: str) -> ET.Element:
    """The document's root, parsed with entities refused; a file that is malformed only by
    unescaped ``&`` or ``"`` in outline attributes is mended first."""
    # defusedxml has no type hints: its fromstring is ElementTree's, behind the entity checks.
    fromstring: Callable[[bytes], ET.Element] = SafeET.fromstring
    try:
        try:
            return fromstring(body)
        except ET.ParseError as exc:
            try:
                return fromstring(_OUTLINE.sub(_repair_tag, body))
            except ET.ParseError:
                # The first error names the line of the file as the user has it.
                raise UserError(f"{where}: not well-formed XML: {exc}") from exc
    except defusedxml.EntitiesForbidden as exc:
        raise UserError(
            f"{where}: refused: the file declares the XML entity {exc.name!r} "
            "(entities are not expanded, so a file cannot grow without bound)"
        ) from exc
    except defusedxml.DefusedXmlException as exc:
        raise UserError(f"{where}: refused: {exc}") from exc


def read_opml(body: bytes, where: str) -> list[OpmlFeed]:
    """Every feed (an outline with an ``xmlUrl``) in document order, folders flattened.

    ``where`` names the file in errors: a malformed file, one that declares entities, one that
    is not OPML or one without feeds raises UserError.
    """
    root = _parse(body, where)
    if root.tag.lower() != "opml":
        raise UserError(f"{where}: not an OPML file (its root element is <{root.tag}>)")
    body_element = root.find("body")
    feeds: list[OpmlFeed] = []
    # An explicit stack rather than recursion: nesting depth is the file author's choice.
    stack: list[tuple[ET.Element, str | None]] = [
        (child, None) for child in reversed(list(body_element if body_element is not None else []))
    ]
    while stack:
        element, category = stack.pop()
        if element.tag != "outline":
            continue
        label = _text(element.get("title")) or _text(element.get("text"))
        url = (element.get("xmlUrl") or "").strip()
        if url:
            feeds.append(OpmlFeed(url, label, category))
        children = list(element)
        if children:
            inner = (
                category if url or not label else (f"{category} / {label}" if category else label)
            )
            stack.extend((child, inner) for child in reversed(children))
    if not feeds:
        raise UserError(f"{where}: no feeds in this OPML file (no outline has an xmlUrl)")
    return feeds


# Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _clean(value: str) -> str:
    return _NOT_XML.sub("", value)


def write_opml(feeds: Sequence[OpmlFeed], *, title: str, now: datetime) -> str:
    """An OPML 2.0 document listing ``feeds``; those with a category go in a folder outline."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = _clean(title)
    ET.SubElement(head, "dateCreated").text = format_datetime(now.astimezone(UTC), usegmt=True)
    body = ET.SubElement(root, "body")
    folders: dict[str, ET.Element] = {}
    for feed in feeds:
        parent = body
        if feed.category:
            if feed.category not in folders:
                label = _clean(feed.category)
                folders[feed.category] = ET.SubElement(body, "outline", text=label, title=label)
            parent = folders[feed.category]
        name = _clean(feed.name or feed.url)
        ET.SubElement(parent, "outline", type="rss", text=name, title=name, xmlUrl=_clean(feed.url))
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"
