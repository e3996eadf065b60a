"""Matching quality and speed on the real sets in ../shared/data/dedup_story.

Run: ``.venv/bin/python benchmarks/matching.py [--json FILE] [--no-growing] [--workers N]``

Four tables:

1. copies: our copy decision (``StoryIndex.decide`` kind ``exact`` or ``copy``) on the real
   wire-copy pairs, on synthetic copies made here from real articles, and on pairs of articles
   from different events (negatives);
2. story following: one seed per event of BASIL, ECB+ and NewsWCL50, every other article of
   every set a candidate, decided against the seed alone ("seeded") and, optionally, with
   accepted articles joining the index ("growing"); beside a plain TF-IDF cosine baseline.
   BASIL articles carry their publication dates, NewsWCL50's are read from the set's own URL
   list (``newswcl50_dates``), so time proximity applies to both as in the service; ECB+ has
   none;
3. held-out check: SemEval-2022 task 8 English and French pairs, never used to choose anything;
4. throughput: ``fingerprint`` against datasketch's own ``MinHash.update_batch`` on the same
   texts (the ratio), and LSH query time at 100,000 indexed signatures, by MinHashLSH and by
   ``lsh_bands`` keys in a dict (the layout of a database band table).
"""

from __future__ import annotations

import argparse
import gc
import json
import multiprocessing
import platform
import random
import re
import statistics
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from monitor.match import (  # noqa: E402
    Fingerprint,
    Known,
    MatchSettings,
    StoryIndex,
    band_keys,
    fingerprint,
    lsh_bands,
    minhash_of,
    version_key,
)
from monitor.match import story as match_story  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "dedup_story"
THRESHOLDS = [round(x, 2) for x in np.arange(0.02, 0.61, 0.01)]
COPY_KINDS = ("exact", "copy")
DATASETS = ("basil", "ecbplus", "newswcl50")


@dataclass(frozen=True)
class Article:
    key: str  # dataset:id
    dataset: str  # basil | ecbplus | newswcl50
    event: str
    topic: str  # ECB+ topic (two events of one kind); the event elsewhere
    title: str | None
    text: str
    published_at: datetime | None = None  # BASIL and NewsWCL50 (47 of 50); ECB+ has no dates


# A NewsWCL50 article's day in its URL (``/2018/04/17/``), or in a HuffPost entry's id: a
# MongoDB ObjectId, whose first 8 hex digits are the creation time in Unix seconds.
_URL_DAY = re.compile(r"/(20\d\d)/(\d\d)/(\d\d)/")
_HUFFPOST_ID = re.compile(r"_u[sk]_([0-9a-f]{24})")


def newswcl50_dates(data: Path = DATA) -> dict[str, datetime]:
    """NewsWCL50's publication days by doc id (``"0/-/0_L"``), read from the set's urls.tsv:
    the day in the URL, or a HuffPost id's creation time cut to its day (BASIL is dated by day
    too). Three Breitbart wire pages carry neither and stay undated (time proximity 1.0), as an
    article without a date is in the service."""
    out: dict[str, datetime] = {}
    for line in (data / "newswcl50" / "urls.tsv").read_text().splitlines()[1:]:
        event, outlet, url = line.split("\t")[:3]
        day, entry = _URL_DAY.search(url), _HUFFPOST_ID.search(url)
        if day:
            when = datetime(*map(int, day.groups()), tzinfo=UTC)
        elif entry:
            when = datetime.fromtimestamp(int(entry.group(1)[:8], 16), UTC)
            when = when.replace(hour=0, minute=0, second=0)
        else:
            continue
        out[f"{event}/-/{event}_{outlet}"] = when
    return out


def load_articles(data: Path = DATA) -> list[Article]:
    """BASIL, ECB+ and NewsWCL50 articles, in a stable order."""
    out: list[Article] = []
    for line in (data / "basil" / "basil_articles.jsonl").read_text().splitlines():
        r = json.loads(line)
        ev = f"basil:{r['story_id']}"
        day = datetime.fromisoformat(r["date"]).replace(tzinfo=UTC) if r.get("date") else None
        out.append(Article(f"basil:{r['id']}", "basil", ev, ev, r["title"], r["text"], day))
    for line in (data / "ecbplus_gvc" / "ecbplus_docs.jsonl").read_text().splitlines():
        r = json.loads(line)
        ev, topic = f"ecbplus:{r['story_id']}", f"ecbplus:{r['topic']}"
        out.append(Article(f"ecbplus:{r['doc_id']}", "ecbplus", ev, topic, None, r["text"]))
    dates = newswcl50_dates(data)
    for line in (data / "newswcl50" / "newswcl50_docs.jsonl").read_text().splitlines():
        r = json.loads(line)
        ev, day = f"newswcl50:{r['story_id']}", dates.get(r["doc_id"])
        out.append(Article(f"newswcl50:{r['doc_id']}", "newswcl50", ev, ev, None, r["text"], day))
    return sorted((a for a in out if a.text.strip()), key=lambda a: a.key)


def load_copy_pairs(
    articles: Sequence[Article], data: Path = DATA
) -> tuple[list[tuple[int, int]], int]:
    """The observed wire-copy pairs as article indexes, and how many could not be resolved
    (the GVC texts are not in the snapshot)."""
    where = {a.key: i for i, a in enumerate(articles)}
    pairs, missing = [], 0
    lines = (data / "observed_near_duplicate_pairs.tsv").read_text().splitlines()[1:]
    for line in lines:
        dataset, a, b = line.split("\t")[:3]
        ia, ib = where.get(f"{dataset}:{a}"), where.get(f"{dataset}:{b}")
        if ia is None or ib is None:
            missing += 1
        else:
            pairs.append((ia, ib))
    return pairs, missing


def fingerprints(articles: Sequence[Article], settings: MatchSettings) -> list[Fingerprint]:
    return [fingerprint(a.text, settings) for a in articles]


def _known(i: int, a: Article, text: str | None = None, relation: str = "seed") -> Known:
    return Known(i, a.key, relation, a.published_at, texts=[text or a.text], title=a.title)


def _copy_decision(
    original: Article, candidate_text: str, settings: MatchSettings, fp: Fingerprint | None = None
) -> bool:
    index = StoryIndex(settings)
    index.add(_known(0, original))
    decision = index.decide(None, candidate_text, fp or fingerprint(candidate_text, settings))
    return decision.kind in COPY_KINDS


# -- 1. copies --------------------------------------------------------------------------------

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def _paragraphs(text: str, min_words: int = 20) -> list[str]:
    paras = [p.strip() for p in text.split("\n") if len(p.split()) >= min_words]
    if len(paras) >= 2:
        return paras
    words = text.split()
    return [" ".join(words[i : i + 60]) for i in range(0, max(len(words), 1), 60)]


def synthetic_copies(
    articles: Sequence[Article], n: int, seed: int = 0
) -> list[tuple[str, int, str]]:
    """(kind, index of the original, text) for ``n`` originals of at least 150 words."""
    rng = random.Random(seed)
    pool = [i for i, a in enumerate(articles) if len(a.text.split()) >= 150]
    chosen = rng.sample(pool, min(n, len(pool)))
    out = []
    for i in chosen:
        text = articles[i].text
        other = articles[rng.choice([j for j in pool if articles[j].event != articles[i].event])]
        out.append(("verbatim", i, text))
        cut = text.rfind(" ", 0, len(text) // 2)
        out.append(("first_half", i, text[: max(cut, 1)]))
        extra = _paragraphs(other.text)[:2]
        out.append(("plus_two_paragraphs", i, text + "\n" + "\n".join(extra)))
        sentences = _SENTENCE.split(text)
        vocab = other.text.split()
        for s_i in rng.sample(range(len(sentences)), min(3, len(sentences))):
            words = sentences[s_i].split()
            for w_i in rng.sample(range(len(words)), min(2, len(words))):
                words[w_i] = rng.choice(vocab)
            sentences[s_i] = " ".join(words)
        out.append(("three_sentences_edited", i, " ".join(sentences)))
    return out


def copy_benchmark(
    articles: Sequence[Article],
    settings: MatchSettings,
    fps: Sequence[Fingerprint],
    *,
    n_negatives: int = 2000,
    n_synthetic: int = 200,
    seed: int = 0,
) -> dict[str, Any]:
    """Recall on real and synthetic copies, false copies on different-event pairs."""
    pairs, missing = load_copy_pairs(articles)
    real_hits = 0
    for a, b in pairs:  # both directions: either may be the one already known
        real_hits += _copy_decision(articles[a], articles[b].text, settings, fps[b])
        real_hits += _copy_decision(articles[b], articles[a].text, settings, fps[a])
    rng = random.Random(seed)
    neg_fp = 0
    n = len(articles)
    negatives = 0
    while negatives < n_negatives:
        a, b = rng.randrange(n), rng.randrange(n)
        if articles[a].event == articles[b].event:
            continue
        negatives += 1
        neg_fp += _copy_decision(articles[a], articles[b].text, settings, fps[b])
    # Same event, different outlet, not an observed copy: own reporting, not copies (BASIL,
    # NewsWCL50 only; informative: a few may be real copies nobody listed).
    listed = {frozenset(p) for p in pairs}
    same_story = same_story_copy = 0
    for ds in ("basil", "newswcl50"):
        by_event: dict[str, list[int]] = {}
        for i, art in enumerate(articles):
            if art.dataset == ds:
                by_event.setdefault(art.event, []).append(i)
        for members in by_event.values():
            for x in range(len(members)):
                for y in range(x + 1, len(members)):
                    a, b = members[x], members[y]
                    if frozenset((a, b)) in listed:
                        continue
                    same_story += 1
                    same_story_copy += _copy_decision(articles[a], articles[b].text, settings)
    kinds: dict[str, list[int]] = {}
    for kind, i, text in synthetic_copies(articles, n_synthetic, seed):
        kinds.setdefault(kind, []).append(_copy_decision(articles[i], text, settings))
    syn_tp = sum(sum(v) for v in kinds.values())
    syn_n = sum(len(v) for v in kinds.values())
    return {
        "real_pairs": len(pairs),
        "real_pairs_missing": missing,
        "real_decisions": 2 * len(pairs),
        "real_recall": real_hits / (2 * len(pairs)) if pairs else 0.0,
        "real_precision": real_hits / (real_hits + neg_fp) if real_hits + neg_fp else 0.0,
        "negatives": n_negatives,
        "negatives_called_copy": neg_fp,
        "same_story_pairs": same_story,
        "same_story_called_copy": same_story_copy,
        "synthetic_recall": {k: sum(v) / len(v) for k, v in kinds.items()},
        "synthetic_n": {k: len(v) for k, v in kinds.items()},
        "synthetic_recall_all": syn_tp / syn_n if syn_n else 0.0,
        "synthetic_precision": syn_tp / (syn_tp + neg_fp) if syn_tp + neg_fp else 0.0,
    }


# -- 2. story following -----------------------------------------------------------------------

_W: dict[str, Any] = {}  # the worker's share: articles, fingerprints, settings, background


def _background(articles: Sequence[Article], settings: MatchSettings) -> StoryIndex:
    index = StoryIndex(settings)
    for a in articles:
        index.add_background(a.text)
    return index


def _fresh_index(proto: StoryIndex) -> StoryIndex:
    """An empty index sharing ``proto``'s background term statistics (read-only here): counting
    825 texts again for each of ~150 seeds would take most of the run."""
    index = StoryIndex(proto.settings, proto.keywords)
    index.share_background(proto)
    return index


_PLAIN_STORY_TERMS = match_story.story_terms


def _memo_story_terms() -> None:
    """Each candidate's story terms, computed once per process instead of once per seed (the
    terms depend on the text alone): same decisions, a fraction of the run time. Undone by
    ``_plain_story_terms``."""
    if match_story.story_terms is not _PLAIN_STORY_TERMS:
        return
    plain = _PLAIN_STORY_TERMS
    memo: dict[tuple[str | None, str, int | None], dict[str, float]] = {}

    def story_terms(
        title: str | None, text: str, lead: int | None = match_story.LEAD_WORDS
    ) -> dict[str, float]:
        key = (title, text, lead)
        if key not in memo:
            memo[key] = plain(title, text, lead)
        return memo[key]

    match_story.story_terms = story_terms  # type: ignore[assignment]


def _plain_story_terms() -> None:
    match_story.story_terms = _PLAIN_STORY_TERMS  # type: ignore[assignment]


def _init(
    articles: Sequence[Article], settings: MatchSettings, candidates: Sequence[int] | None = None
) -> None:
    _memo_story_terms()
    _W["articles"] = articles
    _W["candidates"] = range(len(articles)) if candidates is None else candidates
    _W["settings"] = settings
    _W["fps"] = fingerprints(articles, settings)
    _W["proto"] = _background(articles, settings)


def _seeded_row(seed: int) -> np.ndarray:
    """Per candidate: inf for a copy, else the same-story cosine; nan for the seed itself."""
    articles, fps = _W["articles"], _W["fps"]
    index = _fresh_index(_W["proto"])
    index.add(_known(seed, articles[seed]))
    row = np.full(len(articles), np.nan)
    for j in _W["candidates"]:
        a = articles[j]
        if j == seed:
            continue
        d = index.decide(a.title, a.text, fps[j], published_at=a.published_at)
        row[j] = np.inf if d.kind in COPY_KINDS else d.scores.get("score", 0.0)
    return row


def _growing_row(seed: int) -> np.ndarray:
    """Per candidate, in a fixed shuffled order: 1 if accepted at the default threshold, with
    every accepted article joining the index."""
    articles, fps = _W["articles"], _W["fps"]
    index = _fresh_index(_W["proto"])
    index.add(_known(seed, articles[seed]))
    order = [j for j in _W["candidates"] if j != seed]
    random.Random(seed).shuffle(order)
    row = np.full(len(articles), np.nan)
    for j in order:
        a = articles[j]
        d = index.decide(a.title, a.text, fps[j], published_at=a.published_at)
        accepted = d.kind != "off_topic"
        row[j] = float(accepted)
        if accepted:
            rel = "copy" if d.kind in COPY_KINDS else "original"
            index.add(Known(j, a.key, rel, a.published_at, d.matched_id if rel == "copy" else None,
                            [a.text], a.title))  # fmt: skip
    return row


def seeds_of(articles: Sequence[Article], datasets: Sequence[str] | None = None) -> list[int]:
    """One seed per event: its first article by key."""
    seen: dict[str, int] = {}
    for i, a in enumerate(articles):
        if datasets is None or a.dataset in datasets:
            seen.setdefault(a.event, i)
    return sorted(seen.values())


def story_rows(
    articles: Sequence[Article],
    settings: MatchSettings,
    seeds: Sequence[int],
    *,
    growing: bool = False,
    workers: int = 2,
    candidates: Sequence[int] | None = None,
) -> np.ndarray:
    """One row per seed (see ``_seeded_row`` / ``_growing_row``) over every article (nan where
    not a candidate)."""
    fn = _growing_row if growing else _seeded_row
    if workers <= 1:
        _init(articles, settings, candidates)
        try:
            return np.vstack([fn(s) for s in seeds])
        finally:
            _plain_story_terms()
    ctx = multiprocessing.get_context("fork")
    init = (articles, settings, candidates)
    with ctx.Pool(workers, initializer=_init, initargs=init) as pool:
        return np.vstack(pool.map(fn, seeds, chunksize=4))


def baseline_rows(articles: Sequence[Article], seeds: Sequence[int]) -> np.ndarray:
    """Plain TF-IDF cosine (lower-cased ``\\w\\w+`` tokens, raw tf, smoothed idf over all the
    articles, l2 norm: scikit-learn's defaults) of every article to each seed."""
    from scipy.sparse import csr_matrix  # type: ignore[import-untyped]

    vocab: dict[str, int] = {}
    rows, cols, vals = [], [], []
    for i, a in enumerate(articles):
        for t, c in Counter(re.findall(r"\w\w+", f"{a.title or ''} {a.text}".lower())).items():
            rows.append(i)
            cols.append(vocab.setdefault(t, len(vocab)))
            vals.append(float(c))
    x = csr_matrix((vals, (rows, cols)), shape=(len(articles), len(vocab)))
    df = np.bincount(x.indices, minlength=len(vocab))
    idf = np.log((1 + len(articles)) / (1 + df)) + 1
    x = x.multiply(idf).tocsr()
    norms = np.sqrt(np.asarray(x.multiply(x).sum(axis=1)).ravel())
    x = csr_matrix(x.multiply(1 / norms[:, None]))
    sims = (x[list(seeds)] @ x.T).toarray()
    for r, s in enumerate(seeds):
        sims[r, s] = np.nan
    return sims


def _masks(
    articles: Sequence[Article], seeds: Sequence[int]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    events = np.array([a.event for a in articles])
    topics = np.array([a.topic for a in articles])
    positive = events[None, :] == events[list(seeds)][:, None]
    hard = (topics[None, :] == topics[list(seeds)][:, None]) & ~positive
    seed_sets = np.array([articles[s].dataset for s in seeds])
    return positive, hard, seed_sets


def prf(accepted: np.ndarray, positive: np.ndarray, valid: np.ndarray) -> dict[str, float]:
    tp = int((accepted & positive & valid).sum())
    fp = int((accepted & ~positive & valid).sum())
    fn = int((~accepted & positive & valid).sum())
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0, "fp": fp}


def story_table(
    articles: Sequence[Article],
    seeds: Sequence[int],
    rows: np.ndarray,
    threshold: float,
    datasets: Sequence[str],
) -> dict[str, dict[str, float]]:
    """P/R/F1 per seed set and overall at ``threshold``; ECB+ same-topic other-event candidates
    wrongly accepted (the hard negatives)."""
    positive, hard, seed_sets = _masks(articles, seeds)
    valid = ~np.isnan(rows)
    accepted = np.nan_to_num(rows, nan=-1.0) >= threshold
    out = {}
    for ds in [*datasets, "all"]:
        sel = valid & ((seed_sets == ds)[:, None] if ds != "all" else True)
        out[ds] = prf(accepted, positive, sel)
    h = hard & valid
    out["ecbplus_hard"] = {
        "pairs": int(h.sum()),
        "accepted": int((accepted & h).sum()),
        "rate": float((accepted & h).sum() / h.sum()) if h.sum() else 0.0,
    }
    return out


def best_threshold(
    articles: Sequence[Article], seeds: Sequence[int], rows: np.ndarray, dataset: str | None
) -> tuple[float, float]:
    """The swept threshold with the best F1 over the seeds of ``dataset`` (all if None)."""
    positive, _, seed_sets = _masks(articles, seeds)
    valid = ~np.isnan(rows)
    if dataset:
        valid &= (seed_sets == dataset)[:, None]
    filled = np.nan_to_num(rows, nan=-1.0)
    best = (0.0, -1.0)
    for th in THRESHOLDS:
        f1 = prf(filled >= th, positive, valid)["f1"]
        if f1 > best[1]:
            best = (th, f1)
    return best


def per_seed_thresholds(
    articles: Sequence[Article], seeds: Sequence[int], rows: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Each seed's own best threshold (best F1 over its candidates alone; the middle one of
    those that tie), and the rows decided
    at them (1 accepted, 0 not): what a story-specific ``story_threshold`` could reach at best,
    the measure of how much the one default threshold costs."""
    positive, _, _ = _masks(articles, seeds)
    valid = ~np.isnan(rows)
    filled = np.nan_to_num(rows, nan=-1.0)
    chosen = np.zeros(len(seeds))
    decided = np.where(valid, 0.0, np.nan)
    for i in range(len(seeds)):
        f1s = np.array([prf(filled[i] >= th, positive[i], valid[i])["f1"] for th in THRESHOLDS])
        # The middle of the thresholds that tie for best: the seed's own, not the sweep's end.
        ties = np.flatnonzero(f1s == f1s.max())
        chosen[i] = THRESHOLDS[int(ties[len(ties) // 2])]
        decided[i] = np.where(valid[i], (filled[i] >= chosen[i]).astype(float), np.nan)
    return chosen, decided


# -- held-out check: SemEval-2022 task 8 --------------------------------------------------------


def _auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Probability that a random positive outscores a random negative (ties count half)."""
    pos, neg = scores[labels], scores[~labels]
    if not len(pos) or not len(neg):
        return 0.0
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (len(pos) * len(neg)))


# SemEval-2022 language pairs the benchmark scores: English and French pairs, never used to
# choose anything; cross-language pairs that fitted story.CROSS_LANGUAGE_RATIO; and
# German-French, held out from that fit (the set has no English-French pairs).
SEMEVAL_PAIRS = (
    ("en", "en", "held out"),
    ("fr", "fr", "held out"),
    ("de", "en", "fitted"),
    ("es", "en", "fitted"),
    ("pl", "en", "fitted"),
    ("es", "it", "fitted"),
    ("de", "fr", "held out"),
)


def semeval_check(settings: MatchSettings, data: Path = DATA) -> dict[str, dict[str, float]]:
    """Same-story scoring on SemEval-2022 task 8 pairs (``SEMEVAL_PAIRS``, keyed ``en-en``),
    the first text as the seed and the second decided against it, each text's language told by
    its words (as the service does); positive when annotators rated the pair the same story
    (Overall <= 2), negative when they did not (>= 3), pairs in between left out. Texts are cut
    to ~1,000 characters and carry no dates. AUC of our score and of plain TF-IDF; our P/R/F1
    at the default threshold."""
    import csv

    rows: dict[str, dict[str, str]] = {}
    for name in ("training_set.csv", "testing_set.csv"):
        with (data / "semeval2022_task8" / name).open(encoding="utf-8") as f:
            rows.update((r["pair_id"], r) for r in csv.DictReader(f))
    out: dict[str, dict[str, float]] = {}
    for lang1, lang2, _ in SEMEVAL_PAIRS:
        pairs = [
            r
            for r in rows.values()
            if sorted((r["lang1"], r["lang2"])) == sorted((lang1, lang2))
            and (float(r["Overall"]) <= 2.0 or float(r["Overall"]) >= 3.0)
        ]
        texts = [t for r in pairs for t in (r["text1"], r["text2"])]
        proto = StoryIndex(settings)
        for t in texts:
            proto.add_background(t)
        ours, labels = [], []
        for i, r in enumerate(pairs):
            index = _fresh_index(proto)
            index.add(Known(i, "text1", "seed", None, texts=[r["text1"]]))
            d = index.decide(None, r["text2"], fingerprint(r["text2"], settings))
            ours.append(1.0 if d.kind in COPY_KINDS else d.scores.get("score", 0.0))
            labels.append(float(r["Overall"]) <= 2.0)
        arts = [Article(str(k), "semeval", "", "", None, t) for k, t in enumerate(texts)]
        base = baseline_rows(arts, list(range(0, len(arts), 2)))
        plain = np.array([base[i, 2 * i + 1] for i in range(len(pairs))])
        y = np.array(labels)
        got = np.array(ours)
        accepted = got >= settings.story_threshold
        tp, fp = int((accepted & y).sum()), int((accepted & ~y).sum())
        fn = int((~accepted & y).sum())
        p = tp / (tp + fp) if tp + fp else 0.0
        rc = tp / (tp + fn) if tp + fn else 0.0
        best = max((prf(got >= th, y, np.ones_like(y))["f1"], th) for th in THRESHOLDS)
        out[f"{lang1}-{lang2}"] = {
            "pairs": len(pairs),
            "positives": int(y.sum()),
            "auc": _auc(got, y),
            "auc_plain_tfidf": _auc(plain, y),
            "precision": p,
            "recall": rc,
            "f1": 2 * p * rc / (p + rc) if p + rc else 0.0,
            "best_threshold": best[1],
            "best_f1": best[0],
        }
    return out


# -- the quality gate's subset ------------------------------------------------------------------


def gate_measure(settings: MatchSettings | None = None) -> dict[str, float]:
    """The figures tests/test_matching_gate.py pins, on a deterministic subset that runs in
    seconds: copies on every real pair, 300 negatives and 40 synthetic originals; story F1
    (seeded and growing, default threshold) with one seed per event of ECB+ topics 1-8 (by sort
    order), all NewsWCL50 and the first 20 BASIL events, candidates every article of those
    events; the SemEval held-out AUCs."""
    settings = settings or MatchSettings()
    articles = load_articles()
    fps = fingerprints(articles, settings)
    c = copy_benchmark(articles, settings, fps, n_negatives=300, n_synthetic=40)
    topics = sorted({a.topic for a in articles if a.dataset == "ecbplus"})[:8]
    basil = sorted({a.event for a in articles if a.dataset == "basil"})[:20]
    keep = {
        i
        for i, a in enumerate(articles)
        if a.topic in topics or a.dataset == "newswcl50" or a.event in basil
    }
    candidates = sorted(keep)
    seeds = [s for s in seeds_of(articles) if s in keep]
    rows = story_rows(articles, settings, seeds, workers=1, candidates=candidates)
    tab = story_table(articles, seeds, rows, settings.story_threshold, DATASETS)
    grow = story_rows(articles, settings, seeds, growing=True, workers=1, candidates=candidates)
    grown = story_table(articles, seeds, grow, 0.5, DATASETS)
    held_out = semeval_check(settings)
    return {
        "copy_precision_real": c["real_precision"],
        "copy_recall_real": c["real_recall"],
        "copy_precision_synthetic": c["synthetic_precision"],
        "copy_recall_synthetic": c["synthetic_recall_all"],
        "story_f1_basil": tab["basil"]["f1"],
        "story_f1_ecbplus": tab["ecbplus"]["f1"],
        "story_f1_newswcl50": tab["newswcl50"]["f1"],
        "story_f1_all": tab["all"]["f1"],
        "ecbplus_hard_negatives_accepted_rate": tab["ecbplus_hard"]["rate"],
        "story_growing_f1_all": grown["all"]["f1"],
        "story_growing_ecbplus_hard_negatives_accepted_rate": grown["ecbplus_hard"]["rate"],
        "semeval_en_auc": held_out["en-en"]["auc"],
        "semeval_fr_auc": held_out["fr-fr"]["auc"],
        "semeval_de_fr_f1": held_out["de-fr"]["f1"],
    }


# -- 3. throughput ----------------------------------------------------------------------------


def _rate(fn: Any, texts: Sequence[str], repeats: int = 3) -> float:
    """Texts per second, the best of ``repeats`` passes (other processes share the machine)."""
    best = 0.0
    for _ in range(repeats):
        t = time.perf_counter()
        for x in texts:
            fn(x)
        best = max(best, len(texts) / (time.perf_counter() - t))
    return best


def signature_rates(texts: Sequence[str], settings: MatchSettings) -> dict[str, float]:
    """``fingerprint`` (tokens, content hash, shingles, signature) against datasketch's default
    way on the same tokens: 5-word shingles as bytes, ``MinHash(num_perm).update_batch`` (SHA-1
    per shingle); and the shingling alone, which both share."""
    from datasketch import MinHash

    from monitor import text as textmod

    k = settings.shingle_size

    def byte_shingles(x: str) -> list[bytes]:
        w = textmod.words(x)
        return [" ".join(w[i : i + k]).encode() for i in range(max(len(w) - k + 1, 1))]

    def datasketch_way(x: str) -> None:
        m = MinHash(num_perm=settings.num_perm)
        m.update_batch(byte_shingles(x))

    ours = _rate(lambda x: fingerprint(x, settings), texts)
    theirs = _rate(datasketch_way, texts)
    return {
        "texts": len(texts),
        "mean_words": float(np.mean([len(x.split()) for x in texts])),
        "ours_per_s": ours,
        "datasketch_per_s": theirs,
        "shingling_per_s": _rate(byte_shingles, texts),
        "ratio": ours / theirs,
    }


def database_query(
    keys: np.ndarray, queries: Sequence[Any], expected: Sequence[set[int]], settings: Any, url: str
) -> dict[str, Any]:
    """The band table (storage.lsh) at ``len(keys)`` indexed versions: built with the
    application's own migrations on ``url``, then queried through ``storage.lsh.candidates``
    (one read session, as a decision would). ``keys[i]`` are signature i's band keys."""
    from sqlalchemy import func, insert, select

    from storage import lsh as lsh_table
    from storage.db import open_database
    from storage.models import Article as ArticleRow
    from storage.models import LshBucket, Story

    db = open_database(url)
    try:
        now = datetime(2023, 3, 23, tzinfo=UTC)
        t = time.perf_counter()
        with db.write() as session:
            story = Story(slug="bench", title="bench", keywords=[], created_at=now, updated_at=now)
            session.add(story)
            session.flush()
            story_id = story.id
            ids: list[int] = []
            for start in range(0, len(keys), 10_000):
                rows = [
                    {"url": f"https://bench.example/{i}", "outlet": "bench", "domain": "bench",
                     "first_seen_at": now, "authors": [], "status": "ok", "check_count": 0}
                    for i in range(start, min(start + 10_000, len(keys)))
                ]  # fmt: skip
                ids += session.scalars(insert(ArticleRow).returning(ArticleRow.id), rows).all()
            n_bands = keys.shape[1]
            for start in range(0, len(keys), 10_000):  # as monitor.app rebuilds the table
                lsh_table.fill(
                    session,
                    [
                        (story_id, ids[i], 1, [(b, int(keys[i, b])) for b in range(n_bands)])
                        for i in range(start, min(start + 10_000, len(keys)))
                    ],
                )
        # What PostgreSQL's autovacuum does after a bulk load (statistics, and the visibility
        # map that lets the lookup read the index alone, which one pass right after the load
        # does not always complete); SQLite gets its statistics.
        visible = 1.0
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if db.dialect != "postgresql":
                conn.exec_driver_sql("ANALYZE")
            for _ in range(3):
                if db.dialect != "postgresql":
                    break
                conn.exec_driver_sql("VACUUM ANALYZE lsh_buckets")
                pages, all_visible = conn.exec_driver_sql(
                    "SELECT relpages, relallvisible FROM pg_class WHERE relname = 'lsh_buckets'"
                ).one()
                visible = all_visible / max(pages, 1)
                if visible >= 0.99:
                    break
        build = time.perf_counter() - t
        with db.read() as session:
            buckets = int(session.scalar(select(func.count()).select_from(LshBucket)) or 0)
        position = {article_id: i for i, article_id in enumerate(ids)}
        passes = []
        with db.read() as session:
            for _ in range(2):  # the first pass reads the pages in; the second is the figure
                times, same = [], 0
                for q, want in zip(queries, expected, strict=True):
                    bands = band_keys(q, settings)
                    t = time.perf_counter()
                    found = lsh_table.candidates(session, story_id, bands)
                    times.append(time.perf_counter() - t)
                    same += {position[a] for a, _ in found} == want
                passes.append(times)
            # A new article with no near copy in the index (most decisions): a random shingle
            # set the size of a real article's.
            rng = np.random.default_rng(1)
            fresh, fresh_hits = [], 0
            for _ in range(1000):
                shingles = np.unique(rng.integers(0, 2**32, size=450, dtype=np.uint64))
                bands = band_keys(minhash_of(shingles, settings.num_perm), settings)
                t = time.perf_counter()
                fresh_hits += len(lsh_table.candidates(session, story_id, bands))
                fresh.append(time.perf_counter() - t)
        first, times = passes
        return {
            "backend": db.dialect,
            "entries": int(keys.size),
            "buckets": buckets,
            "build_s": build,
            "first_pass_median_ms": statistics.median(first) * 1e3,
            "query_median_ms": statistics.median(times) * 1e3,
            "query_p90_ms": float(np.percentile(times, 90)) * 1e3,
            "same_as_lsh": same / len(times),
            "all_visible": visible,
            "no_copy_median_ms": statistics.median(fresh) * 1e3,
            "no_copy_hits": fresh_hits,
        }
    finally:
        db.close()


def copy_group_decisions(
    articles: Sequence[Article], settings: MatchSettings, sizes: Sequence[int] = (100, 1000, 3000)
) -> list[dict[str, float]]:
    """Decision time when the story holds N near copies of one wire text (the longest BASIL
    article, ten words replaced in each, as outlets' credits and headlines differ) and a new
    one arrives, every copy proposed as a candidate (as the band table would): the first
    decision (members' shingles made) and the median of the next five."""
    import random

    base = max((a for a in articles if a.dataset == "basil"), key=lambda a: len(a.text.split()))
    words = base.text.split()
    rng = random.Random(0)

    def variant(i: int) -> str:
        w = list(words)
        for _ in range(10):
            j = rng.randrange(len(w))
            w[j] = f"edit{i}x{j}"
        return " ".join(w)

    out = []
    for n in sizes:
        index = StoryIndex(settings, in_memory_lsh=False)
        for i in range(n):
            relation, copy_of = ("original", None) if i == 0 else ("copy", 1)
            known = Known(i + 1, f"https://o{i}.example/a", relation, None, copy_of, [variant(i)])
            index.add(known)
        keys = [version_key(i + 1, 1) for i in range(n)]
        times = []
        for r in range(6):
            new = variant(10_000 + r)
            fp = fingerprint(new, settings)
            t = time.perf_counter()
            decision = index.decide(None, new, fp, candidates=keys)
            times.append(time.perf_counter() - t)
            assert decision.kind == "copy" and decision.matched_id == 1
        out.append(
            {
                "copies": n,
                "words": len(words),
                "first_ms": times[0] * 1e3,
                "median_ms": statistics.median(times[1:]) * 1e3,
            }
        )
    return out


def throughput(
    articles: Sequence[Article], settings: MatchSettings, database_url: str | None
) -> dict[str, Any]:
    from datasketch import MinHashLSH

    texts = [a.text for a in articles]
    # The reference figure is on 800-word articles: every real article of 800 words or
    # more, cut to its first 800.
    long = [" ".join(x.split()[:800]) for x in texts if len(x.split()) >= 800]
    rates = {"all": signature_rates(texts, settings), "800_words": signature_rates(long, settings)}

    # 100,000 signatures: each real article's shingle set with 20% of its shingles dropped and
    # as many random ones added, ~121 perturbed versions per article (clusters of near-copies).
    rng = np.random.default_rng(0)
    bases = [fingerprint(x, settings).shingles for x in texts]
    n_index = 100_000
    lsh = MinHashLSH(threshold=settings.candidate_threshold, num_perm=settings.num_perm)
    bands: dict[tuple[int, bytes], list[int]] = {}
    n_bands = len(lsh_bands(minhash_of(bases[0], settings.num_perm), settings))
    keys = np.zeros((n_index, n_bands), dtype=np.int64)
    t = time.perf_counter()
    for i in range(n_index):
        base = bases[i % len(bases)]
        keep = base[rng.random(len(base)) >= 0.2]
        noise = rng.integers(0, 2**32, size=len(base) - len(keep), dtype=np.uint64)
        mh = minhash_of(np.unique(np.concatenate([keep, noise])), settings.num_perm)
        lsh.insert(i, mh)
        for key in lsh_bands(mh, settings):
            bands.setdefault(key, []).append(i)
        keys[i] = [k for _, k in band_keys(mh, settings)]
    build = time.perf_counter() - t

    def band_query(mh: Any) -> set[int]:
        found: set[int] = set()
        for key in lsh_bands(mh, settings):
            found.update(bands.get(key, ()))
        return found

    times, band_times, hits, same = [], [], [], 0
    queries, expected = [], []
    for i in range(1000):
        base = bases[(i * 7) % len(bases)]
        q = minhash_of(base[rng.random(len(base)) >= 0.1], settings.num_perm)
        t = time.perf_counter()
        got = lsh.query(q)
        times.append(time.perf_counter() - t)
        queries.append(q)
        expected.append(set(got))
        t = time.perf_counter()
        by_band = band_query(q)
        band_times.append(time.perf_counter() - t)
        hits.append(len(got))
        same += set(got) == by_band
    # The in-memory indexes (1.5 GB of Python objects) are done with: a service process that
    # queries the table holds neither, and their garbage collection would be timed with it.
    del lsh
    bands.clear()
    gc.collect()
    database = [
        database_query(keys, queries, expected, settings, url)
        for url in _database_urls(database_url)
    ]
    return {
        "signatures": rates,
        "lsh_indexed": n_index,
        "lsh_build_s": build,
        "lsh_query_median_ms": statistics.median(times) * 1e3,
        "lsh_query_p90_ms": float(np.percentile(times, 90)) * 1e3,
        "band_query_median_ms": statistics.median(band_times) * 1e3,
        "band_query_p90_ms": float(np.percentile(band_times, 90)) * 1e3,
        "band_query_same_as_lsh": same / len(times),
        "lsh_query_median_hits": statistics.median(hits),
        "lsh_signatures": "real articles' 5-word shingle sets, 20% replaced by random hashes",
        "database": database,
        "copy_groups": copy_group_decisions(articles, settings),
    }


def _database_urls(database_url: str | None) -> list[str]:
    """A fresh SQLite file (the default deployment), and ``--database-url`` when given."""
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="matching-bench-"))
    return [f"sqlite:///{folder / 'bands.sqlite'}", *([database_url] if database_url else [])]


# -- main -------------------------------------------------------------------------------------


def _versions() -> dict[str, str]:
    import datasketch

    return {
        "python": platform.python_version(),
        "datasketch": datasketch.__version__,
        "numpy": np.__version__,
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    ap.add_argument("--no-growing", action="store_true", help="skip the growing-index mode")
    ap.add_argument("--no-throughput", action="store_true")
    ap.add_argument(
        "--database-url",
        help="also time the band table on this (empty) database, e.g. a PostgreSQL URL; "
        "a temporary SQLite file is always timed",
    )
    ap.add_argument("--workers", type=int, default=multiprocessing.cpu_count())
    args = ap.parse_args(argv)
    settings = MatchSettings()
    started = time.perf_counter()
    articles = load_articles()
    datasets = DATASETS
    sizes = {ds: sum(a.dataset == ds for a in articles) for ds in datasets}
    events = {ds: len({a.event for a in articles if a.dataset == ds}) for ds in datasets}
    report: dict[str, Any] = {"versions": _versions(), "articles": sizes, "events": events}
    print("versions:", " ".join(f"{k} {v}" for k, v in report["versions"].items()))
    print("articles:", sizes, "events:", events)
    print("settings:", settings)

    fps = fingerprints(articles, settings)
    c = copy_benchmark(articles, settings, fps)
    report["copies"] = c
    print(f"\n## Copies (exact or copy), copy_threshold {settings.copy_threshold}")
    print(
        f"real wire-copy pairs: {c['real_pairs']} ({c['real_pairs_missing']} GVC pairs skipped: "
        f"texts not in the snapshot), {c['real_decisions']} decisions (both directions)"
    )
    print(f"{'set':30} {'n':>5} {'recall':>7} {'precision':>9}")
    print(f"{'real pairs':30} {c['real_decisions']:5} {c['real_recall']:7.3f} "
          f"{c['real_precision']:9.3f}")  # fmt: skip
    for kind, r in c["synthetic_recall"].items():
        print(f"{'synthetic ' + kind:30} {c['synthetic_n'][kind]:5} {r:7.3f}")
    print(f"{'synthetic, all':30} {sum(c['synthetic_n'].values()):5} "
          f"{c['synthetic_recall_all']:7.3f} {c['synthetic_precision']:9.3f}")  # fmt: skip
    print(f"different-event negatives called copy: {c['negatives_called_copy']} / "
          f"{c['negatives']}")  # fmt: skip
    print(f"same-event other-outlet pairs (BASIL, NewsWCL50) called copy: "
          f"{c['same_story_called_copy']} / {c['same_story_pairs']}")  # fmt: skip

    seeds = seeds_of(articles)
    t = time.perf_counter()
    rows = story_rows(articles, settings, seeds, workers=args.workers)
    seeded_s = time.perf_counter() - t
    base = baseline_rows(articles, seeds)
    calib, calib_f1 = best_threshold(articles, seeds, rows, "basil")
    b_calib, _ = best_threshold(articles, seeds, base, "basil")
    story: dict[str, Any] = {"seeds": len(seeds), "candidates": len(articles) - 1}
    print(
        f"\n## Story following, seeded: {len(seeds)} seeds (one per event) x "
        f"{len(articles) - 1} candidates each, decided against the seed alone ({seeded_s:.0f} s)"
    )
    print("thresholds calibrated on BASIL seeds (best F1), reported on ECB+ and NewsWCL50 too")
    header = f"{'method':34} {'thr':>5} " + " ".join(f"{d + ' P/R/F1':>20}" for d in
                                                        [*datasets, "all"])  # fmt: skip
    print(header + f" {'ECB+ hard acc':>14}")
    variants = [
        ("ours, default threshold", rows, settings.story_threshold),
        ("ours, calibrated on BASIL", rows, calib),
        ("plain TF-IDF, calibrated on BASIL", base, b_calib),
    ]
    for ds in ("ecbplus", "newswcl50", None):
        th, _ = best_threshold(articles, seeds, rows, ds)
        variants.append((f"ours, best on {ds or 'all'} (oracle)", rows, th))
        th, _ = best_threshold(articles, seeds, base, ds)
        variants.append((f"plain TF-IDF, best on {ds or 'all'} (oracle)", base, th))
    for name, r, th in variants:
        tab = story_table(articles, seeds, r, th, datasets)
        story[f"{name} @ {th}"] = tab
        cells = " ".join(
            f"{tab[d]['precision']:6.3f}/{tab[d]['recall']:5.3f}/{tab[d]['f1']:5.3f}"
            for d in [*datasets, "all"]
        )
        h = tab["ecbplus_hard"]
        print(f"{name:34} {th:5.2f} {cells} {h['accepted']:5}/{h['pairs']:<5}")
    own, decided = per_seed_thresholds(articles, seeds, rows)
    tab = story_table(articles, seeds, decided, 0.5, datasets)
    story["ours, each seed at its own best threshold (oracle)"] = tab
    low, high = np.percentile(own, [10, 90])
    story["per_seed_thresholds"] = {
        "min": own.min(), "p10": low, "median": np.median(own), "p90": high, "max": own.max()
    }  # fmt: skip
    cells = " ".join(
        f"{tab[d]['precision']:6.3f}/{tab[d]['recall']:5.3f}/{tab[d]['f1']:5.3f}"
        for d in [*datasets, "all"]
    )
    h = tab["ecbplus_hard"]
    print(f"{'ours, each seed its own (oracle)':34} {'seed':>5} {cells} "
          f"{h['accepted']:5}/{h['pairs']:<5}")  # fmt: skip
    print(f"each seed's own best threshold: {own.min():.2f} to {own.max():.2f} (80% from "
          f"{low:.2f} to {high:.2f}), median {np.median(own):.2f}: what a story's own "
          "story_threshold can recover")  # fmt: skip
    story["calibrated_threshold"] = calib
    story["calibrated_basil_f1"] = calib_f1
    report["story"] = story

    if not args.no_growing:
        t = time.perf_counter()
        grow = story_rows(articles, settings, seeds, growing=True, workers=args.workers)
        tab = story_table(articles, seeds, grow, 0.5, datasets)
        report["story_growing"] = tab
        took = time.perf_counter() - t
        print(f"\n## Story following, growing (accepted articles join the index), "
              f"story_threshold {settings.story_threshold} ({took:.0f} s)")  # fmt: skip
        for d in [*datasets, "all"]:
            print(f"{d:10} P {tab[d]['precision']:.3f} R {tab[d]['recall']:.3f} "
                  f"F1 {tab[d]['f1']:.3f}")  # fmt: skip
        h = tab["ecbplus_hard"]
        print(f"ECB+ hard negatives accepted: {h['accepted']} / {h['pairs']}")

    held_out = semeval_check(settings)
    report["semeval"] = held_out
    print("\n## SemEval-2022 task 8 pairs (same story: Overall <= 2; not: >= 3)")
    print(f"{'pairs':10} {'n':>4} {'pos':>4} {'AUC ours':>9} {'AUC TF-IDF':>10} "
          f"{'P/R/F1 at ' + str(settings.story_threshold):>20} {'best thr (F1)':>14}"
          "  used")  # fmt: skip
    used = {f"{a}-{b}": how for a, b, how in SEMEVAL_PAIRS}
    for lang, r in held_out.items():
        print(f"{lang:10} {r['pairs']:4} {r['positives']:4} {r['auc']:9.3f} "
              f"{r['auc_plain_tfidf']:10.3f} "
              f"{r['precision']:8.3f}/{r['recall']:5.3f}/{r['f1']:5.3f} "
              f"{r['best_threshold']:7.2f} ({r['best_f1']:.3f})  {used[lang]}")  # fmt: skip

    if not args.no_throughput:
        tp = throughput(articles, settings, args.database_url)
        report["throughput"] = tp
        print("\n## Throughput (one process)")
        print(f"{'texts':40} {'n':>4} {'words':>6} {'ours/s':>7} {'datasketch/s':>12} "
              f"{'ratio':>6} {'shingling/s':>11}")  # fmt: skip
        for name, r in tp["signatures"].items():
            label = {"all": "real articles", "800_words": "real articles cut to 800 words"}[name]
            print(f"{label:40} {r['texts']:4} {r['mean_words']:6.0f} {r['ours_per_s']:7.0f} "
                  f"{r['datasketch_per_s']:12.0f} {r['ratio']:5.1f}x "
                  f"{r['shingling_per_s']:11.0f}")  # fmt: skip
        print(
            "ours: monitor.match.fingerprint (tokens, content hash, shingles, signature); "
            "datasketch: MinHash(128).update_batch on the same tokens' byte shingles"
        )
        print(
            f"LSH at {tp['lsh_indexed']} signatures ({tp['lsh_signatures']}), built in "
            f"{tp['lsh_build_s']:.0f} s, median {tp['lsh_query_median_hits']} hits per query:"
        )
        print(f"  datasketch MinHashLSH query: median {tp['lsh_query_median_ms']:.3f} ms, "
              f"p90 {tp['lsh_query_p90_ms']:.3f} ms")  # fmt: skip
        print(f"  band keys in a dict (the layout of the bucket table): median "
              f"{tp['band_query_median_ms']:.3f} ms, p90 {tp['band_query_p90_ms']:.3f} ms, "
              f"same results as MinHashLSH for {tp['band_query_same_as_lsh']:.0%} "
              f"of queries")  # fmt: skip
        for d in tp["database"]:
            print(f"  band table through the database ({d['backend']}, {d['entries']:,} entries "
                  f"in {d['buckets']:,} buckets, filled in {d['build_s']:.0f} s): "
                  f"storage.lsh.candidates median "
                  f"{d['query_median_ms']:.3f} ms, p90 {d['query_p90_ms']:.3f} ms (first pass "
                  f"{d['first_pass_median_ms']:.3f} ms), same results as MinHashLSH for "
                  f"{d['same_as_lsh']:.0%} of queries; an article with no near copy indexed: "
                  f"median {d['no_copy_median_ms']:.3f} ms ({d['no_copy_hits']} hits in "
                  "1,000)")  # fmt: skip
        for g in tp["copy_groups"]:
            print(f"  a copy decided with {g['copies']:,} near copies of one {g['words']}-word "
                  f"text in the story: first {g['first_ms']:.1f} ms, then median "
                  f"{g['median_ms']:.2f} ms")  # fmt: skip
    report["seconds"] = time.perf_counter() - started
    print(f"\ntotal {report['seconds']:.0f} s")
    if args.json:
        args.json.write_text(json.dumps(report, indent=2, default=float))
    return report


if __name__ == "__main__":
    main()
