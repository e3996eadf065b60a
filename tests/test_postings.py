"""The members' vectors kept up to date (monitor.match.postings, through match.terms.TermStats)
hold what a rebuild from scratch holds, bit for bit, and score what story.weights and
story.cosine score, on real BASIL texts."""

from __future__ import annotations

import json
import math
from collections import Counter

import pytest

from monitor.match import postings, story
from monitor.match.story import TermChange
from monitor.match.terms import TermStats
from tests.conftest import SHARED_DATA

BASIL = SHARED_DATA / "dedup_story" / "basil" / "basil_articles.jsonl"


def _texts(n: int) -> list[tuple[str | None, str]]:
    rows = [json.loads(line) for line in BASIL.read_text(encoding="utf-8").splitlines()[:n]]
    return [(r.get("title"), r["text"]) for r in rows]


def _state(stats: TermStats, article: tuple[str | None, str]) -> tuple[dict, dict]:
    """Every member's norm, and every member's cosine with ``article``."""
    vectors = stats.member_vectors()
    norms = {a: vectors[a][1] for a in vectors}
    return norms, vectors.cosines(stats.article_vector(*article))


def _database_like(members: dict[int, tuple[str | None, str]], df: Counter, docs: int) -> TermStats:
    """A process that has just started: frequencies read from the database (``df``, over
    ``docs``), members added in ``members``' order."""
    fresh = TermStats()
    fresh.use_background(docs)
    for article_id, (title, text) in members.items():
        fresh.set_member(article_id, story.story_terms(title, text))
    asked = fresh.terms_to_look_up(None, None)
    fresh.provide_df(asked, {t: df[t] for t in asked if df[t]})
    return fresh


def test_vectors_kept_up_to_date_equal_a_rebuild_after_each_article_and_a_restart():
    """Members join one at a time while articles are counted (new ones and new versions) and
    one member changes its text: after every step the running statistics' member norms and
    cosines equal, to the bit, those of statistics that start afresh from the database's
    frequencies with the members read back in another order (a restarted process), so no
    cache goes stale and a restart decides as a long-running process."""
    texts = _texts(40)
    article = texts[-1]
    running = TermStats()
    running.use_background(0)
    df: Counter[str] = Counter()  # the database's term_df
    docs = 0
    members: dict[int, tuple[str | None, str]] = {}
    for n, (title, text) in enumerate(texts[:-1]):
        previous = texts[n - 1][1] if n % 7 == 6 else None  # every seventh: a new version
        change = TermChange.between(previous, text)
        df.update(change.added)
        df.subtract(change.removed)
        docs += change.new_doc
        running.update(change)
        if n % 2 == 0:
            members[n] = (title, text)
            running.set_member(n, story.story_terms(title, text))
        if n == 20:  # a member's new version: its terms replaced
            members[0] = (title, text + " Update: the vote was postponed.")
            running.set_member(0, story.story_terms(*members[0]))
        asked = running.terms_to_look_up(*article)
        running.provide_df(asked, {t: df[t] for t in asked if df[t]})
        restarted = _database_like(dict(reversed(members.items())), df, docs)
        asked = restarted.terms_to_look_up(*article)
        restarted.provide_df(asked, {t: df[t] for t in asked if df[t]})
        assert _state(running, article) == _state(restarted, article), f"after article {n}"


def test_cosines_equal_story_weights_and_cosine_up_to_rounding():
    """The norms from three sums and the dot products from the postings are the TF-IDF cosine
    story.weights and story.cosine compute, to a relative 1e-12, for every member."""
    texts = _texts(30)
    stats = TermStats()
    for _, text in texts:
        stats.add_background(text)
    counts = {n: story.story_terms(*t) for n, t in enumerate(texts[:-1])}
    for n, c in counts.items():
        stats.set_member(n, c)
    article = stats.article_vector(*texts[-1])
    vectors = stats.member_vectors()
    cosines = vectors.cosines(article)
    for n, c in counts.items():
        weighted = story.weights(c, stats.df, stats.docs)
        norm = story.norm(weighted)
        assert vectors[n][1] == pytest.approx(norm, rel=1e-12)
        assert cosines[n] == pytest.approx(story.cosine(*article, weighted, norm), rel=1e-12)
        assert not math.isnan(cosines[n])


def test_frequencies_moved_in_small_chunks_give_the_same_bits(monkeypatch):
    """Providing every member's frequencies a few postings at a time (``_CHUNK``, which bounds
    the arrays a first decision makes) gives the norms and cosines of one pass, to the bit."""
    texts = _texts(25)
    members = {n: texts[n] for n in range(0, 24, 2)}
    df = Counter(t for _, text in texts for t in story.document_terms(text))

    def state() -> tuple[dict, dict]:
        stats = _database_like(members, df, len(texts))
        asked = stats.terms_to_look_up(*texts[-1])
        stats.provide_df(asked, {t: df[t] for t in asked if df[t]})
        return _state(stats, texts[-1])

    whole = state()
    monkeypatch.setattr(postings, "_CHUNK", 7)
    assert state() == whole


def test_a_members_terms_read_back_as_given():
    """A member's terms, kept as term ids and counts, read back as the dict it was given: the
    same terms, values and order (its weighted vector sums in that order)."""
    stats = TermStats()
    given = {n: story.story_terms(*t) for n, t in enumerate(_texts(6))}
    for n, terms in given.items():
        stats.set_member(n, terms)
    for n, terms in given.items():
        back = stats._postings.counts(n)
        assert list(back.items()) == list(terms.items())
