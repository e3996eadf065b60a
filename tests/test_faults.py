"""Fault injection for the poller: every hostile answer a source can give ends with the right
error class on that source, the right next check, the round (and the process) still running,
the other source still polled, and nothing already stored lost; once the source heals, the
next round reads it again.

Each test runs a real ThreadingHTTPServer on 127.0.0.1 with two sources (the faulty Ledger and
the healthy Wire) and their article pages, and a story with one seed. Round 1 (T1) stores both
articles; round 2 (T2, when both sources are due) meets the fault; round 3 (T3) is healed. The
two guard cases use httpx.MockTransport instead, because the guard must stay on and the local
server is itself a private address.
"""

from __future__ import annotations

import html
import json
import os
import socket
import sqlite3
import struct
import subprocess
import sys
import tracemalloc
import zlib
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import format_datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import inspect, select

from monitor import config as configmod
from monitor.app import App, open_app
from monitor.poll.round import poll
from storage.models import Article, ArticleVersion, Entry, Source, Story, StoryArticle, StoryEvent
from tests.conftest import REPO, at, toml_value
from tests.httpserver import Handler, Reply, Route, Site, send, serve

INTERVAL = 1800.0  # both sources' fixed interval, so every expected next check is exact
T1 = at("2023-03-24T12:00:00+00:00")
T2 = T1 + timedelta(seconds=INTERVAL)  # both sources due again; no article re-check yet (1 h)
T3 = T2 + timedelta(days=1)
CAP = 200_000
READ_TIMEOUT = 0.5
TOTAL_TIMEOUT = 1.5
PUBLIC_IP = "93.184.216.34"
PARSE_KINDS = ("parse", "not_a_feed")

LEDGER, WIRE = "Ledger", "Wire"  # the faulty source and the healthy one
LEDGER_FEED = "/ledger/feed.xml"
WIRE_FEED = "/wire/rss.xml"
LEDGER_ETAG, HEALED_ETAG = '"ledger-1"', '"ledger-2"'


# --- the story: a seed and four articles about Roxham Road ----------------------------------------


SEED = """title: Canada and the United States agree to close Roxham Road
outlet: Seed Desk
published_at: 2023-03-23
language: en

Canada and the United States have reached an agreement that will close Roxham Road, the \
irregular border crossing between Quebec and New York state used by tens of thousands of asylum \
seekers since 2017.

The deal extends the Safe Third Country Agreement to the whole land border, so that people who \
cross between official ports of entry can be returned to the United States. Canada will in turn \
accept fifteen thousand migrants from the Americas through regular channels.

Prime Minister Justin Trudeau and President Joe Biden are to announce the agreement in Ottawa. \
Quebec had asked for months for the crossing to be closed, saying its shelters and social \
services were overwhelmed, while refugee advocates warned that migrants would take more \
dangerous routes through the woods.
"""


@dataclass(frozen=True)
class Piece:
    path: str
    title: str
    published: datetime
    paragraphs: tuple[str, ...]


LEDGER_1 = Piece(
    "/ledger/2023/03/24/roxham-deal.html",
    "Ottawa and Washington agree to close the Roxham Road crossing",
    at("2023-03-24T09:00:00+00:00"),
    (
        "Canada and the United States have agreed to close Roxham Road, the unofficial crossing "
        "between New York state and Quebec that tens of thousands of asylum seekers have used "
        "since 2017, according to officials in Ottawa who spoke before the formal announcement "
        "on Friday.",
        "The agreement amends the Safe Third Country Agreement, which has required asylum seekers "
        "to make their claim in the first of the two countries they reach. Until now the rule "
        "applied only at official ports of entry, so people who walked across the ditch at the "
        "end of Roxham Road could still file a claim once they were inside Canada.",
        "Under the new terms, anyone who crosses between official ports and is caught within "
        "fourteen days can be returned to the United States. In exchange, Canada will open a "
        "humanitarian programme for fifteen thousand migrants from the Western Hemisphere over "
        "the coming year.",
        "Quebec premier François Legault had pressed Ottawa for months to shut the crossing, "
        "arguing that shelters, schools and social services in the Montreal area could not "
        "absorb the arrivals. Nearly forty thousand people crossed at Roxham Road in 2022, most "
        "of them from Haiti, Turkey, Colombia, Chile, Pakistan and Venezuela.",
        "Refugee advocates warned that closing the route would push desperate families toward "
        "more dangerous paths through forests and fields, where several people have died of cold "
        "in recent winters. They said the deal would be challenged before the Supreme Court of "
        "Canada, which is already weighing whether the original agreement violates the Charter.",
        "Officials said the change would take effect at midnight after the announcement, and "
        "that border officers on both sides had been briefed on how to return people who cross.",
    ),
)
WIRE_1 = Piece(
    "/wire/2023/03/24/border-pact.html",
    "Border pact ends the asylum route at Roxham Road",
    at("2023-03-24T10:30:00+00:00"),
    (
        "Asylum seekers who reach Canada through Roxham Road will be sent back to the United "
        "States under a pact that President Joe Biden and Prime Minister Justin Trudeau are set "
        "to unveil during the president's visit to Ottawa.",
        "The small country road south of Montreal became the busiest irregular entry point in "
        "Canada after 2017. Migrants arrived by taxi from Plattsburgh, carried their bags across "
        "a shallow gully and were arrested by the Royal Canadian Mounted Police, who then "
        "processed their refugee claims.",
        "The protocol extends the Safe Third Country Agreement to the entire land border, "
        "including lakes and rivers, rather than only official crossings. People found within "
        "two weeks of entering will be returned, unless they qualify for one of the exceptions "
        "for family members and unaccompanied minors.",
        "Ottawa has promised to welcome fifteen thousand people from the Americas through "
        "regular channels, a concession that American officials sought in return for accepting "
        "those turned back at the border.",
        "Conservative leader Pierre Poilievre had demanded that the crossing be closed within "
        "thirty days, while immigration lawyers said the agreement would only shift traffic to "
        "remote stretches of the border that are harder to patrol. Several said they expected "
        "smugglers to raise their prices for the journey north.",
        "The RCMP said it would post officers at Roxham Road overnight to explain the new rules "
        "to anyone who arrives, in English, French and Spanish.",
    ),
)
LEDGER_2 = Piece(  # the item the healed feed adds in round 3
    "/ledger/2023/03/25/roxham-closed.html",
    "Roxham Road is closed as the new border rules take effect",
    at("2023-03-25T08:00:00+00:00"),
    (
        "The last asylum seekers to enter Canada at Roxham Road crossed shortly before midnight, "
        "minutes before the amended Safe Third Country Agreement took effect and the unofficial "
        "route from New York state into Quebec was closed.",
        "Reporters at the crossing watched a family from Venezuela drag two suitcases over the "
        "gully as officers of the Royal Canadian Mounted Police read them their rights. After "
        "midnight, a man who arrived from Plattsburgh was told he would be returned to the "
        "United States.",
        "The federal government said officers would apply the new rule along the whole land "
        "border, and that people caught within fourteen days of an irregular crossing would be "
        "handed back to American authorities at the nearest official port of entry.",
        "Community groups in Montreal said shelters remained full with people who arrived in "
        "previous weeks and asked Ottawa and Quebec to fund housing and French lessons for them. "
        "The city's mayor asked for an emergency meeting with both governments.",
        "Lawyers for refugee claimants said they would file challenges in Federal Court, arguing "
        "that the United States is not a safe country for some asylum seekers and that returning "
        "them breaches the Charter of Rights and Freedoms.",
        "Officials said more than a hundred people a day had crossed at Roxham Road in the first "
        "months of the year.",
    ),
)
MONTREAL = Piece(  # the item of the windows-1252 feed
    "/ledger/2023/03/24/montreal-shelters.html",
    "Roxham Road: Montréal shelters brace for the last arrivals",
    at("2023-03-24T12:10:00+00:00"),
    (
        "Shelters in Montréal are preparing for a final wave of asylum seekers who crossed at "
        "Roxham Road before the closure of the unofficial crossing between Quebec and New York "
        "state took effect at midnight.",
        "Directors of three emergency shelters said every bed was taken and that they had opened "
        "church basements and school gymnasiums for families who arrived over the weekend. Many "
        "of the newcomers came from Haiti, Colombia and Venezuela after long journeys through "
        "Central America and the United States.",
        "Quebec's immigration minister said the province had received more than half of all "
        "asylum claims in Canada last year and asked the federal government to move some of the "
        "claimants to Ontario and the Atlantic provinces, where housing is easier to find.",
        "Volunteers who meet buses at the central station said the number of people arriving "
        "from the border had jumped since news of the agreement between Ottawa and Washington "
        "spread on social media. Some families said they had hurried to cross before the rules "
        "changed.",
        "Advocates for refugees warned that closing Roxham Road would not end irregular "
        "migration and that people would instead cross through forests where they are exposed "
        "to cold and to smugglers.",
        "The city has asked Ottawa for emergency funding to keep the temporary shelters open "
        "through the spring.",
    ),
)


# --- what the server answers ----------------------------------------------------------------------


# Routes are tests/httpserver.py's: a Reply is served by the local server and the mock transport
# alike; a callable, for byte-level behaviour only a real socket can show, by the local server.
RSS_TYPE = "application/rss+xml; charset=utf-8"


def mock_transport(site: Site) -> httpx.MockTransport:
    """The routes of ``site`` (a public-looking host) answered by httpx.MockTransport."""

    def handler(request: httpx.Request) -> httpx.Response:
        route = site.answer(request.method, str(request.url), request.headers.items())
        if request.url.host != urlsplit(site.base).hostname:
            return httpx.Response(200, text="an internal service")  # must never be reached
        assert isinstance(route, Reply), "byte-level faults need the local server"
        return httpx.Response(route.status, content=route.body, headers=dict(route.headers))

    return httpx.MockTransport(handler)


def rss(site: Site, title: str, items: Sequence[Piece]) -> str:
    """An RSS 2.0 feed of ``items``, newest first."""
    out = "".join(
        f"<item><title>{html.escape(a.title)}</title><link>{site.url(a.path)}</link>"
        f'<guid isPermaLink="true">{site.url(a.path)}</guid>'
        f"<pubDate>{format_datetime(a.published, usegmt=True)}</pubDate></item>"
        for a in sorted(items, key=lambda a: a.published, reverse=True)
    )
    return (
        f'<?xml version="1.0"?>\n<rss version="2.0"><channel><title>{title}</title>'
        f"<link>{site.base}/</link><description>News from {title}</description>{out}"
        "</channel></rss>"
    )


def page(article: Piece) -> Reply:
    paragraphs = "".join(f"<p>{html.escape(p)}</p>" for p in article.paragraphs)
    title = html.escape(article.title)
    body = (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        '</head><body><header><nav><a href="/">Home</a> <a href="/world">World</a></nav>'
        f"</header><article><h1>{title}</h1>"
        f'<time datetime="{article.published.isoformat()}">24 March 2023</time>{paragraphs}'
        "</article><footer>All rights reserved.</footer></body></html>"
    )
    return Reply(200, body.encode("utf-8"), {"Content-Type": "text/html; charset=utf-8"})


def publish(site: Site, *, healed: bool = False) -> None:
    """The healthy site; ``healed`` adds a second item (and a new ETag) to the Ledger's feed."""
    ledger = [LEDGER_1, LEDGER_2] if healed else [LEDGER_1]
    site.routes[LEDGER_FEED] = Reply(
        200,
        rss(site, "The Ledger", ledger).encode("utf-8"),
        {"Content-Type": RSS_TYPE, "ETag": HEALED_ETAG if healed else LEDGER_ETAG},
    )
    site.routes[WIRE_FEED] = Reply(
        200, rss(site, "The Wire", [WIRE_1]).encode("utf-8"), {"Content-Type": RSS_TYPE}
    )
    for article in (LEDGER_1, LEDGER_2, WIRE_1, MONTREAL):
        site.routes[article.path] = page(article)


# --- the faults -----------------------------------------------------------------------------------


def slow_headers(h: Handler) -> None:
    h.stop.wait(4 * TOTAL_TIMEOUT)  # silent long past read_timeout (and the whole deadline)
    send(h, Reply(200, b"<rss/>", {"Content-Type": RSS_TYPE}))


def slow_drip(h: Handler) -> None:
    # One byte every 0.1 s: each read is on time, only the whole-request deadline can end it.
    h.send_response_only(200)
    h.send_header("Content-Type", RSS_TYPE)
    h.send_header("Content-Length", "10000")
    h.end_headers()
    for _ in range(10_000):
        h.wfile.write(b" ")
        if h.stop.wait(0.1):
            return


def chunked_flood(h: Handler) -> None:
    h.send_response_only(200)
    h.send_header("Content-Type", RSS_TYPE)
    h.send_header("Transfer-Encoding", "chunked")
    h.end_headers()
    piece = b"<!-- padding -->" * 1024
    for _ in range(3 * CAP // len(piece) + 1):
        h.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
    h.wfile.write(b"0\r\n\r\n")


BOMB_SIZE = 64 << 20  # 64 MiB of zeros: 320 times the cap once inflated


@cache
def gzip_bomb_body() -> bytes:
    """A valid gzip of BOMB_SIZE zeros, about 64 kB: under the cap until it is inflated."""
    megabyte = bytes(1 << 20)
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = deflate.compress(megabyte) + deflate.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(BOMB_SIZE >> 20):
        crc = zlib.crc32(megabyte, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, BOMB_SIZE & 0xFFFFFFFF)
    return header + block * (BOMB_SIZE >> 20) + deflate.flush() + trailer


def gzip_bomb(h: Handler) -> None:
    send(h, Reply(200, gzip_bomb_body(), {"Content-Type": RSS_TYPE, "Content-Encoding": "gzip"}))


def redirect_loop(h: Handler) -> None:
    # feed.xml -> feed.xml?again -> feed.xml -> ...: two URLs sending the client to each other.
    there = "feed.xml" if "?" in h.path else "feed.xml?again"
    send(h, Reply(302, b"", {"Location": there}))


def connection_reset(h: Handler) -> None:
    h.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/rss+xml\r\nContent-Len")
    # Linger 0: closing sends an RST instead of a FIN.
    h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    h.close_connection = True
    h.connection.close()


@dataclass(frozen=True)
class Fault:
    id: str
    route: Route  # what the Ledger's feed URL answers in round 2
    kind: str  # the error_kind it must leave on the source
    wait: float = INTERVAL  # seconds from T2 to the next check
    reason: str = "backoff"
    says: str = ""  # a phrase the error message must hold, telling the fault from its siblings
    names: str | None = None  # the URL the message must name (a refused hop); None: the feed's
    status: int | None = None  # the last_status it must leave, for HTTP errors
    guarded: bool = False  # served by httpx.MockTransport with the private-address guard on


LOOPBACK_HOP = "http://127.0.0.1/admin/feed.xml"
PRIVATE_HOP = "http://10.0.0.1/feed.xml"
BROKEN_XML = b'<?xml version="1.0"?>\n<rss version="2.0"><channel><title>The Ledger <<< oops'
HTML_PAGE = (
    b'<!DOCTYPE html><html lang="en"><head><title>The Ledger</title></head><body>'
    b"<h1>Welcome to The Ledger</h1><p>Our feeds have moved.</p></body></html>"
)
# The server's clock agrees with the replay's, years behind the real one: a Retry-After date
# measured against the local clock would come to 0 and the plain backoff would win.
SERVER_DATE = format_datetime(T2, usegmt=True)

FAULTS = [
    Fault("slow-headers", slow_headers, "timeout"),
    Fault("slow-drip-body", slow_drip, "timeout", says="whole request"),
    Fault(
        "too-large-content-length",
        Reply(200, b" " * (CAP + 1), {"Content-Type": RSS_TYPE}),
        "too_large",
        says="Content-Length",
    ),
    Fault("too-large-chunked", chunked_flood, "too_large", says="body over the"),
    Fault("gzip-bomb", gzip_bomb, "too_large", says="body over the"),
    Fault("redirect-loop", redirect_loop, "too_many_redirects"),
    Fault(
        "redirect-to-loopback",
        Reply(302, b"", {"Location": LOOPBACK_HOP}),
        "blocked",
        names=LOOPBACK_HOP,
        guarded=True,
    ),
    Fault(
        "redirect-to-private",
        Reply(302, b"", {"Location": PRIVATE_HOP}),
        "blocked",
        names=PRIVATE_HOP,
        guarded=True,
    ),
    Fault("invalid-xml", Reply(200, BROKEN_XML, {"Content-Type": RSS_TYPE}), "parse"),
    Fault(
        "429-retry-after-seconds",
        Reply(429, b"slow down", {"Retry-After": "3600"}),
        "http_429",
        wait=3600.0,
        reason="retry_after",
        status=429,
    ),
    Fault(
        "503-retry-after-date",
        Reply(
            503,
            b"down for maintenance",
            {
                "Date": SERVER_DATE,
                "Retry-After": format_datetime(T2 + timedelta(hours=2), usegmt=True),
            },
        ),
        "http_5xx",
        wait=7200.0,
        reason="retry_after",
        status=503,
    ),
    Fault("connection-reset", connection_reset, "connect"),
    Fault("empty-200", Reply(200, b"", {"Content-Type": RSS_TYPE}), "not_a_feed"),
    Fault(
        "html-page",
        Reply(200, HTML_PAGE, {"Content-Type": "text/html; charset=utf-8"}),
        "not_a_feed",
    ),
]
PARSE_FAULTS = [f for f in FAULTS if f.kind in PARSE_KINDS]


# --- configuration, rounds and what is stored -----------------------------------------------------


def write_config(tmp_path: Path, sources: Sequence[tuple[str, str]], *, guard: bool) -> Path:
    """A TOML configuration: short timeouts, a 200 kB cap, a 30 min interval per source, the
    story with its seed, the database and the outbox in ``tmp_path``."""
    seeds = tmp_path / "seeds"
    seeds.mkdir(exist_ok=True)
    (seeds / "000_roxham_deal.txt").write_text(SEED, encoding="utf-8")
    lines = [
        "[storage]",
        f"url = {toml_value('sqlite:///' + str(tmp_path / 'monitor.sqlite'))}",
        "[fetch]",
        f"allow_private_networks = {'false' if guard else 'true'}",
        "per_host_delay = 0",
        "obey_robots = false",
        "connect_timeout = 1",
        f"read_timeout = {READ_TIMEOUT}",
        f"total_timeout = {TOTAL_TIMEOUT}",
        f"max_bytes = {CAP}",
        "[email]",
        f"outbox_dir = {toml_value(str(tmp_path / 'outbox'))}",
        "",
    ]
    for name, url in sources:
        lines += ["[[source]]", f"name = {toml_value(name)}", f"url = {toml_value(url)}"]
        lines += [f'interval = "{int(INTERVAL // 60)}m"', ""]
    lines += [
        "[[story]]",
        'slug = "roxham-road"',
        'title = "The closing of Roxham Road"',
        f"seeds = {toml_value(str(seeds))}",
        'keywords = ["Roxham"]',
    ]
    path = tmp_path / "monitor.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@contextmanager
def _site_for(guarded: bool) -> Iterator[Site]:
    if guarded:
        yield Site("http://news.example")
    else:
        with serve() as site:
            yield site


@contextmanager
def two_sources(tmp_path: Path, *, guarded: bool = False) -> Iterator[tuple[Site, App]]:
    """The Ledger and the Wire, healthy, and an app polling them (opened at T1).

    ``guarded``: the site is a public-looking host answered by httpx.MockTransport, with
    allow_private_networks false. With an injected transport the fetcher resolves and checks
    every hop before its request (the built-in transport does it at connect time), so a
    redirect to a private address is refused without the address ever being contacted.
    """
    with _site_for(guarded) as site:
        publish(site)
        path = write_config(
            tmp_path, [(LEDGER, site.url(LEDGER_FEED)), (WIRE, site.url(WIRE_FEED))], guard=guarded
        )
        config = configmod.load(path, env={})
        extra: dict[str, Any] = {}
        if guarded:
            extra = {"transport": mock_transport(site), "resolver": lambda host, port: [PUBLIC_IP]}
        with open_app(config, now=T1, **extra) as app:
            yield site, app


def rows(app: App, model: Any, *where: Any) -> list[dict[str, Any]]:
    """Every column of every row of ``model`` (matching ``where``), in id order."""
    keys = [c.key for c in inspect(model).column_attrs]
    with app.db.read() as session:
        found = session.scalars(select(model).where(*where).order_by(model.id))
        return [{k: getattr(row, k) for k in keys} for row in found]


def source(app: App, name: str) -> dict[str, Any]:
    (row,) = rows(app, Source, Source.name == name)
    return row


def snapshot(app: App) -> dict[str, Any]:
    """What a fault of the Ledger must not touch: every article and version, the Ledger's
    entries, the story's members, events and version, and the Ledger's validators."""
    ledger = source(app, LEDGER)
    return {
        "articles": rows(app, Article),
        "versions": rows(app, ArticleVersion),
        "entries": rows(app, Entry, Entry.source_id == ledger["id"]),
        "members": rows(app, StoryArticle),
        "events": rows(app, StoryEvent),
        "stories": rows(app, Story),
        "validators": {k: ledger[k] for k in ("etag", "last_modified", "body_sha256")},
        "items_seen": ledger["items_seen"],
    }


CHECKS = ("last_fetched_at", "next_check_at", "claimed_until", "check_count")


def without_checks(snap: dict[str, Any]) -> dict[str, Any]:
    """A snapshot without the articles' re-check bookkeeping (a scheduled re-check's)."""
    articles = [{k: v for k, v in a.items() if k not in CHECKS} for a in snap["articles"]]
    return snap | {"articles": articles}


def members(app: App) -> dict[str, str]:
    """The story's articles (off-topic ones left out): URL -> relation."""
    urls = {a["id"]: a["url"] for a in rows(app, Article)}
    return {
        urls[m["article_id"]]: m["relation"]
        for m in rows(app, StoryArticle)
        if m["relation"] != "off_topic"
    }


def first_round(site: Site, app: App) -> None:
    report = poll(app, now=T1, everything=True)
    assert (report.sources_polled, report.sources_failed, report.articles_new) == (2, 0, 2)
    stored = members(app)
    for article in (LEDGER_1, WIRE_1):
        assert stored.get(site.url(article.path)) in ("original", "copy")
    assert source(app, LEDGER)["etag"] == LEDGER_ETAG


def assert_ok(row: dict[str, Any], *, at_: datetime) -> None:
    """The source is healthy, its error fields cleared, next checked one interval after ``at_``."""
    assert row["error_kind"] is None and row["error_message"] is None
    assert row["error_count"] == 0 and row["failing_since"] is None
    assert row["last_checked_at"] == at_
    assert row["next_check_at"] == at_ + timedelta(seconds=INTERVAL)
    assert row["next_check_reason"] == "interval"


def healed_round(site: Site, app: App) -> None:
    """Round 3 at T3: the Ledger's feed is healthy again with one more item, which is read."""
    publish(site, healed=True)
    report = poll(app, now=T3, everything=True)
    assert report.sources_failed == 0
    ledger = source(app, LEDGER)
    assert_ok(ledger, at_=T3)
    assert ledger["etag"] == HEALED_ETAG
    keys = {e["key"] for e in rows(app, Entry, Entry.source_id == ledger["id"])}
    assert site.url(LEDGER_2.path) in keys
    assert members(app).get(site.url(LEDGER_2.path)) in ("original", "copy")


# --- one test per fault ---------------------------------------------------------------------------


LOCAL_FAULTS = [f for f in FAULTS if not f.guarded]
GUARDED_FAULTS = [f for f in FAULTS if f.guarded]


def check_fault(fault: Fault, tmp_path: Path) -> None:
    """Rounds 1 to 3 around ``fault``, with every check the two tests below promise."""
    with two_sources(tmp_path, guarded=fault.guarded) as (site, app):
        first_round(site, app)
        before = snapshot(app)
        site.routes[LEDGER_FEED] = fault.route
        if fault.id == "gzip-bomb":
            tracemalloc.start()
            try:
                report = poll(app, now=T2)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            assert peak < BOMB_SIZE // 16, f"peak {peak} bytes while inflating a gzip bomb"
        else:
            report = poll(app, now=T2)

        ledger = source(app, LEDGER)
        assert ledger["error_kind"] == fault.kind
        assert ledger["error_count"] == 1
        assert ledger["failing_since"] == T2 and ledger["last_checked_at"] == T2
        assert ledger["next_check_at"] == T2 + timedelta(seconds=fault.wait)
        assert ledger["next_check_reason"] == fault.reason
        message = ledger["error_message"]
        assert message
        assert (fault.names or site.url(LEDGER_FEED)) in message
        assert fault.says in message
        if fault.status is not None:
            assert ledger["last_status"] == fault.status

        assert (report.sources_polled, report.sources_failed) == (2, 1)
        assert len(report.errors) == 1 and report.errors[0].startswith(site.url(LEDGER_FEED))
        assert_ok(source(app, WIRE), at_=T2)
        assert snapshot(app) == before
        if fault.guarded:
            contacted = {urlsplit(seen.url).hostname for seen in site.requests}
            assert contacted == {"news.example"}

        healed_round(site, app)


@pytest.mark.parametrize("fault", LOCAL_FAULTS, ids=[f.id for f in LOCAL_FAULTS])
def test_a_hostile_feed_is_recorded_on_its_source_and_loses_nothing(
    fault: Fault, tmp_path: Path
) -> None:
    """A faulty feed leaves its error class, one error, failing_since and the policy's next
    check on its source; the round goes on, the other source is polled, nothing stored is
    touched; and once healed the source is ok and its new item is read."""
    check_fault(fault, tmp_path)


@pytest.mark.parametrize("fault", GUARDED_FAULTS, ids=[f.id for f in GUARDED_FAULTS])
def test_a_redirect_to_a_private_address_is_blocked_and_loses_nothing(
    fault: Fault, tmp_path: Path
) -> None:
    """With the guard on, a public host's 302 to 127.0.0.1 or 10.0.0.1 is recorded as blocked
    like any fault, and the private address is never contacted. The site is served by
    httpx.MockTransport (the local server is itself private): with an injected transport the
    fetcher resolves and checks every hop before its request, not at connect time."""
    check_fault(fault, tmp_path)


@pytest.mark.parametrize("fault", PARSE_FAULTS, ids=[f.id for f in PARSE_FAULTS])
def test_a_parse_error_message_names_the_feed_url(fault: Fault, tmp_path: Path) -> None:
    """A feed that cannot be read as a feed leaves an error_message naming the feed's URL."""
    with two_sources(tmp_path) as (site, app):
        site.routes[LEDGER_FEED] = fault.route
        poll(app, now=T1, everything=True)
        ledger = source(app, LEDGER)
    assert ledger["error_kind"] == fault.kind
    assert site.url(LEDGER_FEED) in ledger["error_message"]


def test_xml_broken_inside_the_only_item_is_a_parse_error(tmp_path: Path) -> None:
    """A feed whose XML breaks inside its only item, leaving no readable entry, is a parse
    error on the source, not a healthy empty feed."""
    with two_sources(tmp_path) as (site, app):
        link = site.url(LEDGER_2.path)
        broken = (
            '<?xml version="1.0"?>\n<rss version="2.0"><channel><title>The Ledger</title>'
            f"<item><title>{LEDGER_2.title}</title><link>{link}</lnk></item></channel></rss>"
        )
        site.routes[LEDGER_FEED] = Reply(200, broken.encode(), {"Content-Type": RSS_TYPE})
        report = poll(app, now=T1, everything=True)
        ledger = source(app, LEDGER)
    assert report.entries_new == 1  # the Wire's; the Ledger's item is unreadable
    assert ledger["error_kind"] == "parse"


def test_a_second_consecutive_error_doubles_the_wait(tmp_path: Path) -> None:
    """A source failing again when next due has error_count 2, keeps its failing_since and
    waits two intervals; stored data is still untouched."""
    t3 = T2 + timedelta(seconds=INTERVAL)  # when the first error's backoff makes it due
    with two_sources(tmp_path) as (site, app):
        first_round(site, app)
        before = snapshot(app)
        site.routes[LEDGER_FEED] = Reply(500, b"internal error")
        poll(app, now=T2)
        assert source(app, LEDGER)["next_check_at"] == t3
        report = poll(app, now=t3)
        ledger = source(app, LEDGER)
        assert report.sources_failed == 1
        assert (ledger["error_kind"], ledger["error_count"]) == ("http_5xx", 2)
        assert ledger["failing_since"] == T2
        assert ledger["next_check_at"] == t3 + timedelta(seconds=2 * INTERVAL)
        assert ledger["next_check_reason"] == "backoff"
        # The articles stored at T1 are due for their first re-check at t3 (an hour later):
        # their check bookkeeping moves on; nothing they hold does.
        assert without_checks(snapshot(app)) == without_checks(before)


def test_a_304_leaves_the_source_ok_and_everything_as_it_was(tmp_path: Path) -> None:
    """A 304 to the ETag kept from round 1 is not an error: the source is ok, checked again one
    interval later, nothing new is stored and the validators stay; then it heals normally."""
    with two_sources(tmp_path) as (site, app):
        first_round(site, app)
        before = snapshot(app)
        newer = Reply(
            200,
            rss(site, "The Ledger", [LEDGER_1, LEDGER_2]).encode(),
            {"Content-Type": RSS_TYPE, "ETag": HEALED_ETAG},
        )

        def not_modified(h: Handler) -> None:
            matches = h.headers.get("If-None-Match") == LEDGER_ETAG
            send(h, Reply(304, headers={"ETag": LEDGER_ETAG}) if matches else newer)

        site.routes[LEDGER_FEED] = not_modified
        report = poll(app, now=T2)
        ledger = source(app, LEDGER)
        assert_ok(ledger, at_=T2)
        assert ledger["last_status"] == 304
        assert (report.sources_failed, report.sources_unchanged, report.articles_new) == (0, 2, 0)
        asked = [s for s in site.requests if s.url == site.url(LEDGER_FEED)]
        assert asked[-1].headers["if-none-match"] == LEDGER_ETAG
        assert snapshot(app) == before
        healed_round(site, app)


def test_a_windows_1252_feed_labelled_utf_8_is_read_not_failed(tmp_path: Path) -> None:
    """A feed whose header says utf-8 over windows-1252 bytes is not an error: its new entry is
    read with "Montréal" intact, its article stored, and the source stays ok."""
    with two_sources(tmp_path) as (site, app):
        first_round(site, app)
        body = rss(site, "The Ledger", [LEDGER_1, MONTREAL]).encode("windows-1252")
        assert b"Montr\xe9al" in body
        with pytest.raises(UnicodeDecodeError):
            body.decode("utf-8")
        site.routes[LEDGER_FEED] = Reply(200, body, {"Content-Type": RSS_TYPE})
        report = poll(app, now=T2)
        ledger = source(app, LEDGER)
        assert_ok(ledger, at_=T2)
        assert (report.sources_failed, report.articles_new) == (0, 1)
        titles = {e["url"]: e["title"] for e in rows(app, Entry, Entry.source_id == ledger["id"])}
        assert titles[site.url(MONTREAL.path)] == MONTREAL.title
        assert site.url(MONTREAL.path) in members(app)


# --- every fault at once, through the command line ------------------------------------------------


@pytest.mark.slow
def test_poll_command_survives_every_fault_at_once(tmp_path: Path) -> None:
    """``python -m monitor poll --all`` against one source per socket-level fault (the guard
    cases need the mock transport, so they are left out) logs one source_error JSON
    line per failing source with its kind, stores each kind, and the healthy source is ok; it
    exits 1 and its last line counts the failed sources (issue 15: a failing round is seen by
    its exit code)."""
    local = LOCAL_FAULTS
    with serve() as site:
        publish(site)
        for fault in local:
            site.routes[f"/{fault.id}/feed.xml"] = fault.route
        sources = [(f.id, site.url(f"/{f.id}/feed.xml")) for f in local]
        path = write_config(tmp_path, [*sources, (WIRE, site.url(WIRE_FEED))], guard=False)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
        command = [sys.executable, "-m", "monitor", "--config", str(path), "poll", "--all"]
        done = subprocess.run(
            [*command, "--now", T1.isoformat()],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1, done.stderr
    assert f"polled {len(local) + 1} sources ({len(local)} failed" in done.stdout
    *logs, last = done.stderr.splitlines()
    assert last == (
        f"monitor: error: {len(local)} of {len(local) + 1} sources failed (see: monitor sources)"
    )
    lines = [json.loads(line) for line in logs]  # JSON only: no traceback
    logged = sorted((e["source"], e["error"]) for e in lines if e["event"] == "source_error")
    assert logged == sorted((f.id, f.kind) for f in local)
    with closing(sqlite3.connect(tmp_path / "monitor.sqlite")) as db:
        stored = dict(db.execute("SELECT name, error_kind FROM sources").fetchall())
    assert stored == {**{f.id: f.kind for f in local}, WIRE: None}
