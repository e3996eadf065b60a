"""What changed between two versions of an article. Pure.

``summarise`` gives the few numbers of the story file's ``changes`` (a public contract, kept as
it is); ``compare`` the sentence diff (monitor.publish.align) and the change kinds
(monitor.publish.kinds) that ``article_versions.diff`` and ``kinds`` store.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from monitor.publish.align import Alignment, align
from monitor.publish.kinds import Snapshot, change_kinds
from monitor.text import normalised


def summarise(
    old_title: str | None, old_text: str, new_title: str | None, new_text: str
) -> dict[str, Any]:
    """Counts of words and paragraphs added and removed, and the title change if any."""
    old_words, new_words = old_text.split(), new_text.split()
    added = removed = 0
    matcher = difflib.SequenceMatcher(a=old_words, b=new_words, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op in ("replace", "delete"):
            removed += i2 - i1
        if op in ("replace", "insert"):
            added += j2 - j1
    old_paras = {normalised(p) for p in old_text.split("\n\n") if p.strip()}
    new_paras = {normalised(p) for p in new_text.split("\n\n") if p.strip()}
    out: dict[str, Any] = {
        "words_added": added,
        "words_removed": removed,
        "paragraphs_added": len(new_paras - old_paras),
        "paragraphs_removed": len(old_paras - new_paras),
        "title_changed": normalised(old_title or "") != normalised(new_title or ""),
    }
    if out["title_changed"]:
        out["previous_title"] = old_title
    return out


def sentence_diff(
    alignment: Alignment, old_title: str | None, new_title: str | None
) -> dict[str, Any]:
    """The sentence alignment as stored in ``article_versions.diff`` (docs/story-file.md):
    sentences added, removed, changed (with their word edits) and moved, each with its
    position (0-based, in ``monitor.publish.align.split``'s sentences of each text), and the
    title when it changed. Sentences not listed are unchanged and in order."""
    old, new = alignment.old, alignment.new
    return {
        "title": (
            {"old": old_title, "new": new_title}
            if normalised(old_title or "") != normalised(new_title or "")
            else None
        ),
        "added": [
            {"new": j, "paragraph": new[j].paragraph, "text": new[j].text} for j in alignment.added
        ],
        "removed": [
            {"old": i, "paragraph": old[i].paragraph, "text": old[i].text}
            for i in alignment.removed
        ],
        "changed": [
            {
                "old": i,
                "new": j,
                "old_text": old[i].text,
                "new_text": new[j].text,
                "edits": [
                    {"op": e.op, "old": e.old, "new": e.new, "old_at": e.old_at, "new_at": e.new_at}
                    for e in alignment.edits.get((i, j), [])
                ],
            }
            for i, j in alignment.changed
        ],
        "moved": [{"old": i, "new": j, "text": new[j].text} for i, j in alignment.moved],
        "counts": {
            "old_sentences": len(old),
            "new_sentences": len(new),
            "unchanged": len(alignment.same),
            "changed": len(alignment.changed),
            "added": len(alignment.added),
            "removed": len(alignment.removed),
            "moved": len(alignment.moved),
        },
    }


@dataclass(frozen=True)
class Comparison:
    """What a new version changed: the sentence diff and the change kinds, as stored."""

    diff: dict[str, Any]
    kinds: list[dict[str, Any]]

    @property
    def kind_names(self) -> list[str]:
        return [k["kind"] for k in self.kinds]


def compare(old: Snapshot, new: Snapshot, *, returns_to: int | None = None) -> Comparison:
    """The diff and change kinds from version ``old`` to version ``new`` (``returns_to``: the
    earlier version whose text and title ``new`` has again)."""
    alignment = align(old.text, new.text)
    return Comparison(
        sentence_diff(alignment, old.title, new.title),
        change_kinds(old, new, alignment, returns_to=returns_to),
    )
