"""What changed between two versions of an article, in a few numbers. Pure."""

from __future__ import annotations

import difflib
from typing import Any

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
