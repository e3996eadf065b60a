"""The story stage: which members anchor the story, and an article's best anchor by TF-IDF
cosine, faded by time and divided across languages, with the story keywords it contains."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from monitor import text as textmod
from monitor.match import story
from monitor.match.decision import Known, MatchSettings
from monitor.match.groups import CopyGroups
from monitor.match.terms import Normed


@dataclass(frozen=True)
class StoryMatch:
    """An article's best anchor (``known`` None when no anchor scored above 0) and the evidence
    the reason names."""

    score: float
    cosine: float
    time_factor: float
    known: Known | None
    language: str | None  # the article's
    their_language: str | None  # the anchor's
    hits: tuple[str, ...]  # story keywords in the article
    shared: tuple[tuple[str, float], ...]

    @property
    def across(self) -> float:
        """What the score was divided by for a comparison across languages (1.0 if none)."""
        return story.language_ratio(self.language, self.their_language)


class StoryStage:
    """The anchors and languages of one story's members, and the story keywords."""

    def __init__(self, settings: MatchSettings, groups: CopyGroups, keywords: tuple[str, ...]):
        self.settings = settings
        self.keywords = keywords
        self._groups = groups
        # Which accepted articles anchor the story (see story.ANCHOR_RATIO), decided once
        # per article against the seeds known then; a new seed decides again.
        self._anchors: dict[int, bool] = {}
        self._languages: dict[int, str | None] = {}

    def add(self, known: Known, newest: str) -> None:
        """A member added or changed: its language, and whether it anchors, are found again."""
        self._languages[known.article_id] = story.language(known.title, newest, known.language)
        self._anchors.pop(known.article_id, None)
        if known.relation == "seed":
            self._anchors.clear()

    def _is_anchor(self, article_id: int, vectors: dict[int, Normed]) -> bool:
        """A seed always anchors; an accepted article only if it is close to a seed."""
        known = self._groups[article_id]
        if known.relation == "seed":
            return True
        if article_id not in self._anchors:
            seeds = self._groups.seeds()
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

    def _best_anchor(
        self,
        article: Normed,
        published_at: datetime | None,
        mine: str | None,
        vectors: dict[int, Normed],
    ) -> tuple[float, float, float, Known | None]:
        """The best anchor's score, cosine and time factor, and the anchor. Each anchor's score:
        cosine, faded by time, divided by the anchor's bar relative to a seed's in the same
        language, so one threshold applies to all."""
        vector, norm = article
        has_seeds = bool(self._groups.seeds())
        best_score, best_cos, best_time, best_known = 0.0, 0.0, 1.0, None
        for article_id, (member, member_norm) in vectors.items():
            if not self._is_anchor(article_id, vectors):
                continue
            known = self._groups[article_id]
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
        return best_score, best_cos, best_time, best_known

    def keyword_hits(self, title: str | None, text: str) -> tuple[str, ...]:
        """The story keywords the title or text contains, as whole words."""
        if not self.keywords:
            return ()
        folded = " " + textmod.normalised(f"{title or ''} {text}") + " "
        return tuple(k for k in self.keywords if f" {k} " in folded)

    def match(
        self,
        title: str | None,
        text: str,
        article: Normed,
        vectors: dict[int, Normed],
        *,
        published_at: datetime | None,
        language: str | None,
    ) -> StoryMatch:
        """The article (its weighted vector ``article``) against the anchors among the members
        (``vectors``, every member's)."""
        mine = story.language(title, text, language)
        score, cos, factor, known = self._best_anchor(article, published_at, mine, vectors)
        hits = self.keyword_hits(title, text)
        theirs = self._languages.get(known.article_id) if known is not None else None
        shared: tuple[tuple[str, float], ...] = ()
        if known is not None:
            shared = tuple(story.shared_terms(*article, *vectors[known.article_id]))
        return StoryMatch(score, cos, factor, known, mine, theirs, hits, shared)
