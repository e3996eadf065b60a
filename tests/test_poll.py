"""A poll round's own logic (robots.txt, order across hosts, entry caps, sitemaps, learned
schedules), each host a socketless tests/httpserver.py ``Site`` served by httpx.MockTransport;
socket behaviour is in test_fetch and test_faults."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import cast

import httpx
import pytest
from sqlalchemy import select

from monitor import config as configmod
from monitor.app import App, open_app
from monitor.fetch.client import Fetcher
from monitor.poll.round import poll
from storage.db import Database
from storage.models import Article, Entry, Source, StoryArticle
from tests.conftest import at
from tests.httpserver import NOT_FOUND, Reply, Site
from tests.storyschema import checked

NOW = at("2023-03-24T12:00:00+00:00")
REPORT = (
    "Officials confirmed on Friday that asylum seekers arriving at Roxham Road will be turned back "
    "to New York under the amended agreement, which takes effect at midnight and covers the whole "
    "land border between Quebec and the United States. "
)
WORDS = (
    "Roxham Road asylum seekers crossing deal Ottawa Washington Safe Third Country Agreement "
    "border officers Quebec New York migrants closure announced Friday by the prime minister. "
)


def page(title: str, sentence: str = WORDS, repeat: int = 12) -> str:
    body = " ".join([sentence] * repeat)
    return (
        f'<html lang="en"><head><title>{title}</title></head><body><article><h1>{title}</h1>'
        f"<p>{body}</p><p>{body}</p></article></body></html>"
    )


def rss(*items: tuple[str, str, str | None]) -> str:
    """An RSS 2.0 feed of (title, link, RFC 822 pubDate or None) items."""
    out = []
    for title, link, date in items:
        when = f"<pubDate>{date}</pubDate>" if date else ""
        out.append(
            f"<item><title>{title}</title><link>{link}</link><guid>{link}</guid>{when}</item>"
        )
    return (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
        + "".join(out)
        + "</channel></rss>"
    )


def reply(text: str) -> Reply:
    """``text`` as a 200, typed XML if it opens with an XML declaration, HTML otherwise."""
    kind = "application/xml" if text.startswith("<?xml") else "text/html"
    return Reply(200, text.encode("utf-8"), {"content-type": kind})


def site_of(base: str, routes: dict[str, str]) -> Site:
    """A ``Site`` with no server behind it, answering ``routes`` (path to text) with ``reply``."""
    return Site(base, {path: reply(text) for path, text in routes.items()})


Before = Callable[[httpx.Request], None]


def mock_transport(sites: Sequence[Site], before: Before | None) -> httpx.MockTransport:
    """Each request answered by the site of its origin (recorded there), after ``before`` has
    seen it; an unknown origin gets a 404."""
    by_origin = {s.base: s for s in sites}

    def handler(request: httpx.Request) -> httpx.Response:
        target = by_origin.get(f"{request.url.scheme}://{request.url.netloc.decode()}")
        route = (
            NOT_FOUND
            if target is None
            else target.answer(request.method, str(request.url), request.headers.items())
        )
        if before is not None:
            before(request)
        # A callable route needs the socket of tests/httpserver.serve; these routes never do.
        assert isinstance(route, Reply)
        return httpx.Response(route.status, content=route.body, headers=dict(route.headers))

    return httpx.MockTransport(handler)


@contextmanager
def round_app(
    tmp_path: Path,
    sites: Sequence[Site],
    sources: tuple[configmod.Source, ...],
    *,
    before: Before | None = None,
    poll: configmod.PollSettings | None = None,
    story: bool = False,
) -> Iterator[App]:
    """An app whose every request is answered, and recorded, by the one of ``sites`` its
    origin names (404 for any other origin), ``before`` seeing each request first."""
    stories: tuple[configmod.Story, ...] = ()
    if story:
        seeds = tmp_path / "seeds"
        seeds.mkdir()
        (seeds / "seed.txt").write_text(
            "title: Canada and the US close Roxham Road\nurl: https://seed.test/a\n"
            "outlet: Seed\npublished_at: 2023-03-24T00:00:00+00:00\n\n" + " ".join([WORDS] * 10),
            encoding="utf-8",
        )
        stories = (configmod.Story("roxham", "Roxham Road", seeds, ("Roxham",)),)
    config = configmod.Config(
        path="<test>",
        storage=configmod.StorageSettings(url=f"sqlite:///{tmp_path / 'm.sqlite'}"),
        fetch=configmod.FetchSettings(allow_private_networks=True, per_host_delay=0.0),
        # In-thread extraction: child processes cost each app a second (tests/conftest.py).
        poll=poll or configmod.PollSettings(extract_processes=0),
        sources=sources,
        stories=stories,
    )
    with open_app(config, now=NOW, transport=mock_transport(sites, before)) as app:
        yield app


def _articles(app: App) -> dict[str, Article]:
    with app.db.read() as session:
        return {a.url: a for a in session.scalars(select(Article))}


def test_a_page_robots_txt_disallows_is_not_fetched_and_says_why(tmp_path: Path) -> None:
    """robots.txt disallows /private/: that page is never requested and its article records
    the refusal; an allowed page on the same site is fetched."""
    a = site_of(
        "https://a.test",
        {
            "/feed": rss(
                ("Open", "https://a.test/news/open", None),
                ("Closed", "https://a.test/private/closed", None),
            ),
            "/robots.txt": "User-agent: *\nDisallow: /private/\n",
            "/news/open": page("Open"),
            "/private/closed": page("Closed"),
        },
    )
    with round_app(tmp_path, [a], (configmod.Source("https://a.test/feed", "A"),)) as app:
        poll(app, now=NOW)
        articles = _articles(app)
    assert "/private/closed" not in a.paths
    assert "/news/open" in a.paths
    closed = articles["https://a.test/private/closed"]
    assert closed.status == "error"
    assert closed.error is not None and closed.error.startswith("robots: ")
    assert "https://a.test/robots.txt" in closed.error
    assert articles["https://a.test/news/open"].status == "ok"
    assert a.paths.count("/robots.txt") == 1  # cached for the round and beyond


def test_worker_threads_asking_for_the_robots_cache_at_once_share_one() -> None:
    """Eight threads released together each ask the app for its robots.txt cache: they all
    get the same one (each making its own fetched a host's robots.txt once per cache)."""
    # No database or client is needed to make the cache (it fetches only when asked a URL).
    app = App(configmod.Config(path="<test>"), cast(Database, None), lambda: cast(Fetcher, None))
    start = threading.Barrier(8)
    got: list[object] = []

    def ask() -> None:
        start.wait()
        got.append(app.robots)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 8 and len({id(r) for r in got}) == 1


def test_a_source_with_robots_false_fetches_what_robots_txt_disallows(tmp_path: Path) -> None:
    """[[source]] robots = false: the page is fetched and robots.txt is not even asked."""
    a = site_of(
        "https://a.test",
        {
            "/feed": rss(("Closed", "https://a.test/private/closed", None)),
            "/robots.txt": "User-agent: *\nDisallow: /\n",
            "/private/closed": page("Closed"),
        },
    )
    source = configmod.Source("https://a.test/feed", "A", robots=False)
    with round_app(tmp_path, [a], (source,)) as app:
        poll(app, now=NOW)
        articles = _articles(app)
    assert articles["https://a.test/private/closed"].status == "ok"
    assert "/robots.txt" not in a.paths


def test_the_original_is_stored_before_its_copy_whichever_host_answers_first(
    tmp_path: Path,
) -> None:
    """The earlier article's host answers only after the later copy's page has been read: the
    earlier one is still the original and the later one its copy."""
    copy_read = threading.Event()

    def before(request: httpx.Request) -> None:
        if str(request.url) == "https://first.test/story":
            copy_read.wait(5)  # the copy's host goes first, whatever the thread scheduling
        if str(request.url) == "https://second.test/story":
            copy_read.set()

    sites = [
        site_of(
            f"https://{host}",
            {
                "/feed": rss(("Deal", f"https://{host}/story", f"Fri, 24 Mar 2023 {hour} GMT")),
                "/story": page("Roxham Road deal", REPORT),
            },
        )
        for host, hour in (("first.test", "09:00:00"), ("second.test", "10:00:00"))
    ]
    sources = (
        configmod.Source("https://first.test/feed", "First"),
        configmod.Source("https://second.test/feed", "Second"),
    )
    with round_app(tmp_path, sites, sources, before=before, story=True) as app:
        poll(app, now=NOW)
        with app.db.read() as session:
            relations = {
                a.url: m.relation
                for m, a in session.execute(
                    select(StoryArticle, Article).join(
                        Article, Article.id == StoryArticle.article_id
                    )
                )
            }
    assert copy_read.is_set()
    assert relations["https://first.test/story"] == "original"
    assert relations["https://second.test/story"] == "copy"


@pytest.mark.parametrize("cores", [2, 1])
def test_on_two_cores_an_article_is_stored_while_later_pages_are_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cores: int
) -> None:
    """The older entry's page is read at once, the newer one's host answers only once an
    article is stored (or after 3 s): on two cores the older article is stored while the
    newer page is still being read, so the round's thread works while the workers do; on one,
    where that overlap only costs CPU, the lot is read first, then stored. Both are stored,
    the older first, either way."""
    monkeypatch.setattr("monitor.poll.round.usable_cores", lambda: cores)
    stored_one = threading.Event()
    waited: list[bool] = []

    def before(request: httpx.Request) -> None:
        if str(request.url) == "https://late.test/story":
            waited.append(stored_one.wait(3))

    sites = [
        site_of(
            f"https://{host}",
            {
                "/feed": rss(("Deal", f"https://{host}/story", f"Fri, 24 Mar 2023 {hour} GMT")),
                "/story": page(f"Roxham Road deal, {host}", f"{host} " + REPORT),
            },
        )
        for host, hour in (("early.test", "09:00:00"), ("late.test", "10:00:00"))
    ]
    sources = (
        configmod.Source("https://early.test/feed", "Early"),
        configmod.Source("https://late.test/feed", "Late"),
    )
    with round_app(tmp_path, sites, sources, before=before) as app:
        app.on_ingest = lambda _seconds: stored_one.set()
        report = poll(app, now=NOW)
        with app.db.read() as session:
            ids = {url: id_ for url, id_ in session.execute(select(Article.url, Article.id))}
    assert waited == [cores > 1]
    assert report.articles_new == 2
    assert ids["https://early.test/story"] < ids["https://late.test/story"]


def test_a_long_first_poll_takes_the_newest_entries_and_leaves_the_rest(tmp_path: Path) -> None:
    """poll.max_new_entries = 3 on a feed of 5: the 3 newest are ingested; the 2 older stay
    unrecorded (not marked seen), and are taken by the next poll."""
    items = [
        (f"Item {i}", f"https://a.test/{i}", f"Fri, 24 Mar 2023 0{i}:00:00 GMT") for i in range(5)
    ]
    routes = {"/feed": rss(*items)} | {f"/{i}": page(f"Item {i}") for i in range(5)}
    a = site_of("https://a.test", routes)
    settings = configmod.PollSettings(max_new_entries=3, extract_processes=0)
    with round_app(
        tmp_path, [a], (configmod.Source("https://a.test/feed", "A"),), poll=settings
    ) as app:
        first = poll(app, now=NOW)
        first_urls = set(_articles(app))
        with app.db.write() as session:  # the same body again must not be skipped as unchanged
            session.scalars(select(Source)).one().body_sha256 = None
        poll(app, now=NOW + timedelta(hours=1), everything=True)
        with app.db.read() as session:
            entries = set(session.scalars(select(Entry.url)))
    assert first.entries_new == 3
    assert first_urls == {"https://a.test/2", "https://a.test/3", "https://a.test/4"}
    assert entries == {f"https://a.test/{i}" for i in range(5)}


def test_a_sitemap_index_is_read_through_its_newest_child(tmp_path: Path) -> None:
    """A news sitemap index of four children: the three newest are read (the newest lists two
    articles, ingested with their news:title and publication date); the oldest is not
    fetched."""
    ns = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
    news = 'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'
    index = (
        f'<?xml version="1.0"?><sitemapindex {ns}>'
        "<sitemap><loc>https://a.test/old.xml</loc><lastmod>2023-01-01</lastmod></sitemap>"
        "<sitemap><loc>https://a.test/new.xml</loc><lastmod>2023-03-24</lastmod></sitemap>"
        "<sitemap><loc>https://a.test/b.xml</loc><lastmod>2023-03-23</lastmod></sitemap>"
        "<sitemap><loc>https://a.test/a.xml</loc><lastmod>2023-03-22</lastmod></sitemap>"
        "</sitemapindex>"
    )
    child = (
        f'<?xml version="1.0"?><urlset {ns} {news}>'
        + "".join(
            f"<url><loc>https://a.test/n{i}</loc><news:news><news:publication>"
            "<news:name>A</news:name><news:language>en</news:language></news:publication>"
            f"<news:publication_date>2023-03-24T0{i}:00:00Z</news:publication_date>"
            f"<news:title>News {i}</news:title></news:news></url>"
            for i in (1, 2)
        )
        + "</urlset>"
    )
    a = site_of(
        "https://a.test",
        {"/sitemap.xml": index, "/new.xml": child, "/n1": page("News 1"), "/n2": page("News 2")},
    )
    source = configmod.Source("https://a.test/sitemap.xml", "A")
    with round_app(
        tmp_path, [a], (source,), poll=configmod.PollSettings(extract_processes=0)
    ) as app:
        poll(app, now=NOW)
        articles = _articles(app)
        with app.db.read() as session:
            fmt = session.scalars(select(Source.format)).one()
    assert set(articles) == {"https://a.test/n1", "https://a.test/n2"}
    assert articles["https://a.test/n1"].published_at == at("2023-03-24T01:00:00+00:00")
    assert "/old.xml" not in a.paths
    assert {"/a.xml", "/b.xml"} <= set(a.paths)
    assert fmt == "sitemap"


def test_a_source_learns_its_interval_and_a_fixed_one_does_not(tmp_path: Path) -> None:
    """Two feeds publishing every 10 minutes: the one without an interval is next checked in
    10 minutes (reason learned); the one with interval 1h in an hour (reason interval)."""
    items = [
        (f"Item {i}", f"https://{{host}}/{i}", f"Fri, 24 Mar 2023 11:{50 - 10 * i:02d}:00 GMT")
        for i in range(5)
    ]

    def feed(host: str) -> str:
        return rss(*[(t, link.format(host=host), d) for t, link, d in items])

    sites = [site_of(f"https://{host}", {"/feed": feed(host)}) for host in ("a.test", "b.test")]
    sources = (
        configmod.Source("https://a.test/feed", "Learned"),
        configmod.Source("https://b.test/feed", "Fixed", interval=3600.0),
    )
    with round_app(tmp_path, sites, sources) as app:
        poll(app, now=NOW)
        with app.db.read() as session:
            state = {
                s.name: (s.next_check_at, s.next_check_reason, s.learned_interval_s)
                for s in session.scalars(select(Source))
            }
    assert state["Learned"] == (NOW + timedelta(minutes=10), "learned", 600.0)
    assert state["Fixed"] == (NOW + timedelta(hours=1), "interval", None)


def test_an_entry_with_a_new_updated_date_gets_its_article_rechecked(tmp_path: Path) -> None:
    """The feed bumps an entry's <updated>: the round re-fetches the article at once and stores
    its edit as version 2."""

    def atom(updated: str) -> str:
        return (
            '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>t</title>'
            '<entry><title>Deal</title><link href="https://a.test/story"/>'
            f"<id>urn:a:1</id><updated>{updated}</updated></entry></feed>"
        )

    a = site_of("https://a.test", {"/feed": atom("2023-03-24T10:00:00Z"), "/story": page("Deal")})
    with round_app(tmp_path, [a], (configmod.Source("https://a.test/feed", "A"),)) as app:
        poll(app, now=NOW)
        a.routes["/feed"] = reply(atom("2023-03-24T12:30:00Z"))
        a.routes["/story"] = reply(page("Deal, updated with the minister's reply"))
        report = poll(app, now=NOW + timedelta(minutes=40), everything=True)
        with app.db.read() as session:
            article = session.scalars(select(Article)).one()
            versions = len(article.versions)
    assert report.updates == 1
    assert versions == 2


def test_a_page_that_crashes_the_extractor_is_recorded_and_the_round_goes_on(
    tmp_path: Path, monkeypatch
) -> None:
    """The extractor raising an unexpected error on one page: that article is stored as not an
    article with the error, and the other page of the round is stored normally."""
    from monitor.poll import extracting

    real = extracting.extract

    def fragile(body: bytes, url: str, **options):
        if url.endswith("/bad"):
            raise RuntimeError("lxml exploded")
        return real(body, url, **options)

    monkeypatch.setattr(extracting, "extract", fragile)  # in-thread: extract_processes = 0
    a = site_of(
        "https://a.test",
        {
            "/feed": rss(
                ("Bad", "https://a.test/bad", None), ("Good", "https://a.test/good", None)
            ),
            "/bad": page("Bad"),
            "/good": page("Good"),
        },
    )
    with round_app(tmp_path, [a], (configmod.Source("https://a.test/feed", "A"),)) as app:
        report = poll(app, now=NOW)
        articles = _articles(app)
    bad = articles["https://a.test/bad"]
    assert (bad.status, "lxml exploded" in (bad.error or "")) == ("not_article", True)
    assert articles["https://a.test/good"].status == "ok"
    assert report.not_articles == 1


def test_a_paywalled_teaser_is_stored_with_its_status_and_never_matched(tmp_path: Path) -> None:
    """A teaser behind a paywall is stored as ``paywalled`` with its reason and title, gets no
    version and no story decision; a full article in the same feed is matched."""
    teaser_text = " ".join([WORDS] * 2)
    teaser = (
        '<html lang="en"><head><title>Deal</title><script type="application/ld+json">'
        '{"@context": "https://schema.org", "@type": "NewsArticle", "headline": "Deal", '
        '"isAccessibleForFree": false}</script></head><body><article><h1>Deal</h1>'
        f'<p>{teaser_text}</p><div class="paywall"><p>Subscribe to continue reading this '
        "article.</p></div></article></body></html>"
    )
    a = site_of(
        "https://a.test",
        {
            "/feed": rss(
                ("Teaser", "https://a.test/teaser", None), ("Full", "https://a.test/full", None)
            ),
            "/teaser": teaser,
            "/full": page("Roxham Road deal", REPORT),
        },
    )
    sources = (configmod.Source("https://a.test/feed", "A"),)
    with round_app(tmp_path, [a], sources, story=True) as app:
        report = poll(app, now=NOW)
        articles = _articles(app)
        with app.db.read() as session:
            decided = set(
                session.scalars(
                    select(Article.url).join(StoryArticle, StoryArticle.article_id == Article.id)
                )
            )
            teaser_versions = len(
                session.scalars(select(Article).where(Article.url.endswith("/teaser")))
                .one()
                .versions
            )
    stored = articles["https://a.test/teaser"]
    assert (stored.status, stored.title) == ("paywalled", "Deal")
    assert stored.error is not None and "isAccessibleForFree" in stored.error
    assert teaser_versions == 0
    assert "https://a.test/teaser" not in decided
    assert "https://a.test/full" in decided
    assert report.not_articles == 1


def test_a_date_known_only_to_the_day_is_kept_as_a_day(tmp_path: Path) -> None:
    """A page whose only date is ``2023-03-24`` is stored at that day with precision "day", and
    the story file says so; a seed with a bare date too."""
    from storage import storyfile

    dated = page("Roxham Road deal", REPORT).replace(
        "<title>", '<meta property="article:published_time" content="2023-03-24"><title>'
    )
    a = site_of(
        "https://a.test",
        {"/feed": rss(("Deal", "https://a.test/story", None)), "/story": dated},
    )
    sources = (configmod.Source("https://a.test/feed", "A"),)
    with round_app(tmp_path, [a], sources, story=True) as app:
        poll(app, now=NOW)
        with app.db.read() as session:
            story = checked(storyfile.build(session, "roxham"))
    assert story is not None
    by_url = {a["url"]: a for o in story["outlets"] for a in o["articles"]}
    article = by_url["https://a.test/story"]
    assert (article["published_at"], article["published_precision"]) == (
        "2023-03-24T00:00:00+00:00",
        "day",
    )
    assert by_url["https://seed.test/a"]["published_precision"] == "time"
