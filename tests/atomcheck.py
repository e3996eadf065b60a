"""Is a document valid Atom 1.0 (RFC 4287)? ``problems(data)`` lists every way it is not.

Two layers: the grammar (tests/atom/atom.rng, RELAX NG, written from the RFC's sections 3 and 4,
checked by lxml: which elements, where, how often, with which attributes), then the rules the
RFC states in prose, which no grammar says:

- 4.1.1: a feed without an ``author`` needs one in every entry;
- 4.1.1, 4.1.2: at most one ``link rel="alternate"`` per ``type`` and ``hreflang``;
- 4.1.2: an entry without ``content`` has a ``link rel="alternate"``;
- 4.1.1: entries sharing an ``id`` differ in ``updated`` (here stricter: ids are unique);
- 3.3: dates are RFC 3339 ``date-time`` with an upper-case ``T`` and ``Z`` or an offset;
- 4.2.6: ``id`` is an absolute IRI, here a ``tag:`` URI of RFC 4151's syntax or http(s);
- 4.2.7: ``href`` is an IRI; news-monitor writes only absolute http(s) ones (no ``xml:base``).
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import datetime
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

from lxml import etree

A = "{http://www.w3.org/2005/Atom}"
RNG = Path(__file__).with_name("atom") / "atom.rng"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
TAG_URI = re.compile(
    r"^tag:(?:[A-Za-z0-9][A-Za-z0-9.-]*|[^@\s]+@[A-Za-z0-9.-]+),\d{4}(?:-\d{2}(?:-\d{2})?)?:"
    r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*$"
)


@cache
def _grammar() -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(RNG)))


def problems(data: bytes) -> list[str]:
    """Every problem of ``data`` as an Atom 1.0 feed document, none when it is valid."""
    try:
        root = etree.fromstring(data, etree.XMLParser(resolve_entities=False, no_network=True))
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed XML: {exc}"]
    grammar = _grammar()
    if not grammar.validate(root):
        return [f"RELAX NG: {e.line}: {e.message}" for e in grammar.error_log]
    if root.tag != A + "feed":
        return [f"the document element is {root.tag}, not atom:feed"]
    found = _dates(root) + _ids(root) + _links(root)
    entries = root.findall(A + "entry")
    if root.find(A + "author") is None:
        found += [f"entry {_id(e)}: no author, and the feed has none" for e in entries
                  if e.find(A + "author") is None]  # fmt: skip
    for entry in entries:
        alternate = [
            x for x in entry.findall(A + "link") if x.get("rel", "alternate") == "alternate"
        ]
        if entry.find(A + "content") is None and not alternate:
            found.append(f"entry {_id(entry)}: neither content nor an alternate link")
    return found


def _id(entry: etree._Element) -> str:
    return entry.findtext(A + "id") or "?"


def _dates(root: etree._Element) -> list[str]:
    out = []
    for element in root.iter(A + "updated", A + "published"):
        text = element.text or ""
        if not RFC3339.match(text):
            out.append(f"{element.tag}: {text!r} is not an RFC 3339 date-time")
            continue
        try:
            datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            out.append(f"{element.tag}: {text!r} is no such date")
    return out


def _ids(root: etree._Element) -> list[str]:
    ids = [e.text or "" for e in root.iter(A + "id")]
    out = [f"id {i!r}: neither a tag: URI nor an http(s) URL" for i in ids if not _absolute(i)]
    out += [f"id {i!r} appears {n} times" for i, n in Counter(ids).items() if n > 1]
    return out


def _absolute(iri: str) -> bool:
    if iri.startswith("tag:"):
        return bool(TAG_URI.match(iri))
    parts = urlsplit(iri)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and iri.strip() == iri


def _links(root: etree._Element) -> list[str]:
    out = []
    for parent in [root, *root.findall(A + "entry")]:
        alternates = Counter(
            (x.get("type"), x.get("hreflang"))
            for x in parent.findall(A + "link")
            if x.get("rel", "alternate") == "alternate"
        )
        out += [
            f"{_id(parent)}: {n} alternate links of one type" for n in alternates.values() if n > 1
        ]
        out += [
            f"{_id(parent)}: link href {x.get('href')!r} is not an absolute http(s) URL"
            for x in parent.findall(A + "link")
            if not _absolute(x.get("href", ""))
        ]
    return out
