"""The story's facts: the sentence matcher's quality on MSRP, and the cost of a story's facts.

Run: ``.venv/bin/python benchmarks/storyfile_facts.py [--sizes 1000 5000] [--fit]``

Two tables (``facts_section`` returns the second's rows, for benchmarks/storyfile.py):

1. MSRP (../shared/data/dedup_story/msrp, Microsoft Research Paraphrase Corpus: news sentence
   pairs labelled paraphrase or not): precision, recall, F1 and accuracy on the test pairs of
   ``monitor.match.facts.pairs.same_fact`` at its default threshold, beside two plain
   baselines: exact match after normalisation (case, accents, punctuation, spacing), and
   word-overlap Jaccard at the threshold that is best on the training pairs. Every threshold is
   chosen on the training pairs; the test pairs choose nothing. ``--fit`` fits the pair
   score's weights again on the training pairs and prints them (the constants in pairs.py).
2. Facts of synthetic stories built from the real articles of BASIL, ECB+ and NewsWCL50
   (``synthetic_story``): for 1,000 and 5,000 articles, the time ``story_facts`` takes (best of
   3), the sentences read, the distinct wordings, the pairs the blocking proposed and scored,
   and the facts carried by at least two articles.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from benchmarks.report import table, versions  # noqa: E402
from monitor import text as textmod  # noqa: E402
from monitor.match.facts import pairs, sentences  # noqa: E402
from monitor.match.facts.group import Stats, story_facts  # noqa: E402
from storage.facts import MemberText  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "dedup_story"
MSRP = DATA / "msrp"


# --- MSRP ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pair:
    paraphrase: bool
    a: str
    b: str


def load_msrp(part: str) -> list[Pair]:
    """MSRP's ``train`` or ``test`` pairs (Quality 1: paraphrase)."""
    lines = (MSRP / f"msr_paraphrase_{part}.txt").read_text(encoding="utf-8-sig").splitlines()
    out = []
    for line in lines[1:]:
        quality, _, _, a, b = line.split("\t")
        out.append(Pair(quality == "1", a, b))
    return out


def prf(labels: Sequence[bool], accepted: Sequence[bool]) -> dict[str, float]:
    tp = sum(1 for y, p in zip(labels, accepted, strict=True) if y and p)
    fp = sum(1 for y, p in zip(labels, accepted, strict=True) if p and not y)
    fn = sum(1 for y, p in zip(labels, accepted, strict=True) if y and not p)
    tn = len(labels) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "accuracy": (tp + tn) / len(labels)}


def best_threshold(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """The threshold with the best accuracy on ``scores`` (ties: the lowest)."""
    order = np.argsort(scores)
    s = np.asarray(scores)[order]
    y = np.asarray(labels, dtype=bool)[order]
    # Accepting everything from position i on: positives at or after i, negatives before i.
    pos_after = np.cumsum(y[::-1])[::-1]
    neg_before = np.concatenate([[0], np.cumsum(~y)[:-1]])
    correct = pos_after + neg_before
    # A threshold can only fall between two different scores.
    valid = np.concatenate([[True], s[1:] != s[:-1]])
    i = int(np.argmax(np.where(valid, correct, -1)))
    return float(s[i])


def word_jaccard(a: str, b: str) -> float:
    x, y = set(textmod.words(a)), set(textmod.words(b))
    return len(x & y) / len(x | y) if x | y else 0.0


def msrp_scores() -> dict[str, dict[str, float]]:
    """P, R, F1 and accuracy on the test pairs: ours at its default threshold, and the two
    baselines, each with the threshold it was given (chosen on the training pairs)."""
    train, test = load_msrp("train"), load_msrp("test")
    labels = [p.paraphrase for p in test]
    ours = [pairs.same_fact(pairs.read(p.a), pairs.read(p.b)) for p in test]
    exact = [textmod.normalised(p.a) == textmod.normalised(p.b) for p in test]
    cut = best_threshold([word_jaccard(p.a, p.b) for p in train], [p.paraphrase for p in train])
    jaccard = [word_jaccard(p.a, p.b) >= cut for p in test]
    always = [True] * len(test)
    return {
        "ours": {**prf(labels, ours), "threshold": pairs.THRESHOLD},
        "word_jaccard": {**prf(labels, jaccard), "threshold": cut},
        "exact_normalised": {**prf(labels, exact), "threshold": 1.0},
        "always_paraphrase": {**prf(labels, always), "threshold": 0.0},
    }


def msrp_rows(scores: dict[str, dict[str, float]]) -> list[list[str]]:
    names = {
        "ours": "same_fact (pairs.py), default threshold",
        "word_jaccard": "word-overlap Jaccard, best threshold on train",
        "exact_normalised": "exact match after normalisation",
        "always_paraphrase": "every pair a paraphrase",
    }
    return [
        [names[k], f"{v['threshold']:.3f}"]
        + [f"{v[m]:.3f}" for m in ("precision", "recall", "f1", "accuracy")]
        for k, v in scores.items()
    ]


def fit() -> dict[str, object]:
    """The pair score's weights fitted again on the training pairs (logistic regression on
    standardised features, plain gradient descent, then unstandardised), and the threshold
    with the best training accuracy."""
    train = load_msrp("train")
    read = [(pairs.read(p.a), pairs.read(p.b)) for p in train]
    x = np.array([pairs.features(a, b) for a, b in read])
    y = np.array([p.paraphrase for p in train], dtype=float)
    mu, sd = x.mean(axis=0), x.std(axis=0)
    z = np.hstack([(x - mu) / sd, np.ones((len(x), 1))])
    w = np.zeros(z.shape[1])
    for _ in range(5000):
        p = 1 / (1 + np.exp(-z @ w))
        w -= 0.5 * (z.T @ (p - y) / len(y) + 1e-3 * np.r_[w[:-1], 0.0])
    weights = w[:-1] / sd
    intercept = w[-1] - float(np.sum(w[:-1] * mu / sd))
    probs = 1 / (1 + np.exp(-(x @ weights + intercept)))
    gated = [
        p if pairs.term_jaccard(a, b) >= pairs.MIN_TERM_JACCARD else 0.0
        for p, (a, b) in zip(probs, read, strict=True)
    ]
    return {
        "weights": [round(float(v), 2) for v in weights],
        "intercept": round(float(intercept), 2),
        "threshold": round(best_threshold(gated, [p.paraphrase for p in train]), 3),
    }


# --- synthetic stories -----------------------------------------------------------------------


# A member as the storage layer hands it to story_facts.
Member = MemberText


def load_texts() -> list[tuple[str, list[str]]]:
    """The real articles of BASIL, ECB+ and NewsWCL50 as (event, sentences), stable order."""
    out = []
    for path, event in (
        ("basil/basil_articles.jsonl", "story_id"),
        ("ecbplus_gvc/ecbplus_docs.jsonl", "story_id"),
        ("newswcl50/newswcl50_docs.jsonl", "story_id"),
    ):
        for line in (DATA / path).read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            if r["text"].strip():
                out.append((f"{path.split('/')[0]}:{r[event]}", sentences.split(r["text"])))
    return out


_WORD = re.compile(r"\S+")


def _reword(sentence: str, rng: random.Random) -> str:
    """A light edit an outlet makes to a wire sentence: a word dropped, two neighbouring
    words swapped, or a clause moved to the front."""
    words = _WORD.findall(sentence)
    if len(words) < 8:
        return sentence
    edit = rng.randrange(3)
    i = rng.randrange(1, len(words) - 2)
    if edit == 0:
        del words[i]
    elif edit == 1:
        words[i], words[i + 1] = words[i + 1], words[i]
    else:
        words = words[i:] + words[:i]
    return " ".join(words)


def synthetic_story(n: int, seed: int = 1) -> list[Member]:
    """``n`` members built from the real articles, a story's mix. Each starts from a base
    article: half the time one of 40 "wire stories" (a few of them reprinted often), else any
    of the 825. A third are exact reprints of it, a third edited reprints (a tail cut, 0-3
    sentences dropped, a quarter of the sentences lightly reworded, a sentence of another
    article of the same event added), a third own reporting (sentences of two or three
    articles of the base's event, a quarter of them reworded). 300 outlets; an article every
    two minutes, give or take an hour and a half."""
    rng = random.Random(seed)
    texts = load_texts()
    by_event: dict[str, list[list[str]]] = {}
    for event, sents in texts:
        by_event.setdefault(event, []).append(sents)
    start = datetime(2023, 3, 23, 12, tzinfo=UTC)
    out = []
    for i in range(n):
        if rng.random() < 0.5:  # a wire story: 40 of them, a few reprinted often
            pick = (min(int(rng.paretovariate(1.0)), 40) - 1) * 19 % len(texts)
        else:
            pick = rng.randrange(len(texts))
        event, base = texts[pick]
        mode = i % 3
        if mode == 0:
            body = base
        elif mode == 1:
            body = base[: max(3, int(len(base) * rng.uniform(0.6, 1.0)))]
            for _ in range(rng.randrange(4)):
                if len(body) > 3:
                    del body[rng.randrange(len(body))]
            body = [_reword(s, rng) if rng.random() < 0.25 else s for s in body]
            body.append(rng.choice(rng.choice(by_event[event])))
        else:
            pool = by_event[event]
            picks = [rng.choice(pool) for _ in range(rng.randint(2, 3))]
            body = [s for p in picks for s in p if rng.random() < 0.4]
            body = [_reword(s, rng) if rng.random() < 0.25 else s for s in body]
        at = start + timedelta(minutes=2 * i + rng.randint(0, 90))
        out.append(
            Member(f"Outlet {i % 300}", f"https://example.org/{i}", at, "time", at, "\n".join(body))
        )
    return out


def facts_section(sizes: Sequence[int] = (1000, 5000), repeat: int = 3) -> list[list[str]]:
    """Table rows: for each size, the time ``story_facts`` takes (best of ``repeat``) and what
    it did."""
    rows = []
    for n in sizes:
        members = synthetic_story(n)
        best, stats, facts = float("inf"), Stats(), []
        for _ in range(repeat):
            stats = Stats()
            t0 = time.perf_counter()
            facts = story_facts(members, stats=stats)
            best = min(best, time.perf_counter() - t0)
        rows.append(
            [
                f"{n:,}",
                f"{stats.sentences:,}",
                f"{stats.wordings:,}",
                f"{stats.compared:,}",
                f"{stats.truncated_lists:,}",
                f"{len(facts):,}",
                f"{best:.2f}",
            ]
        )
    return rows


FACTS_HEADERS = [
    "articles",
    "fact sentences",
    "distinct wordings",
    "pairs scored",
    "lists cut",
    "facts (2+ articles)",
    "seconds",
]


def blocking_agreement(n: int = 300) -> dict[str, float]:
    """Blocking against comparing every pair of wordings, on an ``n``-article synthetic story:
    of the wordings that join an earlier one's fact when every pair is compared, the share that
    joins the same fact with blocking; and the pairs each scored."""
    members = synthetic_story(n)
    blocked, every = Stats(), Stats()
    story_facts(members, stats=blocked)
    story_facts(members, stats=every, blocking=False)
    first_of = {w: f[0] for f in blocked.facts for w in f}
    joins = [(w, f[0]) for f in every.facts for w in f[1:]]
    same = sum(1 for w, first in joins if first_of[w] == first)
    return {
        "joins": len(joins),
        "same": same,
        "recall": same / len(joins) if joins else 1.0,
        "compared_blocked": blocked.compared,
        "compared_every": every.compared,
    }


def gate_measure() -> dict[str, float]:
    """The figures tests/test_facts_gate.py pins: MSRP test figures of ours at the default
    threshold and of the word-overlap baseline, and blocking's agreement on 300 articles."""
    scores = msrp_scores()
    agreement = blocking_agreement(300)
    return {
        **{f"msrp_{k}": v for k, v in scores["ours"].items() if k != "threshold"},
        "msrp_accuracy_over_word_jaccard": scores["ours"]["accuracy"]
        - scores["word_jaccard"]["accuracy"],
        "blocking_join_recall_300": agreement["recall"],
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per size (best kept)")
    parser.add_argument("--fit", action="store_true", help="fit the pair score's weights again")
    args = parser.parse_args(argv)
    print(f"versions: {versions('numpy')}")
    print(f"data: {DATA}\n")
    if args.fit:
        print(f"fitted on MSRP train: {fit()}\n")
    print("MSRP test pairs (1,725; 66.5% paraphrases); thresholds chosen on the 4,080 train pairs")
    print(table(["decision", "threshold", "P", "R", "F1", "accuracy"], msrp_rows(msrp_scores())))
    print("\nFacts of synthetic stories (story_facts, best of", args.repeat, "runs)")
    print(table(FACTS_HEADERS, facts_section(args.sizes, args.repeat)))
    a = blocking_agreement(300)
    print("\nBlocking against comparing every pair (300-article synthetic story)")
    print(
        table(
            ["joins comparing every pair", "same fact with blocking", "share", "pairs scored"],
            [
                [
                    f"{a['joins']:,}",
                    f"{a['same']:,}",
                    f"{a['recall']:.3f}",
                    f"{a['compared_blocked']:,} against {a['compared_every']:,}",
                ]
            ],
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
