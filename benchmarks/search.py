"""Search latency over a 100,000-article archive: ``storage.search.search`` (and, with --api,
the same queries through an HTTP endpoint), by kind of query, and the index's size.

    .venv/bin/python benchmarks/search.py [--articles N] [--database-url URL] [--keep FILE]
        [--reuse] [--unmerged] [--repeat N] [--api URL] [--against DIR]

The archive: storing 100,000 articles through the pipeline would take hours; here each article
is one row of ``articles`` and its versions rows of ``article_versions``, inserted with
SQLAlchemy Core in chunks of 2,000 into a migrated database, so the build takes minutes. The
index is kept by the database's triggers as the rows go in, exactly as for the pipeline's
inserts (the build time printed is that of the rows and their indexing); then, on SQLite, the
index's segments (21 after the build) are merged into one, as the poll does once a day
(storage.searchmerge; --unmerged leaves them; the index's line says how many the measured
index holds). The texts are the 825 real articles of ../shared/data/dedup_story (BASIL, ECB+,
NewsWCL50) recombined: article k has the title of one, the first half of another's paragraphs
and the second half of a third's, so no two of the first 100,000 are the same text; one
article in ten has a second version (its last paragraph dropped), 50 outlets, publication
dates spread over a year, and a story of 5,000 members. Nothing is copied into the repository.

Queries (each kind several queries, each run --repeat times, a fresh read session each time as
a request would have): rare words (in one article of the pool, so about 120-250 of the
archive), common words (in most articles), phrases, prefixes, and common words filtered by
story, outlet, and a month. The latency is wall time of the function call (20 hits, snippets
and total included); median and p95 (nearest rank) per kind, after each query has run once
untimed (a process's first search of a shape builds that shape's statements).

--api URL measures the same queries as GET URL?q=...&limit=20 (with story, outlet, since and
until as parameters of those names), for ``monitor serve``'s search endpoint.

--against DIR runs each query, in turn, here and in a process running another checkout's
code (DIR, with DIR/.venv's Python: for instance the main branch's worktree) on the same
database, and prints both CPU columns side by side: on a machine shared with other work the
load moves figures by half between runs, and taking turns query by query puts both under the
same load.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import itertools

from benchmarks import report
from benchmarks.ingest_archive import CHUNK, pool

T0 = datetime(2022, 1, 1, tzinfo=UTC)
OUTLETS = 50
STORY_MEMBERS = 5_000
SLUG = "harbour"


def recombined(items: list[tuple[str, str]], k: int) -> tuple[str, str]:
    """Article ``k``: one article's title, a second's first paragraphs, a third's last."""
    n = len(items)
    a, b = k % n, (k // n * 7 + k * 31 + 5) % n
    first = [p for p in items[a][1].split("\n") if p.strip()]
    second = [p for p in items[b][1].split("\n") if p.strip()]
    body = first[: max(1, len(first) // 2)] + second[len(second) // 2 :]
    return items[(k * 13 + k // n) % n][0], "\n".join(body)


def _rows(items: list[tuple[str, str]], ks: range) -> Iterator[tuple[dict[str, Any], list[str]]]:
    for k in ks:
        title, body = recombined(items, k)
        outlet = k % OUTLETS
        published = T0 + timedelta(minutes=5 * k)  # 100,000 articles over about a year
        article = {
            "url": f"https://outlet{outlet:02d}.bench.test/{k}.html",
            "outlet": f"Outlet {outlet:02d}",
            "domain": f"outlet{outlet:02d}.bench.test",
            "title": title,
            "authors": [],
            "language": "en",
            "published_at": published,
            "first_seen_at": published,
            "check_count": 1,
            "status": "ok",
        }
        texts = [body]
        if k % 10 == 0 and "\n" in body:
            texts.append(body.rsplit("\n", 1)[0])
        yield article, texts


def build(url: str, articles: int) -> float:
    """Fill the empty database at ``url``; the seconds it took."""
    from sqlalchemy import insert

    from storage import stories
    from storage.db import open_database
    from storage.models import Article, ArticleVersion, StoryArticle

    items = pool()
    db = open_database(url)
    started = time.perf_counter()
    try:
        with db.write() as session:
            story = stories.sync_story(session, slug=SLUG, title="Harbour", keywords=[], now=T0)
            story_id = story.id
        for lo in range(0, articles, CHUNK):
            batch = list(_rows(items, range(lo, min(lo + CHUNK, articles))))
            with db.write() as session:
                ids = session.scalars(
                    insert(Article).returning(Article.id, sort_by_parameter_order=True),
                    [a for a, _ in batch],
                ).all()
                versions = [
                    _version(article_id, n + 1, text, a["first_seen_at"])
                    for article_id, (a, texts) in zip(ids, batch, strict=True)
                    for n, text in enumerate(texts)
                ]
                session.execute(insert(ArticleVersion), versions)
                members = [
                    _member(story_id, article_id, lo + i)
                    for i, article_id in enumerate(ids)
                    if (lo + i) % (articles // STORY_MEMBERS or 1) == 0
                ]
                if members:
                    session.execute(insert(StoryArticle), members)
            print(f"  {min(lo + CHUNK, articles):,} articles stored", file=sys.stderr, flush=True)
    finally:
        db.close()
    return time.perf_counter() - started


def _version(article_id: int, number: int, text: str, at: datetime) -> dict[str, Any]:
    return {
        "article_id": article_id,
        "version": number,
        "fetched_at": at + timedelta(hours=number - 1),
        "title": None,
        "text": text,
        "content_sha256": f"{article_id:032x}{number:032x}",
        "word_count": len(text.split()),
        "shingle_count": 0,
        "minhash": b"",
        "changes": {},
        "kinds": [],
        "authors": [],
        "notices": [],
    }


def _member(story_id: int, article_id: int, k: int) -> dict[str, Any]:
    return {
        "story_id": story_id,
        "article_id": article_id,
        "relation": "copy" if k % 3 == 0 else "original",
        "match": {},
        "decided_at": T0,
    }


def queries(items: list[tuple[str, str]]) -> dict[str, list[tuple[str, dict[str, Any]]]]:
    """The queries by kind: (text, filters) pairs, words chosen from the pool's own counts."""
    import re
    from collections import Counter

    df: Counter[str] = Counter()
    for title, body in items:
        df.update(set(re.findall(r"[a-z]{6,}", f"{title} {body}".lower())))
    rare = sorted(w for w, c in df.items() if c == 1)[::97][:10]
    common = ["said", "people", "government", "president", "officials"]
    month = {"since": T0 + timedelta(days=120), "until": T0 + timedelta(days=150)}
    return {
        "rare word": [(w, {}) for w in rare],
        "two rare words": [(f"{a} {b}", {}) for a, b in itertools.pairwise(rare)],
        "common word": [(w, {}) for w in common],
        "phrase": [
            (f'"{p}"', {})
            for p in ("white house", "told reporters", "police said", "united states")
        ],
        "prefix": [(p, {}) for p in ("presiden*", "elect*", "investigat*", "immigra*")],
        "common OR, -excluded": [("police OR officers -fire", {}), ("trump OR obama -senate", {})],
        "common + story": [(w, {"story": SLUG}) for w in common],
        "common + outlet": [(w, {"outlet": "outlet 07"}) for w in common],
        "common + month": [(w, month) for w in common],
        "rare, every version": [(w, {"any_version": True}) for w in rare],
    }


def measure(
    call: Callable[[str, dict[str, Any]], int], kinds: dict[str, list[Any]], repeat: int
) -> list[list[str]]:
    """Per kind: runs, median hits, then wall and CPU milliseconds (median, p95) of the call;
    CPU is this thread's (SQLite works in it), which the machine's load does not inflate."""
    rows = []
    for kind, qs in kinds.items():
        walls, cpus, totals = [], [], []
        for _ in range(repeat):
            for text, filters in qs:
                wall, cpu = time.perf_counter(), time.thread_time()
                totals.append(call(text, filters))
                cpus.append((time.thread_time() - cpu) * 1000)
                walls.append((time.perf_counter() - wall) * 1000)
        rows.append(
            [kind, str(len(walls)), f"{statistics.median(totals):,.0f}", *_ms(walls), *_ms(cpus)]
        )
    return rows


def _ms(values: list[float]) -> list[str]:
    """Median and 95th percentile (nearest rank: the 19th of 20 values, the 10th of 10)."""
    values = sorted(values)
    p95 = values[max(0, math.ceil(len(values) * 0.95) - 1)]
    return [f"{statistics.median(values):.1f}", f"{p95:.1f}"]


def warm(call: Callable[[str, dict[str, Any]], int], kinds: dict[str, list[Any]]) -> None:
    """Each query once, untimed: a process's first search of a shape (the filters given, a
    prefix or not) builds that shape's statements (storage.searchsql), once; a server has
    built them long before."""
    for qs in kinds.values():
        for text, filters in qs:
            call(text, filters)


def function_call(url: str) -> tuple[Callable[[str, dict[str, Any]], int], Callable[[], None]]:
    from storage import search
    from storage.db import open_database

    db = open_database(url, existing=True)

    def call(text: str, filters: dict[str, Any]) -> int:
        with db.read() as session:
            return search.search(session, text, search.Filters(**filters)).total

    return call, db.close


def api_call(base: str) -> tuple[Callable[[str, dict[str, Any]], int], Callable[[], None]]:
    import httpx

    client = httpx.Client(timeout=30)

    def call(text: str, filters: dict[str, Any]) -> int:
        params = {"q": text, "limit": 20}
        params |= {k: v.isoformat() if isinstance(v, datetime) else v for k, v in filters.items()}
        if params.pop("any_version", False):
            params["any_version"] = "true"
        response = client.get(base, params=params)
        response.raise_for_status()
        return int(response.json().get("total", 0))

    return call, client.close


def worker(repo: str, url: str) -> None:
    """--against's other side: runs the query of each index read from stdin with ``repo``'s
    code and writes its total, wall and CPU milliseconds as a JSON line."""
    sys.path.insert(0, repo)
    import json

    call, close = function_call(url)
    kinds = queries(pool())
    flat = [q for qs in kinds.values() for q in qs]
    warm(call, kinds)
    print(len(flat), flush=True)
    for line in sys.stdin:
        text, filters = flat[int(line)]
        wall, cpu = time.perf_counter(), time.thread_time()
        total = call(text, filters)
        done = [(time.thread_time() - cpu) * 1000, (time.perf_counter() - wall) * 1000]
        print(json.dumps([total, *done]), flush=True)
    close()


def compare(url: str, repo: Path, repeat: int) -> list[list[str]]:
    """Per kind: CPU median and p95 of this checkout's search and of ``repo``'s, taking turns
    query by query (which goes first alternates)."""
    import json
    import subprocess

    other = subprocess.Popen(
        [str(repo / ".venv/bin/python"), __file__, "--worker", str(repo.resolve()), url],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert other.stdin is not None and other.stdout is not None
    call, close = function_call(url)
    kinds = queries(pool())
    warm(call, kinds)
    other.stdout.readline()
    flat = [(kind, q) for kind, qs in kinds.items() for q in qs]
    here: dict[str, list[float]] = {kind: [] for kind in kinds}
    there: dict[str, list[float]] = {kind: [] for kind in kinds}
    for turn in itertools.islice(itertools.count(), repeat * len(flat)):
        i = turn % len(flat)
        kind, (text, filters) = flat[i]
        for side in ("here", "there") if turn // len(flat) % 2 else ("there", "here"):
            if side == "here":
                cpu = time.thread_time()
                call(text, filters)
                here[kind].append((time.thread_time() - cpu) * 1000)
            else:
                other.stdin.write(f"{i}\n")
                other.stdin.flush()
                there[kind].append(json.loads(other.stdout.readline())[1])
    other.stdin.close()
    other.wait()
    close()
    return [[k, str(len(here[k])), *_ms(here[k]), *_ms(there[k])] for k in kinds]


def merge(url: str) -> str:
    """Merge the index's segments as the daily poll does (storage.searchmerge); what it did."""
    from storage import searchmerge
    from storage.db import open_database

    db = open_database(url, existing=True)
    started = time.perf_counter()
    try:
        merged = searchmerge.merge(db, now=datetime.now(UTC))
    finally:
        db.close()
    if merged is None:
        return "index: PostgreSQL's GIN, nothing to merge"
    seconds = time.perf_counter() - started
    return f"index merged as the daily poll does: {merged.before} segments into 1, {seconds:.1f} s"


def index_size(url: str) -> str:
    from sqlalchemy import text

    from storage import searchmerge
    from storage.db import open_database

    db = open_database(url, existing=True)
    try:
        with db.read() as session:
            if db.dialect == "sqlite":
                sql = "SELECT sum(pgsize) FROM dbstat WHERE name LIKE 'version_search%'"
                texts = "SELECT sum(pgsize) FROM dbstat WHERE name = 'article_versions'"
            else:
                sql = "SELECT pg_total_relation_size('version_search')"
                texts = "SELECT pg_total_relation_size('article_versions')"
            index, table = session.scalar(text(sql)), session.scalar(text(texts))
            segments = searchmerge.segments(session)
    finally:
        db.close()
    held = "" if segments is None else f", {segments} segment{'s' if segments != 1 else ''}"
    return f"index {index / 2**20:,.0f} MB{held} (article_versions {table / 2**20:,.0f} MB)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=100_000)
    parser.add_argument("--database-url", help="an empty database (default: an SQLite file)")
    parser.add_argument("--keep", type=Path, default=Path("data/bench-search.sqlite"))
    parser.add_argument("--reuse", action="store_true", help="the database is already built")
    parser.add_argument(
        "--unmerged", action="store_true", help="leave the index's segments as the build made them"
    )
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--api", help="also through this search endpoint URL (monitor serve)")
    parser.add_argument("--against", type=Path, help="another checkout, queries taking turns")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return 0
    load = os.getloadavg()
    url = args.database_url or f"sqlite:///{args.keep}"
    if not args.reuse:
        if not args.database_url:
            args.keep.parent.mkdir(parents=True, exist_ok=True)
            for suffix in ("", "-wal", "-shm", ".lock"):
                Path(f"{args.keep}{suffix}").unlink(missing_ok=True)
        seconds = build(url, args.articles)
        print(f"built {args.articles:,} articles in {seconds:.0f} s (rows and index)")
        if not args.unmerged:
            print(merge(url))
    print(report.versions("sqlalchemy", "psycopg"), report.machine(load))
    print(index_size(url))
    kinds = queries(pool())
    doors = [("function", function_call(url))]
    if args.api:
        doors.append(("API", api_call(args.api)))
    headers = [
        "query",
        "runs",
        "median hits",
        "wall median ms",
        "wall p95",
        "CPU median",
        "CPU p95",
    ]
    for door, (call, close) in doors:
        try:
            warm(call, kinds)
            print(f"\n{door} ({url if door == 'function' else args.api})\n")
            print(report.table(headers, measure(call, kinds, args.repeat)))
        finally:
            close()
    if args.against:
        print(f"\nthis checkout against {args.against}, taking turns (CPU ms)\n")
        cols = ["query", "runs", "CPU median", "CPU p95", "theirs median", "theirs p95"]
        print(report.table(cols, compare(url, args.against, args.repeat)))
    print(report.machine(load))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
