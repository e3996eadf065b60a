"""monitor.extract.sitemeta and monitor.extract.tree.repair give what trafilatura's own
functions give, by shorter ways (the equality on every page of ../shared/data is in
benchmarks/README.md): the JSON-LD reader's minify and normalize steps, the metadata Document,
and the page repair before the parse."""

from __future__ import annotations

import contextlib

import pytest
from trafilatura.json_metadata import normalize_json as trafilatura_normalize_json
from trafilatura.metadata import (
    JSON_MINIFY,
    examine_meta,
    extract_meta_json,
    extract_sitename,
    extract_title,
)
from trafilatura.settings import Document
from trafilatura.utils import INVALID_XML_CHARS, repair_faulty_html

from monitor.extract.sitemeta import minify, normalize_json, site_metadata
from monitor.extract.tree import _INVALID_XML, drop_comments, load, repair

JSON_TEXTS = [
    '{\n  "@type" : "NewsArticle",\n\t"headline": "Two  spaces kept",  "x": [1, 2]\n}',
    '{"a": "an \\"escaped\\" quote, a \\\\ backslash", "b" : "c"}',
    '{"a": "ends in a backslash \\\\"  ,  "b": 1}',
    '{"broken": "a backslash before a newline \\\n stops the string" }',
    "no string at all \u00a0 \u2028 \u3000 x",
    '"unterminated string  with  spaces',
    '{"emoji": "\\ud83d\\ude00 and a lone \\ud83d", "tag": "<b>bold</b> &amp; more"}',
    "",
]


@pytest.mark.parametrize("text", JSON_TEXTS)
def test_minify_removes_the_whitespace_json_minify_removes(text):
    """The whitespace outside JSON strings goes, the strings stay as they are: what
    trafilatura's JSON_MINIFY substitution gives, escapes and unterminated strings included."""
    assert minify(text) == JSON_MINIFY.sub(r"\1", text)


@pytest.mark.parametrize("text", JSON_TEXTS)
def test_normalize_json_is_trafilaturas(text):
    """Escapes decoded, lone surrogates dropped, tags stripped: trafilatura's normalize_json."""
    assert normalize_json(text) == trafilatura_normalize_json(text)


def _trafilatura(tree):  # type: ignore[no-untyped-def]
    doc = examine_meta(tree)
    if doc.author and " " not in doc.author:
        doc.author = None
    with contextlib.suppress(Exception):
        doc = extract_meta_json(tree, doc)
    doc.title = doc.title or extract_title(tree)
    doc.sitename = doc.sitename or extract_sitename(tree)
    if doc.sitename:
        doc.sitename = doc.sitename.lstrip("@")
    return doc


def _fields(doc: Document) -> list[tuple[str, object]]:
    return [(name, getattr(doc, name, None)) for name in ("title", "author", "sitename")] + [
        (name, getattr(doc, name, None)) for name in ("url", "description", "pagetype", "tags")
    ]


HEADS = {
    "json-ld graph": (
        '<script type="application/ld+json">{"@context": "https://schema.org", "@graph": ['
        '{"@type": "NewsArticle", "headline": "Council  extends\\nbuses",'
        ' "author": {"@type": "Person", "name": "Jane Doe"}},'
        ' {"@type": "Organization", "name": "The Gazette"}]}</script>'
    ),
    "broken json-ld read by its regexes": (
        '<script type="application/ld+json">{"@type": "NewsArticle", "headline": "Late buses",'
        ' "author": {"@type": "Person", "name": "Jane Doe"}, "publisher": '
        '{"@type": "Organization", "name": "Gazette"},}</script>'
    ),
    "settings json and an other type left alone": (
        '<script type="application/settings+json">{"@context": "http://schema.org",'
        ' "@type": "WebSite", "name": "Settings Site"}</script>'
        '<script type="text/json">{"@type": "NewsArticle", "headline": "Not read"}</script>'
    ),
    "meta tags only": (
        '<meta property="og:title" content="OG title"><meta name="author" content="Ann Lee">'
        '<meta property="og:site_name" content="@gazette">'
    ),
}


@pytest.mark.parametrize("head", HEADS.values(), ids=HEADS.keys())
def test_site_metadata_is_trafilaturas(head):
    """Title, author, site name and the rest of the Document as trafilatura's meta-tag and
    JSON-LD readers leave them, from JSON-LD (parsed or broken), settings JSON and meta tags."""
    page = f"<html><head><title>A title | Gazette</title>{head}</head><body><h1>A headline</h1>"
    tree = drop_comments(load(f"{page}<p>Text.</p></body></html>".encode()))
    assert _fields(site_metadata(tree)) == _fields(_trafilatura(tree))


def test_the_invalid_characters_are_trafilaturas():
    """The characters whose absence lets repair skip its removal are INVALID_XML_CHARS's."""
    matched = {chr(c) for c in range(0x10000) if INVALID_XML_CHARS.match(chr(c))}
    assert matched == set(_INVALID_XML)


PAGES = [
    "<!DOCTYPE html>\n<html><body><p>Plain</p></body></html>",
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0//EN" "x.dtd"/>\n<html><body>x</body></html>',
    '<?xml version="1.0"?>\n<html lang="en"/>\n<body><p>Self-closing html</p></body></html>',
    "<html><body><p>A form feed \x0c and a NUL \x00 and \ufffe inside</p></body></html>",
    "<!doctype html/>\n<html/>\n<body>both, and \x1f</body>",
]


@pytest.mark.parametrize("page", PAGES)
def test_repair_is_trafilaturas(page):
    """A doctype with a slash, a self-closing <html/>, invalid XML characters, or none of
    them: repair gives the string trafilatura's repair_faulty_html gives."""
    beginning = page[:50].lower()
    assert repair(page, beginning) == repair_faulty_html(page, beginning)
