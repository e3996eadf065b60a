"""Reach (issue 19): query sources and the story rebuilt from web archives, against the services
replayed on 127.0.0.1 (tests/archive_replay.py) with BASIL's real articles as the pages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from monitor import config as configmod
from monitor.app import App, open_app
from monitor.config.tables import read_sources
from monitor.poll.round import poll
from monitor.stories.wayback import backfill_archive
from storage import storyfile
from storage.models import Article, ArticleVersion
from tests.archive_replay import (
    BANNER,
    BASIL,
    T1,
    T2,
    Replay,
    events,
    flaky,
    gone,
    page,
    quoted,
    replay,
    rss,
)
from tests.httpserver import Handler, Reply, Site, send, serve
from tests.storyschema import checked

pytestmark = pytest.mark.skipif(not BASIL.is_file(), reason="../shared/data is not here")
SLUG = "event"


def _config(
    tmp: Path, served: Replay, sources: tuple[configmod.Source, ...], seed: dict, **reach: Any
) -> configmod.Config:
    seeds = tmp / "seeds"
    seeds.mkdir(exist_ok=True)
    (seeds / "seed.txt").write_text(
        f"title: {seed['title']}\noutlet: Seed\npublished_at: 2023-03-23\n\n{seed['text']}",
        encoding="utf-8",
    )
    settings = {
        "google_news_url": served.url("/rss/search"),
        "bing_news_url": served.url("/news/search"),
        "gdelt_url": served.url("/api/v2/doc/doc"),
        "wayback_url": served.site.base,
        "pause": 0.0,
        "retries": 2,
        **reach,
    }
    return configmod.Config(
        path="<test>",
        storage=configmod.StorageSettings(url=f"sqlite:///{tmp / 'm.sqlite'}"),
        fetch=configmod.FetchSettings(
            allow_private_networks=True, per_host_delay=0.0, obey_robots=False
        ),
        poll=configmod.PollSettings(extract_processes=0),
        reach=configmod.ReachSettings(**settings),
        sources=sources,
        stories=(configmod.Story(SLUG, "The event", seeds, ()),),
    )


@contextmanager
def _app(config: configmod.Config, now: datetime = T1) -> Iterator[App]:
    with open_app(config, now=now) as app:
        yield app


def _story(app: App) -> dict[str, Any]:
    with app.db.read() as session:
        built = storyfile.build(session, SLUG)
    assert built is not None
    return checked(built)  # the story file's schema, "archive" in each version's evidence


class Outlets:
    """Two outlets' feeds and pages: the event's articles and another event's."""

    def __init__(self, served: Replay) -> None:
        self.served = served
        event, other = events(2)
        self.seed = event["hpo"]
        self.pages = {
            "/nyt/a.html": (event["nyt"], T1 - timedelta(hours=1)),
            "/nyt/b.html": (other["nyt"], T1 - timedelta(hours=3)),
            "/fox/a.html": (event["fox"], T2 - timedelta(hours=2)),
            "/fox/b.html": (other["fox"], T1 - timedelta(hours=1)),
        }
        for path, (row, when) in self.pages.items():
            served.set(path, page(row["title"], row["text"], when))
        self.listed = {
            T1: {"/nyt/feed.xml": ["/nyt/a.html", "/nyt/b.html"], "/fox/feed.xml": ["/fox/b.html"]},
            T2: {
                "/nyt/feed.xml": ["/nyt/a.html", "/nyt/b.html"],
                "/fox/feed.xml": ["/fox/a.html", "/fox/b.html"],
            },
        }

    def sources(self) -> tuple[configmod.Source, ...]:
        return (
            configmod.Source(url=self.served.url("/nyt/feed.xml"), name="NYT"),
            configmod.Source(url=self.served.url("/fox/feed.xml"), name="Fox"),
        )

    def feed(self, when: datetime, path: str) -> str:
        items = [
            (self.pages[p][0]["title"], self.served.url(p), self.pages[p][1])
            for p in self.listed[when][path]
        ]
        return rss(items)

    def live(self, when: datetime) -> None:
        for path in self.listed[when]:
            self.served.set(path, self.feed(when, path), "application/rss+xml")

    def captured(self) -> None:
        """The feeds as the archive captured them at T1 and T2, gone from the outlets."""
        for when in (T1, T2):
            for path in self.listed[when]:
                self.served.capture(self.served.url(path), when, self.feed(when, path))
        for path in self.listed[T1]:
            gone(self.served, path)


def test_a_story_rebuilt_from_captured_feeds_equals_the_story_polled_live(tmp_path: Path) -> None:
    """Feeds captured at two times and backfilled over the window give the very story file two
    live polls at those times gave: same articles, decisions, versions, timeline."""
    with replay() as served:
        outlets = Outlets(served)
        live_dir, past_dir = tmp_path / "live", tmp_path / "past"
        live_dir.mkdir()
        past_dir.mkdir()
        with _app(_config(live_dir, served, outlets.sources(), outlets.seed)) as app:
            for when in (T1, T2):
                outlets.live(when)
                poll(app, now=when)
            live = _story(app)
        outlets.captured()
        with _app(_config(past_dir, served, outlets.sources(), outlets.seed)) as app:
            past = backfill_archive(
                app,
                app.stories[0],
                since=T1 - timedelta(days=1),
                until=T2,
                origin="wayback",
                versions=False,
            )
            rebuilt = _story(app)
    assert past.listings == 4 and past.stopped is None
    assert {a["relation"] for o in live["outlets"] for a in o["articles"]} >= {"original"}
    assert rebuilt == live, _diff(rebuilt, live)[:10]


def _diff(a: Any, b: Any, where: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        return [
            d for k in sorted(set(a) | set(b)) for d in _diff(a.get(k), b.get(k), f"{where}.{k}")
        ]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in _diff(x, y, f"{where}[{i}]")
        ]
    return [] if a == b else [f"{where}: {a!r} != {b!r}"]


CORRECTION = (
    "<p>Correction: An earlier version of this article misstated the day of the speech. "
    "It was Thursday, not Wednesday.</p>"
)


def _banner(html: str) -> str:
    """``html`` as a non-raw capture shows it: the archive's banner and scripts added."""
    insert = (
        "<script src='//archive.org/includes/athena.js'></script>"
        "<script>__wm.init('https://web.archive.org/web');</script>"
        "<!-- BEGIN WAYBACK TOOLBAR INSERT --><div id='wm-ipp'><p>"
        f"{BANNER} {BANNER} {BANNER} and more words of the toolbar for the extractor to see"
        "</p></div><!-- END WAYBACK TOOLBAR INSERT -->"
    )
    return html.replace("<body>", "<body>" + insert)


def _versions(app: App, url: str) -> list[ArticleVersion]:
    with app.db.read() as session:
        article = session.scalars(select(Article).where(Article.url == url)).one()
        return list(
            session.scalars(
                select(ArticleVersion)
                .where(ArticleVersion.article_id == article.id)
                .order_by(ArticleVersion.version)
            )
        )


def test_a_gone_page_is_read_from_its_capture_and_captures_become_versions(
    tmp_path: Path,
) -> None:
    """An article the outlet took down is read from its capture nearest publication; its later
    captures become versions at their capture times with their change kinds, a capture with
    the text of a stored version adds nothing, and the archive's banner reaches no version."""
    event = events(1)[0]
    row, published = event["nyt"], T1 - timedelta(hours=1)
    with replay() as served:
        url = served.url("/nyt/a.html")
        feed = served.url("/nyt/feed.xml")
        served.capture(feed, T1, rss([(row["title"], url, published)]))
        gone(served, "/nyt/a.html")
        first = page(row["title"], row["text"], published)
        served.capture(url, T1 + timedelta(hours=1), first)
        served.capture(url, T1 + timedelta(hours=5), _banner(first))  # same text, bannered
        corrected = page(row["title"], row["text"], published, extra=CORRECTION)
        served.capture(url, T1 + timedelta(hours=10), _banner(corrected))
        sources = (configmod.Source(url=feed, name="NYT"),)
        with _app(_config(tmp_path, served, sources, event["hpo"])) as app:
            past = backfill_archive(
                app, app.stories[0], since=T1 - timedelta(days=1), until=T2, origin="wayback"
            )
            versions = _versions(app, url)
            story = _story(app)
    assert past.from_captures == 1 and past.versions == 1, past
    assert [v.fetched_at for v in versions] == [T1 + timedelta(hours=1), T1 + timedelta(hours=10)]
    assert [v.evidence for v in versions] == ["wayback", "wayback"]
    assert versions[0].final_url == served.url(f"/web/20230324130000id_/{url}")
    assert "Correction" not in versions[0].text and "Correction" in versions[1].text
    assert "correction" in {k["kind"] for k in versions[1].kinds}
    assert all(BANNER.split()[0] not in v.text for v in versions)
    article = next(a for o in story["outlets"] for a in o["articles"] if a["url"] == url)
    assert [v["evidence"]["archive"] for v in article["versions"]] == ["wayback", "wayback"]


UPDATE = "<p>The speech was followed by a vote in the evening, officials said on Friday.</p>"


def test_an_article_edited_before_today_keeps_its_versions_in_the_order_they_were_seen(
    tmp_path: Path,
) -> None:
    """A live article captured as published and again after a correction, whose page today
    carries a later update too, gets three versions in time order: the two captures (evidence
    wayback, at their capture times), then today's page (the outlet's, at the command's clock);
    the timeline shows the correction at its capture time and the update today."""
    event = events(1)[0]
    row, published = event["nyt"], T1 - timedelta(hours=1)
    today = T2 + timedelta(days=600)
    with replay() as served:
        url, feed = served.url("/nyt/a.html"), served.url("/nyt/feed.xml")
        served.capture(feed, T1, rss([(row["title"], url, published)]))
        served.capture(url, T1 - timedelta(days=2), "<html><body>Not yet.</body></html>")
        served.capture(url, T1 + timedelta(hours=1), page(row["title"], row["text"], published))
        corrected = page(row["title"], row["text"], published, extra=CORRECTION)
        served.capture(url, T1 + timedelta(hours=10), corrected)
        served.set("/nyt/a.html", page(row["title"], row["text"], published, CORRECTION + UPDATE))
        sources = (configmod.Source(url=feed, name="NYT"),)
        window = {"since": T1 - timedelta(days=1), "until": T2, "origin": "wayback", "now": today}
        with _app(_config(tmp_path, served, sources, event["hpo"])) as app:
            past = backfill_archive(app, app.stories[0], **window)  # type: ignore[arg-type]
            again = backfill_archive(app, app.stories[0], **window)  # type: ignore[arg-type]
            versions = _versions(app, url)
            story = _story(app)
        asked = served.archive_requests()
    assert (past.from_captures, past.versions, past.live) == (1, 1, 1), past
    assert (again.versions, again.live) == (0, 0)
    assert [v.fetched_at for v in versions] == [
        T1 + timedelta(hours=1),
        T1 + timedelta(hours=10),
        today,
    ]
    assert [v.evidence for v in versions] == ["wayback", "wayback", None]
    assert "Correction" not in versions[0].text and "Correction" in versions[1].text
    assert "a vote in the evening" not in versions[1].text
    assert "a vote in the evening" in versions[2].text
    assert versions[2].final_url == url
    assert len(asked) == len(set(asked)), "a request asked twice"
    edits = [(e["at"], e["detail"]["kinds"]) for e in story["timeline"] if e["event"] == "update"]
    assert [at for at, _ in edits] == [(T1 + timedelta(hours=10)).isoformat(), today.isoformat()]
    assert "correction" in edits[0][1] and "update" in edits[1][1]


def test_an_interrupted_backfill_resumes_without_asking_anything_twice(tmp_path: Path) -> None:
    """A backfill stopped by its request budget is continued by the next run, which asks the
    archive nothing the first was answered and ends with every article."""
    with replay() as served:
        outlets = Outlets(served)
        outlets.captured()
        config = _config(tmp_path, served, outlets.sources(), outlets.seed, budget=3)
        window = {"since": T1 - timedelta(days=1), "until": T2, "origin": "wayback"}
        with _app(config) as app:
            first = backfill_archive(app, app.stories[0], **window)
        asked_first = served.archive_requests()
        with _app(config.replace(reach=replace(config.reach, budget=1000))) as app:
            second = backfill_archive(app, app.stories[0], **window)
            with app.db.read() as session:
                stored = session.scalars(select(Article.url)).all()
        asked = served.archive_requests()
    assert first.stopped is not None and "budget of 3" in first.stopped
    assert len(asked_first) == 3
    assert second.stopped is None
    assert len(asked) == len(set(asked)), "a request asked twice"
    assert {served.url(p) for p in outlets.pages} <= set(stored)


def test_the_archive_client_retries_429_503_and_truncated_json_then_remembers(
    tmp_path: Path,
) -> None:
    """429 with Retry-After waits what it asks, a 503 and a truncated CDX answer back off, the
    answer that finally comes is recorded, and asking again sends nothing."""
    from monitor.archive import cdx
    from monitor.archive.client import ArchiveClient

    event = events(1)[0]
    with replay() as served:
        url = served.url("/nyt/a.html")
        served.capture(url, T1, page("t", event["nyt"]["text"], T1))
        flaky(
            served,
            "/cdx/search/cdx",
            [
                Reply(429, b"slow down", {"Retry-After": "1"}),
                Reply(503, b"busy"),
                Reply(200, b'[["timestamp","original"],["2023032412', {}),
            ],
        )
        with _app(_config(tmp_path, served, (), event["hpo"], retries=3)) as app:
            waits: list[float] = []
            client = ArchiveClient(app, sleep=waits.append)
            listing = cdx.cdx_url(app.config.reach.wayback_url, url)
            answer = client.get(listing, check=cdx.parse_cdx)
            again = ArchiveClient(app, sleep=waits.append).get(listing, check=cdx.parse_cdx)
    assert waits == [1.0, 4.0, 8.0]
    assert answer is not None and [c.at for c in cdx.parse_cdx(answer.body)] == [T1]
    assert again == answer
    assert served.archive_requests().count(served.archive_requests()[0]) == 4


def test_a_capture_that_is_an_error_page_is_passed_over_and_a_redirect_is_followed(
    tmp_path: Path,
) -> None:
    """A gone page's nearest capture holds the archive's error page, not the article: the next
    nearest, a capture that redirects to another capture, is followed and read."""
    event = events(1)[0]
    row, published = event["nyt"], T1 - timedelta(hours=1)
    with replay() as served:
        url, feed = served.url("/nyt/a.html"), served.url("/nyt/feed.xml")
        served.capture(feed, T1, rss([(row["title"], url, published)]))
        gone(served, "/nyt/a.html")
        served.capture(
            url,
            published,
            "<html><body><h1>Hrm.</h1><p>Wayback Machine has not "
            "archived that URL.</p></body></html>",
        )
        target = served.capture(
            url, T1 + timedelta(days=3), page(row["title"], row["text"], published)
        )
        moved = served.capture(url, T1 + timedelta(hours=2), "")
        served.site.routes[moved] = Reply(302, b"", {"Location": target})
        sources = (configmod.Source(url=feed, name="NYT"),)
        with _app(_config(tmp_path, served, sources, event["hpo"])) as app:
            past = backfill_archive(
                app,
                app.stories[0],
                since=T1 - timedelta(days=1),
                until=T2,
                origin="wayback",
                versions=False,
            )
            versions = _versions(app, url)
    assert past.from_captures == 1
    assert versions[0].final_url == served.url(target)
    assert row["text"].split("\n")[0][:60] in versions[0].text


def _serve(site: Site, path: str, text: str) -> None:
    site.routes[path] = Reply(200, text.encode("utf-8"), {"Content-Type": "application/xml"})


def test_query_sources_find_articles_and_name_them_after_their_outlets(tmp_path: Path) -> None:
    """Google News items are followed through their redirect to the outlet's URL (once: a later
    poll asks nothing for an item seen before), Bing's links give the URL in their parameter,
    GDELT's list is read as JSON; each article is named after its outlet, never the service."""
    event = events(1)[0]
    # The services on a server of their own: a redirect leaves the service for the outlet.
    with replay() as served, serve() as service:
        paths = {"nyt": "/nyt/a.html", "fox": "/fox/a.html", "hpo": "/hpo/a.html"}
        for key, path in paths.items():
            served.set(path, page(event[key]["title"], event[key]["text"], T1))
        redirect = "/rss/articles/CBMiQ2h0dHBz"
        service.routes[redirect] = Reply(302, b"", {"Location": served.url(paths["nyt"])})
        google = [(event["nyt"]["title"], service.url(redirect), T1)]
        _serve(
            service,
            "/rss/search",
            rss(google, source={service.url(redirect): "The New York Times"}),
        )
        click = service.url(
            "/news/apiclick.aspx?ref=FexRss&url=" + quoted(served.url(paths["fox"]))
        )
        bing = rss([(event["fox"]["title"], click, T1)]).replace(
            "</guid>",
            "</guid><News:Source xmlns:News='https://www.bing.com/news'>Fox News</News:Source>",
        )
        _serve(service, "/news/search", bing)
        gdelt = {
            "articles": [
                {
                    "url": served.url(paths["hpo"]),
                    "title": event["hpo"]["title"],
                    "seendate": "20230324T110000Z",
                    "domain": "huffpost.com",
                }
            ]
        }
        _serve(service, "/api/v2/doc/doc", json.dumps(gdelt))
        config = _config(tmp_path, served, (), event["hpo"])
        config = config.replace(
            reach=replace(
                config.reach,
                google_news_url=service.url("/rss/search"),
                bing_news_url=service.url("/news/search"),
                gdelt_url=service.url("/api/v2/doc/doc"),
            )
        )
        sources = read_sources(
            [
                {"kind": k, "query": '"Michael Steele"'}
                for k in ("google_news", "bing_news", "gdelt")
            ],
            "<test>",
            config.reach,
        )
        config = config.replace(sources=sources)
        with _app(config) as app:
            poll(app, now=T1)
            google.append(("Another", service.url("/rss/articles/other"), T1))
            _serve(service, "/rss/search", rss(google))
            poll(app, now=T2)
            with app.db.read() as session:
                outlets = dict(session.execute(select(Article.url, Article.outlet)).all())
    assert outlets[served.url(paths["nyt"])] == "The New York Times"
    assert outlets[served.url(paths["fox"])] == "Fox News"
    assert outlets[served.url(paths["hpo"])] == "huffpost.com"
    assert service.paths.count(redirect) == 1


def test_a_gdelt_backfill_ingests_each_article_at_the_time_gdelt_saw_it(tmp_path: Path) -> None:
    """``--from gdelt`` asks GDELT's article list a day at a time over the window and stores
    each article first seen when GDELT saw it, named after its domain's outlet."""
    event = events(1)[0]
    seen = "20230324T110000Z"
    with replay() as served:
        served.set("/nyt/a.html", page(event["nyt"]["title"], event["nyt"]["text"], T1))
        listed = {
            "articles": [
                {"url": served.url("/nyt/a.html"), "title": "x", "seendate": seen, "domain": "nyt"}
            ]
        }

        @served.site.route("/api/v2/doc/doc")
        def _(h: Handler) -> None:
            query = parse_qs(urlsplit(h.path).query)
            start, end = query["startdatetime"][0], query["enddatetime"][0]
            inside = start <= seen.replace("T", "").rstrip("Z") <= end
            send(h, Reply(200, json.dumps(listed if inside else {}).encode()))

        config = _config(tmp_path, served, (), event["hpo"])
        sources = read_sources([{"kind": "gdelt", "query": "Steele"}], "<test>", config.reach)
        with _app(config.replace(sources=sources)) as app:
            past = backfill_archive(
                app,
                app.stories[0],
                since=T1 - timedelta(days=2),
                until=T2,
                origin="gdelt",
                versions=False,
            )
            with app.db.read() as session:
                url = served.url("/nyt/a.html")
                article = session.scalars(select(Article).where(Article.url == url)).one()
    assert past.listings == 3 and past.report.articles_new == 1  # three days
    assert article.first_seen_at == T1 - timedelta(hours=1)
    assert article.outlet == "nyt"


@pytest.mark.slow
def test_the_monitor_command_adds_query_sources_and_rebuilds_a_story(tmp_path: Path) -> None:
    """Through ``monitor``: ``story sources --add-queries`` appends the story's query sources to
    the file, and ``story backfill --since DAY --until DAY --from wayback`` rebuilds the story
    from captured feeds; the story file then lists the articles, read from the archive."""
    from tests.test_cli import monitor

    with replay() as served:
        outlets = Outlets(served)
        outlets.captured()
        seeds = tmp_path / "seeds"
        seeds.mkdir()
        (seeds / "seed.txt").write_text(
            f"title: {outlets.seed['title']}\noutlet: Seed\npublished_at: 2023-03-23\n\n"
            + outlets.seed["text"],
            encoding="utf-8",
        )
        lines = [
            "[storage]",
            f'url = "sqlite:///{tmp_path / "m.sqlite"}"',
            "[fetch]",
            "allow_private_networks = true",
            "per_host_delay = 0",
            "obey_robots = false",
            "[poll]",
            "extract_processes = 0",
            "[reach]",
            f'wayback_url = "{served.site.base}"',
            "pause = 0",
            "",
        ]
        for source in outlets.sources():
            lines += ["[[source]]", f'name = "{source.name}"', f'url = "{source.url}"', ""]
        lines += ["[[story]]", f'slug = "{SLUG}"', 'seeds = "seeds"', 'keywords = ["Steele"]']
        path = tmp_path / "monitor.toml"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        added = monitor(
            "--config", str(path), "story", "sources", SLUG, "--add-queries", cwd=tmp_path
        )
        assert added.returncode == 0, added.stderr
        assert added.stdout.count("added: ") == 6
        assert 'kind = "google_news"' in path.read_text(encoding="utf-8")
        rebuilt = monitor(
            "--config",
            str(path),
            "story",
            "backfill",
            SLUG,
            "--since",
            "2023-03-23",
            "--until",
            "2023-03-25",
            "--from",
            "wayback",
            "--json",
            cwd=tmp_path,
        )
        assert rebuilt.returncode == 0, rebuilt.stderr
        counts = json.loads(rebuilt.stdout)
        exported = monitor(
            "--config", str(path), "story", "export", SLUG, "--format", "json", cwd=tmp_path
        )
    assert counts["listings"] == 4 and counts["articles"] == 4 and counts["stopped"] is None
    story = json.loads(exported.stdout)
    urls = {a["url"] for o in story["outlets"] for a in o["articles"]}
    assert served.url("/nyt/a.html") in urls
    wrong = monitor(
        "--config", str(path), "story", "backfill", SLUG, "--from", "wayback", cwd=tmp_path
    )
    assert wrong.returncode == 2 and "--since" in wrong.stderr


def test_cdx_answers_are_read_as_json_or_text_and_a_truncated_one_is_an_error() -> None:
    """The CDX API's JSON (header row first) and text (space-separated) answers give the same
    captures, oldest first; truncated JSON is a ParseError, never "no captures"."""
    from monitor.archive import cdx
    from monitor.errors import ParseError

    rows = [
        ["20230325120000", "http://a.test/f", "200", "B", "text/xml"],
        ["20230324120000", "http://a.test/f", "200", "A", "text/xml"],
    ]
    header = ["timestamp", "original", "statuscode", "digest", "mimetype"]
    as_json = cdx.parse_cdx(json.dumps([header, *rows]).encode())
    as_text = cdx.parse_cdx("\n".join(" ".join(r) for r in rows).encode())
    assert as_json == as_text and [c.at for c in as_json] == [T1, T2]
    assert cdx.parse_cdx(b"[]") == []
    with pytest.raises(ParseError):
        cdx.parse_cdx(b'[["timestamp","original"],["2023')
    assert cdx.nearest(as_json, T2 - timedelta(hours=1))[0].at == T2
    assert cdx.capture_url("http://w.test/", as_json[0]) == (
        "http://w.test/web/20230324120000id_/http://a.test/f"
    )


def test_news_services_answers_name_their_outlets() -> None:
    """Bing's link gives the outlet's URL in its url parameter, Google's and Bing's items name
    their outlet, GDELT's list gives URL, title, time seen and domain; a truncated list is an
    error."""
    from monitor.archive import news
    from monitor.errors import ParseError

    link = "http://www.bing.com/news/apiclick.aspx?ref=FexRss&url=https%3a%2f%2fcbc.ca%2fa"
    assert news.bing_target(link) == "https://cbc.ca/a"
    feed = rss([("t", "http://g.test/x", T1)], source={"http://g.test/x": "CBC News"})
    assert news.item_outlets(feed.encode()) == {"http://g.test/x": "CBC News"}
    body = json.dumps(
        {
            "articles": [
                {
                    "url": "https://cbc.ca/a",
                    "title": "T",
                    "seendate": "20230324T120000Z",
                    "domain": "cbc.ca",
                }
            ]
        }
    )
    (entry,) = news.gdelt_articles(body.encode())
    assert (entry.url, entry.published_at, entry.outlet) == ("https://cbc.ca/a", T1, "cbc.ca")
    with pytest.raises(ParseError):
        news.gdelt_articles(b'{"articles": [{"url": "https://cb')


@pytest.mark.parametrize(
    ("table", "wrong"),
    [
        ({"kind": "google_news"}, "[[source]] #1: query: required for a google_news source"),
        ({"kind": "gdelt", "query": "x", "url": "https://a.test/"}, "url: a gdelt source's URL"),
        ({"url": "https://a.test/feed", "query": "x"}, "query: only a query source"),
        ({"kind": "yahoo", "query": "x"}, "[[source]] #1: kind:"),
        ({"kind": "bing_news", "query": "x", "language": "de"}, "language:"),
    ],
)
def test_a_query_source_mistake_is_one_line_naming_the_key(table: dict, wrong: str) -> None:
    """A query source without its query, with a URL, a feed with a query, an unknown kind or
    language: a ConfigError naming the table and the key."""
    with pytest.raises(configmod.ConfigError, match=None) as caught:
        configmod.from_mapping({"source": [table]}, where="m.toml", env={})
    assert wrong in str(caught.value) and "\n" not in str(caught.value)
