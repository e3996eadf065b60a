"""The story's own versions (storage.history, storyfile.build_as_of, publish.storydiff): every
change is an event that says what it changed, and the story file rebuilt at any earlier version
or time is exactly the file exported then. Over the demo replay on 127.0.0.1, through
``poll(app, now=...)`` rounds, re-decisions and a re-pointed copy group, on SQLite and
PostgreSQL."""

from __future__ import annotations

import dataclasses
import email
import itertools
import json
import re
from datetime import timedelta
from email.policy import default
from pathlib import Path

import pytest

from monitor import config as configmod
from monitor.app import open_app
from monitor.poll.indexes import Indexes
from monitor.poll.round import poll
from monitor.publish import digest, render, storydiff
from monitor.stories.redecide import redecide
from storage import history, members, stories, storyfile
from storage.db import open_database
from storage.models import Article, ArticleVersion
from storage.outlets import summarise
from tests.conftest import at, with_db
from tests.test_copy_index import NOW, _config, _ingest, _new_article, _page
from tests.test_pipeline import _articles
from tests.test_storage import T0, _article, _story, _version


def _with_threshold(config: configmod.Config, threshold: float | None) -> configmod.Config:
    stories = tuple(dataclasses.replace(s, story_threshold=threshold) for s in config.stories)
    return dataclasses.replace(config, stories=stories)


def _export(app, slug: str) -> dict:
    with app.db.read() as session:
        story = storyfile.build(session, slug)
    assert story is not None
    return story


def _as_of(app, slug: str, when) -> dict:
    with app.db.read() as session:
        story = storyfile.build_as_of(session, slug, when)
    assert story is not None
    return story


def _rounds(app, replay, manifest) -> list[tuple]:
    """Each round polled at its time; the round's time and the story file exported after it."""
    exported = []
    for spec in manifest["round"]:
        replay.set_round(spec["name"])
        poll(app, now=at(spec["now"]))
        exported.append((at(spec["now"]), _export(app, manifest["slug"])))
    return exported


def test_the_file_as_of_each_round_is_the_file_exported_then(demo_config, replay, manifest, db_url):
    """After three rounds (new articles, copies, an edit, a removal), the file rebuilt at each
    round's story version, at the round's time and an hour later is exactly the file exported
    at the end of that round; at the current version it is today's file."""
    slug = manifest["slug"]
    with open_app(with_db(demo_config, db_url), now=at(manifest["round"][0]["now"])) as app:
        exported = _rounds(app, replay, manifest)
        for when, story in exported:
            assert _as_of(app, slug, story["version"]) == story
            assert _as_of(app, slug, when) == story
            assert _as_of(app, slug, when + timedelta(hours=1)) == story
        assert len({s["version"] for _, s in exported}) == 3
        assert _as_of(app, slug, exported[-1][1]["version"]) == _export(app, slug)


def test_each_event_records_the_decision_it_made(demo_config, replay, manifest):
    """First reports and copies carry their decision in ``detail`` (relation, kind,
    similarity, the original's URL and outlet); the rebuild state stays out of the file; a
    copy names its original's outlet, and each outlet lists the copies it carried with their
    lag behind the original."""
    with open_app(demo_config, now=at(manifest["round"][0]["now"])) as app:
        _rounds(app, replay, manifest)
        story = _export(app, manifest["slug"])
    articles = _articles(story)
    for e in story["timeline"]:
        assert "state" not in e["detail"]
        if e["event"] in ("first_report", "copy"):
            article = articles[e["url"]]
            assert e["detail"]["relation"] == article["relation"]
            assert e["detail"]["copy_of"] == article["copy_of"]
            assert e["detail"]["similarity"] == article["similarity"]
            assert e["detail"]["kind"] == article["match"]["kind"]
    copies = [a for a in articles.values() if a["relation"] == "copy"]
    assert len(copies) == 2
    for copy in copies:
        original = articles[copy["copy_of"]]
        outlet_of_original = next(o["name"] for o in story["outlets"] if original in o["articles"])
        assert copy["copy_of_outlet"] == outlet_of_original
    digest_network = next(o for o in story["outlets"] if o["name"] == "Daily Digest Network")
    assert digest_network["counts"] == {"articles": 2, "seeds": 0, "originals": 0, "copies": 2}
    lags = {c["copy_of_outlet"]: c["lag_seconds"] for c in digest_network["copies"]}
    # D1 (24 Mar 08:00) copies A1 (23 Mar 15:10); D2 (25 Mar 09:00) copies N1 (23 Mar 16:30).
    assert lags == {"Capital Wire": 16 * 3600 + 50 * 60, "Northern Ledger": 40 * 3600 + 30 * 60}
    assert {c["url"] for c in digest_network["copies"]} == {c["url"] for c in copies}
    capital = next(o for o in story["outlets"] if o["name"] == "Capital Wire")
    assert capital["first_report"] == {
        "at": "2023-03-23T15:10:00+00:00",
        "at_precision": "time",
        "url": capital["articles"][0]["url"],
    }
    seed_outlet = next(o for o in story["outlets"] if o["counts"]["seeds"])
    assert seed_outlet["first_report"]["at_precision"] == "day"


def test_version_zero_is_the_empty_story_and_points_it_never_had_are_refused(
    demo_config, replay, manifest
):
    """Version 0 is the story before any change (no article, no event); a version past the
    current one, a negative one, or a time before the story existed raise NoSuchPoint with a
    sentence naming the story and what it has."""
    slug = manifest["slug"]
    with open_app(demo_config, now=at(manifest["round"][0]["now"])) as app:
        _rounds(app, replay, manifest)
        empty = _as_of(app, slug, 0)
        current = _export(app, slug)["version"]
        with app.db.read() as session:
            for bad, message in (
                (current + 1, f"has versions 0 to {current}, not {current + 1}"),
                (-1, f"has versions 0 to {current}, not -1"),
                (at("2020-01-01T00:00:00+00:00"), "was created at 2023-03-23T18:00:00+00:00"),
            ):
                with pytest.raises(history.NoSuchPoint, match=re.escape(message)):
                    storyfile.build_as_of(session, slug, bad)
            assert storyfile.build_as_of(session, "no-such-story", 1) is None
    assert empty["version"] == 0 and empty["outlets"] == [] and empty["timeline"] == []
    assert empty["updated_at"] == manifest["round"][0]["now"]


def test_a_diff_names_each_change_between_consecutive_and_distant_versions(
    demo_config, replay, manifest, db_url
):
    """Between consecutive versions the diff is the one event that made the later one, said
    with its outlet and title; from version 0 to the last it names every article, whose
    reporting each copy carries, the edit with its version and words, and the removal."""
    slug = manifest["slug"]
    with open_app(with_db(demo_config, db_url), now=at(manifest["round"][0]["now"])) as app:
        _rounds(app, replay, manifest)
        last = _export(app, slug)
        files = [_as_of(app, slug, v) for v in range(last["version"] + 1)]
    for before, after in itertools.pairwise(files):
        (change,) = storydiff.changes(before, after)
        event = next(e for e in after["timeline"] if e["story_version"] == after["version"])
        assert change.story_version == after["version"] and change.event == event["event"]
        assert event["outlet"] in change.says and (event["title"] or event["url"]) in change.says
    found = storydiff.changes(files[0], last)
    assert [c.story_version for c in found] == list(range(1, last["version"] + 1))
    text = storydiff.text(files[0], last, found)
    articles = _articles(last)
    for url, article in articles.items():
        assert url in text and article["title"] in text
    for copy in (a for a in articles.values() if a["relation"] == "copy"):
        original = articles[copy["copy_of"]]
        assert f"carried a copy of {copy['copy_of_outlet']}'s “{original['title']}”" in text
    (edited,) = [a for a in articles.values() if len(a["versions"]) == 2]
    changes = edited["versions"][1]["changes"]
    assert f"edited “{edited['title']}”: version 2" in text
    assert f"{changes['words_added']} words added, {changes['words_removed']} removed" in text
    (removed,) = [a for a in articles.values() if a["status"] == "removed"]
    assert f"took down “{removed['title']}” (HTTP 410)" in text
    assert "New articles (9)" in text and "New versions (1)" in text and "Taken down (1)" in text
    assert "seed article" in text and "2023-03-23  seed article" in text
    data = storydiff.as_json(files[0], last, found)
    assert data["from"]["version"] == 0 and data["to"]["version"] == last["version"]
    assert len(data["changes"]) == last["version"]
    assert storydiff.changes(last, last) == []


def test_a_repointed_copy_group_is_rebuilt_before_and_after_the_repoint(db_url, tmp_path):
    """A reprint (12:00) and a later reprint (14:00, its copy) are in the story; the wire's own
    story, published at 09:00, arrives and leads the group: the file at the version before
    shows the reprint as the original and nothing of ``copy_of_earlier``; after, the wire is the
    original, both reprints point at it, each move a ``repointed`` event the diff names."""
    config = _config(db_url, tmp_path)
    slug = config.stories[0].slug
    with open_app(config, now=NOW) as app:
        indexes = Indexes(app)
        reprint = _new_article(app, "https://reprint.example/deal", NOW)
        later = _new_article(app, "https://later.example/deal", NOW + timedelta(hours=2))
        wire = _new_article(app, "https://wire.example/deal", NOW - timedelta(hours=3))
        _ingest(app, reprint, _page(), indexes)
        _ingest(app, later, _page(), indexes)
        before = _export(app, slug)
        _ingest(app, wire, _page(), indexes)
        after = _export(app, slug)
        assert _as_of(app, slug, before["version"]) == before
        assert _as_of(app, slug, after["version"]) == after
        middle = _as_of(app, slug, before["version"] + 1)
        (sent,) = digest.run(app, now=NOW).delivered
    urls = ("https://reprint.example/deal", "https://later.example/deal")
    was = _articles(before)
    assert was[urls[0]]["relation"] == "original" and "copy_of_earlier" not in was[urls[0]]["match"]
    assert was[urls[1]]["copy_of"] == urls[0]
    now = _articles(after)
    assert now["https://wire.example/deal"]["relation"] == "original"
    assert {now[u]["copy_of"] for u in urls} == {"https://wire.example/deal"}
    assert now[urls[0]]["match"]["copy_of_earlier"] == "https://wire.example/deal"
    # The version the wire's own event made: it is in, the group not yet moved.
    assert _articles(middle)["https://wire.example/deal"]["relation"] == "original"
    assert after["version"] == before["version"] + 3
    repointed = [e for e in after["timeline"] if e["event"] == "repointed"]
    assert [e["url"] for e in repointed] == list(urls)
    assert repointed[0]["detail"]["previous_relation"] == "original"
    assert repointed[1]["detail"]["previous_copy_of"] == urls[0]
    text = storydiff.text(before, after, storydiff.changes(before, after))
    assert "Re-pointed (2)" in text and "no longer an original" in text
    assert "now points at wire.example's" in text and "(was reprint.example's" in text
    message = email.message_from_bytes(Path(sent.delivered_to).read_bytes(), policy=default)
    plain = " ".join(message.get_body(("plain",)).get_content().split())  # wrapped at 72
    moved = plain[plain.index("TAKEN DOWN, REDIRECTED OR TAKEN OUT") :]
    assert "re-pointed: found to copy an article published earlier: no longer an original" in moved
    assert "now a copy of https://wire.example/deal (wire.example)" in moved


def test_re_decisions_are_rebuilt_with_what_joined_and_what_left(
    demo_config, replay, manifest, db_url
):
    """Polled at a threshold too high for most reporting, then re-decided at the default (the
    off-topic articles join), then at a higher one (some leave): the file at each of the three
    points is the one exported then, off-topic list included, each with its reason then."""
    slug = manifest["slug"]
    config = with_db(demo_config, db_url)
    first = at(manifest["round"][-1]["now"]) + timedelta(hours=1)
    with open_app(_with_threshold(config, 0.95), now=at(manifest["round"][0]["now"])) as app:
        _rounds(app, replay, manifest)
        polled = _export(app, slug)
    exported = [polled]
    for n, threshold in enumerate((None, 0.6)):
        with open_app(_with_threshold(config, threshold), now=first) as app:
            (story,) = app.stories
            assert redecide(app, story, now=first + timedelta(hours=n))
            exported.append(_export(app, slug))
    with open_app(config, now=first) as app:
        for story in exported:
            assert _as_of(app, slug, story["version"]) == story
    joined, dropped = exported[1], exported[2]
    assert len(polled["off_topic"]) > len(joined["off_topic"])
    assert any(e["detail"].get("previously") == "off_topic" for e in joined["timeline"])
    left = [e for e in dropped["timeline"] if e["event"] == "dropped"]
    assert left and all(e["detail"]["reason"] for e in left)
    text = storydiff.text(joined, dropped, storydiff.changes(joined, dropped))
    assert f"Taken out of the story ({len(left)})" in text


def test_a_seed_stored_without_a_title_takes_one_without_a_new_version(demo_config, tmp_path):
    """An archive that stored a seed without a title (before seeds were titled by their first
    line) gives its article the title at the next start: no new version, no event."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "a.txt").write_text(
        "published_at: 2023-03-23\n\nOttawa and Washington agree to close Roxham Road.\n\n"
        + "The deal extends the Safe Third Country Agreement. " * 20
        + "\n",
        encoding="utf-8",
    )
    story = dataclasses.replace(demo_config.stories[0], seeds=seeds)
    config = demo_config.replace(sources=(), stories=(story,))
    now = at("2023-03-23T18:00:00+00:00")
    with open_app(config, now=now) as app, app.db.write() as session:
        article = session.query(Article).one()
        assert article.title == "Ottawa and Washington agree to close Roxham Road."
        article.title = None  # as an older release stored it
        session.query(ArticleVersion).one().title = None
    with open_app(config, now=now + timedelta(days=1)) as app:
        story_file = _export(app, story.slug)
        with app.db.read() as session:
            assert session.query(ArticleVersion).count() == 1
    (seed,) = _articles(story_file).values()
    assert seed["title"] == "Ottawa and Washington agree to close Roxham Road."
    assert story_file["version"] == 1
    assert story_file["timeline"][0]["title"] == seed["title"]


def test_an_edited_seed_file_is_the_next_version_and_an_unchanged_one_costs_no_fingerprint(
    demo_config, tmp_path, monkeypatch
):
    """A seed file edited between two starts is stored as its article's next version, with the
    new text's hash and signature and an update on the story's timeline. A start with the file
    unchanged stores nothing, and finds that from the text's hash: it makes no fingerprint
    (datasketch, with SciPy, is not imported for it)."""
    from monitor import text as textmod
    from monitor.match import fingerprint
    from monitor.stories import seeding

    seeds = tmp_path / "seeds"
    seeds.mkdir()
    body = "Ottawa and Washington agree to close Roxham Road. " * 20
    seed = seeds / "a.txt"
    seed.write_text(f"title: Roxham Road\npublished_at: 2023-03-23\n\n{body}\n", "utf-8")
    story = dataclasses.replace(demo_config.stories[0], seeds=seeds)
    config = demo_config.replace(sources=(), stories=(story,))
    now = at("2023-03-23T18:00:00+00:00")
    with open_app(config, now=now):
        pass
    with monkeypatch.context() as m:
        m.setattr(seeding, "fingerprint", lambda *a: pytest.fail("an unchanged seed fingerprinted"))
        with open_app(config, now=now + timedelta(hours=1)) as app, app.db.read() as session:
            assert session.query(ArticleVersion).count() == 1
    edited = body + "The agreement takes effect at midnight."
    seed.write_text(f"title: Roxham Road\npublished_at: 2023-03-23\n\n{edited}\n", "utf-8")
    with open_app(config, now=now + timedelta(hours=2)) as app:
        with app.db.read() as session:
            versions = session.query(ArticleVersion).order_by(ArticleVersion.version).all()
            assert [v.version for v in versions] == [1, 2]
            newest = versions[-1]
            assert newest.content_sha256 == textmod.content_sha256(edited)
            fp = fingerprint(edited, app.match_settings)
            assert newest.minhash == fp.minhash_bytes()
        story_file = _export(app, story.slug)
    assert [e["event"] for e in story_file["timeline"]][-1] == "update"


def test_the_markdown_counts_an_outlets_off_topic_articles_and_groups_identical_lines():
    """Twenty identical off-topic entries of one aggregator are one Markdown line with their
    count and first URL under the outlet's count; a different entry keeps its own line and
    URL; past five lines an outlet the rest are counted; the JSON keeps every entry."""

    def entry(outlet: str, n: int, title: str, reason: str) -> dict:
        return {
            "url": f"https://{outlet}.example/{n}",
            "title": title,
            "outlet": outlet,
            "first_seen_at": "2023-03-23T18:00:00+00:00",
            "match": {"reason": reason},
        }

    same = [entry("agg", n, "Latest headlines", "score 0.01 < 0.26") for n in range(20)]
    other = [entry("agg", 20, "Weather", "score 0.02 < 0.26")]
    many = [entry("blog", n, f"Post {n}", "score 0.03 < 0.26") for n in range(7)]
    story = {
        "story": "s", "title": "S", "version": 1, "updated_at": "2023-03-23T18:00:00+00:00",
        "outlets": [], "timeline": [], "off_topic": same + other + many,
    }  # fmt: skip
    markdown = render.story_markdown(story)
    section = markdown[markdown.index("## Judged off-topic") :]
    assert "28 articles from the story's sources" in section
    assert "- agg (21):" in section and "- blog (7):" in section
    assert section.count("Latest headlines") == 1
    assert (
        "  - Latest headlines (×20): <https://agg.example/0>, and 19 more (score 0.01 &lt; 0.26)"
        in section
    )
    assert "  - Weather: <https://agg.example/20> (score 0.02 &lt; 0.26)" in section
    assert [n for n in range(7) if f"https://blog.example/{n}" in section] == [0, 1, 2, 3, 4]
    assert "  - … and 2 more" in section
    assert len(json.loads(render.story_json(story))["off_topic"]) == 28


def test_events_recorded_without_detail_rebuild_with_the_decision_held_now(tmp_path):
    """An archive whose events predate ``detail`` (an original, its copy, an edit, a removal):
    each earlier version shows the articles in the story then with the decision they hold now,
    the versions seen then and the removal only once made; the last equals today's file."""
    db = open_database(f"sqlite:///{tmp_path / 'old.sqlite'}")
    try:
        with db.write() as session:
            story = _story(session, "harbour")
            original = _article(session, "https://orig.example/o", "Orig", published_at=T0)
            copy = _article(session, "https://copy.example/c", "Copy", published_at=T0)
            for article, text_ in ((original, "the harbour text"), (copy, "the harbour text")):
                _version(session, article, text_, at=T0)
            _version(session, original, "the harbour text, edited", at=T0 + timedelta(hours=2))
            for article, relation, copy_of in ((original, "original", None), (copy, "copy", 1)):
                members.record_decision(
                    session,
                    story_id=story.id,
                    article_id=article.id,
                    relation=relation,
                    copy_of_id=original.id if copy_of else None,
                    similarity=0.91234 if copy_of else 0.4,
                    match={"reason": relation},
                    now=T0,
                )
            copy.status, copy.removed_at = "removed", T0 + timedelta(hours=3)
            for n, (article, kind, version) in enumerate(
                [(original, "first_report", 1), (copy, "copy", 1), (original, "update", 2),
                 (copy, "removed", None)]
            ):  # fmt: skip
                at_ = T0 + timedelta(hours=n)
                stories.add_event(
                    session,
                    story_id=story.id,
                    article_id=article.id,
                    event=kind,
                    at=at_,
                    now=at_,
                    article_version=version,
                )
        with db.read() as session:
            files = [storyfile.build_as_of(session, "harbour", v) for v in range(5)]
            today = storyfile.build(session, "harbour")
    finally:
        db.close()
    assert files[4] == today
    assert [len(_articles(f)) for f in files] == [0, 1, 2, 2, 2]
    copy_then = _articles(files[2])["https://copy.example/c"]
    assert (copy_then["relation"], copy_then["copy_of"]) == ("copy", "https://orig.example/o")
    assert copy_then["copy_of_outlet"] == "Orig" and copy_then["similarity"] == 0.9123
    assert copy_then["status"] == "ok" and copy_then["removed_at"] is None
    assert [len(_articles(f)["https://orig.example/o"]["versions"]) for f in files[1:]] == [
        1, 1, 2, 2,
    ]  # fmt: skip
    assert _articles(files[4])["https://copy.example/c"]["status"] == "removed"


def test_the_diff_says_each_kind_of_event_in_words():
    """Pure sentences for what the pipeline records and what other parts add: a redirect with
    its target, an edit's change kinds (names or objects), an article taken out with its
    reason, an undated copy of an article no longer in the story, an unknown event by name."""

    def event(version: int, kind: str, detail: dict, **extra: object) -> dict:
        return {
            "at": "2023-03-24T10:00:00+00:00", "at_precision": "time", "outlet": "Wire",
            "url": f"https://wire.example/{version}", "title": f"Story {version}", "event": kind,
            "article_version": extra.get("article_version"), "story_version": version,
            "detail": detail,
        }  # fmt: skip

    before = {"story": "s", "title": "S", "version": 0, "updated_at": "t0", "outlets": []}
    timeline = [
        event(1, "redirected", {"target": "https://elsewhere.example/x"}),
        event(2, "update", {"kinds": [{"kind": "correction"}, "headline"]}, article_version=2),
        event(3, "dropped", {"previous_relation": "copy", "reason": "re-decided at 0.5"}),
        event(4, "copy", {"relation": "copy", "copy_of": None, "similarity": 0.5}),
        event(5, "facts_added", {}),
    ]
    after = {**before, "version": 5, "updated_at": "t5", "timeline": timeline}
    found = storydiff.changes(before, after)
    says = [c.says for c in found]
    assert says[0] == "Wire's “Story 1” now redirects to https://elsewhere.example/x"
    assert says[1] == "Wire edited “Story 2”: version 2 (correction, headline)"
    assert says[2] == "Wire's “Story 3” (a copy) was taken out of the story: re-decided at 0.5"
    assert says[3] == (
        "Wire carried a copy of an article no longer in the story: “Story 4”, similarity 0.5"
    )
    assert says[4] == "Wire: facts_added “Story 5”"
    text = storydiff.text(before, after, found)
    for heading in ("Redirected (1)", "New versions (1)", "Taken out of the story (1)"):
        assert heading in text
    assert "Other changes (1)" in text
    assert found[1].facts["kinds"] == ["correction", "headline"]


def test_an_outlets_copies_have_no_lag_when_either_side_is_undated_or_dated_by_day():
    """A copy's lag is null when the original or the copy has no publication time, or only a
    date; an undated outlet's first report is when the pipeline first stored it."""

    def article(url: str, published: str | None, precision: str | None, **extra: object) -> dict:
        return {
            "url": url, "title": url, "relation": "copy" if extra else "original",
            "published_at": published, "published_precision": precision,
            "first_seen_at": "2023-03-25T00:00:00+00:00", "copy_of": extra.get("copy_of"),
            "copy_of_outlet": extra.get("copy_of_outlet"),
        }  # fmt: skip

    wire = {"name": "Wire", "articles": [article("w", "2023-03-23T00:00:00+00:00", "day")]}
    timed = article("t", "2023-03-24T09:00:00+00:00", "time", copy_of="w", copy_of_outlet="Wire")
    undated = article("u", None, None, copy_of="w", copy_of_outlet="Wire")
    orphan = article("o", "2023-03-24T10:00:00+00:00", "time", copy_of="gone")
    outlets = [
        wire,
        {"name": "Agg", "articles": [timed, orphan]},
        {"name": "U", "articles": [undated]},
    ]
    summarise(outlets)
    assert [c["lag_seconds"] for c in outlets[1]["copies"]] == [None, None]
    assert outlets[2]["copies"][0]["lag_seconds"] is None
    assert outlets[2]["first_report"] == {
        "at": "2023-03-25T00:00:00+00:00", "at_precision": "first_seen", "url": "u",
    }  # fmt: skip
    assert outlets[0]["first_report"]["at_precision"] == "day"
