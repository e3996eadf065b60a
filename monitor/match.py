"""Matching: is a new article a copy of something known, new reporting on the story, or neither?

Pure: texts and fingerprints in, a Decision out. The index is rebuilt from the database by the
pipeline (the edge), which also stores each decision with its reason.

Three stages, in order:

1. exact     the normalised text hashes equal a known version's;
2. copy      MinHash LSH (datasketch) proposes known versions whose Jaccard may reach
             ``candidate_threshold``; each candidate is then scored exactly on shingle sets by
             Jaccard and by containment both ways, so a truncated copy (new inside known) and an
             extended copy (known inside new) count as copies when a score reaches
             ``copy_threshold``;
3. story     other outlets' own reporting shares facts, not sentences (their 5-word shingles
             barely overlap), so a second stage scores TF-IDF cosine on the content words of
             the title and lead (names counted double) against the seeds and the accepted
             articles, with story keywords as extra evidence.
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from datasketch import LeanMinHash, MinHash, MinHashLSH

from monitor import text as textmod

_SEED = 1
# The same-story stage reads the title and the lead: the first words name the event, and long
# articles drift into background that other stories share (BASIL, ECB+, NewsWCL50: seeded F1
# 0.81 -> 0.83 at 300 words). Capitalised words (names, places, organisations) count double
# (+0.01). See benchmarks/matching.py.
_LEAD_WORDS = 300
_NAME_WEIGHT = 2
_TOKEN = re.compile(r"\w+", re.UNICODE)
# Texts shorter than this many shingles are too small to call a container of another text.
_MIN_CONTAINMENT_SHINGLES = 20


@dataclass(frozen=True)
class MatchSettings:
    num_perm: int = 128
    shingle_size: int = 5
    candidate_threshold: float = 0.15
    copy_threshold: float = 0.35
    story_threshold: float = 0.25


@dataclass(frozen=True)
class Fingerprint:
    sha256: str
    word_count: int
    shingles: np.ndarray  # sorted unique 32-bit shingle hashes (as uint64)
    minhash: LeanMinHash

    def minhash_bytes(self) -> bytes:
        return self.minhash.hashvalues.astype("<u4").tobytes()


def _token_ids(tokens: Sequence[str]) -> np.ndarray:
    cache: dict[str, int] = {}
    ids = [cache.setdefault(t, zlib.crc32(t.encode("utf-8"))) for t in tokens]
    return np.asarray(ids, dtype=np.uint64)


def shingle_hashes(tokens: Sequence[str], k: int) -> np.ndarray:
    """Stable 32-bit hashes of the k-word shingles of ``tokens`` (a text shorter than k words is
    one shingle), sorted and unique."""
    ids = _token_ids(tokens)
    if len(ids) == 0:
        return np.zeros(0, dtype=np.uint64)
    if len(ids) < k:
        k = len(ids)
    n = len(ids) - k + 1
    acc = np.zeros(n, dtype=np.uint64)
    mult = np.uint64(0x100000001B3)  # FNV-64 prime; wrapping uint64 arithmetic is intended
    with np.errstate(over="ignore"):
        for j in range(k):
            acc = acc * mult + ids[j : j + n] + np.uint64(j + 1)
        acc ^= acc >> np.uint64(29)
        acc = acc * np.uint64(0xBF58476D1CE4E5B9)
    return np.unique(acc >> np.uint64(32))


_SCHEME = "affine32"  # datasketch 2's default; signatures are stored as uint32


def _identity(value: int) -> int:
    return value


def minhash_of(shingles: np.ndarray, num_perm: int) -> LeanMinHash:
    """A datasketch MinHash of shingles that are already hashed to 32 bits.

    Hashing each shingle once with numpy (``shingle_hashes``) and handing the integers to
    ``update_batch`` with an identity hash function skips datasketch's per-shingle SHA-1, which
    is most of its cost; the permutations and the signature are datasketch's own.
    """
    m = MinHash(num_perm=num_perm, seed=_SEED, hashfunc=_identity, scheme=_SCHEME)
    if len(shingles):
        m.update_batch(shingles.tolist())
    return LeanMinHash(m)


def minhash_from_bytes(data: bytes) -> LeanMinHash:
    """A stored signature (``Fingerprint.minhash_bytes``) back as a LeanMinHash."""
    values = np.frombuffer(data, dtype="<u4").astype(np.uint32)
    return LeanMinHash(seed=_SEED, hashvalues=values, scheme=_SCHEME)


def fingerprint(text: str, settings: MatchSettings) -> Fingerprint:
    tokens = textmod.words(text)
    shingles = shingle_hashes(tokens, settings.shingle_size)
    return Fingerprint(
        sha256=textmod.content_sha256(text),
        word_count=len(tokens),
        shingles=shingles,
        minhash=minhash_of(shingles, settings.num_perm),
    )


def story_terms(title: str | None, text: str) -> Counter[str]:
    """The content words the same-story stage compares: title and lead, names counted double."""
    lead = f"{title or ''} {' '.join(text.split()[:_LEAD_WORDS])}"
    counts = Counter(textmod.terms(lead))
    names = {textmod.fold(w) for w in _TOKEN.findall(lead) if w[0].isupper()}
    for t in counts.keys() & names:
        counts[t] *= _NAME_WEIGHT
    return counts


@dataclass
class Known:
    """An article already in the story (a seed or a member), with every version's text."""

    article_id: int
    url: str
    relation: str  # seed | original | copy
    published_at: datetime | None
    copy_of_id: int | None = None
    texts: list[str] = field(default_factory=list)
    title: str | None = None


@dataclass(frozen=True)
class Decision:
    kind: str  # exact | copy | same_story | off_topic
    matched_id: int | None
    matched_url: str | None
    similarity: float
    scores: dict[str, float]
    thresholds: dict[str, float]
    reason: str

    @property
    def relation(self) -> str:
        return {"exact": "copy", "copy": "copy", "same_story": "original"}.get(
            self.kind, "off_topic"
        )

    def as_match(self) -> dict[str, Any]:
        """The reason as stored with the decision and shown in the story file."""
        return {
            "kind": self.kind,
            "matched_url": self.matched_url,
            "scores": {k: round(v, 4) for k, v in self.scores.items()},
            "thresholds": self.thresholds,
            "reason": self.reason,
        }


def _norm(a: dict[str, float]) -> float:
    return math.sqrt(sum(w * w for w in a.values()))


def _cosine(a: dict[str, float], na: float, b: dict[str, float], nb: float) -> float:
    if not na or not nb:
        return 0.0
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(t, 0.0) for t, w in a.items()) / (na * nb)


class StoryIndex:
    """What one story knows: the LSH index of every version, and the term statistics."""

    def __init__(self, settings: MatchSettings, keywords: Iterable[str] = ()) -> None:
        self.settings = settings
        self.keywords = tuple(k for k in (textmod.normalised(k) for k in keywords) if k)
        self._lsh = MinHashLSH(threshold=settings.candidate_threshold, num_perm=settings.num_perm)
        self._versions: dict[str, tuple[Known, np.ndarray]] = {}
        self._by_sha: dict[str, Known] = {}
        self._members: dict[int, Known] = {}
        self._terms: dict[int, Counter[str]] = {}
        self._df: Counter[str] = Counter()
        self._docs = 0
        # Members' weighted vectors and norms, valid while the term statistics are unchanged.
        self._vectors: dict[int, tuple[dict[str, float], float]] = {}
        self._vectors_docs = -1

    # -- building ---------------------------------------------------------------------------

    def add_background(self, text: str) -> None:
        """Count a document (of this story or not) in the term statistics."""
        self._df.update(set(textmod.terms(text)))
        self._docs += 1

    def add(self, known: Known, minhashes: Sequence[LeanMinHash] | None = None) -> None:
        """Index every version of ``known``; ``minhashes`` are stored signatures, if any."""
        self._members[known.article_id] = known
        for i, body in enumerate(known.texts):
            fp_shingles = shingle_hashes(textmod.words(body), self.settings.shingle_size)
            mh = minhashes[i] if minhashes else minhash_of(fp_shingles, self.settings.num_perm)
            key = f"{known.article_id}:{i}"
            if key not in self._versions:
                self._lsh.insert(key, mh)
                self._versions[key] = (known, fp_shingles)
            self._by_sha.setdefault(textmod.content_sha256(body), known)
        self._vectors_docs = -1  # this member's terms may have changed
        self._terms[known.article_id] = story_terms(
            known.title, known.texts[-1] if known.texts else ""
        )

    def member(self, article_id: int) -> Known | None:
        return self._members.get(article_id)

    # -- deciding ---------------------------------------------------------------------------

    def _root(self, known: Known) -> Known:
        """The original of a copy group: copies point at what they copy, transitively."""
        seen = set()
        while (
            known.copy_of_id and known.copy_of_id in self._members and known.article_id not in seen
        ):
            seen.add(known.article_id)
            known = self._members[known.copy_of_id]
        return known

    def _member_vectors(self) -> dict[int, tuple[dict[str, float], float]]:
        if self._vectors_docs != self._docs or len(self._vectors) != len(self._terms):
            self._vectors = {}
            for article_id, counts in self._terms.items():
                vector = self._weights(counts)
                self._vectors[article_id] = (vector, _norm(vector))
            self._vectors_docs = self._docs
        return self._vectors

    def _weights(self, counts: Counter[str]) -> dict[str, float]:
        n = self._docs
        return {
            t: (1 + math.log(c)) * (math.log((1 + n) / (1 + self._df.get(t, 0))) + 1)
            for t, c in counts.items()
        }

    def decide(self, title: str | None, text: str, fp: Fingerprint) -> Decision:
        s = self.settings
        thresholds = {
            "candidate": s.candidate_threshold,
            "copy": s.copy_threshold,
            "story": s.story_threshold,
        }
        exact = self._by_sha.get(fp.sha256)
        if exact is not None:
            root = self._root(exact)
            return Decision(
                "exact",
                root.article_id,
                root.url,
                1.0,
                {"jaccard": 1.0},
                thresholds,
                f"the same text as {exact.url}",
            )

        best: tuple[float, str, Known, dict[str, float]] | None = None
        for key in self._lsh.query(fp.minhash):
            known, shingles = self._versions[key]
            inter = float(len(np.intersect1d(fp.shingles, shingles, assume_unique=True)))
            union = len(fp.shingles) + len(shingles) - inter
            scores = {
                "jaccard": inter / union if union else 0.0,
                "containment_new_in_known": inter / len(fp.shingles) if len(fp.shingles) else 0.0,
                "containment_known_in_new": inter / len(shingles) if len(shingles) else 0.0,
            }
            usable = {"jaccard": scores["jaccard"]}
            if len(fp.shingles) >= _MIN_CONTAINMENT_SHINGLES:
                usable["containment_new_in_known"] = scores["containment_new_in_known"]
            if len(shingles) >= _MIN_CONTAINMENT_SHINGLES:
                usable["containment_known_in_new"] = scores["containment_known_in_new"]
            name, value = max(usable.items(), key=lambda kv: kv[1])
            if best is None or value > best[0]:
                best = (value, name, known, scores)
        if best is not None and best[0] >= s.copy_threshold:
            value, name, known, scores = best
            root = self._root(known)
            how = {
                "jaccard": "shares most of its text with",
                "containment_new_in_known": "is contained in (a shortened copy of)",
                "containment_known_in_new": "contains (an extended copy of)",
            }[name]
            via = f" (itself a copy of {root.url})" if root is not known else ""
            return Decision(
                "copy",
                root.article_id,
                root.url,
                value,
                scores,
                thresholds,
                f"{how} {known.url}{via}: {name} {value:.2f} >= {s.copy_threshold}",
            )

        return self._story_stage(title, text, thresholds, best)

    def _story_stage(
        self,
        title: str | None,
        text: str,
        thresholds: dict[str, float],
        near: tuple[float, str, Known, dict[str, float]] | None,
    ) -> Decision:
        s = self.settings
        counts = story_terms(title, text)
        vector = self._weights(counts)
        norm = _norm(vector)
        best_cos, best_known = 0.0, None
        for article_id, (member, member_norm) in self._member_vectors().items():
            cos = _cosine(vector, norm, member, member_norm)
            if cos > best_cos:
                best_cos, best_known = cos, self._members[article_id]
        hits: list[str] = []
        if self.keywords:
            folded = " " + textmod.normalised(f"{title or ''} {text}") + " "
            hits = [k for k in self.keywords if f" {k} " in folded]
        scores = {"cosine": best_cos, "keyword_hits": float(len(hits))}
        if near is not None:
            scores["nearest_copy_score"] = near[0]
        needed = s.story_threshold / 2 if hits else s.story_threshold
        if best_known is not None and best_cos >= needed:
            because = f"TF-IDF cosine {best_cos:.2f} >= {needed:.3f} with {best_known.url}"
            if hits:
                because += f"; story keywords: {', '.join(hits)}"
            return Decision(
                "same_story",
                best_known.article_id,
                best_known.url,
                best_cos,
                scores,
                thresholds,
                because,
            )
        nearest = f" (nearest: {best_known.url})" if best_known is not None else ""
        return Decision(
            "off_topic",
            None,
            None,
            best_cos,
            scores,
            thresholds,
            f"TF-IDF cosine {best_cos:.2f} < {needed:.3f}{nearest}"
            + (f"; keywords: {', '.join(hits)}" if hits else "; no story keyword"),
        )
