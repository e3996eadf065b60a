"""The story stage's term statistics: document frequencies, the terms still to look up, and the
members' weighted vectors (``postings``: kept up to date as the statistics move, never rebuilt
whole)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from monitor.match import story
from monitor.match.postings import MemberVectors, Normed, Postings


class TermStats:
    """Document frequencies over ``docs`` documents, counted here or looked up elsewhere, and
    the members' terms weighted by them."""

    def __init__(self) -> None:
        self.df: Counter[str] = Counter()
        self.docs = 0
        # None: every document is counted here (add_background), so a term absent has df 0.
        # A set: the frequencies live elsewhere (the database) and only these terms were looked
        # up; the caller provides the rest (terms_to_look_up, provide_df) before a decision.
        self._looked_up: set[str] | None = None
        self._pending: set[str] = set()  # members' terms not looked up yet
        # The members' terms, by term, kept up to date with every change of ``df`` below.
        self._postings = Postings()
        # The terms of the article last asked about: terms_to_look_up, then decide, want them.
        self._last_article: tuple[str | None, str, dict[str, float]] | None = None

    @property
    def looked_up(self) -> set[str] | None:
        """The terms looked up so far; None when every document is counted here."""
        return self._looked_up

    def _move(self, changes: Iterable[tuple[str, int]]) -> None:
        """Each term's document frequency moved by its step, the members' norms with it."""
        moved = []
        df = self.df
        for term, step in changes:
            old = df.get(term, 0)  # Counter's own lookup of a missing term is Python code
            df[term] = old + step
            moved.append((term, old, old + step))
        self._postings.df_changed(moved)

    def add_background(self, text: str) -> None:
        self._move((t, 1) for t in story.document_terms(text))
        self.docs += 1

    def use_background(self, docs: int) -> None:
        self.df, self.docs, self._looked_up = Counter(), docs, set()
        for article_id in self._postings:
            self._pending.update(self._postings.counts(article_id))
        self._postings.recount(self.df)

    def share(self, df: Counter[str], docs: int) -> None:
        """Count documents with ``df`` and ``docs`` (another index's, shared, changed by
        neither)."""
        self.df, self.docs = df, docs
        self._postings.recount(self.df)

    def terms_to_look_up(self, title: str | None, text: str | None) -> set[str]:
        if self._looked_up is None:
            return set()
        wanted = set(self._pending)
        if text is not None:
            wanted.update(self.article_terms(title, text))
        return wanted - self._looked_up

    def article_terms(self, title: str | None, text: str) -> dict[str, float]:
        last = self._last_article
        if last is None or last[0] != title or last[1] != text:
            # Looked up on the module each time: benchmarks/matching.py swaps in a memo.
            last = self._last_article = (title, text, story.story_terms(title, text))
        return last[2]

    def provide_df(self, asked: Iterable[str], found: dict[str, int]) -> None:
        assert self._looked_up is not None, "provide_df is for an index with use_background"
        asked = set(asked)
        df = self.df
        self._move((t, found.get(t, 0) - df.get(t, 0)) for t in asked)
        self._looked_up.update(asked)
        self._pending -= asked

    def update(self, change: story.TermChange) -> None:
        known = self._looked_up
        self._move((t, 1) for t in change.added if known is None or t in known)
        self._move((t, -1) for t in change.removed if known is None or t in known)
        self.docs += change.new_doc

    def set_member(self, article_id: int, terms: dict[str, float]) -> None:
        """A member's terms (its newest version's), new or changed."""
        self._postings.set(article_id, terms, self.df)
        if self._looked_up is not None:
            self._pending.update(t for t in terms if t not in self._looked_up)

    def _check_looked_up(self, counts: Iterable[str]) -> None:
        if self._looked_up is not None:
            missing = set(counts) - self._looked_up
            if missing:  # a caller's mistake: scores would silently use df 0
                raise ValueError(f"document frequencies not provided for {sorted(missing)[:5]}")

    def article_vector(self, title: str | None, text: str) -> Normed:
        """The article's weighted vector and norm; ValueError when a frequency it needs was not
        provided."""
        counts = self.article_terms(title, text)
        self._check_looked_up(counts)
        vector = story.weights(counts, self.df, self.docs)
        return vector, story.norm(vector)

    def member_vectors(self) -> MemberVectors:
        """The members' weighted vectors under the statistics as they stand, in the order
        members were first added; ValueError when a frequency they need was not provided."""
        self._check_looked_up(self._pending)
        return MemberVectors(self._postings, self.df, self.docs)
