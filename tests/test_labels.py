"""The analyst in the loop: ``monitor story label`` / ``labels`` / ``scores --suggest`` through
the real command on a real SQLite file over the demo replay on 127.0.0.1, and the labels'
storage and the label flow on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from monitor import demo
from monitor.app import open_app
from monitor.demo.server import ReplayServer
from monitor.errors import LabelError
from monitor.match import story_bar
from monitor.stories.labels import label
from storage import labels, members, storyfile
from tests.conftest import with_db, write_demo_config
from tests.storyschema import checked
from tests.test_cli import monitor, ok
from tests.test_pipeline import _articles
from tests.test_redecide import _after_rounds, _rounds

CHAMPLAIN = "/lakeshore-post/2023/03/24/champlain-roxham-road-deal-bus-tickets.html"
MIGRANTS = "/lakeshore-post/2023/03/25/migrants-turned-back-roxham-road.html"
# Of the two follow-ups, the one that scores lower against the story (0.34, the centroid of the
# story's reports near it) and the one that scores higher (0.39).
WEAKER, STRONGER = CHAMPLAIN, MIGRANTS
BONSPIEL = "/northern-ledger/2023/03/25/gatineau-rink-ottawa-bonspiel-final.html"
FAIR = "/lakeshore-post/2023/03/23/clinton-county-fair-budget.html"
COURRIER = "/courrier-estrie/2023/03/24/fermeture-chemin-roxham-legault.html"


@pytest.fixture(scope="module")
def polled(manifest, tmp_path_factory):
    """The demo's three rounds polled once with ``monitor poll`` into a SQLite file, the replay
    left serving its last round: (the server, the database file)."""
    folder = tmp_path_factory.mktemp("polled")
    with ReplayServer(demo.STORY, [r["name"] for r in manifest["round"]]) as server:
        cfg = _config(server.base, manifest, folder, folder / "m.sqlite")
        for spec in manifest["round"]:
            server.set_round(spec["name"])
            ok(monitor("--config", str(cfg), "poll", "--now", spec["now"], cwd=folder))
        yield server, folder / "m.sqlite"


def _config(base: str, manifest: dict, folder: Path, db: Path) -> Path:
    return write_demo_config(
        folder / "c.toml", base=base, manifest=manifest, db=db, outbox=folder / "out"
    )


def _polled(polled, manifest, tmp_path: Path) -> tuple[Path, str]:
    """A copy of the polled database of its own for one test: its configuration and the
    replay's base URL."""
    server, db = polled
    for suffix in ("", "-wal", "-shm"):  # the WAL is checkpointed on close; copied if not
        if Path(f"{db}{suffix}").exists():
            shutil.copy(f"{db}{suffix}", tmp_path / f"m.sqlite{suffix}")
    return _config(server.base, manifest, tmp_path, tmp_path / "m.sqlite"), server.base


def _export(cfg: Path, slug: str, cwd: Path) -> dict:
    done = monitor("--config", str(cfg), "story", "export", slug, "--no-facts", cwd=cwd)
    ok(done)
    return checked(json.loads(done.stdout))


def _where(story: dict, url: str) -> tuple[str, dict]:
    """Where ``url`` is in a story file: its relation and entry (``off_topic`` from the list)."""
    article = _articles(story).get(url)
    if article is not None:
        return article["relation"], article
    (entry,) = [o for o in story["off_topic"] if o["url"] == url]
    return "off_topic", entry


def _suggested(cfg: Path, slug: str, cwd: Path) -> list[dict]:
    done = monitor("--config", str(cfg), "story", "scores", slug, "--suggest", "--json", cwd=cwd)
    ok(done)
    return [json.loads(line) for line in done.stdout.splitlines()]


@pytest.mark.slow
def test_a_label_moves_the_line_redecides_the_past_and_is_shown_everywhere(
    polled, manifest, tmp_path
):
    """At a configured threshold of 0.8 two follow-ups are off-topic (they score 0.34 and 0.39
    with a story keyword: a bar of 0.40). Labelling the weaker one ``in`` makes it an original
    and fits the threshold down toward its reach (only ``in`` labels: the line can only go
    down), and the past is re-decided at it: the stronger one, unlabelled, joins too, and the
    command prints it. The story file carries the label ({value, note, at}), the matcher's kind
    and score beside it, and both thresholds; ``story scores``, ``story labels``, ``explain``
    and the Markdown show them. Withdrawn, the label gives the article back to the matcher at
    the configured threshold, and both leave."""
    cfg, base = _polled(polled, manifest, tmp_path)
    cfg.write_text(cfg.read_text("utf-8") + "story_threshold = 0.8\n", encoding="utf-8")
    slug = manifest["slug"]
    now = (_after_rounds(manifest) + timedelta(hours=1)).isoformat()
    ok(monitor("--config", str(cfg), "story", "redecide", slug, "--now", now, cwd=tmp_path))
    before = _export(cfg, slug, tmp_path)
    assert _where(before, base + STRONGER)[0] == "off_topic"
    assert _where(before, base + WEAKER)[0] == "off_topic"
    args = ("--config", str(cfg), "story", "label", slug)

    done = monitor(*args, base + WEAKER, "in", "--note", "a followup", "--now", now, cwd=tmp_path)
    ok(done)
    assert "labelled in" in done.stdout and "off_topic -> original" in done.stdout
    assert "fitted from its labels; configured 0.8" in done.stdout
    assert base + STRONGER in done.stdout, "the stronger one joined at the new threshold"

    after = _export(cfg, slug, tmp_path)
    relation, entry = _where(after, base + WEAKER)
    assert relation == "original"
    assert entry["label"] == {"value": "in", "note": "a followup", "at": now}
    assert entry["match"]["kind"] == "label"
    assert entry["match"]["matcher"]["kind"] == "off_topic"
    assert entry["match"]["scores"]["score"] < story_bar(0.8, 1), "the matcher's score stays"
    fitted = after["story_threshold"]["fitted"]
    assert after["story_threshold"]["configured"] == 0.8
    assert fitted < 0.8
    moved_relation, moved = _where(after, base + STRONGER)
    assert moved_relation == "original" and moved["label"] is None
    assert moved["match"]["scores"]["score"] >= story_bar(fitted, 1)
    assert moved["match"]["redecided"][-1]["relation"] == "off_topic"
    assert after["version"] > before["version"]

    scores = monitor("--config", str(cfg), "story", "scores", slug, cwd=tmp_path)
    ok(scores)
    assert f"story_threshold {fitted} (fitted from its labels; configured 0.8)" in scores.stdout
    assert "(labelled in: in story)" in scores.stdout
    listed = monitor(
        "--config", str(cfg), "story", "labels", slug, "--format", "json", cwd=tmp_path
    )
    ok(listed)
    (row,) = json.loads(listed.stdout)
    assert (row["url"], row["label"]["value"], row["relation"]) == (
        base + WEAKER,
        "in",
        "original",
    )
    table = monitor("--config", str(cfg), "story", "labels", slug, cwd=tmp_path)
    ok(table)
    assert "note: a followup" in table.stdout and base + WEAKER in table.stdout
    why = monitor("--config", str(cfg), "explain", base + WEAKER, cwd=tmp_path)
    ok(why)
    assert "label: in" in why.stdout and "the matcher said: off_topic" in why.stdout
    md = monitor("--config", str(cfg), "story", "export", slug, "--format", "md", cwd=tmp_path)
    ok(md)
    assert "labelled in by the analyst: a followup" in md.stdout
    assert "label: in, given" in md.stdout

    cleared = monitor(*args, base + WEAKER, "--clear", "--now", now, cwd=tmp_path)
    ok(cleared)
    assert "label withdrawn" in cleared.stdout and "original -> off_topic" in cleared.stdout
    back = _export(cfg, slug, tmp_path)
    assert back["story_threshold"]["fitted"] is None
    relation, entry = _where(back, base + WEAKER)
    assert relation == "off_topic" and entry["label"] is None
    assert _where(back, base + STRONGER)[0] == "off_topic"
    listed = monitor(
        "--config", str(cfg), "story", "labels", slug, "--format", "json", cwd=tmp_path
    )
    assert json.loads(listed.stdout) == []


@pytest.mark.slow
def test_labels_survive_later_polls_rechecks_redecide_and_backfill(polled, manifest, tmp_path):
    """An off-topic article labelled ``in`` stays a member and an accepted one labelled ``out``
    stays off-topic, with their labels, through a later ``poll --all`` (every article
    re-checked), ``story redecide`` and ``story backfill --off-topic``: the matcher never
    overrides a label, even when no threshold can agree with both."""
    cfg, base = _polled(polled, manifest, tmp_path)
    slug = manifest["slug"]
    later = _after_rounds(manifest) + timedelta(hours=2)
    args = ("--config", str(cfg), "story", "label", slug)
    ok(monitor(*args, base + BONSPIEL, "in", "--now", later.isoformat(), cwd=tmp_path))
    ok(monitor(*args, base + COURRIER, "out", "--now", later.isoformat(), cwd=tmp_path))
    labelled = _export(cfg, slug, tmp_path)
    assert _where(labelled, base + BONSPIEL)[0] == "original"
    assert _where(labelled, base + COURRIER)[0] == "off_topic"

    then = later + timedelta(days=1)
    ok(monitor("--config", str(cfg), "poll", "--all", "--now", then.isoformat(), cwd=tmp_path))
    deciding = ("--config", str(cfg), "story")
    ok(monitor(*deciding, "redecide", slug, "--now", then.isoformat(), cwd=tmp_path))
    ok(monitor(*deciding, "backfill", slug, "--off-topic", "--now", then.isoformat(), cwd=tmp_path))
    final = _export(cfg, slug, tmp_path)
    relation, entry = _where(final, base + BONSPIEL)
    assert relation == "original" and entry["label"]["value"] == "in"
    relation, entry = _where(final, base + COURRIER)
    assert relation == "off_topic" and entry["label"]["value"] == "out"


@pytest.mark.slow
def test_suggest_lists_unlabelled_articles_nearest_the_line_and_errors_are_one_line(
    polled, manifest, tmp_path
):
    """``story scores --suggest`` lists the unlabelled same-story decisions by their distance
    from the bar at the threshold the story decides with, both sides, each with its score, bar
    and relation; a labelled article leaves the list and the bar follows the fitted threshold.
    An unknown story, URL or a seed is one line and exit 1; a wrong combination of options is
    one line and exit 2."""
    cfg, base = _polled(polled, manifest, tmp_path)
    slug = manifest["slug"]
    first = _suggested(cfg, slug, tmp_path)
    assert [abs(r["margin"]) for r in first] == sorted(abs(r["margin"]) for r in first)
    assert {r["relation"] for r in first} >= {"original", "off_topic"}, "both sides of the line"
    for r in first:
        assert r["needed"] == story_bar(0.26, r["keyword_hits"])
    limited = monitor(
        "--config", str(cfg), "story", "scores", slug, "--suggest", "--limit", "2", cwd=tmp_path
    )
    ok(limited)
    assert limited.stdout.count("\n" + " " * 35 + "http") == 2

    now = (_after_rounds(manifest) + timedelta(hours=1)).isoformat()
    ok(
        monitor(
            "--config",
            str(cfg),
            "story",
            "label",
            slug,
            base + FAIR,
            "out",
            "--now",
            now,
            cwd=tmp_path,
        )
    )
    second = _suggested(cfg, slug, tmp_path)
    assert base + FAIR not in {r["url"] for r in second}
    assert len(second) == len(first) - 1

    label_args = ("--config", str(cfg), "story", "label")
    for bad, code, named in [
        ((slug, base + "/nowhere.html", "in"), 1, "/nowhere.html"),
        (("no-such-story", base + FAIR, "in"), 1, "no-such-story"),
        ((slug, base + FAIR, "in", "--clear"), 2, "--clear"),
        ((slug, base + FAIR), 2, "in or out"),
        ((slug, base + FAIR, "--clear", "--note", "x"), 2, "--note"),
        ((slug, base + BONSPIEL, "--clear"), 1, "no label"),
    ]:
        done = monitor(*label_args, *bad, cwd=tmp_path)
        assert done.returncode == code, (bad, done.stderr)
        assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr
        assert named in done.stderr
    seed = next(
        a["url"]
        for a in _articles(_export(cfg, slug, tmp_path)).values()
        if a["relation"] == "seed"
    )
    done = monitor(*label_args, slug, seed, "out", cwd=tmp_path)
    assert done.returncode == 1 and "seed" in done.stderr
    unknown = monitor("--config", str(cfg), "story", "labels", "no-such-story", cwd=tmp_path)
    assert unknown.returncode == 1 and "no-such-story" in unknown.stderr


def test_label_storage_keeps_history_and_the_newest_counts(demo_config, replay, manifest, db_url):
    """Every label is a row and the newest of an article counts: relabelled, the newest value
    and note stand; cleared, the article has no label and leaves the list while its history
    stays counted; the fitted threshold is kept with the story and read back."""
    config = with_db(demo_config, db_url)
    _rounds(config, replay, manifest)
    now = _after_rounds(manifest)
    with open_app(config, now=now) as app:
        (story,) = app.stories
        with app.db.read() as session:
            fair = members.story_scores(session, story.id)[0].article_id
        with app.db.write() as session:
            labels.add(session, story_id=story.id, article_id=fair, value="in", note="a", now=now)
            later = now + timedelta(minutes=1)
            labels.add(
                session, story_id=story.id, article_id=fair, value="out", note="b", now=later
            )
            labels.set_fitted(session, story.id, 0.3)
        with app.db.read() as session:
            assert labels.current(session, story.id, fair) == labels.Label("out", "b", later)
            assert set(labels.current_labels(session, story.id)) == {fair}
            (row,) = labels.labelled(session, story.id)
            assert (row.label.value, row.given) == ("out", 2)
            assert labels.fitted(session, story.id) == 0.3
        with app.db.write() as session:
            labels.add(
                session, story_id=story.id, article_id=fair, value="clear", note=None, now=later
            )
            labels.set_fitted(session, story.id, None)
        with app.db.read() as session:
            assert labels.current(session, story.id, fair) is None
            assert labels.current_labels(session, story.id) == {}
            assert labels.labelled(session, story.id) == []
            assert labels.fitted(session, story.id) is None
        with app.db.write() as session, pytest.raises(ValueError, match="maybe"):
            labels.add(
                session, story_id=story.id, article_id=fair, value="maybe", note=None, now=now
            )


def test_an_article_the_story_never_decided_can_be_labelled(demo_config, replay, manifest, db_url):
    """A story that follows two outlets never decided the others' articles; labelling one of
    them decides it first (as a backfill would) and the label stands: ``in`` makes it a member
    and ``out`` off-topic, each with the matcher's verdict kept beside the label; its new
    decisions then use the fitted threshold (``story_settings``). A URL not in the archive is
    a LabelError naming it."""
    config = with_db(demo_config, db_url)
    (story_config,) = config.stories
    only_two = dataclasses.replace(story_config, sources=("Capital Wire", "Northern Ledger"))
    config = dataclasses.replace(config, stories=(only_two,))
    _rounds(config, replay, manifest)
    now = _after_rounds(manifest)
    base = replay.base
    with open_app(config, now=now) as app:
        (story,) = app.stories
        done = label(app, story, base + MIGRANTS, "in", note=None, now=now)
        assert (done.before, done.after) == (None, "original")
        fair = label(app, story, base + FAIR, "out", note="county news", now=now)
        assert (fair.before, fair.after) == (None, "off_topic")
        with app.db.read() as session:
            built = checked(storyfile.build(session, story.slug))
            settings = app.story_settings(story, session)
        assert settings.story_threshold == (done.fitted if fair.fitted is None else fair.fitted)
        relation, entry = _where(built, base + MIGRANTS)
        assert relation == "original" and entry["label"]["value"] == "in"
        assert entry["match"]["matcher"]["kind"] in ("same_story", "off_topic")
        relation, entry = _where(built, base + FAIR)
        assert relation == "off_topic" and entry["label"]["note"] == "county news"
        with pytest.raises(LabelError, match="nowhere"):
            label(app, story, base + "/nowhere.html", "in", note=None, now=now)


N1 = "/northern-ledger/2023/03/23/ottawa-washington-roxham-road-deal.html"
D2 = "/daily-digest/2023/03/25/ottawa-washington-roxham-deal-biden-arrives.html"


def _relation(app, story, url: str) -> tuple[str, str | None, str | None]:
    """The story's relation to ``url``, what it copies and its label's value."""
    with app.db.read() as session:
        built = checked(storyfile.build(session, story.slug))
    relation, entry = _where(built, url)
    label_ = entry["label"]
    return relation, entry.get("copy_of"), label_["value"] if label_ else None


def test_a_copy_labelled_in_stays_when_its_original_leaves_and_clearing_restores_both(
    demo_config, replay, manifest, db_url
):
    """A copy labelled ``in`` stays a copy; when its original is labelled ``out`` the copy stays
    in the story as an original (its label decides) instead of leaving with it. The original's
    label withdrawn, the matcher takes it back in through the copy stage: published first, it
    leads its copy group again and the labelled copy points at it. An off-topic article labelled
    ``in`` and then cleared leaves the story again."""
    config = with_db(demo_config, db_url)
    _rounds(config, replay, manifest)
    now = _after_rounds(manifest)
    base = replay.base
    with open_app(config, now=now) as app:
        (story,) = app.stories
        assert _relation(app, story, base + D2) == ("copy", base + N1, None)
        kept = label(app, story, base + D2, "in", note=None, now=now)
        assert (kept.before, kept.after, kept.changes) == ("copy", "copy", [])
        assert _relation(app, story, base + D2) == ("copy", base + N1, "in")

        out = label(app, story, base + N1, "out", note="wrong story", now=now)
        assert (out.before, out.after) == ("original", "off_topic")
        assert _relation(app, story, base + N1) == ("off_topic", None, "out")
        assert _relation(app, story, base + D2) == ("original", None, "in")

        back = label(app, story, base + N1, "clear", note=None, now=now + timedelta(minutes=1))
        assert back.after == "original" and back.fitted is None
        assert _relation(app, story, base + N1) == ("original", None, None)
        assert _relation(app, story, base + D2) == ("copy", base + N1, "in")

        joined = label(app, story, base + BONSPIEL, "in", note=None, now=now)
        assert (joined.before, joined.after) == ("off_topic", "original")
        left = label(app, story, base + BONSPIEL, "clear", note=None, now=now)
        assert left.after == "off_topic"
        assert _relation(app, story, base + BONSPIEL) == ("off_topic", None, None)
