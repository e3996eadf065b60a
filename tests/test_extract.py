"""Extraction (monitor.extract and its extract_* parts): the demo's article pages against their
own markup, each status on small hand-written pages, every metadata layer, the text cleaning,
and a few real pages of ../shared/data whose status is known. Every real page of
../shared/data/article_html going through without a crash is checked in
tests/test_extraction_gate.py (it takes the gate's worker processes)."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import lxml.html  # type: ignore[import-untyped]
import pytest
from bs4 import BeautifulSoup

from monitor import demo
from monitor.errors import ExtractError
from monitor.extract import Extracted, count_words, extract
from monitor.extract.meta import (
    canonical_url,
    language,
    parse_date,
    read_jsonld,
    read_meta,
    text_of,
)
from monitor.extract.text import clean_text
from tests.conftest import SHARED_DATA

BASE = "http://127.0.0.1:1"
DEMO_PAGES = sorted(demo.STORY.glob("round-*/**/*.html"))
URL = "https://gazette.example/news/2021/04/05/council-extends-late-bus-service"

# Distinct sentences, so that no extractor takes a paragraph for a repeated block.
SENTENCES = [
    "The city council voted on Tuesday to extend the late bus service along the river road "
    "until two in the morning, starting in May.",
    "Shift workers at the hospital and the port had asked for the change for three years, "
    "saying the last bus left before their shifts ended.",
    "The transit authority estimates the extension will cost about four hundred thousand "
    "dollars a year, paid from the regional fuel tax.",
    "Councillor Maria Ostrowski said the vote showed that the council listens to people who "
    "keep the city running at night.",
    "Two councillors voted against the plan, arguing that ridership numbers collected last "
    "winter did not justify the expense.",
    "The authority will review the service after six months and publish the ridership figures "
    "for every stop along the route.",
    "Residents of the east end said they hoped the next extension would reach their "
    "neighbourhood, which has no night service at all.",
    "Drivers' union representatives welcomed the decision but asked for a second driver on "
    "the last runs for safety reasons.",
    "The first late buses will run on the first Monday of May, according to the schedule "
    "published on the authority's website.",
    "A public meeting on the route will be held at the central library on April twentieth "
    "at seven in the evening.",
    "The council also approved new shelters at four stops near the hospital, to be built "
    "before the end of the summer.",
    "Officials said the fuel tax revenue had grown faster than expected, leaving room for "
    "the extra service without a fare increase.",
]


def article(
    paragraphs: int = 6,
    *,
    head: str = "",
    before: str = "",
    inside: str = "",
    after: str = "",
    title: str = "Council extends late bus service on the river road",
    html_attrs: str = 'lang="en"',
) -> str:
    """A small news page: navigation, an <article> of ``paragraphs`` paragraphs, a footer."""
    body = "".join(f"<p>{SENTENCES[i % len(SENTENCES)]}</p>" for i in range(paragraphs))
    return (
        f"<!DOCTYPE html><html {html_attrs}><head><meta charset='utf-8'>"
        f"<title>{title} | Riverside Gazette</title>{head}</head><body>"
        "<header><nav><a href='/'>Home</a> <a href='/news/'>News</a></nav></header>"
        f"{before}<article><h1>{title}</h1>{body}{inside}</article>{after}"
        "<footer><p>Riverside Gazette, 12 Quay Street</p></footer></body></html>"
    )


def jsonld(data: dict) -> str:
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


def tree(html: str):
    return lxml.html.fromstring(html)


# --- the demo's pages ------------------------------------------------------------------------


def _page(path: Path) -> str:
    return path.read_text(encoding="utf-8").replace("{{BASE}}", BASE)


def _jsonld(soup: BeautifulSoup) -> dict:
    scripts = soup.find_all("script", type="application/ld+json")
    assert len(scripts) == 1
    data = json.loads(scripts[0].string)
    assert data["@type"] == "NewsArticle"
    return data


def _words(text: str) -> str:
    return " ".join(text.split())


def _boilerplate(soup: BeautifulSoup) -> set[str]:
    """Every text of the page body outside the <article>: navigation, cookie banner,
    newsletter box, related stories, footer."""
    body = BeautifulSoup(str(soup.body), "lxml")
    for tag in body.find_all(["script", "style", "article"]):
        tag.decompose()
    return {_words(s) for s in body.stripped_strings if _words(s)}


def _rel(path: Path) -> str:
    return path.relative_to(demo.STORY).as_posix()


@pytest.fixture(scope="module")
def extracted() -> dict[str, Extracted]:
    """Every demo page, extracted once (as served, with {{BASE}} filled in)."""
    return {_rel(p): extract(_page(p), BASE + "/" + _rel(p).split("/", 1)[1]) for p in DEMO_PAGES}


def test_the_demo_has_article_pages():
    """The glob finds the demo's eleven article pages, the French one among them."""
    assert len(DEMO_PAGES) == 11
    assert any("courrier-estrie" in _rel(p) for p in DEMO_PAGES)


@pytest.mark.parametrize("path", DEMO_PAGES, ids=_rel)
def test_demo_page_metadata_comes_from_its_json_ld(path, extracted):
    """Title, authors, publication time (aware, exact, time precision), outlet, canonical URL
    and language are the ones the page declares; the page is an ``ok`` article."""
    soup = BeautifulSoup(_page(path), "lxml")
    ld = _jsonld(soup)
    got = extracted[_rel(path)]
    # Titles have their whitespace collapsed: the French headline's no-break space before the
    # colon becomes a plain space.
    assert got.title == " ".join(ld["headline"].split())
    authors = ld["author"] if isinstance(ld["author"], list) else [ld["author"]]
    assert list(got.authors) == [a["name"] for a in authors]
    assert got.published_at is not None and got.published_at.tzinfo is not None
    assert got.published_at == datetime.fromisoformat(ld["datePublished"])
    assert got.published_precision == "time"
    assert got.site_name == ld["publisher"]["name"]
    assert got.canonical_url == soup.find("link", rel="canonical")["href"]
    assert got.canonical_url.startswith(BASE + "/")
    assert got.language == ("fr" if "courrier-estrie" in _rel(path) else "en")
    if "dateModified" in ld:
        assert got.updated_at == datetime.fromisoformat(ld["dateModified"])
    else:
        assert got.updated_at is None
    assert (got.status, got.status_reason) == ("ok", None)


@pytest.mark.parametrize("path", DEMO_PAGES, ids=_rel)
def test_demo_page_text_is_the_article_without_boilerplate(path, extracted):
    """The main text holds every paragraph of the <article> and no text from outside it (nav
    links, cookie banner, newsletter box, related stories, footer)."""
    soup = BeautifulSoup(_page(path), "lxml")
    paragraphs = [_words(p.get_text()) for p in soup.select("article p")]
    assert len(paragraphs) >= 5
    text = extracted[_rel(path)].text
    flat = _words(text)
    for paragraph in paragraphs:
        assert paragraph in flat
    boilerplate = _boilerplate(soup)
    # The page really has each kind of boilerplate, so the check below means something.
    assert soup.find("nav") is not None and soup.find("footer") is not None
    assert any("cookie" in b.lower() or "témoins" in b for b in boilerplate)
    assert len(boilerplate) >= 30
    lines = [_words(line) for line in text.split("\n\n")]
    for chunk in boilerplate:
        assert chunk not in lines, chunk
        if len(chunk.split()) >= 4:
            assert chunk not in flat, chunk


def test_the_edited_page_reports_its_modification_time():
    """The round-2 Northern Ledger page (the edit) gives updated_at equal to its
    dateModified, later than published_at."""
    path = demo.STORY / "round-2/northern-ledger/2023/03/23/ottawa-washington-roxham-road-deal.html"
    ld = _jsonld(BeautifulSoup(_page(path), "lxml"))
    got = extract(_page(path), BASE + "/northern-ledger/2023/03/23/x.html")
    assert got.updated_at == datetime.fromisoformat(ld["dateModified"])
    assert got.published_at is not None and got.updated_at > got.published_at
    assert got.updated_precision == "time"


# --- statuses --------------------------------------------------------------------------------


def test_a_plain_article_is_ok():
    """A news page with six paragraphs is ``ok``, with no reason, and its text is the six."""
    got = extract(article(6), URL)
    assert (got.status, got.status_reason) == ("ok", None)
    assert got.text.split("\n\n") == SENTENCES[:6]
    assert got.word_count >= 60


def test_too_short_follows_the_callers_min_words():
    """Two paragraphs (44 words) are ``too_short`` under min_words 60 and ``ok`` under 40."""
    page = article(2)
    got = extract(page, URL, min_words=60)
    assert got.status == "too_short"
    assert got.status_reason == f"{got.word_count} words, fewer than 60"
    assert extract(page, URL, min_words=40).status == "ok"


PAYWALL_LD = jsonld(
    {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": "Council extends late bus service on the river road",
        "isAccessibleForFree": "False",
        "hasPart": {
            "@type": "WebPageElement",
            "isAccessibleForFree": "False",
            "cssSelector": ".paywall",
        },
    }
)
PAYWALL_BOX = (
    "<div class='paywall'><p>Subscribe to continue reading. Already a subscriber? "
    "<a href='/login'>Log in</a></p></div>"
)


def test_a_teaser_behind_a_paywall_is_paywalled():
    """Three paragraphs, JSON-LD isAccessibleForFree false and a "subscribe to continue
    reading" box: ``paywalled``, and the reason names the markers."""
    got = extract(article(3, head=PAYWALL_LD, after=PAYWALL_BOX), URL)
    assert got.status == "paywalled"
    assert "isAccessibleForFree" in (got.status_reason or "")
    assert "paywall box" in (got.status_reason or "")


def test_paywall_markers_on_a_whole_article_are_ignored():
    """The same markers on a twelve-paragraph article (full text served): ``ok``."""
    got = extract(article(12, head=PAYWALL_LD, after=PAYWALL_BOX), URL)
    assert got.status == "ok"


def test_one_paywall_marker_alone_does_not_make_a_short_article_paywalled():
    """A short article whose page only declares isAccessibleForFree false (as many free pages
    do), or only carries an empty paywall container, stays ``ok``."""
    assert extract(article(4, head=PAYWALL_LD), URL).status == "ok"
    empty_box = "<div class='paywall-container inline-paywall'></div>"
    assert extract(article(4, after=empty_box), URL).status == "ok"


def _links(n: int, words: str = "Story number {i} about the council and the buses") -> str:
    return "".join(f"<li><a href='/news/{i}'>{words.format(i=i)}</a></li>" for i in range(n))


@pytest.mark.parametrize(
    ("page", "url", "reason"),
    [
        pytest.param(
            "<html><head><title>Page not found | Riverside Gazette</title></head><body>"
            "<h1>Page not found</h1><p>Sorry, the page you were looking for does not exist. "
            "It may have been moved or deleted. Try the search box above.</p></body></html>",
            URL,
            "error page",
            id="error-page",
        ),
        pytest.param(
            article(
                1,
                title="Transit",
                head=jsonld({"@context": "https://schema.org", "@type": "CollectionPage"}),
                after=f"<ul>{_links(30)}</ul>",
            ),
            "https://gazette.example/news/transit",
            "JSON-LD CollectionPage",
            id="section-front-json-ld",
        ),
        pytest.param(
            article(2, head="<meta property='og:type' content='video.other'>"),
            URL,
            "og:type video.other",
            id="video-page",
        ),
        pytest.param(article(8), "https://gazette.example/", "home page URL", id="home-page"),
        pytest.param(
            article(1, title="Transit news", after=f"<ul>{_links(10)}</ul>"),
            "https://gazette.example/tag/transit/",
            "listing URL /tag/transit/",
            id="tag-listing",
        ),
        pytest.param(
            article(2, title="Riverside Gazette", after=f"<ul>{_links(160)}</ul>"),
            "https://gazette.example/news",
            "front page: 160 headline links",
            id="front-page-links",
        ),
    ],
)
def test_pages_that_are_not_articles_say_so(page, url, reason):
    """An error page served with 200, a section front, a video page, a home page, a tag
    listing and a page of headlines are ``not_article``, each with its reason."""
    got = extract(page, url)
    assert got.status == "not_article"
    assert (got.status_reason or "").startswith(reason), got.status_reason


def test_a_short_article_with_a_related_list_and_og_website_is_an_article():
    """og:type website (common on real articles) and a list of 20 related links do not make
    a short article a front page."""
    page = article(
        4,
        head="<meta property='og:type' content='website'>",
        after=f"<aside><h2>Related</h2><ul>{_links(20)}</ul></aside>",
    )
    got = extract(page, URL)
    assert got.status == "ok"
    assert "Story number" not in got.text


def test_a_page_whose_only_text_is_its_menu_is_not_an_article():
    """A page with nothing but a <nav> menu: ``not_article``, empty text."""
    page = (
        "<html><body><nav><ul><li><a href='/a'>World news</a></li>"
        "<li><a href='/b'>Business news</a></li><li><a href='/c'>Sports results</a></li>"
        "</ul></nav></body></html>"
    )
    got = extract(page, URL)
    assert (got.status, got.text) == ("not_article", "")


def test_an_html_page_with_an_empty_body_is_too_short():
    """An empty <body>: ``too_short`` with the reason "no main text", not an error."""
    got = extract("<html><head><title>Empty</title></head><body></body></html>", URL)
    assert (got.status, got.status_reason, got.text) == ("too_short", "no main text", "")


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="empty"),
        pytest.param(
            b'<?xml version="1.0"?><rss version="2.0"><channel><title>t</title></channel></rss>',
            id="rss-feed",
        ),
    ],
)
def test_bytes_that_hold_no_html_page_raise_extract_error(data):
    """Empty bytes and a feed are no page at all: ExtractError naming the URL."""
    with pytest.raises(ExtractError, match=r"https://example\.org/empty"):
        extract(data, "https://example.org/empty")


# --- metadata --------------------------------------------------------------------------------


def test_json_ld_references_are_resolved_and_outrank_open_graph():
    """A Yoast-style @graph whose article names its author and publisher by @id gives the
    person's name and the publisher's name, ahead of og:site_name and the author meta tag."""
    graph = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "Organization", "@id": "https://g.example/#org", "name": "Riverside Gazette"},
            {"@type": "Person", "@id": "https://g.example/#/person/1", "name": "Ana Lima"},
            {"@type": "WebPage", "@id": URL, "name": "Council extends late bus service"},
            {
                "@type": "NewsArticle",
                "headline": "Council extends late bus service on the river road",
                "author": {"@id": "https://g.example/#/person/1"},
                "publisher": {"@id": "https://g.example/#org"},
                "datePublished": "2021-04-05T09:30:00+02:00",
            },
        ],
    }
    head = (
        jsonld(graph) + "<meta property='og:site_name' content='Gazette Online'>"
        "<meta name='author' content='Web Desk'>"
    )
    got = extract(article(6, head=head), URL)
    assert got.authors == ("Ana Lima",)
    assert got.site_name == "Riverside Gazette"


def test_site_name_falls_back_to_og_site_name_then_none():
    """Without a JSON-LD publisher the outlet is og:site_name; without either, None (the
    pipeline then uses the configured source name)."""
    head = "<meta property='og:site_name' content='Riverside Gazette'>"
    assert extract(article(6, head=head), URL).site_name == "Riverside Gazette"
    assert extract(article(6), URL).site_name is None


@pytest.mark.parametrize(
    ("value", "at", "precision"),
    [
        pytest.param(
            "2021-04-05T09:30:00+02:00",
            datetime(2021, 4, 5, 9, 30, tzinfo=timezone(timedelta(hours=2))),
            "time",
            id="with-offset",
        ),
        pytest.param("2021-04-05", datetime(2021, 4, 5, tzinfo=UTC), "day", id="day-only"),
        pytest.param(
            "2021-04-05T00:00:00Z", datetime(2021, 4, 5, tzinfo=UTC), "day", id="padded-midnight"
        ),
        pytest.param(
            "2021-04-05T09:30:00", datetime(2021, 4, 5, 9, 30, tzinfo=UTC), "time", id="no-zone"
        ),
    ],
)
def test_publication_date_keeps_its_precision(value, at, precision):
    """A JSON-LD datePublished comes out aware; one known only to the day is kept as the day
    (midnight UTC, precision ``day``), never given an invented time."""
    head = jsonld(
        {"@context": "https://schema.org", "@type": "NewsArticle", "datePublished": value}
    )
    got = extract(article(6, head=head), "https://gazette.example/news/council-late-buses")
    assert got.published_at == at
    assert got.published_at is not None and got.published_at.tzinfo is not None
    assert got.published_precision == precision


def test_the_day_from_htmldate_wins_and_a_same_day_time_refines_it():
    """The URL says 2021-04-05 and <time> gives 14:05 that day: published at that time; the
    article:modified_time meta tag gives updated_at with its precision."""
    head = "<meta property='article:modified_time' content='2021-04-06'>"
    inside = "<time datetime='2021-04-05T14:05:00-04:00'>April 5</time>"
    got = extract(article(6, head=head, inside=inside), URL)
    assert got.published_at == datetime(2021, 4, 5, 14, 5, tzinfo=timezone(timedelta(hours=-4)))
    assert got.published_precision == "time"
    assert (got.updated_at, got.updated_precision) == (datetime(2021, 4, 6, tzinfo=UTC), "day")


def test_a_layer_naming_the_same_instant_in_another_offset_falls_on_htmldate_s_day():
    """htmldate reads the day of the UTC meta tag (2020-12-24); JSON-LD gives the same instant
    in the page's own offset (2020-12-25 01:59 +02:00): JSON-LD, the more trusted layer, still
    gives the time, in its offset."""
    head = "<meta property='article:published_time' content='2020-12-24T23:59:50+00:00'>" + jsonld(
        {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "datePublished": "2020-12-25T01:59:50+02:00",
        }
    )
    got = extract(article(6, head=head), "https://gazette.example/news/council-late-buses")
    assert got.published_at == datetime(
        2020, 12, 25, 1, 59, 50, tzinfo=timezone(timedelta(hours=2))
    )
    assert got.published_precision == "time"


def test_a_date_only_in_an_html_comment_is_found_and_the_comment_stays_out_of_the_text():
    """The page is parsed once with its comments for htmldate (some pages keep their date only
    in one), then without them for the text: the date is found, the comment is not text."""
    inside = "<!-- Veröffentlicht am 2019-05-17 um 09:12 Uhr --><p>Ein letzter Satz.</p>"
    got = extract(article(6, inside=inside), "https://gazette.example/news/council-late-buses")
    assert got.published_at is not None and got.published_at.date().isoformat() == "2019-05-17"
    assert "Veröffentlicht" not in got.text and "Ein letzter Satz." in got.text


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Mon, 05 Apr 2021 09:30:00 GMT", datetime(2021, 4, 5, 9, 30, tzinfo=UTC)),
        ("0001-01-01T00:00:00", None),
        ("2999-01-01", None),
        ("yesterday", None),
        ("", None),
    ],
)
def test_dates_in_other_forms_and_placeholders(value, expected):
    """RFC 2822 dates are read; placeholder years (a .NET 0001-01-01, 2999) and words are
    not dates."""
    got = parse_date(value)
    assert (got.at if got else None) == expected


@pytest.mark.parametrize(
    ("url", "head", "expected"),
    [
        pytest.param(
            "https://g.example/amp/news/a.html",
            "<link rel='canonical' href='/news/a.html'>",
            "https://g.example/news/a.html",
            id="rel-canonical-relative",
        ),
        pytest.param(
            "https://g.example/news/a.html",
            "<meta property='og:url' content='https://g.example/news/a'>",
            "https://g.example/news/a",
            id="og-url",
        ),
        pytest.param(
            "https://g.example/news/a/amp/", "", "https://g.example/news/a/", id="amp-segment"
        ),
        pytest.param(
            "https://g.example/news/a.html?amp=1&id=7",
            "",
            "https://g.example/news/a.html?id=7",
            id="amp-query",
        ),
        pytest.param(
            "https://g.example/news/a.html?outputType=amp",
            "",
            "https://g.example/news/a.html",
            id="output-type-amp",
        ),
        pytest.param(
            "https://g.example/news/a.amp.html", "", "https://g.example/news/a.html", id="dot-amp"
        ),
        pytest.param(
            "https://g.example/news/a.html",
            "<link rel='canonical' href='https://g.example/'>"
            "<meta property='og:url' content='https://g.example/news/a.html'>",
            "https://g.example/news/a.html",
            id="home-page-canonical-ignored",
        ),
        pytest.param("https://g.example/news/a.html", "", None, id="none"),
    ],
)
def test_canonical_url(url, head, expected):
    """rel=canonical (made absolute), then og:url, else the URL mapped from AMP; a canonical
    naming the home page for an article URL is a misconfiguration and is ignored."""
    page = tree(f"<html><head>{head}</head><body><p>x</p></body></html>")
    assert canonical_url(page, read_meta(page), url) == expected


def test_an_amp_page_gives_its_canonical_through_extract():
    """An AMP page fetched at /amp/ reports the canonical page its <link> names."""
    head = "<link rel='canonical' href='https://gazette.example/news/council-late-buses'>"
    got = extract(article(6, head=head, html_attrs="amp lang='en'"), URL + "/amp/")
    assert got.canonical_url == "https://gazette.example/news/council-late-buses"


@pytest.mark.parametrize(
    ("html_attrs", "head", "expected"),
    [
        ("lang='en-GB'", "", "en"),
        ("", "<meta property='og:locale' content='fr_CA'>", "fr"),
        (
            "lang='en'",
            jsonld({"@context": "https://schema.org", "@type": "Article", "inLanguage": "de-AT"}),
            "de",
        ),
        ("lang='x'", "", None),
    ],
)
def test_language(html_attrs, head, expected):
    """JSON-LD inLanguage, then <html lang>, then og:locale; the primary subtag only."""
    page = tree(f"<html {html_attrs}><head>{head}</head><body><p>x</p></body></html>")
    assert language(page, read_meta(page), read_jsonld(page)) == expected


# --- text ------------------------------------------------------------------------------------


def test_clean_text_drops_furniture_and_link_lists_and_keeps_the_article():
    """The headline repeated first, boilerplate lines, a run of related links and a lone
    linked headline go; paragraphs, a linked sentence and a sentence about a newsletter stay."""
    page = tree(
        "<html><body><h1>Council extends late buses</h1>"
        "<a href='/1'>Bridge repairs to start in June</a><a href='/2'>Library hours cut</a>"
        "<a href='/3'>Mayor opens new market hall</a>"
        "<a href='/4'>Read the full council report here.</a></body></html>"
    )
    raw = "\n".join(
        [
            "Council extends late buses",
            SENTENCES[0],
            "Advertisement",
            SENTENCES[1],
            "Bridge repairs to start in June",
            "- Library hours cut",
            SENTENCES[2],
            "Mayor opens new market hall",
            SENTENCES[3],
            "Read the full council report here.",
            "The newsletter of the drivers' union called the vote a victory.",
            "Share this article",
            "Copyright 2021 Riverside Gazette. All rights reserved.",
        ]
    )
    got = clean_text(raw, page, ["Council extends late buses"])
    assert got.split("\n\n") == [
        SENTENCES[0],
        SENTENCES[1],
        SENTENCES[2],
        SENTENCES[3],
        "Read the full council report here.",
        "The newsletter of the drivers' union called the vote a victory.",
    ]


def test_hidden_copies_of_the_article_are_not_text():
    """An element hidden with display:none (another layout's copy) adds nothing to the text."""
    hidden = "<div style='display: none'><p>Hidden copy of the story for the app layout.</p></div>"
    got = extract(article(6, after=hidden), URL)
    assert "Hidden copy" not in got.text
    assert got.text.split("\n\n") == SENTENCES[:6]


def test_word_count_counts_chinese_and_japanese_characters():
    """Words are whitespace-separated, except Chinese and Japanese characters: two a word."""
    assert count_words("The council voted on Tuesday.") == 5
    assert count_words("港特首梁振英就住宅违建事件道歉") == 8  # 15 characters
    assert count_words("Kindle for PCの起動ホットキー") == 3 + 4  # 3 words, 8 characters


# --- real pages of ../shared/data ------------------------------------------------------------

needs_data = pytest.mark.skipif(
    not (SHARED_DATA / "article_html").is_dir(), reason="../shared/data/article_html absent"
)


def _real(rel: str) -> bytes:
    data = (SHARED_DATA / rel).read_bytes()
    return gzip.decompress(data) if rel.endswith(".gz") else data


@needs_data
@pytest.mark.parametrize(
    ("rel", "url", "status"),
    [
        pytest.param(
            "article_extraction_benchmark/html/"
            "042bb7b5fedab6eac7db576522b89b93904c237d344bcbe14a6a5ab7f7335856.html.gz",
            "https://www.wsj.com/articles/google-stadia-microsoft-xcloud-apple-arcade-so-many-"
            "ways-to-playand-pay-11574168580",
            "paywalled",
            id="wsj-teaser",
        ),
        pytest.param(
            "article_html/trafilatura_eval_subset/html/badische-zeitung.de-Wohnungssuche.html",
            "https://www.badische-zeitung.de/viele-studierende",
            "paywalled",
            id="badische-zeitung-teaser",
        ),
        pytest.param(
            "article_html/trafilatura_eval_subset/html/nytimes.com.blackouts.html",
            "https://www.nytimes.com/2019/10/10/business/energy-environment/blackout.html",
            "ok",
            id="nytimes-not-free-but-whole",
        ),
        pytest.param(
            "article_html/newspaper4k/html/cnn_main_site.html",
            "https://edition.cnn.com/index.html",
            "not_article",
            id="cnn-home-page",
        ),
        pytest.param(
            "article_html/newspaper4k/html/wired_main_site.html",
            "https://www.wired.com/index.html",
            "not_article",
            id="wired-home-page",
        ),
        pytest.param(
            "article_html/newspaper3k/html/details.com1.html",
            "http://www.details.com/culture-trends/critical-eye/201411/x",
            "not_article",
            id="page-not-found",
        ),
        pytest.param(
            "feeds/rsparser/YouTubeTheVolvoRocks.html",
            "https://www.youtube.com/user/TheVolvoRocks",
            "not_article",
            id="youtube-channel",
        ),
    ],
)
def test_real_pages_of_known_status(rel, url, status):
    """Real teasers behind paywalls, a whole article that declares itself not free, home
    pages, a "page not found" served as a page and a video channel get the right status."""
    got = extract(_real(rel), url)
    assert got.status == status, got.status_reason


def test_text_of_leaves_script_and_style_out_with_or_without_them():
    """An element's text is its text nodes in page order, a script's or a style's left out."""
    plain = lxml.html.fromstring("<div>By <a>Jane</a> Doe</div>")
    mixed = lxml.html.fromstring(
        "<div>By <a>Jane</a><script>var x</script><style>p{}</style> Doe</div>"
    )
    assert text_of(plain) == "By  Jane  Doe"
    assert " ".join(text_of(mixed).split()) == "By Jane Doe"
