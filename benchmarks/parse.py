"""Feed parsing cost per entry on the real feeds in ../shared/data/feeds: ours against feedparser.

Run: ``.venv/bin/python benchmarks/parse.py [--repeat N] [--limit N] [--json FILE]``

Systems, each given the same bytes (gzip fixtures inflated first, as the fetcher hands them over):

- ``feedparser``: ``feedparser.parse(io.BytesIO(body))`` with feedparser's defaults (sanitiser
  and relative-URI rewriting on, chardet when installed); the reference of the poller's goal;
- ``feedparser-lean``: the same with ``sanitize_html=False, resolve_relative_uris=False``, what
  ``monitor.parse`` passes when it falls back to feedparser;
- ``ours``: ``monitor.parse.parse_feed(body, url, {})``: charset decoding, then the lxml fast
  path for well-formed RSS 2.0 and Atom 1.0, feedparser (lean) for the rest.

The feeds are the corpus files in which feedparser's defaults find at least one entry (JSON Feed,
OPML and HTML pages have none). Per-entry cost divides a file's time by feedparser's entry count
for every system, so that all three are charged for the same work. Each file is timed ``--repeat``
times per system, interleaved, and the best time kept (the least disturbed by the machine).

Table: microseconds per entry, median over files and total (sum of times over sum of entries),
and the ratio to feedparser's defaults. The poller's goal is a ratio of at most 1/3. Never part of
the test run; tests/test_parse.py checks that the fast path and feedparser agree.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import gzip
import io
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

import feedparser  # noqa: E402

from benchmarks.report import table, versions  # noqa: E402
from monitor.errors import ParseError  # noqa: E402
from monitor.parse import feeds as monitor_parse  # noqa: E402

FEEDS = ROOT.parent / "shared" / "data" / "feeds"
BASE = "https://feeds.example.com/"
SYSTEMS = ("feedparser", "feedparser-lean", "ours")


@dataclass(frozen=True)
class Sample:
    rel: str
    body: bytes
    entries: int  # what feedparser's defaults find: the unit of work


def corpus_files() -> list[Path]:
    """The corpus's feed files (tests/test_parse.py reads the same selection); none when the
    data is not there."""
    return sorted(
        p
        for p in FEEDS.rglob("*")
        if p.is_file()
        and "_feed_url_lists" not in p.relative_to(FEEDS).parts
        and p.suffix != ".md"
        and not p.name.startswith("LICENSE")
        and p.name != "MANIFEST.tsv"
    )


def load(limit: int | None = None) -> list[Sample]:
    samples = []
    for path in corpus_files():
        body = path.read_bytes()
        if body[:2] == b"\x1f\x8b":
            body = gzip.decompress(body)  # what the fetcher hands over for Content-Encoding: gzip
        entries = len(feedparser.parse(io.BytesIO(body)).entries)
        if entries:
            samples.append(Sample(path.relative_to(FEEDS).as_posix(), body, entries))
    return samples[:limit]


def run_feedparser(sample: Sample) -> None:
    feedparser.parse(io.BytesIO(sample.body))


def run_feedparser_lean(sample: Sample) -> None:
    feedparser.parse(io.BytesIO(sample.body), sanitize_html=False, resolve_relative_uris=False)


def run_ours(sample: Sample) -> None:
    with contextlib.suppress(ParseError):  # a refusal costs time too, and counts
        monitor_parse.parse_feed(sample.body, BASE + sample.rel, {})


RUNNERS: dict[str, Callable[[Sample], None]] = {
    "feedparser": run_feedparser,
    "feedparser-lean": run_feedparser_lean,
    "ours": run_ours,
}


def took_fast_path(sample: Sample) -> bool:
    """Whether parse_feed answers this file from the lxml fast path (not feedparser)."""
    data = monitor_parse._utf8_xml(sample.body, {})
    return monitor_parse.parse_fast(data, BASE + sample.rel, {}) is not None


def time_all(samples: Sequence[Sample], repeat: int) -> dict[str, list[float]]:
    """Best-of-``repeat`` seconds per file and system, the systems interleaved per file."""
    best: dict[str, list[float]] = {name: [] for name in SYSTEMS}
    gc.disable()  # a collection landing in one system's run would be charged to it
    try:
        for sample in samples:
            times: dict[str, float] = {name: float("inf") for name in SYSTEMS}
            for _ in range(repeat):
                for name in SYSTEMS:
                    start = time.perf_counter()
                    RUNNERS[name](sample)
                    times[name] = min(times[name], time.perf_counter() - start)
                gc.collect()
            for name in SYSTEMS:
                best[name].append(times[name])
    finally:
        gc.enable()
    return best


def figures(samples: Sequence[Sample], seconds: Sequence[float]) -> dict[str, float]:
    entries = sum(s.entries for s in samples)
    per_entry = [t / s.entries * 1e6 for s, t in zip(samples, seconds, strict=True)]
    return {
        "median_us_per_entry": statistics.median(per_entry),
        "total_us_per_entry": sum(seconds) / entries * 1e6,
        "total_s": sum(seconds),
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timings per file and system")
    parser.add_argument("--limit", type=int, default=None, help="at most N feeds (a quick look)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args(argv)

    samples = load(args.limit)
    fast = sum(took_fast_path(s) for s in samples)
    report: dict[str, Any] = {
        "versions": versions("feedparser", "lxml", "chardet"),
        "data": {
            "path": str(FEEDS),
            "feeds": len(samples),
            "entries": sum(s.entries for s in samples),
            "bytes": sum(len(s.body) for s in samples),
            "fast_path_feeds": fast,
        },
        "repeat": args.repeat,
        "systems": {},
    }
    print("versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()))
    data = report["data"]
    print(
        f"data: {data['path']}: {data['feeds']} feeds with entries, {data['entries']} entries, "
        f"{data['bytes'] / 1e6:.1f} MB; fast path taken for {fast} feeds, feedparser for "
        f"{len(samples) - fast}"
    )

    seconds = time_all(samples, args.repeat)
    for name in SYSTEMS:
        report["systems"][name] = figures(samples, seconds[name])
    reference = report["systems"]["feedparser"]
    rows = []
    for name, f in report["systems"].items():
        f["median_ratio"] = f["median_us_per_entry"] / reference["median_us_per_entry"]
        f["total_ratio"] = f["total_us_per_entry"] / reference["total_us_per_entry"]
        rows.append(
            [
                name,
                f"{f['median_us_per_entry']:.0f}",
                f"{f['total_us_per_entry']:.0f}",
                f"{f['median_ratio']:.3f}",
                f"{f['total_ratio']:.3f}",
            ]
        )
    print(f"\n## microseconds per entry (best of {args.repeat}; goal: ours <= 1/3 of feedparser)")
    print(
        table(["system", "median us/entry", "total us/entry", "median ratio", "total ratio"], rows)
    )
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
