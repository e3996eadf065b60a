"""trafilatura's title, site name and metadata author: the part of its metadata search that
monitor.extract uses. Pure.

Its date search, categories, tags and licence took 40 % of a page's time and none of them is
used; its byline search runs only when needed (monitor.extract.byline). Its JSON-LD reader is
trafilatura's own (``extract_meta_json``) with two of its steps done faster for the same
strings: the whitespace outside JSON strings removed by splitting the text at its strings (not
by a substitution whose template Python expands once a string), and lone surrogates removed by
a regular expression rather than one character at a time (together most of the reader's
time: 1.2 million characters of JSON-LD on the 519 pages of benchmarks/extraction.py). The
same Document on the 1,049 pages of ../shared/data.
"""

from __future__ import annotations

import contextlib
import json
import re
from html import unescape

from trafilatura.json_metadata import (
    JSON_UNICODE_REPLACE,
    extract_json,
    extract_json_parse_error,
)
from trafilatura.metadata import examine_meta, extract_sitename, extract_title
from trafilatura.settings import Document
from trafilatura.utils import HTML_STRIP_TAGS, trim

from monitor.extract.meta import Tree

# A JSON string as trafilatura.metadata.JSON_MINIFY, ``("(?:\\.|[^"\\])*")|\s``, finds it, spelt
# without an alternation for every character. Splitting the text at its strings and dropping
# the whitespace between them gives what JSON_MINIFY's substitution gives (``\s`` is
# ``str.isspace``, and whitespace never opens a string, so the same strings are found):
# tests/test_extract.py compares the two. A fifth of the time: in Python 3.11 a substitution
# with a group in its template expands it in Python, once for every string.
_STRING = re.compile(r'("[^"\\]*(?:\\.[^"\\]*)*")')
_SURROGATES = re.compile("[\ud800-\udfff]")
# The script types trafilatura reads as JSON-LD (its XPath compares them exactly).
_JSON_TYPES = frozenset({"application/ld+json", "application/settings+json"})


def minify(text: str) -> str:
    """The JSON text without whitespace outside its strings (trafilatura's JSON_MINIFY)."""
    parts = _STRING.split(text)
    parts[::2] = ["".join(between.split()) for between in parts[::2]]
    return "".join(parts)


def normalize_json(text: str) -> str:
    """trafilatura.json_metadata.normalize_json, the surrogates dropped by a regex."""
    if "\\" in text:
        text = text.replace("\\n", "").replace("\\r", "").replace("\\t", "")
        text = JSON_UNICODE_REPLACE.sub(lambda match: chr(int(match[1], 16)), text)
        text = _SURROGATES.sub("", text)
        text = unescape(text)
    return trim(HTML_STRIP_TAGS.sub("", text))


def _meta_json(tree: Tree, doc: Document) -> Document:
    """trafilatura.metadata.extract_meta_json, step for step."""
    for script in tree.iterdescendants("script"):
        if script.get("type") not in _JSON_TYPES or not script.text:
            continue
        text = normalize_json(minify(script.text))
        try:
            doc = extract_json(json.loads(text, strict=False), doc)
        except json.JSONDecodeError:
            doc = extract_json_parse_error(text, doc)
    return doc


def site_metadata(tree: Tree) -> Document:
    """trafilatura's metadata title, site name and author (the rest of the Document as its
    meta tags and JSON-LD readers leave it)."""
    doc = examine_meta(tree)
    if doc.author and " " not in doc.author:
        doc.author = None  # as trafilatura does: a one-word meta author is a handle
    # trafilatura's JSON-LD reader has its own bugs; the layer is optional.
    with contextlib.suppress(Exception):
        doc = _meta_json(tree, doc)
    doc.title = doc.title or extract_title(tree)
    doc.sitename = doc.sitename or extract_sitename(tree)
    if doc.sitename:
        doc.sitename = doc.sitename.lstrip("@")
    return doc
