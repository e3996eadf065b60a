"""The fast path: well-formed RSS 2.0 and Atom 1.0 read with lxml, to feedparser's answers.

feedparser reads a feed through SAX callbacks in pure Python; most of its time goes on
elements we never look at. For well-formed RSS 2.0 and Atom 1.0, lxml builds the tree in C
and the few values we return are computed here exactly as feedparser computes them (same
element names, same namespace table, same date parser, same clean-up of each value). Anything
this code does not model, or any doubt, raises _Doubt and feedparser reads the document.
tests/test_parse.py runs both paths over every corpus file the fast path takes and requires
the same Feed.

Pure: no network, no files, no clock. Part of ``monitor.parse``, which hands ``parse_fast`` the
UTF-8 bytes of a document whose root is ``rss`` or ``feed`` and falls back to feedparser when it
returns None: call ``monitor.parse.parse_feed``, not this module.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from urllib.parse import urljoin

from lxml import etree  # type: ignore[import-untyped]  # lxml ships no type hints

from monitor.parse.model import HTML_TYPES, Feed, FeedEntry, make_entry, plain_title, ttl_seconds

try:  # feedparser's own tables and date parser, so that both paths read alike
    from feedparser.datetimes import _parse_date as _fp_parse_date
    from feedparser.html import _cp1252 as _FP_CP1252
    from feedparser.mixin import _FeedParserMixin as _FPMixin
    from feedparser.urls import ACCEPTABLE_URI_SCHEMES
except ImportError:  # another feedparser layout: every document takes the slow path
    _FPMixin = None

_ATOM = "http://www.w3.org/2005/Atom"
_PUBLISHED = frozenset({"pubdate", "published", "issued", "dcterms_issued"})
_UPDATED = frozenset({"updated", "modified", "lastbuilddate", "dc_date", "dcterms_modified"})
_MODELED = frozenset({"title", "link", "guid", "id"}) | _PUBLISHED | _UPDATED
# Elements whose content feedparser keeps as text or inline markup (see _content_ok).
_CONTENT = frozenset({
    "abstract", "body", "xhtml_body", "content", "content_encoded", "fullitem", "description",
    "summary", "subtitle", "tagline", "rights", "copyright", "info", "feedburner_browserfriendly",
    "itunes_summary", "itunes_subtitle", "media_description", "dc_description", "dc_rights",
})  # fmt: skip
# feedparser handlers read for this list: none of them touches a title, link, id or date, the
# title-depth bookkeeping or the image/text-input/source contexts.
_SAFE = frozenset({
    "author", "contributor", "name", "email", "uri", "url", "homepage", "managingeditor",
    "webmaster", "category", "keywords", "tags", "enclosure", "generator", "cloud", "language",
    "width", "height", "created", "dcterms_created", "expirationdate", "newlocation",
    "cc_license", "creativecommons_license", "dc_author", "dc_contributor", "dc_creator",
    "dc_language", "dc_publisher", "dc_subject", "dcterms_valid", "georss_box", "georss_line",
    "georss_point", "georss_polygon", "georss_where", "georssgeom", "geom", "where",
    "gml_exterior", "gml_linearring", "gml_linestring", "gml_point", "gml_polygon", "gml_pos",
    "gml_poslist", "itunes_author", "itunes_block", "itunes_category", "itunes_email",
    "itunes_explicit", "itunes_image", "itunes_keywords", "itunes_link", "itunes_name",
    "itunes_owner", "media_category", "media_content", "media_credit", "media_group",
    "media_keywords", "media_license", "media_player", "media_rating", "media_restriction",
    "media_thumbnail", "psc_chapter", "psc_chapters",
})  # fmt: skip
# Keys an element without a handler would overwrite in feedparser's result.
_RESERVED = frozenset({"published_parsed", "updated_parsed", "title_detail", "links", "ttl"})
_IMAGE_CHILDREN = frozenset({"title", "link", "description", "url", "width", "height"})
_TEXTINPUT_CHILDREN = frozenset({"title", "link", "description", "name"})
_TEXT_TYPES = {"text": "text/plain", "plain": "text/plain", "html": "text/html"}
_TEXT_TYPES |= {"xhtml": "application/xhtml+xml", "text/plain": "text/plain"}
_TEXT_TYPES |= {"text/html": "text/html", "application/xhtml+xml": "application/xhtml+xml"}
_XMLNS = re.compile(rb"""\sxmlns(?::([\w.\-]+))?\s*=\s*(["'])([^"'<>]*)\2""")
_URIFIXER = re.compile(r"^([A-Za-z][A-Za-z0-9+-.]*://)(/*)(.*?)")
_LINK_ENTITY = re.compile(r"&([A-Za-z0-9_]+);")
_HTMLISH = re.compile(r"</\w+>|&#?\w+;")

if _FPMixin is not None:
    _FP_NAMESPACES = {uri.lower(): prefix.lower() for uri, prefix in _FPMixin.namespaces.items()}
    _FP_PREFIXES = frozenset(_FP_NAMESPACES.values()) - {""}
    _FP_HANDLED = frozenset(
        name.split("_", 2)[2].lower()
        for name in dir(_FPMixin)
        if name.startswith(("_start_", "_end_"))
    )


# (tag, prefix) -> the name feedparser dispatches on, cached for one document.
_Names = dict[tuple[str, str | None], str]


class _Doubt(Exception):
    """Something the fast path does not model: feedparser reads the document."""


def _fp_urljoin(base: str, uri: str) -> str:
    """feedparser.urls._urljoin: extra slashes after the scheme dropped, then urljoin."""
    try:
        return urljoin(base, _URIFIXER.sub(r"\1\3", uri))
    except ValueError:
        return ""


def _fp_finish(value: str) -> str:
    """The last steps of feedparser's pop(): UTF-8 read as Latin-1 repaired, C1 mapped."""
    with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
        value = value.encode("iso-8859-1").decode("utf-8")
    return value.translate(_FP_CP1252)


def _fp_name(element: etree._Element, names: _Names) -> str:
    """The name feedparser dispatches on: known namespaces get its prefix, others the document's."""
    key = (element.tag, element.prefix)
    name = names.get(key)
    if name is None:
        tag = element.tag
        uri, _, local = tag[1:].partition("}") if tag[0] == "{" else ("", "", tag)
        uri = uri.lower()
        if "backend.userland.com/rss" in uri:
            uri = "http://backend.userland.com/rss"
        prefix = _FP_NAMESPACES.get(uri)
        if prefix is None:
            prefix = (element.prefix or "").lower()
        name = names[key] = f"{prefix}_{local.lower()}" if prefix else local.lower()
    return name


def _fp_attrs(element: etree._Element) -> dict[str, str]:
    """Attributes as feedparser sees them: lower-cased names, rel and type values lower-cased."""
    attrs = {}
    for key, value in element.attrib.items():
        if key[0] == "{":
            uri, _, local = key[1:].partition("}")
            prefix = _FP_NAMESPACES.get(uri.lower(), "")
            key = f"{prefix}:{local}" if prefix else local
        key = key.lower()
        attrs[key] = value.lower() if key in ("rel", "type") else value
    return attrs


def _leaf_text(element: etree._Element) -> str:
    if len(element):  # child elements, comments or PIs: feedparser joins text around them
        raise _Doubt
    return (element.text or "").strip()


def _namespaces_ok(data: bytes) -> bool:
    """No namespace declaration that would make feedparser name elements unlike _fp_name."""
    bound: dict[str, str] = {}
    for match in _XMLNS.finditer(data):
        prefix = (match.group(1) or b"").decode("ascii", "replace").lower()
        uri = match.group(3).decode("utf-8", "replace").strip().lower()
        if prefix and bound.setdefault(prefix, uri) != uri:
            return False  # a prefix bound to two namespaces (the default one may change freely)
        if uri in ("http://purl.org/rss/1.0/", "http://my.netscape.com/rdf/simple/0.9/"):
            return False  # these set feedparser's version to rss10 or rss090
        known = _FP_NAMESPACES.get(uri)
        if known is None and uri in (u for p, u in bound.items() if p != prefix):
            return False  # an unknown namespace under two prefixes
        if known is not None and prefix in _FP_PREFIXES and prefix != known:
            return False  # feedparser's prefix map would rename this prefix's elements
    return True


@dataclass
class _Links:
    """feedparser's ``link`` key of one context: set by a link, or by a permalink GUID if unset."""

    value: str | None = None
    present: bool = False

    def element(self, element: etree._Element, base: str, *, entry: bool) -> None:
        attrs = _fp_attrs(element)
        base = _rebase(base, attrs)
        rel = attrs.setdefault("rel", "alternate")
        kind = attrs.get("type", "application/atom+xml" if rel == "self" else "text/html")
        href = attrs.get("url", attrs.get("uri", attrs.get("href")))
        if href:
            attrs["href"] = href
        if "href" in attrs:  # even empty: feedparser then links to the base URI
            if len(element):
                raise _Doubt
            if rel == "alternate" and _TEXT_TYPES.get(kind, kind) in HTML_TYPES:
                self.value, self.present = _fp_urljoin(base, attrs["href"]), True
            return
        text = _leaf_text(element)
        value = _fp_finish(_fp_urljoin(base, text) if text else text)
        if entry:
            value = value.replace("&amp;", "&")
        self.value, self.present = _LINK_ENTITY.sub(r"&\g<1>", value), True

    def guid(self, value: str) -> None:
        if not self.present:
            self.value, self.present = value, True


def _guid(element: etree._Element, base: str) -> tuple[str, bool]:
    """A GUID or Atom id as feedparser stores it, and whether it is a permalink."""
    attrs = _fp_attrs(element)
    permalink = attrs.get("ispermalink", "true") == "true"
    value = _leaf_text(element)
    if permalink and value:
        value = _fp_urljoin(_rebase(base, attrs), value)
    return _fp_finish(value), permalink


def _title(element: etree._Element, *, atom: bool) -> tuple[str, str]:
    """A title as feedparser stores it, with the content type it records for it."""
    attrs = _fp_attrs(element)
    if set(attrs) - {"type", "xml:lang"} or (not atom and "type" in attrs):
        raise _Doubt
    kind = _TEXT_TYPES.get(attrs.get("type", "text/plain"))
    if kind is None or kind == "application/xhtml+xml":
        raise _Doubt  # base64, XML or XHTML: feedparser re-escapes or decodes the text
    value = _leaf_text(element)
    if not atom and _HTMLISH.search(value) and _FPMixin.looks_like_html(value):
        kind = "text/html"
    return _fp_finish(value), kind


def _content_ok(element: etree._Element) -> None:
    """Markup inside XHTML content is only text to feedparser; any other nesting is a doubt.

    Elements inside content of an XML type are dispatched like feed elements, and a ``<div>``
    inside HTML-typed content unbalances feedparser's depth and base-URI stacks.
    """
    if len(element):
        kind = _fp_attrs(element).get("type", "")
        if _TEXT_TYPES.get(kind, kind) != "application/xhtml+xml":
            raise _Doubt


def _walk(element: etree._Element, names: _Names, *, in_source: bool = False) -> bool:
    """Check the children of an element we ignore; True if a media:title is among them."""
    media_title = False
    for child in element:
        if not isinstance(child.tag, str):
            continue
        name = _fp_name(child, names)
        if name == "media_title":
            media_title = True
        elif name in _CONTENT:
            _content_ok(child)
        elif name in _RESERVED or (name in _MODELED and not in_source):
            raise _Doubt
        elif name in _SAFE or name not in _FP_HANDLED or (in_source and name in _MODELED):
            media_title |= _walk(child, names, in_source=in_source)
        else:
            raise _Doubt
    return media_title


def _elements(parent: etree._Element) -> Iterator[etree._Element]:
    """The child elements (not comments or processing instructions) of ``parent``."""
    return (child for child in parent if isinstance(child.tag, str))


@dataclass
class _Common:
    """What an entry and a feed read alike: the title, the link and the GUID or id."""

    atom: bool
    entry: bool
    links: _Links = field(default_factory=_Links)
    title: str | None = None
    title_type: str | None = None
    guid: str | None = None
    titles: int = 0
    guids: int = 0

    def take(self, name: str, child: etree._Element, base: str) -> bool:
        """Read ``child`` if it is one of these; False if it is not."""
        if name == "title":
            self.titles += 1
            self.title, self.title_type = _title(child, atom=self.atom)
        elif name == "link":
            self.links.element(child, base, entry=self.entry)
        elif name in ("guid", "id"):
            self.guids += 1
            self.guid, permalink = _guid(child, base)
            if permalink:
                self.links.guid(self.guid)
        else:
            return False
        return True

    def check(self) -> None:
        """feedparser keeps one title and one GUID per context; two would need its rules."""
        if self.titles > 1 or self.guids > 1:
            raise _Doubt


def _entry_other(name: str, child: etree._Element, names: _Names) -> bool:
    """An entry's child that is no field we model: checked, and True if it is (or holds) a
    media:title."""
    if name == "media_title":
        return True
    if name in _CONTENT:
        _content_ok(child)
        return False
    if name in _RESERVED or name in ("image", "textinput"):
        raise _Doubt
    if name in _SAFE or name not in _FP_HANDLED:
        return _walk(child, names)
    raise _Doubt


def _fast_entry(
    item: etree._Element, base: str, base_url: str, names: _Names, *, atom: bool
) -> FeedEntry | None:
    attrs = _fp_attrs(item)
    if set(attrs) - {"xml:lang", "xml:base", "base"}:
        raise _Doubt  # rdf:about, href and lastmod attributes set the id, link or date
    base = _rebase(base, attrs)
    common = _Common(atom=atom, entry=True)
    published = updated = None
    media_title = has_source = False
    for child in _elements(item):
        name = _fp_name(child, names)
        if common.take(name, child, base):
            continue
        if name in _PUBLISHED:
            published = _fp_parse_date(_fp_finish(_leaf_text(child)))
        elif name in _UPDATED:
            updated = _fp_parse_date(_fp_finish(_leaf_text(child)))
        elif name == "source":
            has_source = True
            media_title |= _walk(child, names, in_source=True)
        else:
            media_title |= _entry_other(name, child, names)
    common.check()
    # feedparser keeps the first non-empty title per entry; a media:title counts only without
    # one, and a <source> resets that bookkeeping.
    if media_title and (not common.title or has_source):
        raise _Doubt
    return make_entry(
        common.links.value,
        common.guid,
        common.title,
        common.title_type,
        published,
        updated,
        base_url,
    )


def _feed_other(name: str, child: etree._Element, names: _Names) -> str | None:
    """A feed's child that is neither an entry nor a common field: checked; the text of a
    ``<ttl>``, else None."""
    if name == "ttl":
        if child.attrib:
            raise _Doubt
        return _fp_finish(_leaf_text(child))
    if name in _PUBLISHED or name in _UPDATED:
        _leaf_text(child)
    elif name in ("image", "textinput"):
        allowed = _IMAGE_CHILDREN if name == "image" else _TEXTINPUT_CHILDREN
        for part in child:
            if isinstance(part.tag, str) and _fp_name(part, names) not in allowed:
                raise _Doubt  # feedparser would leave the image context early
            _leaf_text(part)
    elif name in _CONTENT:
        _content_ok(child)
    elif name in _RESERVED or name in _MODELED or name == "media_title":
        raise _Doubt
    elif name in _SAFE or name not in _FP_HANDLED:
        if _walk(child, names):
            raise _Doubt
    else:
        raise _Doubt
    return None


def _fast_feed(container: etree._Element, base: str, base_url: str, *, atom: bool) -> Feed:
    names: _Names = {}
    base = _rebase(base, _fp_attrs(container))
    item_name = "entry" if atom else "item"
    common = _Common(atom=atom, entry=False)
    ttl = None
    entries = []
    for child in _elements(container):
        name = _fp_name(child, names)
        if name == item_name:
            entry = _fast_entry(child, base, base_url, names, atom=atom)
            if entry is not None:
                entries.append(entry)
        elif not common.take(name, child, base):
            found = _feed_other(name, child, names)
            ttl = found if found is not None else ttl
    common.check()
    return Feed(
        title=plain_title(common.title, common.title_type),
        link=common.links.value,
        format="atom10" if atom else "rss20",
        entries=tuple(entries),
        ttl_s=ttl_seconds(ttl),
    )


def _rebase(base: str, attrs: Mapping[str, str]) -> str:
    """The base URI inside an element: its xml:base (or base) applied as feedparser does."""
    value = attrs.get("xml:base", attrs.get("base"))
    if not value:
        return base
    joined = _fp_urljoin(base, value)
    return joined if joined.strip().split(":", 1)[0] in ACCEPTABLE_URI_SCHEMES else base


def _fp_base(base_url: str, headers: Mapping[str, str]) -> str:
    """The base URI feedparser settles on: Content-Location, else the feed's URL."""
    base = headers.get("content-location") or base_url
    joined = _fp_urljoin(base, base)
    return joined if joined.strip().split(":", 1)[0] in ACCEPTABLE_URI_SCHEMES else base


def parse_fast(data: bytes, base_url: str, headers: Mapping[str, str]) -> Feed | None:
    """Well-formed RSS 2.0 or Atom 1.0 read with lxml; None when feedparser must decide."""
    if _FPMixin is None or not _namespaces_ok(data):
        return None
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError:
        return None
    info = root.getroottree().docinfo
    if parser.error_log or info.doctype or info.xml_version != "1.0":
        return None
    base = _fp_base(base_url, headers)
    try:
        if root.tag == "rss" and root.get("version", "").startswith("2."):
            channels = [c for c in root if isinstance(c.tag, str)]
            if len(channels) != 1 or channels[0].tag != "channel":
                return None
            if set(_fp_attrs(channels[0])) - {"xml:lang", "xml:base", "base"}:
                return None  # href and lastmod set the feed's link and date
            return _fast_feed(channels[0], _rebase(base, _fp_attrs(root)), base_url, atom=False)
        if root.tag == f"{{{_ATOM}}}feed":
            return _fast_feed(root, base, base_url, atom=True)
    except _Doubt:
        return None
    return None
