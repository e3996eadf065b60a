"""Seeded story following with k analyst labels per story, simulated from the ground truth.

Run: ``.venv/bin/python benchmarks/labels.py [--k 0,1,2,3,5,10] [--workers N] [--json FILE]``

The story following of ``benchmarks/matching.py`` (one seed per event of BASIL, ECB+ and
NewsWCL50; every other article a candidate, scored against the seed alone), then, per story,
what ``monitor story label`` does: the article ``monitor story scores --suggest`` lists first
(the unlabelled same-story decision nearest the bar at the threshold the story decides with) is
labelled from the ground truth, the threshold is refit (``monitor.match.fit.fit_threshold``,
the configured 0.26 as the prior), and so on k times. Decisions are then the labels for the
labelled articles and the fitted threshold for the rest (copies are decided before the story
stage and are never suggested). Prints P/R/F1 per set and overall at each k, on every
candidate (what the story file then holds) and on the unlabelled ones alone (what the fitted
threshold learnt), for three orders of labelling: ``--suggest``'s; an analyst correcting the
story's mistakes as they come across them (a random wrongly decided candidate each time); and
labels on random candidates (the value of the ``--suggest`` order). Beside them, each seed at
its own best threshold (the ceiling of a threshold per story).
The benchmark articles have no story keywords, so the bar is the threshold itself.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import random
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from benchmarks.matching import (  # noqa: E402
    DATASETS,
    _masks,
    load_articles,
    per_seed_thresholds,
    prf,
    seeds_of,
    story_rows,
)
from monitor.match import MatchSettings  # noqa: E402
from monitor.match.fit import fit_threshold  # noqa: E402

# (scores, ground truth, unlabelled same-story candidates, threshold, rng) -> the candidate to
# label next, or -1 for none.
Picker = Callable[[np.ndarray, np.ndarray, np.ndarray, float, random.Random], int]


def suggest_order(
    scores: np.ndarray, _: np.ndarray, open_: np.ndarray, threshold: float, __: random.Random
) -> int:
    """``story scores --suggest``: the unlabelled candidate nearest the bar (no keywords)."""
    distance = np.where(open_, np.abs(scores - threshold), np.inf)
    return int(np.argmin(distance))


def mistakes_order(
    scores: np.ndarray,
    positive: np.ndarray,
    open_: np.ndarray,
    threshold: float,
    rng: random.Random,
) -> int:
    """An analyst correcting what they come across: any candidate the story decides wrongly at
    its threshold now (a follow-up left out, another event let in); -1 when none is left."""
    wrong = np.flatnonzero(open_ & ((scores >= threshold) != positive))
    return int(rng.choice(wrong)) if len(wrong) else -1


def random_order(
    _: np.ndarray, __: np.ndarray, open_: np.ndarray, ___: float, rng: random.Random
) -> int:
    """A label on any unlabelled candidate: the baseline the suggest order is measured against."""
    return int(rng.choice(np.flatnonzero(open_)))


def labelled_row(
    scores: np.ndarray, positive: np.ndarray, valid: np.ndarray, k: int, pick: Picker, seed: int
) -> tuple[np.ndarray, np.ndarray, float]:
    """One story after k labels: its decisions (labels where given, else the fitted threshold),
    which candidates were labelled, and the threshold it ended with."""
    prior = MatchSettings().story_threshold
    rng = random.Random(seed)
    finite = valid & np.isfinite(scores)  # copies (inf) are decided before the story stage
    labelled = np.zeros(len(scores), dtype=bool)
    given: list[tuple[float, float, bool]] = []
    threshold = prior
    for _ in range(k):
        open_ = finite & ~labelled
        if not open_.any():
            break
        j = pick(scores, positive, open_, threshold, rng)
        if j < 0:
            break
        labelled[j] = True
        given.append((round(float(scores[j]), 4), 0.0, bool(positive[j])))
        threshold = fit_threshold(given, prior)
    filled = np.nan_to_num(scores, nan=-1.0)
    accepted = np.where(labelled, positive, filled >= threshold)
    return accepted, labelled, threshold


def simulate(
    rows: np.ndarray, positive: np.ndarray, k: int, pick: Picker
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every story after k labels: decisions, labelled candidates, fitted thresholds."""
    valid = ~np.isnan(rows)
    out = [labelled_row(rows[i], positive[i], valid[i], k, pick, i) for i in range(len(rows))]
    accepted = np.vstack([o[0] for o in out])
    labelled = np.vstack([o[1] for o in out])
    return accepted, labelled, np.array([o[2] for o in out])


def table(
    accepted: np.ndarray,
    positive: np.ndarray,
    valid: np.ndarray,
    seed_sets: np.ndarray,
) -> dict[str, dict[str, float]]:
    return {
        ds: prf(accepted, positive, valid & ((seed_sets == ds)[:, None] if ds != "all" else True))
        for ds in [*DATASETS, "all"]
    }


def gate_measure() -> dict[str, float]:
    """The figures tests/test_labels_gate.py pins, on the subset of ``matching.gate_measure``
    (one seed per event of ECB+ topics 1-8, all NewsWCL50, the first 20 BASIL events; every
    article of those events a candidate), which scores in seconds: overall F1 with 3 and 5
    labels a story in the ``--suggest`` order and 5 in the mistakes order."""
    articles = load_articles()
    topics = sorted({a.topic for a in articles if a.dataset == "ecbplus"})[:8]
    basil = sorted({a.event for a in articles if a.dataset == "basil"})[:20]
    keep = {
        i
        for i, a in enumerate(articles)
        if a.topic in topics or a.dataset == "newswcl50" or a.event in basil
    }
    seeds = [s for s in seeds_of(articles) if s in keep]
    rows = story_rows(articles, MatchSettings(), seeds, workers=1, candidates=sorted(keep))
    positive, _, seed_sets = _masks(articles, seeds)
    valid = ~np.isnan(rows)
    out = {}
    for name, pick, k in (
        ("suggest", suggest_order, 3),
        ("suggest", suggest_order, 5),
        ("mistakes", mistakes_order, 5),
    ):
        accepted, _, _ = simulate(rows, positive, k, pick)
        out[f"{name}_f1_k{k}"] = table(accepted, positive, valid, seed_sets)["all"]["f1"]
    return out


def _cells(tab: dict[str, dict[str, float]]) -> str:
    return " ".join(
        f"{tab[d]['precision']:6.3f}/{tab[d]['recall']:5.3f}/{tab[d]['f1']:5.3f}"
        for d in [*DATASETS, "all"]
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", default="0,1,2,3,5,10", help="label counts per story, comma-separated")
    ap.add_argument("--workers", type=int, default=multiprocessing.cpu_count())
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    args = ap.parse_args(argv)
    ks = [int(k) for k in args.k.split(",")]
    articles = load_articles()
    seeds = seeds_of(articles)
    started = time.perf_counter()
    rows = story_rows(articles, MatchSettings(), seeds, workers=args.workers)
    scored_s = time.perf_counter() - started
    positive, _, seed_sets = _masks(articles, seeds)
    valid = ~np.isnan(rows)
    print(
        f"## Seeded story following with k labels per story: {len(seeds)} seeds x "
        f"{len(articles) - 1} candidates (scored in {scored_s:.0f} s), labels from the ground "
        "truth, threshold refit after each (prior 0.26)"
    )
    header = f"{'labels':30} {'k':>3} " + " ".join(
        f"{d + ' P/R/F1':>20}" for d in [*DATASETS, "all"]
    )
    print(header + f" {'thr median':>10}")
    report: dict[str, Any] = {"seeds": len(seeds), "candidates": len(articles) - 1, "runs": {}}
    orders = (
        ("suggest order, all", suggest_order),
        ("mistakes order, all", mistakes_order),
        ("random order, all", random_order),
    )
    for name, pick in orders:
        for k in ks:
            accepted, labelled, thresholds = simulate(rows, positive, k, pick)
            every = table(accepted, positive, valid, seed_sets)
            unlabelled = table(accepted, positive, valid & ~labelled, seed_sets)
            report["runs"][f"{name.split(',')[0]} k={k}"] = {
                "all": every,
                "unlabelled": unlabelled,
                "threshold_median": float(np.median(thresholds)),
            }
            print(f"{name:30} {k:3} {_cells(every)} {np.median(thresholds):10.3f}")
            if k and not name.startswith("random"):
                print(f"{'  the unlabelled only':30} {k:3} {_cells(unlabelled)}")
    _, decided = per_seed_thresholds(articles, seeds, rows)
    ceiling = table(np.nan_to_num(decided, nan=0.0) > 0, positive, valid, seed_sets)
    report["per_seed_best_threshold"] = ceiling
    print(f"{'each seed at its best threshold':30} {'':3} {_cells(ceiling)}")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return report


if __name__ == "__main__":
    main()
