"""A story rebuilt from the Wayback Machine, replayed: requests and time per article.

Run: ``.venv/bin/python benchmarks/backfill.py --from wayback [--articles 1000]`` (or this
file directly).

A replay server on 127.0.0.1 (tests/archive_replay.py: CDX JSON, ``id_`` captures) serves
ten outlets. The articles are the real reporting of ../shared/data/dedup_story (BASIL, ECB+,
NewsWCL50; reused with a suffix past 825), wrapped in a page. Each outlet's feed was captured
once a day, each capture listing that day's 10 new articles beside the previous day's (20
items, as a feed rolls). Every article has two captures: an hour after publication (its first
version, read from the capture) and a day later with a correction (a past version); its page
on the outlet today is the corrected one (read last, it adds nothing), except one article in
ten, gone from its outlet (404). The story takes every article (threshold
0, every page naming Roxham Road, its keyword), so every article's captures are read. The
backfill runs as ``monitor story backfill --from wayback`` does, in process, with no pause
(``[reach] pause = 0``): the figures are the work, not the politeness (at the default 1 s
pause, the archive's requests alone take a second each).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.matching import load_articles  # noqa: E402
from benchmarks.report import machine, table, versions  # noqa: E402
from monitor import config as configmod  # noqa: E402
from monitor.app import open_app  # noqa: E402
from monitor.stories.wayback import backfill_archive  # noqa: E402
from tests.archive_replay import T1, Replay, gone, page, replay, rss  # noqa: E402

OUTLETS = 10
PER_DAY = 10  # new articles per outlet per day
CORRECTION = "<p>Correction: an earlier version of this article misstated a date.</p>"


def _serve(served: Replay, count: int) -> tuple[list[str], int]:
    """The outlets, their pages and the archive's captures; the feed URLs and the day count."""
    texts = load_articles()
    feeds = [served.url(f"/o{o}/feed.xml") for o in range(OUTLETS)]
    days = -(-count // (OUTLETS * PER_DAY))
    listed: dict[int, list[tuple[str, str, object]]] = {o: [] for o in range(OUTLETS)}
    for n in range(count):
        outlet, day = n % OUTLETS, n // (OUTLETS * PER_DAY)
        article = texts[n % len(texts)]
        title = f"{article.title or article.text[:60]} #{n}"
        published = T1 + timedelta(days=day, minutes=n % 600)
        path = f"/o{outlet}/{n}.html"
        url = served.url(path)
        body = f"{article.text}\nReported near Roxham Road (#{n})."
        html, corrected = page(title, body, published), page(title, body, published, CORRECTION)
        served.set(path, corrected)  # today's page: the correction stands
        if n % 10 == 0:
            gone(served, path)
        served.capture(url, published + timedelta(hours=1), html)
        served.capture(url, published + timedelta(days=1), corrected)
        listed[outlet].append((title, url, published))
    for day in range(days):
        when = T1 + timedelta(days=day, hours=23)
        for outlet, feed in enumerate(feeds):
            items = [i for i in listed[outlet] if i[2] <= when][-2 * PER_DAY :]
            served.capture(feed, when, rss(items))  # type: ignore[arg-type]
    return feeds, days


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1000)
    args = parser.parse_args(argv)
    before = os.getloadavg()
    with replay() as served, tempfile.TemporaryDirectory() as tmp:
        feeds, days = _serve(served, args.articles)
        seeds = Path(tmp) / "seeds"
        seeds.mkdir()
        (seeds / "seed.txt").write_text(
            "title: seed\noutlet: Seed\n\nAsylum seekers crossed at Roxham Road.\n",
            encoding="utf-8",
        )
        config = configmod.Config(
            path="<benchmark>",
            storage=configmod.StorageSettings(url=f"sqlite:///{tmp}/m.sqlite"),
            fetch=configmod.FetchSettings(
                allow_private_networks=True, per_host_delay=0.0, obey_robots=False
            ),
            poll=configmod.PollSettings(extract_processes=0),
            reach=configmod.ReachSettings(wayback_url=served.site.base, pause=0.0, budget=10**6),
            sources=tuple(configmod.Source(url=f, name=f"Outlet {i}") for i, f in enumerate(feeds)),
            stories=(configmod.Story("bench", "Bench", seeds, ("Roxham",), story_threshold=0.0),),
        )
        with open_app(config, now=T1) as app:
            served.site.requests.clear()
            wall, cpu = time.perf_counter(), time.process_time()
            past = backfill_archive(
                app, app.stories[0], since=T1, until=T1 + timedelta(days=days + 1), origin="wayback"
            )
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        archive = len(served.archive_requests())
        outlets = len(served.site.requests) - archive
    n = past.report.articles_new
    print(
        f"wayback backfill, replayed: {n} articles, {past.listings} captured feeds, "
        f"{past.from_captures} pages from captures, {past.versions} past versions, "
        f"{past.live} newer from the outlets' pages today"
    )
    print(
        table(
            ["figure", "total", "per article"],
            [
                ["archive requests (CDX + captures)", str(archive), f"{archive / n:.2f}"],
                ["outlet requests", str(outlets), f"{outlets / n:.2f}"],
                ["wall time (s)", f"{wall:.1f}", f"{wall / n * 1000:.0f} ms"],
                ["CPU time (s)", f"{cpu:.1f}", f"{cpu / n * 1000:.0f} ms"],
            ],
        )
    )
    print(versions("trafilatura", "sqlalchemy", "httpx"))
    print(machine(before))


if __name__ == "__main__":
    main()
