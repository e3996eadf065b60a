"""Matching (monitor.match), pure, on real text: the Roxham Road seed articles in
../shared/seeds, BASIL (one event reported by NYT, Fox News and HuffPost) and ECB+ wire pairs."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import re
import subprocess
import sys
import unicodedata
import zlib
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from functools import cache

import numpy as np
import pytest
from datasketch import MinHash, MinHashLSH

from monitor import text as textmod
from monitor.match import (
    Decision,
    Known,
    MatchSettings,
    StoryIndex,
    fingerprint,
    lsh_bands,
    lsh_params,
    minhash_from_bytes,
    minhash_of,
    shingle_hashes,
)
from monitor.match import copies as match_module
from monitor.match import story as match_story
from tests.conftest import REPO, SHARED_DATA

SEEDS = REPO.parent / "shared" / "seeds"
BASIL = SHARED_DATA / "dedup_story" / "basil" / "basil_articles.jsonl"
ECBPLUS = SHARED_DATA / "dedup_story" / "ecbplus_gvc" / "ecbplus_docs.jsonl"
PAIRS = SHARED_DATA / "dedup_story" / "observed_near_duplicate_pairs.tsv"

# BASIL events (story_id): one to be the story, one unrelated to it.
STORY_EVENT = "06ffda2d-1caf-45ba-99e2-268aac1bf0e1"  # Blake Farenthold resigns from Congress
OTHER_EVENT = "2b9468af-4ab0-4f25-85f4-c3ef93d72006"  # Netanyahu to address Congress

SETTINGS = MatchSettings()
BBC_URL = "https://example.org/bbc-relay/us-canada-deal"
CBC_URL = "https://example.org/cbc/roxham-deal"


# -- real texts ----------------------------------------------------------------------------------


def _seed_text(name: str) -> str:
    raw = (SEEDS / name).read_text(encoding="utf-8")
    # The BBC relay file starts with a " date YYYY-MM-DD " marker that is not article text.
    return re.sub(r"^\s*date \d{4}-\d{2}-\d{2}\s+", "", raw).strip()


@cache
def bbc() -> str:
    return _seed_text("000_cf92b35f8e2aca57.txt")


@cache
def cbc() -> str:
    return _seed_text("003_c793181e4958acd0.txt")


def _paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.split("\n\n") if p.strip()]


@cache
def basil() -> dict[str, dict[str, dict]]:
    """BASIL articles by event (story_id) and outlet (nyt, fox, hpo)."""
    events: dict[str, dict[str, dict]] = defaultdict(dict)
    with BASIL.open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            events[row["story_id"]][row["source"].lower()] = row
    return dict(events)


# -- indexes -------------------------------------------------------------------------------------


def _background(index: StoryIndex) -> None:
    """Term statistics from a realistic archive: every BASIL article and both seeds."""
    for event in basil().values():
        for row in event.values():
            index.add_background(row["text"])
    index.add_background(bbc())
    index.add_background(cbc())


def roxham_index() -> StoryIndex:
    """The Roxham Road story: the BBC relay (id 1) and the CBC report (id 2) as originals."""
    index = StoryIndex(SETTINGS, keywords=["Roxham", "Safe Third Country Agreement"])
    _background(index)
    index.add(Known(1, BBC_URL, "seed", None, None, [bbc()], "US and Canada reach deal"))
    index.add(Known(2, CBC_URL, "seed", None, None, [cbc()], "Ottawa to close Roxham Road"))
    return index


def basil_index() -> StoryIndex:
    """A story defined by the NYT's report of STORY_EVENT (id 1)."""
    nyt = basil()[STORY_EVENT]["nyt"]
    index = StoryIndex(SETTINGS)
    _background(index)
    index.add(Known(1, nyt["url"], "seed", None, None, [nyt["text"]], nyt["title"]))
    return index


def decide(
    index: StoryIndex, text: str, title: str | None = None, published_at: datetime | None = None
) -> Decision:
    return index.decide(title, text, fingerprint(text, SETTINGS), published_at=published_at)


def _edited(text: str) -> str:
    """The BBC relay with a few sentences reworded, as a republisher's sub-editor would."""
    edits = [
        ("officials say.", "officials said on Thursday."),
        ("reports the BBC.", "the BBC reported."),
        ("is scheduled to be announced", "is due to be made public"),
        ("The proposal has met backlash", "Rights groups have criticised the proposal"),
    ]
    for old, new in edits:
        assert old in text
        text = text.replace(old, new)
    return text


def _extended(text: str) -> str:
    """``text`` plus two paragraphs of the republisher's own (from the CBC report)."""
    return "\n\n".join([*_paragraphs(text), *_paragraphs(cbc())[5:7]])


# -- copies --------------------------------------------------------------------------------------


def test_same_text_with_other_case_and_spacing_is_an_exact_duplicate():
    """The seed text upper-cased and re-spaced is an ``exact`` match of the seed."""
    variant = "  " + re.sub(r"\s+", "   \n ", bbc().upper()) + "\n"
    decision = decide(roxham_index(), variant)
    assert decision.kind == "exact"
    assert (decision.matched_id, decision.matched_url) == (1, BBC_URL)
    assert decision.similarity == 1.0
    assert decision.relation == "copy"


def test_verbatim_copy_under_another_headline_is_a_copy_of_the_known_article():
    """The same body under a different headline is a duplicate of the known article."""
    decision = decide(roxham_index(), bbc(), title="Deal to shut Roxham Road: what we know")
    assert decision.kind in ("exact", "copy")
    assert decision.matched_id == 1 and decision.matched_url == BBC_URL
    assert decision.similarity >= SETTINGS.copy_threshold


def test_first_half_of_an_article_is_a_copy_by_containment_of_new_in_known():
    """A truncated republication (the first half) is a copy: all of it is inside the known
    article, though its Jaccard is only about one half."""
    paragraphs = _paragraphs(bbc())
    half = "\n\n".join(paragraphs[: len(paragraphs) // 2])
    decision = decide(roxham_index(), half)
    assert decision.kind == "copy"
    assert decision.matched_id == 1
    scores = decision.scores
    assert scores["jaccard"] < 0.6  # half the shingles: Jaccard alone says little
    assert scores["containment_new_in_known"] >= 0.99
    assert decision.similarity == scores["containment_new_in_known"]
    assert "contained in" in decision.reason


def test_article_with_two_added_paragraphs_is_a_copy_by_containment_of_known_in_new():
    """A republication that adds two paragraphs of its own is a copy: the known article is
    inside it."""
    decision = decide(roxham_index(), _extended(bbc()))
    assert decision.kind == "copy"
    assert decision.matched_id == 1
    scores = decision.scores
    assert scores["containment_known_in_new"] >= 0.99
    assert scores["containment_new_in_known"] < scores["containment_known_in_new"]
    assert decision.similarity == scores["containment_known_in_new"]
    assert "contains" in decision.reason


def test_copy_with_a_few_sentences_edited_is_still_a_copy():
    """Rewording four sentences of a copy leaves it a copy of the original (not exact)."""
    edited = _edited(bbc())
    assert textmod.content_sha256(edited) != textmod.content_sha256(bbc())
    decision = decide(roxham_index(), edited)
    assert decision.kind == "copy"
    assert decision.matched_id == 1
    assert SETTINGS.copy_threshold <= decision.similarity < 1.0


def test_copy_of_a_copy_points_at_the_root_original():
    """A copy of a known copy is attributed to the original that copy was made from, both for
    an exact duplicate and for a near-duplicate."""
    index = roxham_index()
    republished = _extended(_edited(bbc()))
    index.add(Known(3, "https://example.org/aggregator/1", "copy", None, 1, [republished]))
    # A truncation of the republication: its added paragraphs are not in the original, so the
    # republication is the closest match.
    tail = "\n\n".join(_paragraphs(republished)[6:])
    near = decide(index, tail)
    assert near.kind == "copy"
    assert near.scores["containment_new_in_known"] >= 0.99
    assert (near.matched_id, near.matched_url) == (1, BBC_URL)
    assert "https://example.org/aggregator/1" in near.reason
    assert f"itself a copy of {BBC_URL}" in near.reason
    exact = decide(index, republished)
    assert exact.kind == "exact"
    assert (exact.matched_id, exact.matched_url) == (1, BBC_URL)


def _when(day: int) -> datetime:
    return datetime(2023, 3, 20, 12, tzinfo=UTC) + timedelta(days=day)


def test_copy_of_a_copy_of_a_copy_points_at_the_first():
    """B copies A and C copies B: a copy of C points at A, the head of the group, even when C
    is the only text it shares."""
    index = roxham_index()
    b_text = _extended(bbc())
    c_text = _extended(_edited(b_text))
    index.add(Known(3, "https://example.org/b", "copy", _when(1), 1, [b_text]))
    index.add(Known(4, "https://example.org/c", "copy", _when(2), 3, [c_text]))
    tail = "\n\n".join(_paragraphs(c_text)[-4:])
    decision = decide(index, tail)
    assert decision.kind == "copy"
    assert (decision.matched_id, decision.matched_url) == (1, BBC_URL)
    assert decision.relation == "copy"


def test_copy_points_at_the_earliest_published_member_of_its_group():
    """When a member of a copy group was published before the article the group was first
    attributed to, copies point at that earliest-published member, by exact and near match."""
    index = StoryIndex(SETTINGS)
    _background(index)
    index.add(Known(1, "https://example.org/late", "seed", _when(3), None, [bbc()]))
    index.add(Known(2, "https://example.org/early", "copy", _when(0), 1, [_edited(bbc())]))
    index.add(Known(3, "https://example.org/undated", "copy", None, 1, [_extended(bbc())]))
    near = decide(index, _extended(_edited(bbc())))
    assert near.kind == "copy"
    assert (near.matched_id, near.matched_url) == (2, "https://example.org/early")
    exact = decide(index, bbc())
    assert exact.kind == "exact"
    assert exact.matched_id == 2
    assert "https://example.org/late" in exact.reason


# -- same story, off topic -----------------------------------------------------------------------


@pytest.mark.parametrize("outlet", ["fox", "hpo"])
def test_another_outlets_report_of_the_same_event_is_same_story_not_copy(outlet):
    """Fox News' and HuffPost's own reports of the event the NYT article covers are the same
    story (an original), never a copy."""
    article = basil()[STORY_EVENT][outlet]
    decision = decide(basil_index(), article["text"], title=article["title"])
    assert decision.kind == "same_story"
    assert decision.relation == "original"
    assert decision.matched_id == 1
    assert decision.scores.get("nearest_copy_score", 0.0) < SETTINGS.copy_threshold
    assert decision.scores["cosine"] >= SETTINGS.story_threshold


def test_the_two_roxham_seeds_are_the_same_story_not_copies():
    """The CBC report, judged against an index holding only the BBC relay, is the same story."""
    index = StoryIndex(SETTINGS, keywords=["Roxham"])
    _background(index)
    index.add(Known(1, BBC_URL, "seed", None, None, [bbc()]))
    decision = decide(index, cbc())
    assert decision.kind == "same_story"
    assert decision.matched_id == 1
    assert decision.scores["keyword_hits"] == 1.0


def test_a_same_story_decision_names_the_terms_that_made_it():
    """The reason names the five terms that added most to the score against the matched
    article, and the stored match lists them with what each added: in falling order, each in
    both articles, together no more than the cosine."""
    fox = basil()[STORY_EVENT]["fox"]
    decision = decide(basil_index(), fox["text"], title=fox["title"])
    assert decision.kind == "same_story"
    shared = decision.as_match()["shared_terms"]
    assert len(shared) == 5
    assert [c for _, c in shared] == sorted((c for _, c in shared), reverse=True)
    nyt = basil()[STORY_EVENT]["nyt"]
    both = set(match_story.story_terms(fox["title"], fox["text"])) & set(
        match_story.story_terms(nyt["title"], nyt["text"])
    )
    assert {t for t, _ in shared} <= both
    assert 0 < sum(c for _, c in shared) <= decision.scores["cosine"]
    assert "most shared: " + ", ".join(t.lstrip("#") for t, _ in shared) in decision.reason


@pytest.mark.parametrize("outlet", ["nyt", "fox", "hpo"])
def test_an_article_on_a_different_event_is_off_topic(outlet):
    """Reports of a different BASIL event are off-topic for the story, with no match."""
    article = basil()[OTHER_EVENT][outlet]
    decision = decide(basil_index(), article["text"], title=article["title"])
    assert decision.kind == "off_topic"
    assert decision.relation == "off_topic"
    assert decision.matched_id is None and decision.matched_url is None
    assert decision.scores["cosine"] < SETTINGS.story_threshold


def test_every_decision_carries_its_reason_scores_and_thresholds():
    """Whatever the outcome (exact, copy, same story, off topic), the decision says why."""
    roxham, story = roxham_index(), basil_index()
    decisions = [
        decide(roxham, bbc()),
        decide(roxham, _edited(bbc())),
        decide(story, basil()[STORY_EVENT]["fox"]["text"]),
        decide(story, basil()[OTHER_EVENT]["nyt"]["text"]),
    ]
    assert [d.kind for d in decisions] == ["exact", "copy", "same_story", "off_topic"]
    for decision in decisions:
        assert decision.reason.strip()
        assert decision.scores and all(isinstance(v, float) for v in decision.scores.values())
        assert decision.thresholds == {
            "candidate": SETTINGS.candidate_threshold,
            "copy": SETTINGS.copy_threshold,
            "story": SETTINGS.story_threshold,
        }
        stored = decision.as_match()
        assert stored["kind"] == decision.kind and stored["reason"] == decision.reason


def _basil_seeded(outlet: str = "nyt") -> tuple[StoryIndex, datetime]:
    """A story seeded with one outlet's report of STORY_EVENT, with its publication date."""
    seed = basil()[STORY_EVENT][outlet]
    day = datetime.fromisoformat(seed["date"]).replace(tzinfo=UTC)
    index = StoryIndex(SETTINGS)
    _background(index)
    index.add(Known(1, seed["url"], "seed", day, None, [seed["text"]], seed["title"]))
    return index, day


def test_the_same_event_reported_months_later_is_off_topic():
    """Time proximity: a report of the story's event dated within days is the same story; the
    same text dated four months later (a later event reusing the story's words) is not, and the
    reason says why."""
    index, day = _basil_seeded()
    article = basil()[STORY_EVENT]["hpo"]
    soon = decide(index, article["text"], article["title"], published_at=day + timedelta(days=1))
    assert soon.kind == "same_story"
    assert "time_factor" not in soon.scores
    later = decide(index, article["text"], article["title"], published_at=day + timedelta(days=120))
    assert later.kind == "off_topic"
    assert later.scores["cosine"] >= SETTINGS.story_threshold
    assert later.scores["time_factor"] < 0.01
    assert "time proximity" in later.reason
    undated = decide(index, article["text"], article["title"])
    assert undated.kind == "same_story"


def test_an_accepted_article_far_from_the_seeds_does_not_pull_in_its_own_story():
    """Growing-mode drift: an article accepted into the story but unlike its seeds (here a
    report of another event) does not anchor it, so reports of that other event stay off
    topic; judged against that article as a seed, the same report would have been accepted."""
    index, _ = _basil_seeded()
    stray = basil()[OTHER_EVENT]["nyt"]
    index.add(Known(2, stray["url"], "original", None, None, [stray["text"]], stray["title"]))
    other = basil()[OTHER_EVENT]["fox"]
    decision = decide(index, other["text"], other["title"])
    assert decision.kind == "off_topic"
    alone = StoryIndex(SETTINGS)
    _background(alone)
    alone.add(Known(2, stray["url"], "seed", None, None, [stray["text"]], stray["title"]))
    assert decide(alone, other["text"], other["title"]).kind == "same_story"


def test_an_accepted_article_close_to_the_seeds_anchors_the_story_at_a_higher_bar():
    """An accepted article close to the seeds (the CBC report against the BBC relay) anchors
    the story: a candidate that shares its words (here every line reversed, so no shingles)
    matches it, scored as its cosine divided by ANCHOR_RATIO, and the reason says so."""
    index = StoryIndex(SETTINGS)
    _background(index)
    index.add(Known(1, BBC_URL, "seed", None, None, [bbc()]))
    index.add(Known(2, CBC_URL, "original", None, None, [cbc()]))
    reworded = "\n".join(" ".join(reversed(line.split())) for line in cbc().split("\n"))
    decision = decide(index, reworded)
    assert decision.kind == "same_story"
    assert (decision.matched_id, decision.matched_url) == (2, CBC_URL)
    assert decision.scores["cosine"] > 0.9
    assert decision.similarity == pytest.approx(
        decision.scores["cosine"] / match_story.ANCHOR_RATIO
    )
    assert "accepted article" in decision.reason


def test_an_article_labelled_in_anchors_the_story_as_a_seed_does():
    """An analyst's ``in`` label makes an accepted article an anchor at a seed's weight: the
    other event's report that the unlabelled stray could not pull in (test above) joins, scored
    by its plain cosine against the labelled article."""
    index, _ = _basil_seeded()
    stray = basil()[OTHER_EVENT]["nyt"]
    other = basil()[OTHER_EVENT]["fox"]
    labelled = Known(2, stray["url"], "original", None, None, [stray["text"]], stray["title"])
    labelled.labelled_in = True
    index.add(labelled)
    decision = decide(index, other["text"], other["title"])
    assert decision.kind == "same_story" and decision.matched_id == 2
    assert decision.similarity == pytest.approx(decision.scores["cosine"])
    assert "accepted article" not in decision.reason


def test_time_proximity_is_measured_from_the_storys_nearest_report():
    """A report six weeks after the seed is faded by the time since the story's latest member
    (a week before it), not since the seed: the story kept being covered, so it joins; with
    that member gone it is six weeks of silence, and it is off topic."""
    index, day = _basil_seeded()
    article = basil()[STORY_EVENT]["hpo"]
    late = day + timedelta(days=42)
    assert decide(index, article["text"], article["title"], published_at=late).kind == ("off_topic")
    fox = basil()[STORY_EVENT]["fox"]
    index.add(Known(2, fox["url"], "original", late - timedelta(days=7), None, [fox["text"]],
                    fox["title"]))  # fmt: skip
    decision = decide(index, article["text"], article["title"], published_at=late)
    assert decision.kind in ("same_story", "copy", "exact")
    assert decision.scores.get("time_factor", 1.0) == 1.0


def test_the_silence_a_story_tolerates_grows_with_its_age():
    """Twelve days after a lone seed a report is faded (a one-day story keeps a three-day
    grace); twelve days after a member published two weeks into the story, the same report
    keeps its full score: the story has been reported for two weeks, so a twelve-day silence
    is not the end of it."""
    index, day = _basil_seeded()
    article = basil()[STORY_EVENT]["hpo"]
    lone = decide(index, article["text"], article["title"], published_at=day + timedelta(days=12))
    assert lone.scores["time_factor"] < 0.5
    fox = basil()[STORY_EVENT]["fox"]
    index.add(Known(2, fox["url"], "original", day + timedelta(days=14), None, [fox["text"]],
                    fox["title"]))  # fmt: skip
    later = decide(index, article["text"], article["title"], published_at=day + timedelta(days=26))
    assert later.kind in ("same_story", "copy", "exact")
    assert "time_factor" not in later.scores


def _words(prefix: str, numbers: range) -> str:
    """Made-up words no background text has, so that each weighs the same."""
    return " ".join(f"{prefix}zorb{chr(97 + n)}" for n in numbers)


def test_a_member_close_to_an_earlier_anchor_anchors_too():
    """Growth by a chain: an accepted article that shares too little with the seed to anchor
    on it, but much with an accepted anchor published before it, anchors the story in its
    turn, so the story follows its coverage one confident step at a time; the same article
    published before that anchor does not (the order is publication, not arrival)."""
    seed = _words("a", range(10)) + " " + _words("b", range(10))
    second = _words("b", range(10)) + " " + _words("c", range(10))  # cosine 0.5 with the seed
    third = _words("c", range(10)) + " " + _words("b", range(5)) + " " + _words("d", range(5))

    def anchors(third_day: int) -> tuple[bool, bool]:
        index = StoryIndex(SETTINGS)
        _background(index)
        index.add(Known(1, "https://example.org/seed", "seed", _when(0), None, [seed]))
        index.add(Known(2, "https://example.org/2", "original", _when(1), None, [second]))
        index.add(Known(3, "https://example.org/3", "original", _when(third_day), None, [third]))
        vectors = index._terms.member_vectors()
        return index._story._is_anchor(2, vectors), index._story._is_anchor(3, vectors)

    assert anchors(third_day=2) == (True, True)
    assert anchors(third_day=0) == (True, False)


def test_an_undated_member_comes_after_every_dated_one():
    """An undated member's time is unknown: a dated anchor may carry it into the anchors, but
    it carries no dated member, whatever their ids (it was ordered by id against the dated
    ones, an order that could run in a circle)."""
    seed = _words("a", range(10)) + " " + _words("b", range(10))
    second = _words("b", range(10)) + " " + _words("c", range(10))  # cosine 0.5 with the seed
    third = _words("c", range(10)) + " " + _words("b", range(5)) + " " + _words("d", range(5))

    def anchors(second_day: int | None, third_day: int | None) -> tuple[bool, bool]:
        index = StoryIndex(SETTINGS)
        _background(index)
        when = {None: None, 0: _when(0), 1: _when(1), 2: _when(2)}
        index.add(Known(1, "https://example.org/seed", "seed", _when(0), None, [seed]))
        index.add(Known(2, "https://example.org/2", "original", when[second_day], None, [second]))
        index.add(Known(3, "https://example.org/3", "original", when[third_day], None, [third]))
        vectors = index._terms.member_vectors()
        return index._story._is_anchor(2, vectors), index._story._is_anchor(3, vectors)

    assert anchors(second_day=1, third_day=None) == (True, True)
    assert anchors(second_day=None, third_day=2) == (True, False)
    assert anchors(second_day=None, third_day=None) == (True, True)  # undated: by id


@pytest.mark.parametrize("undated_every", [0, 4])
def test_a_storys_anchors_are_those_each_member_finds_against_every_member(
    undated_every: int, monkeypatch: pytest.MonkeyPatch
):
    """The anchors of a story, found oldest first from each anchor's cosines with every
    member (one pass over the postings per anchor, none per member), are exactly those
    ``_is_anchor`` finds looking at every member from each member's side: a cosine is the
    same from either side. So too when some members are undated (every fourth here): they come
    after the dated ones, and the story takes the same one pass (it compared every member with
    every other: 35 CPU s at 5,000 members)."""
    events = list(basil().values())[:40]

    def story() -> StoryIndex:
        index = StoryIndex(SETTINGS)
        _background(index)
        n = 0
        for e, event in enumerate(events):
            for outlet, row in sorted(event.items()):
                n += 1
                relation = "seed" if e % 13 == 0 and outlet == "nyt" else "original"
                when = _when((e * 7 + n) % 19)
                if undated_every and n % undated_every == 0 and relation != "seed":
                    when = None
                index.add(Known(n, row["url"], relation, when, None, [row["text"]], row["title"]))
        return index

    def compare(fast: StoryIndex, slow: StoryIndex) -> dict[int, bool]:
        fast_vectors = fast._terms.member_vectors()
        cosines, own_side = type(fast_vectors).cosines, []

        def counted(self: object, article: object, among: list[int] | None = None) -> object:
            if among is not None:  # a member's pass of its own (member_cosines gives None)
                own_side.append(among)
            return cosines(self, article, among)  # type: ignore[arg-type]

        with monkeypatch.context() as m:
            m.setattr(type(fast_vectors), "cosines", counted)
            fast._story._find_anchors(fast_vectors)
        assert len(own_side) <= 1  # the one member accepted last, from its own side
        vectors = slow._terms.member_vectors()
        members = sorted(slow._groups, key=lambda k: (k.published_at is None, k.published_at
                                                      or _when(0), k.article_id))  # fmt: skip
        looked_at = {m.article_id: slow._story._is_anchor(m.article_id, vectors) for m in members}
        found = {m.article_id: fast._story._is_anchor(m.article_id, vectors) for m in members}
        assert found == looked_at
        return found

    fast, slow = story(), story()
    found = compare(fast, slow)  # every member to look at: from the anchors' side
    accepted = [m.article_id for m in slow._groups if m.relation == "original"]
    assert 0 < sum(found[a] for a in accepted) < len(accepted)
    # One member accepted last, the latest seed reworded (each line's words reversed): the one
    # member to look at, from its own side, and an anchor.
    seed = max((k for k in slow._groups if k.relation == "seed"), key=lambda k: k.published_at)
    last = max(k.published_at for k in slow._groups if k.published_at)
    reworded = "\n".join(" ".join(reversed(line.split())) for line in seed.texts[-1].split("\n"))
    for index in (fast, slow):
        index.add(Known(999, "https://example.org/late", "original", last, None, [reworded],
                        seed.title))  # fmt: skip
    assert compare(fast, slow)[999]


def test_across_languages_an_article_must_name_a_story_keyword():
    """With story keywords, a French article is compared with the English members only when it
    names one of them: the same French text scores across languages with a keyword, and
    without one it is off topic with a reason that says why."""
    french = (
        "Le premier ministre Justin Trudeau et le président Joe Biden ont annoncé à Ottawa "
        "une entente sur la frontière entre le Canada et les États-Unis. Les 15 000 migrants "
        "des Amériques seront accueillis par des programmes humanitaires en 2023."
    )
    for keywords, joins in ((("roxham",), False), (("ottawa",), True)):
        index = StoryIndex(SETTINGS, keywords)
        _background(index)
        index.add(Known(1, "seed", "seed", None, None, [bbc()]))
        decision = decide(index, french, "Entente à Ottawa")
        if joins:
            assert decision.scores.get("cross_language_ratio") == match_story.CROSS_LANGUAGE_RATIO
        else:
            assert decision.kind == "off_topic" and decision.similarity == 0.0
            assert "in en are compared with an article in another language only" in (
                decision.reason
            )


def test_french_text_folds_accents_and_drops_french_function_words():
    """French and English both work: accents fold, French stopwords go, common inflections
    (plural, past, -ies) meet."""
    terms = match_story.story_terms(
        "Fermeture du chemin Roxham", "Les demandeurs d'asile arrivés au Québec."
    )
    assert {"fermeture", "chemin", "roxham", "demandeur", "asile", "quebec"} <= set(terms)
    assert not {"les", "du", "d", "au"} & set(terms)
    assert match_story.stem("arrests") == match_story.stem("arrested") == "arrest"
    assert match_story.stem("launches") == match_story.stem("launched") == "launch"
    assert match_story.stem("agencies") == "agency"


# -- fingerprints --------------------------------------------------------------------------------


def test_minhash_survives_its_byte_form():
    """A signature stored as bytes comes back equal: Jaccard 1.0 with the original."""
    fp = fingerprint(bbc(), SETTINGS)
    data = fp.minhash_bytes()
    assert len(data) == 4 * SETTINGS.num_perm
    back = minhash_from_bytes(data)
    assert back.jaccard(fp.minhash) == 1.0
    assert np.array_equal(back.hashvalues, fp.minhash.hashvalues)
    other = fingerprint(cbc(), SETTINGS)
    assert minhash_from_bytes(other.minhash_bytes()).jaccard(back) < 0.1


def test_fingerprint_is_deterministic_across_calls_and_processes():
    """The same text gives the same hash, shingles and signature bytes, in this process and in
    another one with a different string-hash seed (signatures are stored in the database)."""
    a, b = fingerprint(bbc(), SETTINGS), fingerprint(bbc(), SETTINGS)
    assert a.sha256 == b.sha256 and a.word_count == b.word_count
    assert np.array_equal(a.shingles, b.shingles)
    assert a.minhash_bytes() == b.minhash_bytes()
    code = (
        "import sys; from monitor.match import fingerprint, MatchSettings; "
        "sys.stdout.write(fingerprint(sys.stdin.read(), MatchSettings()).minhash_bytes().hex())"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        input=bbc(),
        capture_output=True,
        text=True,
        check=True,
        cwd=REPO,
        env=env,
        timeout=60,
    )
    assert out.stdout == a.minhash_bytes().hex()


def test_text_shorter_than_a_shingle_is_one_shingle():
    """Fewer words than the shingle size make exactly one shingle; no words make none."""
    tokens = textmod.words("Roxham Road closes")
    assert len(tokens) == 3 < SETTINGS.shingle_size
    assert len(shingle_hashes(tokens, SETTINGS.shingle_size)) == 1
    assert len(shingle_hashes([], SETTINGS.shingle_size)) == 0
    six = textmod.words("Roxham Road closes at midnight Friday")
    assert len(shingle_hashes(six, SETTINGS.shingle_size)) == 2


def _ecbplus_pairs() -> list[tuple[str, str, str]]:
    with ECBPLUS.open(encoding="utf-8") as f:
        docs = {row["doc_id"]: row["text"] for row in map(json.loads, f)}
    with PAIRS.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    return [
        (r["doc_a"], docs[r["doc_a"]], docs[r["doc_b"]])
        for r in rows
        if r["doc_a"] in docs and r["doc_b"] in docs
    ]


def _exact_jaccard(a: np.ndarray, b: np.ndarray) -> float:
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


def test_signature_estimates_the_exact_shingle_jaccard():
    """On real wire-copy pairs (ECB+), the 128-permutation MinHash estimate is within 0.1 of
    the exact 5-word-shingle Jaccard for every pair, and within 0.05 on average."""
    pairs = _ecbplus_pairs()
    assert len(pairs) >= 50
    errors = []
    for _, left, right in pairs:
        a, b = fingerprint(left, SETTINGS), fingerprint(right, SETTINGS)
        exact = _exact_jaccard(a.shingles, b.shingles)
        assert 0.0 < exact < 1.0 or left == right
        errors.append(abs(a.minhash.jaccard(b.minhash) - exact))
    assert max(errors) < 0.1
    assert sum(errors) / len(errors) < 0.05


def test_basil_texts_are_what_the_tests_expect():
    """The chosen BASIL events exist with all three outlets (guards the constants above)."""
    events = basil()
    assert set(events[STORY_EVENT]) == {"nyt", "fox", "hpo"}
    assert set(events[OTHER_EVENT]) == {"nyt", "fox", "hpo"}
    assert "Farenthold" in events[STORY_EVENT]["nyt"]["text"]
    assert "Netanyahu" in events[OTHER_EVENT]["nyt"]["text"]


def _identity(value: int) -> int:
    return value


def test_signature_equals_datasketch_update_batch_and_works_in_its_lsh():
    """Our vectorised signature has exactly the hash values datasketch's own update_batch
    computes from the same shingle hashes (affine32, seed 1), and it indexes in MinHashLSH."""
    texts = [bbc(), cbc(), *(row["text"] for row in basil()[STORY_EVENT].values())]
    texts += [left for _, left, _ in _ecbplus_pairs()[:20]]
    lsh = MinHashLSH(threshold=SETTINGS.candidate_threshold, num_perm=SETTINGS.num_perm)
    for i, body in enumerate(texts):
        fp = fingerprint(body, SETTINGS)
        theirs = MinHash(num_perm=SETTINGS.num_perm, seed=1, hashfunc=_identity)
        theirs.update_batch(fp.shingles.tolist())
        assert fp.minhash.scheme == theirs.scheme == "affine32"
        assert np.array_equal(fp.minhash.hashvalues, theirs.hashvalues), i
        assert fp.minhash.jaccard(theirs) == 1.0
        lsh.insert(i, fp.minhash)
    assert 0 in lsh.query(fingerprint(bbc(), SETTINGS).minhash)
    empty = minhash_of(np.zeros(0, dtype=np.uint64), SETTINGS.num_perm)
    assert np.array_equal(empty.hashvalues, MinHash(num_perm=SETTINGS.num_perm).hashvalues)


def test_fingerprint_tokens_and_hash_are_those_of_the_reference_definitions():
    """The fast paths (bytes tokenising, table-driven accent folding) give what the plain
    definitions give: folded words, their CRC-32 shingles, the SHA-256 of the normalised text,
    on English, French, other scripts, combining marks and characters beyond the tables."""

    def fold(text: str) -> str:
        decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).lower())
        return "".join(c for c in decomposed if not unicodedata.combining(c))

    samples = [
        bbc(),
        cbc(),
        "Le Québec ferme le chemin Roxham : « demandeurs d’asile » à Lacolle, 25 mars.",
        "Cafe\u0301 NAÏVE ﬁnal Straße ΣΟΦΟΣ İstanbul Ⅻ x²",
        "Москва и Київ; 東京 and 𝐁𝐨𝐥𝐝 𠀀text\u0301; snake_case — “quotes” … end",
        "",
        "  \t ",
    ]
    for text in samples:
        words = re.findall(r"\w+", fold(text))
        assert textmod.fold(text) == fold(text)
        assert textmod.words(text) == words
        assert textmod.word_bytes(text) == [w.encode() for w in words]
        expected = hashlib.sha256(" ".join(words).encode()).hexdigest()
        assert textmod.content_sha256(text) == expected
        fp = fingerprint(text, SETTINGS)
        assert fp.sha256 == expected and fp.word_count == len(words)
        assert np.array_equal(fp.shingles, shingle_hashes(words, SETTINGS.shingle_size))
    ids = [zlib.crc32(w.encode()) for w in textmod.words("Roxham Road")]
    assert len(shingle_hashes(["roxham", "road"], 5)) == 1 and len(set(ids)) == 2


@pytest.mark.parametrize("kept", [None, 5])
def test_story_and_document_terms_are_those_of_their_reference_definitions_in_any_order(
    kept, monkeypatch
):
    """``document_terms`` counts the lead of a text ``story_terms`` has just read from that
    read, and the rest afresh: either way its terms are those of the whole text, and
    ``story_terms`` those of the title and the first 300 words counted in one pass, on long
    English and French texts, white space of other kinds and a combining mark after a space;
    a text read before another is never taken for it. The same with the words' terms kept
    for only 5 words at a time (the cache started afresh at nearly every text)."""
    if kept is not None:
        monkeypatch.setattr(match_story, "_TERMS_KEPT", kept)
        monkeypatch.setattr(match_story, "_TERM_OF", {})

    def counts(raw: str) -> Counter[str]:
        out: Counter[str] = Counter()
        for w in textmod.words(raw):
            if w.isdigit():
                out.update(["#" + w] if len(w) >= 2 else [])
            elif len(w) > 2 and w not in textmod.STOPWORDS:
                out[match_story.stem(w)] += 1
        return out

    def story_terms(title: str | None, text: str) -> list[tuple[str, float]]:
        raw = f"{title or ''}\n{' '.join(text.split()[:300])}"
        names = {
            match_story.stem(textmod.fold(w)) for w in re.findall(r"\w+", raw) if w[0].isupper()
        }
        return [
            (t, c * match_story.NAME_WEIGHT if t in names else c) for t, c in counts(raw).items()
        ]

    long_text = " ".join([bbc(), cbc(), bbc()])
    samples = [
        ("BBC", bbc()),
        (None, cbc()),
        ("Le chemin Roxham", "Le Québec ferme le chemin Roxham à Lacolle. " * 80),
        ("Spaces", long_text.replace(" ", "\u00a0", 400).replace(" ", "\u2003", 200)),
        (None, "word " * 299 + "x \u0301abc 2023 Roxham\tRoad\n" * 3),
        (None, ""),
    ]
    assert len(long_text.split()) > 600
    for title, text in samples:
        whole = set(counts(text))
        assert match_story.document_terms(text) == whole  # no story terms read before
        assert list(match_story.story_terms(title, text).items()) == story_terms(title, text)
        assert match_story.document_terms(text) == whole  # its lead as story_terms read it
        match_story.story_terms("Another", cbc() + " Exclusive interview")
        assert match_story.document_terms(text) == whole  # another text read in between


def test_the_character_table_filled_as_characters_are_met_classifies_each_as_unicodedata():
    """The code-point table behind fold and word_bytes is filled in as texts bring characters
    (a part met first, then every one at once): each entry says what unicodedata says,
    combining mark and word character, whatever came first."""
    textmod.words("Le Québec, Київ et 東京")
    some = np.array([ord(c) for c in "éΚї東\u0301"], dtype=np.uint32)
    first = textmod._char_flags(some)
    everything = np.arange(128, textmod._TABLE_SIZE, dtype=np.uint32)
    flags = textmod._char_flags(everything)
    expected = np.array(
        [(1 if unicodedata.combining(chr(c)) else 0) | (2 if chr(c).isalnum() else 0)
         for c in everything.tolist()],
        dtype=np.uint8,
    )  # fmt: skip
    assert np.array_equal(flags, expected)
    assert np.array_equal(first, textmod._char_flags(some))
    assert first.tolist() == [2, 2, 2, 2, 1]


def test_lsh_bands_share_a_key_exactly_when_minhashlsh_returns_the_pair():
    """lsh_bands uses MinHashLSH's own (bands, rows) for the candidate threshold, and two
    signatures share a band key exactly when MinHashLSH returns one for the other: on real
    wire-copy pairs, their other-event neighbours and perturbed near-copies around the
    threshold."""
    lsh = MinHashLSH(threshold=SETTINGS.candidate_threshold, num_perm=SETTINGS.num_perm)
    assert lsh_params(SETTINGS.candidate_threshold, SETTINGS.num_perm) == (lsh.b, lsh.r)
    signatures = []
    rng = np.random.default_rng(0)
    for _, left, right in _ecbplus_pairs():
        for body in (left, right):
            shingles = fingerprint(body, SETTINGS).shingles
            signatures.append(minhash_of(shingles, SETTINGS.num_perm))
        keep = shingles[rng.random(len(shingles)) >= rng.uniform(0.5, 0.9)]
        noise = rng.integers(0, 2**32, size=len(shingles) - len(keep), dtype=np.uint64)
        signatures.append(minhash_of(np.unique(np.concatenate([keep, noise])), SETTINGS.num_perm))
    keys = []
    for i, mh in enumerate(signatures):
        lsh.insert(i, mh)
        bands = lsh_bands(mh, SETTINGS)
        assert [band for band, _ in bands] == list(range(lsh.b))
        assert all(len(key) == 4 * lsh.r for _, key in bands)
        keys.append(set(bands))
    pairs = 0
    for i, mh in enumerate(signatures):
        by_band = {j for j, other in enumerate(keys) if other & keys[i]}
        assert set(lsh.query(mh)) == by_band, i
        pairs += len(by_band) - 1
    assert pairs > len(signatures)  # the comparison saw many candidate pairs, not only self
    assert lsh_bands(minhash_from_bytes(signatures[0].hashvalues.astype("<u4").tobytes()),
                     SETTINGS) == lsh_bands(signatures[0], SETTINGS)  # fmt: skip


def test_lsh_geometry_is_the_one_datasketch_computes():
    """lsh_params picks datasketch's own (bands, rows) for every threshold from 0.05 to 0.95 by
    0.05 and 16 to 256 permutations, and optimal_param does with uneven weights too."""
    from datasketch.lsh import _optimal_param

    from monitor.match.geometry import optimal_param

    for num_perm in (16, 32, 64, 128, 256):
        for step in range(1, 20):
            threshold = round(0.05 * step, 2)
            expected = _optimal_param(threshold, num_perm, 0.5, 0.5)
            assert lsh_params(threshold, num_perm) == expected, (threshold, num_perm)
    for weights in ((0.2, 0.8), (0.8, 0.2)):
        for threshold in (0.1, 0.3, 0.5, 0.7, 0.9):
            expected = _optimal_param(threshold, 64, *weights)
            assert optimal_param(threshold, 64, *weights) == expected, (threshold, weights)


def test_importing_the_matcher_loads_neither_datasketch_nor_scipy():
    """`import monitor.match` leaves datasketch (whose package imports SciPy) to the first
    signature, so commands that make none start without them."""
    code = (
        "import sys, monitor.match; "
        "print(sorted(m for m in ('datasketch', 'scipy') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    assert out.stdout.strip() == "[]"


def test_band_keys_are_the_band_bytes_as_integers_for_the_database():
    """band_keys gives one signed 64-bit key per band, in band order: with two rows per band
    (the default geometry) the key is the two values exactly, so two signatures share an
    integer key in a band exactly when they share lsh_bands' bytes there; with more rows the
    keys still fit a BIGINT column and agree with the bytes on these texts."""
    from monitor.match import band_keys

    signatures = [fingerprint(t, SETTINGS).minhash for t in (bbc(), cbc(), _edited(bbc()))]
    for settings in (SETTINGS, MatchSettings(candidate_threshold=0.5)):
        rows = lsh_params(settings.candidate_threshold, settings.num_perm)[1]
        as_bytes = [dict(lsh_bands(mh, settings)) for mh in signatures]
        as_keys = [dict(band_keys(mh, settings)) for mh in signatures]
        for keys in as_keys:
            assert list(keys) == list(range(len(keys)))
            assert all(-(2**63) <= k < 2**63 for k in keys.values())
        for i in range(3):
            for j in range(3):
                for band in as_bytes[i]:
                    same_bytes = as_bytes[i][band] == as_bytes[j][band]
                    assert (as_keys[i][band] == as_keys[j][band]) == same_bytes
        if rows == 2:
            low, high = (int(v) for v in signatures[0].hashvalues[:2])
            assert as_keys[0][0] == int(np.uint64(low | high << 32).view(np.int64))
    original, edited = band_keys(signatures[0], SETTINGS), band_keys(signatures[2], SETTINGS)
    shared = sum(a == b for a, b in zip(original, edited, strict=True))
    assert shared > 0  # the edited copy shares bands with its original: the comparison bites


def test_an_index_without_its_own_lsh_decides_on_the_candidates_it_is_given():
    """With in_memory_lsh=False (the pipeline's, whose LSH is the database table) a copy is
    found among the candidates passed in, and a known version not passed is not compared."""
    from monitor.match import version_key

    index = StoryIndex(SETTINGS, in_memory_lsh=False)
    _background(index)
    index.add(Known(1, BBC_URL, "seed", None, None, [bbc()]))
    index.add(Known(2, CBC_URL, "seed", None, None, [cbc()]))
    text = _extended(_edited(bbc()))
    fp = fingerprint(text, SETTINGS)
    found = index.decide(None, text, fp, candidates=[version_key(1, 1), version_key(2, 1)])
    assert (found.kind, found.matched_id) == ("copy", 1)
    missed = index.decide(None, text, fp, candidates=[version_key(2, 1)])
    assert missed.kind != "copy"
    with pytest.raises(ValueError):
        index.decide(None, text, fp)


def test_a_copy_published_before_its_group_original_leads_the_group():
    """A copy dated before the group's original is decided a copy with leads_group: its
    relation is original and the reason says so; after repoint the old original is its copy
    and the next copy points at the new original. A seed is never displaced."""
    index = StoryIndex(SETTINGS)
    _background(index)
    index.add(Known(1, "https://example.org/reprint", "original", _when(3), None, [bbc()]))
    index.add(Known(2, "https://example.org/reprint-2", "copy", _when(4), 1, [_edited(bbc())]))
    early = decide(index, _extended(bbc()), published_at=_when(0))
    assert early.kind == "copy" and early.leads_group and early.relation == "original"
    assert early.matched_id == 1 and "group's original now" in early.reason
    assert early.as_match()["leads_copy_group"] is True
    index.repoint(1, 3)
    index.add(Known(3, "https://example.org/wire", "original", _when(0), None, [_extended(bbc())]))
    assert index.member(1).relation == "copy" and index.member(1).copy_of_id == 3
    assert index.member(2).copy_of_id == 3
    later = decide(index, bbc(), published_at=_when(5))
    assert (later.kind, later.matched_id, later.leads_group) == ("exact", 3, False)
    undated = decide(index, _extended(bbc()), published_at=None)
    assert not undated.leads_group

    seeded = StoryIndex(SETTINGS)
    _background(seeded)
    seeded.add(Known(1, BBC_URL, "seed", _when(3), None, [bbc()]))
    before_seed = decide(seeded, _extended(bbc()), published_at=_when(0))
    assert before_seed.kind == "copy" and not before_seed.leads_group


def test_a_member_regrouped_by_another_process_leaves_what_the_story_kept_of_it():
    """A member another process made a copy (the poll reads it back: StoryIndex.regroup) is out
    of the story's anchors and centroid at the next decision, which is the one an index that
    knew it as a copy from the start makes; the kept centroid held it for the rest of a round."""
    event = basil()[STORY_EVENT]
    nyt, fox, hpo = event["nyt"], event["fox"], event["hpo"]

    def story(relation: str, copy_of: int | None) -> StoryIndex:
        index = StoryIndex(SETTINGS)
        _background(index)
        index.add(Known(1, nyt["url"], "seed", _when(0), None, [nyt["text"]], nyt["title"]))
        index.add(Known(2, fox["url"], relation, _when(1), copy_of, [fox["text"]], fox["title"]))
        return index

    def scored(index: StoryIndex) -> tuple[dict[str, float], str]:
        decision = decide(index, hpo["text"], hpo["title"], published_at=_when(2))
        return decision.scores, decision.reason

    regrouped = story("original", None)
    as_original = scored(regrouped)  # the story stage keeps its members from here on
    regrouped.regroup(2, "copy", 1)
    as_copy = scored(story("copy", 1))
    assert as_copy != as_original
    assert scored(regrouped) == as_copy


def test_an_index_with_frequencies_elsewhere_decides_only_once_they_are_provided():
    """use_background (the pipeline's: frequencies in the database) lists the members' and the
    article's terms to look up, refuses to score before they are provided, and then decides
    as an index that counted the same documents itself."""
    texts = [bbc(), cbc(), *(a["text"] for a in basil()[OTHER_EVENT].values())]
    counted = StoryIndex(SETTINGS)
    for body in texts:
        counted.add_background(body)
    lazy = StoryIndex(SETTINGS)
    lazy.use_background(len(texts))
    for index in (counted, lazy):
        index.add(Known(1, BBC_URL, "seed", None, None, [bbc()], "US and Canada reach deal"))
    article = cbc()
    with pytest.raises(ValueError, match="document frequencies not provided"):
        decide(lazy, article)
    asked = lazy.terms_to_look_up(None, article)
    assert asked >= set(match_story.story_terms(None, article))
    lazy.provide_df(
        asked, {t: counted.document_frequency(t) for t in asked if counted.document_frequency(t)}
    )
    assert lazy.terms_to_look_up(None, article) == set()
    assert decide(lazy, article) == decide(counted, article)


# -- languages ----------------------------------------------------------------------------------


@cache
def semeval_pairs() -> list[dict[str, str]]:
    """SemEval-2022 task 8's scored pairs (../shared/data), with their annotated languages."""
    rows: dict[str, dict[str, str]] = {}
    for name in ("training_set.csv", "testing_set.csv"):
        path = SHARED_DATA / "dedup_story" / "semeval2022_task8" / name
        with path.open(encoding="utf-8") as f:
            rows.update((r["pair_id"], r) for r in csv.DictReader(f))
    return list(rows.values())


def test_language_of_names_news_texts_by_their_function_words():
    """``text.language_of`` names at least 95% of SemEval's texts in each language it knows
    (English, French, German, Spanish, Italian, Polish) right, never names an English text as
    another language, and names under 2% of the texts in languages it does not know (Arabic,
    Russian, Turkish, Chinese) as one it knows."""
    named: dict[str, list[str | None]] = defaultdict(list)
    for r in semeval_pairs():
        for text, lang in ((r["text1"], r["lang1"]), (r["text2"], r["lang2"])):
            named[lang].append(textmod.language_of(text))
    for lang in ("en", "fr", "de", "es", "it", "pl"):
        right = sum(g == lang for g in named[lang]) / len(named[lang])
        assert right >= 0.95, (lang, right)
    assert {g for g in named["en"]} <= {"en", None}
    others = [g for lang in ("ar", "ru", "tr", "zh") for g in named[lang]]
    assert sum(g is not None for g in others) / len(others) < 0.02


def test_reporting_in_another_language_is_scored_for_what_survives_translation():
    """Spanish and English reports of one story share names and numbers, not words: with their
    score divided by the cross-language ratio, at least 70% of SemEval's Spanish-English
    same-story pairs join a story seeded with one of them (under 20% undivided), each reason
    naming the division; English-English pairs are never divided."""
    pairs = [
        r
        for r in semeval_pairs()
        if {r["lang1"], r["lang2"]} == {"es", "en"} and float(r["Overall"]) <= 2.0
    ]
    same = [r for r in semeval_pairs() if r["lang1"] == r["lang2"] == "en"][:40]
    texts = [t for r in pairs + same for t in (r["text1"], r["text2"])]
    df: Counter[str] = Counter()
    for text in texts:
        df.update(match_story.document_terms(text))

    def joined(r: dict[str, str]) -> Decision:
        # Document frequencies as the database provides them (storage.termstats).
        story = StoryIndex(SETTINGS)
        story.use_background(len(texts))
        story.add(Known(1, "https://example.org/seed", "seed", None, None, [r["text1"]]))
        asked = story.terms_to_look_up(None, r["text2"])
        story.provide_df(asked, {t: df[t] for t in asked if t in df})
        return decide(story, r["text2"])

    decisions = [joined(r) for r in pairs]
    accepted = [d for d in decisions if d.kind == "same_story"]
    assert len(accepted) >= 0.7 * len(pairs), (len(accepted), len(pairs))
    assert all("across languages" in d.reason for d in accepted)
    undivided = [d for d in decisions if d.scores.get("cosine", 0.0) >= SETTINGS.story_threshold]
    assert len(undivided) < 0.2 * len(pairs)
    for r in same:
        assert "cross_language_ratio" not in joined(r).scores


def test_a_wire_text_copied_many_times_is_matched_without_scoring_every_copy(monkeypatch):
    """With 200 near copies of the BBC relay in the story, a new copy is decided a copy of the
    group's original after scoring only a few members: once one matches at 0.9 or more, the
    rest of its group is skipped (the decision points at the original either way)."""
    index = roxham_index()
    for i in range(200):
        text = _edited(bbc()) + f"\n\nSyndicated by outlet {i}."
        index.add(Known(10 + i, f"https://example.org/copy-{i}", "copy", _when(1), 1, [text]))
    scored: list[int] = []
    real = np.intersect1d

    def counting(a, b, **kwargs):  # each candidate scored intersects its shingles once
        scored.append(1)
        return real(a, b, **kwargs)

    monkeypatch.setattr(match_module.np, "intersect1d", counting)
    decision = decide(index, _edited(bbc()) + "\n\nSyndicated by one more outlet.")
    assert decision.kind == "copy"
    assert (decision.matched_id, decision.relation) == (1, "copy")
    assert len(scored) <= 5, len(scored)


def test_members_added_newest_first_decide_as_oldest_first():
    """Anchors are found oldest first whatever order members came in: 2,000 members added
    newest first (past Python's recursion limit when each asked its predecessor in turn) give
    the same decision and score as added oldest first."""
    start = datetime(2023, 3, 1, tzinfo=UTC)
    seed = "alpha beta gamma delta roxham border asylum deal"

    def decided(order: range) -> tuple[str, float]:
        index = StoryIndex(SETTINGS)
        index.add(Known(0, "seed", "seed", start, None, [seed]))
        for i in order:
            text = f"roxham border asylum deal zorb{i} quux{i}"
            index.add(Known(i, f"https://example.org/{i}", "original",
                            start + timedelta(hours=i), None, [text]))  # fmt: skip
        d = decide(index, "roxham border asylum deal closing",
                   published_at=start + timedelta(days=130))  # fmt: skip
        return d.kind, d.similarity

    assert decided(range(1999, 0, -1)) == decided(range(1, 2000))
