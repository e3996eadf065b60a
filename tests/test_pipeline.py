"""The whole pipeline over HTTP on 127.0.0.1, against the demo replay and its ground truth."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from monitor.app import open_app
from monitor.poll.round import RoundReport, poll
from storage import sources, storyfile
from tests.conftest import at, with_db
from tests.storyschema import checked


def _run_rounds(app, replay, manifest, upto: int | None = None) -> list[RoundReport]:
    reports = []
    for spec in manifest["round"][:upto]:
        replay.set_round(spec["name"])
        reports.append(poll(app, now=at(spec["now"])))
    return reports


def _articles(story: dict) -> dict[str, dict]:
    return {a["url"]: a for o in story["outlets"] for a in o["articles"]}


def assert_ground_truth(story: dict | None, replay, manifest) -> None:
    """Every article of the replay has its expected relation, copy_of, version count, removal
    and a reason; off-topic ones are listed apart."""
    assert story is not None
    articles = _articles(story)
    off_topic = {a["url"] for a in story["off_topic"]}
    for expect in manifest["expect"]:
        url = replay.url(expect["path"])
        if expect["relation"] == "off_topic":
            assert url in off_topic, expect["path"]
            assert url not in articles
            continue
        article = articles[url]
        assert article["relation"] == expect["relation"], expect["path"]
        expected_copy_of = replay.url(expect["copy_of"]) if expect["copy_of"] else None
        assert article["copy_of"] == expected_copy_of, expect["path"]
        assert len(article["versions"]) == expect["versions"], expect["path"]
        assert (article["status"] == "removed") == bool(expect["removed_in"]), expect["path"]
        assert article["match"]["reason"], "every decision carries its reason"
    seeds = [a for a in articles.values() if a["relation"] == "seed"]
    assert len(seeds) == 1


def test_story_file_matches_the_replay_ground_truth(demo_config, replay, manifest, db_url):
    """Over three rounds every article gets its expected relation, copy_of, version count and
    removal, on SQLite and PostgreSQL alike."""
    config = with_db(demo_config, db_url)
    with open_app(config, now=at(manifest["round"][0]["now"])) as app:
        _run_rounds(app, replay, manifest)
        with app.db.read() as session:
            story = checked(storyfile.build(session, manifest["slug"]))
    assert_ground_truth(story, replay, manifest)


def test_an_edit_becomes_a_second_version_with_its_changes(demo_config, replay, manifest):
    """Round 2 edits one article: a second version with the new title, the old title in its
    changes, an ``update`` event on the timeline, and a bumped story version."""
    edited = next(e for e in manifest["expect"] if e["versions"] == 2)
    with open_app(demo_config, now=at(manifest["round"][0]["now"])) as app:
        _run_rounds(app, replay, manifest, upto=1)
        with app.db.read() as session:
            before = checked(storyfile.build(session, manifest["slug"]))
        report = _run_rounds(app, replay, manifest, upto=2)[-1]
        with app.db.read() as session:
            after = checked(storyfile.build(session, manifest["slug"]))
    assert report.updates == 1
    article = _articles(after)[replay.url(edited["path"])]
    v1, v2 = article["versions"]
    assert (v1["version"], v2["version"]) == (1, 2)
    assert v1["content_sha256"] != v2["content_sha256"]
    assert v2["changes"]["title_changed"] is True
    assert v2["changes"]["previous_title"] == v1["title"]
    assert v2["changes"]["words_added"] > 0
    assert after["version"] > before["version"]
    updates = [e for e in after["timeline"] if e["event"] == "update"]
    assert [e["url"] for e in updates] == [replay.url(edited["path"])]


def test_timeline_is_time_ordered_with_every_event_kind(demo_config, replay, manifest):
    """The timeline holds first reports, copies, the update and the removal, ordered by time,
    each with an offset-carrying timestamp; the seed, dated by its day only, comes after that
    day's timed reports instead of reading as the first report at 00:00."""
    with open_app(demo_config, now=at(manifest["round"][0]["now"])) as app:
        _run_rounds(app, replay, manifest)
        with app.db.read() as session:
            story = checked(storyfile.build(session, manifest["slug"]))
    assert story is not None
    times = [datetime.fromisoformat(e["at"]) for e in story["timeline"]]
    assert all(t.tzinfo is not None for t in times)
    days = [e["at_precision"] == "day" for e in story["timeline"]]
    keys = [(t.date(), day, t) for t, day in zip(times, days, strict=True)]
    assert keys == sorted(keys)
    (seed,) = [e for e in story["timeline"] if e["at_precision"] == "day"]
    assert seed["url"].startswith("seed:") and seed["at"] == "2023-03-23T00:00:00+00:00"
    same_day = [e for e in story["timeline"] if e["at"].startswith("2023-03-23")]
    assert same_day[-1] is seed and len(same_day) > 1
    assert story["timeline"][0]["event"] == "first_report"
    assert not story["timeline"][0]["url"].startswith("seed:")
    kinds = {e["event"] for e in story["timeline"]}
    assert kinds == {"first_report", "copy", "update", "removed"}
    versions = [e["story_version"] for e in story["timeline"]]
    assert len(set(versions)) == len(versions), "each event is one story version"
    assert story["version"] == max(versions)


def test_a_second_poll_at_the_same_time_changes_nothing(demo_config, replay, manifest):
    """Polling again with nothing due adds no article, version or event."""
    with open_app(demo_config, now=at(manifest["round"][0]["now"])) as app:
        _run_rounds(app, replay, manifest, upto=1)
        with app.db.read() as session:
            before = checked(storyfile.build(session, manifest["slug"]))
        again = poll(app, now=at(manifest["round"][0]["now"]))
        with app.db.read() as session:
            after = checked(storyfile.build(session, manifest["slug"]))
    assert again.sources_polled == 0
    assert before == after


def test_poll_all_refetches_with_conditional_get(demo_config, replay, manifest):
    """``everything=True`` polls every source again; unchanged feeds answer 304 to the ETag we
    kept and nothing new is stored."""
    now = at(manifest["round"][0]["now"])
    with open_app(demo_config, now=now) as app:
        _run_rounds(app, replay, manifest, upto=1)
        first = len(replay.requests)
        report = poll(app, now=now + timedelta(minutes=1), everything=True)
    assert report.sources_polled == len(manifest["outlet"])
    assert report.sources_unchanged == len(manifest["outlet"])
    assert report.articles_new == 0
    assert len(replay.requests) > first


@pytest.mark.slow
@pytest.mark.parametrize("batch_size", [200, 2])
def test_poll_all_reads_each_new_page_once(demo_config, replay, manifest, batch_size):
    """A first ``everything=True`` round fetches each article page it stores once: an article
    stored in a round is not due again in it (no re-check), so the server sees one request
    per page; the next ``everything=True`` round re-checks every one of them, with conditional
    GETs, however many batches that takes."""
    now = at(manifest["round"][0]["now"])
    replay.set_round(manifest["round"][0]["name"])
    config = demo_config.replace(poll=dataclasses.replace(demo_config.poll, batch_size=batch_size))
    with open_app(config, now=now) as app:
        first = poll(app, now=now, everything=True)
        pages = [p for p in replay.requests if not p.endswith((".xml", "robots.txt"))]
        again = poll(app, now=now + timedelta(minutes=1), everything=True)
    assert first.articles_new > 0 and len(pages) == first.articles_new
    assert len(set(pages)) == len(pages), "a page fetched twice in one round"
    assert first.rechecked == 0
    assert again.rechecked == first.articles_new


def test_a_broken_source_is_recorded_and_the_rest_goes_on(demo_config, replay, manifest):
    """A source whose feed 404s gets an error and a backed-off next check; the other sources'
    articles are still stored."""
    from monitor import config as configmod

    broken = configmod.Source(
        url=replay.url("/no-such-outlet/feed.xml"), name="Broken", interval=1800.0
    )
    config = demo_config.replace(sources=(*demo_config.sources, broken))
    now = at(manifest["round"][0]["now"])
    with open_app(config, now=now) as app:
        report = _run_rounds(app, replay, manifest, upto=1)[0]
        with app.db.read() as session:
            rows = {s.name: s for s in sources.all_sources(session)}
    assert report.sources_failed == 1
    assert report.originals >= 2
    bad = rows["Broken"]
    assert bad.error_kind == "http_4xx" and bad.last_status == 404
    assert bad.error_count == 1 and bad.failing_since == now
    assert bad.next_check_at >= now + timedelta(seconds=1800)


@pytest.mark.parametrize("hours", [0.5, 2])
def test_recheck_schedule_is_due_only_when_its_time_comes(demo_config, replay, manifest, hours):
    """An article stored at T is re-checked at T+1h, not before."""
    now = at(manifest["round"][0]["now"])
    with open_app(demo_config, now=now) as app:
        _run_rounds(app, replay, manifest, upto=1)
        later = now + timedelta(hours=hours)
        report = poll(app, now=later)
    assert (report.rechecked > 0) == (hours >= 1)


def test_times_are_stored_in_utc(demo_config, replay, manifest):
    """A round whose clock is given in another zone stores the same instants in UTC."""
    spec = manifest["round"][0]
    local = at(spec["now"]).astimezone(datetime.now(UTC).astimezone().tzinfo)
    with open_app(demo_config, now=local) as app:
        replay.set_round(spec["name"])
        poll(app, now=local)
        with app.db.read() as session:
            story = checked(storyfile.build(session, manifest["slug"]))
    assert story is not None
    first_seen = {a["first_seen_at"] for o in story["outlets"] for a in o["articles"]}
    assert first_seen == {at(spec["now"]).isoformat()}


def test_one_page_reached_by_two_urls_is_one_article(tmp_path):
    """A page linked with tracking parameters by one feed and through its AMP address by another
    is stored once: the second link resolves to the first by canonical URL."""
    import httpx

    from monitor import config as configmod

    body = " ".join(["Roxham Road asylum seekers crossing deal Ottawa Washington."] * 30)
    page = (
        '<html lang="en"><head><title>Deal</title>'
        '<link rel="canonical" href="https://a.test/story"></head>'
        f"<body><article><h1>Deal</h1><p>{body}</p><p>{body}</p></article></body></html>"
    )

    def rss(link: str) -> str:
        return (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
            f"<item><title>Deal</title><link>{link}</link><guid>{link}</guid></item>"
            "</channel></rss>"
        )

    routes = {
        "https://a.test/feed": rss("https://a.test/story?utm_source=rss&utm_medium=feed"),
        "https://b.test/feed": rss("https://b.test/amp/story"),
        "https://a.test/story": page,
        "https://b.test/amp/story": page,
    }
    requested = []

    def handler(request: httpx.Request) -> httpx.Response:
        requested.append(str(request.url))
        key = str(request.url.copy_with(query=None))
        if key not in routes:  # robots.txt and anything else unknown
            return httpx.Response(404, text="not here")
        return httpx.Response(200, text=routes[key], headers={"content-type": "text/html"})

    config = configmod.Config(
        path="<test>",
        storage=configmod.StorageSettings(url=f"sqlite:///{tmp_path / 'm.sqlite'}"),
        fetch=configmod.FetchSettings(allow_private_networks=True, per_host_delay=0.0),
        poll=configmod.PollSettings(extract_processes=0),
        sources=(
            configmod.Source("https://a.test/feed", "A", 1800.0),
            configmod.Source("https://b.test/feed", "B", 1800.0),
        ),
    )
    now = at("2023-03-24T12:00:00+00:00")
    with open_app(config, now=now, transport=httpx.MockTransport(handler)) as app:
        report = poll(app, now=now)
        with app.db.read() as session:
            from sqlalchemy import func, select

            from storage.models import Article

            count = session.scalar(select(func.count()).select_from(Article))
    assert report.entries_new == 2
    assert count == 1
    assert "https://a.test/story" in requested  # tracking parameters were dropped
