"""Side-by-side diffs of two versions of an article, as rows for the HTML page. Pure.

A row is a dict: ``kind`` (``title``, ``same``, ``changed``, ``replaced``, ``added``, ``removed``
or ``moved``), ``old`` and ``new`` (each a list of ``[mark, text]`` segments, ``mark`` being
``""``, ``"del"`` or ``"ins"``; empty on the side a sentence is missing from) and, for ``same``,
``count``: the unchanged sentences it stands for, of which only one either side of a change is
shown.

``from_texts`` aligns the two texts sentence by sentence and marks word-level edits inside
changed sentences; ``from_diff`` reads the sentence diff a version stores (``diff``), in the
shape described in docs/story-file.md, and returns None for a shape it does not know.
"""

from __future__ import annotations

import difflib
import functools
import re
from collections.abc import Iterator, Sequence
from typing import Any

from monitor.publish import align

Segment = list[str]  # [mark, text]
Row = dict[str, Any]

_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")
_WORD = re.compile(r"\w+")
# Two sentences at the same place are one sentence edited when at least this share of their
# words is common; below it the old one was replaced by another.
SAME_SENTENCE = 0.5
CONTEXT = 1  # unchanged sentences shown either side of a change


@functools.lru_cache(maxsize=8)  # a version's text is diffed as the new, then as the old one
def sentences(text: str) -> tuple[str, ...]:
    """The sentences of ``text``, paragraph by paragraph, whitespace runs as one space: cut as
    the stored diff cuts them (``monitor.publish.align.split``)."""
    return tuple(sentence.text for sentence in align.split(text))


def _key(sentence: str) -> str:
    return " ".join(sentence.casefold().split())


def words(old: str, new: str) -> tuple[list[Segment], list[Segment]]:
    """Both sides of one edited sentence, the removed words marked ``del``, the added ``ins``."""
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    left: list[Segment] = []
    right: list[Segment] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if op == "equal":
            _append(left, "", "".join(a[i1:i2]))
            _append(right, "", "".join(b[j1:j2]))
            continue
        _append(left, "del", "".join(a[i1:i2]))
        _append(right, "ins", "".join(b[j1:j2]))
    return left, right


def _append(segments: list[Segment], mark: str, text: str) -> None:
    """Add a segment, joined to the last one when it has the same mark; a whitespace-only edit
    counts as unchanged text."""
    if not text:
        return
    if mark and not text.strip():
        mark = ""
    if segments and segments[-1][0] == mark:
        segments[-1][1] += text
    else:
        segments.append([mark, text])


def _similar(a: str, b: str) -> bool:
    matcher = difflib.SequenceMatcher(
        a=_WORD.findall(a.casefold()), b=_WORD.findall(b.casefold()), autojunk=False
    )
    return matcher.quick_ratio() >= SAME_SENTENCE and matcher.ratio() >= SAME_SENTENCE


def _row(kind: str, old: str | None, new: str | None) -> Row:
    if kind == "changed" and old is not None and new is not None:
        left, right = words(old, new)
        return {"kind": kind, "old": left, "new": right}
    return {
        "kind": kind,
        "old": [["del" if kind != "moved" else "", old]] if old else [],
        "new": [["ins" if kind != "moved" else "", new]] if new else [],
    }


def _block(old: Sequence[str], new: Sequence[str], moved: set[str]) -> Iterator[Row]:
    """Rows for sentences replaced by others: one ``moved`` elsewhere unchanged is shown as
    moved, an edited sentence is paired with its new form, one that has no counterpart is
    removed or added, two that share little are shown as one replacing the other."""
    yield from (_row("moved", s, None) for s in old if _key(s) in moved)
    new_moved = [s for s in new if _key(s) in moved]
    old = [s for s in old if _key(s) not in moved]
    new = [s for s in new if _key(s) not in moved]
    yield from _paired(old, new)
    yield from (_row("moved", None, s) for s in new_moved)


def _paired(old: Sequence[str], new: Sequence[str]) -> Iterator[Row]:
    i = j = 0
    while i < len(old) and j < len(new):
        if _similar(old[i], new[j]):
            yield _row("changed", old[i], new[j])
            i, j = i + 1, j + 1
        elif any(_similar(old[i], later) for later in new[j + 1 :]):
            yield _row("added", None, new[j])
            j += 1
        elif any(_similar(earlier, new[j]) for earlier in old[i + 1 :]):
            yield _row("removed", old[i], None)
            i += 1
        else:
            yield _row("replaced", old[i], new[j])
            i, j = i + 1, j + 1
    yield from (_row("removed", s, None) for s in old[i:])
    yield from (_row("added", None, s) for s in new[j:])


def _same(run: Sequence[str], *, first: bool, last: bool) -> Iterator[Row]:
    """Unchanged sentences: ``CONTEXT`` of them next to a change, the rest as one count."""
    head = [] if first else list(run[:CONTEXT])
    tail = [] if last else list(run[len(head) :][-CONTEXT:])
    hidden = len(run) - len(head) - len(tail)
    for sentence in head:
        yield {"kind": "same", "old": [["", sentence]], "new": [["", sentence]], "count": 1}
    if hidden:
        yield {"kind": "same", "old": [], "new": [], "count": hidden}
    for sentence in tail:
        yield {"kind": "same", "old": [["", sentence]], "new": [["", sentence]], "count": 1}


def from_texts(
    old_title: str | None, old_text: str, new_title: str | None, new_text: str
) -> list[Row]:
    """The rows of a side-by-side diff from one version to the next."""
    rows: list[Row] = []
    if _key(old_title or "") != _key(new_title or ""):
        left, right = words(old_title or "", new_title or "")
        rows.append({"kind": "title", "old": left, "new": right})
    old, new = sentences(old_text), sentences(new_text)
    a, b = [_key(s) for s in old], [_key(s) for s in new]
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    opcodes = matcher.get_opcodes()
    # A sentence that leaves one place and comes back unchanged in another was moved.
    gone = {a[i] for op, i1, i2, _, _ in opcodes if op != "equal" for i in range(i1, i2)}
    came = {b[j] for op, _, _, j1, j2 in opcodes if op != "equal" for j in range(j1, j2)}
    for n, (op, i1, i2, j1, j2) in enumerate(opcodes):
        if op == "equal":
            rows += _same(old[i1:i2], first=n == 0, last=n == len(opcodes) - 1)
        else:
            rows += _block(old[i1:i2], new[j1:j2], gone & came)
    return rows


# -- the stored diff ------------------------------------------------------------------------


def from_diff(diff: Any) -> list[Row] | None:
    """Rows from a version's stored ``diff`` (``monitor.publish.align``'s form, documented in
    docs/story-file.md): the title change, then every changed, added and removed sentence in
    the new version's order (removed ones where they stood in the old), moved ones labelled.
    Unchanged sentences are not stored, so none are shown. None for a shape it does not know:
    the page then diffs the texts, or shows the diff as JSON text."""
    if not isinstance(diff, dict) or not all(
        isinstance(diff.get(key), list) for key in ("added", "removed", "changed", "moved")
    ):
        return None
    try:
        placed = [
            *((item["new"], 1, _changed_row(item)) for item in diff["changed"]),
            *((item["new"], 1, _row("added", None, item["text"])) for item in diff["added"]),
            *((item["old"], 0, _row("removed", item["text"], None)) for item in diff["removed"]),
            *(
                (item["new"], 2, _row("moved", item["text"], item["text"]))
                for item in diff["moved"]
            ),
        ]
    except (KeyError, TypeError):
        return None
    rows = [row for _, _, row in sorted(placed, key=lambda p: (p[0], p[1]))]
    title = diff.get("title")
    if isinstance(title, dict):
        rows.insert(0, _row("title", _text(title.get("old")), _text(title.get("new"))))
    return rows


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _changed_row(item: dict[str, Any]) -> Row:
    """A rewritten sentence with its word edits marked on each side (``edits`` give the first
    word's position in each sentence, words split on spaces)."""
    old_words, new_words = item["old_text"].split(" "), item["new_text"].split(" ")
    old_marks, new_marks = [""] * len(old_words), [""] * len(new_words)
    for edit in item["edits"]:
        for side, words, marks, at, mark in (
            (edit["old"], old_words, old_marks, edit["old_at"], "del"),
            (edit["new"], new_words, new_marks, edit["new_at"], "ins"),
        ):
            for i in range(at, min(at + len(side.split()), len(words))):
                marks[i] = mark
    return {
        "kind": "changed",
        "old": _segments(old_words, old_marks),
        "new": _segments(new_words, new_marks),
    }


def _segments(words: list[str], marks: list[str]) -> list[Segment]:
    out: list[Segment] = []
    for i, (word, mark) in enumerate(zip(words, marks, strict=True)):
        _append(out, mark, word if i == 0 else " " + word)
    return out
