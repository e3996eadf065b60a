"""Re-deciding a story's past articles at a new story_threshold (monitor.redecide), over the
demo replay on 127.0.0.1, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import email
import json
import logging
import re
import shutil
from datetime import datetime, timedelta
from email.policy import default
from pathlib import Path

import pytest

from monitor import config as configmod
from monitor.app import open_app
from monitor.match import band_keys, fingerprint, would_flip
from monitor.poll.indexes import Indexes
from monitor.poll.round import poll
from monitor.publish import digest
from monitor.stories.backfill import backfill
from monitor.stories.redecide import redecide
from storage import articles, members, storyfile
from tests.conftest import at, with_db, write_demo_config
from tests.storyschema import checked
from tests.test_cli import monitor, ok
from tests.test_pipeline import _articles, assert_ground_truth

SLUG_KEY = "slug"


def _with_threshold(config: configmod.Config, threshold: float | None) -> configmod.Config:
    stories = tuple(dataclasses.replace(s, story_threshold=threshold) for s in config.stories)
    return dataclasses.replace(config, stories=stories)


def _rounds(config: configmod.Config, replay, manifest) -> None:
    with open_app(config, now=at(manifest["round"][0]["now"])) as app:
        for spec in manifest["round"]:
            replay.set_round(spec["name"])
            poll(app, now=at(spec["now"]))


def _redecide(config: configmod.Config, now, *, dry_run: bool = False):
    with open_app(config, now=now) as app:
        (story,) = app.stories
        changes = redecide(app, story, now=now, dry_run=dry_run)
        with app.db.read() as session:
            built = checked(storyfile.build(session, story.slug))
            scores = members.story_scores(session, story.id)
    return changes, built, scores


def _members(story: dict) -> dict[str, tuple[str, str | None]]:
    return {url: (a["relation"], a["copy_of"]) for url, a in _articles(story).items()}


def _after_rounds(manifest) -> datetime:
    return at(manifest["round"][-1]["now"]) + timedelta(hours=1)


def test_articles_decided_at_a_high_threshold_join_as_originals_and_copies(
    demo_config, replay, manifest, db_url
):
    """A story polled at a threshold too high for most of its reporting, then re-decided at the
    default, ends as if polled at the default: the replay's ground truth, each copy pointing at
    its original (the copy stage runs for every joining article, in publication order), each
    joined article with the decision it had before in ``redecided``; at the default no stored
    decision would flip any more."""
    config = with_db(demo_config, db_url)
    # 1.0, a bar of 0.50 with a story keyword: at 0.95 the centroid of the seed and the first
    # wire report (cosine 0.50) lets the Northern Ledger's report in, and its reprint with it.
    _rounds(_with_threshold(config, 1.0), replay, manifest)
    changes, story, scores = _redecide(config, _after_rounds(manifest))

    assert_ground_truth(story, replay, manifest)
    articles = _articles(story)
    copies = {c.url for c in changes if c.after == "copy"}
    assert copies, "the demo's reprints of reporting decided off-topic join as copies"
    assert all(articles[url]["copy_of"] for url in copies)
    assert {c.before for c in changes} == {"off_topic"}
    for change in changes:
        (before,) = articles[change.url]["match"]["redecided"]
        assert (before["relation"], before["story_threshold"]) == ("off_topic", 1.0)
    assert not [r for r in scores if would_flip(r, 0.26)]
    joined = {e["url"] for e in story["timeline"] if e["event"] in ("first_report", "copy")}
    assert {c.url for c in changes} <= joined


def test_raising_the_threshold_takes_an_original_out_with_its_copies_and_back(
    demo_config, replay, manifest, db_url
):
    """Raised above an original's score, the threshold takes it out of the story with its
    copies: they leave the story file's outlets for its off-topic list, each with a ``dropped``
    event, and the next digest names them under "Taken out of the story". Lowered back, the
    same articles return with the same relations and copy_of as before."""
    config = _rounds_default(with_db(demo_config, db_url), replay, manifest)
    with open_app(config, now=_after_rounds(manifest)) as app:
        with app.db.read() as session:
            before = checked(storyfile.build(session, manifest[SLUG_KEY]))
            rows = members.story_scores(session, app.stories[0].id)
        digest.run(app, now=_after_rounds(manifest))
    assert before is not None
    copied = {a["copy_of"] for a in _articles(before).values() if a["relation"] == "copy"}
    target = min((r for r in rows if r.url in copied), key=lambda r: r.score)
    raised = round((target.score + 0.001) * (2 if target.keyword_hits else 1), 4)

    later = _after_rounds(manifest) + timedelta(hours=1)
    changes, after, scores = _redecide(_with_threshold(config, raised), later)
    assert after is not None
    left = {c.url for c in changes}
    target_copies = {u for u, a in _articles(before).items() if a["copy_of"] == target.url}
    assert {target.url} | target_copies <= left
    assert all(c.after == "off_topic" for c in changes)
    assert not left & set(_articles(after))
    assert any(a["relation"] == "original" for a in _articles(after).values())
    assert left <= {a["url"] for a in after["off_topic"]}
    dropped = [e for e in after["timeline"] if e["event"] == "dropped"]
    assert sorted(e["url"] for e in dropped) == sorted(left)
    assert after["version"] == before["version"] + len(left)
    for r in scores:  # what stays was scored at or above what the raised threshold needs
        assert not would_flip(r, raised), r
    with open_app(config, now=later) as app:
        (sent,) = digest.run(app, now=later).delivered
    message = email.message_from_bytes(Path(sent.delivered_to).read_bytes(), policy=default)
    assert f"{len(left)} articles taken out" in message["Subject"]
    body = message.get_body(("plain",))
    assert body is not None and target.title
    text = " ".join(body.get_content().split())  # the plain part is wrapped at 72 columns
    assert " ".join(target.title.split()) in text
    assert f"re-decided at story_threshold {raised}" in text

    back, restored, _ = _redecide(config, later + timedelta(hours=1))
    assert restored is not None
    assert {c.url for c in back} == left
    assert _members(restored) == _members(before)


def _rounds_default(demo_config, replay, manifest) -> configmod.Config:
    _rounds(demo_config, replay, manifest)
    return demo_config


def test_a_dry_run_reports_the_changes_and_changes_nothing(demo_config, replay, manifest):
    """``dry_run`` returns the changes the re-decision would make and leaves the database as it
    was: the same story version, the same story file."""
    config = _with_threshold(demo_config, 0.95)
    _rounds(config, replay, manifest)
    now = _after_rounds(manifest)
    with open_app(config, now=now) as app, app.db.read() as session:
        before = checked(storyfile.build(session, manifest[SLUG_KEY]))
    planned, untouched, _ = _redecide(demo_config, now, dry_run=True)
    assert planned
    assert untouched == before
    made, _, _ = _redecide(demo_config, now)
    assert made == planned


@pytest.mark.slow
def test_cli_redecide_prints_the_changes_and_rejects_an_unknown_slug(replay, manifest, tmp_path):
    """``monitor story redecide SLUG`` applies the configured story_threshold and prints one
    summary line and each change; ``--dry-run`` says "would change" and changes nothing (a
    second run makes the same changes); ``monitor explain`` then names the decision each changed
    article had before; a slug not in the configuration is exit 2 with one line naming the file
    and the slug."""
    db = tmp_path / "m.sqlite"
    cfg = write_demo_config(
        tmp_path / "c.toml", base=replay.base, manifest=manifest, db=db, outbox=tmp_path / "out"
    )
    high = cfg.with_name("high.toml")
    high.write_text(cfg.read_text("utf-8") + "story_threshold = 0.95\n", encoding="utf-8")
    # The archive is built in this process (the commands under test are redecide and explain).
    _rounds(configmod.load(str(high)), replay, manifest)
    now = (_after_rounds(manifest)).isoformat()
    slug = manifest[SLUG_KEY]
    args = ("--config", str(cfg), "story", "redecide", slug, "--now", now)
    dry = monitor(*args, "--dry-run", cwd=tmp_path)
    ok(dry)
    assert f"{slug}: at story_threshold 0.26, " in dry.stdout
    assert "would change" in dry.stdout
    real = monitor(*args, cwd=tmp_path)
    ok(real)
    assert real.stdout == dry.stdout.replace("would change", "changed")
    assert "joining the story" in real.stdout and "off_topic -> original" in real.stdout
    url = re.search(r"^ +(http://\S+)$", real.stdout, re.M)
    assert url is not None, real.stdout
    why = monitor("--config", str(cfg), "explain", url.group(1), cwd=tmp_path)
    ok(why)
    assert "re-decided" in why.stdout and "before, off_topic at story_threshold 0.95" in why.stdout
    again = monitor(*args, "--json", cwd=tmp_path)
    ok(again)
    assert again.stdout == "", "nothing is left to re-decide"

    bad = monitor("--config", str(cfg), "story", "redecide", "no-such-story", cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0
    assert str(cfg) in bad.stderr and "no-such-story" in bad.stderr


def test_a_match_index_built_before_members_left_is_built_again(demo_config, replay, manifest):
    """A round's match index built before another process took members out of the story does
    not match a new article against them: deciding a copy of one that left finds no copy (the
    index is rebuilt on the count of departures the database keeps), where the stale index
    would have called it the same text as a member."""
    _rounds(demo_config, replay, manifest)
    now = _after_rounds(manifest)
    with open_app(demo_config, now=now) as app:
        (story,) = app.stories
        indexes = Indexes(app)
        indexes.get(story)  # built now, as a round builds it before its write transaction
        with app.db.read() as session:
            rows = members.story_scores(session, story.id)
        target = min(rows, key=lambda r: r.score if r.kind == "same_story" else 9.0)
        raised = round((target.score + 0.001) * (2 if target.keyword_hits else 1), 4)
        changes, _, _ = _redecide(_with_threshold(demo_config, raised), now)
        assert target.url in {c.url for c in changes}
        with app.db.write() as session:
            latest = articles.latest_version(session, target.article_id)
            assert latest is not None
            fp = fingerprint(latest.text, app.match_settings)
            bands = band_keys(fp.minhash, app.match_settings)
            decision = indexes.decide(session, story, latest.title, latest.text, fp, bands, None)
            session.rollback()
    assert decision.kind not in ("exact", "copy"), decision.reason


# --- backfill ----------------------------------------------------------------------------------


def _backfill(config: configmod.Config, now: datetime, **kwargs):
    with open_app(config, now=now) as app:
        (story,) = app.stories
        done = backfill(app, story, now=now, **kwargs)
        with app.db.read() as session:
            built = checked(storyfile.build(session, story.slug))
    return done, built


def test_a_story_configured_after_its_articles_were_stored_is_backfilled(
    demo_config, replay, manifest, db_url
):
    """Articles stored while no story followed their sources are decided by ``backfill``, oldest
    first, into the story the pipeline would have built: the replay's ground truth, copies
    pointing at the earliest of their group, each member on the timeline at its publication
    time. ``since`` leaves out older articles; a second backfill finds nothing left."""
    config = with_db(demo_config, db_url)
    _rounds(dataclasses.replace(config, stories=()), replay, manifest)
    now = _after_rounds(manifest)
    nothing, _ = _backfill(config, now, since=now)
    assert nothing.articles == 0

    done, story = _backfill(config, now)
    assert_ground_truth(story, replay, manifest)
    assert story is not None
    articles = [a for a in _articles(story).values() if a["relation"] != "seed"]
    assert done.originals == sum(a["relation"] == "original" for a in articles)
    assert done.copies == sum(a["relation"] == "copy" for a in articles) > 0
    assert done.off_topic == len(story["off_topic"]) > 0
    assert done.articles == len(articles) + len(story["off_topic"])
    first = {e["url"]: e["at"] for e in story["timeline"] if e["event"] in ("first_report", "copy")}
    for a in articles:
        assert first[a["url"]] == (a["published_at"] or a["first_seen_at"]), a["url"]
    again, _ = _backfill(config, now)
    assert again.articles == 0


def test_a_story_added_to_an_archive_is_named_at_start_with_the_backfill_to_run(
    demo_config, replay, manifest, caplog
):
    """The first start with a new story whose sources already have stored articles logs a
    warning naming the story, how many articles it has not decided and the command that decides
    them; later starts say nothing (the story is no longer new: a hint, not a nag)."""
    _rounds(dataclasses.replace(demo_config, stories=()), replay, manifest)
    now = _after_rounds(manifest)
    with caplog.at_level(logging.WARNING, logger="monitor.stories.seeding"):
        done, _ = _backfill(demo_config, now)
    (warning,) = [r for r in caplog.records if r.getMessage() == "story_added"]
    assert warning.__dict__["story"] == manifest[SLUG_KEY]
    assert warning.__dict__["undecided_articles"] == done.articles > 0
    assert warning.__dict__["hint"] == f"monitor story backfill {manifest[SLUG_KEY]}"
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="monitor.stories.seeding"):
        _backfill(demo_config, now)
    assert not [r for r in caplog.records if r.getMessage() == "story_added"]


def test_a_seed_added_to_a_story_with_off_topic_articles_names_the_backfill_to_run(
    demo_config, replay, manifest, caplog, tmp_path
):
    """A seed file added to a story that has judged articles off-topic logs, at the start that
    takes it in, a warning naming the story, the seed, how many articles were judged without it
    and the command that judges them again; the start after says nothing."""
    _rounds(demo_config, replay, manifest)
    (story,) = demo_config.stories
    assert story.seeds is not None
    folder = tmp_path / "seeds"
    shutil.copytree(story.seeds, folder)
    (folder / "002-ottawa.txt").write_text(
        "title: Ottawa confirms Roxham Road deal\n\nOttawa confirmed on Friday that the Roxham"
        " Road crossing closes at midnight under the amended Safe Third Country Agreement.\n",
        encoding="utf-8",
    )
    config = dataclasses.replace(demo_config, stories=(dataclasses.replace(story, seeds=folder),))
    now = _after_rounds(manifest)
    with caplog.at_level(logging.WARNING, logger="monitor.stories.seeding"):
        _backfill(config, now, since=now)
    (warning,) = [r for r in caplog.records if r.getMessage() == "seed_added"]
    with open_app(config, now=now) as app, app.db.read() as session:
        off_topic = members.count_off_topic(session, app.stories[0].id)
    assert warning.__dict__["seed"] == "002-ottawa.txt"
    assert warning.__dict__["off_topic_articles"] == off_topic > 0
    assert warning.__dict__["hint"] == f"monitor story backfill {manifest[SLUG_KEY]} --off-topic"
    caplog.clear()
    with (
        caplog.at_level(logging.WARNING, logger="monitor.stories.seeding"),
        open_app(config, now=now),
    ):
        pass
    assert not [r for r in caplog.records if r.getMessage() == "seed_added"]


def test_backfill_of_off_topic_articles_rejudges_them_against_the_story_now(
    demo_config, replay, manifest
):
    """``off_topic=True`` decides again the articles the story judged off-topic (here at a
    threshold since lowered): those that pass join, as originals or copies, with what they were
    before in ``redecided``; those still off-topic keep their first decision."""
    _rounds(_with_threshold(demo_config, 0.95), replay, manifest)
    done, story = _backfill(demo_config, _after_rounds(manifest), off_topic=True)
    assert_ground_truth(story, replay, manifest)
    assert story is not None
    assert done.joined == done.originals + done.copies > 0
    rejoined = [a for a in _articles(story).values() if "redecided" in a["match"]]
    assert len(rejoined) == done.joined
    assert {a["match"]["redecided"][0]["relation"] for a in rejoined} == {"off_topic"}
    for a in story["off_topic"]:
        assert "redecided" not in a.get("match", {})


def test_backfill_takes_only_the_sources_the_story_follows(demo_config, replay, manifest):
    """A story that follows one source is backfilled with that source's articles only."""
    _rounds(dataclasses.replace(demo_config, stories=()), replay, manifest)
    outlet = manifest["outlet"][0]["name"]
    stories = tuple(dataclasses.replace(s, sources=(outlet,)) for s in demo_config.stories)
    config = dataclasses.replace(demo_config, stories=stories)
    done, story = _backfill(config, _after_rounds(manifest))
    assert story is not None and done.articles > 0
    outlets = {
        o["name"] for o in story["outlets"] for a in o["articles"] if a["relation"] != "seed"
    }
    assert outlets | {a["outlet"] for a in story["off_topic"]} == {outlet}


@pytest.mark.slow
def test_cli_backfill_prints_its_counts_and_rejects_a_bad_time(replay, manifest, tmp_path):
    """Before it, ``monitor explain`` says no story has decided an article and names the
    backfill; ``monitor story backfill SLUG`` decides the articles polled before the story was
    configured and prints the counts in one line; run again, it decides none (``--json``); a
    ``--since`` that is not a time is exit 2 with one line naming the option."""
    cfg = write_demo_config(
        tmp_path / "c.toml",
        base=replay.base,
        manifest=manifest,
        db=tmp_path / "m.sqlite",
        outbox=tmp_path / "out",
    )
    text = cfg.read_text("utf-8")
    storyless = cfg.with_name("storyless.toml")
    storyless.write_text(text[: text.index("[[story]]")], encoding="utf-8")
    _rounds(configmod.load(str(storyless)), replay, manifest)  # built in this process
    slug = manifest[SLUG_KEY]
    url = replay.url(manifest["expect"][0]["path"])
    why = monitor("--config", str(cfg), "explain", url, cwd=tmp_path)
    ok(why)
    assert "no story has decided it" in why.stdout and "monitor story backfill" in why.stdout
    args = ("--config", str(cfg), "story", "backfill", slug)
    done = monitor(*args, cwd=tmp_path)
    ok(done)
    counts = re.fullmatch(
        rf"{slug}: decided (\d+) articles of the archive: (\d+) new reporting, (\d+) copies, "
        r"(\d+) off-topic\n",
        done.stdout,
    )
    assert counts is not None, done.stdout
    total, originals, copies, off_topic = map(int, counts.groups())
    assert total == originals + copies + off_topic and originals and copies and off_topic
    again = monitor(*args, "--json", cwd=tmp_path)
    ok(again)
    assert json.loads(again.stdout)["articles"] == 0

    bad = monitor(*args, "--since", "last tuesday", cwd=tmp_path)
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "--since" in bad.stderr
