"""A story's members by id and their copy groups: chain heads, each group's original, repointing."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from monitor.match.decision import Known
from monitor.match.story import as_utc


def predates(published_at: datetime | None, original: Known, url: str | None = None) -> bool:
    """Whether a new copy (at ``url``) was published before its group's original, which then
    becomes a copy of it. A seed stays what the user made it; an undated side decides nothing.

    Two published at the same time are ordered by URL, not by which was stored first: with
    several workers storing at once, which copy is the original must not depend on which
    worker won (without ``url`` a tie keeps the original)."""
    if published_at is None or original.published_at is None or original.relation == "seed":
        return False
    new, old = as_utc(published_at), as_utc(original.published_at)
    return new < old or (new == old and url is not None and url < original.url)


def _published_order(known: Known) -> tuple[datetime, str]:
    """Earliest publication first; the URL breaks ties (as in ``predates``)."""
    assert known.published_at is not None
    return (as_utc(known.published_at), known.url)


class CopyGroups:
    """The members of one story, each once, and who copies whom among them."""

    def __init__(self) -> None:
        self._members: dict[int, Known] = {}
        # Members that were seeds when admitted: looked at first by has_seeds, which a story's
        # every decision asks (a pass over 5,000 members when its seeds were added last).
        self._seed_ids: dict[int, None] = {}

    def admit(self, known: Known) -> Known:
        """The member ``known`` describes: a member added again (with a new version, or as
        another process left it in the database) is updated in place, so that every structure
        holding it sees the change."""
        existing = self._members.get(known.article_id)
        if existing is not None and existing is not known:
            existing.relation, existing.copy_of_id = known.relation, known.copy_of_id
            existing.published_at = known.published_at or existing.published_at
            existing.title = known.title or existing.title
            existing.language = known.language or existing.language
            existing.labelled_in = known.labelled_in
            existing.texts[:] = known.texts
            known = existing
        self._members[known.article_id] = known
        if known.relation == "seed":
            self._seed_ids[known.article_id] = None
        return known

    def get(self, article_id: int) -> Known | None:
        return self._members.get(article_id)

    def __getitem__(self, article_id: int) -> Known:
        return self._members[article_id]

    def __iter__(self) -> Iterator[Known]:
        return iter(self._members.values())

    def seeds(self) -> list[Known]:
        return [m for m in self._members.values() if m.relation == "seed"]

    def has_seeds(self) -> bool:
        """Whether any member is a seed. A relation can change after admission (a member
        updated in place), so the members admitted as seeds are only looked at first."""
        members = self._members
        if any(members[a].relation == "seed" for a in self._seed_ids if a in members):
            return True
        return any(m.relation == "seed" for m in members.values())

    def root(self, known: Known) -> Known:
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
        root = self.root(known)
        if root.published_at is None:
            return root
        group = [m for m in self._members.values() if m.published_at and self.root(m) is root]
        return min([root, *group], key=_published_order)

    def repoint(self, old_id: int, new_id: int) -> None:
        """``new_id`` leads the copy group ``old_id`` led (``Decision.leads_group``): the old
        original becomes its copy, and the copies of the old point at the new."""
        for m in self._members.values():
            if m.article_id == old_id and m.relation != "seed":
                m.relation, m.copy_of_id = "copy", new_id
            elif m.copy_of_id == old_id and m.relation == "copy":
                m.copy_of_id = new_id
