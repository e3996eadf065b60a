"""Where the round's own thread spends its CPU in benchmarks/ingest.py's poll: one ``poll`` of
its 1,000 pages per story size, the round's thread under cProfile with a CPU clock.

Run: ``.venv/bin/python benchmarks/ingest_profile.py [--members 50,5000] [--articles 1000]
[--top 15] [--out DIR]``

The same pages, feeds, configuration and pre-filled databases as benchmarks/ingest.py (built
by benchmarks/ingest_archive.py, empty archive), each poll in a fresh process. cProfile runs on
the round's thread only (storing, deciding, recording); the pages are extracted in the poll's
child processes and fetched in its worker threads, which it does not see. Its timer is
``time.thread_time``: CPU seconds, so waits (on the workers, on the disk) are left out, though
its own overhead per call inflates functions called often (a word's stem) against the rest.
Prints, per story size, the top functions by own CPU time; the costs unprofiled are
benchmarks/ingest.py's to measure.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def child(config: str, dest: str) -> None:
    """One poll on ``config`` with the round's thread profiled into ``dest``."""
    from benchmarks.ingest_archive import NOW, resolve_local
    from monitor import config as configmod
    from monitor import log as logmod
    from monitor.app import open_app
    from monitor.poll.round import poll

    logmod.setup("warning", "json")
    with open_app(configmod.load(config), now=NOW, resolver=resolve_local) as app:
        profile = cProfile.Profile(time.thread_time)
        profile.enable()
        report = poll(app, now=NOW)
        profile.disable()
        profile.dump_stats(dest)
    print(f"stored {report.articles_new}", file=sys.stderr)


def show(path: Path, members: int, top: int) -> None:
    stats = pstats.Stats(str(path))
    total = sum(row[2] for row in stats.stats.values())  # type: ignore[attr-defined]
    print(f"\n{members} members: the round's thread, {total:.1f} CPU s profiled")
    print("| own CPU s | share | calls | function |\n|---|---|---|---|")
    rows = sorted(stats.stats.items(), key=lambda kv: -kv[1][2])  # type: ignore[attr-defined]
    for (file, line, name), (_, calls, own, _, _) in rows[:top]:
        where = f"{Path(file).parent.name}/{Path(file).name}:{line}" if line else "built-in"
        print(f"| {own:.2f} | {100 * own / total:.0f} % | {calls} | {where} {name} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--members", default="50,5000")
    ap.add_argument("--articles", type=int, default=1000)
    ap.add_argument("--top", type=int, default=15)
    ap.add_argument("--out", type=Path, help="keep the profiles in this folder")
    ap.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(*args.child)
        return
    from benchmarks.ingest_archive import Templates, newsroom, page_paths

    with tempfile.TemporaryDirectory() as tmp, newsroom(page_paths(), args.articles) as port:
        out = args.out or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        templates = Templates(Path(tmp), port, lambda line: print(line, file=sys.stderr))
        for members in (int(m) for m in args.members.split(",")):
            config = templates.fresh(0, members, Path(tmp) / f"run{members}")
            dest = out / f"members{members}.prof"
            cmd = [sys.executable, __file__, "--child", str(config), str(dest)]
            subprocess.run(cmd, check=True, env=os.environ)
            show(dest, members, args.top)


if __name__ == "__main__":
    main()
