"""Article HTML -> main text, metadata and a status. Pure: bytes in, an Extracted out.

The page is parsed once with lxml (monitor.extract.tree: trafilatura's loader, comments kept
for htmldate, then dropped), and that one tree serves htmldate, trafilatura's text extraction,
the parts of trafilatura's metadata search used here (monitor.extract.sitemeta),
monitor.extract.meta (JSON-LD, meta tags, links) and the notices, so a page costs about what
trafilatura alone does.

Main text: trafilatura's (measured best of the maintained extractors on
../shared/data/article_extraction_benchmark), cleaned by monitor.extract.text. Status (``ok``,
``too_short``, ``paywalled``, ``not_article``): monitor.extract.status.

Order of trust, field by field (first layer that has a usable value wins):

- title: the page's longest ``<h1>`` that one of the metadata titles contains (the headline
  without the outlet's name or a kicker); else JSON-LD ``headline``, ``og:title`` /
  ``twitter:title``, trafilatura's title, ``<title>``, with a segment naming the outlet cut off;
- authors: JSON-LD ``author`` (``@id`` references resolved), the ``author`` /
  ``article:author`` meta tags, then trafilatura's (which adds the visible byline, found by
  monitor.extract.byline as trafilatura finds it); values that name no person (URLs,
  placeholders, the outlet itself) are skipped;
- published: the day is htmldate's (URL date, header meta, JSON, ``<abbr>``/``<time>``, then the
  text; right more often than any single layer); the time of day comes from the first of JSON-LD
  ``datePublished``, ``article:published_time`` and kin, ``<time datetime>`` that falls on that
  day. With no such time, ``published_precision`` is ``day`` and ``published_at`` is midnight
  UTC of that day: the time is not invented. With no htmldate day, the first of those layers;
- updated: JSON-LD ``dateModified``, then ``article:modified_time`` / ``og:updated_time`` and
  kin, with its own precision;
- site_name: JSON-LD ``publisher`` name, then ``og:site_name``; None otherwise (the pipeline
  falls back to the configured source name);
- canonical_url: ``<link rel=canonical>``, ``og:url`` (a canonical naming the home page for a
  deeper URL is ignored), else the URL itself mapped from AMP (``/amp/``, ``.amp``, ``?amp``,
  ``?outputType=amp``); an AMP page's own rel=canonical names its canonical page;
- language: JSON-LD ``inLanguage``, ``<html lang>``, ``og:locale``, ``language`` meta.

Every choice was measured with benchmarks/extraction.py and is pinned by
tests/test_extraction_gate.py; the figures, and what was tried and not kept, are in
benchmarks/README.md.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import trafilatura
from htmldate import find_date
from lxml import etree  # type: ignore[import-untyped]
from trafilatura.settings import Document

from monitor.errors import ExtractError
from monitor.extract.byline import find_byline
from monitor.extract.meta import (
    DAY,
    JsonLd,
    Tree,
    When,
    canonical_url,
    clean,
    day_only,
    language,
    meta_value,
    names,
    parse_date,
    read_jsonld,
    read_meta,
    text_of,
)
from monitor.extract.notices import Notice, find_notices
from monitor.extract.sitemeta import site_metadata
from monitor.extract.status import NOT_ARTICLE, classify
from monitor.extract.text import PRUNE_XPATH, clean_text
from monitor.extract.tree import drop_comments, load

# The pipeline's default for poll.min_words; extract() callers pass their own.
DEFAULT_MIN_WORDS = 60

# Measured with benchmarks/extraction.py (figures in benchmarks/README.md); change a choice only
# when the benchmark says so.
#
# Tables stay in: dropping them cost 0.003 F1 on the 181-page benchmark, no snippet changed.
# favor_precision is off: it raised F1 (0.9696 -> 0.971 with the cleaning of extract.text, or
# 0.974 when taken only if it keeps half the default text) but found fewer must-contain
# snippets on trafilatura's 143 news pages (0.956 -> 0.935 or 0.940), and it is a second
# trafilatura run; a missed paragraph costs us more than a stray one.
_TRAFILATURA_OPTIONS: dict[str, Any] = {"include_comments": False, "include_tables": True}

# htmldate picks the publication day; it was right more often than our layered metadata (0.913
# vs 0.897 on htmldate's Media Cloud set). Its default upper bound is today's date, which would
# make extract() depend on the clock; a fixed far bound keeps extract() pure and changed no
# result on the benchmark pages.
_DATE_PARAMS: dict[str, Any] = {
    "original_date": True,
    "extensive_search": True,
    "max_date": "2099-12-31",
}

# Chinese and Japanese put no spaces between words: their characters are counted, two to a word
# (a word there averages 1.5 to 2 characters), so that min_words means about the same length in
# every language. Hangul is written with spaces and counts as other scripts do.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def count_words(text: str) -> int:
    cjk = len(_CJK.findall(text))
    if not cjk:
        return len(text.split())
    rest = sum(1 for token in _CJK.sub(" ", text).split() if any(c.isalnum() for c in token))
    return rest + (cjk + 1) // 2


@dataclass(frozen=True)
class Extracted:
    title: str | None
    text: str
    authors: tuple[str, ...]
    published_at: datetime | None
    updated_at: datetime | None
    canonical_url: str | None
    language: str | None
    site_name: str | None
    # monitor.extract.status: ok, too_short, paywalled or not_article; the reason unless ok.
    status: str = "ok"
    status_reason: str | None = None
    # "day" when the page gives only the day (the datetime is then midnight UTC), else "time".
    published_precision: str | None = None
    updated_precision: str | None = None
    # The page's own correction and update notices (monitor.extract.notices), in page order.
    notices: tuple[Notice, ...] = ()

    @property
    def word_count(self) -> int:
        return count_words(self.text)


def _people(found: list[str], not_people: set[str]) -> list[str]:
    """Drop author values that name no person: profile URLs, placeholders, the outlet itself.

    Many pages put the outlet or a Facebook page in the author field; skipping it lets the next
    layer (often trafilatura's byline) give the real name.
    """
    return [
        n
        for n in found
        if n
        and not re.match(r"https?://", n)
        and n.casefold() not in not_people
        and n.casefold() not in {"no author", "redaktion", "admin", "staff"}
    ]


# How many characters an element's text nodes hold, script and style included.
_CHARACTERS = etree.XPath("string-length()")


def _only_navigation(text: str, tree: Tree) -> bool:
    """True when every paragraph of ``text`` is a line of the page's <nav> menus.

    On a page with no article, trafilatura's fallback returns the menu as the main text. Only
    <nav>: some real pages hold their whole article inside <header> or <footer> (4 of the 195
    Media Cloud pages were lost when those counted).
    """
    navs = list(tree.iter("nav"))
    paragraphs = [" ".join(p.split()) for p in text.split("\n") if p.strip()]
    # The menus' characters bound the length of their distinct lines: a text longer than that
    # is not made of them (nearly every article), and this costs a fraction of reading the lines.
    if not navs or sum(map(len, set(paragraphs))) > sum(map(_CHARACTERS, navs)):
        return False
    chrome = {
        " ".join(line.split())
        for nav in navs
        for line in text_of(nav, "\n").splitlines()
        if line.strip()
    }
    return bool(chrome) and all(p in chrome for p in paragraphs)


def _first(*values: Any) -> Any:
    return next((v for v in values if v), None)


def _htmldate(tree: Tree, url: str) -> When | None:
    # The tree with its comments still in (monitor.extract.tree): some pages hide their date in
    # one (2 of the 195 Media Cloud pages are right only that way). htmldate reads the tree and
    # changes nothing in it (it prunes a copy).
    try:
        found = find_date(tree, url=url, **_DATE_PARAMS)
    except Exception:  # a date is optional: a failure here must not lose the text
        return None
    return parse_date(found)


def _published(layers: list[When | None], day: When | None) -> When | None:
    """The publication time: htmldate's day, with the time of day from the most trusted layer
    that falls on that same day (see the module docstring).

    htmldate gives the day as written in the layer it read, in the page's own offset or in UTC:
    a layer falls on that day when its own date or its UTC date is that day ("2020-12-25T01:59
    +02:00" in JSON-LD is the "2020-12-24T23:59Z" that htmldate read in a meta tag).
    """
    found = [w for w in layers if w is not None]
    if day is None:
        return found[0] if found else None
    wanted = day.at.date()
    same_day = [w for w in found if wanted in (w.at.date(), w.at.astimezone(UTC).date())]
    timed = [w for w in same_day if w.precision != DAY]
    return _first(*timed, *same_day) or day_only(day.at)


# Parts of an <h1> that are not the headline: a kicker above it ("Klimaschutz", "Nach
# Corona-Lockerungen") and the separator hidden from sight that screen readers get.
_KICKER = re.compile(
    r"kicker|overline|dachzeile|topline|roofline|eyebrow|supertitle|titleheader|spitzmarke"
    r"|visually-hidden|sr-only|screen-reader",
    re.IGNORECASE,
)


def _not_headline(el: Tree) -> bool:
    return isinstance(el.tag, str) and bool(
        _KICKER.search(el.get("class") or "") or el.get("aria-hidden") == "true"
    )


def _h1_text(h1: Tree) -> str | None:
    if not any(_not_headline(el) for el in h1.iterdescendants()):
        return clean(text_of(h1))
    headline = copy.deepcopy(h1)
    for el in [el for el in headline.iterdescendants() if _not_headline(el)]:
        if el.getparent() is not None:  # not inside a part already dropped
            el.drop_tree()
    # "Kicker: Headline" with a visible separator: the separator goes with the kicker.
    return clean(text_of(headline).strip().strip(":|-–—·").strip())


_TITLE_SEPARATORS = re.compile(r"\s+[|\-–—·:]\s+|\s*[|｜]\s*")


def _strip_site(title: str, site_name: str | None) -> str:
    """Drop a leading or trailing "| Site name" segment that names the outlet."""
    site = (site_name or "").casefold()
    if len(site) < 3:
        return title
    parts = _TITLE_SEPARATORS.split(title)
    if len(parts) < 2:
        return title
    last, first = parts[-1].casefold(), parts[0].casefold()
    if len(last) >= 3 and (last in site or site in last):
        kept = title[: title.rfind(parts[-1])].rstrip(" |-–—·:｜")
    elif len(first) >= 3 and (first in site or site in first):
        kept = title[title.find(parts[1], len(parts[0])) :].lstrip(" |-–—·:｜")
    else:
        return title
    # "Headline | Outlet - Outlet's tagline": the next segment may name the outlet too.
    return _strip_site(kept, site_name) if kept else title


def _title(
    tree: Tree, meta: dict[str, str], ld: JsonLd, doc: Document, site_name: str | None
) -> str | None:
    """The headline as the reader sees it.

    The metadata titles often carry the outlet's name or a kicker ("Brexit: ..."); the page's
    <h1> usually does not. An <h1> found inside one of the metadata titles is that headline
    without the extras (the longest such <h1>, so that a site-name <h1> loses to the headline).
    Otherwise the first metadata title, with a segment naming the outlet cut off.
    """
    title_tag = tree.find(".//title")
    candidates = [
        c
        for c in (
            clean(ld.main.get("headline")),
            clean(meta_value(meta, "og:title", "twitter:title")),
            clean(doc.title),
            clean(text_of(title_tag)) if title_tag is not None else None,
        )
        if c
    ]
    folded = [c.casefold() for c in candidates]
    site = (site_name or "").casefold()
    best: str | None = None
    for h1 in tree.iter("h1"):
        text = _h1_text(h1)
        if not text or len(text) < 10 or text.casefold() == site:
            continue
        if any(text.casefold() in c for c in folded) and (best is None or len(text) > len(best)):
            best = text
    if best:
        return best
    # Microdata: the page marks its headline element itself.
    marked = tree.find(".//*[@itemprop='headline']")
    if marked is not None and marked.tag != "meta":
        text = _h1_text(marked)
        if text and len(text) >= 10:
            return text
    return _strip_site(candidates[0], site_name) if candidates else None


def _parse(html: bytes, url: str) -> Tree:
    try:
        tree = load(html)
    except Exception as exc:  # lxml raises a variety of errors on hostile bytes
        raise ExtractError(f"{url}: cannot parse the page: {exc}") from exc
    if tree is None:
        raise ExtractError(f"{url}: not an HTML page")
    return tree


def _headlines(tree: Tree, meta: dict[str, str], ld: JsonLd) -> list[str]:
    title_tag = tree.find(".//title")
    found: list[Any] = [text_of(h1) for h1 in tree.iter("h1")]
    found += [
        ld.main.get("headline"),
        meta_value(meta, "og:title"),
        meta_value(meta, "twitter:title"),
        text_of(title_tag) if title_tag is not None else None,
    ]
    return [t for t in found if isinstance(t, str)]


def _main_text(tree: Tree, url: str, headlines: list[str]) -> tuple[str, bool]:
    """The cleaned main text, and whether all trafilatura found was the page's <nav> menus."""
    try:
        doc = trafilatura.bare_extraction(
            tree, url=url, prune_xpath=PRUNE_XPATH, **_TRAFILATURA_OPTIONS
        )
    except Exception as exc:  # trafilatura raises a variety of lxml and value errors
        raise ExtractError(f"{url}: cannot parse the page: {exc}") from exc
    raw = doc.text or "" if isinstance(doc, Document) else ""
    if raw.strip() and _only_navigation(raw, tree):
        return "", True
    return clean_text(raw, tree, headlines), False


def _authors(
    tree: Tree, meta: dict[str, str], ld: JsonLd, doc: Document, not_people: set[str]
) -> list[str]:
    """The article's authors, layer by layer (see the module docstring)."""
    authors = _people(names(ld.main.get("author"), ld), not_people) or _people(
        names(meta_value(meta, "author", "article:author")), not_people
    )
    if not authors:
        byline = doc.author or find_byline(tree)
        authors = _people([a.strip() for a in (byline or "").split(";")], not_people)
    return authors


def _dates(
    tree: Tree, meta: dict[str, str], ld: JsonLd, day: When | None
) -> tuple[When | None, When | None]:
    """When the article was published and last updated (see the module docstring)."""
    time_tag = tree.find(".//time[@datetime]")
    published = _published(
        [
            parse_date(ld.main.get("datePublished")),
            parse_date(
                meta_value(
                    meta, "article:published_time", "og:published_time", "datepublished", "pubdate"
                )
            ),
            parse_date(time_tag.get("datetime") if time_tag is not None else None),
        ],
        day,
    )
    updated = _first(
        parse_date(ld.main.get("dateModified")),
        parse_date(meta_value(meta, "article:modified_time", "og:updated_time", "datemodified")),
    )
    return published, updated


def extract(html: bytes | str, url: str, *, min_words: int = DEFAULT_MIN_WORDS) -> Extracted:
    """Extract the main text, metadata and status of the page ``html`` fetched from ``url``.

    A page with no usable text still comes back, with a status saying why (``too_short``,
    ``not_article``); ExtractError is raised only when the bytes hold no HTML page at all.
    ``min_words`` is the length below which the text is ``too_short``.
    """
    data = html.encode("utf-8") if isinstance(html, str) else html
    tree = _parse(data, url)
    day = _htmldate(tree, url)
    drop_comments(tree)
    meta = read_meta(tree)
    ld = read_jsonld(tree)
    text, nav_only = _main_text(tree, url, _headlines(tree, meta, ld))
    doc = site_metadata(tree)
    publisher = names(ld.main.get("publisher"), ld)
    site_name = _first(publisher[0] if publisher else None, clean(meta_value(meta, "og:site_name")))
    title = _title(tree, meta, ld, doc, site_name or doc.sitename)
    not_people = {n.casefold() for n in (*publisher, site_name, doc.sitename) if n}
    authors = _authors(tree, meta, ld, doc, not_people)
    published, updated = _dates(tree, meta, ld, day)

    words = count_words(text)
    status: str = NOT_ARTICLE
    reason: str | None = "only navigation menus, no main text"
    if not nav_only:
        status, reason = classify(
            tree, text=text, words=words, meta=meta, ld=ld, url=url, min_words=min_words
        )
    return Extracted(
        title=title,
        text=text,
        authors=tuple(dict.fromkeys(authors)),
        published_at=published.at if published else None,
        updated_at=updated.at if updated else None,
        canonical_url=canonical_url(tree, meta, url),
        language=language(tree, meta, ld),
        site_name=site_name,
        status=status,
        status_reason=reason,
        published_precision=published.precision if published else None,
        updated_precision=updated.precision if updated else None,
        notices=find_notices(data, tree),
    )
