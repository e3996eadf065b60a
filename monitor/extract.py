"""Article HTML -> main text and metadata. Pure: bytes in, an Extracted out.

The main text comes from trafilatura (measured best of the maintained extractors on
../shared/data/article_extraction_benchmark), minus whole lines that are page furniture.
Metadata is read from every layer a page offers, in this order of trust: JSON-LD (NewsArticle
and kin), Open Graph and ``article:*`` meta tags, other meta tags, ``<time datetime>``, then what
trafilatura found. beautifulsoup4 reads the structured layers, which trafilatura reduces to a
day-precision date and one author string. The publication day is htmldate's; the title is the
page's <h1> when a metadata title contains it. Every choice here was measured with
benchmarks/extraction.py and is pinned by tests/test_extraction_gate.py.
"""

from __future__ import annotations

import html as htmllib
import json
import re
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import trafilatura
from bs4 import BeautifulSoup, XMLParsedAsHTMLWarning
from htmldate import find_date
from trafilatura.settings import Document

from monitor.errors import ExtractError

# Measured with benchmarks/extraction.py (figures in benchmarks/README.md); change a choice only
# when the benchmark says so.
#
# Tables stay in: dropping them cost 0.003 F1 on the 181-page benchmark, no snippet changed.
# favor_precision is off: it raised F1 by 0.004 but found fewer must-contain snippets on
# trafilatura's 143 news pages (0.956 -> 0.935); a missed paragraph costs us more than a stray one.
_TRAFILATURA_OPTIONS: dict[str, Any] = {"include_comments": False, "include_tables": True}

# htmldate picks the publication day; it was right more often than our layered metadata (0.913
# vs 0.897 on htmldate's Media Cloud set). It is called on the page itself: the date trafilatura
# gets from it, on trafilatura's tree, was right on 2 pages fewer of that set. Its default upper
# bound is today's date, which would make extract() depend on the clock; a fixed far bound keeps
# extract() pure and changed no result on the benchmark pages.
_DATE_PARAMS: dict[str, Any] = {
    "original_date": True,
    "extensive_search": True,
    "max_date": "2099-12-31",
}
# trafilatura's own date is not used; its cheapest search, with the same fixed bound.
_TRAFILATURA_DATE_PARAMS: dict[str, Any] = {**_DATE_PARAMS, "extensive_search": False}

# Whole paragraphs that are page furniture, not article text: newsletter and app prompts,
# "Read more:" teasers, bare timestamps. Matched against a whole stripped line only, so an
# article sentence that mentions a newsletter stays.
_BOILERPLATE = re.compile(
    r"""^(?:
        advertisement|anzeige|publicidad|publicité|werbung
      | (?:click\ here\ to\ )?(?:get|download)\ the\ .{0,40}\bapp\b.*
      | click\ here\ to\ (?:subscribe|sign\ up)\b.*
      | (?:sign\ up|subscribe)\b.{0,60}\b(?:newsletters?|inbox|email)\b.{0,80}
      | thanks\ for\ signing\ up!?
      | (?:read|see)\ (?:more|also):.{0,100}
      | \d{4}-\d\d-\d\dT\d\d:\d\d(?::\d\d)?(?:[+-]\d\d:?\d\d|Z)?
    )$""",
    re.IGNORECASE | re.VERBOSE,
)

_ARTICLE_TYPES = {
    "NewsArticle",
    "Article",
    "ReportageNewsArticle",
    "AnalysisNewsArticle",
    "BlogPosting",
    "OpinionNewsArticle",
    "BackgroundNewsArticle",
    "LiveBlogPosting",
    "WebPage",
}


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

    @property
    def word_count(self) -> int:
        return len(self.text.split())


def _parse_date(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    # A date with no zone is taken as UTC: better than dropping it, and documented.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _jsonld_objects(soup: BeautifulSoup) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for script in soup.find_all("script", type=re.compile(r"ld\+json", re.I)):
        try:
            data = json.loads(script.string or "")
        except ValueError:
            continue  # broken JSON-LD is common; the other layers still count
        stack = _as_list(data)
        while stack:
            item = stack.pop(0)
            if not isinstance(item, dict):
                continue
            stack.extend(_as_list(item.get("@graph")))
            types = {str(t) for t in _as_list(item.get("@type"))}
            if types & _ARTICLE_TYPES:
                out.append(item)
    # Prefer a news article over a generic WebPage when a page has both.
    out.sort(key=lambda o: "WebPage" in _as_list(o.get("@type")))
    return out


def _names(value: Any) -> list[str]:
    names = []
    for person in _as_list(value):
        if isinstance(person, dict):
            person = person.get("name")
        if isinstance(person, str) and person.strip():
            names.append(" ".join(person.split()))
    return names


def _people(names: list[str], not_people: set[str]) -> list[str]:
    """Drop author values that name no person: profile URLs, placeholders, the outlet itself.

    Many pages put the outlet or a Facebook page in the author field; skipping it lets the next
    layer (often trafilatura's byline) give the real name.
    """
    return [
        n
        for n in names
        if n
        and not re.match(r"https?://", n)
        and n.casefold() not in not_people
        and n.casefold() not in {"no author", "redaktion", "admin", "staff"}
    ]


def _only_navigation(text: str, soup: BeautifulSoup) -> bool:
    """True when every paragraph of ``text`` is a line of the page's <nav> menus.

    On a page with no article, trafilatura's fallback returns the menu as the main text. Only
    <nav>: some real pages hold their whole article inside <header> or <footer> (4 of the 195
    Media Cloud pages lost their date when those counted).
    """
    chrome = {
        " ".join(line.split())
        for tag in soup.find_all("nav")
        for line in tag.get_text("\n").splitlines()
        if line.strip()
    }
    return bool(chrome) and all(" ".join(p.split()) in chrome for p in text.split("\n\n"))


def _meta(soup: BeautifulSoup, *names: str) -> str | None:
    for name in names:
        tag = soup.find("meta", attrs={"property": name}) or soup.find("meta", attrs={"name": name})
        if tag is not None:
            content = tag.get("content")
            if isinstance(content, str) and content.strip():
                return content.strip()
    return None


def _first(*values: Any) -> Any:
    return next((v for v in values if v), None)


def _htmldate(html: bytes | str, url: str) -> datetime | None:
    # Bytes only: given a str that looks like a URL, htmldate downloads it.
    data = html.encode("utf-8") if isinstance(html, str) else html
    try:
        found = find_date(data, url=url, **_DATE_PARAMS)
    except Exception:  # a date is optional: a parse failure here must not lose the text
        return None
    return _parse_date(found)


def _published(layered: datetime | None, day: datetime | None) -> datetime | None:
    """The publication time: htmldate's day, with the time of day from the page's metadata.

    htmldate (``day``, at midnight UTC) picks the right day more often than the first layer that
    has a date, but knows only the day; when a metadata layer gives a time on that same day, that
    time (and its offset) is kept.
    """
    if day is None:
        return layered
    if layered is not None and layered.date() == day.date():
        return layered
    return day


_TITLE_SEPARATORS = re.compile(r"\s+[|\-–—·:]\s+|\s*[|｜]\s*")


def _clean(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    # og:title is often escaped twice by the CMS ("&amp;quot;" arrives as "&quot;").
    text = " ".join(htmllib.unescape(value).split())
    return text or None


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
    soup: BeautifulSoup, ld0: dict[str, Any], doc: Document, site_name: str | None
) -> str | None:
    """The headline as the reader sees it.

    The metadata titles often carry the outlet's name or a kicker ("Brexit: ..."); the page's
    <h1> usually does not. An <h1> found inside one of the metadata titles is that headline
    without the extras (the longest such <h1>, so that a site-name <h1> loses to the headline).
    Otherwise the first metadata title, with a segment naming the outlet cut off.
    """
    candidates = [
        c
        for c in (
            _clean(ld0.get("headline")),
            _clean(_meta(soup, "og:title", "twitter:title")),
            _clean(doc.title),
            _clean(soup.title.get_text()) if soup.title else None,
        )
        if c
    ]
    folded = [c.casefold() for c in candidates]
    site = (site_name or "").casefold()
    best: str | None = None
    for h1 in soup.find_all("h1"):
        text = _clean(h1.get_text(" "))
        if not text or len(text) < 10 or text.casefold() == site:
            continue
        if any(text.casefold() in c for c in folded) and (best is None or len(text) > len(best)):
            best = text
    if best:
        return best
    return _strip_site(candidates[0], site_name) if candidates else None


def extract(html: bytes | str, url: str) -> Extracted:
    """Extract the main text and metadata of the article page ``html`` fetched from ``url``.

    Raises ExtractError when the page has no main text at all.
    """
    try:
        doc = trafilatura.bare_extraction(
            html,
            url=url,
            with_metadata=True,
            date_extraction_params=_TRAFILATURA_DATE_PARAMS,
            **_TRAFILATURA_OPTIONS,
        )
    except Exception as exc:  # trafilatura raises a variety of lxml and value errors
        raise ExtractError(f"{url}: cannot parse the page: {exc}") from exc
    if not isinstance(doc, Document) or not (doc.text or "").strip():
        raise ExtractError(f"{url}: no main text found")
    body = doc.text or ""
    with warnings.catch_warnings():
        # bs4 warns on XHTML pages that start with <?xml ...?>; the lxml HTML parser reads them
        # well, and a warning escaping extract() is an error under -W error and a stray
        # non-JSON line on the daemon's stderr.
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(html, "lxml")
    ld = _jsonld_objects(soup)
    ld0 = ld[0] if ld else {}

    publisher = ld0.get("publisher")
    site_name = _first(
        _names(publisher)[0] if _names(publisher) else None,
        _meta(soup, "og:site_name"),
        doc.sitename,
    )
    title = _title(soup, ld0, doc, site_name)
    not_people = {
        n.casefold() for n in (*_names(publisher), _meta(soup, "og:site_name"), doc.sitename) if n
    }
    authors = _people(_names(ld0.get("author")), not_people) or _people(
        _names(_meta(soup, "author", "article:author")), not_people
    )
    if not authors and doc.author:
        authors = _people([a.strip() for a in doc.author.split(";")], not_people)
    time_tag = soup.find("time", attrs={"datetime": True})
    layered = _first(
        _parse_date(ld0.get("datePublished")),
        _parse_date(
            _meta(soup, "article:published_time", "og:published_time", "datePublished", "pubdate")
        ),
        _parse_date(time_tag.get("datetime") if time_tag else None),
    )
    published = _published(layered, _htmldate(html, url))
    updated = _first(
        _parse_date(ld0.get("dateModified")),
        _parse_date(_meta(soup, "article:modified_time", "og:updated_time", "dateModified")),
    )
    canonical = None
    link = soup.find("link", rel="canonical")
    if link is not None and isinstance(link.get("href"), str):
        canonical = urljoin(url, str(link["href"]))
    canonical = _first(canonical, _meta(soup, "og:url"))
    html_tag = soup.find("html")
    language = _first(
        ld0.get("inLanguage") if isinstance(ld0.get("inLanguage"), str) else None,
        html_tag.get("lang") if html_tag is not None else None,
        _meta(soup, "og:locale", "language"),
    )
    if isinstance(language, str):
        language = language.replace("_", "-").split("-")[0].lower() or None
    text = "\n\n".join(
        p.strip() for p in body.split("\n") if p.strip() and not _BOILERPLATE.match(p.strip())
    )
    if not text or _only_navigation(text, soup):
        raise ExtractError(f"{url}: no main text found")
    return Extracted(
        title=title,
        text=text,
        authors=tuple(dict.fromkeys(authors)),
        published_at=published,
        updated_at=updated,
        canonical_url=canonical,
        language=language if isinstance(language, str) else None,
        site_name=site_name,
    )
