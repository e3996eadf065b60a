"""Two versions of a text aligned sentence by sentence, then word by word. Pure.

As NewsEdits (Spangher et al., NAACL 2022) does for article revisions: sentences are matched
first, and words only inside matched sentences, so that an edit reads as "this sentence gained
a clause" or "this figure became that one" rather than as a run of words added and removed.

1. Both texts are cut into paragraphs (blank lines) and sentences (``split``).
2. Sentences equal once normalised (case, accents, punctuation and spacing, as
   ``monitor.text.normalised``, the versioning's own notion of "the same text") are matched:
   in order first (a longest-matching-blocks diff of the two lists), then out of order.
3. The sentences left on both sides are paired when similar enough (``SIMILAR``: the Dice
   coefficient of their word sets), best pairs first, nearer positions breaking ties: a pair
   is a *changed* sentence; what stays unpaired was *added* or *removed*.
4. A matched sentence (unchanged or changed) is *moved* when it is outside the longest run of
   pairs that keeps both orders: the fewest sentences that explain the new order.
5. Inside a changed sentence, words (as written, split on spaces) are compared on their
   normalised form, and each difference is a ``replace``, ``insert`` or ``delete`` of a run of
   words, with its word positions.

A sentence split into two keeps its pair with the closer half and the other half is added;
two merged into one, the other is removed. Sentences are cut by the rules the facts use
(``monitor.match.facts.sentences``, English and French): abbreviations, initials and decimal
numbers do not end a sentence; one splitter, so a diff and a fact agree on what a sentence is.
"""

from __future__ import annotations

import difflib
from collections import defaultdict, deque
from dataclasses import dataclass, field
from functools import cached_property

from monitor.match.facts import sentences
from monitor.text import normalised, words

# Pair two unmatched sentences as one changed sentence from this Dice coefficient of their
# word sets: a sentence that kept half its words is the same sentence rewritten.
SIMILAR = 0.5


@dataclass(frozen=True)
class Sentence:
    """One sentence: its text as written, its paragraph (0-based) and its normalised key."""

    text: str
    paragraph: int
    key: str

    @cached_property
    def words(self) -> frozenset[str]:
        return frozenset(self.key.split())


def split(text: str) -> list[Sentence]:
    """The sentences of ``text``, paragraph by paragraph (paragraphs are separated by blank
    lines, as the extraction writes them)."""
    out: list[Sentence] = []
    paragraphs = [p for p in (" ".join(p.split()) for p in text.split("\n\n")) if p]
    for number, paragraph in enumerate(paragraphs):
        for piece in sentences.split(paragraph):
            out.append(Sentence(piece, number, normalised(piece)))
    return out


@dataclass(frozen=True)
class Edit:
    """A run of words replaced, inserted or deleted inside a changed sentence, with the
    positions of its first word in the old and new sentence (words split on spaces)."""

    op: str  # replace | insert | delete
    old: str
    new: str
    old_at: int
    new_at: int


@dataclass
class Alignment:
    """What became of every sentence: ``same`` and ``changed`` pairs of (old, new) indices,
    ``added`` new indices, ``removed`` old indices, ``moved`` pairs out of order, and the word
    edits of each changed pair."""

    old: list[Sentence]
    new: list[Sentence]
    same: list[tuple[int, int]] = field(default_factory=list)
    changed: list[tuple[int, int]] = field(default_factory=list)
    added: list[int] = field(default_factory=list)
    removed: list[int] = field(default_factory=list)
    moved: list[tuple[int, int]] = field(default_factory=list)
    edits: dict[tuple[int, int], list[Edit]] = field(default_factory=dict)


def align(old_text: str, new_text: str) -> Alignment:
    """The sentence alignment of two versions of a text (see the module docstring)."""
    result = Alignment(split(old_text), split(new_text))
    old, new = result.old, result.new
    free_old, free_new = set(range(len(old))), set(range(len(new)))
    matcher = difflib.SequenceMatcher(
        a=[s.key for s in old], b=[s.key for s in new], autojunk=False
    )
    for block in matcher.get_matching_blocks():
        for k in range(block.size):
            result.same.append((block.a + k, block.b + k))
    _take(result.same, free_old, free_new)
    waiting: dict[str, deque[int]] = defaultdict(deque)
    for j in sorted(free_new):
        waiting[new[j].key].append(j)
    for i in sorted(free_old):
        if waiting[old[i].key]:
            result.same.append((i, waiting[old[i].key].popleft()))
    _take(result.same, free_old, free_new)
    result.changed = _similar(old, new, free_old, free_new)
    _take(result.changed, free_old, free_new)
    result.same.sort()
    result.changed.sort()
    result.added, result.removed = sorted(free_new), sorted(free_old)
    result.moved = _moved(result.same + result.changed)
    result.edits = {(i, j): word_edits(old[i].text, new[j].text) for i, j in result.changed}
    return result


def _take(pairs: list[tuple[int, int]], free_old: set[int], free_new: set[int]) -> None:
    for i, j in pairs:
        free_old.discard(i)
        free_new.discard(j)


def _similar(
    old: list[Sentence], new: list[Sentence], free_old: set[int], free_new: set[int]
) -> list[tuple[int, int]]:
    """Unmatched sentences paired as changed: the most similar pairs first."""
    scored = []
    for i in free_old:
        a = old[i].words
        for j in free_new:
            b = new[j].words
            if not a or not b:
                continue
            dice = 2 * len(a & b) / (len(a) + len(b))
            if dice >= SIMILAR:
                scored.append((-dice, abs(i / max(len(old), 1) - j / max(len(new), 1)), i, j))
    pairs, used_old, used_new = [], set(), set()
    for _, _, i, j in sorted(scored):
        if i not in used_old and j not in used_new:
            pairs.append((i, j))
            used_old.add(i)
            used_new.add(j)
    return pairs


def _moved(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The pairs outside a longest sequence increasing in both old and new order."""
    ordered = sorted(pairs)
    tails: list[int] = []  # tails[k]: index in ordered of the smallest tail of a run of k+1
    back: list[int] = [-1] * len(ordered)
    for n, (_, j) in enumerate(ordered):
        lo, hi = 0, len(tails)
        while lo < hi:
            mid = (lo + hi) // 2
            if ordered[tails[mid]][1] < j:
                lo = mid + 1
            else:
                hi = mid
        back[n] = tails[lo - 1] if lo else -1
        if lo == len(tails):
            tails.append(n)
        else:
            tails[lo] = n
    kept = set()
    n = tails[-1] if tails else -1
    while n >= 0:
        kept.add(n)
        n = back[n]
    return [p for n, p in enumerate(ordered) if n not in kept]


def word_edits(old: str, new: str) -> list[Edit]:
    """The runs of words that differ between two sentences, compared on their normalised
    form; a difference of punctuation alone is none."""
    a, b = old.split(), new.split()
    matcher = difflib.SequenceMatcher(
        a=[" ".join(words(t)) for t in a], b=[" ".join(words(t)) for t in b], autojunk=False
    )
    edits = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            continue
        before, after = " ".join(a[i1:i2]), " ".join(b[j1:j2])
        if normalised(before) == normalised(after):
            continue  # punctuation only
        edits.append(Edit(op, before, after, i1, j1))
    return edits
