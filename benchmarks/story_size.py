"""The story's size: the CPU an article costs to decide and store, by the number of members in
the story it is decided against.

Run: ``.venv/bin/python benchmarks/story_size.py [--members 50,1000,5000] [--articles 40]
[--undated N]``

For each size, a fresh SQLite file: the 825 articles of BASIL, ECB+ and NewsWCL50
(../shared/data/dedup_story, read in place) stored as the archive (their terms counted), one story
seeded with the first article of ECB+ event 12ecb (the event with the most articles), and N members
recorded as the story's originals: texts made here (deterministic: each member its own draw of five
sentences of the seed, seven of the event's other articles and three of the whole corpus; about half
anchor the story), dated within a week of each other. Then ``--articles`` articles the story has not
seen (four of the event, held out of the members' sentences, and the rest from other events) are
stored and decided one at a time through ``monitor.poll.ingest.first_version``, the real path of a
poll (band-table candidates, term frequencies read and updated, the decision recorded, the member
remembered by the round's index).

Printed per size: the round's index built (``Indexes.get``: members and their term
frequencies read), the first decision (the story's anchors found), and the CPU per article after
it (mean and median of ``time.process_time``), the ratio to the smallest size's, and how the
articles were decided.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.matching import Article, load_articles  # noqa: E402
from benchmarks.report import machine, table, versions  # noqa: E402
from monitor import config as configmod  # noqa: E402
from monitor.app import App, open_app  # noqa: E402
from monitor.extract.page import Extracted  # noqa: E402
from monitor.match import band_keys, fingerprint  # noqa: E402
from monitor.poll.indexes import Indexes  # noqa: E402
from monitor.poll.ingest import first_version  # noqa: E402
from monitor.poll.record import store_version  # noqa: E402
from monitor.poll.report import RoundReport  # noqa: E402
from storage import lsh, members  # noqa: E402
from storage.articles import create_article  # noqa: E402
from storage.models import Source  # noqa: E402

NOW = datetime(2024, 1, 1, tzinfo=UTC)
EVENT = "ecbplus:12ecb"
HELD_OUT = 4  # of the event's articles, decided and not mixed into the members
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclasses.dataclass(frozen=True)
class Setup:
    seed: Article
    archive: list[Article]
    lead: list[str]  # the seed's sentences, which members retell
    pool: list[str]  # the event's sentences the members are made of
    corpus: list[str]  # every article's sentences
    decided: list[Article]


def _setup(articles: list[Article], count: int) -> Setup:
    event = [a for a in articles if a.event == EVENT]
    seed, rest = event[0], event[1:]
    held = rest[-HELD_OUT:]
    others = [a for a in articles if a.event != EVENT]
    decided = held + others[:: max(1, len(others) // (count - len(held)))][: count - len(held)]
    chosen = {id(a) for a in decided}
    return Setup(
        seed=seed,
        archive=[a for a in articles if id(a) not in chosen and a is not seed],
        lead=[s for s in _SENTENCE.split(seed.text) if len(s) > 40],
        pool=[s for a in rest[:-HELD_OUT] for s in _SENTENCE.split(a.text) if len(s) > 40],
        corpus=[s for a in others for s in _SENTENCE.split(a.text) if len(s) > 40],
        decided=decided,
    )


def member_text(setup: Setup, n: int) -> str:
    """Member ``n``'s text: five sentences of the seed, seven of the event's other articles and
    three of the corpus, drawn by ``n`` (so every size shares its first members)."""
    draw = random.Random(n)
    drawn = draw.sample(setup.lead, 5) + draw.sample(setup.pool, 7) + draw.sample(setup.corpus, 3)
    draw.shuffle(drawn)
    return " ".join(drawn)


def _seed_folder(folder: Path, seed: Article) -> Path:
    folder.mkdir(parents=True)
    header = ["outlet: benchmark", f"title: {seed.title}"] if seed.title else ["outlet: benchmark"]
    header.append(f"published_at: {(NOW - timedelta(days=3)).date().isoformat()}")
    (folder / "seed.txt").write_text("\n".join([*header, "", seed.text]) + "\n", encoding="utf-8")
    return folder


def _populate(app: App, setup: Setup, size: int, undated: int) -> None:
    """The archive stored, and ``size`` members recorded as the story's originals, every
    ``undated``-th of them with no publication date (none if 0)."""
    settings = app.match_settings
    story = app.stories[0]
    with app.db.write() as session:
        source_id = session.query(Source.id).filter(Source.name == "bench").scalar()

        def stored(url: str, title: str | None, text: str, when: datetime | None) -> tuple:
            article = create_article(
                session,
                url=url,
                source_id=source_id,
                outlet="bench",
                domain="bench.test",
                title=title,
                published_at=when,
                first_seen_at=NOW,
            )
            fp = fingerprint(text, settings)
            version, _ = store_version(
                session, article, title=title, text=text, fp=fp, now=NOW, changes={}, previous=None
            )
            return article, version, fp

        for n, a in enumerate(setup.archive):
            stored(f"https://archive.test/{n}", a.title, a.text, a.published_at)
        for n in range(size):
            when = NOW - timedelta(days=3, hours=n % 160)
            if undated and n % undated == undated - 1:
                when = None
            article, version, fp = stored(
                f"https://member.test/{n}", f"Member {n}", member_text(setup, n), when
            )
            members.record_decision(
                session,
                story_id=story.id,
                article_id=article.id,
                relation="original",
                copy_of_id=None,
                similarity=None,
                match={},
                now=NOW,
            )
            bands = band_keys(fp.minhash, settings)
            lsh.fill(session, [(story.id, article.id, version.version, bands)])


def _decide(app: App, indexes: Indexes, n: int, a: Article, report: RoundReport) -> float:
    """CPU seconds to store and decide article ``a`` through the poll's path."""
    with app.db.write() as session:
        source_id = session.query(Source.id).filter(Source.name == "bench").scalar()
        article = create_article(
            session,
            url=f"https://new.test/{n}",
            source_id=source_id,
            outlet="bench",
            domain="bench.test",
            title=a.title,
            published_at=NOW - timedelta(days=2),
            first_seen_at=NOW,
        )
        article_id = article.id
    extracted = Extracted(a.title, a.text, (), None, None, None, None, None)
    started = time.process_time()
    first_version(app, article_id, extracted, "bench", NOW, indexes, report)
    return time.process_time() - started


def run_size(setup: Setup, size: int, work: Path, undated: int) -> list[str]:
    url = f"sqlite:///{work / f'size-{size}.sqlite'}"
    config = configmod.Config(
        path="<story size benchmark>",
        storage=configmod.StorageSettings(url=url),
        sources=(configmod.Source(url="http://127.0.0.1:9/feed.xml", name="bench"),),
        stories=(
            configmod.Story(
                slug="story", title=EVENT, seeds=_seed_folder(work / f"seeds-{size}", setup.seed)
            ),
        ),
    )
    with open_app(config, now=NOW) as app:
        _populate(app, setup, size, undated)
        indexes = Indexes(app)
        report = RoundReport(now=NOW)
        started = time.process_time()
        index = indexes.get(app.stories[0])
        built = time.process_time() - started
        first = _decide(app, indexes, 0, setup.decided[0], report)
        anchors = sum(
            index._story._is_anchor(m.article_id, index._terms.member_vectors())
            for m in index._groups
        )
        costs = [_decide(app, indexes, n, a, report) for n, a in enumerate(setup.decided[1:], 1)]
    decided = Counter(
        {"originals": report.originals, "copies": report.copies, "off topic": report.off_topic}
    )
    return [
        str(size),
        str(anchors),
        f"{built:.2f}",
        f"{first * 1000:.0f}",
        f"{statistics.mean(costs) * 1000:.1f}",
        f"{statistics.median(costs) * 1000:.1f}",
        ", ".join(f"{v} {k}" for k, v in decided.items()),
    ]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--members", default="50,1000,5000")
    parser.add_argument("--articles", type=int, default=40)
    parser.add_argument(
        "--undated",
        type=int,
        default=0,
        metavar="N",
        help="every N-th member has no publication date (pages whose date was not found)",
    )
    args = parser.parse_args(argv)
    before = os.getloadavg()
    articles = load_articles()
    setup = _setup(articles, args.articles)
    sizes = [int(s) for s in args.members.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            rows.append(run_size(setup, size, Path(tmp), args.undated))
    base = float(rows[0][4])
    for row in rows:
        row.insert(6, f"{float(row[4]) / base:.2f}")
    print(
        f"story size benchmark: {len(setup.archive)} archived articles, "
        f"{len(setup.decided)} decided per size ({HELD_OUT} of the story's event), SQLite"
        + (f"; every {args.undated}th member undated" if args.undated else "")
    )
    print(
        table(
            [
                "members",
                "anchors",
                "index built, CPU s",
                "first decision, CPU ms",
                "per article, CPU ms (mean)",
                "median",
                "mean / smallest's",
                "decided",
            ],
            rows,
        )
    )
    print(", ".join(f"{k} {v}" for k, v in versions("sqlalchemy", "datasketch").items()))
    print(machine(before))


if __name__ == "__main__":
    main()
