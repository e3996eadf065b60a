"""The story file's costs: what comparing two versions takes, and what a version stores.

Run: ``.venv/bin/python benchmarks/storyfile.py [--repeat N] [--limit N] [--json FILE]``

One function per section, each returning its figures and printing a Markdown table; ``main``
calls them in turn (add a section as one more function and one more call).

1. ``diff_section``: ``monitor.publish.diff.compare`` (sentence alignment, word edits and the
   change kinds) per pair of versions of 800-word articles. The articles are BASIL's
   (../shared/data/dedup_story/basil: NYT, Fox News and HuffPost full texts) of at least 800
   words, cut to their first paragraphs reaching 800 words. Each is edited the ways outlets edit
   (seeded, so every run makes the same pairs): a headline rewritten; a figure corrected (a
   number in a sentence replaced), with a "Correction:" notice or silently; a name corrected;
   a paragraph with a quotation removed; two paragraphs added (from another article); a sentence
   reworded; two paragraphs swapped; and all of these at once. Each pair is timed ``--repeat``
   times and its best kept; the table gives the median and 95th percentile over pairs (goal:
   median under 5 ms), and for each edit the share of pairs whose kinds name it (the kinds are
   a heuristic: this says how often it sees what was done) and the share whose kinds are
   exactly those the edit should get (``EXACTLY``: nothing seen that was not done).
2. ``evidence_section``: the bytes a version keeps as evidence: the 143 news pages of
   ../shared/data/article_html/trafilatura_eval_subset, as fetched and compressed as
   ``storage.articles.compress_html`` stores them (gzip, level 1), and the diff and kinds of the
   pairs of section 1 as the JSON the database stores: median and 95th percentile per version,
   and the compression time.
3. ``notices_section``: what reading a page's notices adds to extraction
   (``monitor.extract.notices.find_notices``), on the same 143 pages and the 181 pages of the
   article-extraction benchmark: milliseconds per page, and the pages bs4 had to parse.
4. the export (``benchmarks/storyfile_export.export_section``): a 5,000-article, 20,000-version
   story built from the database and rendered in every format, with its facts found and kept
   (goal: build + JSON under 2 s).
5. the facts (``benchmarks/storyfile_facts``): the sentence matcher on MSRP's test pairs beside
   plain baselines, and finding the facts of 1,000 and 5,000-article stories.

``--only diff,evidence,notices,export,facts`` runs some of them.

Never part of the test run; tests/test_diff.py and tests/test_versions.py check the behaviour.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import random
import re
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

from benchmarks.report import table, versions  # noqa: E402
from monitor.extract import Notice  # noqa: E402
from monitor.extract.notices import _MAYBE, find_notices  # noqa: E402
from monitor.publish.diff import compare  # noqa: E402
from monitor.publish.kinds import Snapshot  # noqa: E402
from storage.articles import compress_html  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
BASIL = DATA / "dedup_story" / "basil" / "basil_articles.jsonl"
TRAF_PAGES = DATA / "article_html" / "trafilatura_eval_subset" / "html"
ZYTE_PAGES = DATA / "article_extraction_benchmark" / "html"
WORDS = 800
GOAL_MS = 5.0


def quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


# --- 1. diff and change kinds ------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    edit: str
    expected: str  # the kind that should name it
    old: Snapshot
    new: Snapshot


# Every kind each edit should get, and none other.
EXACTLY = {
    "headline": {"headline", "silent"},
    "figure with notice": {"correction"},
    "figure, silently": {"correction", "silent"},
    "name": {"correction", "silent"},
    "quote removed": {"removal", "silent"},
    "paragraphs added": {"update", "silent"},
    "sentence reworded": {"edit", "silent"},
    "paragraphs swapped": {"edit", "silent"},
    "all at once": {"headline", "correction", "update", "removal"},
}


def articles(limit: int | None) -> list[tuple[str, list[str]]]:
    """BASIL's articles of 800 words or more: title and the first paragraphs reaching 800."""
    out = []
    for line in BASIL.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        paragraphs = [" ".join(p.split()) for p in row["text"].split("\n") if p.strip()]
        if sum(len(p.split()) for p in paragraphs) < WORDS:
            continue
        kept, words = [], 0
        for p in paragraphs:
            kept.append(p)
            words += len(p.split())
            if words >= WORDS:
                break
        out.append((row["title"], kept))
    return out[:limit]


_NUMBER = re.compile(r"(?<![\w.,])\d[\d,.]*\d(?![\w])|(?<![\w.,])\d(?![\w.,])")
# A capitalised word inside a sentence that is not a day or a month.
_NAME = re.compile(
    r"(?<=[a-z,] )(?!(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\b|January|February|March|April"
    r"|June|July|August|September|October|November|December)([A-Z][a-z]{3,})(?= [a-z])"
)
_QUOTED = re.compile(r"[“\"][^”\"]{10,}[”\"]")


def _replace_first(paragraphs: list[str], pattern: re.Pattern[str], new: Callable[[str], str]):
    for n, p in enumerate(paragraphs[1:], start=1):
        m = pattern.search(p)
        if m:
            out = list(paragraphs)
            out[n] = p[: m.start()] + new(m.group(0)) + p[m.end() :]
            return out
    return None


def edits(title: str, paragraphs: list[str], other: list[str], rng: random.Random) -> list[Pair]:
    """The edits of one article (see the module docstring), those its text allows."""
    text = "\n\n".join
    old = Snapshot(title, text(paragraphs), ("A. Writer",))
    out: list[Pair] = []

    def add(edit: str, expected: str, ps: list[str] | None, **more: Any) -> None:
        if ps is not None:
            new = Snapshot(
                more.get("title", title), text(ps), ("A. Writer",), more.get("notices", ())
            )
            out.append(Pair(edit, expected, old, new))

    add("headline", "headline", paragraphs, title=title + ": what happens next")
    figure = _replace_first(paragraphs, _NUMBER, lambda n: str(int(re.sub(r"\D", "", n)) + 7))
    notice = Notice(
        "correction", "Correction: An earlier version of this article misstated a figure."
    )
    add("figure with notice", "correction", figure and [*figure, notice.text], notices=(notice,))
    add("figure, silently", "correction", figure)
    add("name", "correction", _replace_first(paragraphs, _NAME, lambda n: n[:-1] + "son"))
    quoted = [n for n, p in enumerate(paragraphs[1:], start=1) if _QUOTED.search(p)]
    add(
        "quote removed",
        "removal",
        quoted and [p for n, p in enumerate(paragraphs) if n != quoted[0]],
    )
    at = rng.randrange(1, len(paragraphs))
    add("paragraphs added", "update", [*paragraphs[:at], *other[:2], *paragraphs[at:]])
    reworded = list(paragraphs)
    words = reworded[1].split()
    words[3:3] = ["reportedly"]  # inside the first sentence: no two sentences made one
    reworded[1] = " ".join(words)
    add("sentence reworded", "edit", reworded)
    swapped = list(paragraphs)
    a, b = sorted(rng.sample(range(1, len(paragraphs)), 2))
    swapped[a], swapped[b] = swapped[b], swapped[a]
    add("paragraphs swapped", "edit", swapped)
    combined = list(figure or paragraphs)
    combined = [p for n, p in enumerate(combined) if not quoted or n != quoted[0]]
    combined[1:1] = other[:2]
    add("all at once", "update", combined, title=title + " (updated)", notices=(notice,))
    return out


def time_pair(pair: Pair, repeat: int) -> tuple[float, Any]:
    best, found = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        found = compare(pair.old, pair.new)
        best = min(best, time.perf_counter() - start)
    return best * 1000, found


def diff_section(repeat: int, limit: int | None) -> dict[str, Any]:
    rng = random.Random(13)
    arts = articles(limit)
    pairs = [
        pair
        for n, (title, paragraphs) in enumerate(arts)
        for pair in edits(title, paragraphs, arts[(n + 1) % len(arts)][1], rng)
    ]
    by_edit: dict[str, list[tuple[float, bool, bool]]] = {}
    stored = []
    for pair in pairs:
        ms, found = time_pair(pair, repeat)
        seen = pair.expected in found.kind_names
        exact = set(found.kind_names) == EXACTLY[pair.edit]
        by_edit.setdefault(pair.edit, []).append((ms, seen, exact))
        stored.append(len(json.dumps([found.diff, found.kinds], ensure_ascii=False).encode()))
    every = [ms for rows in by_edit.values() for ms, _, _ in rows]
    words = [len(p.old.text.split()) for p in pairs]
    figures = {
        "articles": len(arts),
        "pairs": len(pairs),
        "words_median": statistics.median(words),
        "median_ms": statistics.median(every),
        "p95_ms": quantile(every, 0.95),
        "diff_json_bytes": stored,
        "edits": {
            edit: {
                "pairs": len(rows),
                "median_ms": statistics.median(r[0] for r in rows),
                "p95_ms": quantile([r[0] for r in rows], 0.95),
                "named": sum(r[1] for r in rows) / len(rows),
                "exact": sum(r[2] for r in rows) / len(rows),
            }
            for edit, rows in by_edit.items()
        },
    }
    print(
        f"\n## 1. diff and change kinds per version pair: {figures['pairs']} pairs of "
        f"{figures['articles']} BASIL articles (median {figures['words_median']:.0f} words), "
        f"best of {repeat}; goal: median under {GOAL_MS:.0f} ms"
    )
    rows = [
        [
            edit,
            str(f["pairs"]),
            f"{f['median_ms']:.2f}",
            f"{f['p95_ms']:.2f}",
            f"{f['named']:.2f}",
            f"{f['exact']:.2f}",
        ]
        for edit, f in figures["edits"].items()
    ]
    rows.append(
        [
            "**all pairs**",
            str(len(pairs)),
            f"{figures['median_ms']:.2f}",
            f"{figures['p95_ms']:.2f}",
            "",
            "",
        ]
    )
    print(table(["edit", "pairs", "median ms", "p95 ms", "kind named", "exactly its kinds"], rows))
    return figures


# --- 2. evidence bytes -------------------------------------------------------------------------


def evidence_section(diff_json_bytes: Sequence[int]) -> dict[str, Any]:
    pages = sorted(TRAF_PAGES.glob("*.html"))
    raw, packed, ms = [], [], []
    for path in pages:
        body = path.read_bytes()
        start = time.perf_counter()
        stored = compress_html(body)
        ms.append((time.perf_counter() - start) * 1000)
        raw.append(len(body))
        packed.append(len(stored))
        assert gzip.decompress(stored) == body
    figures = {
        "pages": len(pages),
        "raw": (statistics.median(raw), quantile(raw, 0.95)),
        "stored": (statistics.median(packed), quantile(packed, 0.95)),
        "diff_json": (statistics.median(diff_json_bytes), quantile(diff_json_bytes, 0.95)),
        "compress_ms": (statistics.median(ms), quantile(ms, 0.95)),
        "ratio": statistics.median(p / r for p, r in zip(packed, raw, strict=True)),
    }
    print(f"\n## 2. evidence per version: {len(pages)} pages of trafilatura_eval_subset")
    rows = [
        [name, f"{a / 1000:.1f} KB", f"{b / 1000:.1f} KB"]
        for name, (a, b) in (
            ("page as fetched (html_size)", figures["raw"]),
            ("page stored (gzip level 1)", figures["stored"]),
            ("diff + kinds JSON (pairs of section 1)", figures["diff_json"]),
        )
    ]
    rows.append(
        [
            "compression time",
            f"{figures['compress_ms'][0]:.1f} ms",
            f"{figures['compress_ms'][1]:.1f} ms",
        ]
    )
    print(table(["per version", "median", "p95"], rows))
    print(f"median compressed / raw: {figures['ratio']:.3f}")
    return figures


# --- 3. notices --------------------------------------------------------------------------------


def notices_section() -> dict[str, Any]:
    bodies = [p.read_bytes() for p in sorted(TRAF_PAGES.glob("*.html"))]
    bodies += [gzip.decompress(p.read_bytes()) for p in sorted(ZYTE_PAGES.glob("*.html.gz"))]
    ms, found, parsed = [], 0, 0
    for body in bodies:
        start = time.perf_counter()
        notices = find_notices(body)
        ms.append((time.perf_counter() - start) * 1000)
        found += len(notices)
        parsed += bool(_MAYBE.search(body))
    figures = {
        "pages": len(bodies),
        "parsed": parsed,
        "notices": found,
        "median_ms": statistics.median(ms),
        "p90_ms": quantile(ms, 0.9),
    }
    print(f"\n## 3. notices read per page: {len(bodies)} pages (trafilatura's 143, Zyte's 181)")
    print(
        table(
            ["pages", "parsed by bs4", "notices found", "median ms", "p90 ms"],
            [
                [
                    str(len(bodies)),
                    str(parsed),
                    str(found),
                    f"{figures['median_ms']:.2f}",
                    f"{figures['p90_ms']:.2f}",
                ]
            ],
        )
    )
    return figures


def export_figures(repeat: int) -> list[tuple[str, ...]]:
    """Section 4: the export of a 5,000-article, 20,000-version story (storyfile_export)."""
    from benchmarks import storyfile_export

    rows, data = storyfile_export.export_section(repeat=repeat)
    print(f"\n## Export\n\n{data} (SQLite)\n")
    print(table(storyfile_export.HEADERS, rows))
    return rows


def facts_figures(repeat: int) -> dict[str, Any]:
    """Section 5: the fact matcher on MSRP, and finding the facts of large stories."""
    from benchmarks import storyfile_facts as sf

    scores = sf.msrp_scores()
    print("\n## Facts\n\nMSRP test pairs; thresholds chosen on the train pairs\n")
    print(table(["decision", "threshold", "P", "R", "F1", "accuracy"], sf.msrp_rows(scores)))
    rows = sf.facts_section((1000, 5000), repeat)
    print()
    print(table(sf.FACTS_HEADERS, rows))
    return {"msrp": scores, "stories": rows}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timings per pair (best kept)")
    parser.add_argument("--limit", type=int, default=None, help="at most N articles")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument(
        "--only", default="diff,evidence,notices,export,facts", help="the sections to run"
    )
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    report: dict[str, Any] = {"versions": versions("beautifulsoup4", "lxml", "sqlalchemy")}
    print("versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()))
    print(f"data: {BASIL}, {TRAF_PAGES}, {ZYTE_PAGES}")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start")
    if only & {"diff", "evidence"}:
        report["diff"] = diff_section(args.repeat, args.limit)
        if "evidence" in only:
            report["evidence"] = evidence_section(report["diff"].pop("diff_json_bytes"))
    if "notices" in only:
        report["notices"] = notices_section()
    if "export" in only:
        report["export"] = export_figures(args.repeat)
    if "facts" in only:
        report["facts"] = facts_figures(args.repeat)
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
