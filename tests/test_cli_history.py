"""``monitor story export --as-of`` and ``monitor story diff`` through the real entry point
(``python -m monitor``), on an archive of the demo replay's three rounds polled once for the
module, with the story file exported after each round to compare against."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from monitor import config as configmod
from monitor import demo
from monitor.app import open_app
from monitor.demo.server import ReplayServer
from monitor.poll.round import poll
from storage import storyfile
from tests.conftest import at, write_demo_config
from tests.test_cli import _one_error_line, monitor, ok


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The replay's rounds polled into an SQLite file named by a configuration file; each
    round's time and the story file exported after it."""
    tmp = tmp_path_factory.mktemp("archive")
    manifest = demo.manifest()
    with ReplayServer(demo.STORY, [r["name"] for r in manifest["round"]]) as server:
        path = write_demo_config(
            tmp / "monitor.toml",
            base=server.base,
            manifest=manifest,
            db=tmp / "monitor.sqlite",
            outbox=tmp / "outbox",
        )
        exported = []
        with open_app(configmod.load(path, env={}), now=at(manifest["round"][0]["now"])) as app:
            for spec in manifest["round"]:
                server.set_round(spec["name"])
                poll(app, now=at(spec["now"]))
                with app.db.read() as session:
                    exported.append((spec["now"], storyfile.build(session, manifest["slug"])))
    yield {"config": path, "cwd": tmp, "slug": manifest["slug"], "exported": exported}


def _run(archive: dict, *args: str):
    return monitor("--config", str(archive["config"]), "story", *args, cwd=archive["cwd"])


@pytest.mark.slow
def test_export_as_of_a_version_or_a_time_prints_the_file_exported_then(archive):
    """``story export SLUG --as-of N`` and ``--as-of TIME`` print the JSON exported after the
    round that made version N (at that round's time), ``--format md`` its Markdown."""
    (when, first), _, (_, last) = archive["exported"]
    by_version = _run(archive, "export", archive["slug"], "--as-of", str(first["version"]))
    ok(by_version)
    assert json.loads(by_version.stdout) == first
    by_time = _run(archive, "export", archive["slug"], "--as-of", when)
    ok(by_time)
    assert json.loads(by_time.stdout) == first
    markdown = _run(
        archive, "export", archive["slug"], "--as-of", str(first["version"]), "--format", "md"
    )
    ok(markdown)
    assert f"version {first['version']}, updated {when}" in markdown.stdout
    current = _run(archive, "export", archive["slug"], "--as-of", str(last["version"]))
    ok(current)
    assert json.loads(current.stdout) == last


@pytest.mark.slow
def test_story_diff_prints_the_changes_in_words_and_as_json(archive):
    """``story diff SLUG A B`` prints a heading naming both versions and a section per kind of
    change, each line with its story version; ``--json`` prints the same changes for scripts;
    times work as well as version numbers."""
    (when1, first), (when2, second), (_, last) = archive["exported"]
    text = _run(archive, "diff", archive["slug"], str(first["version"]), str(last["version"]))
    ok(text)
    changes = last["version"] - first["version"]
    assert (
        f"from version {first['version']} ({when1}) to version {last['version']} "
        f"({last['updated_at']}): {changes} changes" in text.stdout
    )
    for heading in ("New articles (", "New versions (1)", "Taken down (1)"):
        assert heading in text.stdout
    for version in range(first["version"] + 1, last["version"] + 1):
        assert f"  v{version}  " in text.stdout
    as_json = _run(archive, "diff", archive["slug"], when1, when2, "--json")
    ok(as_json)
    data = json.loads(as_json.stdout)
    assert (data["from"]["version"], data["to"]["version"]) == (first["version"], second["version"])
    assert [c["story_version"] for c in data["changes"]] == list(
        range(first["version"] + 1, second["version"] + 1)
    )
    assert all(c["says"] and c["outlet"] and c["url"] for c in data["changes"])
    same = _run(archive, "diff", archive["slug"], str(last["version"]), str(last["version"]))
    ok(same)
    assert ": 0 changes" in same.stdout


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        pytest.param(
            ("export", "S", "--as-of", "yesterday"),
            "--as-of: expected a story version (0, 1, 2...) or an ISO 8601 time with a UTC "
            "offset, got 'yesterday'",
            id="not-a-point",
        ),
        pytest.param(
            ("export", "S", "--as-of", "2023-03-24T12:00:00"),
            "--as-of: give a UTC offset",
            id="no-offset",
        ),
        pytest.param(("diff", "S", "-1", "3"), "FROM: expected a story version", id="negative"),
        pytest.param(("diff", "S", "1", "soon"), "TO: expected a story version", id="bad-to"),
    ],
)
def test_a_point_that_is_neither_a_version_nor_a_time_is_one_error_line(tmp_path, args, needle):
    """An --as-of, FROM or TO that is not a version number or an ISO 8601 time with an offset:
    exit 2, one line naming the option and what it expects, nothing on standard output."""
    proc = monitor("story", *args, cwd=tmp_path)
    assert needle in _one_error_line(proc)
    assert proc.stdout == ""


@pytest.mark.slow
def test_a_point_the_story_never_had_is_one_error_line(archive):
    """A version past the current one, a time before the story existed, a FROM later than TO
    and an unknown story: exit 2, one line saying what the story has."""
    slug, last = archive["slug"], archive["exported"][-1][1]["version"]
    cases = [
        (("export", slug, "--as-of", "999"), f"--as-of: story {slug!r} has versions 0 to {last}"),
        (
            ("export", slug, "--as-of", "2001-01-01T00:00:00Z"),
            f"--as-of: story {slug!r} was created at ",
        ),
        (("diff", slug, "3", "2000"), f"TO: story {slug!r} has versions 0 to {last}, not 2000"),
        (("diff", slug, str(last), "1"), f"FROM ({last}: version {last}) comes after TO"),
        (("diff", "nope", "1", "2"), "no story 'nope'"),
    ]
    for args, needle in cases:
        proc = _run(archive, *args)
        assert needle in _one_error_line(proc), args
        assert proc.stdout == ""


def test_help_names_the_new_options(tmp_path):
    """``story export --help`` documents --as-of; ``story diff --help`` FROM, TO and --json."""
    export = monitor("story", "export", "--help", cwd=tmp_path)
    ok(export)
    assert "--as-of VERSION_OR_TIME" in export.stdout
    diff = monitor("story", "diff", "--help", cwd=tmp_path)
    ok(diff)
    assert "FROM" in diff.stdout and "TO" in diff.stdout and "--json" in diff.stdout
