"""Matching (monitor.match), pure, on real text: the Roxham Road seed articles in
../shared/seeds, BASIL (one event reported by NYT, Fox News and HuffPost) and ECB+ wire pairs."""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from collections import defaultdict
from functools import cache

import numpy as np
import pytest

from monitor import text as textmod
from monitor.match import (
    Decision,
    Known,
    MatchSettings,
    StoryIndex,
    fingerprint,
    minhash_from_bytes,
    shingle_hashes,
)
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


def decide(index: StoryIndex, text: str, title: str | None = None) -> Decision:
    return index.decide(title, text, fingerprint(text, SETTINGS))


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
