"""Ingest at the speed of extraction (issue 16): the poll beside extraction alone, trafilatura
alone and a user's 30-line script, on the same real pages, by archive size, story size and
worker processes.

Run: ``.venv/bin/python benchmarks/ingest.py [--quick] [--articles N] [--archived 0,10000,100000]
[--members 50,1000,5000] [--workers 1,2] [--repeat N] [--json FILE]``

Pages: every real article page of ../shared/data (article_extraction_benchmark and the four
article_html sets, read in place, duplicates by content dropped, canonical URL tags removed so
a page served twice is two articles), going round to make ``--articles`` pages (default 1,000).
A ThreadingHTTPServer on 127.0.0.1 (tests/httpserver.py) serves them behind 20 RSS feeds,
each feed on its own host name (resolved to 127.0.0.1, as benchmarks/scale.py does).

Systems, each run in a fresh process (spawned; its imports done before a barrier and not
counted), measured from the barrier to its end: CPU seconds of the process and of any process it
started (``getrusage``: every thread counts, so other load on the machine does not), wall
seconds, and its peak resident memory (``benchmarks.report.peak_rss_mb``: VmHWM, or a child's):
- ``poll``: ``open_app`` then one ``monitor.poll.round.poll`` over the 20 sources on a database
  pre-filled with ``--archived`` articles and ``--members`` story members
  (benchmarks/ingest_archive.py: built once per configuration, copied for every run), the
  roxham-road story of ``seeds/`` deciding every page; with 2 worker processes, two such
  processes share the sources through the database's claims (``[poll] batch_size = 10``, so
  each can claim half), and CPU is the sum of both, memory the larger.
- ``extraction``: ``monitor.extract.extract`` on each page read from disk.
- ``trafilatura``: ``trafilatura.extract(html, url=url)`` with trafilatura's plain defaults (not
  the options of our extractor, which are its internals), on each page read from disk.
- ``script``: benchmarks/baseline_script.py on the same feeds and pages over HTTP, fresh SQLite.

Every figure is per page served (``--articles``), whatever each system stored. Runs are
interleaved (the baselines spread among the polls, the order rotated at each repetition) so
load drift reaches every system alike; with ``--repeat`` above 1 the median is shown, with the
range. The goals of issue 16 are printed beside the figures.
"""

from __future__ import annotations

import argparse
import importlib
import json
import multiprocessing
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Only light imports here: every spawned system imports this module again, and its peak memory
# must hold what that system needs, nothing more.
from benchmarks.ingest_archive import (  # noqa: E402
    NOW,
    SOURCES,
    Templates,
    newsroom,
    page_paths,
    page_url,
    read_page,
    resolve_local,
)
from benchmarks.report import machine, peak_rss_mb, table, versions  # noqa: E402

_POLL_LATE_IMPORTS = (
    "sqlite3",
    "datasketch",
    "monitor.fetch.client",
    "monitor.fetch.robots",
    "monitor.stories.sync",
    "monitor.stories.seeding",
    "monitor.poll.extracting",
)

GOALS = {
    "poll": "poll >= 0.75 of extraction alone (CPU)",
    "script": "poll >= 1.2x the script's throughput, one core (CPU)",
    "archive": "per-article CPU at the largest archive within 10% of empty",
    "members": "per-article CPU at the most members within 20% of the fewest",
    "rss": "peak RSS < 300 MB, poll at the largest archive",
}


# --- one system in a fresh process ------------------------------------------------------------


def _usage() -> tuple[float, float]:
    """CPU seconds of this process and its waited-for children; peak RSS (MB) of either."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime, peak_rss_mb()


def _work(system: str, arg: Any) -> int:
    """Run one system on its pages; returns what it stored (or extracted)."""
    if system == "poll":
        from monitor import config as configmod
        from monitor.app import open_app
        from monitor.poll.round import poll

        with open_app(configmod.load(arg), now=NOW, resolver=resolve_local) as app:
            return poll(app, now=NOW).articles_new
    if system == "script":
        from benchmarks.baseline_script import ingest

        return ingest(*arg)
    import trafilatura

    from monitor.extract import extract

    done = 0
    for path, url in arg:
        html = read_page(path)
        try:
            if system == "extraction":
                text = extract(html, url).text
            else:
                text = trafilatura.extract(html, url=url) or ""
        except Exception:  # a page the extractor refuses counts as done, with no text
            text = ""
        done += bool(text)
    return done


def _system(system: str, arg: Any, barrier: Any, out: Any) -> None:
    """A spawned process: import what the system needs, wait at the barrier, run, report."""
    if system == "poll":
        from monitor import log as logmod
        from monitor.app import open_app  # noqa: F401  # imports before the barrier
        from monitor.poll.round import poll  # noqa: F401

        # And what the poll imports at its first use (SQLite's driver, the HTTP client,
        # datasketch with SciPy, the seeds' sync, the extraction processes' machinery): 0.46
        # CPU s that were counted as the poll's work, where the baselines import theirs here.
        for name in _POLL_LATE_IMPORTS:
            importlib.import_module(name)

        logmod.setup("warning", "json")
    elif system == "extraction":
        from monitor.extract import extract  # noqa: F401
    elif system == "trafilatura":
        import trafilatura  # noqa: F401
    else:
        import benchmarks.baseline_script  # noqa: F401
    imports_cpu, _ = _usage()
    barrier.wait()
    started = time.perf_counter()
    stored = _work(system, arg)
    wall = time.perf_counter() - started
    cpu, rss = _usage()
    out.put(
        {
            "stored": stored,
            "cpu": cpu - imports_cpu,
            "wall": wall,
            "rss": rss,
            "imports_cpu": imports_cpu,
        }
    )


def measure(system: str, args: list[Any]) -> dict[str, float]:
    """One process per item of ``args``, started together at a barrier: summed CPU and stored,
    wall from the barrier to the last one's end, the largest peak RSS."""
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(len(args) + 1), ctx.Queue()
    procs = [ctx.Process(target=_system, args=(system, a, barrier, out)) for a in args]
    for p in procs:
        p.start()
    barrier.wait()
    started = time.perf_counter()
    results = [out.get(timeout=7200) for _ in procs]
    wall = time.perf_counter() - started
    for p in procs:
        p.join()
        if p.exitcode:
            raise SystemExit(f"{system}: a process ended with {p.exitcode}")
    return {
        "stored": sum(r["stored"] for r in results),
        "cpu": sum(r["cpu"] for r in results),
        "wall": wall,
        "rss": max(r["rss"] for r in results),
        "imports_cpu": max(r["imports_cpu"] for r in results),
    }


# --- the plan ---------------------------------------------------------------------------------


def plan(archived: list[int], members: list[int], workers: list[int]) -> list[dict[str, Any]]:
    """The poll configurations: each archive size with the fewest members; each story size
    with the smallest archive; each worker count beyond one at the smallest and largest
    archive. Then the three baselines spread among them."""
    a0, m0 = archived[0], members[0]
    polls = [(a, m0, 1) for a in archived] + [(a0, m, 1) for m in members[1:]]
    polls += [(a, m0, w) for w in workers[1:] for a in sorted({a0, archived[-1]})]
    jobs = [{"system": "poll", "archived": a, "members": m, "workers": w} for a, m, w in polls]
    for k, system in enumerate(("extraction", "trafilatura", "script")):
        at = k * (len(jobs) + 1) // 3 + k
        jobs.insert(at, {"system": system, "archived": None, "members": None, "workers": 1})
    return jobs


def key(job: dict[str, Any]) -> str:
    return "/".join(str(job[k]) for k in ("system", "archived", "members", "workers"))


def progress(line: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {line}", file=sys.stderr, flush=True)


def run_job(
    job: dict[str, Any],
    n: int,
    port: int,
    paths: list[str],
    tmp: Path,
    templates: Templates,
    counter: Iterator[int],
) -> dict[str, float]:
    run = tmp / f"run{next(counter)}"
    system = job["system"]
    if system == "poll":
        config = str(templates.fresh(job["archived"], job["members"], run))
        return measure(system, [config] * job["workers"])
    if system == "script":
        run.mkdir()
        feeds = [f"http://127.0.0.1:{port}/plain/{i}.xml" for i in range(SOURCES)]
        return measure(system, [(f"sqlite:///{run / 'script.sqlite'}", feeds)])
    return measure(system, [[(paths[k % len(paths)], page_url(k, port)) for k in range(n)]])


# --- the report -------------------------------------------------------------------------------


def summarise(results: dict[str, list[dict[str, float]]], n: int) -> dict[str, dict[str, Any]]:
    out = {}
    for k, runs in results.items():
        cpu = [r["cpu"] / n for r in runs]
        wall = [r["wall"] / n for r in runs]
        out[k] = {
            "cpu": statistics.median(cpu),
            "cpu_range": (min(cpu), max(cpu)),
            "wall": statistics.median(wall),
            "wall_range": (min(wall), max(wall)),
            "rss": max(r["rss"] for r in runs),
            "stored": runs[-1]["stored"],
            "imports_cpu": statistics.median(r["imports_cpu"] for r in runs),
        }
    return out


def goals(s: dict[str, dict[str, Any]], archived: list[int], members: list[int]) -> list[list[str]]:
    a0, a1, m0, m1 = archived[0], archived[-1], members[0], members[-1]
    base = s[f"poll/{a0}/{m0}/1"]

    def row(name: str, measured: float, ok: bool, fmt: str = "{:.2f}") -> list[str]:
        return [GOALS[name], fmt.format(measured), "met" if ok else "NOT met"]

    rows = [
        row("poll", r := s["extraction/None/None/1"]["cpu"] / base["cpu"], r >= 0.75),
        row("script", r := s["script/None/None/1"]["cpu"] / base["cpu"], r >= 1.2),
    ]
    if a1 != a0:
        r = s[f"poll/{a1}/{m0}/1"]["cpu"] / base["cpu"]
        rows.append(row("archive", r, r <= 1.10, f"{{:.2f}} ({a1:,} vs {a0:,})"))
    if m1 != m0:
        r = s[f"poll/{a0}/{m1}/1"]["cpu"] / base["cpu"]
        rows.append(row("members", r, r <= 1.20, f"{{:.2f}} ({m1:,} vs {m0:,})"))
    rss = max(v["rss"] for k, v in s.items() if k.startswith(f"poll/{a1}/{m0}/"))
    rows.append(row("rss", rss, rss < 300, "{:.0f} MB"))
    return rows


def print_report(
    s: dict[str, dict[str, Any]],
    args: argparse.Namespace,
    n: int,
    pages: int,
    load: tuple[float, float, float],
) -> list[list[str]]:
    print(
        f"pages: {n} served ({pages} distinct real pages) behind {SOURCES} local feeds; "
        f"repetitions: {args.repeat}; figures per page served, median of repetitions"
    )
    print(machine(load))
    print(
        ", ".join(
            f"{k} {v}"
            for k, v in versions(
                "trafilatura", "datasketch", "sqlalchemy", "feedparser", "lxml"
            ).items()
        )
    )
    print()
    rows = []
    for k, v in s.items():
        system, archived, members, workers = k.split("/")
        spread = "" if args.repeat == 1 else f" ({v['cpu_range'][0]:.3f}-{v['cpu_range'][1]:.3f})"
        rows.append(
            [
                system,
                "" if archived == "None" else f"{int(archived):,}",
                "" if members == "None" else f"{int(members):,}",
                workers,
                str(v["stored"]),
                f"{v['cpu'] * 1000:.1f}{spread and ' ' + spread}",
                f"{v['wall'] * 1000:.1f}",
                f"{1 / v['cpu']:.1f}",
                f"{v['rss']:.0f}",
                f"{v['imports_cpu']:.1f}",
            ]
        )
    print(
        table(
            [
                "system",
                "archived",
                "members",
                "processes",
                "stored",
                "CPU ms/page",
                "wall ms/page",
                "pages/CPU s",
                "peak RSS MB (per process)",
                "imports CPU s",
            ],
            rows,
        )
    )
    print()
    goal_rows = goals(s, args.archived, args.members)
    print(table(["goal (issue 16)", "measured", ""], goal_rows))
    return goal_rows


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="60 pages, small archive and story")
    ap.add_argument("--articles", type=int, default=1000)
    ap.add_argument("--archived", default="0,10000,100000")
    ap.add_argument("--members", default="50,1000,5000")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args()
    if args.quick:
        args.articles, args.archived, args.members = 60, "0,2000", "50,300"
    for name in ("archived", "members", "workers"):
        setattr(args, name, sorted(int(x) for x in getattr(args, name).split(",")))
    return args


def main() -> None:
    args = parse_args()
    # As the monitor command runs: every system here, spawned from this process, inherits it.
    from monitor.cli import one_blas_thread

    one_blas_thread()
    load = os.getloadavg()
    paths, n = page_paths(), args.articles
    jobs = plan(args.archived, args.members, args.workers)
    results: dict[str, list[dict[str, float]]] = {key(j): [] for j in jobs}
    with tempfile.TemporaryDirectory() as tmp, newsroom(paths, n) as port:
        templates, counter = Templates(Path(tmp), port, progress), iter(range(10_000))
        for rep in range(args.repeat):
            for job in jobs[rep % len(jobs) :] + jobs[: rep % len(jobs)]:
                progress(f"repetition {rep + 1}: {key(job)} ...")
                r = run_job(job, n, port, paths, Path(tmp), templates, counter)
                results[key(job)].append(r)
                progress(
                    f"  {r['cpu']:.1f} CPU s, {r['wall']:.1f} s, {r['rss']:.0f} MB, "
                    f"{r['stored']} stored"
                )
    summary = summarise(results, n)
    goal_rows = print_report(summary, args, n, len(paths), load)
    if args.json:
        data = {
            "args": vars(args),
            "pages": n,
            "distinct_pages": len(paths),
            "load_before": load,
            "load_after": os.getloadavg(),
            "cpus": os.cpu_count(),
            "versions": versions("trafilatura", "datasketch", "sqlalchemy", "feedparser"),
            "results": results,
            "summary": summary,
            "goals": goal_rows,
        }
        Path(args.json).write_text(json.dumps(data, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
