"""The values matching passes around: its settings, a known article, and a decision with its reason.

Also the story stage's bar (``story_bar``) and whether a stored decision would go the other way
at another threshold (``would_flip``), which ``monitor story redecide`` and ``scores`` use.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


@dataclass(frozen=True)
class MatchSettings:
    num_perm: int = 128
    shingle_size: int = 5
    candidate_threshold: float = 0.15
    copy_threshold: float = 0.35
    # Calibrated on BASIL with benchmarks/matching.py (best seeded F1 there; 0.25 before the
    # time, stemming and number features moved the scale).
    story_threshold: float = 0.26


def thresholds_of(settings: MatchSettings) -> dict[str, float]:
    """The thresholds a decision records beside its scores."""
    return {
        "candidate": settings.candidate_threshold,
        "copy": settings.copy_threshold,
        "story": settings.story_threshold,
    }


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
    # An analyst labelled it in: it anchors the story as a seed does (story_stage).
    labelled_in: bool = False


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
