"""CPU seconds per article of one ``monitor poll`` (and of ``poll --all``) over every real page
of ../shared/data, with the requests it made, and optionally its main thread's profile.

Run: ``.venv/bin/python benchmarks/pollcpu.py [--feeds 20] [--repeat 2] [--modes poll,all]
[--profile DIR] [--top 15] [--pages N]
[--trees PATH,PATH]``

A ThreadingHTTPServer on 127.0.0.1 (tests/httpserver.py) serves the real article pages of
../shared/data (the 181 of article_extraction_benchmark and the pages of article_html, read in
place, identical bodies once, canonical URL tags removed as in benchmarks/poll.py) behind
``--feeds`` RSS feeds, each under its own host name (resolved to 127.0.0.1), the pages dealt
round the feeds. The roxham-road story of ``seeds/`` decides every article.

Each run is a fresh SQLite database and a child process that opens the app (migrating and
syncing the story's seeds: not timed below) and runs one ``poll`` (``--all``: with
``everything=True``) at the same ``now``, as ``monitor poll`` does. CPU seconds are the child's
(``time.process_time`` around ``poll``: every thread of the process), so other load on the
machine does not count; per article is over the articles the poll stored. "main thread" is
``time.thread_time`` of the thread that runs the round: claiming, planning, storing and
deciding (the workers fetch and extract). ``--trees`` runs the same polls from other
checkouts (each holding this script), interleaved run by run, so that a before and an after
see the same machine. Requests are those
the server received during the poll, by kind. ``--profile DIR`` runs the poll under cProfile
(the main thread only: where storing and deciding happen; extraction runs in the worker
threads) and prints its top functions by own time and the cumulative time of the storing and
deciding functions; the profile's overhead makes those runs' CPU figures larger.
"""

from __future__ import annotations

import argparse
import cProfile
import gzip
import json
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.scale import _CANONICAL, sources_and_story  # noqa: E402
from tests.httpserver import Reply, serve  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
NOW = datetime(2023, 3, 24, 12, tzinfo=UTC)
WATCHED = (
    "store_new",
    "store_recheck",
    "store_version",
    "_decide",
    "_record",
    "decide",
    "store_decision",
    "apply",
    "get",
    "_after_commit",
)


def load_pages() -> list[bytes]:
    """Every real page once, canonical tags removed, in a stable order."""
    paths = sorted((DATA / "article_extraction_benchmark" / "html").glob("*.html*"))
    paths += sorted((DATA / "article_html").rglob("*.html"))
    seen: set[bytes] = set()
    pages = []
    for path in paths:
        raw = path.read_bytes()
        raw = gzip.decompress(raw) if path.suffix == ".gz" else raw
        if raw not in seen:
            seen.add(raw)
            pages.append(_CANONICAL.sub(b"", raw))
    return pages


def host(i: int) -> str:
    return f"f{i:02d}.pollcpu.test"


def write_config(folder: Path, port: int, feeds: int) -> Path:
    lines = [
        "[storage]",
        f"url = {json.dumps('sqlite:///' + str(folder / 'm.sqlite'))}",
        "[fetch]",
        "allow_private_networks = true",
        "per_host_delay = 0",
        "[email]",
        f"outbox_dir = {json.dumps(str(folder / 'outbox'))}",
        "[log]",
        'level = "warning"',
        "",
    ]
    lines += sources_and_story(
        [f"http://{host(i)}:{port}/feed/{i}.xml" for i in range(feeds)], prefix="F"
    )
    path = folder / "monitor.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def routes(site_routes: dict[str, object], pages: list[bytes], feeds: int, port: int) -> None:
    items: dict[int, list[str]] = {i: [] for i in range(feeds)}
    for n, page in enumerate(pages):
        i = n % feeds
        path = f"/a/{n}.html"
        site_routes[path] = Reply(200, page, {"Content-Type": "text/html; charset=utf-8"})
        when = (NOW - timedelta(minutes=n)).strftime("%a, %d %b %Y %H:%M:%S +0000")
        items[i].append(
            f"<item><title>Item {n}</title><link>http://{host(i)}:{port}{path}</link>"
            f"<guid>{n}</guid><pubDate>{when}</pubDate></item>"
        )
    for i, links in items.items():
        body = '<?xml version="1.0"?><rss version="2.0"><channel><title>f</title>'
        body += "".join(links) + "</channel></rss>"
        site_routes[f"/feed/{i}.xml"] = Reply(
            200, body.encode(), {"Content-Type": "application/rss+xml"}
        )
    site_routes["/robots.txt"] = Reply(404)


def child(config_path: str, everything: bool, profile: str | None) -> None:
    """One poll in this process; prints its figures as JSON."""
    started = time.process_time()
    from monitor import config as configmod
    from monitor import log as logmod
    from monitor.app import open_app
    from monitor.poll.round import poll

    config = configmod.load(config_path)
    logmod.setup("warning", "json")
    with open_app(config, now=NOW, resolver=lambda _h, _p: ["127.0.0.1"]) as app:
        ready = time.process_time()
        print("ready", flush=True)
        sys.stdin.readline()  # the parent marks the requests so far
        wall = time.perf_counter()
        main = time.thread_time()
        profiler = cProfile.Profile() if profile else None
        if profiler:
            profiler.enable()
        report = poll(app, now=NOW, everything=everything)
        if profiler:
            profiler.disable()
            profiler.dump_stats(profile)
        cpu = time.process_time() - ready
        main = time.thread_time() - main
        wall = time.perf_counter() - wall
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    out = dict(
        startup_cpu=ready - started,
        cpu=cpu,
        main=main,
        wall=wall,
        new=report.articles_new,
        rechecked=report.rechecked,
        updates=report.updates,
        rss=rss,
    )
    print(json.dumps(out), flush=True)


def run(
    tree: Path, config: Path, everything: bool, profile: str | None, site: object
) -> dict[str, object]:
    cmd = [sys.executable, str(tree / "benchmarks" / "pollcpu.py"), "--child", str(config)]
    cmd += ["--everything"] if everything else []
    cmd += ["--profile-file", profile] if profile else []
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdin and proc.stdout
    assert proc.stdout.readline().strip() == "ready"
    before = len(site.requests)  # type: ignore[attr-defined]
    proc.stdin.write("go\n")
    proc.stdin.flush()
    result: dict[str, object] = json.loads(proc.stdout.readline())
    proc.wait()
    kinds: Counter[str] = Counter()
    for r in site.requests[before:]:  # type: ignore[attr-defined]
        kinds["robots" if r.path == "/robots.txt" else r.path.split("/")[1]] += 1
    result["requests"] = dict(kinds)
    return result


def report_profile(path: str, top: int) -> None:
    stats = pstats.Stats(path)
    # The main thread's waits for the workers (queue gets, lock acquires) are not its work.
    items = [
        kv
        for kv in stats.stats.items()  # type: ignore[attr-defined]
        if not any(w in kv[0][2] for w in ("_queue.SimpleQueue", "acquire", "'wait'"))
    ]
    total = sum(kv[1][2] for kv in items)
    print(f"\nmain thread profile ({path}): {total:.1f} s of work (waits left out)")
    rows = sorted(items, key=lambda kv: -kv[1][2])[:top]
    print("| own s | share | calls | function |\n|---|---|---|---|")
    for (file, line, name), (_cc, nc, tt, _ct, _callers) in rows:
        where = f"{Path(file).name}:{line} {name}"
        print(f"| {tt:.2f} | {tt / total:.0%} | {nc} | {where} |")
    print("\n| cumulative s | share | calls | function |\n|---|---|---|---|")
    for (file, line, name), (_cc, nc, _tt, ct, _callers) in sorted(items, key=lambda kv: -kv[1][3]):
        if name in WATCHED and ("monitor" in file or "storage" in file):
            where = f"{Path(file).parent.name}/{Path(file).name}:{line} {name}"
            print(f"| {ct:.2f} | {ct / total:.0%} | {nc} | {where} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--feeds", type=int, default=20)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--modes", default="poll,all")
    ap.add_argument("--profile", help="a folder for the profiles (one run per mode, profiled)")
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--pages", type=int, help="only the first N pages (a quick look)")
    ap.add_argument(
        "--trees",
        default=str(ROOT),
        help="checkouts to compare, comma-separated (each with this script), run interleaved",
    )
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--everything", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--profile-file", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.everything, args.profile_file)
        return
    pages = load_pages()[: args.pages]
    modes = args.modes.split(",")
    load_before = [f"{x:.2f}" for x in os.getloadavg()]
    trees = [Path(t).resolve() for t in args.trees.split(",")]
    rows = []
    with tempfile.TemporaryDirectory() as tmp, serve() as site:
        assert site.port is not None
        routes(site.routes, pages, args.feeds, site.port)
        for rep in range(args.repeat):
            for mode in modes:  # interleaved
                for t, tree in enumerate(trees):
                    folder = Path(tmp) / f"{mode}-{rep}-{t}"
                    folder.mkdir()
                    config = write_config(folder, site.port, args.feeds)
                    profile = None
                    if args.profile and rep == 0:
                        os.makedirs(args.profile, exist_ok=True)
                        profile = str(Path(args.profile) / f"{mode}-{t}.prof")
                    result = run(tree, config, mode == "all", profile, site)
                    result["tree"] = tree.name
                    print(mode, rep, json.dumps(result), file=sys.stderr)
                    rows.append((mode, rep, profile, result))
    load_after = [f"{x:.2f}" for x in os.getloadavg()]
    print(f"pages: {len(pages)} distinct real pages behind {args.feeds} feeds")
    header = "| tree | command | run | articles stored | re-checked |"
    header += " requests (feed/page/robots) | CPU s | CPU ms per article |"
    header += " main thread CPU ms per article | wall s | peak RSS MB |"
    print(header + "\n|" + "---|" * 11)
    for mode, rep, profile, r in rows:
        req = r["requests"]
        assert isinstance(req, dict)
        new = r["new"]
        cpu = r["cpu"]
        assert isinstance(new, int) and isinstance(cpu, float)
        cells = [
            str(r["tree"]),
            "poll --all" if mode == "all" else "poll",
            f"{rep + 1}{' (profiled)' if profile else ''}",
            str(new),
            str(r["rechecked"]),
            f"{sum(req.values())} ({req.get('feed', 0)}/{req.get('a', 0)}/{req.get('robots', 0)})",
            f"{cpu:.1f}",
            f"{1000 * cpu / max(new, 1):.1f}",
            f"{1000 * float(r['main']) / max(new, 1):.1f}",  # type: ignore[arg-type]
            f"{r['wall']:.1f}",
            f"{r['rss']:.0f}",
        ]
        print("| " + " | ".join(cells) + " |")
    print(f"\nload average before: {' '.join(load_before)}; after: {' '.join(load_after)}")
    for mode, _rep, profile, _r in rows:
        if profile:
            print(f"\n### {mode}")
            report_profile(profile, args.top)


if __name__ == "__main__":
    main()
