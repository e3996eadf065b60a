"""What kind of change a new version is, each kind with the evidence that decided it. Pure.

``change_kinds`` reads the sentence alignment of two versions (monitor.publish.align), their
titles, bylines and the page's own notices (monitor.extract.notices), and returns, in this
order, those that apply:

- ``headline``: the title changed (normalised): ``{"old", "new"}``;
- ``correction``: inside a changed sentence, a number, a date or a name was replaced by
  another (``replaced``: each ``{"old", "new", "type", "sentence"}``), or the page shows a
  correction notice it did not show before (``notices``, quoted);
- ``update``: sentences added (a new notice's own sentences aside): ``{"sentences",
  "paragraphs", "text"}`` (the count of added sentences, of wholly new paragraphs, and the first
  ``QUOTED`` added sentences) and the page's new update notices, if any (``notices``);
- ``removal``: sentences taken out: ``quotes`` (quotations gone from the text, whole removed
  sentences or parts of changed ones), ``paragraphs`` (paragraphs removed whole) and
  ``sentences`` (the other removed sentences), each quoted;
- ``edit``: sentences reworded without any of the above (``sentences``) or moved
  (``moved``): counts, the sentences are in the diff;
- ``byline``: the authors changed (both known): ``{"old", "new"}``;
- ``return``: the text and title are those of an earlier version: ``{"version"}``;
- ``silent``: the page shows no correction or update notice that it did not show before:
  ``{"notices"}`` (what it does show, as quoted: notices seen before, and its "Updated 10:32"
  time stamp, which many pages move on every save and so announces no change in particular)
  and ``{"updated_at"}`` (the page's dateModified before and after: not shown to readers, so
  not an announcement either, but evidence).

Deciding "correction" from a replaced number is a guess a reader can check: the story's figures
also change when events move on (a toll rising). The evidence names the tokens so that the
reader can tell.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.extract.notices import CORRECTION, TIMESTAMP, UPDATE, Notice, classify
from monitor.publish.align import Alignment, Edit, Sentence
from monitor.text import STOPWORDS, fold, normalised


def _wordset(text: str) -> frozenset[str]:
    """A set of words written as one string, separated by spaces."""
    return frozenset(text.split())


# The first added sentences quoted in an update's evidence (all are in the diff).
QUOTED = 5

_NUMBER_WORDS = _wordset(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty "
    "ninety hundred thousand million billion trillion dozen dozens half quarter third "
    "un une deux trois quatre cinq six sept huit neuf dix onze douze treize quatorze quinze "
    "seize vingt trente quarante cinquante soixante cent cents mille million millions milliard "
    "milliards douzaine moitie quart tiers"
)
_DATE_WORDS = _wordset(
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec monday tuesday wednesday thursday friday "
    "saturday sunday yesterday today tomorrow tonight janvier fevrier mars avril mai juin "
    "juillet aout septembre octobre novembre decembre lundi mardi mercredi jeudi vendredi "
    "samedi dimanche hier aujourd demain"
)
# 2023-03-24, 24/03/2023, 24.03.2023, 3/24, 10:32, 10h32; not a decimal ("1.5") or a score.
_DATE_FORM = re.compile(r"\d{4}-\d\d?-\d\d?|\d\d?[/.]\d\d?[/.]\d{2,4}|\d\d?/\d\d?|\d\d?[:h]\d\d")
_QUOTE = re.compile(r"“([^”]+)”|\"([^\"]+)\"|«\s*([^»]+?)\s*»")


@dataclass(frozen=True)
class Snapshot:
    """One version as the kinds see it: title, text, byline, notices, dateModified."""

    title: str | None
    text: str
    authors: tuple[str, ...] = ()
    notices: tuple[Notice, ...] = ()
    updated_at: datetime | None = None


def change_kinds(
    old: Snapshot, new: Snapshot, alignment: Alignment, *, returns_to: int | None = None
) -> list[dict[str, Any]]:
    """The kinds of the change from ``old`` to ``new``, each ``{"kind", "evidence"}``."""
    fresh = [n for n in fresh_notices(old, new) if n.kind != TIMESTAMP]
    found: list[tuple[str, dict[str, Any] | None]] = [
        ("headline", _headline(old, new)),
        ("correction", _correction(alignment, fresh)),
        ("update", _update(alignment, fresh)),
        ("removal", _removal(alignment, new.text)),
        ("edit", _edit(alignment)),
        ("byline", _byline(old, new)),
        ("return", {"version": returns_to} if returns_to is not None else None),
        ("silent", None if fresh else _silent(old, new)),
    ]
    return [{"kind": kind, "evidence": evidence} for kind, evidence in found if evidence]


def fresh_notices(old: Snapshot, new: Snapshot) -> list[Notice]:
    """The notices ``new`` shows that ``old`` did not: on the page (the HTML) or as a
    paragraph of the text (trafilatura may keep a notice in the text, or drop it). A time
    stamp that moved is one of them; it announces nothing (see ``TIMESTAMP``)."""
    seen = {normalised(n.text) for n in old.notices} | {normalised(p) for p in _notes(old.text)}
    old_text = normalised(old.text)
    found: list[Notice] = []
    candidates = [*new.notices, *(Notice(k, p) for p, k in _notes(new.text).items())]
    for notice in candidates:
        key = normalised(notice.text)
        if not key or key in seen or key in old_text:
            continue
        if any(key in normalised(f.text) or normalised(f.text) in key for f in found):
            continue  # the same notice, in the HTML and in the text
        found.append(notice)
    return found


def _notes(text: str) -> dict[str, str]:
    """The paragraphs of ``text`` that are notices, with their kind."""
    out = {}
    for paragraph in text.split("\n\n"):
        kind = classify(paragraph)
        if kind is not None:
            out[" ".join(paragraph.split())] = kind
    return out


def _headline(old: Snapshot, new: Snapshot) -> dict[str, Any] | None:
    if normalised(old.title or "") == normalised(new.title or ""):
        return None
    return {"old": old.title, "new": new.title}


def _correction(alignment: Alignment, fresh: list[Notice]) -> dict[str, Any] | None:
    replaced = [
        {"old": edit.old, "new": edit.new, "type": kind, "sentence": alignment.new[j].text}
        for (_, j), edit, kind in _typed_replacements(alignment)
    ]
    notices = [n.text for n in fresh if n.kind == CORRECTION]
    if not replaced and not notices:
        return None
    return {"replaced": replaced, "notices": notices}


def _typed_replacements(alignment: Alignment) -> list[tuple[tuple[int, int], Edit, str]]:
    """Every word edit of a changed sentence that replaced a date, a number or a name by
    another, with its pair and the type."""
    out = []
    for pair in alignment.changed:
        for edit in alignment.edits.get(pair, []):
            if edit.op != "replace":
                continue
            kind = _shared_type(_types(edit.old, edit.old_at), _types(edit.new, edit.new_at))
            if kind is not None:
                out.append((pair, edit, kind))
    return out


def _shared_type(a: set[str], b: set[str]) -> str | None:
    for kind in ("date", "number", "name"):
        if kind in a and kind in b:
            return kind
    return None


def _types(span: str, at: int) -> set[str]:
    """What the words of ``span`` (starting at word ``at`` of its sentence) name: a date, a
    number, a name (a capitalised word that is not a sentence's capitalised first word)."""
    found = set()
    for k, token in enumerate(span.split()):
        bare = token.strip('"“”‘’«»()[],.;:!?')
        word = fold(bare)
        if word in _DATE_WORDS or _DATE_FORM.fullmatch(bare):
            found.add("date")
        elif any(c.isdigit() for c in bare) or word in _NUMBER_WORDS:
            found.add("number")
        elif bare[:1].isupper() and (at + k > 0 or word not in STOPWORDS):
            found.add("name")
    return found


def _update(alignment: Alignment, fresh: list[Notice]) -> dict[str, Any] | None:
    notice_keys = [normalised(n.text) for n in fresh]
    notes = _note_paragraphs(alignment.new)
    added = [
        s
        for s in (alignment.new[j] for j in alignment.added)
        if s.paragraph not in notes and not (s.key and any(s.key in k for k in notice_keys))
    ]
    if not added:
        return None
    evidence: dict[str, Any] = {
        "sentences": len(added),
        "paragraphs": len(_whole_paragraphs(alignment.new, {s.paragraph for s in added}, added)),
        "text": [s.text for s in added[:QUOTED]],
    }
    updates = [n.text for n in fresh if n.kind == UPDATE]
    if updates:
        evidence["notices"] = updates
    return evidence


def _note_paragraphs(sentences: list[Sentence]) -> set[int]:
    """The paragraphs that are notices ("Correction: ..."), by number."""
    paragraphs: dict[int, list[str]] = {}
    for s in sentences:
        paragraphs.setdefault(s.paragraph, []).append(s.text)
    return {p for p, texts in paragraphs.items() if classify(" ".join(texts)) is not None}


def _whole_paragraphs(
    sentences: list[Sentence], paragraphs: set[int], taken: list[Sentence]
) -> list[int]:
    """Those of ``paragraphs`` every sentence of which is among ``taken``."""
    taken_ids = {id(s) for s in taken}
    return sorted(
        p for p in paragraphs if all(id(s) in taken_ids for s in sentences if s.paragraph == p)
    )


def _removal(alignment: Alignment, new_text: str) -> dict[str, Any] | None:
    kept = normalised(new_text)
    removed = [alignment.old[i] for i in alignment.removed]
    whole = _whole_paragraphs(alignment.old, {s.paragraph for s in removed}, removed)
    quotes = [q for s in removed for q in _quotes(s.text) if normalised(q) not in kept]
    quotes += [
        q
        for i, j in alignment.changed
        for q in _quotes(alignment.old[i].text)
        if _cut(q, alignment.new[j].words) and normalised(q) not in kept
    ]
    if not removed and not quotes:
        return None
    paragraphs = [" ".join(s.text for s in alignment.old if s.paragraph == p) for p in whole]
    return {
        "quotes": quotes,
        "paragraphs": paragraphs,
        "sentences": [s.text for s in removed if s.paragraph not in whole],
    }


def _cut(quote: str, kept: frozenset[str]) -> bool:
    """Whether a quotation of a changed sentence was cut from it: most of its words are gone
    (one with a figure corrected or a word added inside is still there)."""
    words = set(normalised(quote).split())
    return len(words & kept) < len(words) / 2


def _quotes(sentence: str) -> list[str]:
    """The quotations of two words or more in ``sentence``."""
    found = (next(g for g in m.groups() if g is not None) for m in _QUOTE.finditer(sentence))
    return [q.strip() for q in found if len(q.split()) >= 2]


def _edit(alignment: Alignment) -> dict[str, Any] | None:
    corrected = {pair for pair, _, _ in _typed_replacements(alignment)}
    reworded = len(alignment.changed) - len(corrected)
    if not reworded and not alignment.moved:
        return None
    return {"sentences": reworded, "moved": len(alignment.moved)}


def byline_changed(old: Snapshot, new: Snapshot) -> bool:
    """Whether the byline changed, both known (see ``_byline``)."""
    return _byline(old, new) is not None


def _byline(old: Snapshot, new: Snapshot) -> dict[str, Any] | None:
    before = {normalised(a) for a in old.authors}
    after = {normalised(a) for a in new.authors}
    # A byline that appears or vanishes says little: extraction finds none on some fetches.
    if not before or not after or before == after:
        return None
    return {"old": list(old.authors), "new": list(new.authors)}


def _silent(old: Snapshot, new: Snapshot) -> dict[str, Any]:
    return {
        "notices": [n.text for n in new.notices],
        "updated_at": {
            "old": old.updated_at.isoformat() if old.updated_at else None,
            "new": new.updated_at.isoformat() if new.updated_at else None,
        },
    }
