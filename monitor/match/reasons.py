"""Each stage's finding as a Decision: its kind, the article it points at, its scores and the
reason a reader sees in the story file."""

from __future__ import annotations

from datetime import datetime

from monitor.match import story
from monitor.match.copies import CopyScore
from monitor.match.decision import Decision, Known, MatchSettings, story_bar
from monitor.match.groups import predates
from monitor.match.story_stage import StoryMatch

_LEADS = "; published before every member of its copy group, so it is the group's original now"

_HOW_COPIED = {
    "jaccard": "shares most of its text with",
    "containment_new_in_known": "is contained in (a shortened copy of)",
    "containment_known_in_new": "contains (an extended copy of)",
}


def exact_decision(
    same: Known,
    original: Known,
    published_at: datetime | None,
    thresholds: dict[str, float],
    *,
    url: str | None = None,
) -> Decision:
    """The article's text equals a version of ``same``, whose group's original is ``original``."""
    via = f" (a copy of {original.url})" if original is not same else ""
    leads = predates(published_at, original, url)
    return Decision(
        "exact",
        original.article_id,
        original.url,
        1.0,
        {"jaccard": 1.0},
        thresholds,
        f"the same text as {same.url}{via}" + (_LEADS if leads else ""),
        leads,
    )


def copy_decision(
    best: CopyScore,
    original: Known,
    published_at: datetime | None,
    settings: MatchSettings,
    thresholds: dict[str, float],
    *,
    url: str | None = None,
) -> Decision:
    """The article copies ``best.known``, whose group's original is ``original``."""
    value, name, known, scores = best
    via = f" (itself a copy of {original.url})" if original is not known else ""
    leads = predates(published_at, original, url)
    return Decision(
        "copy",
        original.article_id,
        original.url,
        value,
        scores,
        thresholds,
        f"{_HOW_COPIED[name]} {known.url}{via}: {name} {value:.2f} >= {settings.copy_threshold}"
        + (_LEADS if leads else ""),
        leads,
    )


def _story_scores(found: StoryMatch, near: CopyScore | None) -> dict[str, float]:
    scores = {"score": found.score, "cosine": found.cosine, "keyword_hits": float(len(found.hits))}
    if found.time_factor < 1.0:
        scores["time_factor"] = found.time_factor
    if near is not None:
        scores["nearest_copy_score"] = near.value
    if found.across != 1.0:
        scores["cross_language_ratio"] = found.across
    return scores


def _how_scored(found: StoryMatch) -> str:
    """How the score was made: cosine, then each factor and divisor that applied."""
    how = f"TF-IDF cosine {found.cosine:.2f}"
    if found.centroid:
        how += f" with the centroid of the story's {found.centroid} reports nearest in time"
        if story.CENTROID_RATIO != 1.0:
            how += f" / {story.CENTROID_RATIO} = {found.score:.2f}"
        return how
    if found.time_factor < 1.0:
        how += f" x time proximity {found.time_factor:.2f} (to the story's nearest report)"
    across = found.across
    if across != 1.0:
        how += (
            f" / {across} ({found.language} against {found.their_language}:"
            " scores run lower across languages)"
        )
    if (
        found.known is not None
        and found.known.relation != "seed"
        and found.score < found.cosine * found.time_factor / across
    ):
        how += f" / {story.ANCHOR_RATIO} (an accepted article, not a seed)"
    if found.score != found.cosine:
        how += f" = {found.score:.2f}"
    return how


def story_decision(
    found: StoryMatch,
    near: CopyScore | None,
    settings: MatchSettings,
    thresholds: dict[str, float],
) -> Decision:
    """The story stage's decision; ``near`` is the best copy candidate, which fell short."""
    scores = _story_scores(found, near)
    needed = story_bar(settings.story_threshold, len(found.hits))
    how = _how_scored(found)
    shared = found.shared
    words = f"; most shared: {', '.join(t.lstrip('#') for t, _ in shared)}" if shared else ""
    hits = found.hits
    if found.known is not None and found.score >= needed:
        against = "; the nearest of them:" if found.centroid else " with"
        because = f"{how} >= {needed:.3f}{against} {found.known.url}{words}"
        if hits:
            because += f"; story keywords: {', '.join(hits)}"
        return Decision(
            "same_story",
            found.known.article_id,
            found.known.url,
            found.score,
            scores,
            thresholds,
            because,
            shared=shared,
        )
    nearest = f" (nearest: {found.known.url}{words})" if found.known is not None else ""
    return Decision(
        "off_topic",
        None,
        None,
        found.score,
        scores,
        thresholds,
        f"{how} < {needed:.3f}{nearest}"
        + (f"; keywords: {', '.join(hits)}" if hits else "; no story keyword")
        + (
            f" (members in {', '.join(found.closed)} are compared with an article in another"
            " language only when it names a story keyword)"
            if found.closed
            else ""
        ),
        shared=shared,
    )
