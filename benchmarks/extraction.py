"""Extraction quality and speed on the real sets in ../shared/data, three systems side by side.

Run: ``.venv/bin/python benchmarks/extraction.py [--limit N] [--json FILE] [--processes N]
[--systems ours trafilatura readability] [--repeat N]``

Systems: ``ours`` (monitor.extract.extract), ``trafilatura`` (trafilatura alone:
``trafilatura.extract`` with default options for the text, ``extract_metadata`` for the rest)
and ``readability`` (readability-lxml alone: main text only, no metadata).

Tables:

1. article_extraction_benchmark (181 pages with human ground-truth text): precision, recall, F1
   and accuracy with the benchmark's shingle metric (see that folder's SOURCE.md; ``score_page``
   and ``aggregate`` below are our own implementation of it);
2. trafilatura_eval_subset (143 news pages): share of must-contain snippets found and of
   must-not-contain snippets absent (case-sensitive substring of the text, as trafilatura's own
   evaluation does), and title / author / date accuracy where gold exists;
3. htmldate_mediacloud_2020 (200 pages, 195 with a gold date): publication date, exact day;
   htmldate alone is a fourth row here;
4. milliseconds per page on the 181 pages of table 1, median and 90th percentile, the systems
   run one after the other on each page (so that a busy machine slows them alike), with
   ``trafilatura.extract()`` alone (no metadata pass) as an extra row; and each median as a
   multiple of trafilatura's;
5. CPU seconds (``time.process_time``) per page of ours against ``trafilatura.extract()``
   alone on every page of the three sets, the two interleaved page by page, one row per pass
   (``--repeat``): totals, 95th percentiles, and the median and 95th percentile of the
   per-page ratio (issue 16's goal: 1.1 or less, in total and at p95);
6. our status per page (ok, too_short, paywalled, not_article, error) on the three sets, and
   every page that is not ``ok`` with its reason.

The scorer functions are imported by tests/test_extraction_gate.py, which pins floors on our own
figures; this script is never part of the test run.
"""

from __future__ import annotations

import argparse
import gzip
import json
import math
import multiprocessing
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from benchmarks.report import table, versions  # noqa: E402
from monitor.errors import ExtractError  # noqa: E402
from monitor.extract import Extracted, extract  # noqa: E402

DATA = ROOT.parent / "shared" / "data"
ZYTE = DATA / "article_extraction_benchmark"
TRAF_EVAL = DATA / "article_html" / "trafilatura_eval_subset"
MEDIACLOUD = DATA / "article_html" / "htmldate_mediacloud_2020"
SYSTEMS = ("ours", "trafilatura", "readability")
STATUSES = ("ok", "too_short", "paywalled", "not_article", "error")


# --- data -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    key: str
    url: str
    html: bytes
    gold: dict[str, Any] = field(default_factory=dict)


def load_zyte(limit: int | None = None) -> list[Page]:
    """The 181 pages of the article-extraction benchmark, with their ground-truth body."""
    truth = json.loads((ZYTE / "ground-truth.json").read_text(encoding="utf-8"))
    pages = []
    for key in sorted(truth)[:limit]:
        html = gzip.decompress((ZYTE / "html" / f"{key}.html.gz").read_bytes())
        pages.append(
            Page(key, truth[key].get("url") or "", html, {"body": truth[key]["articleBody"]})
        )
    return pages


def load_trafilatura_eval(limit: int | None = None) -> list[Page]:
    """The 143 news pages of trafilatura's evaluation with gold metadata and snippets."""
    gold = json.loads((TRAF_EVAL / "evaldata.news_subset.json").read_text(encoding="utf-8"))
    return [
        Page(url, url, (TRAF_EVAL / "html" / item["file"]).read_bytes(), item)
        for url, item in sorted(gold.items())[:limit]
    ]


def load_mediacloud(limit: int | None = None) -> list[Page]:
    """The htmldate Media Cloud pages that have a gold date (the JSON holds bare NaN for 5)."""
    gold = json.loads((MEDIACLOUD / "eval_mediacloud_2020.json").read_text(encoding="utf-8"))
    pages = [
        Page(url, url, (MEDIACLOUD / "html" / item["file"]).read_bytes(), item)
        for url, item in sorted(gold.items())
        if isinstance(item.get("date"), str)
    ]
    return pages[:limit]


# --- systems ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Output:
    text: str
    title: str | None = None
    authors: tuple[str, ...] = ()
    date: date | None = None
    has_metadata: bool = True
    status: str = "ok"
    reason: str | None = None


def run_ours(html: bytes, url: str) -> Output:
    try:
        ex = extract(html, url)
    except ExtractError as exc:
        return Output("", status="error", reason=str(exc))
    return output_of(ex)


def output_of(ex: Extracted) -> Output:
    """What the scorers look at in one of our extractions."""
    published = ex.published_at.date() if ex.published_at else None
    return Output(ex.text, ex.title, ex.authors, published, True, ex.status, ex.status_reason)


def run_trafilatura(html: bytes, url: str) -> Output:
    import trafilatura
    from trafilatura.utils import load_html

    # The text as trafilatura.extract() gives it with default options; the metadata from its
    # own metadata pass (title, author, and the date it gets from htmldate).
    text = trafilatura.extract(html, url=url) or ""
    tree = load_html(html)
    meta = trafilatura.extract_metadata(tree, default_url=url) if tree is not None else None
    if meta is None:
        return Output(text)
    authors = tuple(a.strip() for a in (meta.author or "").split(";") if a.strip())
    return Output(text, meta.title, authors, _day(meta.date))


_BLOCKS = {
    "p", "div", "section", "article", "br", "li", "ul", "ol", "tr", "td", "th", "table",
    "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "figure", "figcaption", "dd", "dt",
}  # fmt: skip


def run_trafilatura_text(html: bytes, url: str) -> Output:
    """trafilatura.extract() alone, default options, no metadata pass: timed only."""
    import trafilatura

    return Output(trafilatura.extract(html, url=url) or "", has_metadata=False)


def run_readability(html: bytes, url: str) -> Output:
    import lxml.html
    from readability import Document

    try:
        summary = Document(html, url=url).summary(html_partial=True)
        tree = lxml.html.fromstring(summary)
    except Exception:  # readability raises lxml and its own Unparseable errors
        return Output("", has_metadata=False)
    # Newlines between blocks, so that words in adjacent blocks stay separate tokens.
    for el in tree.iter():
        if isinstance(el.tag, str) and el.tag in _BLOCKS:
            el.tail = "\n" + (el.tail or "")
            el.text = "\n" + (el.text or "")
    lines = (" ".join(line.split()) for line in tree.text_content().splitlines())
    return Output("\n".join(line for line in lines if line), has_metadata=False)


def run_htmldate(html: bytes, url: str) -> Output:
    from htmldate import find_date

    # Bytes, never a str: htmldate downloads a str that looks like a URL.
    return Output("", date=_day(find_date(html, original_date=True, extensive_search=True)))


RUNNERS: dict[str, Callable[[bytes, str], Output]] = {
    "ours": run_ours,
    "trafilatura": run_trafilatura,
    "readability": run_readability,
    "htmldate": run_htmldate,
    "trafilatura_text": run_trafilatura_text,
}


# --- scorers ----------------------------------------------------------------------------------

_TOKEN = re.compile(r"\w+")


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def shingles(text: str, n: int = 4) -> Counter[tuple[str, ...]]:
    """4-token shingles with multiplicity; a text shorter than n is one short shingle."""
    toks = tokens(text)
    return Counter(
        tuple(toks[i : i + n]) for i in range(max(1, len(toks) - n + 1)) if toks[i : i + n]
    )


def score_page(truth: str, pred: str) -> tuple[float, float, float]:
    """(tp, fp, fn) of one page, normalised to sum 1 so that every page weighs the same."""
    t, p = shingles(truth), shingles(pred)
    tp = sum((t & p).values())
    fp = sum((p - t).values())
    fn = sum((t - p).values())
    s = tp + fp + fn
    return (tp / s, fp / s, fn / s) if s else (0.0, 0.0, 0.0)


def aggregate(pairs: Iterable[tuple[str, str]]) -> dict[str, float]:
    """Precision, recall, F1 and accuracy over (truth, prediction) pairs, as SOURCE.md says."""
    precisions, recalls, exact = [], [], []
    for truth, pred in pairs:
        tp, fp, fn = score_page(truth, pred)
        perfect = fp == 0 and fn == 0
        if tokens(pred):
            precisions.append(1.0 if perfect else tp / (tp + fp))
        if tokens(truth):
            recalls.append(1.0 if perfect else tp / (tp + fn))
        exact.append(tokens(truth) == tokens(pred))
    p = statistics.fmean(precisions) if precisions else 0.0
    r = statistics.fmean(recalls) if recalls else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    acc = statistics.fmean(exact) if exact else 0.0
    return {"precision": p, "recall": r, "f1": f1, "accuracy": acc, "pages": len(exact)}


def _day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            return None
    return None


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


def title_ok(gold: str, got: str | None) -> bool:
    """Titles are equal casefolded with whitespace collapsed."""
    return got is not None and _norm(gold) == _norm(got)


def author_ok(gold: str | list[str], got: Sequence[str]) -> bool:
    """Each gold author name is contained in one of the extracted authors, casefolded (or each
    extracted author in the gold string, see below).

    The gold field is a string, several names joined with ";" (trafilatura's convention), or a
    list of names; each name must be found.
    """
    names = gold if isinstance(gold, list) else gold.split(";")
    wanted = [_norm(a) for a in names if a.strip()]
    have = [_norm(a) for a in got if a.strip()]
    if wanted and all(any(w in h for h in have) for w in wanted):
        return True
    # The gold often joins names in prose ("A and B", "A, B", "A und B") where an extractor
    # rightly returns ["A", "B"]: then every extracted name must occur in the gold string.
    joined = " ; ".join(wanted)
    return bool(have) and all(h in joined for h in have)


def date_ok(gold: str, got: date | None) -> bool:
    """Same calendar day."""
    return got is not None and _day(gold) == got


def snippet_counts(gold: dict[str, Any], text: str) -> tuple[int, int, int, int]:
    """(with found, with total, without absent, without total): case-sensitive substrings."""
    with_ = [s for s in gold.get("with") or [] if s]
    without = [s for s in gold.get("without") or [] if s]
    return (
        sum(s in text for s in with_),
        len(with_),
        sum(s not in text for s in without),
        len(without),
    )


# --- runs -------------------------------------------------------------------------------------


def _timed(runner: Callable[[bytes, str], Output], page: Page) -> tuple[Output, float]:
    start = time.perf_counter()
    out = runner(page.html, page.url)
    return out, (time.perf_counter() - start) * 1000


def run_all(system: str, pages: Sequence[Page], processes: int = 1) -> list[Output]:
    """One system's output on every page, in order; in worker processes when asked."""
    runner = RUNNERS[system]
    if processes > 1:
        # fork: the workers inherit the loaded pages and modules; no re-import per worker.
        with multiprocessing.get_context("fork").Pool(processes) as pool:
            return pool.starmap(runner, [(p.html, p.url) for p in pages], chunksize=4)
    return [runner(p.html, p.url) for p in pages]


def score_zyte(pages: Sequence[Page], outs: Sequence[Output]) -> dict[str, float]:
    return aggregate((p.gold["body"], o.text) for p, o in zip(pages, outs, strict=True))


def score_trafilatura_eval(pages: Sequence[Page], outs: Sequence[Output]) -> dict[str, Any]:
    found = total_with = absent = total_without = 0
    hits: dict[str, list[bool]] = {"title": [], "author": [], "date": []}
    has_metadata = all(o.has_metadata for o in outs)
    for page, out in zip(pages, outs, strict=True):
        f, tw, a, tn = snippet_counts(page.gold, out.text)
        found, total_with = found + f, total_with + tw
        absent, total_without = absent + a, total_without + tn
        g = page.gold
        if g.get("title"):
            hits["title"].append(title_ok(g["title"], out.title))
        if g.get("author"):
            hits["author"].append(author_ok(g["author"], out.authors))
        if g.get("date"):
            hits["date"].append(date_ok(g["date"], out.date))
    result: dict[str, Any] = {
        "with_found": found / total_with if total_with else 0.0,
        "without_absent": absent / total_without if total_without else 0.0,
        "pages": len(pages),
    }
    for name, values in hits.items():
        result[name] = statistics.fmean(values) if values and has_metadata else None
        result[f"{name}_gold"] = len(values)
    result["statuses"] = status_counts(outs)
    result["not_ok"] = not_ok(pages, outs)
    return result


def score_dates(pages: Sequence[Page], outs: Sequence[Output]) -> dict[str, Any]:
    ok = [date_ok(p.gold["date"], o.date) for p, o in zip(pages, outs, strict=True)]
    return {
        "date": statistics.fmean(ok) if ok else 0.0,
        "pages": len(ok),
        "statuses": status_counts(outs),
        "not_ok": not_ok(pages, outs),
    }


def bench_zyte(pages: Sequence[Page], systems: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Scores and milliseconds per page of each system, in one process.

    The systems run one after the other on each page, their order rotating from page to page,
    so that a busy machine slows them alike and the ratio between them stays meaningful.
    """
    outs: dict[str, list[Output]] = {s: [] for s in systems}
    ms: dict[str, list[float]] = {s: [] for s in systems}
    for i, page in enumerate(pages):
        for system in (*systems[i % len(systems) :], *systems[: i % len(systems)]):
            out, elapsed = _timed(RUNNERS[system], page)
            outs[system].append(out)
            ms[system].append(elapsed)
    figures: dict[str, dict[str, Any]] = {}
    for system in systems:
        f: dict[str, Any] = dict(score_zyte(pages, outs[system]))
        f["ms_median"] = statistics.median(ms[system])
        f["ms_p90"] = _percentile(ms[system], 90)
        f["statuses"] = status_counts(outs[system])
        f["not_ok"] = not_ok(pages, outs[system])
        figures[system] = f
    return figures


def bench_cpu(pages: Sequence[Page], repeat: int) -> list[dict[str, float]]:
    """CPU seconds (time.process_time) per page of ours against trafilatura.extract() alone
    (text only, default options), the two interleaved page by page in alternating order, over
    ``repeat`` passes in this one process; the first pass pays each library's one-off costs
    (dateparser compiles its locales the first time htmldate hands it a date it cannot read)."""
    passes = []
    for _ in range(repeat):
        cpu: dict[str, list[float]] = {"ours": [], "trafilatura_text": []}
        for i, page in enumerate(pages):
            order = ("ours", "trafilatura_text") if i % 2 else ("trafilatura_text", "ours")
            for system in order:
                start = time.process_time()
                RUNNERS[system](page.html, page.url)
                cpu[system].append(time.process_time() - start)
        ours, traf = cpu["ours"], cpu["trafilatura_text"]
        ratios = [o / t for o, t in zip(ours, traf, strict=True) if t > 0]
        passes.append(
            {
                "pages": len(pages),
                "ours_s": sum(ours),
                "trafilatura_s": sum(traf),
                "total_ratio": sum(ours) / sum(traf),
                "ours_p95_ms": _percentile(ours, 95) * 1000,
                "trafilatura_p95_ms": _percentile(traf, 95) * 1000,
                "p95_ratio": _percentile(ours, 95) / _percentile(traf, 95),
                "median_page_ratio": statistics.median(ratios),
                "p95_page_ratio": _percentile(ratios, 95),
            }
        )
    return passes


def status_counts(outs: Sequence[Output]) -> dict[str, int]:
    return dict(Counter(o.status for o in outs))


def not_ok(pages: Sequence[Page], outs: Sequence[Output]) -> list[list[str]]:
    """[page, status, reason] of every page not extracted as a plain article."""
    return [
        [p.key, o.status, o.reason or ""]
        for p, o in zip(pages, outs, strict=True)
        if o.status != "ok"
    ]


def _percentile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _fmt(value: float | None, digits: int = 3) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="at most N pages per data set")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="worker processes for the two metadata sets (the timed set always runs in one)",
    )
    parser.add_argument("--systems", nargs="+", default=list(SYSTEMS), choices=SYSTEMS)
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="passes of the CPU table (ours against trafilatura alone; 0 to skip it)",
    )
    args = parser.parse_args(argv)

    zyte = load_zyte(args.limit)
    traf = load_trafilatura_eval(args.limit)
    media = load_mediacloud(args.limit)
    report: dict[str, Any] = {
        "versions": versions("trafilatura", "readability-lxml", "htmldate", "lxml"),
        "data": {
            "article_extraction_benchmark": {"path": str(ZYTE), "pages": len(zyte)},
            "trafilatura_eval_subset": {"path": str(TRAF_EVAL), "pages": len(traf)},
            "htmldate_mediacloud_2020": {"path": str(MEDIACLOUD), "pages": len(media)},
        },
        "article_extraction_benchmark": {},
        "trafilatura_eval_subset": {},
        "htmldate_mediacloud_2020": {},
    }
    print("versions: " + ", ".join(f"{k} {v}" for k, v in report["versions"].items()))
    for name, info in report["data"].items():
        print(f"data: {name}: {info['pages']} pages, {info['path']}")

    timed = [*args.systems, *(["trafilatura_text"] if "trafilatura" in args.systems else [])]
    report["article_extraction_benchmark"] = bench_zyte(zyte, timed)
    for system in args.systems:
        report["trafilatura_eval_subset"][system] = score_trafilatura_eval(
            traf, run_all(system, traf, args.processes)
        )
        if system != "readability":  # no metadata, hence no date
            report["htmldate_mediacloud_2020"][system] = score_dates(
                media, run_all(system, media, args.processes)
            )
    report["htmldate_mediacloud_2020"]["htmldate"] = score_dates(
        media, run_all("htmldate", media, args.processes)
    )

    z = report["article_extraction_benchmark"]
    print(f"\n## article_extraction_benchmark ({len(zyte)} pages): shingle metric")
    print(
        table(
            ["system", "precision", "recall", "F1", "accuracy"],
            (
                [s, _fmt(f["precision"]), _fmt(f["recall"]), _fmt(f["f1"]), _fmt(f["accuracy"])]
                for s, f in z.items()
                if s in args.systems
            ),
        )
    )
    t = report["trafilatura_eval_subset"]
    first = next(iter(t.values()))
    print(
        f"\n## trafilatura_eval_subset ({len(traf)} pages; gold titles {first['title_gold']}, "
        f"authors {first['author_gold']}, dates {first['date_gold']})"
    )
    print(
        table(
            ["system", "with found", "without absent", "title", "author", "date"],
            (
                [
                    s,
                    _fmt(f["with_found"]),
                    _fmt(f["without_absent"]),
                    _fmt(f["title"]),
                    _fmt(f["author"]),
                    _fmt(f["date"]),
                ]
                for s, f in t.items()
            ),
        )
    )
    m = report["htmldate_mediacloud_2020"]
    print(f"\n## htmldate_mediacloud_2020 ({len(media)} pages with a gold date): exact day")
    print(table(["system", "date"], ([s, _fmt(f["date"])] for s, f in m.items())))
    print(
        f"\n## milliseconds per page ({len(zyte)} pages of article_extraction_benchmark, "
        "systems interleaved page by page)"
    )
    base = z.get("trafilatura", {}).get("ms_median")
    print(
        table(
            ["system", "median", "p90", "median / trafilatura's"],
            (
                [
                    "trafilatura (text only)" if s == "trafilatura_text" else s,
                    _fmt(f["ms_median"], 1),
                    _fmt(f["ms_p90"], 1),
                    _fmt(f["ms_median"] / base, 2) if base else "n/a",
                ]
                for s, f in z.items()
            ),
        )
    )
    if "ours" in args.systems and args.repeat > 0:
        everything = [*zyte, *traf, *media]
        report["cpu"] = bench_cpu(everything, args.repeat)
        print(
            "\n## CPU seconds per page, ours against trafilatura.extract() alone "
            f"({len(everything)} pages of the three sets, interleaved; one row per pass, the "
            "first with one-off costs)"
        )
        print(
            table(
                [
                    "pass",
                    "ours s",
                    "trafilatura s",
                    "total ratio",
                    "ours p95 ms",
                    "trafilatura p95 ms",
                    "p95 ratio",
                    "median of page ratios",
                    "p95 of page ratios",
                ],
                (
                    [
                        str(i + 1),
                        _fmt(f["ours_s"], 2),
                        _fmt(f["trafilatura_s"], 2),
                        _fmt(f["total_ratio"], 2),
                        _fmt(f["ours_p95_ms"], 1),
                        _fmt(f["trafilatura_p95_ms"], 1),
                        _fmt(f["p95_ratio"], 2),
                        _fmt(f["median_page_ratio"], 2),
                        _fmt(f["p95_page_ratio"], 2),
                    ]
                    for i, f in enumerate(report["cpu"])
                ),
            )
        )
    if "ours" in args.systems:
        print("\n## our status per page (ok, too_short, paywalled, not_article, error)")
        sets = {
            "article_extraction_benchmark": z["ours"],
            "trafilatura_eval_subset": t["ours"],
            "htmldate_mediacloud_2020": m["ours"],
        }
        print(
            table(
                ["data set", *STATUSES],
                (
                    [name, *(str(f["statuses"].get(k, 0)) for k in STATUSES)]
                    for name, f in sets.items()
                ),
            )
        )
        for name, f in sets.items():
            for key, status, reason in f["not_ok"]:
                print(f"- {name} {key[:40]}: {status} ({reason})")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
