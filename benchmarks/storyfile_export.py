"""The story file's export: building it from the database and rendering each format, on a story
far larger than any real one.

Run: ``.venv/bin/python benchmarks/storyfile_export.py [--articles N] [--versions N]
[--repeat N] [--database FILE]``

A synthetic story (default 5,000 articles in 40 outlets, 20,000 versions, a third of the
articles copies, one timeline event per article and per later version, a few removals) is
written into a fresh SQLite file through the storage layer (``create_article``,
``add_version``, ``record_decision``, ``add_event``), with text of a news article's size (about
650 words, 4.5 kB, a few sentences edited from one version to the next). Then each step is
timed ``--repeat`` times (best and median): ``storyfile.build`` in a read session, and each
rendering of what it built; the HTML page is built with ``texts=True`` (every version's text, for
its diffs) and timed with that build. ``--database FILE`` keeps the database in FILE and reuses
it when it is already there (the data set is then what FILE holds).

``export_section`` returns the table's rows, for ``benchmarks/storyfile.py`` to print beside its
own sections; ``main`` prints it alone with the versions, the data set and the machine's load.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks.report import machine, table, versions  # noqa: E402
from monitor.publish import render  # noqa: E402
from storage import articles, members, stories, storyfile  # noqa: E402
from storage import facts as storyfacts  # noqa: E402
from storage.db import Database, WriteSession, open_database  # noqa: E402

SLUG = "synthetic"
T0 = datetime(2024, 1, 8, 6, tzinfo=UTC)
HEADERS = ("step", "best s", "median s", "output", "goal")
OUTLETS = 40
BATCH = 250  # articles per write transaction


class Text:
    """Deterministic pseudo-news text: sentences of 10-28 words from a 3,000-word vocabulary."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        letters = "abcdefghijklmnopqrstuvwxyzéè"
        self.words = [
            "".join(rng.choice(letters) for _ in range(rng.randint(2, 11))) for _ in range(3000)
        ]

    def sentence(self) -> str:
        words = self.rng.choices(self.words, k=self.rng.randint(10, 28))
        return " ".join(words).capitalize() + self.rng.choice([".", ".", ".", "?", "!"])

    def article(self) -> list[list[str]]:
        """About 650 words: 12 paragraphs of 2-4 sentences."""
        return [[self.sentence() for _ in range(self.rng.randint(2, 4))] for _ in range(12)]

    def edit(self, paragraphs: list[list[str]]) -> list[list[str]]:
        """The next version: one to three sentences rewritten, sometimes a paragraph added."""
        out = [list(p) for p in paragraphs]
        for _ in range(self.rng.randint(1, 3)):
            p = self.rng.randrange(len(out))
            out[p][self.rng.randrange(len(out[p]))] = self.sentence()
        if self.rng.random() < 0.3:
            out.insert(self.rng.randrange(len(out) + 1), [self.sentence(), self.sentence()])
        return out


def _joined(paragraphs: list[list[str]]) -> str:
    return "\n\n".join(" ".join(p) for p in paragraphs)


def _article(session: WriteSession, n: int, rng: random.Random, text: Text) -> Any:
    outlet = n % OUTLETS
    published = T0 + timedelta(minutes=7 * n + rng.randint(0, 6))
    return articles.create_article(
        session,
        url=f"https://outlet{outlet}.example/news/{n:05d}-{rng.getrandbits(32):08x}",
        canonical_url=None,
        outlet=f"Outlet {outlet}",
        domain=f"outlet{outlet}.example",
        title=text.sentence()[:90],
        authors=[f"{text.sentence().split()[0]} {text.sentence().split()[1]}"],
        language="en",
        published_at=published,
        published_precision="time",
        first_seen_at=published + timedelta(minutes=20),
        status="ok",
    )


def _versions(
    session: WriteSession, article: Any, count: int, rng: random.Random, text: Text
) -> list[datetime]:
    """``count`` versions of ``article``, each a few sentences edited from the one before."""
    paragraphs, title, at, out = text.article(), article.title, article.first_seen_at, []
    for number in range(1, count + 1):
        if number > 1:
            paragraphs, at = text.edit(paragraphs), at + timedelta(hours=rng.randint(1, 30))
            title = text.sentence()[:90] if rng.random() < 0.2 else title
        body = _joined(paragraphs)
        articles.add_version(
            session,
            article,
            fetched_at=at,
            title=title,
            text=body,
            content_sha256=hashlib.sha256(body.encode()).hexdigest(),
            word_count=len(body.split()),
            shingle_count=len(body.split()) - 2,
            minhash=rng.randbytes(512),
            changes={} if number == 1 else {"words_added": 20, "words_removed": 18},
        )
        out.append(at)
    article.title = title
    return out


def populate(db: Database, *, n_articles: int, n_versions: int, seed: int = 13) -> None:
    """The synthetic story: ``n_articles`` articles with ``n_versions`` versions in all."""
    rng, text = random.Random(seed), Text(random.Random(seed + 1))
    per = [1] * n_articles
    for _ in range(n_versions - n_articles):
        per[rng.randrange(n_articles)] += 1
    with db.write() as session:
        story_id = stories.sync_story(
            session, slug=SLUG, title="A synthetic story", keywords=["synthetic"], now=T0
        ).id
    originals: list[int] = []
    for start in range(0, n_articles, BATCH):
        with db.write() as session:
            for n in range(start, min(start + BATCH, n_articles)):
                _story_article(session, story_id, n, per[n], originals, rng, text)


def _story_article(
    session: WriteSession,
    story_id: int,
    n: int,
    count: int,
    originals: list[int],
    rng: random.Random,
    text: Text,
) -> None:
    """One article of the story: its versions, its decision and its events."""
    article = _article(session, n, rng, text)
    fetched = _versions(session, article, count, rng, text)
    copy_of = rng.choice(originals) if originals and rng.random() < 0.33 else None
    relation = "copy" if copy_of else "original"
    if copy_of is None:
        originals.append(article.id)
    members.record_decision(
        session,
        story_id=story_id,
        article_id=article.id,
        relation=relation,
        copy_of_id=copy_of,
        similarity=round(rng.uniform(0.3, 1.0), 4),
        match={"kind": "copy" if copy_of else "same_story", "reason": text.sentence()},
        now=article.first_seen_at,
    )
    first = "copy" if copy_of else "first_report"
    events = [(first, article.published_at, 1)]
    events += [("update", at, v) for v, at in enumerate(fetched[1:], start=2)]
    if rng.random() < 0.02:
        article.status, article.removed_at = "removed", fetched[-1] + timedelta(days=1)
        events.append(("removed", article.removed_at, None))
    for event, at, version in events:
        stories.add_event(
            session,
            story_id=story_id,
            article_id=article.id,
            event=event,
            at=at,
            now=at,
            article_version=version,
        )


def _timed(step: Callable[[], Any], repeat: int) -> tuple[list[float], Any]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = step()
        times.append(time.perf_counter() - start)
    return times, result


def _size(value: Any) -> str:
    return f"{len(value.encode('utf-8')) / 1e6:.1f} MB" if isinstance(value, str) else ""


def export_section(
    database: Path | None = None,
    *,
    n_articles: int = 5000,
    n_versions: int = 20000,
    repeat: int = 3,
) -> tuple[list[tuple[str, ...]], str]:
    """The timing rows (``HEADERS``) and a line describing the data set."""
    with tempfile.TemporaryDirectory() as tmp:
        path = database or Path(tmp) / "export.sqlite"
        fresh = not path.exists()
        db = open_database(f"sqlite:///{path}")
        try:
            if fresh:
                populate(db, n_articles=n_articles, n_versions=n_versions)
            return _measure(db, repeat)
        finally:
            db.close()


def _measure(db: Database, repeat: int) -> tuple[list[tuple[str, ...]], str]:
    def build(texts: bool = False) -> Callable[[], Any]:
        def step() -> Any:
            with db.read() as session:
                return storyfile.build(session, SLUG, texts=texts)

        return step

    rows: list[tuple[str, ...]] = []

    def row(name: str, times: list[float], output: Any, goal: str = "") -> None:
        best, median = min(times), statistics.median(times)
        rows.append((name, f"{best:.2f}", f"{median:.2f}", _size(output), goal))

    times, story = _timed(build(), repeat)
    row("build", times, None)
    json_times, text = _timed(lambda: render.story_json(story), repeat)
    both = [b + j for b, j in zip(times, json_times, strict=True)]
    row("JSON render", json_times, text)
    row("**build + JSON**", both, text, "< 2 s " + ("met" if min(both) < 2 else "MISSED"))
    for fmt in ("md", "csv", "atom"):
        row(f"{fmt} render", *_timed(lambda fmt=fmt: render.render(story, fmt), repeat))
    row("csv --versions render", *_timed(lambda: render.render(story, "csv", versions=True), 1))
    rows.extend(_facts_rows(db, repeat))
    times, full = _timed(build(texts=True), 1)
    row("build, texts=True", times, None)
    row("html render", *_timed(lambda: render.render(full, "html"), 1))
    described = sum(len(a["versions"]) for o in story["outlets"] for a in o["articles"])
    n = sum(len(o["articles"]) for o in story["outlets"])
    data = (
        f"{n:,} articles in {len(story['outlets'])} outlets, {described:,} versions, "
        f"{len(story['timeline']):,} timeline events, story version {story['version']:,}"
    )
    return rows, data


def _facts_rows(db: Database, repeat: int) -> list[tuple[str, ...]]:
    """The export with its facts: found afresh (what ``--no-facts`` spares), then kept with the
    story version (``monitor.stories.facts.refresh`` after a round) and read back."""
    from monitor.match.facts import story_facts

    def build_json() -> str:
        with db.read() as session:
            built = storyfile.build(session, SLUG, facts=story_facts)
        return render.story_json(built)

    out: list[tuple[str, ...]] = []
    times, _ = _timed(build_json, 1)
    out.append(("build + JSON, facts found", f"{min(times):.2f}", f"{min(times):.2f}", "", ""))
    with db.read() as session:
        story = stories.story_by_slug(session, SLUG)
        assert story is not None
        found = story_facts(storyfacts.member_texts(session, story.id))
    with db.write() as session:
        storyfacts.store_facts(session, story.id, story.version, found, now=T0)
    times, text = _timed(build_json, repeat)
    met = "< 2 s " + ("met" if min(times) < 2 else "MISSED")
    out.append(
        ("**build + JSON, facts kept**", f"{min(times):.2f}", f"{statistics.median(times):.2f}",
         _size(text), met)
    )  # fmt: skip
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--versions", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--database", type=Path, help="keep (or reuse) the database in FILE")
    args = parser.parse_args(argv)
    before = os.getloadavg()
    rows, data = export_section(
        args.database, n_articles=args.articles, n_versions=args.versions, repeat=args.repeat
    )
    shown = versions("sqlalchemy", "jinja2")
    print(" ".join(f"{k} {v}" for k, v in shown.items()))
    print(f"data set: {data} (SQLite)")
    print(machine(before))
    print()
    print(table(HEADERS, rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
