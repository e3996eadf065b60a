"""A story's facts: its members' sentences grouped by what they state, each fact with the article
that carried it first and those that carried it later. Pure: readings in, JSON-ready data out.

1. Each member's newest text is split into sentences (``sentences``); datelines go, and only
   sentences with substance stay (``substance``). A text or a sentence met twice is read once.
2. Sentences with the same normalised words are one *wording*, with every article carrying it.
3. Wordings are taken in the order of their first carrier's time. Each joins the fact of the
   earlier wording it matches best (``pairs.score`` at ``threshold``), or starts a new fact: a
   fact's first wording is its first report, and a wording never joins two facts, so chains of
   small edits cannot merge different facts into one.
4. Blocking: a wording is scored only against earlier wordings with which it shares two of its
   ``BLOCK_TERMS`` rarest content terms (rarest: held by the fewest wordings of the story), an
   inverted index on term pairs. One shared term is not enough: every sentence of a story
   shares its names, and exact prefix filtering at ``MIN_TERM_JACCARD`` (All-Pairs) scored 30
   to 40 times more pairs and grew with the square of the story. Against comparing every pair,
   this keeps 99% of the joins (benchmarks/storyfile_facts.py). A fact puts at most
   ``INDEXED_PER_FACT`` of its wordings in the index (the wire sentence reprinted with a
   hundred small edits need not be compared a hundred times), and a key's list is read to at
   most its ``MAX_POSTING`` latest wordings.

A carrier's time is its publication time, else when it was first seen. A publication known
only by its day ranks at the end of that day, or when it was first seen if that is earlier: it
cannot claim to have come before a same-day report whose time is known.
"""

from __future__ import annotations

import contextlib
import gc
import hashlib
import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from monitor import text as textmod
from monitor.match.facts import pairs, sentences, substance
from monitor.match.story import as_utc

# Facts carried by fewer articles are left out of the story file: one article's sentence has
# no later carrier to trace.
MIN_CARRIERS = 2
# Blocking (see the docstring): keys are pairs of a wording's BLOCK_TERMS rarest terms (4:
# 89.3% of the joins comparing every pair makes, 6: 97.0%, 8: 99.0%, on the 300-article
# synthetic story of benchmarks/storyfile_facts.py).
BLOCK_TERMS = 8
INDEXED_PER_FACT = 8
MAX_POSTING = 500


class Reading(Protocol):
    """What facts need of one member of the story: who carried its text, when, and the text
    (its newest version)."""

    @property
    def outlet(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def published_at(self) -> datetime | None: ...
    @property
    def published_precision(self) -> str | None: ...
    @property
    def first_seen_at(self) -> datetime: ...
    @property
    def text(self) -> str: ...


@dataclass
class _Wording:
    text: str
    tokens: list[str]
    kinds: tuple[str, ...]
    carriers: list[tuple[int, int]]  # (member, sentence position), earliest first
    sentence: pairs.Sentence | None = None
    fact: int = -1
    similarity: float = 1.0  # the score with which it joined its fact (1.0: its first)


@dataclass
class Stats:
    """What one computation did, for benchmarks and logs."""

    sentences: int = 0
    wordings: int = 0
    compared: int = 0
    truncated_lists: int = 0
    facts: list[list[int]] = field(default_factory=list)  # wordings of each fact, first first


def rank_time(member: Reading) -> datetime:
    """When ``member`` counts as having carried its text (see the module docstring)."""
    seen = as_utc(member.first_seen_at)
    if member.published_at is None:
        return seen
    published = as_utc(member.published_at)
    if member.published_precision == "day":
        return max(published, min(published + timedelta(days=1), seen))
    return published


def story_facts(
    members: Sequence[Reading],
    *,
    threshold: float = pairs.THRESHOLD,
    min_carriers: int = MIN_CARRIERS,
    stats: Stats | None = None,
    blocking: bool = True,
) -> list[dict[str, Any]]:
    """The facts of a story whose members are ``members``: those carried by at least
    ``min_carriers`` articles, in the order of their first report (docs/story-file.md, "Fact").
    ``blocking=False`` compares every pair of wordings instead: what blocking is checked
    against, at a cost that grows with the square of the story."""
    with _collector_paused():
        return _story_facts(members, threshold, min_carriers, stats or Stats(), blocking)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the duration. The computation makes a few
    hundred thousand small containers that live to its end and form no cycle, which the
    collector would otherwise walk again and again: a third of the time at 5,000 articles."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _story_facts(
    members: Sequence[Reading], threshold: float, min_carriers: int, stats: Stats, blocking: bool
) -> list[dict[str, Any]]:
    order = sorted(range(len(members)), key=lambda i: (rank_time(members[i]), members[i].url))
    times = [rank_time(members[i]) for i in order]
    ranked = [members[i] for i in order]
    wordings = _wordings(ranked, stats)
    _group(wordings, threshold, stats, blocking)
    out = []
    for fact in stats.facts:
        entry = _fact(ranked, times, [wordings[w] for w in fact], min_carriers)
        if entry is not None:
            out.append(entry)
    return out


_Read = tuple[str, str, list[str], tuple[str, ...]]  # key, sentence, its tokens, substance


def _read(text: str, seen: dict[str, _Read | None]) -> list[_Read]:
    """The fact sentences of ``text``; ``seen`` keeps each sentence's reading (None: not a
    fact) for the next text that carries it."""
    out = []
    for raw in sentences.split(text):
        if raw in seen:
            found = seen[raw]
        else:
            sentence = substance.without_dateline(raw)
            folded = textmod.fold(sentence)
            tokens = pairs.tokens(folded)
            kinds = substance.substance(sentence, folded, set(tokens))
            found = seen[raw] = (" ".join(tokens), sentence, tokens, kinds) if kinds else None
        if found is not None:
            out.append(found)
    return out


def _wordings(members: Sequence[Reading], stats: Stats) -> list[_Wording]:
    """Every distinct wording of the members' sentences, in the order of its first carrier."""
    texts: dict[str, list[_Read]] = {}
    seen: dict[str, _Read | None] = {}
    by_key: dict[str, _Wording] = {}
    for m, member in enumerate(members):
        found = texts.get(member.text)
        if found is None:
            found = texts[member.text] = _read(member.text, seen)
        stats.sentences += len(found)
        for position, (key, sentence, tokens, kinds) in enumerate(found):
            wording = by_key.get(key)
            if wording is None:
                by_key[key] = _Wording(sentence, tokens, kinds, [(m, position)])
            elif wording.carriers[-1][0] != m:  # twice in one article: carried once
                wording.carriers.append((m, position))
    stats.wordings = len(by_key)
    return list(by_key.values())  # dicts keep insertion order: first carrier's order


def _group(wordings: list[_Wording], threshold: float, stats: Stats, blocking: bool) -> None:
    """Each wording into the fact of the earlier wording it matches best, or a new fact."""
    read = [pairs.read_tokens(w.tokens) for w in wordings]
    rank = _rarity(read)
    postings: dict[int, list[int]] = {}
    indexed: list[int] = []  # wordings of each fact in the index
    for i, sentence in enumerate(read):
        keys = _keys(sentence.terms, rank)
        best, best_score = _best(
            sentence,
            read,
            _candidates(keys, postings, stats) if blocking else range(i),
            threshold,
            stats,
        )
        w = wordings[i]
        w.sentence = sentence
        if best < 0:
            w.fact = len(stats.facts)
            stats.facts.append([i])
            indexed.append(0)
        else:
            w.fact, w.similarity = wordings[best].fact, best_score
            stats.facts[w.fact].append(i)
        if indexed[w.fact] < INDEXED_PER_FACT:
            indexed[w.fact] += 1
            for key in keys:
                postings.setdefault(key, []).append(i)


def _best(
    sentence: pairs.Sentence,
    read: Sequence[pairs.Sentence],
    candidates: Iterable[int],
    threshold: float,
    stats: Stats,
) -> tuple[int, float]:
    """The candidate ``sentence`` matches best at ``threshold`` or above (the oldest of equals)
    and its score; (-1, threshold) when none does."""
    best, best_score = -1, threshold
    terms, n = sentence.terms, len(sentence.terms)
    for c in candidates:
        stats.compared += 1
        other = read[c]
        shared = len(terms & other.terms)
        # pairs.score's own bound, checked here first: most candidates stop at it.
        if shared < pairs.MIN_TERM_JACCARD * (n + len(other.terms) - shared):
            continue
        s = pairs.score(sentence, other)
        if s > best_score or (s == best_score and best < 0):
            best, best_score = c, s
    return best, best_score


def _rarity(read: Sequence[pairs.Sentence]) -> dict[str, int]:
    """Each term's rank, rarest first: by how many wordings hold it, then alphabetically."""
    df: dict[str, int] = {}
    for r in read:
        for t in r.terms:
            df[t] = df.get(t, 0) + 1
    return {t: i for i, t in enumerate(sorted(df, key=lambda t: (df[t], t)))}


def _keys(terms: frozenset[str], rank: dict[str, int]) -> list[int]:
    """The blocking keys of a wording: each pair of its ``BLOCK_TERMS`` rarest terms (its one
    term, when it has one), as the two ranks in one integer."""
    rarest = sorted(map(rank.__getitem__, terms))[:BLOCK_TERMS]
    if len(rarest) < 2:
        return rarest
    return [a << 32 | b for a, b in itertools.combinations(rarest, 2)]


def _candidates(keys: list[int], postings: dict[int, list[int]], stats: Stats) -> list[int]:
    """The earlier wordings sharing a key, oldest first (ties go to the oldest)."""
    found: set[int] = set()
    for key in keys:
        posting = postings.get(key)
        if posting:
            if len(posting) > MAX_POSTING:
                stats.truncated_lists += 1
                posting = posting[-MAX_POSTING:]
            found.update(posting)
    return sorted(found)


def _carrier(member: Reading) -> dict[str, Any]:
    known = member.published_at is not None
    basis = "first_seen" if not known else "published"
    if known and member.published_precision == "day":
        basis = "published_day"
    at = member.published_at if member.published_at is not None else member.first_seen_at
    return {
        "outlet": member.outlet,
        "url": member.url,
        "at": as_utc(at).isoformat(),
        "time_basis": basis,
    }


def _fact(
    members: Sequence[Reading],
    times: Sequence[datetime],
    wordings: Sequence[_Wording],
    min_carriers: int,
) -> dict[str, Any] | None:
    """One fact as the story file shows it, or None when too few articles carry it."""
    carried: dict[int, tuple[int, _Wording]] = {}
    for w in wordings:
        for m, position in w.carriers:
            if m not in carried or position < carried[m][0]:
                carried[m] = (position, w)
    if len(carried) < min_carriers:
        return None
    order = sorted(carried)  # members are in time order
    first = wordings[0]
    assert first.sentence is not None
    later = []
    for m in order[1:]:
        w = carried[m][1]
        entry = _carrier(members[m])
        entry["lag_seconds"] = int((times[m] - times[order[0]]).total_seconds())
        if w is not first:
            assert w.sentence is not None
            entry["sentence"] = w.text
            entry["similarity"] = round(w.similarity, 4)
            entry["figures_differ"] = w.sentence.numbers != first.sentence.numbers
        later.append(entry)
    return {
        "id": hashlib.sha256(textmod.normalised(first.text).encode()).hexdigest()[:12],
        "text": first.text,
        "substance": list(first.kinds),
        "articles": len(carried),
        "outlets": len({members[m].outlet for m in carried}),
        "first": _carrier(members[order[0]]),
        "later": later,
    }
