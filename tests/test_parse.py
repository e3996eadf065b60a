"""monitor.parse.parse_feed on the real-world fixtures in ../shared/data/feeds and on small
hand-written bodies."""

from __future__ import annotations

import csv
import functools
import gzip
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from monitor.errors import ParseError
from monitor.parse import Feed, FeedEntry, parse_feed
from monitor.urls import normalise_url
from tests.conftest import SHARED_DATA

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
    if not FEEDS.is_dir():
        return []
    return sorted(
        p.relative_to(FEEDS).as_posix()
        for p in FEEDS.rglob("*")
        if p.is_file()
        and "_feed_url_lists" not in p.relative_to(FEEDS).parts
        and p.suffix != ".md"
        and not p.name.startswith("LICENSE")
        and p.name != "MANIFEST.tsv"
    )


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


FEEDS_WITH_ENTRIES = _rows(lambda r: r["kind"] == "feed" and int(r["n_entries"] or 0) > 0)
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
    assert len(FEEDS_WITH_ENTRIES) > 250
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
        # feeds in which feedparser itself found no entry are refused.
        broken_and_empty = row["bozo"] == "1" and row["n_entries"] in ("", "0")
        assert row["kind"] != "feed" or is_gzip(rel) or broken_and_empty, f"{rel}: {result}"
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
def feed_server() -> Iterator[tuple[str, list[str]]]:
    """A server on 127.0.0.1 that serves a valid one-item feed and records every request."""
    hits: list[str] = []
    body = _rss("<item><title>fetched!</title><link>https://a.example/leak</link></item>")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/rss+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/feed.xml", hits
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def _entries_or_error(body: bytes) -> tuple[FeedEntry, ...]:
    try:
        return parse_feed(body, "https://a.example/feed", {}).entries
    except ParseError:
        return ()


def test_a_body_that_is_a_url_is_not_fetched(feed_server: tuple[str, list[str]]) -> None:
    """A body holding only a URL of a live feed is treated as bytes: nothing is fetched."""
    url, hits = feed_server
    for body in (url.encode(), b"http://127.0.0.1:1/feed.xml"):
        assert _entries_or_error(body) == ()
    assert hits == []


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
