"""``monitor demo``: the whole pipeline, offline, on a replay of a small story.

The story (monitor/demo/story/) was written by the project: five fictional outlets covering the
Roxham Road closure over three poll rounds, with an edited article, two republished copies, a
page taken down and two off-topic articles. A ReplayServer serves it on 127.0.0.1; the real
pipeline polls it with the clock set to each round's time; the story file and the digests are
written to the output folder.
"""

from __future__ import annotations

import json
import shlex
import shutil
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from monitor import config as configmod
from monitor.app import App, open_app
from monitor.demo.server import ReplayServer
from monitor.errors import UserError
from monitor.match.facts import story_facts
from monitor.poll.round import poll
from monitor.publish import digest, render
from monitor.stories import facts as kept_facts
from storage import stories, storyfile

STORY = Path(__file__).with_name("story")
DATABASE = "demo.sqlite"
CONFIG = "monitor.toml"


def manifest() -> dict[str, Any]:
    with (STORY / "manifest.toml").open("rb") as f:
        return tomllib.load(f)


# The first line of the configuration file the demo writes: a file without it is not the demo's,
# and the demo never overwrites it.
MARKER = "# news-monitor demo configuration: written by `monitor demo`, rewritten by each run."


def config_toml(base: str, out: Path, data: dict[str, Any]) -> str:
    """The demo's configuration as a TOML file: the replay's outlets at ``base``, an SQLite
    file and the outbox in ``out``, the demo story with its seeds (absolute paths, so the
    file works from any folder)."""
    out = out.resolve()

    def value(v: object) -> str:
        # JSON's strings and lists of strings are valid TOML.
        return json.dumps(v, ensure_ascii=False)

    lines = [
        MARKER,
        "# The sources point at the demo's replay server, which stopped with the demo: the",
        "# commands that read the story (story export, story diff, search, explain) work on it.",
        "",
        "[storage]",
        f"url = {value(f'sqlite:///{out / DATABASE}')}",
        "",
        "[fetch]",
        "allow_private_networks = true",
        "# One local server stands in for five outlets: no per-host pause between its answers.",
        "per_host_delay = 0",
        "",
        "[email]",
        f"to = {value(['you@example.invalid'])}",
        f"outbox_dir = {value(str(out / 'outbox'))}",
    ]
    for o in data["outlet"]:
        lines += ["", "[[source]]", f"name = {value(o['name'])}"]
        lines += [f"url = {value(base + o['feed'])}", f"interval = {value(o['interval'])}"]
    lines += [
        "",
        "[[story]]",
        f"slug = {value(data['slug'])}",
        f"title = {value(data['title'])}",
        f"seeds = {value(str((STORY / 'seeds').resolve()))}",
        f"keywords = {value(list(data['keywords']))}",
    ]
    return "\n".join(lines) + "\n"


def demo_config(base: str, out: Path, data: dict[str, Any]) -> configmod.Config:
    """The configuration the demo runs with (``config_toml``), read as the file is."""
    text = config_toml(base, out, data)
    return configmod.from_mapping(tomllib.loads(text), where="<demo>", base=out, env={})


@dataclass
class DemoResult:
    story: dict[str, Any]
    story_json: Path
    story_md: Path
    digests: list[str] = field(default_factory=list)
    rounds: list[str] = field(default_factory=list)
    config: Path | None = None  # the configuration file written beside the data
    versions: list[int] = field(default_factory=list)  # the story's version after each round

    def summary(self, program: str = "monitor") -> str:
        """What the demo did and wrote, then commands to try on its data, run as ``program``
        (the command as the user can type it)."""
        articles = [a for o in self.story["outlets"] for a in o["articles"]]
        counts = {
            r: sum(1 for a in articles if a["relation"] == r) for r in ("seed", "original", "copy")
        }
        versions = sum(len(a["versions"]) for a in articles)
        lines = [
            *self.rounds,
            "",
            f"story {self.story['story']!r} version {self.story['version']}: "
            f"{len(self.story['outlets'])} outlets, {len(articles)} articles "
            f"({counts['seed']} seed, {counts['original']} original, {counts['copy']} copies), "
            f"{versions} versions, {len(self.story['off_topic'])} judged off-topic, "
            f"{sum(1 for a in articles if a['status'] == 'removed')} removed",
            f"story file: {self.story_json}",
            f"            {self.story_md}",
            *[f"digest:     {d}" for d in self.digests],
        ]
        if self.config is not None:
            lines += [f"configuration: {self.config}", *self.commands(program)]
        return "\n".join(lines)

    def commands(self, program: str = "monitor") -> list[str]:
        """Commands to try on the demo's data, each under a line saying what it shows."""
        assert self.config is not None
        run = f"{program} --config {shlex.quote(str(self.config))} story"
        slug = shlex.quote(self.story["story"])
        lines = ["try:", "  the story file as Markdown:", f"    {run} export {slug} --format md"]
        if len(self.versions) > 1:
            first, last = self.versions[0], self.versions[-1]
            lines += [
                f"  the story as it stood after the first round (version {first}):",
                f"    {run} export {slug} --as-of {first} --format md",
                f"  what the later rounds changed (versions {first} to {last}):",
                f"    {run} diff {slug} {first} {last}",
            ]
        page = shlex.quote(str(self.config.parent / "story.html"))
        lines += [
            "  the story as one web page (timeline, side-by-side diffs):",
            f"    {run} export {slug} --format html -o {page}",
            "  who first reported each fact, and who carried it later:",
            f"    {run} facts {slug}",
            "  the web pages and the JSON API (http://127.0.0.1:8080/, Ctrl-C stops):",
            f"    {program} --config {shlex.quote(str(self.config))} serve",
        ]
        return lines


def _clean(out: Path) -> None:
    """Remove what an earlier demo left in ``out`` (only the demo's own files)."""
    for name in (DATABASE, f"{DATABASE}-wal", f"{DATABASE}-shm"):
        (out / name).unlink(missing_ok=True)
    if (out / "outbox").is_dir():
        shutil.rmtree(out / "outbox")
    for path in out.glob("*.story.*"):
        path.unlink()


def _ours(out: Path) -> None:
    """A UserError if ``out`` holds a configuration file the demo did not write."""
    path = out / CONFIG
    if path.exists() and not path.read_text(encoding="utf-8").startswith(MARKER):
        raise UserError(f"{path}: exists and was not written by the demo; give another --out")


def run(out: Path) -> DemoResult:
    """Poll the replay round by round with the clock set to each round's time, send the
    digests, and write the story file and the configuration (``out``/monitor.toml) that the
    commands the summary prints read."""
    data = manifest()
    out.mkdir(parents=True, exist_ok=True)
    _ours(out)
    _clean(out)
    rounds = [r["name"] for r in data["round"]]
    result = DemoResult({}, out / f"{data['slug']}.story.json", out / f"{data['slug']}.story.md")
    with ReplayServer(STORY, rounds) as server:
        result.config = out / CONFIG
        result.config.write_text(config_toml(server.base, out, data), encoding="utf-8")
        # Read as the commands after the demo read it: the digests name it.
        config = configmod.load(result.config, env={})
        first = datetime.fromisoformat(data["round"][0]["now"])
        with open_app(config, now=first) as app:
            for spec in data["round"]:
                _round(app, server, spec, result)
            with app.db.read() as session:
                story = storyfile.build(session, data["slug"], facts=story_facts)
    assert story is not None
    result.story = story
    result.story_json.write_text(render.story_json(story), encoding="utf-8")
    result.story_md.write_text(render.story_markdown(story), encoding="utf-8")
    return result


def _round(app: App, server: ReplayServer, spec: dict[str, Any], result: DemoResult) -> None:
    """One round of the replay: poll at its time, send the digests, print what it did."""
    server.set_round(spec["name"])
    now = datetime.fromisoformat(spec["now"])
    report = poll(app, now=now)
    result.digests += [d.delivered_to for d in digest.run(app, now=now).delivered]
    kept_facts.refresh(app, now=now)
    with app.db.read() as session:
        result.versions += [s.version for s in stories.list_stories(session)]
    line = (
        f"{spec['name']} at {now.isoformat()}: {report.sources_polled} feeds "
        f"polled, {report.articles_new} new articles ({report.originals} "
        f"original, {report.copies} {'copy' if report.copies == 1 else 'copies'}, "
        f"{report.off_topic} off-topic), "
        f"{report.updates} updated, {report.removed} removed"
    )
    print(line, flush=True)
