"""The ``monitor`` command through its real entry point (``python -m monitor`` in a subprocess):
exit codes, standard output and standard error, against the demo replay on 127.0.0.1."""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import shlex
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from monitor import config as configmod
from monitor import demo
from monitor.app import open_app
from storage.db import open_database
from storage.models import Article
from tests.conftest import (
    REPO,
    SHARED_DATA,
    STORY_ARTICLE_KEYS,
    STORY_TIMELINE_KEYS,
    STORY_VERSION_KEYS,
    toml_value,
    write_demo_config,
)
from tests.storyschema import checked

ROUND_1 = "2023-03-23T18:00:00+00:00"
BASE = re.compile(r"http://127\.0\.0\.1:\d+")

ARTICLE_KEYS = STORY_ARTICLE_KEYS
VERSION_KEYS = STORY_VERSION_KEYS
TIMELINE_KEYS = STORY_TIMELINE_KEYS
EXTRACT_KEYS = {
    "source",
    "title",
    "text",
    "authors",
    "published_at",
    "updated_at",
    "canonical_url",
    "language",
}


def monitor(*args: str, cwd: Path, env: dict[str, str] | None = None):
    """Run ``python -m monitor ARGS`` in ``cwd`` with no MONITOR_* variable set."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    clean["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), clean.get("PYTHONPATH")]))
    clean.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
    )


def ok(proc: subprocess.CompletedProcess) -> None:
    """The command exited 0 without a traceback (the message shows what it printed)."""
    shown = f"{proc.args[2:]} -> {proc.returncode}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    assert proc.returncode == 0, shown
    assert "Traceback" not in proc.stderr, shown


def check_story_contract(story: dict) -> None:
    """The keys GUIDE §3 promises in a story file, and the whole of its JSON Schema."""
    checked(story)
    assert {"story", "title", "version", "updated_at", "outlets", "timeline"} <= set(story)
    assert isinstance(story["version"], int) and story["version"] > 0
    assert story["outlets"], "at least one outlet"
    for outlet in story["outlets"]:
        assert {"name", "domain", "articles"} <= set(outlet)
        for article in outlet["articles"]:
            assert set(article) >= ARTICLE_KEYS, sorted(ARTICLE_KEYS - set(article))
            assert article["relation"] in ("seed", "original", "copy")
            assert (article["copy_of"] is not None) == (article["relation"] == "copy")
            assert article["versions"]
            for version in article["versions"]:
                assert set(version) >= VERSION_KEYS, sorted(VERSION_KEYS - set(version))
    assert story["timeline"]
    for event in story["timeline"]:
        assert set(event) >= TIMELINE_KEYS
        assert event["event"] in ("first_report", "copy", "update", "removed")


def _path(url: str | None) -> str | None:
    return BASE.sub("", url) if url else url


def relations(story: dict) -> dict[str, tuple]:
    """Each article's relation, copy_of and version count, keyed by URL path (ports differ)."""
    return {
        _path(a["url"]): (a["relation"], _path(a["copy_of"]), len(a["versions"]))
        for o in story["outlets"]
        for a in o["articles"]
    }


# --- monitor demo ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """``monitor demo --out DIR`` run once; what it printed and wrote, read at once."""
    cwd = tmp_path_factory.mktemp("demo-cwd")
    out = cwd / "out"
    proc = monitor("demo", "--out", str(out), cwd=cwd)
    story_json = out / f"{demo.manifest()['slug']}.story.json"
    digests = re.findall(r"^digest:\s+(\S+)$", proc.stdout, re.M)
    return {
        "proc": proc,
        "out": out,
        "cwd": cwd,
        "story": checked(json.loads(story_json.read_text("utf-8")))
        if story_json.is_file()
        else None,
        "markdown": (out / f"{demo.manifest()['slug']}.story.md").read_text("utf-8")
        if story_json.is_file()
        else None,
        "digests": {d: Path(d).read_bytes() for d in digests if Path(d).is_file()},
        "digest_paths": digests,
    }


@pytest.mark.slow
def test_demo_exits_0_and_prints_a_summary_naming_files_that_exist(demo_run, manifest):
    """``monitor demo`` exits 0 and prints each round, the story's counts (outlets, articles,
    copies, versions) and the story file and digest paths, which all exist."""
    proc = demo_run["proc"]
    ok(proc)
    out = proc.stdout
    for spec in manifest["round"]:
        assert f"{spec['name']} at {spec['now']}" in out
    summary = re.search(
        r"(\d+) outlets, (\d+) articles \((\d+) seed, (\d+) original, (\d+) copies\), "
        r"(\d+) versions",
        out,
    )
    assert summary, out
    outlets, articles, seeds, originals, copies, versions = map(int, summary.groups())
    on_topic = [e for e in manifest["expect"] if e["relation"] != "off_topic"]
    assert originals == sum(e["relation"] == "original" for e in on_topic)
    assert copies == sum(e["relation"] == "copy" for e in on_topic)
    assert articles == seeds + originals + copies
    assert versions == seeds + sum(e["versions"] for e in on_topic)
    assert outlets == len(manifest["outlet"]) + 1  # and the seeds' outlet
    files = re.findall(r"^(?:story file:|\s+)\s*(/\S+\.story\.(?:json|md))$", out, re.M)
    assert [Path(f).suffix for f in files] == [".json", ".md"], out
    for f in files:
        assert Path(f).is_file() and Path(f).parent == demo_run["out"]
    assert len(demo_run["digest_paths"]) == len(manifest["round"])
    assert set(demo_run["digests"]) == set(demo_run["digest_paths"]), "every digest exists"


@pytest.mark.slow
def test_demo_story_file_has_the_contract_keys(demo_run, manifest):
    """The demo's story JSON has every key GUIDE §3 promises, and the ground truth's
    relations and copies."""
    story = demo_run["story"]
    assert story is not None
    check_story_contract(story)
    assert story["story"] == manifest["slug"] and story["title"] == manifest["title"]
    got = relations(story)
    for expect in manifest["expect"]:
        if expect["relation"] == "off_topic":
            assert expect["path"] not in got
            continue
        relation, copy_of, versions = got[expect["path"]]
        assert relation == expect["relation"], expect["path"]
        assert copy_of == (expect["copy_of"] or None), expect["path"]
        assert versions == expect["versions"], expect["path"]
    assert {e["event"] for e in story["timeline"]} == {"first_report", "copy", "update", "removed"}


@pytest.mark.slow
def test_demo_digests_are_multipart_alternative_with_text_and_html(demo_run, manifest):
    """Each .eml digest parses as multipart/alternative with a text/plain and a text/html part
    that both name the story."""
    assert demo_run["digests"]
    for path, raw in demo_run["digests"].items():
        assert path.endswith(".eml")
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert message.get_content_type() == "multipart/alternative", path
        parts = {p.get_content_type(): p for p in message.iter_parts()}
        assert set(parts) == {"text/plain", "text/html"}, path
        assert manifest["title"] in parts["text/plain"].get_content()
        assert "<html" in parts["text/html"].get_content().lower()
        assert message["Subject"] and message["From"]


@pytest.mark.slow
def test_demo_story_markdown_puts_headings_and_items_on_their_own_lines(demo_run):
    """In the Markdown story file '## Timeline' is a heading line and each timeline event is
    its own list item."""
    lines = demo_run["markdown"].splitlines()
    assert "## Timeline" in lines
    timeline = lines[lines.index("## Timeline") + 1 :]
    items = [line for line in timeline if line.startswith("- 20")]
    assert len(items) == len(demo_run["story"]["timeline"])


@pytest.mark.slow
def test_the_commands_the_demo_and_its_digest_suggest_work_on_its_data(demo_run, manifest):
    """The demo writes its configuration beside its data and prints commands that read it:
    each, run through the real entry point from the same folder, exits 0 (the Markdown file,
    the file as it stood after the first round, what the later rounds changed, the web page,
    the facts; the last, `serve`, runs until stopped and is tested in test_serve), and its
    digests say what happened in words, with no command line for the reader to run."""
    proc = demo_run["proc"]
    ok(proc)
    config = demo_run["out"] / "monitor.toml"
    assert f"configuration: {config}" in proc.stdout and config.is_file()
    commands = [shlex.split(line) for line in re.findall(r"^    (monitor .+)$", proc.stdout, re.M)]
    assert len(commands) == 6, proc.stdout
    assert commands[5] == ["monitor", "--config", str(config), "serve"]
    outputs = []
    for command in commands[:5]:
        assert command[:3] == ["monitor", "--config", str(config)]
        run = monitor(*command[1:], cwd=demo_run["cwd"])
        ok(run)
        outputs.append(run.stdout)
    markdown, first_round, diff, _, facts = outputs
    assert markdown == demo_run["markdown"]
    page = Path(commands[3][commands[3].index("-o") + 1])
    assert page.read_text("utf-8").startswith("<!DOCTYPE html>")
    assert "first " in facts and "Capital Wire" in facts
    version = int(commands[1][commands[1].index("--as-of") + 1])
    assert first_round.startswith(f"# {manifest['title']}\n")
    assert f"version {version}, updated {manifest['round'][0]['now']}" in first_round
    assert f"from version {version} (" in diff and "New articles (" in diff
    for raw in demo_run["digests"].values():
        message = email.message_from_bytes(raw, policy=email.policy.default)
        text = message.get_body(("plain",)).get_content()
        assert message["Subject"].startswith(manifest["title"] + ": ")
        assert "monitor " not in text


def test_suggested_commands_name_the_program_as_the_user_can_run_it(tmp_path, monkeypatch):
    """The demo's suggested commands start with what runs this program again: ``monitor`` when
    the shell finds it (or it ran as ``python -m monitor``), else the path it ran as, quoted
    (the README's ``.venv/bin/monitor demo`` does not put it on PATH)."""
    from monitor.cli.common import program

    folder = tmp_path / "my venv" / "bin"
    folder.mkdir(parents=True)
    script = folder / "monitor"
    script.write_text("#!/bin/sh\n", encoding="utf-8")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(sys, "argv", [str(script), "demo"])
    assert program() == shlex.quote(str(script)) and " " in str(script)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{folder}")
    assert program() == "monitor"
    monkeypatch.setattr(sys, "argv", [str(REPO / "monitor" / "__main__.py"), "demo"])
    assert program() == "monitor"


@pytest.mark.slow
def test_digest_status_lists_the_demos_digests_and_preview_shows_the_next(demo_run, manifest):
    """On the demo's data, `digest status` lists each digest the demo wrote, sent to the outbox
    after one attempt (as JSON too, with the file it went to); `digest preview` prints the next
    digest of the story without recording it (the whole story, as nothing new waits), as text
    or HTML; an unknown story or recipient is one line and exit 2 (the user's mistake)."""
    config = str(demo_run["out"] / "monitor.toml")
    cwd, slug = demo_run["cwd"], manifest["slug"]
    table = monitor("--config", config, "digest", "status", cwd=cwd)
    ok(table)
    lines = table.stdout.splitlines()
    assert len(lines) == len(demo_run["digest_paths"])
    assert all("\tsent\t1 attempt\t" in line and f"\t{slug}\t" in line for line in lines)
    listed = monitor("--config", config, "digest", "status", "--json", cwd=cwd)
    ok(listed)
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert sorted(r["delivered_to"] for r in rows) == sorted(demo_run["digest_paths"])
    assert {r["state"] for r in rows} == {"sent"} and all(r["events"] > 0 for r in rows)

    text = monitor("--config", config, "digest", "preview", slug, cwd=cwd)
    ok(text)
    assert text.stdout.startswith(manifest["title"].upper() + "\n")
    assert "Capital Wire" in text.stdout and "<" not in text.stdout.splitlines()[0]
    html = monitor("--config", config, "digest", "preview", slug, "--format", "html", cwd=cwd)
    ok(html)
    assert "<html" in html.stdout and "<script" not in html.stdout
    again = monitor("--config", config, "digest", "status", cwd=cwd)
    assert again.stdout == table.stdout  # a preview records nothing

    unknown = monitor("--config", config, "digest", "preview", "no-such-story", cwd=cwd)
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1
    assert "no-such-story: no such story" in unknown.stderr
    stranger = monitor(
        "--config", config, "digest", "preview", slug, "--recipient", "x@example.org", cwd=cwd
    )
    assert stranger.returncode == 2 and "--recipient x@example.org: not a recipient" in (
        stranger.stderr
    )


@pytest.mark.slow
def test_an_export_into_a_missing_folder_or_a_closed_pipe_is_no_traceback(demo_run, manifest):
    """`story export -o` into a folder that does not exist is one line naming the path, exit
    1; an export whose reader has gone (`... | head`) ends quietly, exit 0: neither prints a
    traceback."""
    config = str(demo_run["out"] / "monitor.toml")
    cwd, slug = demo_run["cwd"], manifest["slug"]
    missing = cwd / "no-such-folder" / "story.md"
    refused = monitor("--config", config, "story", "export", slug, "-o", str(missing), cwd=cwd)
    assert refused.returncode == 1
    assert refused.stderr == f"monitor: error: {missing}: No such file or directory\n"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    args = [sys.executable, "-m", "monitor", "--config", config, "story", "export", slug]
    reader_gone = subprocess.Popen(
        [*args, "--format", "json"], cwd=cwd, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    assert reader_gone.stdout is not None and reader_gone.stderr is not None
    reader_gone.stdout.close()  # before the command writes: its first write meets a closed pipe
    with reader_gone.stderr:
        assert reader_gone.wait(timeout=120) == 0
        assert reader_gone.stderr.read() == b""


@pytest.mark.slow
def test_demo_leaves_a_configuration_file_it_did_not_write_alone(tmp_path):
    """A monitor.toml in --out that the demo did not write is kept: exit 2, one error line
    naming it, the file unchanged."""
    mine = tmp_path / "monitor.toml"
    mine.write_text("[storage]\nurl = 'sqlite:///mine.sqlite'\n", encoding="utf-8")
    line = _one_error_line(monitor("demo", "--out", str(tmp_path), cwd=tmp_path))
    assert str(mine) in line and "not written by the demo" in line
    assert mine.read_text("utf-8") == "[storage]\nurl = 'sqlite:///mine.sqlite'\n"


@pytest.mark.slow
def test_demo_twice_gives_the_same_story(demo_run):
    """A second ``monitor demo`` into the same folder replaces the first and writes the same
    story: relations, copy_of, versions, timeline, every field but the replay's port."""
    first = demo_run["story"]
    proc = monitor("demo", "--out", str(demo_run["out"]), cwd=demo_run["cwd"])
    ok(proc)
    (story_file,) = demo_run["out"].glob("*.story.json")
    second = checked(json.loads(story_file.read_text("utf-8")))
    assert relations(second) == relations(first)
    assert second["version"] == first["version"]
    events = [
        [(e["at"], e["event"], _path(e["url"])) for e in s["timeline"]] for s in (first, second)
    ]
    assert events[0] == events[1]
    port = re.compile(r"127\.0\.0\.1:\d+")
    # The replay's ETags hash the bytes it serves, which name its port.
    etag = re.compile(r'"etag": "\\"[0-9a-f]{40}\\""')

    def same(story: dict) -> str:
        return etag.sub('"etag": "ETAG"', port.sub("HOST", json.dumps(story)))

    assert same(second) == same(first)
    assert len(list((demo_run["out"] / "outbox").glob("*.eml"))) == len(demo_run["digests"])


# --- poll, story, search, digest against the replay ----------------------------------------


def write_config(tmp_path: Path, replay, manifest: dict) -> Path:
    """A configuration for the replay: SQLite and outbox in tmp_path, one source per outlet,
    the demo story with its seeds."""
    return write_demo_config(
        tmp_path / "monitor.toml",
        base=replay.base,
        manifest=manifest,
        db=tmp_path / "monitor.sqlite",
        outbox=tmp_path / "outbox",
    )


@pytest.fixture
def polled(tmp_path: Path, replay, manifest: dict) -> tuple[Path, subprocess.CompletedProcess]:
    """The replay's first round polled once by ``monitor --config FILE poll --now ...``."""
    config = write_config(tmp_path, replay, manifest)
    proc = monitor("--config", str(config), "poll", "--now", ROUND_1, cwd=tmp_path)
    return config, proc


def _counts(stdout: str) -> dict[str, int]:
    match = re.search(
        r"polled (\d+) sources \((\d+) failed, (\d+) unchanged\), (\d+) new articles: "
        r"(\d+) original, (\d+) copies, (\d+) off-topic, (\d+) not articles; "
        r"(\d+) updated, (\d+) removed; (\d+) digests",
        stdout,
    )
    assert match, stdout
    names = "polled failed unchanged new original copies off_topic not_articles updated"
    return dict(zip([*names.split(), "removed", "digests"], map(int, match.groups()), strict=True))


@pytest.mark.slow
def test_poll_then_poll_again_poll_all_and_digest_send(polled, tmp_path, manifest):
    """``poll --now`` polls every source and prints the round's counts, and merges the search
    index its articles made into one segment (storage.searchmerge: due, never merged); the
    same --now again polls nothing; ``--all`` polls every source again (unchanged); ``digest
    send`` then has nothing due because poll already wrote the digest to the outbox."""
    config, proc = polled
    ok(proc)
    _merged_at(tmp_path / "monitor.sqlite", ROUND_1)
    first = [e for e in manifest["expect"] if e["first_round"] == "round-1"]
    counts = _counts(proc.stdout)
    assert counts["polled"] == len(manifest["outlet"])
    assert counts["failed"] == 0
    assert counts["new"] == len(first)
    assert counts["original"] == sum(e["relation"] == "original" for e in first)
    assert counts["off_topic"] == sum(e["relation"] == "off_topic" for e in first)
    assert counts["copies"] == 0 and counts["updated"] == 0 and counts["removed"] == 0
    assert counts["digests"] == 1
    outbox = list((tmp_path / "outbox").glob("*.eml"))
    assert len(outbox) == 1

    again = monitor("--config", str(config), "poll", "--now", ROUND_1, cwd=tmp_path)
    ok(again)
    assert _counts(again.stdout)["polled"] == 0
    assert _counts(again.stdout)["new"] == 0

    everything = monitor("--config", str(config), "poll", "--all", "--now", ROUND_1, cwd=tmp_path)
    ok(everything)
    counts = _counts(everything.stdout)
    assert counts["polled"] == len(manifest["outlet"])
    assert counts["unchanged"] == len(manifest["outlet"])  # 304 to the ETag we kept
    assert counts["new"] == 0 and counts["digests"] == 0

    sent = monitor("--config", str(config), "digest", "send", "--now", ROUND_1, cwd=tmp_path)
    ok(sent)
    assert sent.stdout.strip() == "no digest due: nothing new, or not yet time by the schedules"
    assert list((tmp_path / "outbox").glob("*.eml")) == outbox


def _merged_at(path: Path, when: str) -> None:
    """The search index at ``path`` is one segment, merged by the round at ``when``."""
    from storage import meta, searchmerge

    db = open_database(f"sqlite:///{path}", existing=True)
    try:
        with db.read() as session:
            assert searchmerge.segments(session) == 1
            assert meta.get(session, "search_index_merged_at") == when
    finally:
        db.close()


@pytest.mark.slow
def test_story_list_export_and_search_after_a_poll(polled, tmp_path, manifest, replay):
    """After a poll: ``story list`` shows the story; ``story export`` prints the contract JSON
    and Markdown with the title and a Timeline; ``search`` prints hits, or the no-hit line."""
    config, proc = polled
    ok(proc)
    slug = manifest["slug"]

    listed = monitor("--config", str(config), "story", "list", cwd=tmp_path)
    ok(listed)
    (line,) = [x for x in listed.stdout.splitlines() if x.startswith(slug + "\t")]
    assert manifest["title"] in line

    exported = monitor(
        "--config", str(config), "story", "export", slug, "--format", "json", cwd=tmp_path
    )
    ok(exported)
    story = json.loads(exported.stdout)
    check_story_contract(story)
    assert story["story"] == slug and story["title"] == manifest["title"]
    urls = {a["url"] for o in story["outlets"] for a in o["articles"]}
    originals = [e for e in manifest["expect"] if e["first_round"] == "round-1"]
    for expect in originals:
        assert (replay.url(expect["path"]) in urls) == (expect["relation"] != "off_topic")

    markdown = monitor(
        "--config", str(config), "story", "export", slug, "--format", "md", cwd=tmp_path
    )
    ok(markdown)
    assert markdown.stdout.startswith(f"# {manifest['title']}\n")
    assert "## Timeline" in markdown.stdout
    assert not markdown.stdout.lstrip().startswith("{")

    found = monitor("--config", str(config), "search", "roxham", cwd=tmp_path)
    ok(found)
    hit_urls = re.findall(r"^    (http\S+)$", found.stdout, re.M)
    assert hit_urls and set(hit_urls) <= urls
    assert "no article matches" not in found.stdout

    nothing = monitor("--config", str(config), "search", "zzzz qqqq", cwd=tmp_path)
    ok(nothing)
    assert nothing.stdout.strip() == "no article matches 'zzzz qqqq'"


# --- user mistakes ---------------------------------------------------------------------------


def _one_error_line(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("monitor: error: "), lines[0]
    return lines[0]


def test_bad_toml_file_is_one_error_line(tmp_path):
    """A configuration file that is not valid TOML: exit 2, one line naming the file, the
    problem and the line."""
    config = tmp_path / "broken.toml"
    config.write_text('[poll]\ntick = "1m"\nbatch_size 50\n', encoding="utf-8")
    line = _one_error_line(monitor("--config", str(config), "poll", cwd=tmp_path))
    assert str(config) in line and "invalid TOML" in line and "line 3" in line


def test_unknown_key_is_one_error_line(tmp_path):
    """An unknown key: exit 2, one line naming the file, the section and the key."""
    config = tmp_path / "typo.toml"
    config.write_text("[fetch]\nallow_private_network = true\n", encoding="utf-8")
    line = _one_error_line(monitor("--config", str(config), "story", "list", cwd=tmp_path))
    assert str(config) in line
    assert "[fetch] allow_private_network: unknown setting" in line


def test_missing_config_file_is_one_error_line(tmp_path):
    """--config naming a missing file, or MONITOR_CONFIG doing so: exit 2, one line naming it."""
    line = _one_error_line(monitor("--config", "nope.toml", "poll", cwd=tmp_path))
    assert line == "monitor: error: nope.toml: no such configuration file"
    proc = monitor("sources", cwd=tmp_path, env={"MONITOR_CONFIG": "gone.toml"})
    assert _one_error_line(proc) == "monitor: error: gone.toml: no such configuration file"


# The library modules that make start-up slow; a configuration mistake is answered before any.
HEAVY = ("httpx", "sqlalchemy", "trafilatura", "datasketch", "numpy")
CONFIGURED = [
    ("poll",),
    ("run",),
    ("extract", "page.html"),
    ("story", "list"),
    ("story", "export", "s"),
    ("story", "export", "s", "--as-of", "3"),
    ("story", "diff", "s", "1", "2"),
    ("story", "facts", "s"),
    ("story", "scores", "s"),
    ("story", "scores", "s", "--suggest"),
    ("story", "label", "s", "https://example.org/a", "in", "--note", "why"),
    ("story", "label", "s", "https://example.org/a", "--clear"),
    ("story", "labels", "s"),
    ("story", "redecide", "s"),
    ("story", "backfill", "s"),
    ("search", "roxham"),
    ("explain", "https://example.org/a"),
    ("digest", "send"),
    ("sources",),
    ("sources", "add", "example.org"),
    ("sources", "import", "feeds.opml"),
    ("sources", "export"),
]


def _run_noting_imports(
    cwd: Path, heavy: tuple[str, ...], *args: str
) -> tuple[subprocess.CompletedProcess[str], int, list[str]]:
    """``monitor ARGS`` through ``monitor.cli.main`` in a fresh interpreter with no MONITOR_*
    variables: the process, the command's exit code, and which of ``heavy`` it had imported."""
    script = (
        "import json, sys\n"
        "from monitor.cli import main\n"
        "code = main(sys.argv[1:])\n"
        f"print(json.dumps([code, [m for m in {heavy!r} if m in sys.modules]]))\n"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    clean["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), clean.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=cwd,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    code, imported = json.loads(proc.stdout.splitlines()[-1])
    return proc, code, imported


@pytest.mark.parametrize("command", CONFIGURED, ids=" ".join)
def test_a_configuration_mistake_is_answered_before_the_library_is_imported(tmp_path, command):
    """Every command that reads the configuration, given a broken one through the real entry
    point, exits 2 with the one error line without having imported httpx, SQLAlchemy,
    trafilatura, datasketch or numpy (so the answer is quick)."""
    config = tmp_path / "broken.toml"
    config.write_text("x = [\n", encoding="utf-8")
    proc, code, imported = _run_noting_imports(tmp_path, HEAVY, "--config", str(config), *command)
    assert code == 2
    assert proc.stderr.startswith(f"monitor: error: {config}: invalid TOML"), proc.stderr
    assert imported == [], f"imported before the configuration was read: {imported}"


def test_now_without_offset_is_one_error_line(tmp_path):
    """``--now`` without a UTC offset: exit 2, one line naming --now."""
    line = _one_error_line(monitor("poll", "--now", "2023-03-23T18:00:00", cwd=tmp_path))
    assert "--now" in line and "offset" in line


@pytest.mark.slow
def test_a_command_that_only_reads_imports_no_heavy_library(tmp_path):
    """``story list`` on an existing archive, through the real entry point, prints its stories
    without having imported httpx, trafilatura, lxml, datasketch, numpy, Alembic or the
    PostgreSQL dialect: a command that only reads an SQLite archive pays for SQLAlchemy alone."""
    url = "sqlite:///" + str(tmp_path / "m.sqlite")
    open_database(url).close()  # migrated here: the command finds the schema at its head
    config = tmp_path / "m.toml"
    config.write_text(f"[storage]\nurl = {toml_value(url)}\n", encoding="utf-8")
    heavy = ("httpx", "trafilatura", "lxml", "datasketch", "numpy", "scipy", "alembic")
    heavy += ("sqlalchemy.dialects.postgresql",)
    _, code, imported = _run_noting_imports(
        tmp_path, heavy, "--config", str(config), "story", "list"
    )
    assert code == 0
    assert imported == [], f"imported to list the stories: {imported}"


@pytest.mark.slow
def test_listing_the_sources_reads_no_seed_and_imports_no_pipeline_library(tmp_path):
    """``sources`` brings the configured sources into the archive and lists them, through the
    real entry point, without reading the stories' seed files (the commands that decide or
    read articles do) and so without having imported the HTTP client, the feed parser, the
    extractor, the matcher (numpy) or datasketch, on an archive with its seeds stored or not."""
    url = "sqlite:///" + str(tmp_path / "m.sqlite")
    open_database(url).close()  # an archive: the command brings the configuration into it
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "a.txt").write_text(
        "title: Roxham Road\n\n" + "Québec and Ottawa close Roxham Road. " * 20, "utf-8"
    )
    config = tmp_path / "m.toml"
    config.write_text(
        f"[storage]\nurl = {toml_value(url)}\n\n"
        '[[source]]\nname = "Wire"\nurl = "https://wire.example/feed.xml"\n\n'
        f'[[story]]\nslug = "roxham"\ntitle = "Roxham Road"\nseeds = {toml_value(str(seeds))}\n',
        encoding="utf-8",
    )
    heavy = ("httpx", "feedparser", "trafilatura", "numpy", "datasketch", "scipy")
    args = ("--config", str(config), "sources")
    for seeds_stored in (False, True):
        proc, code, imported = _run_noting_imports(tmp_path, heavy, *args)
        assert code == 0
        assert proc.stdout.startswith("Wire\tnew")
        assert imported == [], f"imported to list the sources: {imported}"
        with open_database(url).read() as session:
            stored = session.scalar(select(func.count()).select_from(Article))
        assert stored == seeds_stored  # the seed is the next full start's
        if not seeds_stored:
            open_app(configmod.load(config), now=datetime.now(UTC)).close()


def test_unknown_story_is_one_error_line(tmp_path):
    """``story export`` of a slug that does not exist in an empty archive: exit 2, one line
    naming the slug."""
    url = "sqlite:///" + str(tmp_path / "m.sqlite")
    open_database(url).close()  # an empty archive: a command that only reads makes none
    config = tmp_path / "empty.toml"
    config.write_text(f"[storage]\nurl = {toml_value(url)}\n", encoding="utf-8")
    proc = monitor("--config", str(config), "story", "export", "no-such-story", cwd=tmp_path)
    line = _one_error_line(proc)
    assert "'no-such-story'" in line
    assert proc.stdout == ""


# --- extract and help ------------------------------------------------------------------------


def _pages() -> tuple[Path, Path]:
    html = SHARED_DATA / "article_html" / "newspaper4k" / "html" / "cnn_article.html"
    if not html.is_file():
        html = sorted((SHARED_DATA / "article_html").rglob("*.html"))[0]
    gz = sorted((SHARED_DATA / "article_extraction_benchmark" / "html").glob("*.html.gz"))
    return html, (gz[0] if gz else sorted((SHARED_DATA / "article_html").rglob("*.html"))[1])


@pytest.mark.slow
@pytest.mark.skipif(
    not (SHARED_DATA / "article_html").is_dir(), reason="../shared/data/article_html absent"
)
def test_extract_prints_one_json_line_per_input_and_exits_1_on_a_failure(tmp_path):
    """``extract`` prints one JSON object per input in order, the readable pages with every
    contract field and the missing one with ``error``, and exits 1 because one failed; with
    only readable pages it exits 0."""
    html, other = _pages()
    missing = tmp_path / "missing.html"
    proc = monitor("extract", str(html), str(other), str(missing), cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    assert [r["source"] for r in rows] == [str(html), str(other), str(missing)]
    for row in rows[:2]:
        assert set(row) >= EXTRACT_KEYS, sorted(EXTRACT_KEYS - set(row))
        assert "error" not in row
        assert row["title"] and len(row["text"].split()) > 50
        assert isinstance(row["authors"], list)
    assert set(rows[2]) == {"source", "error"} and rows[2]["error"]

    both = monitor("extract", str(html), str(other), cwd=tmp_path)
    ok(both)
    assert [json.loads(line)["source"] for line in both.stdout.splitlines()] == [
        str(html),
        str(other),
    ]


def test_help_lists_every_command(tmp_path):
    """``python -m monitor --help`` exits 0 and lists each command."""
    proc = monitor("--help", cwd=tmp_path)
    ok(proc)
    commands = set(re.findall(r"^    (\w+)\s", proc.stdout, re.M))
    assert {"poll", "run", "demo", "extract", "story", "search", "digest", "sources"} <= commands


@pytest.mark.slow
@pytest.mark.slow
@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one core: OpenBLAS starts no thread")
def test_a_command_that_imports_numpy_starts_no_blas_threads_unless_asked(demo_run):
    """``story scores`` (which imports numpy) through the real entry point ends with one
    thread, the main one: OpenBLAS's threads, which spin between its calls, are not started.
    A value of OPENBLAS_NUM_THREADS the user set is kept and obeyed."""
    story = next(demo_run["out"].glob("*.story.json")).name.removesuffix(".story.json")
    script = (
        "import json, os, sys\n"
        "from monitor.cli import main\n"
        "code = main(sys.argv[1:])\n"
        "print(json.dumps([code, len(os.listdir('/proc/self/task')),"
        " os.environ.get('OPENBLAS_NUM_THREADS')]))\n"
    )
    config = str(demo_run["out"] / "monitor.toml")
    for given, threads in ((None, 1), ("2", 2)):
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MONITOR_", "OPENBLAS"))}
        env["PYTHONPATH"] = str(REPO)
        if given is not None:
            env["OPENBLAS_NUM_THREADS"] = given
        proc = subprocess.run(
            [sys.executable, "-c", script, "--config", config, "story", "scores", story],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout.splitlines()[-1]) == [0, threads, given or "1"]


def test_story_scores_lists_the_same_story_decisions_by_their_margin(demo_run):
    """``monitor story scores SLUG`` lists every article the same-story stage decided, with its
    score, what it needed, the margin and the terms that added most to the score: the story's
    members have a margin of 0 or more, the off-topic articles a negative one, in margin order;
    ``--limit`` keeps those nearest the threshold; ``--threshold`` shows which decisions another
    threshold would flip; an unknown slug or a threshold out of range is exit 2."""
    story = checked(json.loads(next(demo_run["out"].glob("*.story.json")).read_text("utf-8")))
    env = {"MONITOR_STORAGE_URL": f"sqlite:///{demo_run['out'] / 'demo.sqlite'}"}
    slug = story["story"]
    proc = monitor("story", "scores", slug, "--json", "--limit", "0", cwd=demo_run["cwd"], env=env)
    ok(proc)
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    articles = [a for o in story["outlets"] for a in o["articles"]]
    originals = {_path(a["url"]) for a in articles if a["relation"] == "original"}
    in_story = {_path(r["url"]) for r in rows if r["kind"] == "same_story"}
    assert in_story and in_story <= originals
    assert {_path(r["url"]) for r in rows if r["kind"] == "off_topic"} == {
        _path(a["url"]) for a in story["off_topic"]
    }
    for r in rows:
        assert (r["margin"] >= 0) == (r["kind"] == "same_story"), r
        assert r["margin"] == pytest.approx(r["score"] - r["needed"], abs=1e-4)
        assert len(r["shared_terms"]) == 5, r  # what added most to the score
    assert [r["margin"] for r in rows] == sorted((r["margin"] for r in rows), reverse=True)

    proc = monitor("story", "scores", slug, "--limit", "2", cwd=demo_run["cwd"], env=env)
    ok(proc)
    nearest = sorted(rows, key=lambda r: abs(r["margin"]))[:2]
    assert f"{len(rows)} articles scored" in proc.stdout
    assert all(r["url"] in proc.stdout for r in nearest)
    shared = ", ".join(t.lstrip("#") for t in nearest[0]["shared_terms"])
    assert f"shared: {shared}" in proc.stdout
    assert sum(r["url"] in proc.stdout for r in rows) == 2

    # What a higher threshold would decide: the member nearest the line would leave.
    nearest_in = min((r for r in rows if r["kind"] == "same_story"), key=lambda r: r["margin"])
    higher = round((nearest_in["score"] + 0.001) * (2 if nearest_in["keyword_hits"] else 1), 4)
    args = ("story", "scores", slug, "--threshold", str(higher), "--limit", "0")
    proc = monitor(*args, "--json", cwd=demo_run["cwd"], env=env)
    ok(proc)
    flips = [json.loads(line) for line in proc.stdout.splitlines()]
    flips = [r for r in flips if r["would_be"] != r["kind"]]
    assert nearest_in["url"] in {r["url"] for r in flips}
    assert all(r["kind"] == "same_story" and r["score"] < r["needed"] for r in flips)
    proc = monitor(*args, cwd=demo_run["cwd"], env=env)
    ok(proc)
    assert f"at {higher}: 0 would join the story and {len(flips)} leave it" in proc.stdout
    assert proc.stdout.count("(would flip)") == len(flips)

    proc = monitor("story", "scores", "no-such-story", cwd=demo_run["cwd"], env=env)
    assert "'no-such-story'" in _one_error_line(proc)
    proc = monitor("story", "scores", slug, "--threshold", "3", cwd=demo_run["cwd"], env=env)
    assert "--threshold" in _one_error_line(proc)


@pytest.mark.slow
def test_explain_prints_the_stored_reason_of_every_decision(demo_run):
    """``monitor explain URL`` says, for a copy, what it copies and why (scores and
    thresholds), and for an off-topic article why it was left out; an unknown URL is exit 2."""
    # Read the story file again: another test re-runs the demo into the same folder (new port).
    story = checked(json.loads(next(demo_run["out"].glob("*.story.json")).read_text("utf-8")))
    env = {"MONITOR_STORAGE_URL": f"sqlite:///{demo_run['out'] / 'demo.sqlite'}"}
    copy = next(a for o in story["outlets"] for a in o["articles"] if a["relation"] == "copy")
    proc = monitor("explain", copy["url"], cwd=demo_run["cwd"], env=env)
    ok(proc)
    assert "is a copy in story" in proc.stdout
    assert f"copy of: {copy['copy_of']}" in proc.stdout
    assert "because: " in proc.stdout and "thresholds: " in proc.stdout

    off = story["off_topic"][0]
    proc = monitor("explain", off["url"], cwd=demo_run["cwd"], env=env)
    ok(proc)
    assert "was judged off-topic" in proc.stdout and "TF-IDF cosine" in proc.stdout

    proc = monitor("explain", "http://nowhere.example/x", cwd=demo_run["cwd"], env=env)
    assert proc.returncode == 2
    assert proc.stderr.startswith("monitor: error: http://nowhere.example/x")
    assert "Traceback" not in proc.stderr
