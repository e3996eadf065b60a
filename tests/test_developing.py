"""Following a story as it develops: the demo replay's three rounds, then follow-ups a week, two
weeks, a month and seven weeks later (tests/developing/story.toml), each round polled through
``monitor poll --now`` on one SQLite file, as a user's scheduler would; then the story file."""

from __future__ import annotations

import html
import json
import shutil
import tomllib
from collections.abc import Iterator
from email.utils import format_datetime
from pathlib import Path

import pytest

from monitor import demo
from monitor.demo.server import ReplayServer
from tests.conftest import at, write_demo_config
from tests.test_cli import monitor, ok

SPEC = Path(__file__).parent / "developing" / "story.toml"


def _page(article: dict) -> str:
    """An article page as outlets publish them: metadata in the head, the text in <article>."""
    esc = html.escape
    paragraphs = "\n".join(
        f"<p>{esc(p.strip())}</p>" for p in article["text"].strip().split("\n\n") if p.strip()
    )
    return f"""<!doctype html>
<html lang="{article["lang"]}">
<head><meta charset="utf-8"><title>{esc(article["title"])} | {esc(article["outlet"])}</title>
<meta property="og:title" content="{esc(article["title"])}">
<meta property="og:site_name" content="{esc(article["outlet"])}">
<meta property="article:published_time" content="{article["published"]}">
<link rel="canonical" href="{{{{BASE}}}}{article["path"]}"></head>
<body><nav><a href="/">Home</a> | <a href="/news/">News</a></nav>
<article><h1>{esc(article["title"])}</h1>
<time datetime="{article["published"]}">{article["published"][:10]}</time>
{paragraphs}
</article><footer>Copyright 2023 {esc(article["outlet"])}</footer></body></html>
"""


def _feed(items: list[dict]) -> str:
    """An RSS 2.0 channel listing ``items`` (the parser reads it at any path)."""
    entries = "".join(
        f"<item><title>{html.escape(a['title'])}</title><link>{{{{BASE}}}}{a['path']}</link>"
        f"<guid>{{{{BASE}}}}{a['path']}</guid>"
        f"<pubDate>{format_datetime(at(a['published']))}</pubDate></item>"
        for a in items
    )
    title = html.escape(items[0]["outlet"])
    head = '<?xml version="1.0" encoding="utf-8"?><rss version="2.0">'
    return f"{head}<channel><title>{title}</title>{entries}</channel></rss>\n"


def build_replay(root: Path) -> dict:
    """The demo story folder copied to ``root`` with the spec's rounds added: each article's
    page, and each outlet's feed listing that round's articles."""
    spec = tomllib.loads(SPEC.read_text(encoding="utf-8"))
    shutil.copytree(demo.STORY, root)
    for spec_round in spec["round"]:
        feeds: dict[str, list[dict]] = {}
        for article in spec["article"]:
            if article["round"] != spec_round["name"]:
                continue
            page = root / spec_round["name"] / article["path"].lstrip("/")
            page.parent.mkdir(parents=True, exist_ok=True)
            page.write_text(_page(article), encoding="utf-8")
            feeds.setdefault(article["feed"], []).append(article)
        for path, items in feeds.items():
            feed = root / spec_round["name"] / path.lstrip("/")
            feed.parent.mkdir(parents=True, exist_ok=True)
            feed.write_text(_feed(items), encoding="utf-8")
    return spec


@pytest.fixture(scope="module")
def followed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Every round of the demo and the spec polled with ``monitor poll --now``, then every
    article the story stage decided, with its relation (``story scores --json``)."""
    tmp = tmp_path_factory.mktemp("developing")
    spec = build_replay(tmp / "story")
    manifest = demo.manifest()
    rounds = [*manifest["round"], *spec["round"]]
    with ReplayServer(tmp / "story", [r["name"] for r in rounds]) as server:
        config = write_demo_config(
            tmp / "monitor.toml",
            base=server.base,
            manifest=manifest,
            db=tmp / "monitor.sqlite",
            outbox=tmp / "outbox",
        )
        for spec_round in rounds:
            server.set_round(spec_round["name"])
            ok(monitor("--config", str(config), "poll", "--now", spec_round["now"], cwd=tmp))
        scores = monitor("--config", str(config), "story", "scores", manifest["slug"], "--json",
                         cwd=tmp)  # fmt: skip
        ok(scores)
        yield {
            "scores": [json.loads(line) for line in scores.stdout.splitlines()],
            "spec": spec,
            "base": server.base,
            "config": config,
            "cwd": tmp,
            "slug": manifest["slug"],
        }


def _relations(followed: dict) -> dict[str, str]:
    """Each article of the spec (by path) and its relation in the story (absent: never
    decided)."""
    by_url = {row["url"]: row["relation"] for row in followed["scores"]}
    return {
        a["path"]: by_url.get(followed["base"] + a["path"], "absent")
        for a in followed["spec"]["article"]
    }


@pytest.mark.slow
def test_follow_ups_a_week_to_seven_weeks_later_join_the_story(followed):
    """Reports published a week, two weeks, a month and seven weeks after the deal, in English
    and in French, an editorial among them, join the story as originals: the story grows with
    its coverage, and time is measured from its latest reporting, not from the seeds."""
    relations = _relations(followed)
    wanted_in = [a["path"] for a in followed["spec"]["article"] if a["expect"] == "in"]
    assert len(wanted_in) == 6
    assert {p: relations[p] for p in wanted_in} == dict.fromkeys(wanted_in, "original")


@pytest.mark.slow
def test_a_neighbouring_story_with_the_same_names_stays_out(followed):
    """The Biden-Trudeau summit's other agreements, reported the same week with the same names
    (Biden, Trudeau, Ottawa), in English and in French, are judged off topic."""
    relations = _relations(followed)
    wanted_out = [a["path"] for a in followed["spec"]["article"] if a["expect"] == "out"]
    assert len(wanted_out) == 2
    assert {p: relations[p] for p in wanted_out} == dict.fromkeys(wanted_out, "off_topic")
