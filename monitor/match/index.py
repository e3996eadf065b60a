"""The story index: what one story knows, and the decision on a new article (exact, copy, same
story or off topic, with the reason), composed from the copy groups, the copy stage, the term
statistics and the story stage."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from monitor import text as textmod
from monitor.match import reasons, story
from monitor.match.copies import CopyStage
from monitor.match.decision import Decision, Known, MatchSettings, thresholds_of
from monitor.match.groups import CopyGroups
from monitor.match.signature import Fingerprint
from monitor.match.story_stage import StoryStage
from monitor.match.terms import TermStats

if TYPE_CHECKING:
    from datasketch import LeanMinHash


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
        self._groups = CopyGroups()
        self._copies = CopyStage(settings, self._groups, in_memory_lsh=in_memory_lsh)
        self._terms = TermStats()
        self._story = StoryStage(settings, self._groups, self.keywords)

    # -- term statistics --------------------------------------------------------------------

    @property
    def documents(self) -> int:
        """How many documents the term statistics count."""
        return self._terms.docs

    @property
    def terms_looked_up(self) -> frozenset[str] | None:
        """The terms whose frequencies were looked up so far; None when every document is
        counted here (``add_background``)."""
        looked = self._terms.looked_up
        return None if looked is None else frozenset(looked)

    def document_frequency(self, term: str) -> int:
        """In how many of the counted documents ``term`` occurs (as known to this index)."""
        return self._terms.df[term]

    def share_background(self, other: StoryIndex) -> None:
        """Count documents as ``other`` counted them, sharing (not copying) its frequencies,
        which neither may then change: many indexes over one background, counted once."""
        self._terms.share(other._terms.df, other._terms.docs)

    def add_background(self, text: str) -> None:
        """Count a document (of this story or not) in the term statistics."""
        self._terms.add_background(text)

    def use_background(self, docs: int) -> None:
        """Take document frequencies kept elsewhere (the database's, storage.termstats) over
        ``docs`` documents: only the terms the story needs are then looked up, through
        ``terms_to_look_up`` and ``provide_df``."""
        self._terms.use_background(docs)

    def terms_to_look_up(self, title: str | None = None, text: str | None = None) -> set[str]:
        """The terms whose frequencies this index lacks: its members', and those of the article
        ``title`` and ``text`` when given."""
        return self._terms.terms_to_look_up(title, text)

    def provide_df(self, asked: Iterable[str], found: dict[str, int]) -> None:
        """The frequencies of the terms ``asked`` (those not in ``found`` occur nowhere)."""
        self._terms.provide_df(asked, found)

    def update_background(self, change: story.TermChange) -> None:
        """Apply what storing one version changed in the document frequencies (of the terms
        looked up, when they live elsewhere: the others are read afresh when needed)."""
        self._terms.update(change)

    # -- members ----------------------------------------------------------------------------

    def add(self, known: Known, minhashes: Sequence[LeanMinHash] | None = None) -> None:
        """Index every version of ``known`` (``texts[i]`` is version ``i + 1``); ``minhashes``
        are stored signatures, if any. A member added again (with a new version, or as
        another process left it in the database) is updated in place."""
        known = self._groups.admit(known)
        self._copies.add(known, minhashes)
        newest = known.texts[-1] if known.texts else ""
        # story.story_terms looked up on the module: benchmarks/matching.py swaps in a memo.
        self._terms.set_member(known.article_id, story.story_terms(known.title, newest))
        self._story.add(known, newest)

    def member(self, article_id: int) -> Known | None:
        return self._groups.get(article_id)

    def regroup(self, article_id: int, relation: str, copy_of_id: int | None) -> None:
        """Another process changed a member's relation or copy group (storage holds these now):
        the member changes in place, and what the story stage keeps of its members (anchors,
        the centroid's reports) is found again at the next decision."""
        known = self._groups.get(article_id)
        if known is None or (known.relation, known.copy_of_id) == (relation, copy_of_id):
            return
        known.relation, known.copy_of_id = relation, copy_of_id
        self._story.add(known, known.texts[-1] if known.texts else "")

    def knows_text(self, sha256: str) -> bool:
        return self._copies.knows_text(sha256)

    def repoint(self, old_id: int, new_id: int) -> None:
        """``new_id`` leads the copy group ``old_id`` led (``Decision.leads_group``): the old
        original becomes its copy, and the copies of the old point at the new."""
        self._groups.repoint(old_id, new_id)
        self._story.changed()  # the old original is a copy now: out of the story's centroid

    def has_version(self, article_id: int, version: int) -> bool:
        return self._copies.has_version(article_id, version)

    def original(self, known: Known) -> Known:
        """The original of ``known``'s copy group: its earliest-published member (if B copies A
        and C copies B, the group is A, B, C). The head of the copy chain stands unless dates
        show an earlier member: an undated member, or an undated head, moves nothing."""
        return self._groups.original(known)

    # -- deciding ---------------------------------------------------------------------------

    def decide(
        self,
        title: str | None,
        text: str,
        fp: Fingerprint,
        *,
        published_at: datetime | None = None,
        candidates: Iterable[str] | None = None,
        language: str | None = None,
        url: str | None = None,
    ) -> Decision:
        """Exact, copy, same story or off topic, with the scores and the reason.
        ``published_at`` (when known) weighs time proximity in the story stage, and the
        language (its text's, else ``language`` as the page declares it) whether a member is
        compared across languages. ``candidates`` are the version keys an outside LSH index
        proposes (members already added); without them the in-memory index proposes its own.
        ``url``, the article's, breaks a tie of publication times with its group's original
        (``groups.predates``)."""
        thresholds = thresholds_of(self.settings)
        same = self._copies.same_text(fp.sha256)
        if same is not None:
            return reasons.exact_decision(
                same, self.original(same), published_at, thresholds, url=url
            )
        near = self._copies.nearest(fp, candidates)
        if near is not None and near.value >= self.settings.copy_threshold:
            original = self.original(near.known)
            return reasons.copy_decision(
                near, original, published_at, self.settings, thresholds, url=url
            )
        article = self._terms.article_vector(title, text)
        found = self._story.match(
            title,
            text,
            article,
            self._terms.member_vectors(),
            published_at=published_at,
            language=language,
        )
        return reasons.story_decision(found, near, self.settings, thresholds)
