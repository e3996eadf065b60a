"""monitor.parse.parse_feed on the real-world fixtures in ../shared/data/feeds and on small
hand-written bodies: feeds, charsets, sitemaps, and the fast path held to feedparser's answers."""

from __future__ import annotations

import csv
import functools
import gzip
import io
import json
import re
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from benchmarks import parse as parse_bench
from monitor.errors import ParseError

# parse_fast and _parse_with_feedparser are the two readers behind parse_feed: the tests hold
# them to the same answers.
from monitor.parse import Feed, FeedEntry, parse_feed
from monitor.parse.fast import parse_fast
from monitor.parse.feeds import _parse_with_feedparser, _utf8_xml
from monitor.urls import normalise_url
from tests.conftest import SHARED_DATA
from tests.httpserver import Reply, Site

FEEDS = SHARED_DATA / "feeds"
BASE = "https://feeds.example.com/"


def _manifest() -> dict[str, dict[str, str]]:
    path = FEEDS / "MANIFEST.tsv"
    if not path.is_file():
        return {}
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        return {row["local"]: row for row in reader}


def _feed_files() -> list[str]:
    # The same selection the parse benchmark measures.
    return [p.relative_to(parse_bench.FEEDS).as_posix() for p in parse_bench.corpus_files()]


MANIFEST = _manifest()
FILES = _feed_files()


def base_url(rel: str) -> str:
    return BASE + rel


def body_of(rel: str) -> bytes:
    return (FEEDS / rel).read_bytes()


def is_gzip(rel: str) -> bool:
    return body_of(rel)[:2] == b"\x1f\x8b"


def parsed(rel: str, *, gunzip: bool = False) -> Feed | ParseError:
    """parse_feed's answer for one fixture file, computed once per session."""
    return _parsed(rel, gunzip)


@functools.cache
def _parsed(rel: str, gunzip: bool) -> Feed | ParseError:
    body = body_of(rel)
    if gunzip:
        # What the fetcher hands over for a body served with Content-Encoding: gzip.
        body = gzip.decompress(body)
    try:
        return parse_feed(body, base_url(rel), {})
    except ParseError as exc:
        return exc


def parsed_feed(rel: str) -> Feed:
    result = parsed(rel, gunzip=is_gzip(rel))
    assert isinstance(result, Feed), f"{rel}: {result!r}"
    return result


def _rows(predicate) -> list[str]:  # type: ignore[no-untyped-def]
    return sorted(rel for rel, row in MANIFEST.items() if predicate(row))


@functools.cache
def _feedparser_linked(rel: str) -> bool:
    """Whether feedparser itself finds an entry with a link in the file."""
    import feedparser

    result = feedparser.parse(io.BytesIO(body_of(rel)))
    return any(e.get("link") or str(e.get("id", "")).startswith("http") for e in result.entries)


def _unusable(row: dict[str, str]) -> bool:
    """Malformed, and no entry we could use: feedparser found none, or none with a link."""
    return row["bozo"] == "1" and (
        row["n_entries"] in ("", "0") or not _feedparser_linked(row["local"])
    )


FEEDS_WITH_ENTRIES = _rows(
    lambda r: r["kind"] == "feed" and int(r["n_entries"] or 0) > 0 and not _unusable(r)
)
RELATIVE_LINK_FEEDS = _rows(lambda r: "relative" in r["notes"] and int(r["n_entries"] or 0) > 0)
HTML_PAGES = _rows(lambda r: r["kind"] == "html-page")


def _is_json_feed(rel: str) -> bool:
    if not rel.endswith(".json"):
        return False
    try:
        data = json.loads(body_of(rel))
    except ValueError:
        return False
    return isinstance(data, dict) and "jsonfeed.org" in str(data.get("version", ""))


JSON_FEEDS = [rel for rel in FILES if _is_json_feed(rel)]

# Real news-outlet feeds whose every item has a link: our count must equal feedparser's.
NEWS_FEEDS = {
    "rss-parser/guardian.rss": 55,
    "feeder/model/rss_theguardian.xml": 54,
    "photojournalism/nytimes.xml": 25,
    "photojournalism/bbc.xml": 16,
    "photojournalism/npr.xml": 15,
    "photojournalism/japantimes.xml": 30,
    "photojournalism/aeon.xml": 20,
    "photojournalism/quanta.xml": 5,
    "miniflux/parser/urdu_UTF8.xml": 26,
    "node-feedparser/wapowellness.xml": 29,
    "feeder/model/rss_lemonde.xml": 21,
    "feeder/model/golem-de.xml": 40,
    "rsparser/livemint.xml": 25,
    "rsparser/aktuality.rss": 30,
    "rsparser/macworld.rss": 30,
    "feeder/model/rdf_slashdot.xml": 15,
    "node-feedparser/tpm.atom": 20,
}


def url_is_absolute(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


# --- the corpus --------------------------------------------------------------------------------


def test_corpus_is_present_and_matches_the_manifest() -> None:
    """The shared feed corpus is there, and every file in it has a manifest row."""
    assert len(FILES) == 374
    assert set(FILES) == set(MANIFEST)
    assert len(FEEDS_WITH_ENTRIES) > 240  # 254 with entries, 12 of them malformed and link-less
    assert len(JSON_FEEDS) == 16
    assert len(HTML_PAGES) == 11


@pytest.mark.parametrize("rel", FILES, ids=FILES)
def test_every_fixture_parses_or_raises_parse_error(rel: str) -> None:
    """parse_feed reads each real-world file or raises ParseError, never another exception."""
    result = parsed(rel)  # any other exception propagates and fails the test
    row = MANIFEST[rel]
    if isinstance(result, ParseError):
        assert result.kind in ("not_a_feed", "parse")
        # Only non-feeds, gzip bytes (which the fetcher would have decompressed) and malformed
        # feeds without an entry we could use are refused: a broken feed that yields nothing is
        # an error on its source, never a silently empty feed.
        assert row["kind"] != "feed" or is_gzip(rel) or _unusable(row), f"{rel}: {result}"
        return
    assert row["kind"] != "html-page"
    assert isinstance(result.entries, tuple)
    for entry in result.entries:
        assert isinstance(entry.url, str) and entry.url
        assert isinstance(entry.key, str) and entry.key


@pytest.mark.parametrize("rel", HTML_PAGES, ids=HTML_PAGES)
def test_html_pages_in_the_corpus_are_not_a_feed(rel: str) -> None:
    """Each HTML page in the corpus raises ParseError(not_a_feed)."""
    result = parsed(rel)
    assert isinstance(result, ParseError)
    assert result.kind == "not_a_feed"


@pytest.mark.parametrize("rel", FEEDS_WITH_ENTRIES, ids=FEEDS_WITH_ENTRIES)
def test_entry_count_never_exceeds_feedparser_count(rel: str) -> None:
    """We keep at most the entries feedparser found (only link-less entries are dropped)."""
    feed = parsed_feed(rel)
    assert len(feed.entries) <= int(MANIFEST[rel]["n_entries"])


def test_most_feeds_keep_every_entry() -> None:
    """Link-less entries are rare: nearly all feeds with entries keep feedparser's full count."""
    equal = [
        rel
        for rel in FEEDS_WITH_ENTRIES
        if len(parsed_feed(rel).entries) == int(MANIFEST[rel]["n_entries"])
    ]
    assert len(equal) >= len(FEEDS_WITH_ENTRIES) - 40


@pytest.mark.parametrize(("rel", "count"), sorted(NEWS_FEEDS.items()), ids=sorted(NEWS_FEEDS))
def test_news_feed_entry_count_equals_manifest(rel: str, count: int) -> None:
    """Real news feeds, every item linked, give exactly feedparser's entry count."""
    assert int(MANIFEST[rel]["n_entries"]) == count
    feed = parsed_feed(rel)
    assert len(feed.entries) == count
    assert len({e.url for e in feed.entries}) >= count - 1  # distinct articles, not one URL
    assert all(url_is_absolute(e.url) for e in feed.entries)


@pytest.mark.parametrize(
    "rel", ["node-feedparser/compressed.xml", "node-feedparser/invalid-characters-gzipped.xml"]
)
def test_gzip_fixture_parses_once_decompressed(rel: str) -> None:
    """The gzip fixtures, decompressed as the fetcher does, give feedparser's entry count."""
    assert is_gzip(rel)
    feed = parsed_feed(rel)
    assert len(feed.entries) == int(MANIFEST[rel]["n_entries"]) > 0


@pytest.mark.parametrize("rel", JSON_FEEDS, ids=JSON_FEEDS)
def test_json_feed_items_become_entries_with_absolute_urls(rel: str) -> None:
    """A JSON Feed's linked items all become entries, in order, with absolute URLs and ids."""
    data = json.loads(body_of(rel))
    items = [
        item
        for item in data.get("items", [])
        if isinstance(item.get("url") or item.get("external_url"), str)
    ]
    feed = parsed_feed(rel)
    assert feed.format in ("json1", "json11")
    assert [e.url for e in feed.entries] == [
        urljoin(base_url(rel), item.get("url") or item["external_url"]) for item in items
    ]
    assert all(url_is_absolute(e.url) for e in feed.entries)
    # The key is the item's id, else its normalised URL.
    assert [e.key for e in feed.entries] == [
        str(item["id"]) if item.get("id") else normalise_url(e.url)
        for item, e in zip(items, feed.entries, strict=True)
    ]


def test_json_feeds_in_corpus_give_entries() -> None:
    """feedparser reads no JSON Feed; parse_feed reads the corpus's into hundreds of entries."""
    total = sum(len(parsed_feed(rel).entries) for rel in JSON_FEEDS)
    assert total >= 300
    assert len(parsed_feed("rsparser/DaringFireball.json").entries) == 48


def test_json_feed_relative_url_and_dates() -> None:
    """A JSON Feed item's relative url is made absolute and its dates are aware datetimes."""
    body = json.dumps(
        {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "T",
            "items": [
                {"id": "1", "url": "/posts/1", "date_published": "2024-03-01T10:00:00+02:00"},
                {
                    "id": "2",
                    "external_url": "https://other.example/2",
                    "date_modified": "2024-03-02T10:00:00",
                },
                {"id": "3", "title": "no url: skipped"},
            ],
        }
    ).encode()
    feed = parse_feed(body, "https://site.example/feed.json", {})
    assert feed.format == "json11"
    assert [e.url for e in feed.entries] == [
        "https://site.example/posts/1",
        "https://other.example/2",
    ]
    first, second = feed.entries
    assert first.published_at is not None and first.published_at.utcoffset() is not None
    assert first.published_at.isoformat() == "2024-03-01T10:00:00+02:00"
    assert second.updated_at is not None and second.updated_at.tzinfo is not None


@pytest.mark.parametrize("rel", RELATIVE_LINK_FEEDS, ids=RELATIVE_LINK_FEEDS)
def test_relative_entry_links_come_out_absolute(rel: str) -> None:
    """Feeds whose entry links are relative give absolute http(s) entry URLs."""
    feed = parsed_feed(rel)
    assert feed.entries
    for entry in feed.entries:
        assert url_is_absolute(entry.url), entry.url


def test_relative_links_resolve_against_the_feed_url() -> None:
    """A relative item link with no xml:base resolves against the URL the feed came from."""
    rel = "node-feedparser/rss-with-relative-urls.xml"
    feed = parse_feed(body_of(rel), "https://games.example/en/rss", {})
    assert feed.entries[0].url.startswith(
        "https://games.example/en/games/neverwinter/news/detail/10743874-"
    )


def test_entry_dates_are_aware_when_present() -> None:
    """Every published/updated date parsed from the corpus is a timezone-aware datetime."""
    dated = 0
    naive = []
    for rel in FILES:
        result = parsed(rel, gunzip=is_gzip(rel))
        if isinstance(result, ParseError):
            continue
        for entry in result.entries:
            for value in (entry.published_at, entry.updated_at):
                if value is not None:
                    dated += 1
                    if value.tzinfo is None or value.utcoffset() is None:
                        naive.append((rel, entry.url, value))
    assert naive == []
    assert dated > 2000  # the check is not vacuous


def test_rss_dates_are_converted_to_utc() -> None:
    """An RSS pubDate with an offset becomes the same instant as an aware datetime."""
    body = _rss(
        "<item><link>https://a.example/1</link>"
        "<pubDate>Tue, 05 Mar 2024 09:30:00 +0100</pubDate></item>"
    )
    (entry,) = parse_feed(body, "https://a.example/feed", {}).entries
    assert entry.published_at is not None
    assert entry.published_at.tzinfo is not None
    assert entry.published_at.isoformat() == "2024-03-05T08:30:00+00:00"
    assert entry.updated_at is None  # no <updated>: not mistaken for an edit


# --- not feeds ---------------------------------------------------------------------------------


RSS_HEADERS = {"Content-Type": "application/rss+xml; charset=utf-8"}


def _rss(items: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        f"<link>https://a.example/</link>{items}</channel></rss>"
    ).encode()


@pytest.mark.parametrize(
    "body",
    [
        b"<!DOCTYPE html><html><head><title>Home</title></head><body><p>hi</body></html>",
        b"<html><head><link rel='alternate' type='application/rss+xml' href='/feed'></head></html>",
    ],
)
def test_html_page_is_not_a_feed(body: bytes) -> None:
    """An HTML page raises ParseError(not_a_feed)."""
    with pytest.raises(ParseError) as info:
        parse_feed(body, "https://a.example/", {"content-type": "text/html"})
    assert info.value.kind == "not_a_feed"


@pytest.mark.parametrize("body", [b"", b"   \n\t  "], ids=["empty", "whitespace"])
def test_empty_body_is_not_a_feed(body: bytes) -> None:
    """An empty (or blank) body raises ParseError(not_a_feed)."""
    with pytest.raises(ParseError) as info:
        parse_feed(body, "https://a.example/feed", {})
    assert info.value.kind == "not_a_feed"


@pytest.mark.parametrize(
    "body",
    [b"<<<>>> this is not xml", b"\x00\x01\x02garbage\xff\xfe", b'{"items": ['],
)
def test_invalid_xml_without_entries_raises_parse_error(body: bytes) -> None:
    """Bytes that are neither XML nor JSON and give no entry raise ParseError."""
    with pytest.raises(ParseError):
        parse_feed(body, "https://a.example/feed", {})


def test_json_that_is_not_a_json_feed_is_not_a_feed() -> None:
    """JSON without a jsonfeed.org version raises ParseError(not_a_feed)."""
    with pytest.raises(ParseError) as info:
        parse_feed(b'{"status": "ok", "items": []}', "https://a.example/api", {})
    assert info.value.kind == "not_a_feed"


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(
            body_of("feed-rs/rss2/rss_2.0_invalid_1.xml") if FILES else b"", id="reuters-truncated"
        ),
        pytest.param(_rss("<item><title>cut")[:-30], id="synthetic-truncated"),
    ],
)
def test_broken_feed_without_entries_raises_parse_error(body: bytes) -> None:
    """A feed too broken to give any entry raises ParseError(parse), not an empty Feed."""
    with pytest.raises(ParseError) as info:
        parse_feed(body, "https://a.example/feed", {})
    assert info.value.kind == "parse"


def test_well_formed_feed_without_items_is_an_empty_feed() -> None:
    """A well-formed feed with no items is a Feed with no entries, not an error."""
    feed = parse_feed(_rss("<ttl>15</ttl>"), "https://a.example/feed", RSS_HEADERS)
    assert feed.format == "rss20"
    assert feed.entries == ()
    assert feed.warning is None
    assert feed.ttl_s == 900.0


# --- keys --------------------------------------------------------------------------------------


def test_entry_key_is_guid_when_present() -> None:
    """An entry with a GUID is keyed by the GUID, not by its URL."""
    body = _rss(
        '<item><guid isPermaLink="false">urn:story:42</guid>'
        "<link>https://a.example/story?utm_source=rss</link></item>"
    )
    (entry,) = parse_feed(body, "https://a.example/feed", {}).entries
    assert entry.key == "urn:story:42"
    assert entry.url == "https://a.example/story?utm_source=rss"


def test_entry_key_without_guid_is_normalised_url() -> None:
    """Without a GUID the key is the normalised link: utm_* and fragments gone, host lowered."""
    body = _rss(
        "<item><link>https://A.Example/story?id=7&amp;utm_source=rss&amp;utm_medium=feed#top"
        "</link></item>"
        "<item><link>https://a.example/story?id=7&amp;utm_campaign=x</link></item>"
    )
    first, second = parse_feed(body, "https://a.example/feed", {}).entries
    assert first.key == "https://a.example/story?id=7"
    assert second.key == first.key  # the same article whatever the tracking junk
    assert "utm_" in first.url  # the URL itself is kept as published


def test_permalink_guid_stands_in_for_a_missing_link() -> None:
    """An item with no <link> but a permalink GUID uses the GUID as its URL and key."""
    body = _rss("<item><guid>https://a.example/p/9</guid><title>t</title></item>")
    (entry,) = parse_feed(body, "https://a.example/feed", {}).entries
    assert entry.url == "https://a.example/p/9"
    assert entry.key == "https://a.example/p/9"


def test_guid_keys_on_a_real_feed() -> None:
    """The Guardian feed's entries are keyed by their <guid> URLs, all distinct."""
    feed = parsed_feed("rss-parser/guardian.rss")
    keys = [e.key for e in feed.entries]
    assert len(set(keys)) == len(keys) == 55
    assert all(k.startswith("https://www.theguardian.com/") for k in keys)


def test_entries_without_link_or_permalink_guid_are_skipped() -> None:
    """RSS items with neither a link nor a permalink GUID are dropped, the others kept."""
    body = _rss(
        "<item><title>no link</title></item>"
        '<item><title>opaque guid</title><guid isPermaLink="false">abc-1</guid></item>'
        "<item><title>ok</title><link>https://a.example/ok</link></item>"
    )
    feed = parse_feed(body, "https://a.example/feed", {})
    assert [e.url for e in feed.entries] == ["https://a.example/ok"]


@pytest.mark.parametrize(
    "source",
    [
        "synthetic",
        "feed-rs/atom/atom_entry_1.xml",
        "node-feedparser/atom-with-tag-uri-links.xml",
        "rss-parser/missing-fields.atom",
    ],
)
def test_atom_entry_with_non_url_id_and_no_link_is_skipped(source: str) -> None:
    """An Atom entry with no link and a non-URL id (urn:, tag:) yields no entry URL."""
    if source == "synthetic":
        body = (
            b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>T</title>'
            b"<id>urn:feed</id><updated>2024-01-01T00:00:00Z</updated>"
            b"<entry><id>urn:uuid:1225c695-cfb8-4ebb-aaaa-80da344efa6a</id><title>x</title>"
            b"<updated>2024-01-01T00:00:00Z</updated></entry></feed>"
        )
        feed = parse_feed(body, "https://a.example/atom", {})
    else:
        feed = parsed_feed(source)
    assert all(url_is_absolute(e.url) for e in feed.entries), [e.url for e in feed.entries]


# --- feedparser never fetches or opens files ---------------------------------------------------


@pytest.fixture
def feed_server(http_server: Site) -> Site:
    """A server on 127.0.0.1 that serves a valid one-item feed and records every request."""
    body = _rss("<item><title>fetched!</title><link>https://a.example/leak</link></item>")
    http_server.routes["/feed.xml"] = Reply(200, body, {"Content-Type": "application/rss+xml"})
    return http_server


def _entries_or_error(body: bytes) -> tuple[FeedEntry, ...]:
    try:
        return parse_feed(body, "https://a.example/feed", {}).entries
    except ParseError:
        return ()


def test_a_body_that_is_a_url_is_not_fetched(feed_server: Site) -> None:
    """A body holding only a URL of a live feed is treated as bytes: nothing is fetched."""
    url = feed_server.url("/feed.xml")
    for body in (url.encode(), b"http://127.0.0.1:1/feed.xml"):
        assert _entries_or_error(body) == ()
    assert feed_server.paths == []


def test_a_body_that_is_a_path_is_not_read(tmp_path: Path) -> None:
    """A body holding only a file path is treated as bytes: the file is not opened."""
    feed_file = tmp_path / "feed.xml"
    feed_file.write_bytes(_rss("<item><link>https://a.example/from-disk</link></item>"))
    assert parse_feed(feed_file.read_bytes(), "https://a.example/f", {}).entries  # a real feed
    assert _entries_or_error(str(feed_file).encode()) == ()
    entries = _entries_or_error(b"/etc/passwd")
    assert entries == ()
    assert not any("root:" in str(vars(e)) for e in entries)
    with pytest.raises(ParseError):
        parse_feed(b"/etc/passwd", "https://a.example/feed", {})


# --- charsets: decoded once, by monitor.charset --------------------------------------------------


def _rss_bytes(title: bytes, prolog: bytes = b'<?xml version="1.0"?>') -> bytes:
    return (
        prolog + b'<rss version="2.0"><channel><title>T</title><item><title>' + title + b"</title>"
        b"<link>https://a.example/1</link></item></channel></rss>"
    )


def _rdf_bytes(title: bytes, prolog: bytes) -> bytes:
    """RSS 1.0, which only feedparser reads (the fast path leaves it alone)."""
    return (
        prolog + b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
        b'xmlns="http://purl.org/rss/1.0/"><channel rdf:about="https://a.example/">'
        b"<title>T</title><link>https://a.example/</link></channel>"
        b'<item rdf:about="https://a.example/1"><title>' + title + b"</title>"
        b"<link>https://a.example/1</link></item></rdf:RDF>"
    )


@pytest.mark.parametrize("build", [_rss_bytes, _rdf_bytes], ids=["rss20", "rss10"])
@pytest.mark.parametrize(
    ("title", "prolog", "content_type", "expected"),
    [
        pytest.param(
            "Café – 5 €".encode("cp1252"),
            b'<?xml version="1.0"?>',
            "application/rss+xml; charset=utf-8",
            "Café – 5 €",
            id="header-utf8-bytes-1252",
        ),
        pytest.param(
            "Café".encode("latin-1"),
            b'<?xml version="1.0" encoding="ISO-8859-1"?>',
            "",
            "Café",
            id="no-header-prolog-latin1",
        ),
        pytest.param(
            "Привет".encode("cp1251"),
            b'<?xml version="1.0" encoding="windows-1251"?>',
            "text/xml; charset=utf-8",
            "Привет",
            id="header-wrong-prolog-right",
        ),
        pytest.param(
            "naïve".encode(),
            b'<?xml version="1.0" encoding="utf-8"?>',
            "application/xml; charset=foo",
            "naïve",
            id="unknown-label",
        ),
        pytest.param(
            "테스트".encode(),
            b'<?xml version="1.0" encoding="ISO-8859-1"?>',
            "text/xml; charset=iso-8859-1",
            "테스트",
            id="utf8-under-latin1-labels",
        ),
    ],
)
def test_feed_titles_are_decoded_in_our_order(
    build, title: bytes, prolog: bytes, content_type: str, expected: str
) -> None:
    """Both readers get our decoding: the right title whatever the header or prolog claims."""
    headers = {"Content-Type": content_type} if content_type else {}
    feed = parse_feed(build(title, prolog), "https://a.example/feed", headers)
    assert [e.title for e in feed.entries] == [expected]
    assert feed.warning is None


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_feed_with_bom(codec: str) -> None:
    """A UTF-16 feed with a byte-order mark is read, whatever the prolog and header say."""
    text = _rss_bytes("Ünïcode ✓".encode(), b'<?xml version="1.0" encoding="utf-16"?>').decode()
    bom = "\ufeff".encode(codec)
    feed = parse_feed(bom + text.encode(codec), "https://a.example/feed", RSS_HEADERS)
    assert [e.title for e in feed.entries] == ["Ünïcode ✓"]


def test_whitespace_before_the_prolog_is_not_an_error() -> None:
    """Blank lines before <?xml ...?> (a templating slip) do not make the feed malformed."""
    feed = parse_feed(b"\n\n  " + _rss_bytes(b"ok"), "https://a.example/feed", RSS_HEADERS)
    assert [e.title for e in feed.entries] == ["ok"]
    assert feed.warning is None


@pytest.mark.parametrize(
    ("rel", "title"),
    [
        ("miniflux/encoding/utf8-incorrect-prolog.xml", "테스트 피드"),
        ("miniflux/encoding/windows-1252-incorrect-prolog.xml", "Euro €"),
        ("miniflux/parser/urdu_UTF8.xml", None),
    ],
)
def test_corpus_files_with_a_wrong_prolog_decode_right(rel: str, title: str | None) -> None:
    """Corpus feeds whose prolog names the wrong encoding still give the right feed title."""
    feed = parsed_feed(rel)
    if title is not None:
        assert feed.title == title
    assert feed.title and "Ã" not in feed.title and "â€" not in feed.title


# --- titles are plain text ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "title"),
    [
        (_rss("<item><title>AT&amp;T</title><link>https://a.example/1</link></item>"), "AT&T"),
        (
            _rss("<item><title>Tom &amp;amp; Jerry</title><link>https://a.example/1</link></item>"),
            "Tom & Jerry",
        ),
        (
            _rss(
                "<item><title>&lt;b&gt;Slack&lt;/b&gt;  stock &amp;#8211; up</title>"
                "<link>https://a.example/1</link></item>"
            ),
            "Slack stock – up",
        ),
        (
            b'<feed xmlns="http://www.w3.org/2005/Atom"><title>F</title><entry>'
            b'<title type="html">37 &amp;#8211; Spectre &lt;i&gt;again&lt;/i&gt;</title>'
            b'<link href="https://a.example/1"/></entry></feed>',
            "37 – Spectre again",
        ),
        (
            b'<feed xmlns="http://www.w3.org/2005/Atom"><title>F</title><entry>'
            b'<title type="text">Use &lt;b&gt; for bold</title>'
            b'<link href="https://a.example/1"/></entry></feed>',
            "Use <b> for bold",
        ),
        (
            b'<feed xmlns="http://www.w3.org/2005/Atom"><title>F</title><entry>'
            b'<title type="html">1 &lt; 2 and 3 &gt; 2 &lt;!-- note --&gt;</title>'
            b'<link href="https://a.example/1"/></entry></feed>',
            "1 < 2 and 3 > 2",
        ),
    ],
)
def test_entry_titles_are_plain_text(body: bytes, title: str) -> None:
    """HTML titles (RSS titles that look like HTML, Atom type=html) come out as plain text."""
    (entry,) = parse_feed(body, "https://a.example/feed", {}).entries
    assert entry.title == title


def test_html_titles_in_the_corpus_come_out_as_text() -> None:
    """Real feeds with markup in titles (craigslist, Google Alerts) give titles without tags."""
    for rel in ("rss-parser/craigslist.rss", "feedjira/google_alerts_atom.xml"):
        titles = [e.title or "" for e in parsed_feed(rel).entries]
        assert titles and not any(re.search(r"<[a-z/]|&#?\w+;", t) for t in titles), rel
    craigslist = parsed_feed("rss-parser/craigslist.rss").entries[0]
    assert craigslist.title == (
        "Bright, Spacious Beautiful Victorian (oakland north / temescal) $4300 3bd 1930ft2"
    )


# --- sitemaps -----------------------------------------------------------------------------------

SITEMAP_NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
NEWS_NS = 'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'
SITE = "https://news.example/sitemap.xml"


def _urlset(urls: str, namespaces: str = SITEMAP_NS) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset {namespaces}>{urls}</urlset>'.encode()


def _url(loc: str, lastmod: str | None = None, news: str = "") -> str:
    lastmod_xml = f"<lastmod>{lastmod}</lastmod>" if lastmod else ""
    return f"<url><loc>{loc}</loc>{lastmod_xml}{news}</url>"


def test_plain_sitemap_gives_entries_keyed_by_normalised_loc() -> None:
    """Each <url> is an entry: absolute URL, normalised key, lastmod as updated_at, no title."""
    body = _urlset(
        _url("https://News.example/a?utm_source=x&amp;id=1", "2024-03-01T10:15:30+01:00")
        + _url("/relative/b", "2024-03-02")
        + _url("  https://news.example/c  ")
    )
    feed = parse_feed(body, SITE, {"Content-Type": "application/xml"})
    assert (feed.kind, feed.format, feed.children, feed.warning) == ("sitemap", "sitemap", (), None)
    a, b, c = feed.entries
    assert a.url == "https://News.example/a?utm_source=x&id=1"
    assert a.key == normalise_url(a.url) == "https://news.example/a?id=1"
    assert a.updated_at is not None and a.updated_at.isoformat() == "2024-03-01T10:15:30+01:00"
    assert (a.title, a.published_at) == (None, None)
    assert b.url == "https://news.example/relative/b"
    assert b.updated_at is not None and b.updated_at.isoformat() == "2024-03-02T00:00:00+00:00"
    assert (c.url, c.updated_at) == ("https://news.example/c", None)


@pytest.mark.parametrize(
    ("value", "iso"),
    [
        ("2024", "2024-01-01T00:00:00+00:00"),
        ("2024-03", "2024-03-01T00:00:00+00:00"),
        ("2024-03-05", "2024-03-05T00:00:00+00:00"),
        ("2024-03-05T09:30Z", "2024-03-05T09:30:00+00:00"),
        ("2024-03-05T09:30:15.25-05:00", "2024-03-05T09:30:15.250000-05:00"),
        ("2024-03-05T09:30:15+0530", "2024-03-05T09:30:15+05:30"),
        ("2024-03-05T09:30:15", "2024-03-05T09:30:15+00:00"),  # no offset: taken as UTC
        ("2024-02-30", None),
        ("yesterday", None),
        ("2024-03-05T09:30:15+25:00", None),
    ],
)
def test_sitemap_dates_are_w3c_datetimes(value: str, iso: str | None) -> None:
    """lastmod is a W3C datetime: a bare date is midnight UTC; nonsense gives no date."""
    (entry,) = parse_feed(_urlset(_url("https://news.example/a", value)), SITE, {}).entries
    assert (entry.updated_at.isoformat() if entry.updated_at else None) == iso


def test_only_http_locs_are_kept() -> None:
    """Locs that are not http(s) (ftp:, mailto:, javascript:) are dropped, the others kept."""
    body = _urlset(
        _url("ftp://news.example/a")
        + _url("mailto:desk@news.example")
        + _url("javascript:alert(1)")
        + _url("")
        + _url("http://news.example/ok")
    )
    assert [e.url for e in parse_feed(body, SITE, {}).entries] == ["http://news.example/ok"]


def test_google_news_sitemap() -> None:
    """A news sitemap gives the news title and publication date of each URL."""
    news = (
        "<news:news><news:publication><news:name>The Example</news:name>"
        "<news:language>en</news:language></news:publication>"
        "<news:publication_date>{date}</news:publication_date>"
        "<news:title>{title}</news:title></news:news>"
    )
    body = _urlset(
        _url(
            "https://news.example/quake",
            "2024-03-01T15:00:00Z",
            news.format(date="2024-03-01T08:00:00-05:00", title="Quake &amp; tsunami"),
        )
        + _url("https://news.example/vote", news=news.format(date="2024-03-02", title="Vote"))
        + _url("https://news.example/plain"),
        f"{SITEMAP_NS} {NEWS_NS}",
    )
    feed = parse_feed(body, "https://news.example/news-sitemap.xml", {})
    assert feed.kind == "news_sitemap"
    quake, vote, plain = feed.entries
    assert quake.title == "Quake & tsunami"
    assert quake.published_at is not None
    assert quake.published_at.isoformat() == "2024-03-01T08:00:00-05:00"
    assert (
        quake.updated_at is not None and quake.updated_at.isoformat() == "2024-03-01T15:00:00+00:00"
    )
    assert vote.title == "Vote"
    assert vote.published_at is not None
    assert vote.published_at.isoformat() == "2024-03-02T00:00:00+00:00"
    assert (plain.title, plain.published_at) == (None, None)


def test_sitemap_index_children_newest_first() -> None:
    """An index lists its sitemaps, absolute, newest lastmod first, undated last in order."""
    body = (
        f"<sitemapindex {SITEMAP_NS}>"
        "<sitemap><loc>https://news.example/s1.xml</loc></sitemap>"
        "<sitemap><loc>/s2.xml</loc><lastmod>2024-01-01</lastmod></sitemap>"
        "<sitemap><loc>https://news.example/s3.xml</loc><lastmod>2024-03-01T00:00Z</lastmod>"
        "</sitemap>"
        "<sitemap><loc>https://news.example/s4.xml</loc></sitemap>"
        "<sitemap><loc>ftp://news.example/s5.xml</loc><lastmod>2025-01-01</lastmod></sitemap>"
        "<sitemap><loc>https://news.example/s6.xml</loc><lastmod>2024-02-01T00:00:00+01:00"
        "</lastmod></sitemap>"
        "</sitemapindex>"
    ).encode()
    feed = parse_feed(body, "https://news.example/sitemap_index.xml", {})
    assert (feed.kind, feed.format, feed.entries) == ("sitemap_index", "sitemap", ())
    assert feed.children == (
        "https://news.example/s3.xml",
        "https://news.example/s6.xml",
        "https://news.example/s2.xml",
        "https://news.example/s1.xml",
        "https://news.example/s4.xml",
    )


def test_gzipped_sitemap_without_content_encoding() -> None:
    """A .xml.gz body handed over still gzipped is inflated and read."""
    body = gzip.compress(_urlset(_url("https://news.example/a")))
    feed = parse_feed(body, "https://news.example/sitemap.xml.gz", {})
    assert [e.url for e in feed.entries] == ["https://news.example/a"]


def test_gzip_body_inflating_beyond_50_mib_is_refused() -> None:
    """A gzip body that inflates beyond 50 MiB (a bomb) raises ParseError(parse)."""
    body = gzip.compress(
        _urlset(_url("https://news.example/a")) + b" " * (50 * 1024 * 1024), compresslevel=1
    )
    assert len(body) < 1024 * 1024
    with pytest.raises(ParseError) as info:
        parse_feed(body, "https://news.example/sitemap.xml.gz", {})
    assert info.value.kind == "parse"
    assert "50" in str(info.value) or str(50 * 1024 * 1024) in str(info.value)


def test_broken_gzip_body_is_a_parse_error() -> None:
    """Bytes that start like gzip but are not raise ParseError(parse)."""
    with pytest.raises(ParseError) as info:
        parse_feed(b"\x1f\x8b\x08\x00garbage", "https://news.example/sitemap.xml.gz", {})
    assert info.value.kind == "parse"


def test_cut_off_sitemap_is_recovered_with_a_warning() -> None:
    """A sitemap cut off mid-URL gives the URLs before the cut (not half a URL), and a warning."""
    body = _urlset(_url("https://news.example/a") + _url("https://news.example/b"))[:-25]
    assert body.endswith(b"https://news.examp")
    feed = parse_feed(body, SITE, {})
    assert [e.url for e in feed.entries] == ["https://news.example/a"]
    assert feed.warning and "XMLSyntaxError" in feed.warning


def test_sitemap_with_a_stray_ampersand_is_recovered() -> None:
    """A bare "&" in one loc (a common slip) does not lose the sitemap's other URLs."""
    body = _urlset(_url("https://news.example/a?x=1&y=2") + _url("https://news.example/b"))
    feed = parse_feed(body, SITE, {})
    assert "https://news.example/b" in [e.url for e in feed.entries]
    assert feed.warning


@pytest.mark.parametrize(
    "body",
    [
        f"<urlset {SITEMAP_NS}><url><loc>".encode(),
        f"<sitemapindex {SITEMAP_NS}><sitemap><lo".encode(),
    ],
    ids=["urlset", "index"],
)
def test_sitemap_broken_before_any_url_is_a_parse_error(body: bytes) -> None:
    """A sitemap too broken to give any URL raises ParseError(parse)."""
    with pytest.raises(ParseError) as info:
        parse_feed(body, SITE, {})
    assert info.value.kind == "parse"


def test_well_formed_empty_sitemap_is_an_empty_feed() -> None:
    """A well-formed sitemap with no <url> is a sitemap with no entries, not an error."""
    feed = parse_feed(_urlset(""), SITE, {})
    assert (feed.kind, feed.entries, feed.warning) == ("sitemap", (), None)


@pytest.mark.parametrize(
    "doctype",
    [
        '<!DOCTYPE u [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
        '<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
        "]>",
        '<!DOCTYPE u [<!ENTITY d SYSTEM "file:///etc/passwd">]>',
    ],
    ids=["entity-expansion", "external-entity"],
)
def test_sitemap_entities_are_refused(doctype: str) -> None:
    """A sitemap declaring entities (expansion bomb, file read) is refused, nothing expanded."""
    body = f'<?xml version="1.0"?>{doctype}<urlset {SITEMAP_NS}>'
    body += "<url><loc>https://news.example/&d;</loc></url></urlset>"
    with pytest.raises(ParseError) as info:
        parse_feed(body.encode(), SITE, {})
    assert info.value.kind == "parse"
    assert "root:" not in str(info.value)


def test_sitemap_entity_reference_without_declaration_is_not_resolved() -> None:
    """An undeclared entity in a loc is not resolved and no file is read."""
    body = _urlset(_url("https://news.example/a&xxe;b") + _url("https://news.example/ok"))
    feed = parse_feed(body, SITE, {})
    assert "https://news.example/ok" in [e.url for e in feed.entries]
    assert not any("root:" in e.url for e in feed.entries)


# --- the fast path agrees with feedparser -------------------------------------------------------
#
# parse_feed reads well-formed RSS 2.0 and Atom 1.0 with lxml and falls back to feedparser for
# anything else; the two readers must give the same Feed wherever the fast one answers.


def both_readers(
    body: bytes, url: str, headers: dict[str, str]
) -> tuple[Feed | None, Feed | ParseError]:
    """(fast path's Feed or None when it declines, feedparser's answer) for the same bytes."""
    data = _utf8_xml(body, headers)
    try:
        slow: Feed | ParseError = _parse_with_feedparser(data, body, url, headers)
    except ParseError as exc:
        slow = exc
    return parse_fast(data, url, headers), slow


def _xml_feed_files() -> list[str]:
    out = []
    for rel in FILES:
        row = MANIFEST.get(rel, {})
        if row.get("kind") == "feed" and row.get("version", "").startswith(("rss", "atom")):
            out.append(rel)
    return out


XML_FEED_FILES = _xml_feed_files()


@pytest.mark.slow
def test_fast_path_agrees_with_feedparser_on_every_corpus_file_it_reads() -> None:
    """On each corpus feed the fast path reads, its Feed equals feedparser's, entry by entry."""
    fast_read = 0
    for rel in XML_FEED_FILES:
        body = gzip.decompress(body_of(rel)) if is_gzip(rel) else body_of(rel)
        if parse_fast(_utf8_xml(body, {}), base_url(rel), {}) is None:
            continue  # feedparser alone reads it: nothing to compare
        fast, slow = both_readers(body, base_url(rel), {})
        assert fast is not None
        fast_read += 1
        assert isinstance(slow, Feed), f"{rel}: only feedparser refused it: {slow}"
        assert (fast.title, fast.link, fast.format, fast.ttl_s, fast.warning) == (
            slow.title,
            slow.link,
            slow.format,
            slow.ttl_s,
            slow.warning,
        ), rel
        assert len(fast.entries) == len(slow.entries), rel
        for mine, theirs in zip(fast.entries, slow.entries, strict=True):
            assert mine == theirs, rel
    assert fast_read >= 180  # most real feeds take the fast path: the check is not vacuous


def test_fast_path_reads_the_big_news_feeds() -> None:
    """The news outlets' RSS 2.0 and Atom feeds are read by the fast path, not feedparser."""
    for rel in ("rss-parser/guardian.rss", "photojournalism/nytimes.xml", "photojournalism/bbc.xml",
                "feeder/model/rss_lemonde.xml", "node-feedparser/tpm.atom"):  # fmt: skip
        fast, _ = both_readers(body_of(rel), base_url(rel), {})
        assert fast is not None and fast.entries, rel


@pytest.mark.parametrize(
    "rel",
    [
        "feeder/model/rdf_slashdot.xml",  # RSS 1.0
        "feed-rs/rss0/rss_0.91_encoding_1.xml",  # RSS 0.91
        "feeder/model/rss_theguardian.xml",  # not well-formed
        "feedparser-edgecases/illformed/always_strip_doctype.xml",  # a DOCTYPE
        "feedparser-edgecases/illformed/undeclared_namespace.xml",  # an unbound prefix
    ],
)
def test_fast_path_declines_what_it_does_not_model(rel: str) -> None:
    """RDF, RSS 0.9x, malformed XML, DOCTYPEs and namespace errors go to feedparser."""
    body = body_of(rel)
    fast, _ = both_readers(body, base_url(rel), {})
    assert fast is None


def test_fast_path_declines_atom_03() -> None:
    """Atom 0.3 (its own namespace) goes to feedparser."""
    rel = next(r for r in XML_FEED_FILES if MANIFEST[r]["version"] == "atom03")
    fast, slow = both_readers(body_of(rel), base_url(rel), {})
    assert fast is None
    assert isinstance(slow, Feed) and slow.format == "atom03"


_NS = (
    ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom"'
    ' xmlns:media="http://search.yahoo.com/mrss/" xmlns:dcterms="http://purl.org/dc/terms/"'
    ' xmlns:x="http://unknown.example/ns"'
)
_RSS_CHANNELS = [
    "<title>Feed</title><link>https://a.example/</link><ttl>15</ttl>",
    '<title>F &amp;amp; G</title><atom:link rel="self" href="https://a.example/feed"/>'
    "<link>https://a.example/home?a=1&amp;b;=2</link>",
    '<link>https://a.example/</link><atom:link href="https://a.example/alt"/>',
    "<image><title>img</title><link>https://a.example/img</link></image><title>After</title>",
    "<title></title><link></link><ttl> 30 </ttl>",
]
_RSS_ITEMS = {
    "entities": "<title>AT&amp;T &#169; &amp;amp; co</title><link>https://a.example/1</link>",
    "html-title": "<title>&lt;b&gt;Bold&lt;/b&gt;</title><link>https://a.example/1</link>",
    "not-html": "<title>a &lt;3 b</title><link>https://a.example/1</link>",
    "relative": "<title>  spaced  </title><link>  /rel/path?a=1&amp;b=2  </link>",
    "empty-link": "<title></title><link></link><guid>https://a.example/g</guid>",
    "relative-guid": "<guid>12345</guid>",
    "opaque-guid": '<guid isPermaLink="false">12345</guid><link>https://a.example/x</link>',
    "guid-True": '<guid isPermaLink="True">https://a.example/g</guid>',
    "link-then-guid": "<link>https://a.example/first</link><guid>https://a.example/g</guid>",
    "guid-then-link": "<guid>https://a.example/g</guid><link>https://a.example/later</link>",
    "dates": "<link>https://a.example/1</link><pubDate>Tue, 05 Mar 2024 09:30:00 +0100</pubDate>"
    "<dc:date>2024-03-06T10:00:00Z</dc:date>",
    "bad-date-last": "<link>https://a.example/1</link><dc:date>2024-03-06</dc:date>"
    "<pubDate>garbage</pubDate>",
    "atom-dates": "<link>https://a.example/1</link><atom:updated>2024-03-06T10:00:00+02:00"
    "</atom:updated><dcterms:modified>2024-03-07T10:00:00Z</dcterms:modified>",
    "atom-link-last": '<link>https://a.example/1</link><atom:link rel="alternate" '
    'href="https://a.example/2"/>',
    "atom-link-first": '<atom:link href="https://a.example/2"/><link>https://a.example/1</link>',
    "self-link": '<atom:link rel="self" href="https://a.example/self"/>'
    "<guid>https://a.example/g</guid>",
    "empty-href": '<atom:link href=""/><title>empty href</title>',
    "link-entities": "<link>https://a.example/q?x=1&amp;amp;y=2&amp;copy;</link>",
    "media-title-after": "<title>M</title><media:title>media</media:title>"
    "<link>https://a.example/1</link>",
    "media-title-first": "<media:title>media</media:title><title>T</title>"
    "<link>https://a.example/1</link>",
    "source": '<title>T</title><source url="https://src.example/">S</source>'
    "<link>https://a.example/1</link>",
    "non-ascii": "<title>café — €</title><link>https://a.example/café</link>",
    "mojibake": "<title>Ã©tÃ©</title><link>https://a.example/1</link>",
    "c1-controls": "<title>\u0080\u0093x\u0094</title><link>https://a.example/1</link>",
    "unknown-ns": '<x:thing>1</x:thing><x:other a="1">text</x:other>'
    "<link>https://a.example/1</link>",
    "cdata": "<title><![CDATA[CDATA & title]]></title><link>https://a.example/1</link>",
    "xml-base": '<link xml:base="https://c.example/dir/">p</link><guid>g/1</guid>',
    "upper-case": "<LINK>https://a.example/upper</LINK><Title>Upper</Title>",
    "slashes": "<link>https:///a.example/slashes</link>",
    "javascript": "<link>javascript:alert(1)</link><guid>https://a.example/ok</guid>",
}
_ATOM_FEEDS = [
    '<title>Atom</title><id>urn:feed</id><link rel="self" href="https://a.example/atom"/>',
    '<title type="html">A &amp;amp; B</title><id>https://a.example/feed-id</id>',
    '<link href="https://a.example/home"/><id>https://a.example/feed-id</id>',
]
_ATOM_ENTRIES = {
    "full": '<id>urn:uuid:1</id><title>T</title><link href="https://a.example/1"/>'
    "<updated>2024-01-01T00:00:00Z</updated><published>2023-12-31T23:00:00-05:00</published>",
    "html-title": '<id>tag:a.example,2024:1</id><title type="html">A &amp;amp; B &lt;b&gt;c'
    '&lt;/b&gt;</title><link rel="alternate" type="text/html" href="/rel"/>',
    "text-title": '<id>https://a.example/id</id><title type="text">plain &lt;b&gt;</title>',
    "link-then-id": '<link href="https://a.example/l"/><id>https://a.example/id</id>',
    "relative-id": "<id>12</id>",
    "many-links": '<link rel="self" href="https://a.example/self"/><link rel="alternate" '
    'type="application/xhtml+xml" href="https://a.example/x"/><link rel="enclosure" '
    'href="https://a.example/e"/>',
    "text-link": '<link rel="alternate" type="text/plain" href="https://a.example/t"/><id>urn:x</id>',
    "xml-base": '<link xml:base="https://b.example/base/" href="rel"/><id>rel-id</id>',
    "xhtml-content": '<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p '
    'xml:base="https://evil.example/">x</p></div></content><link href="r"/>',
    "source": '<source><id>src</id><title>Source</title><link href="https://src.example/"/>'
    '</source><title>T</title><link href="https://a.example/1"/>',
    "atom03-names": '<title>T</title><link href="https://a.example/1"/><modified>2024-02-02T00:00'
    ":00Z</modified><issued>2024-02-01</issued>",
    "url-attribute": '<link url="https://a.example/url-attr"/>',
    "upper-rel": '<link href="https://a.example/1" rel="ALTERNATE" type="TEXT/HTML"/>',
}


def _synthetic_cases() -> list[tuple[str, bytes]]:
    cases = []
    for name, item in _RSS_ITEMS.items():
        for i, channel in enumerate(_RSS_CHANNELS):
            body = f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"{_NS}><channel>'
            body += f"{channel}<item>{item}</item></channel></rss>"
            cases.append((f"rss-{name}-{i}", body.encode()))
    for name, entry in _ATOM_ENTRIES.items():
        for i, head in enumerate(_ATOM_FEEDS):
            body = '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" '
            body += 'xmlns:media="http://search.yahoo.com/mrss/">'
            body += f"{head}<entry>{entry}</entry></feed>"
            cases.append((f"atom-{name}-{i}", body.encode()))
    return cases


SYNTHETIC = _synthetic_cases()


@pytest.mark.parametrize(("name", "body"), SYNTHETIC, ids=[n for n, _ in SYNTHETIC])
def test_fast_path_agrees_with_feedparser_on_edge_cases(name: str, body: bytes) -> None:
    """Hand-written corner cases of links, GUIDs, titles and dates: both readers agree."""
    fast, slow = both_readers(body, "https://feeds.example.com/dir/feed.xml", {})
    assert fast is not None, "the fast path declined a case it should read"
    assert fast == slow


@pytest.mark.parametrize(
    "item",
    [
        "<title>x<!-- c -->y</title><link>https://a.example/1</link>",
        "<dc:title>dc</dc:title><link>https://a.example/1</link>",
        "<title>A</title><title>B</title><link>https://a.example/1</link>",
        "<media:title>only media</media:title><link>https://a.example/1</link>",
        "<image><title>i</title></image><link>https://a.example/1</link>",
        "<x:wrap><link>https://a.example/nested</link></x:wrap><link>https://a.example/1</link>",
        "<description><p>raw markup</p></description><link>https://a.example/1</link>",
    ],
    ids=["comment", "dc-title", "two-titles", "media-title-only", "image", "nested", "markup"],
)
def test_fast_path_declines_cases_it_does_not_model(item: str) -> None:
    """Where feedparser's bookkeeping is subtle the fast path declines and feedparser decides."""
    body = f'<rss version="2.0"{_NS}><channel><title>T</title><item>{item}</item></channel></rss>'
    fast, slow = both_readers(body.encode(), "https://a.example/feed", {})
    assert fast is None
    assert isinstance(slow, Feed) and slow.entries  # feedparser still reads it


def test_content_location_is_the_base_for_both_readers() -> None:
    """A Content-Location header is the base for relative links on both paths alike."""
    body = _rss("<item><link>story/1</link></item>")
    headers = {"content-location": "https://cdn.example/feeds/"}
    fast, slow = both_readers(body, "https://a.example/feed", headers)
    assert fast is not None and fast == slow
    assert fast.entries[0].url == "https://cdn.example/feeds/story/1"
