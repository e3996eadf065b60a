"""The match indexes a round decides with (``Indexes``), and a decision recorded joining one
after the commit (``remember``)."""

from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from monitor.app import App, StoryRef
from monitor.match import Decision, Fingerprint, Known, StoryIndex, version_key
from monitor.match.story import TermChange
from storage import lsh, members, meta, termstats


class Indexes:
    """The match index of each story: its members and term statistics, read from the database
    on first use in a round. The copy stage's LSH index is the database's band table
    (``storage.lsh``), read inside each decision's write transaction, so members that another
    process added since are seen too."""

    def __init__(self, app: App) -> None:
        self.app = app
        self._built: dict[int, StoryIndex] = {}
        # Per story, how many times members had left it when its index was built (see decide).
        self._left: dict[int, str | None] = {}

    def get(self, story: StoryRef, session: Session | None = None) -> StoryIndex:
        if story.id not in self._built:
            with nullcontext(session) if session is not None else self.app.db.read() as s:
                settings = self.app.story_settings(story, s)
                index = StoryIndex(settings, story.keywords, in_memory_lsh=False)
                # The archive's document frequencies stay in the database: only the terms of
                # the story's members, and of each article decided, are read.
                index.use_background(termstats.documents(s))
                for m in members.story_members(s, story.id):
                    index.add(as_known(m))
                _provide_df(s, index)
                self._left[story.id] = meta.get(s, meta.members_left(story.id))
            self._built[story.id] = index
        return self._built[story.id]

    def decide(
        self,
        session: Session,
        story: StoryRef,
        title: str | None,
        text: str,
        fp: Fingerprint,
        bands: list[tuple[int, int]],
        published_at: datetime | None,
        language: str | None = None,
        url: str | None = None,
    ) -> Decision:
        """Decide inside the caller's write transaction, on what the database holds now: the
        band table proposes the candidates, and members this index has not seen (another
        process stored them) are read in first. An index built before members left the story
        (``monitor story redecide`` in another process) is built again: it would match them."""
        if story.id in self._built and self._left[story.id] != meta.get(
            session, meta.members_left(story.id)
        ):
            del self._built[story.id]
        index = self.get(story, session)
        found = lsh.candidates(session, story.id, bands)
        missing = {a for a, v in found if not index.has_version(a, v)}
        if not index.knows_text(fp.sha256):
            missing |= lsh.members_with_text(session, story.id, fp.sha256)
        if missing:
            for m in members.story_members(session, story.id, only=missing):
                index.add(as_known(m))
        _refresh_groups(session, story.id, index, {a for a, _ in found} | missing)
        _provide_df(session, index, title, text)
        return index.decide(
            title,
            text,
            fp,
            published_at=published_at,
            candidates=[version_key(a, v) for a, v in sorted(found)],
            language=language,
            url=url,
        )

    def built(self, story: StoryRef) -> StoryIndex | None:
        return self._built.get(story.id)

    def learn(self, change: TermChange) -> None:
        """After the commit: a newly stored version's terms join the statistics of every built
        index (the database's were queued in the same transaction: storage.termstats), and the
        queue is folded into the database's table when it is long enough (a transaction of its
        own, so that no decision's transaction waits on the table's rows)."""
        for index in self._built.values():
            index.update_background(change)
        if termstats.due(self.app.db.engine.url):
            with self.app.db.write() as session:
                termstats.fold(session)


def _refresh_groups(session: Session, story_id: int, index: StoryIndex, ids: set[int]) -> None:
    """The candidates' copy groups as stored now, up their copy chains: another process may
    have re-pointed a group (a copy published earlier became its original) since this index
    read it, and deciding on the old group would make a second original."""
    checked: set[int] = set()
    while ids:
        checked |= ids
        stored = members.relations(session, story_id, ids)
        ids = set()
        for article_id, (relation, copy_of) in stored.items():
            if relation == "off_topic":
                continue  # a member that left: see members_left above
            index.regroup(article_id, relation, copy_of)
            if copy_of is not None and copy_of not in checked:
                ids.add(copy_of)


def _provide_df(
    session: Session, index: StoryIndex, title: str | None = None, text: str | None = None
) -> None:
    """Read the document frequencies the index lacks: its members' terms, and the article's."""
    asked = index.terms_to_look_up(title, text)
    if asked:
        index.provide_df(asked, termstats.lookup(session, asked))


def as_known(m: members.Member) -> Known:
    return Known(
        m.article_id,
        m.url,
        m.relation,
        m.published_at,
        m.copy_of_id,
        m.texts,
        m.title,
        m.language,
        m.labelled_in,
    )


def remember(
    index: StoryIndex, decision: Decision, known: Known, minhashes: list[Any] | None
) -> None:
    """After the commit: a member just recorded joins the story's index of this round."""
    if decision.leads_group and decision.matched_id is not None:
        index.repoint(decision.matched_id, known.article_id)
    index.add(known, minhashes)
