"""The story's facts on the demo replay, polled through real rounds over HTTP on 127.0.0.1: the
wire is the first carrier of its sentences and the reprints carry them later; the storage layer
reads each member's newest text; ``monitor story facts`` and the story file through the real
entry point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from monitor.app import open_app
from monitor.match.facts import story_facts
from monitor.poll.round import poll
from storage import facts as storyfacts
from storage import stories, storyfile
from tests.conftest import at, with_db
from tests.test_cli import _one_error_line, monitor, ok


def _polled(config, replay, manifest) -> None:
    """Every round of the replay, polled at its time."""
    with open_app(config, now=at(manifest["round"][0]["now"])) as app:
        for spec in manifest["round"]:
            replay.set_round(spec["name"])
            poll(app, now=at(spec["now"]))


def _read(config, slug: str):
    with open_app(config, now=at("2023-03-27T00:00:00+00:00")) as app, app.db.read() as session:
        story = stories.story_by_slug(session, slug)
        assert story is not None
        texts = storyfacts.member_texts(session, story.id)
        with_facts = storyfile.build(session, slug, facts=story_facts)
        without = storyfile.build(session, slug)
    return texts, with_facts, without


@pytest.fixture
def demo_facts(demo_config, replay, manifest, db_url):
    """The demo story after its three rounds, on each backend: the members' texts, the story
    file built with facts and without."""
    config = with_db(demo_config, db_url)
    _polled(config, replay, manifest)
    return _read(config, manifest["slug"])


def _url(replay, manifest, label: str) -> str:
    """The replay URL of the article whose ground-truth path contains ``label``."""
    (path,) = [e["path"] for e in manifest["expect"] if label in e["path"]]
    return replay.url(path)


def test_a_wire_sentence_is_first_carried_by_the_wire_and_reprinted_later(
    demo_facts, replay, manifest
):
    """Every fact a reprint carries (the Daily Digest's copies of the Capital Wire scoop and of
    the Northern Ledger report) was first carried by the article it copies, the reprint later
    with a positive lag; every fact's later carriers come in time order."""
    _, story, _ = demo_facts
    facts = story["facts"]
    copies = {
        _url(replay, manifest, "canada-us-close-roxham"): _url(
            replay, manifest, "canada-us-roxham"
        ),
        _url(replay, manifest, "biden-arrives"): _url(
            replay, manifest, "ottawa-washington-roxham-road"
        ),
    }
    for copy, original in copies.items():
        carried = [f for f in facts if copy in {c["url"] for c in f["later"]}]
        assert len(carried) >= 5, (copy, len(carried))
        for fact in carried:
            assert fact["first"]["url"] == original, fact["text"]
            lag = next(c["lag_seconds"] for c in fact["later"] if c["url"] == copy)
            assert lag > 0
    assert {f["first"]["outlet"] for f in facts} >= {"Capital Wire", "Northern Ledger"}
    for fact in facts:
        lags = [c["lag_seconds"] for c in fact["later"]]
        assert lags == sorted(lags) and lags[0] >= 0
        assert fact["articles"] == 1 + len(fact["later"]) >= 2


def test_facts_are_read_from_each_members_newest_text(demo_facts, replay, manifest):
    """The storage layer hands facts every member (seed, originals, copies; not the off-topic
    articles) with its newest version: the Northern Ledger report as edited in round 2."""
    texts, story, without = demo_facts
    members = {a["url"] for o in story["outlets"] for a in o["articles"]}
    assert {t.url for t in texts} == members
    (edited,) = [
        t for t in texts if t.url == _url(replay, manifest, "ottawa-washington-roxham-road")
    ]
    assert "Mr. Biden landed in Ottawa on Thursday evening" in edited.text
    assert "roughly 39,000 asylum claimants" in edited.text  # the corrected figure
    assert story["facts"] == story_facts(texts)
    assert without["facts"] is None, "only a caller that asks for facts pays for them"


# --- through the real entry point ------------------------------------------------------------


@pytest.fixture
def polled_db(demo_config, replay, manifest) -> dict[str, str]:
    """The demo's three rounds stored in an SQLite file; the environment naming it."""
    _polled(demo_config, replay, manifest)
    return {"MONITOR_STORAGE_URL": demo_config.storage.url}


@pytest.mark.slow
def test_story_facts_prints_each_fact_with_its_first_and_later_carriers(
    polled_db, manifest, tmp_path: Path
):
    """``monitor story facts SLUG`` prints the facts, first report first, each with the outlet
    and time of its first carrier and its later carriers' lags; ``--limit`` keeps the first N;
    ``--json`` prints one object per fact, the story file's; ``story export`` carries the same
    facts and ``--no-facts`` leaves them out."""
    slug = manifest["slug"]
    proc = monitor("story", "facts", slug, "--json", "--limit", "0", cwd=tmp_path, env=polled_db)
    ok(proc)
    facts = [json.loads(line) for line in proc.stdout.splitlines()]
    assert len(facts) > 10
    assert {"id", "text", "substance", "articles", "outlets", "first", "later"} <= set(facts[0])

    proc = monitor("story", "facts", slug, "--limit", "2", cwd=tmp_path, env=polled_db)
    ok(proc)
    lines = proc.stdout.splitlines()
    assert lines[0] == (
        f"{slug}: {len(facts)} facts carried by two articles or more, the first 2 "
        "(--limit 0 for all), first report first"
    )
    assert f"1. {facts[0]['text']}" in lines and f"2. {facts[1]['text']}" in lines
    assert f"3. {facts[2]['text']}" not in lines
    first = facts[0]["first"]
    assert f"   first  {first['outlet']}  {first['at'][:10]} {first['at'][11:16]} UTC  " in (
        proc.stdout
    )
    assert "   later  Daily Digest Network  +16h50m  " in proc.stdout

    proc = monitor("story", "export", slug, cwd=tmp_path, env=polled_db)
    ok(proc)
    assert json.loads(proc.stdout)["facts"] == facts
    proc = monitor("story", "export", slug, "--no-facts", cwd=tmp_path, env=polled_db)
    ok(proc)
    assert json.loads(proc.stdout)["facts"] is None


@pytest.mark.slow
def test_story_facts_mistakes_are_one_error_line(polled_db, tmp_path: Path):
    """An unknown slug or a negative --limit: exit 2, one line naming it, nothing printed."""
    proc = monitor("story", "facts", "no-such-story", cwd=tmp_path, env=polled_db)
    assert "'no-such-story'" in _one_error_line(proc)
    assert proc.stdout == ""
    proc = monitor("story", "facts", "x", "--limit", "-1", cwd=tmp_path, env=polled_db)
    assert "--limit" in _one_error_line(proc)


def test_facts_are_found_once_per_story_version_and_read_back_by_the_export(
    demo_config, replay, manifest, db_url
):
    """After the rounds, refresh finds each story's facts once and keeps them with the story
    version: a second refresh finds nothing to do, and the file built at that version reads the
    kept facts (the finder is never called); facts kept for an older version are found afresh,
    and a write of an older version's facts never replaces a newer one's."""
    from monitor.stories import facts as kept_facts

    config = with_db(demo_config, db_url)
    _polled(config, replay, manifest)
    slug = manifest["slug"]
    later = at("2023-03-27T00:00:00+00:00")

    def refuse(_texts):
        raise AssertionError("the kept facts should have been read")

    with open_app(config, now=later) as app:
        assert kept_facts.refresh(app, now=later) == len(app.stories)
        assert kept_facts.refresh(app, now=later) == 0
        with app.db.read() as session:
            story = stories.story_by_slug(session, slug)
            assert story is not None
            kept = storyfile.build(session, slug, facts=refuse)
            found = storyfile.build(session, slug, facts=story_facts)
        assert kept is not None and found is not None
        assert kept["facts"] == found["facts"] and len(kept["facts"]) > 5
        with app.db.write() as session:  # a newer version's facts, then an older write
            storyfacts.store_facts(session, story.id, story.version + 1, [], now=later)
            storyfacts.store_facts(session, story.id, story.version, [{"x": 1}], now=later)
        with app.db.read() as session:
            assert storyfacts.kept_version(session, story.id) == story.version + 1
            rebuilt = storyfile.build(session, slug, facts=story_facts)
        assert rebuilt is not None and rebuilt["facts"] == found["facts"]
