"""The story index: what one story knows (its members, copy groups and term statistics), and
the decision on a new article: exact, copy, same story or off topic, with the reason."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import numpy as np
from datasketch import LeanMinHash, MinHashLSH

from monitor import text as textmod
from monitor.match import story
from monitor.match.signature import (
    lsh_params,
    minhash_of,
    shingle_hashes_of_bytes,
)

# Texts shorter than this many shingles are too small to call a container of another text.
_MIN_CONTAINMENT_SHINGLES = 20
# Once a candidate matches this closely, the rest of its copy group is not scored: no other
# group can win unless one of its members also matches this closely, and then every skipped
# member is scored after all (an extended copy may contain more of another text). The decision
# points at the group's original whichever of its members matched (a wire text copied 3,000
# times in a story took 70 ms a decision, and 810 ms the first, scoring them all).
_SURE_COPY = 0.9


@dataclass(frozen=True)
class MatchSettings:
    num_perm: int = 128
    shingle_size: int = 5
    candidate_threshold: float = 0.15
    copy_threshold: float = 0.35
    # Calibrated on BASIL with benchmarks/matching.py (best seeded F1 there; 0.25 before the
    # time, stemming and number features moved the scale).
    story_threshold: float = 0.26


@dataclass(frozen=True)
class Fingerprint:
    sha256: str
    word_count: int
    shingles: np.ndarray  # sorted unique 32-bit shingle hashes (as uint64)
    minhash: LeanMinHash

    def minhash_bytes(self) -> bytes:
        return self.minhash.hashvalues.astype("<u4").tobytes()


def fingerprint(text: str, settings: MatchSettings) -> Fingerprint:
    """What the copy stages compare and the database stores: the content hash, the word count,
    the shingle hashes and their MinHash signature (a datasketch LeanMinHash)."""
    tokens = textmod.word_bytes(text)
    shingles = shingle_hashes_of_bytes(tokens, settings.shingle_size)
    return Fingerprint(
        # textmod.content_sha256 of the same text, without tokenising it a second time
        sha256=textmod.sha256_of_words(tokens),
        word_count=len(tokens),
        shingles=shingles,
        minhash=minhash_of(shingles, settings.num_perm),
    )


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
    language: str | None = None  # as the page declares it; its text is asked first


@dataclass(frozen=True)
class Decision:
    kind: str  # exact | copy | same_story | off_topic
    matched_id: int | None
    matched_url: str | None
    similarity: float
    scores: dict[str, float]
    thresholds: dict[str, float]
    reason: str
    # A copy published before every dated member of its copy group: it becomes the group's
    # original, and the members that pointed at ``matched_id`` are to point at it instead.
    leads_group: bool = False
    # The story stage's terms that added most to the score against the matched (or nearest)
    # article, with what each added.
    shared: tuple[tuple[str, float], ...] = ()

    @property
    def relation(self) -> str:
        if self.leads_group:
            return "original"
        return {"exact": "copy", "copy": "copy", "same_story": "original"}.get(
            self.kind, "off_topic"
        )

    def as_match(self) -> dict[str, Any]:
        """The reason as stored with the decision and shown in the story file."""
        return (
            {
                "kind": self.kind,
                "matched_url": self.matched_url,
                "scores": {k: round(v, 4) for k, v in self.scores.items()},
                "thresholds": self.thresholds,
                "reason": self.reason,
            }
            | ({"leads_copy_group": True} if self.leads_group else {})
            | ({"shared_terms": [[t, round(c, 4)] for t, c in self.shared]} if self.shared else {})
        )


def story_bar(threshold: float, keyword_hits: float) -> float:
    """The score an article needs to join the story: the threshold, or half of it when a story
    keyword appears in the article."""
    return threshold / 2 if keyword_hits else threshold


class ScoredDecision(Protocol):
    """What ``would_flip`` reads of a stored same-story decision (storage.archive.StoryScore)."""

    @property
    def relation(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def score(self) -> float: ...
    @property
    def threshold(self) -> float: ...
    @property
    def keyword_hits(self) -> float: ...


def would_flip(row: ScoredDecision, threshold: float) -> bool:
    """Whether ``threshold`` decides a stored same-story decision otherwise: an off-topic
    article whose score reaches what it would need joins; an original the same-story stage
    accepted leaves when its score falls short. A copy stays with its group's original, and a
    decision made at this very threshold stands (its stored score is rounded)."""
    if row.threshold == threshold:
        return False
    passes = row.score >= story_bar(threshold, row.keyword_hits)
    if row.relation == "off_topic":
        return passes
    return row.relation == "original" and row.kind == "same_story" and not passes


def version_key(article_id: int, version: int) -> str:
    """How the index names one version of one article."""
    return f"{article_id}:{version}"


_LEADS = "; published before every member of its copy group, so it is the group's original now"


def _predates(published_at: datetime | None, original: Known) -> bool:
    """Whether a new copy was published before its group's original, which then becomes a copy
    of it. A seed stays what the user made it; an undated side decides nothing."""
    if published_at is None or original.published_at is None or original.relation == "seed":
        return False
    return story.as_utc(published_at) < story.as_utc(original.published_at)


def _published_order(known: Known) -> tuple[datetime, int]:
    """Earliest publication first; the older article id breaks ties."""
    assert known.published_at is not None
    return (story.as_utc(known.published_at), known.article_id)


class StoryIndex:
    """What one story knows: the LSH index of every version, and the term statistics."""

    def __init__(
        self, settings: MatchSettings, keywords: Iterable[str] = (), *, in_memory_lsh: bool = True
    ) -> None:
        """``in_memory_lsh=False`` when the caller keeps the LSH index elsewhere (the database's
        band table) and passes each decision its ``candidates``: adding a member then costs no
        signature, and shingles are made only for versions that come up as candidates."""
        self.settings = settings
        self.keywords = tuple(k for k in (textmod.normalised(k) for k in keywords) if k)
        self._lsh = (
            MinHashLSH(
                threshold=settings.candidate_threshold,
                num_perm=settings.num_perm,
                params=lsh_params(settings.candidate_threshold, settings.num_perm),
            )
            if in_memory_lsh
            else None
        )
        # Every version of every member by version_key, as (member, index in its texts);
        # shingles made on first use.
        self._versions: dict[str, tuple[Known, int]] = {}
        self._shingles: dict[str, np.ndarray] = {}
        self._by_sha: dict[str, Known] = {}
        self._members: dict[int, Known] = {}
        self._terms: dict[int, dict[str, float]] = {}
        self._df: Counter[str] = Counter()
        self._docs = 0
        # None: every document is counted here (add_background), so a term absent has df 0.
        # A set: the frequencies live elsewhere (the database) and only these terms were looked
        # up; the caller provides the rest (terms_to_look_up, provide_df) before a decision.
        self._looked_up: set[str] | None = None
        self._pending: set[str] = set()  # members' terms not looked up yet
        # Members' weighted vectors and norms, valid while the term statistics are unchanged.
        self._vectors: dict[int, tuple[dict[str, float], float]] = {}
        self._vectors_docs = -1
        # Which accepted articles anchor the story (see match_story.ANCHOR_RATIO), decided once
        # per article against the seeds known then; a new seed decides again.
        self._anchors: dict[int, bool] = {}
        self._languages: dict[int, str | None] = {}
        # The terms of the article last asked about: terms_to_look_up, then decide, want them.
        self._last_article: tuple[str | None, str, dict[str, float]] | None = None

    # -- building ---------------------------------------------------------------------------

    def add_background(self, text: str) -> None:
        """Count a document (of this story or not) in the term statistics."""
        self._df.update(story.document_terms(text))
        self._docs += 1

    def use_background(self, docs: int) -> None:
        """Take document frequencies kept elsewhere (the database's, storage.termstats) over
        ``docs`` documents: only the terms the story needs are then looked up, through
        ``terms_to_look_up`` and ``provide_df``."""
        self._df, self._docs, self._looked_up = Counter(), docs, set()
        self._vectors_docs = -1

    def terms_to_look_up(self, title: str | None = None, text: str | None = None) -> set[str]:
        """The terms whose frequencies this index lacks: its members', and those of the article
        ``title`` and ``text`` when given."""
        if self._looked_up is None:
            return set()
        wanted = set(self._pending)
        if text is not None:
            wanted.update(self._article_terms(title, text))
        return wanted - self._looked_up

    def _article_terms(self, title: str | None, text: str) -> dict[str, float]:
        last = self._last_article
        if last is None or last[0] != title or last[1] != text:
            last = self._last_article = (title, text, story.story_terms(title, text))
        return last[2]

    def provide_df(self, asked: Iterable[str], found: dict[str, int]) -> None:
        """The frequencies of the terms ``asked`` (those not in ``found`` occur nowhere)."""
        assert self._looked_up is not None, "provide_df is for an index with use_background"
        asked = set(asked)
        for term in asked:
            self._df[term] = found.get(term, 0)
            self._looked_up.add(term)
        if self._pending & asked:
            # Members' vectors change only with their own terms: the terms of each article
            # decided, looked up once per decision, leave them as they are.
            self._pending -= asked
            self._vectors_docs = -1

    def update_background(self, change: story.TermChange) -> None:
        """Apply what storing one version changed in the document frequencies (of the terms
        looked up, when they live elsewhere: the others are read afresh when needed)."""
        known = self._looked_up
        self._df.update(t for t in change.added if known is None or t in known)
        self._df.subtract(t for t in change.removed if known is None or t in known)
        self._docs += change.new_doc
        self._vectors_docs = -1

    def _check_looked_up(self, counts: Iterable[str]) -> None:
        if self._looked_up is not None:
            missing = set(counts) - self._looked_up
            if missing:  # a caller's mistake: scores would silently use df 0
                raise ValueError(f"document frequencies not provided for {sorted(missing)[:5]}")

    def add(self, known: Known, minhashes: Sequence[LeanMinHash] | None = None) -> None:
        """Index every version of ``known`` (``texts[i]`` is version ``i + 1``); ``minhashes``
        are stored signatures, if any. A member added again (with a new version, or as
        another process left it in the database) is updated in place."""
        existing = self._members.get(known.article_id)
        if existing is not None and existing is not known:
            existing.relation, existing.copy_of_id = known.relation, known.copy_of_id
            existing.published_at = known.published_at or existing.published_at
            existing.title = known.title or existing.title
            existing.language = known.language or existing.language
            existing.texts[:] = known.texts
            known = existing
        self._members[known.article_id] = known
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
        self._vectors_docs = -1  # this member's terms may have changed
        newest = known.texts[-1] if known.texts else ""
        self._terms[known.article_id] = story.story_terms(known.title, newest)
        self._languages[known.article_id] = story.language(known.title, newest, known.language)
        if self._looked_up is not None:
            self._pending.update(
                t for t in self._terms[known.article_id] if t not in self._looked_up
            )
        self._anchors.pop(known.article_id, None)
        if known.relation == "seed":
            self._anchors.clear()

    def member(self, article_id: int) -> Known | None:
        return self._members.get(article_id)

    def knows_text(self, sha256: str) -> bool:
        return sha256 in self._by_sha

    def repoint(self, old_id: int, new_id: int) -> None:
        """``new_id`` leads the copy group ``old_id`` led (``Decision.leads_group``): the old
        original becomes its copy, and the copies of the old point at the new."""
        for m in self._members.values():
            if m.article_id == old_id and m.relation != "seed":
                m.relation, m.copy_of_id = "copy", new_id
            elif m.copy_of_id == old_id and m.relation == "copy":
                m.copy_of_id = new_id

    def has_version(self, article_id: int, version: int) -> bool:
        return version_key(article_id, version) in self._versions

    def _version_shingles(self, key: str) -> np.ndarray:
        shingles = self._shingles.get(key)
        if shingles is None:
            known, i = self._versions[key]
            body = known.texts[i]
            shingles = shingle_hashes_of_bytes(textmod.word_bytes(body), self.settings.shingle_size)
            self._shingles[key] = shingles
        return shingles

    # -- deciding ---------------------------------------------------------------------------

    def _copy_scores(self, fp: Fingerprint, key: str) -> tuple[float, str, Known, dict[str, float]]:
        """How much of its text the article shares with the member version ``key``: the best
        usable measure's value and name, the member, and every measure."""
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
        return value, name, known, scores

    def _root(self, known: Known) -> Known:
        """The head of a copy chain: copies point at what they copy, transitively."""
        seen = set()
        while (
            known.copy_of_id and known.copy_of_id in self._members and known.article_id not in seen
        ):
            seen.add(known.article_id)
            known = self._members[known.copy_of_id]
        return known

    def original(self, known: Known) -> Known:
        """The original of ``known``'s copy group: its earliest-published member (if B copies A
        and C copies B, the group is A, B, C). The head of the copy chain stands unless dates
        show an earlier member: an undated member, or an undated head, moves nothing."""
        root = self._root(known)
        if root.published_at is None:
            return root
        group = [m for m in self._members.values() if m.published_at and self._root(m) is root]
        return min([root, *group], key=_published_order)

    def _member_vectors(self) -> dict[int, tuple[dict[str, float], float]]:
        if self._vectors_docs != self._docs or len(self._vectors) != len(self._terms):
            self._vectors = {}
            for article_id, counts in self._terms.items():
                self._check_looked_up(counts)
                vector = story.weights(counts, self._df, self._docs)
                self._vectors[article_id] = (vector, story.norm(vector))
            self._vectors_docs = self._docs
        return self._vectors

    def _is_anchor(
        self, article_id: int, vectors: dict[int, tuple[dict[str, float], float]]
    ) -> bool:
        """A seed always anchors; an accepted article only if it is close to a seed."""
        known = self._members[article_id]
        if known.relation == "seed":
            return True
        if article_id not in self._anchors:
            seeds = [m for m in self._members.values() if m.relation == "seed"]
            if not seeds:  # a story without seeds: its members are all it has
                self._anchors[article_id] = True
            else:
                vector, n = vectors[article_id]
                bar = story.ANCHOR_RATIO * self.settings.story_threshold
                mine = self._languages.get(article_id)
                self._anchors[article_id] = any(
                    story.cosine(vector, n, *vectors[seed.article_id])
                    * story.time_factor(known.published_at, seed.published_at)
                    / story.language_ratio(mine, self._languages.get(seed.article_id))
                    >= bar
                    for seed in seeds
                    if seed.article_id in vectors
                )
        return self._anchors[article_id]

    def decide(
        self,
        title: str | None,
        text: str,
        fp: Fingerprint,
        *,
        published_at: datetime | None = None,
        candidates: Iterable[str] | None = None,
        language: str | None = None,
    ) -> Decision:
        """Exact, copy, same story or off topic, with the scores and the reason.
        ``published_at`` (when known) weighs time proximity in the story stage, and the
        language (its text's, else ``language`` as the page declares it) whether a member is
        compared across languages. ``candidates`` are the version keys an outside LSH index
        proposes (members already added); without them the in-memory index proposes its own."""
        s = self.settings
        thresholds = {
            "candidate": s.candidate_threshold,
            "copy": s.copy_threshold,
            "story": s.story_threshold,
        }
        exact = self._by_sha.get(fp.sha256)
        if exact is not None:
            original = self.original(exact)
            via = f" (a copy of {original.url})" if original is not exact else ""
            leads = _predates(published_at, original)
            return Decision(
                "exact",
                original.article_id,
                original.url,
                1.0,
                {"jaccard": 1.0},
                thresholds,
                f"the same text as {exact.url}{via}" + (_LEADS if leads else ""),
                leads,
            )

        best: tuple[float, str, Known, dict[str, float]] | None = None
        if candidates is None:
            if self._lsh is None:
                raise ValueError("this index keeps no LSH: pass the candidates")
            candidates = self._lsh.query(fp.minhash)
        # Copy groups a candidate matched at _SURE_COPY or more, each with its members'
        # versions proposed since and not scored.
        sure: dict[int, list[str]] = {}
        for key in candidates:
            held = self._versions.get(key)
            if held is None:  # proposed by an outside index for an article not a member here
                continue
            group = self._root(held[0]).article_id
            if group in sure:
                sure[group].append(key)
                continue
            scored = self._copy_scores(fp, key)
            if scored[0] >= _SURE_COPY:
                sure[group] = []
            if best is None or scored[0] > best[0]:
                best = scored
        if len(sure) > 1:
            # Two groups both match closely: which one the copy belongs to needs every score.
            for key in (k for keys in sure.values() for k in keys):
                scored = self._copy_scores(fp, key)
                if best is None or scored[0] > best[0]:
                    best = scored
        if best is not None and best[0] >= s.copy_threshold:
            value, name, known, scores = best
            original = self.original(known)
            how = {
                "jaccard": "shares most of its text with",
                "containment_new_in_known": "is contained in (a shortened copy of)",
                "containment_known_in_new": "contains (an extended copy of)",
            }[name]
            via = f" (itself a copy of {original.url})" if original is not known else ""
            leads = _predates(published_at, original)
            return Decision(
                "copy",
                original.article_id,
                original.url,
                value,
                scores,
                thresholds,
                f"{how} {known.url}{via}: {name} {value:.2f} >= {s.copy_threshold}"
                + (_LEADS if leads else ""),
                leads,
            )

        return self._story_stage(title, text, published_at, language, thresholds, best)

    def _story_stage(
        self,
        title: str | None,
        text: str,
        published_at: datetime | None,
        language: str | None,
        thresholds: dict[str, float],
        near: tuple[float, str, Known, dict[str, float]] | None,
    ) -> Decision:
        s = self.settings
        counts = self._article_terms(title, text)
        self._check_looked_up(counts)
        vector = story.weights(counts, self._df, self._docs)
        norm = story.norm(vector)
        vectors = self._member_vectors()
        # Each anchor's score: cosine, faded by time, divided by the anchor's bar relative to a
        # seed's in the same language, so one threshold applies to all.
        has_seeds = any(m.relation == "seed" for m in self._members.values())
        mine = story.language(title, text, language)
        best_score, best_cos, best_time, best_known = 0.0, 0.0, 1.0, None
        for article_id, (member, member_norm) in vectors.items():
            if not self._is_anchor(article_id, vectors):
                continue
            known = self._members[article_id]
            cos = story.cosine(vector, norm, member, member_norm)
            factor = story.time_factor(published_at, known.published_at)
            # Capped: a cross-language score divided past 1.0 says no more than 1.0.
            score = min(
                cos * factor / story.language_ratio(mine, self._languages.get(article_id)), 1.0
            )
            if known.relation != "seed" and has_seeds:
                score /= story.ANCHOR_RATIO
            if score > best_score:
                best_score, best_cos, best_time, best_known = score, cos, factor, known
        hits: list[str] = []
        if self.keywords:
            folded = " " + textmod.normalised(f"{title or ''} {text}") + " "
            hits = [k for k in self.keywords if f" {k} " in folded]
        scores = {"score": best_score, "cosine": best_cos, "keyword_hits": float(len(hits))}
        if best_time < 1.0:
            scores["time_factor"] = best_time
        if near is not None:
            scores["nearest_copy_score"] = near[0]
        needed = story_bar(s.story_threshold, len(hits))
        how = f"TF-IDF cosine {best_cos:.2f}"
        if best_time < 1.0:
            how += f" x time proximity {best_time:.2f}"
        theirs = self._languages.get(best_known.article_id) if best_known is not None else None
        across = story.language_ratio(mine, theirs)
        if across != 1.0:
            how += f" / {across} ({mine} against {theirs}: scores run lower across languages)"
            scores["cross_language_ratio"] = across
        if (
            best_known is not None
            and best_known.relation != "seed"
            and best_score < best_cos * best_time / across
        ):
            how += f" / {story.ANCHOR_RATIO} (an accepted article, not a seed)"
        if best_score != best_cos:
            how += f" = {best_score:.2f}"
        shared: tuple[tuple[str, float], ...] = ()
        if best_known is not None:
            shared = tuple(story.shared_terms(vector, norm, *vectors[best_known.article_id]))
        words = f"; most shared: {', '.join(t.lstrip('#') for t, _ in shared)}" if shared else ""
        if best_known is not None and best_score >= needed:
            because = f"{how} >= {needed:.3f} with {best_known.url}{words}"
            if hits:
                because += f"; story keywords: {', '.join(hits)}"
            return Decision(
                "same_story",
                best_known.article_id,
                best_known.url,
                best_score,
                scores,
                thresholds,
                because,
                shared=shared,
            )
        nearest = f" (nearest: {best_known.url}{words})" if best_known is not None else ""
        return Decision(
            "off_topic",
            None,
            None,
            best_score,
            scores,
            thresholds,
            f"{how} < {needed:.3f}{nearest}"
            + (f"; keywords: {', '.join(hits)}" if hits else "; no story keyword"),
            shared=shared,
        )
