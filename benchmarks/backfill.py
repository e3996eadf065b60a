"""Backfill: a story configured after its articles were stored, decided by ``monitor story
backfill`` through the database, as the service would.

Run: ``.venv/bin/python benchmarks/backfill.py [--stories N] [--database-url URL]``; with
``--from wayback [--articles N]``, the story rebuilt from web archives instead
(benchmarks/wayback.py: requests and time per article of a replayed backfill).

The 825 articles of BASIL, ECB+ and NewsWCL50 (../shared/data/dedup_story, read in place) are
stored as one source's articles (``create_article`` and ``store_version``, which count their
terms and store their signatures), into a fresh SQLite file by default. Then N stories (default
6, as many from each set), each seeded with its event's first article in the benchmark's order
(``benchmarks.matching.seeds_of``), are backfilled one after the other: every stored article is
decided against each story, copy stage first, oldest first, members anchoring the story as they
join. The table gives the time, articles decided per second, and the precision and recall of
the story's members against the event's other articles (a handful of seeds: a sanity check of
the database path, not the seeded F1 of benchmarks/matching.py, which scores every event).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.matching import DATASETS, load_articles, seeds_of, story_rows  # noqa: E402
from benchmarks.report import table, versions  # noqa: E402
from monitor import config as configmod  # noqa: E402
from monitor.app import open_app  # noqa: E402
from monitor.match import MatchSettings, fingerprint  # noqa: E402
from monitor.poll.record import store_version  # noqa: E402
from monitor.stories.backfill import backfill  # noqa: E402
from storage import members  # noqa: E402
from storage.articles import create_article  # noqa: E402
from storage.models import Source  # noqa: E402

NOW = datetime(2024, 1, 1, tzinfo=UTC)


def _seed_file(folder: Path, title: str | None, text: str, published: datetime | None) -> Path:
    folder.mkdir(parents=True)
    header = ["outlet: benchmark"] + ([f"title: {title}"] if title else [])
    if published is not None:
        header.append(f"published_at: {published.date().isoformat()}")
    (folder / "seed.txt").write_text("\n".join([*header, "", text]) + "\n", encoding="utf-8")
    return folder


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--from" in argv:
        at = argv.index("--from")
        if argv[at + 1 : at + 2] != ["wayback"]:
            raise SystemExit("--from: only wayback is benchmarked")
        from benchmarks import wayback

        wayback.main(argv[:at] + argv[at + 2 :])
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stories", type=int, default=6)
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    args = parser.parse_args(argv)

    articles = load_articles()
    seeds = seeds_of(articles)
    per_set = max(1, args.stories // len(DATASETS))
    chosen = [i for d in DATASETS for i in [s for s in seeds if articles[s].dataset == d][:per_set]]
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        url = args.database_url or f"sqlite:///{work / 'backfill.sqlite'}"
        stories = tuple(
            configmod.Story(
                slug=f"event-{n}",
                title=articles[s].event,
                seeds=_seed_file(
                    work / f"seeds-{n}",
                    articles[s].title,
                    articles[s].text,
                    articles[s].published_at,
                ),
            )
            for n, s in enumerate(chosen)
        )
        source = configmod.Source(url="http://127.0.0.1:9/feed.xml", name="bench")
        config = configmod.Config(
            path="<backfill benchmark>",
            storage=configmod.StorageSettings(url=url),
            sources=(source,),
        )
        # Stored while no story is configured, as articles collected before one is added.
        started = time.perf_counter()
        with open_app(config, now=NOW) as app:
            settings = app.match_settings
            with app.db.write() as session:
                source_id = session.query(Source.id).filter(Source.name == "bench").scalar()
                for n, a in enumerate(articles):
                    article = create_article(
                        session,
                        url=f"https://bench.test/{n}",  # keys repeat
                        source_id=source_id,
                        outlet="bench",
                        domain="bench.test",
                        title=a.title,
                        published_at=a.published_at,
                        first_seen_at=NOW + timedelta(seconds=n),
                    )
                    fp = fingerprint(a.text, settings)
                    store_version(
                        session,
                        article,
                        title=a.title,
                        text=a.text,
                        fp=fp,
                        now=NOW,
                        changes={},
                        previous=None,
                    )
        stored = time.perf_counter() - started

        # What benchmarks/matching.py's seeded scoring (in memory, the seed alone) accepts.
        threshold = MatchSettings().story_threshold
        seeded = story_rows(articles, MatchSettings(), chosen, workers=1)
        rows = []
        config = dataclasses.replace(config, stories=stories)
        with open_app(config, now=NOW) as app:
            for n, s in enumerate(chosen):
                story = app.stories[n]
                started = time.perf_counter()
                done = backfill(app, story, now=NOW)
                seconds = time.perf_counter() - started
                with app.db.read() as session:
                    found = members.story_members(session, story.id)
                # The seed's own text, stored as an article too, is its copy: left out.
                got = {int(m.url.rsplit("/", 1)[-1]) for m in found if m.relation != "seed"}
                got.discard(s)
                want = {j for j, a in enumerate(articles) if a.event == articles[s].event} - {s}
                row = seeded[n]
                alone = {j for j in range(len(articles)) if j != s and row[j] >= threshold}
                hits = len(got & want)
                rows.append(
                    [
                        articles[s].event,
                        str(done.articles),
                        f"{seconds:.1f}",
                        f"{done.articles / seconds:.0f}",
                        f"{done.originals}+{done.copies}",
                        f"{hits / len(got):.2f}" if got else "-",
                        f"{hits / len(want):.2f}" if want else "-",
                        str(len(alone)),
                        str(len(got ^ alone)),
                    ]
                )
    print(f"backfill benchmark: {len(articles)} articles, {url.split(':')[0]}")
    print(f"stored in {stored:.1f} s ({len(articles) / stored:.0f} articles/s)")
    print(
        table(
            [
                "story (seed's event)",
                "decided",
                "s",
                "articles/s",
                "in story",
                "P",
                "R",
                "seeded: accepted",
                "differ",
            ],
            rows,
        )
    )
    print(", ".join(f"{k} {v}" for k, v in versions("sqlalchemy", "datasketch", "numpy").items()))


if __name__ == "__main__":
    main()
