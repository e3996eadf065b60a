"""Article HTML -> main text and metadata. Pure: bytes in, an Extracted out.

The main text comes from trafilatura (measured best of the maintained extractors on
../shared/data/article_extraction_benchmark). Metadata is read from every layer a page offers,
in this order of trust: JSON-LD (NewsArticle and kin), Open Graph and ``article:*`` meta tags,
other meta tags, ``<time datetime>``, then what trafilatura found. beautifulsoup4 reads the
structured layers, which trafilatura reduces to a day-precision date and one author string.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import trafilatura
from bs4 import BeautifulSoup
from trafilatura.settings import Document

from monitor.errors import ExtractError

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


def extract(html: bytes | str, url: str) -> Extracted:
    """Extract the main text and metadata of the article page ``html`` fetched from ``url``.

    Raises ExtractError when the page has no main text at all.
    """
    try:
        doc = trafilatura.bare_extraction(
            html, url=url, with_metadata=True, include_comments=False, include_tables=False
        )
    except Exception as exc:  # trafilatura raises a variety of lxml and value errors
        raise ExtractError(f"{url}: cannot parse the page: {exc}") from exc
    if not isinstance(doc, Document) or not (doc.text or "").strip():
        raise ExtractError(f"{url}: no main text found")
    body = doc.text or ""
    soup = BeautifulSoup(html, "lxml")
    ld = _jsonld_objects(soup)
    ld0 = ld[0] if ld else {}

    title = _first(
        ld0.get("headline") if isinstance(ld0.get("headline"), str) else None,
        _meta(soup, "og:title", "twitter:title"),
        doc.title,
    )
    authors = _names(ld0.get("author")) or _names(_meta(soup, "author", "article:author"))
    if not authors and doc.author:
        authors = [a.strip() for a in doc.author.split(";") if a.strip()]
    time_tag = soup.find("time", attrs={"datetime": True})
    published = _first(
        _parse_date(ld0.get("datePublished")),
        _parse_date(
            _meta(soup, "article:published_time", "og:published_time", "datePublished", "pubdate")
        ),
        _parse_date(time_tag.get("datetime") if time_tag else None),
        _parse_date(doc.date),
    )
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
    publisher = ld0.get("publisher")
    site_name = _first(
        _names(publisher)[0] if _names(publisher) else None,
        _meta(soup, "og:site_name"),
        doc.sitename,
    )
    text = "\n\n".join(p.strip() for p in body.split("\n") if p.strip())
    return Extracted(
        title=" ".join(title.split()) if isinstance(title, str) else None,
        text=text,
        authors=tuple(dict.fromkeys(authors)),
        published_at=published,
        updated_at=updated,
        canonical_url=canonical,
        language=language if isinstance(language, str) else None,
        site_name=site_name,
    )
