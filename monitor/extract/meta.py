"""The metadata layers of an article page, read from its parsed lxml tree. Pure.

monitor.extract decides which layer wins; this module only reads each layer faithfully: JSON-LD
(with ``@id`` references resolved), ``<meta>`` tags, ``<link rel=canonical>``, ``<time>``,
dates with their precision, the canonical URL of an AMP page, the page's language.
"""

from __future__ import annotations

import email.utils
import html as htmllib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from lxml import etree  # type: ignore[import-untyped]

# An lxml.html element; lxml ships no type hints.
Tree = Any

ARTICLE_TYPES = frozenset(
    {
        "NewsArticle",
        "Article",
        "ReportageNewsArticle",
        "AnalysisNewsArticle",
        "BlogPosting",
        "OpinionNewsArticle",
        "BackgroundNewsArticle",
        "LiveBlogPosting",
        "ReviewNewsArticle",
        "AskPublicNewsArticle",
        "SatiricalArticle",
        "Report",
        "ScholarlyArticle",
        "TechArticle",
        "Review",
    }
)
# A generic page: an article source only when nothing more specific is there.
_PAGE_TYPES = frozenset({"WebPage", "ItemPage"})


@dataclass(frozen=True)
class JsonLd:
    """What a page's JSON-LD blocks say: the article objects (most specific first), every
    ``@type`` seen, and the paywall declarations (schema.org's paywalled-content markup)."""

    articles: tuple[dict[str, Any], ...]
    types: frozenset[str]
    nodes: dict[str, dict[str, Any]]
    not_free: bool
    paywall_selectors: tuple[str, ...]

    @property
    def main(self) -> dict[str, Any]:
        return self.articles[0] if self.articles else {}

    def resolve(self, value: Any) -> Any:
        """A ``{"@id": ...}`` reference replaced by the node it names, when the page has it."""
        if isinstance(value, dict) and set(value) <= {"@id", "@type"} and "@id" in value:
            return self.nodes.get(str(value["@id"]), value)
        return value


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _types(item: dict[str, Any]) -> set[str]:
    # "@type" may be a full IRI ("http://schema.org/NewsArticle").
    return {str(t).rsplit("/", 1)[-1] for t in as_list(item.get("@type"))}


def _false(value: Any) -> bool:
    return value is False or (isinstance(value, str) and value.strip().lower() == "false")


def _jsonld_blocks(tree: Tree) -> list[Any]:
    """The parsed JSON of every JSON-LD script that parses."""
    blocks: list[Any] = []
    for script in tree.iter("script"):
        if "ld+json" not in (script.get("type") or "").lower():
            continue
        raw = (script.text or "").strip()
        if raw.startswith("<!--"):
            raw = raw.removeprefix("<!--").removesuffix("-->")
        try:
            # strict=False: raw newlines inside strings are common in hand-written JSON-LD.
            blocks.append(json.loads(raw, strict=False))
        except ValueError:
            continue  # broken JSON-LD is common; the other layers still count
    return blocks


def _jsonld_items(tree: Tree) -> list[dict[str, Any]]:
    """Every JSON-LD object of the page, those inside ``@graph`` and ``mainEntity`` too."""
    items: list[dict[str, Any]] = []
    for data in _jsonld_blocks(tree):
        stack = as_list(data)
        while stack:
            item = stack.pop(0)
            if not isinstance(item, dict):
                continue
            items.append(item)
            stack.extend(as_list(item.get("@graph")))
            # mainEntity / hasPart may hold the article inside a WebPage object.
            stack.extend(x for x in as_list(item.get("mainEntity")) if isinstance(x, dict))
    return items


def read_jsonld(tree: Tree) -> JsonLd:
    """What the page's JSON-LD says: its article objects, types, nodes and paywall markup."""
    items = _jsonld_items(tree)
    nodes = {str(i["@id"]): i for i in items if isinstance(i.get("@id"), str) and len(i) > 2}
    types: set[str] = set()
    articles: list[dict[str, Any]] = []
    pages: list[dict[str, Any]] = []
    not_free = False
    selectors: list[str] = []
    for item in items:
        kinds = _types(item)
        types |= kinds
        if kinds & ARTICLE_TYPES:
            articles.append(item)
        elif kinds & _PAGE_TYPES:
            pages.append(item)
        if kinds & (ARTICLE_TYPES | _PAGE_TYPES) and _false(item.get("isAccessibleForFree")):
            not_free = True
        for part in as_list(item.get("hasPart")):
            if isinstance(part, dict) and _false(part.get("isAccessibleForFree")):
                not_free = True
                selectors += [s for s in as_list(part.get("cssSelector")) if isinstance(s, str)]
    return JsonLd(tuple(articles + pages), frozenset(types), nodes, not_free, tuple(selectors))


def read_meta(tree: Tree) -> dict[str, str]:
    """Every ``<meta>`` tag's content by its property, name or http-equiv, lower-cased; the
    first non-empty one of each wins, with ``property`` (Open Graph) before ``name``."""
    by_property: dict[str, str] = {}
    by_name: dict[str, str] = {}
    for tag in tree.iter("meta"):
        content = (tag.get("content") or "").strip()
        if not content:
            continue
        prop = (tag.get("property") or "").strip().lower()
        if prop:
            by_property.setdefault(prop, content)
        name = (tag.get("name") or tag.get("http-equiv") or "").strip().lower()
        if name:
            by_name.setdefault(name, content)
    return {**by_name, **by_property}


def meta_value(meta: dict[str, str], *names: str) -> str | None:
    return next((meta[n] for n in names if n in meta), None)


# Plain strings (no "smart" string that knows its element is needed here), and the parent
# looked at rather than every ancestor: libxml2's HTML parser reads a script's or a style's
# content as raw text, so no text node is deeper inside one (the same texts for every element
# of the 1,049 pages of ../shared/data). A page's whole <body> costs about a third less.
_TEXT_NODES = etree.XPath(".//text()[not(parent::script or parent::style)]", smart_strings=False)


def text_of(element: Tree, sep: str = " ") -> str:
    """The element's text, script and style left out, whitespace kept as the page has it."""
    # itertext() gives the same text nodes in the same order at a fraction of the XPath's cost
    # (extract() calls this for every link of the page); it cannot leave script and style out.
    if element.tag not in ("script", "style") and (
        not len(element) or next(element.iter("script", "style"), None) is None
    ):
        return plain_text(element, sep)
    return sep.join(_TEXT_NODES(element))


def plain_text(element: Tree, sep: str = " ") -> str:
    """The text of an element known to hold no script or style (``text_of`` without its
    check). One with no child holds its own text at most (most links): read without an
    iterator."""
    return sep.join(element.itertext()) if len(element) else element.text or ""


def clean(value: Any) -> str | None:
    """A metadata string with entities unescaped and whitespace collapsed, or None."""
    if not isinstance(value, str):
        return None
    # og:title is often escaped twice by the CMS ("&amp;quot;" arrives as "&quot;").
    text = " ".join(htmllib.unescape(value).split())
    return text or None


def names(value: Any, ld: JsonLd | None = None) -> list[str]:
    """Person or organisation names from a JSON-LD value: strings, objects with ``name``,
    references to such objects, or lists of them."""
    out = []
    for person in as_list(value):
        if ld is not None:
            person = ld.resolve(person)
        if isinstance(person, dict):
            person = person.get("name")
        if isinstance(person, list):
            person = person[0] if person else None
        name = clean(person)
        if name:
            out.append(name)
    return out


# --- dates ---------------------------------------------------------------------------------------

DAY = "day"
TIME = "time"
# Years outside this range are placeholders (a .NET "0001-01-01", a "2999" embargo), not dates.
_YEARS = range(1990, 2100)
_CLOCK = re.compile(r"\d[T ]\d{1,2}:\d\d|\dT\d{4}")


@dataclass(frozen=True)
class When:
    """A point in time, time-zone aware, and whether the page gave its time of day (``time``)
    or only the day (``day``: ``at`` is then midnight UTC of that day)."""

    at: datetime
    precision: str


def day_only(at: datetime) -> When:
    return When(datetime(at.year, at.month, at.day, tzinfo=UTC), DAY)


def parse_date(value: Any) -> When | None:
    """An ISO 8601 or RFC 2822 date string as a When, or None.

    A time with no zone is taken as UTC (documented: better than dropping it). Midnight exactly
    (00:00:00) counts as day precision: CMSs pad a bare day that way, and an article stamped to
    that second is rare.
    """
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    parsed: datetime | None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        try:
            parsed = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
    if parsed is None or parsed.year not in _YEARS:
        return None
    if not _CLOCK.search(text) or (parsed.hour, parsed.minute, parsed.second) == (0, 0, 0):
        return day_only(parsed)
    return When(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC), TIME)


# --- URLs ----------------------------------------------------------------------------------------

_AMP_QUERY = {"amp", "outputtype", "output", "_amp", "usqp", "amp_js_v", "amp_gsa"}
_AMP_VALUES = {"", "1", "true", "amp"}


def _http(url: str | None) -> str | None:
    return url if url and urlsplit(url).scheme in ("http", "https") else None


def _root(url: str) -> bool:
    return urlsplit(url).path in ("", "/")


def unamp(url: str) -> str | None:
    """The non-AMP address of an AMP URL (an ``/amp/`` path segment, a ``.amp`` or
    ``.amp.html`` suffix, ``?amp``, ``?outputType=amp``), or None when it does not look AMP."""
    parts = urlsplit(url)
    segments = parts.path.split("/")
    path_segments = [s for s in segments if s.lower() != "amp"]
    path = "/".join(path_segments)
    path = re.sub(r"\.amp(?=\.html?$|$)", "", path, flags=re.I)
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not (
            k.lower() in _AMP_QUERY
            and (v.lower() in _AMP_VALUES or k.lower() in ("usqp", "amp_js_v", "amp_gsa"))
        )
    ]
    new_query = urlencode(query)
    if path == parts.path and new_query == parts.query:
        return None
    if parts.path.endswith("/") and not path.endswith("/"):
        path += "/"
    return urlunsplit((parts.scheme, parts.netloc, path or "/", new_query, parts.fragment))


def canonical_url(tree: Tree, meta: dict[str, str], url: str) -> str | None:
    """``<link rel=canonical>``, then ``og:url``, then the URL itself mapped from AMP.

    A canonical naming the site's home page for a deeper URL is a common CMS misconfiguration
    and is ignored: trusting it would make every article of the site one article.
    """
    found: list[str] = []
    for link in tree.iter("link"):
        rel = (link.get("rel") or "").lower().split()
        if "canonical" in rel and (link.get("href") or "").strip():
            found.append(urljoin(url, link.get("href").strip()))
            break
    og = meta_value(meta, "og:url")
    if og:
        found.append(urljoin(url, og))
    for candidate in found:
        candidate = _http(candidate) or ""
        if candidate and not (_root(candidate) and url and not _root(url)):
            return candidate
    return unamp(url) if _http(url) else None


# --- language ------------------------------------------------------------------------------------

_LANG = re.compile(r"^([a-z]{2,3})(?:$|[-_])", re.I)


def language(tree: Tree, meta: dict[str, str], ld: JsonLd) -> str | None:
    """The primary language subtag (``en``, ``fr``): JSON-LD ``inLanguage``, ``<html lang>``,
    ``og:locale``, then the ``language`` / ``content-language`` meta tags."""
    in_language = ld.main.get("inLanguage")
    if isinstance(in_language, dict):
        in_language = in_language.get("alternateName") or in_language.get("name")
    for value in (
        in_language,
        tree.get("lang") or tree.get("xml:lang"),
        meta_value(meta, "og:locale", "language", "content-language", "dc.language"),
    ):
        match = _LANG.match(value.strip()) if isinstance(value, str) else None
        if match:
            return match.group(1).lower()
    return None
