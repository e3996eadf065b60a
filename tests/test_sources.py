"""Source management: feed discovery in pages, OPML in and out, appending [[source]] tables to
the configuration file, the state of each source, and the ``monitor sources`` commands through
``python -m monitor`` against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from monitor import config as configmod
from monitor.errors import ConfigError, UserError
from monitor.fetch.client import Fetcher
from monitor.sources.discover import COMMON_PATHS, common_urls, feed_links
from monitor.sources.manage import NewSource, append_sources, find_feed, status_of, toml_string
from monitor.sources.opml import OpmlFeed, read_opml, write_opml
from storage.models import Source
from tests.conftest import SHARED_DATA, at, toml_value
from tests.httpserver import Reply, Site, serve
from tests.test_cli import _one_error_line, monitor, ok

FEEDS = SHARED_DATA / "feeds"
OPML_LISTS = FEEDS / "_feed_url_lists"
T0 = "2023-03-23T18:00:00+00:00"
# Fetches to one host are spaced out by default; the tests' servers are all 127.0.0.1.
ENV = {"MONITOR_FETCH_PER_HOST_DELAY": "0"}

needs_feeds = pytest.mark.skipif(not FEEDS.is_dir(), reason="../shared/data/feeds absent")


# --- servers and files -------------------------------------------------------------------------


def rss(title: str) -> Reply:
    body = (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>http://example.org/</link><description>d</description>"
        "</channel></rss>"
    )
    return Reply(200, body.encode(), {"Content-Type": "application/rss+xml"})


def atom(title: str) -> Reply:
    body = (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{title}</title><id>urn:x</id><updated>2023-03-23T18:00:00Z</updated></feed>"
    )
    return Reply(200, body.encode(), {"Content-Type": "application/atom+xml"})


def page(head: str = "") -> Reply:
    body = f"<!DOCTYPE html><html><head><title>Home</title>{head}</head><body><p>Hi</p></body>"
    return Reply(200, (body + "</html>").encode(), {"Content-Type": "text/html; charset=utf-8"})


@pytest.fixture
def sites() -> Iterator[dict[str, Site]]:
    """Four sites: ``linked`` advertises its feed after a dead link; ``unlinked`` advertises
    nothing but has /feed; ``bare`` has no feed anywhere; ``broken`` answers 500."""
    routes = {
        "linked": {
            "/": page(
                '<link rel="alternate" type="application/rss+xml" href="/missing.xml">'
                '<link rel="Alternate" type="application/rss+xml" title="A" href="/news/rss.xml">'
            ),
            "/news/rss.xml": rss("Linked News"),
        },
        "unlinked": {"/": page(), "/feed": rss("Unlinked News")},
        "bare": {"/": page()},
        "broken": {"/feed.xml": Reply(500, b"oops\n", {"Content-Type": "text/plain"})},
    }
    with (
        serve(routes["linked"]) as linked,
        serve(routes["unlinked"]) as unlinked,
        serve(routes["bare"]) as bare,
        serve(routes["broken"]) as broken,
    ):
        yield {"linked": linked, "unlinked": unlinked, "bare": bare, "broken": broken}


def fetcher() -> Fetcher:
    """A fetcher allowed to reach 127.0.0.1, with no delay between requests to one host."""
    settings = configmod.from_mapping({"fetch": {"allow_private_networks": True}}, env=ENV).fetch
    return Fetcher(settings)


HEAD = """\
# news-monitor, as the user wrote it
[storage]
url = {db}  # a throwaway database

[fetch]
allow_private_networks = true  # the test servers are on 127.0.0.1
"""


def write_config(tmp_path: Path, *tables: str) -> Path:
    """A configuration file with comments, SQLite in tmp_path, private networks allowed, and
    ``tables`` (TOML text) after that."""
    path = tmp_path / "monitor.toml"
    db = toml_value(f"sqlite:///{tmp_path / 'monitor.sqlite'}")
    path.write_text(HEAD.format(db=db) + "".join(tables), encoding="utf-8")
    return path


def source_table(name: str, url: str) -> str:
    return f"\n[[source]]  # {name}\nname = {toml_value(name)}\nurl = {toml_value(url)}\n"


# --- discovery in pages ------------------------------------------------------------------------

# The feeds advertised by each real page of the fixtures (MANIFEST.tsv kind html-page), read as
# if fetched from https://example.org/a/b.
REAL_PAGES = {
    "rsparser/DaringFireball.html": ["https://example.org/feeds/main"],
    "rsparser/YouTubeTheVolvoRocks.html": [
        "https://www.youtube.com/feeds/videos.xml?channel_id=UCct7QF2jcWRY6dhXWMSq9LQ"
    ],
    "rsparser/coco.html": ["https://example.org/feed/all/", "https://example.org/feed/best-of/"],
    "rsparser/furbo.html": ["http://furbo.org/feed/"],
    "rsparser/inessential.html": ["http://inessential.com/xml/rss.xml"],
    "rsparser/sixcolors.html": ["http://feedpress.me/sixcolors"],
    "miniflux/encoding/iso-8859-1-meta-after-1024.html": [],
    "miniflux/encoding/iso-8859-1.html": [],
    "miniflux/encoding/utf8-meta-after-1024.html": [],
    "miniflux/encoding/utf8.html": [],
    "node-feedparser/notafeed.html": [],
}


@needs_feeds
def test_feed_links_of_the_real_html_pages():
    """Every html-page of the fixtures' manifest gives exactly the feeds it advertises, in
    order, resolved against the page URL; the YouTube page's typeless alternates are left out."""
    with (FEEDS / "MANIFEST.tsv").open(encoding="utf-8", newline="") as handle:
        pages = [
            r["local"] for r in csv.DictReader(handle, delimiter="\t") if r["kind"] == "html-page"
        ]
    assert sorted(pages) == sorted(REAL_PAGES)
    for local in pages:
        got = feed_links((FEEDS / local).read_bytes(), "https://example.org/a/b")
        assert got == REAL_PAGES[local], local


def test_feed_links_rel_tokens_types_base_and_duplicates():
    """rel is a case-insensitive token list; type parameters are ignored; <base href> applies to
    every link, even one before it; duplicates and non-http links are dropped; order is kept."""
    html = b"""<html><head>
    <link rel="ALTERNATE feed" type="Application/Atom+XML; charset=utf-8" href="atom.xml">
    <base href="https://cdn.example.net/site/">
    <link rel=alternate type=application/rss+xml href=rss.xml>
    <link rel="alternate" type="application/rss+xml" href="https://cdn.example.net/site/rss.xml#x">
    <link rel="alternate" type="application/feed+json" href="/feed.json"/>
    <link rel="alternate" type="application/rdf+xml" href="index.rdf">
    <link rel="alternate" type="text/xml" href="legacy.xml">
    <link rel="alternate" type="application/rss+xml" href="javascript:void(0)">
    <link rel="stylesheet" type="text/css" href="style.css">
    <link rel="alternate" hreflang="fr" href="https://example.fr/">
    <link rel="feed" type="application/rss+xml" href="not-alternate.xml">
    </head><body><link rel="alternate" type="application/rss+xml" href="late.xml"></body></html>"""
    assert feed_links(html, "https://example.org/page") == [
        "https://cdn.example.net/site/atom.xml",
        "https://cdn.example.net/site/rss.xml",
        "https://cdn.example.net/feed.json",
        "https://cdn.example.net/site/index.rdf",
        "https://cdn.example.net/site/legacy.xml",
        "https://cdn.example.net/site/late.xml",
    ]


def test_feed_links_takes_json_only_with_a_title_or_a_feed_like_href():
    """An application/json alternate counts with a title or 'feed' in its href, never when it
    is WordPress's REST API or oEmbed."""
    html = b"""<head>
    <link rel="alternate" type="application/json" href="/api/thing">
    <link rel="alternate" type="application/json" title="JSON Feed" href="/everything.json">
    <link rel="alternate" type="application/json" href="/feed/json">
    <link rel="alternate" type="application/json" title="JSON" href="/wp-json/wp/v2/pages/2">
    <link rel="alternate" type="application/json" title="x" href="/oembed/1.0/embed?url=a">
    </head>"""
    assert feed_links(html, "https://example.org/") == [
        "https://example.org/everything.json",
        "https://example.org/feed/json",
    ]


def test_feed_links_reads_a_latin1_page_and_nothing_in_a_page_without_links():
    """A windows-1252 page declared by <meta charset> keeps its non-ASCII href; a page with no
    <link> gives an empty list."""
    html = '<meta charset="windows-1252"><link rel="alternate" type="application/rss+xml" '
    html += 'href="/actualités.xml">'
    assert feed_links(html.encode("cp1252"), "https://example.org/") == [
        "https://example.org/actualités.xml"
    ]
    assert feed_links(b"<html><body>no feeds</body></html>", "https://example.org/") == []


def test_common_urls_are_on_the_page_origin():
    """COMMON_PATHS are tried on the scheme, host and port of the page, whatever its path."""
    urls = common_urls("http://127.0.0.1:8080/deep/page.html?q=1")
    assert urls[0] == "http://127.0.0.1:8080/feed"
    assert urls == [f"http://127.0.0.1:8080{p}" for p in COMMON_PATHS]
    assert {"/feed", "/rss.xml", "/atom.xml", "/index.xml", "/feeds/posts/default"} <= set(
        COMMON_PATHS
    )


# --- find_feed over HTTP -----------------------------------------------------------------------


def test_find_feed_direct_url_linked_page_common_path_and_nothing(sites):
    """A feed URL is its own feed; a page's advertised feeds are tried in order (a dead link
    skipped); a page advertising nothing falls back to /feed; a site with no feed is one
    UserError naming the URL and how many addresses were tried."""
    linked, unlinked, bare = sites["linked"], sites["unlinked"], sites["bare"]
    with fetcher() as f:
        direct = find_feed(f, linked.base + "/news/rss.xml")
        assert (direct.url, direct.title, direct.kind) == (
            linked.base + "/news/rss.xml",
            "Linked News",
            "rss20",
        )
        found = find_feed(f, linked.base + "/")
        assert found.url == linked.base + "/news/rss.xml" and found.title == "Linked News"
        assert linked.paths[-3:] == ["/", "/missing.xml", "/news/rss.xml"]
        found = find_feed(f, unlinked.base + "/")
        assert (found.url, found.title) == (unlinked.base + "/feed", "Unlinked News")
        with pytest.raises(UserError) as caught:
            find_feed(f, bare.base + "/")
    assert (
        str(caught.value)
        == f"{bare.base}/: no feed found (tried {1 + len(COMMON_PATHS)} addresses)"
    )
    assert bare.paths == ["/", *COMMON_PATHS]


def test_find_feed_walks_common_paths_until_one_parses():
    """With nothing advertised, COMMON_PATHS are tried in order and the first that parses wins
    (an HTML page at /feed does not count)."""
    routes = {"/blog/": page(), "/feed": page(), "/index.xml": atom("Hugo Site")}
    with serve(routes) as site, fetcher() as f:
        found = find_feed(f, site.base + "/blog/")
    assert (found.url, found.title, found.kind) == (site.base + "/index.xml", "Hugo Site", "atom10")
    order = ["/blog/", *COMMON_PATHS[: COMMON_PATHS.index("/index.xml") + 1]]
    assert site.paths == order


def test_find_feed_unreachable_url_is_a_user_error(sites):
    """A URL that answers an HTTP error is one UserError naming it and the status."""
    with fetcher() as f, pytest.raises(UserError, match=r"/feed\.xml: cannot fetch: HTTP 500$"):
        find_feed(f, sites["broken"].base + "/feed.xml")


# --- OPML --------------------------------------------------------------------------------------


def _all_lists() -> list[Path]:
    return sorted(OPML_LISTS.rglob("*.opml"))


@needs_feeds
def test_read_opml_of_the_real_outlet_lists():
    """The 26 awesome-rss-feeds files give their 270 outlet feeds (268 distinct URLs), names
    and country folders kept, including the files with unescaped & and quotes in attributes."""
    feeds = [f for path in _all_lists() for f in read_opml(path.read_bytes(), str(path))]
    assert len(_all_lists()) == 26
    assert len(feeds) == 270 and len({f.url for f in feeds}) == 268
    by_url = {f.url: f for f in feeds}
    assert by_url["https://www.kommersant.ru/RSS/main.xml"] == OpmlFeed(
        "https://www.kommersant.ru/RSS/main.xml", 'Газета "Коммерсантъ". Главное', "Russia"
    )
    assert by_url["https://www.latimes.com/world-nation/rss2.0.xml"].name == "World & Nation"
    assert "http://rssfeeds.9news.com/kusa/home&x=1" in by_url
    assert by_url["https://www.cbc.ca/cmlink/rss-topstories"].category == "Canada"
    assert all(f.url.startswith(("http://", "https://")) for f in feeds)


@needs_feeds
def test_read_opml_of_a_flat_list_with_and_without_title_attributes():
    """NetNewsWire's subscription lists read the same with title attributes or with text only,
    entities decoded."""
    full = read_opml((FEEDS / "rsparser/Subs.opml").read_bytes(), "Subs.opml")
    bare = read_opml((FEEDS / "rsparser/SubsNoTitleAttributes.opml").read_bytes(), "x.opml")
    assert len(full) > 200
    assert [(f.url, f.name) for f in full] == [(f.url, f.name) for f in bare]
    assert ("http://corinnekrych.blogspot.com/feeds/posts/default", "chat & code") in [
        (f.url, f.name) for f in full
    ]


def test_read_opml_flattens_nested_folders():
    """Outlines in nested folders come out in document order with their folder path."""
    body = b"""<?xml version="1.0"?><opml version="2.0"><head/><body>
    <outline text="News"><outline text="World">
      <outline type="rss" text="A" xmlUrl="https://a.example/feed"/></outline>
      <outline type="rss" title="B" text="ignored" xmlUrl=" https://b.example/rss "/></outline>
    <outline type="rss" text="  C  spaced " xmlUrl="https://c.example/atom"/>
    <outline text="empty folder"/></body></opml>"""
    assert read_opml(body, "nested.opml") == [
        OpmlFeed("https://a.example/feed", "A", "News / World"),
        OpmlFeed("https://b.example/rss", "B", "News"),
        OpmlFeed("https://c.example/atom", "C spaced", None),
    ]


BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE opml [
  <!ENTITY lol "lol">
  <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
  <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
  <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
  <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
  <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
  <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
  <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<opml version="2.0"><head><title>&lol9;</title></head>
<body><outline type="rss" text="&lol9;" xmlUrl="https://a.example/feed"/></body></opml>
"""


def test_read_opml_refuses_entities_and_external_references():
    """Entity declarations (billion laughs) and external entities are refused with a UserError
    naming the file, never expanded or fetched."""
    with pytest.raises(UserError, match=r"^laughs\.opml: refused: .*entity 'lol'"):
        read_opml(BILLION_LAUGHS.encode(), "laughs.opml")
    external = b"""<?xml version="1.0"?><!DOCTYPE opml [<!ENTITY x SYSTEM "file:///etc/passwd">]>
    <opml><body><outline text="&x;" xmlUrl="https://a.example/feed"/></body></opml>"""
    with pytest.raises(UserError, match=r"^xxe\.opml: refused"):
        read_opml(external, "xxe.opml")


def test_read_opml_errors_name_the_file_and_line():
    """A malformed file names the file and the line; a document that is not OPML, or an OPML
    without a feed, says so."""
    broken = b'<?xml version="1.0"?>\n<opml version="2.0">\n<body>\n<outline text="a">\n</opml>\n'
    with pytest.raises(UserError, match=r"^broken\.opml: not well-formed XML: .*line 5"):
        read_opml(broken, "broken.opml")
    with pytest.raises(
        UserError, match=r"^feed\.xml: not an OPML file \(its root element is <rss>\)"
    ):
        read_opml(rss("x").body, "feed.xml")
    with pytest.raises(UserError, match=r"^empty\.opml: no feeds"):
        read_opml(b'<opml><body><outline text="folder"/></body></opml>', "empty.opml")


def test_write_opml_round_trips_through_read_opml():
    """write_opml gives OPML 2.0 with an RFC 822 dateCreated from ``now``, every outline
    type=rss with text, title and xmlUrl; reading it back gives the same feeds, folders
    included, with characters XML cannot carry removed."""
    now = datetime(2023, 3, 23, 18, 30, tzinfo=UTC)
    feeds = [
        OpmlFeed("https://a.example/feed?x=1&y=2", 'A "quoted" <name> & co', None),
        OpmlFeed("https://b.example/rss", "Bée\x01", "Le Monde"),
        OpmlFeed("https://c.example/atom", None, None),
    ]
    text = write_opml(feeds, title="mine", now=now)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<opml version="2.0">')
    date = text.split("<dateCreated>")[1].split("</dateCreated>")[0]
    assert parsedate_to_datetime(date) == now
    back = read_opml(text.encode(), "export.opml")
    assert back == [
        OpmlFeed("https://a.example/feed?x=1&y=2", 'A "quoted" <name> & co', None),
        OpmlFeed("https://b.example/rss", "Bée", "Le Monde"),
        OpmlFeed("https://c.example/atom", "https://c.example/atom", None),
    ]
    assert text.count('type="rss"') == 3 and text.count("xmlUrl=") == 3


# --- appending to the configuration file -------------------------------------------------------


def test_append_sources_keeps_the_text_and_escapes_strings(tmp_path):
    """New [[source]] tables go after the user's text, which is kept byte for byte (comments
    too); names with quotes, backslashes, newlines and control characters load back as given
    (whitespace folded); a missing name becomes the host; intervals are seconds."""
    config = write_config(tmp_path, source_table("Old", "https://old.example/feed"))
    before = config.read_bytes()
    weird = 'Le "Monde" \\ diplo\nmatique\x07 \U0001f4f0'
    done = append_sources(
        config,
        [
            NewSource("https://new.example/rss", weird, 900.0),
            NewSource("https://bare.example/atom.xml"),
        ],
        comment="added by a test",
    )
    assert [s.url for s in done.added] == [
        "https://new.example/rss",
        "https://bare.example/atom.xml",
    ]
    after = config.read_bytes()
    assert after.startswith(before)
    assert b"# added by a test\n[[source]]\n" in after
    loaded = configmod.load(config, env={})
    assert [(s.name, s.url, s.interval) for s in loaded.sources] == [
        ("Old", "https://old.example/feed", None),
        ('Le "Monde" \\ diplo matique\x07 \U0001f4f0', "https://new.example/rss", 900.0),
        ("bare.example", "https://bare.example/atom.xml", None),
    ]
    assert toml_string("\x7f\t") == '"\\u007F\\t"'


def test_append_sources_skips_urls_already_there_normalised(tmp_path):
    """A URL already in the file (compared normalised: case, default port, tracking query) or
    twice in the batch is reported as present, an invalid one as invalid; when nothing is new
    the file is not touched."""
    config = write_config(tmp_path, source_table("Old", "https://old.example/feed"))
    before = config.read_bytes()
    done = append_sources(
        config,
        [
            NewSource("HTTPS://OLD.example:443/feed?utm_source=x"),
            NewSource("ftp://old.example/feed"),
        ],
    )
    assert done.added == [] and len(done.present) == 1
    assert [(s.url, why) for s, why in done.invalid] == [
        ("ftp://old.example/feed", "not an http(s) URL")
    ]
    assert config.read_bytes() == before
    done = append_sources(
        config, [NewSource("https://x.example/a"), NewSource("https://X.example/a#top")]
    )
    assert len(done.added) == 1 and len(done.present) == 1
    assert len(configmod.load(config, env={}).sources) == 2


def test_append_sources_refuses_what_the_configuration_refuses(tmp_path):
    """A URL with a space, a tab or a control character inside, or longer than 2048
    characters, is reported as invalid with the configuration's own reason (one rule,
    monitor.urls.check_source_url), and the file is not touched."""
    config = write_config(tmp_path)
    before = config.read_bytes()
    bad = [
        "https://a.example/my feed.xml",
        "https://a.example/my\tfeed.xml",
        "https://a.example/\x00",
        "https://a.example/" + "a" * 2048,
    ]
    done = append_sources(config, [NewSource(url) for url in bad])
    assert [why for _, why in done.invalid] == [
        "contains whitespace or a control character",
        "contains whitespace or a control character",
        "contains whitespace or a control character",
        "longer than 2048 characters",
    ]
    assert done.added == [] and config.read_bytes() == before


def test_append_sources_keeps_crlf_line_endings(tmp_path):
    """A file written with CRLF line endings gets its new tables with CRLF too."""
    config = tmp_path / "crlf.toml"
    config.write_bytes(b"# windows\r\n[poll]\r\ntick = 60\r\n")
    append_sources(config, [NewSource("https://a.example/feed", "A")])
    text = config.read_bytes()
    assert b"\n" not in text.replace(b"\r\n", b"")
    assert configmod.load(config, env={}).sources[0].name == "A"


def test_append_sources_never_leaves_a_broken_file(tmp_path):
    """When the result would not load (sources declared as an inline array, which [[source]]
    cannot extend), the error names the configuration file, the file is unchanged and no
    temporary file is left behind."""
    config = tmp_path / "inline.toml"
    config.write_text('source = [{url = "https://a.example/feed"}]\n', encoding="utf-8")
    before = config.read_bytes()
    with pytest.raises(ConfigError, match=r"^" + str(config).replace(".", r"\.")):
        append_sources(config, [NewSource("https://b.example/feed")])
    assert config.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["inline.toml"]


# --- states ------------------------------------------------------------------------------------


def _source(**state) -> Source:
    fields = {
        "url": "https://a.example/feed",
        "name": "A",
        "active": True,
        "error_count": 0,
        "items_seen": 3,
        "next_check_at": at("2023-03-23T19:00:00+00:00"),
        "last_checked_at": at("2023-03-23T18:00:00+00:00"),
    }
    return Source(**{**fields, **state})


def test_status_of_each_state():
    """new (never checked), ok, backing off (errors for under a day), failing (errors for a
    day or more, the same day as digests use) and inactive (gone from the configuration)."""
    now = at("2023-03-25T18:00:00+00:00")
    day = timedelta(days=1)
    failing = {"error_count": 4, "error_kind": "http_5xx", "error_message": "HTTP 500"}
    assert status_of(_source(last_checked_at=None), now=now).state == "new"
    assert status_of(_source(), now=now).state == "ok"
    recent = _source(**failing, failing_since=now - day + timedelta(seconds=1))
    assert status_of(recent, now=now).state == "backing_off"
    assert status_of(_source(**failing, failing_since=now - day), now=now).state == "failing"
    gone = status_of(_source(**failing, failing_since=now - day, active=False), now=now)
    assert gone.state == "inactive" and gone.next_check_at is None
    line = status_of(_source(**failing, failing_since=now - 2 * day), now=now).as_line()
    assert line.split("\t") == [
        "A",
        "failing since 2023-03-23 18:00Z",
        "http_5xx: HTTP 500",
        "next 2023-03-23 19:00Z",
        "3 items",
        "https://a.example/feed",
    ]


# --- the commands --------------------------------------------------------------------------------


@pytest.mark.slow
def test_cli_add_discovers_appends_and_keeps_the_file_loadable(tmp_path, sites):
    """``sources add`` of a home page adds its advertised feed, named after the feed's title,
    after the user's text (comments kept); adding it again, even by its feed URL, says it is
    already there (exit 0, file unchanged); a page with no link adds its /feed with --name and
    --interval; a site with no feed is one error line, exit 2, file unchanged."""
    config = write_config(tmp_path)
    before = config.read_text("utf-8")
    linked, unlinked, bare = sites["linked"], sites["unlinked"], sites["bare"]
    cli = ("--config", str(config), "--log-level", "warning", "sources")

    proc = monitor(*cli, "add", linked.base + "/", cwd=tmp_path, env=ENV)
    ok(proc)
    feed = linked.base + "/news/rss.xml"
    assert proc.stdout == f"added Linked News (rss20 feed) {feed} to {config}\n"
    assert config.read_text("utf-8").startswith(before)

    again = monitor(*cli, "add", feed, cwd=tmp_path, env=ENV)
    ok(again)
    assert again.stdout == f"already in {config}: {feed}\n"

    proc = monitor(
        *cli, "add", unlinked.base, "--name", "Unlinked", "--interval", "900",
        cwd=tmp_path, env=ENV,
    )  # fmt: skip
    ok(proc)
    after = config.read_text("utf-8")
    proc = monitor(*cli, "add", bare.base + "/", cwd=tmp_path, env=ENV)
    line = _one_error_line(proc)
    assert line == (
        f"monitor: error: {bare.base}/: no feed found (tried {1 + len(COMMON_PATHS)} addresses)"
    )
    assert config.read_text("utf-8") == after

    loaded = configmod.load(config, env={})
    assert [(s.name, s.url, s.interval) for s in loaded.sources] == [
        ("Linked News", feed, None),
        ("Unlinked", unlinked.base + "/feed", 900.0),
    ]
    assert "# a throwaway database" in after and "# news-monitor, as the user wrote it" in after


def test_cli_add_refuses_a_url_with_a_space_typed_or_discovered(tmp_path):
    """``sources add`` of a URL with a space is one error line; so is a site whose advertised
    feed URL has one (it would be refused by the configuration): exit 2, the file unchanged."""
    config = write_config(tmp_path)
    before = config.read_bytes()
    cli = ("--config", str(config), "--log-level", "warning", "sources", "add")
    line = _one_error_line(monitor(*cli, "https://a.example/my feed", cwd=tmp_path, env=ENV))
    assert line == (
        "monitor: error: https://a.example/my feed: contains whitespace or a control character"
    )
    routes = {
        "/": page('<link rel="alternate" type="application/rss+xml" href="/my feed.xml">'),
        "/my%20feed.xml": rss("Spaced"),
    }
    with serve(routes) as site:
        line = _one_error_line(monitor(*cli, site.base + "/", cwd=tmp_path, env=ENV))
    assert line == (
        f"monitor: error: {site.base}/my feed.xml: contains whitespace or a control character"
    )
    assert config.read_bytes() == before


def test_cli_add_and_import_need_a_configuration_file(tmp_path):
    """With neither --config nor MONITOR_CONFIG, ``sources add`` and ``sources import`` are one
    error line (exit 2) saying so, before any fetch; a bad --interval is one line too."""
    line = _one_error_line(monitor("sources", "add", "https://a.example/", cwd=tmp_path))
    assert "no configuration file to write to" in line and "--config" in line
    line = _one_error_line(monitor("sources", "import", "x.opml", cwd=tmp_path))
    assert "sources import: no configuration file" in line
    config = write_config(tmp_path)
    proc = monitor("--config", str(config), "sources", "add", "a.example", "--interval", "soon",
                   cwd=tmp_path)  # fmt: skip
    assert _one_error_line(proc).startswith("monitor: error: --interval: expected a duration")


@pytest.mark.slow
@needs_feeds
def test_cli_import_export_reimport_has_no_duplicates(tmp_path):
    """Importing the 26 real OPML lists adds their 268 distinct feeds (2 skipped as already
    there); the configuration then loads; ``export`` prints them as OPML; importing that
    export, or the lists again, adds nothing."""
    config = write_config(tmp_path)
    lists = [str(p) for p in _all_lists()]
    proc = monitor("--config", str(config), "sources", "import", *lists, cwd=tmp_path)
    ok(proc)
    assert proc.stdout.strip().endswith(
        f"268 added to {config}; skipped 2 already there and 0 with an invalid URL"
    )
    sources = configmod.load(config, env={}).sources
    assert len(sources) == 268
    assert ('Газета "Коммерсантъ". Главное', "https://www.kommersant.ru/RSS/main.xml") in [
        (s.name, s.url) for s in sources
    ]

    exported = monitor("--config", str(config), "sources", "export", cwd=tmp_path)
    ok(exported)
    feeds = read_opml(exported.stdout.encode(), "export")
    assert [(f.url, f.name) for f in feeds] == [(s.url, s.name) for s in sources]
    export_file = tmp_path / "export.opml"
    export_file.write_text(exported.stdout, encoding="utf-8")

    size = config.stat().st_size
    for again in ([str(export_file)], lists):
        proc = monitor("--config", str(config), "sources", "import", *again, cwd=tmp_path)
        ok(proc)
        assert proc.stdout.startswith(f"0 added to {config}; skipped ")
    assert config.stat().st_size == size


def test_cli_import_refuses_broken_and_billion_laughs_files(tmp_path):
    """A malformed OPML file, a billion-laughs file and a missing file are each one error line
    (exit 2) naming the file (and the line where the parser gives one); the configuration is
    left as it was."""
    config = write_config(tmp_path)
    before = config.read_bytes()
    broken = tmp_path / "broken.opml"
    broken.write_text(
        '<opml version="2.0"><body>\n<outline xmlUrl="https://a.example/f">\n', "utf-8"
    )
    laughs = tmp_path / "laughs.opml"
    laughs.write_text(BILLION_LAUGHS, encoding="utf-8")
    run = ("--config", str(config), "sources", "import")
    line = _one_error_line(monitor(*run, str(broken), cwd=tmp_path))
    assert line.startswith(f"monitor: error: {broken}: not well-formed XML") and "line 3" in line
    line = _one_error_line(monitor(*run, str(laughs), cwd=tmp_path))
    assert line.startswith(f"monitor: error: {laughs}: refused") and "entity" in line
    line = _one_error_line(monitor(*run, str(tmp_path / "nope.opml"), cwd=tmp_path))
    assert line == f"monitor: error: {tmp_path / 'nope.opml'}: no such file"
    assert config.read_bytes() == before


@pytest.mark.slow
def test_cli_sources_states_as_json_and_text(tmp_path, sites):
    """After a poll where one feed answers 500 (it exits 1, counting it): ``sources --format
    json`` gives each source with the stable keys and ISO 8601 times: the failing one backing
    off an hour later with its error, the good one ok, one removed from the file inactive, one
    added since new; two days later the text listing says failing since the first error."""
    failing = sites["broken"].base + "/feed.xml"
    good = sites["linked"].base + "/news/rss.xml"
    gone = sites["unlinked"].base + "/feed"
    tables = [source_table("Broken", failing), source_table("Good", good)]
    config = write_config(tmp_path, *tables, source_table("Gone", gone))
    polled = monitor("--config", str(config), "poll", "--now", T0, cwd=tmp_path, env=ENV)
    assert polled.returncode == 1, polled.stderr  # one source failed (issue 15)
    assert polled.stderr.splitlines()[-1] == (
        "monitor: error: 1 of 3 sources failed (see: monitor sources)"
    )
    assert "Traceback" not in polled.stderr
    later = (at(T0) + timedelta(hours=1)).isoformat()
    config = write_config(tmp_path, *tables, source_table("New", "https://new.example/feed"))

    proc = monitor(
        "--config", str(config), "sources", "--format", "json", "--now", later, cwd=tmp_path
    )
    ok(proc)
    rows = {r["name"]: r for r in json.loads(proc.stdout)}
    keys = {"name", "url", "state", "error_kind", "error_message", "error_count",
            "failing_since", "last_ok_at", "next_check_at", "items_seen"}  # fmt: skip
    assert all(set(r) == keys for r in rows.values())
    assert {n: r["state"] for n, r in rows.items()} == {
        "Broken": "backing_off",
        "Good": "ok",
        "Gone": "inactive",
        "New": "new",
    }
    broken = rows["Broken"]
    assert (broken["url"], broken["error_kind"], broken["error_message"]) == (
        failing,
        "http_5xx",
        f"{failing}: HTTP 500",
    )
    assert broken["error_count"] == 1 and broken["failing_since"] == T0
    assert broken["last_ok_at"] is None and at(broken["next_check_at"]) > at(T0)
    assert rows["Good"]["last_ok_at"] == T0 and rows["Good"]["error_kind"] is None

    two_days = (at(T0) + timedelta(days=2)).isoformat()
    proc = monitor("--config", str(config), "sources", "--now", two_days, cwd=tmp_path)
    ok(proc)
    (line,) = [x for x in proc.stdout.splitlines() if x.startswith("Broken\t")]
    assert line.split("\t")[1:3] == [
        "failing since 2023-03-23 18:00Z",
        f"http_5xx: {failing}: HTTP 500",
    ]
    assert line.endswith("\t" + failing)
