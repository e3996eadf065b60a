"""The story stage: which members anchor the story, and an article's best anchor by TF-IDF
cosine, faded by the time since the story's nearest reporting and divided across languages,
with the story keywords it contains."""

from __future__ import annotations

import bisect
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt

from monitor import text as textmod
from monitor.match import story
from monitor.match.decision import Known, MatchSettings
from monitor.match.groups import CopyGroups
from monitor.match.nearby import DatedReports
from monitor.match.postings import MemberVectors, Normed


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
    # The members' languages it was not compared with: another language, and no story keyword.
    closed: tuple[str, ...] = ()
    # How many reports the story's centroid was made of, when it scored better than any anchor
    # (``known`` is then the member nearest the article); 0 when an anchor did.
    centroid: int = 0

    @property
    def across(self) -> float:
        """What the score was divided by for a comparison across languages (1.0 if none)."""
        return story.language_ratio(self.language, self.their_language)


def _publication_order(known: Known) -> tuple[float, int]:
    """The order members anchor one another in, the same whatever order workers stored them
    in: dated members oldest first (by id at the same time), then the undated by id. An undated
    member comes after every dated one: its time is unknown, so any dated member may carry it,
    and it carries no dated member (nothing says it came first). A total order, so a story's
    anchors are found in one pass oldest first; ordering an undated member by its id against
    the dated ones was not one (ids and dates can disagree), and a story with one undated
    member found its anchors comparing every member with every other (35 CPU s at 5,000
    members; benchmarks/story_size.py --undated)."""
    when = story.as_utc(known.published_at).timestamp() if known.published_at else float("inf")
    return (when, known.article_id)


def _before(a: Known, b: Known) -> bool:
    """Whether ``a`` comes before ``b`` in ``_publication_order``."""
    return _publication_order(a) < _publication_order(b)


def _age(when: datetime | None, start: datetime | None) -> float:
    """Days from the story's first report ``start`` to ``when`` (0.0 if either is unknown): how
    long the story had been reported then, which stretches the silence it tolerates."""
    if when is None or start is None:
        return 0.0
    return max((story.as_utc(when) - start).total_seconds() / 86400.0, 0.0)


# Members left to look at above which a story's anchors are found from the anchors' side
# (a pass over the postings per anchor) rather than each member's (a pass per member): stories
# have 10-30 anchors (benchmarks/story_size.py), and after one acceptance one member is left.
_FROM_ANCHORS = 16


def _like_seed(known: Known) -> bool:
    """A seed, or an article an analyst labelled in: it anchors the story at a seed's weight."""
    return known.relation == "seed" or known.labelled_in


@dataclass(frozen=True)
class _Summed:
    """The summed unit term frequencies of a centroid's reports (``key``, sorted ids), as a
    term list, their sums, and each term's position."""

    key: tuple[int, ...]
    terms: list[str]
    sums: npt.NDArray[np.float64]
    at: dict[str, int]

    @classmethod
    def of(cls, key: tuple[int, ...], units: list[dict[str, float]]) -> _Summed:
        summed: dict[str, float] = {}
        for unit in units:
            for term, weight in unit.items():
                summed[term] = summed.get(term, 0.0) + weight
        terms = list(summed)
        sums = np.fromiter(summed.values(), dtype=np.float64, count=len(terms))
        return cls(key, terms, sums, {t: i for i, t in enumerate(terms)})


class StoryStage:
    """The anchors and languages of one story's members, and the story keywords."""

    def __init__(self, settings: MatchSettings, groups: CopyGroups, keywords: tuple[str, ...]):
        self.settings = settings
        self.keywords = keywords
        self._groups = groups
        # Which accepted articles anchor the story (see story.ANCHOR_RATIO), decided once per
        # article against the anchors published before it: a member added later changes only
        # the members published after it.
        self._anchors: dict[int, bool] = {}
        self._languages: dict[int, str | None] = {}
        # Kept until a member is added or changed (``add``), so that a decision costs no pass
        # over every member: whether every member's anchor status is known, and the members'
        # publication times in order.
        self._settled = False
        self._anchor_ids: list[int] = []  # when settled: the anchors, in the members' order
        self._dated: list[datetime] | None = None
        self._reports: DatedReports | None = None  # the centroid's candidates
        # The last centroid's reports and their summed unit term frequencies: the articles of
        # a round mostly face the same reports, and the sum does not move with the statistics.
        self._summed: _Summed | None = None
        # The members' languages, with how many members they were read from.
        self._spoken: tuple[int, set[str | None]] | None = None

    def add(self, known: Known, newest: str) -> None:
        """A member added or changed: its language, and whether it and the members published
        after it anchor, are found again."""
        self._languages[known.article_id] = story.language(known.title, newest, known.language)
        self.changed()
        if _like_seed(known):
            self._anchors.clear()
            return
        for article_id in [a for a in self._anchors if not _before(self._groups[a], known)]:
            del self._anchors[article_id]

    def changed(self) -> None:
        """A member was added or changed (or its copy group repointed): what is kept of the
        members is found again at the next decision."""
        self._settled, self._dated, self._reports, self._summed = False, None, None, None
        self._spoken = None

    def _is_anchor(
        self, article_id: int, vectors: MemberVectors, among: list[int] | None = None
    ) -> bool:
        """A seed always anchors; an accepted article when it scored ``ANCHOR_RATIO`` times the
        story threshold against a seed or an anchor published before it, so that the story
        grows with its coverage, one confident step at a time. ``among``: the members that can
        be those (every seed and every anchor before it, already known), when the caller has
        them; otherwise every member is looked at."""
        known = self._groups[article_id]
        if _like_seed(known):
            return True
        if article_id not in self._anchors:
            if not self._groups.seeds():  # a story without seeds: its members are all it has
                self._anchors[article_id] = True
                return True
            self._anchors[article_id] = False  # no cycle while the chain is followed
            others = list(self._groups) if among is None else [self._groups[a] for a in among]
            ids = [o.article_id for o in others if o.article_id in vectors]
            cosines = vectors.cosines(vectors[article_id], ids)
            bar = story.ANCHOR_RATIO * self.settings.story_threshold
            mine = self._languages.get(article_id)
            start = self._start()
            for other in others:
                if (
                    other.article_id == article_id
                    or other.article_id not in vectors
                    or not (_like_seed(other) or _before(other, known))
                    or not self._is_anchor(other.article_id, vectors)
                ):
                    continue
                score = (
                    cosines[other.article_id]
                    * story.time_factor(
                        known.published_at, other.published_at, _age(other.published_at, start)
                    )
                    / story.language_ratio(mine, self._languages.get(other.article_id))
                )
                if not _like_seed(other):
                    score /= story.ANCHOR_RATIO
                if score >= bar:
                    self._anchors[article_id] = True
                    break
        return self._anchors[article_id]

    def _find_anchors(self, vectors: MemberVectors) -> None:
        """Whether each member anchors, found oldest first: each then reads the earlier ones'
        cached answers, so ``_is_anchor`` recurses one step, not once per member (members added
        newest first, as a story read back may be, went past Python's recursion limit)."""
        if self._settled:
            return
        members = [m for m in self._groups if m.article_id in vectors]
        self._find_in_order(members, vectors)
        missing = [m for m in members if not _like_seed(m) and m.article_id not in self._anchors]
        for m in sorted(missing, key=_publication_order):
            self._is_anchor(m.article_id, vectors)
        self._anchor_ids = [a for a in vectors if self._is_anchor(a, vectors)]
        self._settled = True

    def _find_in_order(self, members: list[Known], vectors: MemberVectors) -> None:
        """``_find_anchors`` for a story with seeds: each member, taken in
        ``_publication_order``, is looked at against the seeds and the anchors found so far
        only. When many members are to be looked at (the round's first decision), the
        cosines are read from each anchor's side: one pass over the postings per anchor gives
        its cosine with every member, where one pass per member made finding a 5,000-member
        story's anchors cost 10 CPU s (34 s when every member was looked at). A few members
        (one just accepted) are looked at from their own side: one pass each. The answers are
        the same: a cosine is symmetric."""
        if not self._groups.seeds():  # every member anchors: nothing to compare
            return
        found = [m.article_id for m in members if _like_seed(m)]
        todo = sum(1 for m in members if not _like_seed(m) and m.article_id not in self._anchors)
        rows: dict[int, dict[int, float]] | None = {} if todo > _FROM_ANCHORS else None
        for m in sorted(members, key=_publication_order):
            if _like_seed(m):
                continue
            if m.article_id not in self._anchors:
                if rows is None:
                    self._is_anchor(m.article_id, vectors, among=found[::-1])
                else:
                    self._anchors[m.article_id] = self._anchored(m, found, rows, vectors)
            if self._anchors[m.article_id]:
                found.append(m.article_id)

    def _anchored(
        self,
        known: Known,
        found: list[int],
        rows: dict[int, dict[int, float]],
        vectors: MemberVectors,
    ) -> bool:
        """Whether ``known`` scores the anchor bar against one of the seeds and anchors
        ``found`` before it (the newest first: the nearest in time is the likeliest to carry
        it), each anchor's cosines with every member computed once into ``rows``."""
        bar = story.ANCHOR_RATIO * self.settings.story_threshold
        mine = self._languages.get(known.article_id)
        start = self._start()
        for other_id in reversed(found):
            other = self._groups[other_id]
            if not (_like_seed(other) or _before(other, known)):
                continue
            if other_id not in rows:
                rows[other_id] = vectors.member_cosines(other_id)
            score = (
                rows[other_id][known.article_id]
                * story.time_factor(
                    known.published_at, other.published_at, _age(other.published_at, start)
                )
                / story.language_ratio(mine, self._languages.get(other_id))
            )
            if not _like_seed(other):
                score /= story.ANCHOR_RATIO
            if score >= bar:
                return True
        return False

    def _start(self) -> datetime | None:
        """When the story was first reported: its earliest dated member (None if none is)."""
        dated = self._dated_members()
        return dated[0] if dated else None

    def _nearest_in_time(self, published_at: datetime | None) -> float:
        """The best time factor against the story's members: a story that keeps being covered
        keeps accepting; what costs is a silence long for the story's age. 1.0 when the article
        or every member is undated. Of the members before ``published_at`` the nearest gives
        the most (it is both the closest and the longest into the story); after it, distance and
        age grow together, so the nearest gives the most when the age weight is under 1, every
        one the same at 1, and the latest above 1: those three are the only ones to look at."""
        dated = self._dated_members()
        if published_at is None or not dated:
            return 1.0
        at = bisect.bisect_left(dated, story.as_utc(published_at))
        near = {max(at - 1, 0), min(at, len(dated) - 1), len(dated) - 1}
        return max(
            story.time_factor(published_at, dated[i], _age(dated[i], dated[0])) for i in near
        )

    def _dated_members(self) -> list[datetime]:
        """The members' publication times, sorted (kept until a member is added)."""
        if self._dated is None:
            self._dated = sorted(
                story.as_utc(m.published_at) for m in self._groups if m.published_at is not None
            )
        return self._dated

    def _dated_reports(self) -> DatedReports:
        """The members that can make the centroid (dated, not copies), by publication time."""
        if self._reports is None:
            self._reports = DatedReports(
                sorted(
                    (story.as_utc(m.published_at), m.article_id)
                    for m in self._groups
                    if m.published_at is not None and m.relation != "copy"
                ),
                self._start(),
                self._languages.get,
            )
        return self._reports

    def _centroid_members(self, published_at: datetime | None, mine: str | None) -> list[int]:
        """The reports the centroid is made of for an article published at ``published_at``
        in language ``mine``: those within the story's grace of it (time factor 1.0), in its
        language, the ``CENTROID_MEMBERS`` nearest in time; none for an undated article."""
        reports = self._dated_reports()
        if published_at is None or len(reports) < 2:
            return []
        return reports.nearest(published_at, mine, story.CENTROID_MEMBERS)

    def _centroid(
        self, article: Normed, ids: list[int], cosines: dict[int, float], vectors: MemberVectors
    ) -> tuple[float, Known, Callable[[], Normed]]:
        """The article's cosine with the centroid of the reports ``ids`` (see
        story.CENTROID_MEMBERS), the report nearest the article (by ``cosines``), and the
        centroid as a vector, made when asked (a thousand terms or more). The centroid is the
        sum of the reports' unit term frequencies, weighed by idf as every vector is: each
        report counts the same, and the sum, which does not move with the statistics, is kept
        while the reports are the same."""
        key = tuple(sorted(ids))
        if self._summed is None or self._summed.key != key:
            self._summed = _Summed.of(key, [vectors.unit_tf(a) for a in ids])
        summed = self._summed
        weights = summed.sums * vectors.idfs(summed.terms)
        length = float(np.sqrt(weights @ weights))
        vector, norm = article
        at = summed.at
        dot = sum(w * float(weights[at[t]]) for t, w in vector.items() if t in at)
        cos = dot / (norm * length) if norm and length else 0.0
        nearest = max(ids, key=lambda a: (cosines[a], -a))

        def centroid() -> Normed:
            return dict(zip(summed.terms, weights.tolist(), strict=True)), length

        return cos, self._groups[nearest], centroid

    def _best_anchor(
        self,
        published_at: datetime | None,
        mine: str | None,
        cosines: dict[int, float],
        across_open: bool,
    ) -> tuple[float, float, float, Known | None]:
        """The best anchor's score, cosine and time factor, and the anchor. Each anchor's score:
        its cosine with the article (``cosines``), faded by the time since the story's nearest
        reporting, divided by the anchor's bar relative to a seed's in the same language, so one
        threshold applies to all. Members in another language are compared only when
        ``across_open``."""
        has_seeds = self._groups.has_seeds()
        factor = self._nearest_in_time(published_at)
        best_score, best_cos, best_known = 0.0, 0.0, None
        for article_id in self._anchor_ids:
            cos = cosines[article_id]
            ratio = story.language_ratio(mine, self._languages.get(article_id))
            if ratio != 1.0 and not across_open:
                continue
            known = self._groups[article_id]
            # Capped: a cross-language score divided past 1.0 says no more than 1.0.
            score = min(cos * factor / ratio, 1.0)
            if not _like_seed(known) and has_seeds:
                score /= story.ANCHOR_RATIO
            if score > best_score:
                best_score, best_cos, best_known = score, cos, known
        return best_score, best_cos, factor, best_known

    def _member_languages(self, vectors: MemberVectors) -> set[str | None]:
        """The languages of the members (kept until a member is added or changed)."""
        if self._spoken is None or self._spoken[0] != len(vectors):
            self._spoken = (len(vectors), {self._languages.get(a) for a in vectors})
        return self._spoken[1]

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
        vectors: MemberVectors,
        *,
        published_at: datetime | None,
        language: str | None,
    ) -> StoryMatch:
        """The article (its weighted vector ``article``) against the anchors among the members
        (``vectors``, every member's)."""
        mine = story.language(title, text, language)
        hits = self.keyword_hits(title, text)
        # Across languages content words barely overlap, and a score says little on its own
        # (SemEval-2022's cross-language pairs: precision 0.73 at the fitted ratio). When the
        # story has keywords (in each of its languages), an article is compared with members
        # in another language only if it names one of them.
        across_open = bool(hits) or not self.keywords
        self._find_anchors(vectors)
        reports = [a for a in self._centroid_members(published_at, mine) if a in vectors]
        reports = reports if len(reports) >= 2 else []
        # One pass over the postings for the anchors and the centroid's reports.
        cosines = vectors.cosines(article, list(dict.fromkeys([*self._anchor_ids, *reports])))
        score, cos, factor, known = self._best_anchor(published_at, mine, cosines, across_open)
        near: Normed | None = None  # what the shared terms are read from
        if reports:
            c_cos, c_known, centroid = self._centroid(article, reports, cosines, vectors)
            if c_cos / story.CENTROID_RATIO > score:
                score, cos, factor, known = c_cos / story.CENTROID_RATIO, c_cos, 1.0, c_known
                near = centroid()
            else:
                reports = []
        if near is None and known is not None:
            near = vectors[known.article_id]
        theirs = self._languages.get(known.article_id) if known is not None else None
        shared: tuple[tuple[str, float], ...] = ()
        if near is not None:
            shared = tuple(story.shared_terms(*article, *near))
        closed: tuple[str, ...] = ()
        if not across_open:
            others = self._member_languages(vectors) - {mine, None}
            closed = tuple(sorted(lang for lang in others if lang))
        return StoryMatch(
            score, cos, factor, known, mine, theirs, hits, shared, closed, centroid=len(reports)
        )
