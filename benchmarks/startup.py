"""Start-up cost of every ``monitor`` command on a small real database: wall and CPU seconds of
the whole command, time to its first byte of output, its imports' time, and which heavy
libraries it imported.

Run: ``.venv/bin/python benchmarks/startup.py [--config data/demo/monitor.toml] [--repeat 3]``

Without ``--config``, ``monitor demo`` first builds its database in a temporary folder (the
replayed Roxham Road story: 3 rounds, 13 articles). Each command runs ``--repeat`` times as
``python -m monitor ...`` in a child process (the median run is shown), then once more under
``-X importtime`` for the import columns: that flag's own overhead (10-15 % of the imports)
is not in the timed runs. The CPU seconds are the child's (``RUSAGE_CHILDREN``), so other
load on the machine counts only in the wall figures. "imports" is the sum of the top-level
imports' cumulative times that ``-X importtime`` prints (its overhead included); "heavy" lists
the libraries from ``HEAVY`` it imported. The project's bytecode is compiled first, as an
installation does: with ``PYTHONDONTWRITEBYTECODE`` set (it is, in some shells and CI images)
an editable checkout would otherwise compile every module of ours at every start (about
0.05 s a command). The goal (issue 16): a command that does nothing heavy starts in under
0.5 s.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEAVY = (
    "sqlalchemy",
    "httpx",
    "numpy",
    "scipy",
    "datasketch",
    "trafilatura",
    "lxml",
    "bs4",
    "feedparser",
    "apscheduler",
    "jinja2",
    "dateparser",
)
_IMPORT = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def commands(slug: str, url: str) -> list[list[str]]:
    return [
        ["--version"],
        ["--help"],
        ["poll", "--help"],
        ["story", "--help"],
        ["config", "example"],
        ["sources"],
        ["sources", "export"],
        ["story", "list"],
        ["story", "labels", slug],
        ["story", "export", slug, "--format", "md"],
        ["story", "diff", slug, "3", "11"],
        ["story", "scores", slug],
        ["story", "facts", slug],
        ["search", "Roxham"],
        ["explain", url],
        ["db", "upgrade"],
    ]


def run(argv: list[str], config: str) -> tuple[float, float, float]:
    """Wall s, CPU s and s to the first byte of output of the command."""
    cmd = [sys.executable, "-m", "monitor", "--config", config, *argv]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd=ROOT, env=_env()
    )
    assert proc.stdout is not None
    proc.stdout.read(1)
    first = time.perf_counter() - started
    proc.stdout.read()
    proc.wait()
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode not in (0, 1):
        print(f"{' '.join(argv)}: exit {proc.returncode}", file=sys.stderr)
    return wall, cpu, first


def imports_of(argv: list[str], config: str) -> tuple[float, list[str]]:
    """Import s (as ``-X importtime`` counts them) and the heavy libraries imported."""
    cmd = [sys.executable, "-X", "importtime", "-m", "monitor", "--config", config, *argv]
    with tempfile.TemporaryFile() as stderr:  # a pipe would fill up and stall the child
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=stderr, cwd=ROOT, env=_env())
        stderr.seek(0)
        err = stderr.read().decode("utf-8", "replace")
    imports, heavy = 0, []
    for m in _IMPORT.finditer(err):
        depth, name = len(m.group(3)) // 2, m.group(4)
        if depth == 0:
            imports += int(m.group(2))
        if name in HEAVY:
            heavy.append(name)
    return imports / 1e6, heavy


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env["PYTHONPATH"] = str(ROOT)
    return env


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", help="a configuration whose database holds a story (the demo's)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--slug", default="roxham-road-demo")
    args = ap.parse_args()
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "monitor", "storage"],
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    with tempfile.TemporaryDirectory() as tmp:
        config = args.config
        if config is None:
            subprocess.run(
                [sys.executable, "-m", "monitor", "demo", "--out", tmp],
                check=True,
                capture_output=True,
                cwd=ROOT,
                env=_env(),
            )
            config = str(Path(tmp) / "monitor.toml")
        url = _an_article(config, args.slug)
        load_before = os.getloadavg()
        rows = []
        for argv in commands(args.slug, url):
            runs = sorted((run(argv, config) for _ in range(args.repeat)), key=lambda r: r[0])
            wall, cpu, first = runs[len(runs) // 2]
            imports, heavy = imports_of(argv, config)
            rows.append((argv, wall, cpu, first, imports, heavy))
        load_after = os.getloadavg()
    print("| command | wall s | CPU s | first output s | imports s | heavy libraries imported |")
    print("|---|---|---|---|---|---|")
    for argv, wall, cpu, first, imports, heavy in rows:
        shown = " ".join(a if a != url else "URL" for a in argv)
        cells = [f"`monitor {shown}`", f"{wall:.2f}", f"{cpu:.2f}", f"{first:.2f}"]
        cells += [f"{imports:.2f}", ", ".join(heavy) or "none"]
        print("| " + " | ".join(cells) + " |")
    cpu = statistics.median(r[2] for r in rows)
    print(f"\nmedian of {args.repeat} runs each; the commands' median CPU: {cpu:.2f} s")
    print(
        f"load average before: {' '.join(f'{x:.2f}' for x in load_before)}; "
        f"after: {' '.join(f'{x:.2f}' for x in load_after)}; cpus: {os.cpu_count()}"
    )


def _an_article(config: str, slug: str) -> str:
    """The URL of one article of the story (for ``explain``)."""
    out = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", config, "story", "export", slug],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=_env(),
    ).stdout
    found = re.search(r'"url": "(http[^"]+)"', out)
    assert found, "the story has no article"
    return found.group(1)


if __name__ == "__main__":
    main()
