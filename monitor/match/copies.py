"""The copy stage's memory and scoring: every member version by key and by text hash, the
candidates an LSH index proposes, each scored exactly on shingles by Jaccard and containment."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from monitor import text as textmod
from monitor.match.decision import Known, MatchSettings
from monitor.match.geometry import lsh_params
from monitor.match.groups import CopyGroups
from monitor.match.signature import Fingerprint, minhash_of, shingle_hashes_of_bytes

if TYPE_CHECKING:
    from datasketch import LeanMinHash, MinHashLSH

# Texts shorter than this many shingles are too small to call a container of another text.
_MIN_CONTAINMENT_SHINGLES = 20
# Once a candidate matches this closely, the rest of its copy group is not scored: no other
# group can win unless one of its members also matches this closely, and then every skipped
# member is scored after all (an extended copy may contain more of another text). The decision
# points at the group's original whichever of its members matched (a wire text copied 3,000
# times in a story took 70 ms a decision, and 810 ms the first, scoring them all).
_SURE_COPY = 0.9


def version_key(article_id: int, version: int) -> str:
    """How the index names one version of one article."""
    return f"{article_id}:{version}"


class CopyScore(NamedTuple):
    """How much of its text an article shares with one member version: the best usable
    measure's value and name, the member, and every measure."""

    value: float
    measure: str
    known: Known
    scores: dict[str, float]


def _in_memory_lsh(settings: MatchSettings) -> MinHashLSH:
    # Imported here: datasketch's package imports SciPy (about 0.3 s), which only an index
    # keeping its own LSH needs at once; the pipeline's index uses the database's band table.
    from datasketch import MinHashLSH

    return MinHashLSH(
        threshold=settings.candidate_threshold,
        num_perm=settings.num_perm,
        params=lsh_params(settings.candidate_threshold, settings.num_perm),
    )


class CopyStage:
    """Every version of every member, found by its key (for an LSH index's candidates) or by
    its text's hash (for an exact copy)."""

    def __init__(self, settings: MatchSettings, groups: CopyGroups, *, in_memory_lsh: bool) -> None:
        self.settings = settings
        self._groups = groups
        self._lsh = _in_memory_lsh(settings) if in_memory_lsh else None
        # Every version of every member by version_key, as (member, index in its texts);
        # shingles made on first use.
        self._versions: dict[str, tuple[Known, int]] = {}
        self._shingles: dict[str, np.ndarray] = {}
        self._by_sha: dict[str, Known] = {}

    def add(self, known: Known, minhashes: Sequence[LeanMinHash] | None) -> None:
        """Index the versions of ``known`` not indexed yet (``texts[i]`` is version ``i + 1``)."""
        for i, body in enumerate(known.texts):
            key = version_key(known.article_id, i + 1)
            if key in self._versions:
                continue
            self._versions[key] = (known, i)
            if self._lsh is not None:
                mh = (
                    minhashes[i]
                    if minhashes
                    else minhash_of(self._version_shingles(key), self.settings.num_perm)
                )
                self._lsh.insert(key, mh)
            self._by_sha.setdefault(textmod.content_sha256(body), known)

    def has_version(self, article_id: int, version: int) -> bool:
        return version_key(article_id, version) in self._versions

    def knows_text(self, sha256: str) -> bool:
        return sha256 in self._by_sha

    def same_text(self, sha256: str) -> Known | None:
        """The member with a version of exactly this text, if any."""
        return self._by_sha.get(sha256)

    def _version_shingles(self, key: str) -> np.ndarray:
        shingles = self._shingles.get(key)
        if shingles is None:
            known, i = self._versions[key]
            body = known.texts[i]
            shingles = shingle_hashes_of_bytes(textmod.word_bytes(body), self.settings.shingle_size)
            self._shingles[key] = shingles
        return shingles

    def _score(self, fp: Fingerprint, key: str) -> CopyScore:
        known = self._versions[key][0]
        shingles = self._version_shingles(key)
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
        return CopyScore(value, name, known, scores)

    def nearest(self, fp: Fingerprint, candidates: Iterable[str] | None) -> CopyScore | None:
        """The best-scoring candidate version (``candidates`` from an outside LSH index, else
        this index's own), or None when no candidate is a member here."""
        if candidates is None:
            if self._lsh is None:
                raise ValueError("this index keeps no LSH: pass the candidates")
            candidates = self._lsh.query(fp.minhash)
        best: CopyScore | None = None
        # Copy groups a candidate matched at _SURE_COPY or more, each with its members'
        # versions proposed since and not scored.
        sure: dict[int, list[str]] = {}
        for key in candidates:
            held = self._versions.get(key)
            if held is None:  # proposed by an outside index for an article not a member here
                continue
            group = self._groups.root(held[0]).article_id
            if group in sure:
                sure[group].append(key)
                continue
            scored = self._score(fp, key)
            if scored.value >= _SURE_COPY:
                sure[group] = []
            if best is None or scored.value > best.value:
                best = scored
        if len(sure) > 1:
            # Two groups both match closely: which one the copy belongs to needs every score.
            for key in (k for keys in sure.values() for k in keys):
                scored = self._score(fp, key)
                if best is None or scored.value > best.value:
                    best = scored
        return best
