"""``monitor demo``: the whole pipeline, offline, on a replay of a small story.

The story (monitor/demo/story/) was written by the project: five fictional outlets covering the
Roxham Road closure over three poll rounds, with an edited article, two republished copies, a
page taken down and two off-topic articles. A ReplayServer serves it on 127.0.0.1; the real
pipeline polls it with the clock set to each round's time; the story file and the digests are
written to the output folder.
"""

from __future__ import annotations

import shutil
import tomllib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from monitor import config as configmod
from monitor.app import open_app
from monitor.demo.server import ReplayServer
from monitor.match.facts import story_facts
from monitor.poll.round import poll
from monitor.publish import digest, render
from storage import storyfile

STORY = Path(__file__).with_name("story")


def manifest() -> dict[str, Any]:
    with (STORY / "manifest.toml").open("rb") as f:
        return tomllib.load(f)


def demo_config(base: str, out: Path, data: dict[str, Any]) -> configmod.Config:
    """The configuration the demo runs with: the replay's outlets, an SQLite file in ``out``."""
    return configmod.Config(
        path="<demo>",
        storage=configmod.StorageSettings(url=f"sqlite:///{(out / 'demo.sqlite').resolve()}"),
        # One local server stands in for five outlets: no per-host pause between its answers.
        fetch=configmod.FetchSettings(allow_private_networks=True, per_host_delay=0.0),
        email=configmod.EmailSettings(to=["you@example.invalid"], outbox_dir=str(out / "outbox")),
        sources=tuple(
            configmod.Source(
                url=base + o["feed"],
                name=o["name"],
                interval=configmod.parse_duration(o["interval"]),
            )
            for o in data["outlet"]
        ),
        stories=(
            configmod.Story(
                slug=data["slug"],
                title=data["title"],
                seeds=STORY / "seeds",
                keywords=tuple(data["keywords"]),
            ),
        ),
    )


@dataclass
class DemoResult:
    story: dict[str, Any]
    story_json: Path
    story_md: Path
    digests: list[str] = field(default_factory=list)
    rounds: list[str] = field(default_factory=list)

    def summary(self) -> str:
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
        return "\n".join(lines)


def _clean(out: Path) -> None:
    """Remove what an earlier demo left in ``out`` (only the demo's own files)."""
    for name in ("demo.sqlite", "demo.sqlite-wal", "demo.sqlite-shm"):
        (out / name).unlink(missing_ok=True)
    if (out / "outbox").is_dir():
        shutil.rmtree(out / "outbox")
    for path in out.glob("*.story.*"):
        path.unlink()


def run(out: Path) -> DemoResult:
    data = manifest()
    out.mkdir(parents=True, exist_ok=True)
    _clean(out)
    rounds = [r["name"] for r in data["round"]]
    digests: list[str] = []
    lines: list[str] = []
    with ReplayServer(STORY, rounds) as server:
        config = demo_config(server.base, out, data)
        first = datetime.fromisoformat(data["round"][0]["now"])
        with open_app(config, now=first) as app:
            for spec in data["round"]:
                server.set_round(spec["name"])
                now = datetime.fromisoformat(spec["now"])
                report = poll(app, now=now)
                sent = digest.send_due(app, now=now)
                digests += [d.delivered_to for d in sent]
                line = (
                    f"{spec['name']} at {now.isoformat()}: {report.sources_polled} feeds "
                    f"polled, {report.articles_new} new articles ({report.originals} "
                    f"original, {report.copies} {'copy' if report.copies == 1 else 'copies'}, "
                    f"{report.off_topic} off-topic), "
                    f"{report.updates} updated, {report.removed} removed"
                )
                print(line, flush=True)
                lines.append(line)
            with app.db.read() as session:
                story = storyfile.build(session, data["slug"], facts=story_facts)
    assert story is not None
    json_path = out / f"{data['slug']}.story.json"
    md_path = out / f"{data['slug']}.story.md"
    json_path.write_text(render.story_json(story), encoding="utf-8")
    md_path.write_text(render.story_markdown(story), encoding="utf-8")
    return DemoResult(story, json_path, md_path, digests, [])
