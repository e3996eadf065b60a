"""The story threshold fitted from the analyst's labels (monitor.match.fit) and a label applied
to a decision (monitor.match.label): pure functions, examples and properties over random
label sets."""

from __future__ import annotations

import random

from monitor.match import Decision, story_bar
from monitor.match.fit import PRIOR_WEIGHT, errors, fit_threshold, reach, separating_threshold
from monitor.match.label import apply_label, matcher_of, unlabelled_match

PRIOR = 0.26


def _random_labels(rng: random.Random, n: int) -> list[tuple[float, float, bool]]:
    return [
        (round(rng.uniform(0, 0.6), 4), float(rng.random() < 0.3), rng.random() < 0.5)
        for _ in range(n)
    ]


def _fewest_errors(labelled: list[tuple[float, float, bool]]) -> int:
    """The fewest labels any threshold gets wrong, found by trying every reach and beyond."""
    tries = {0.0, 10.0} | {reach(s, k) for s, k, _ in labelled}
    tries |= {round(t + 1e-4, 4) for t in tries}
    return min(errors(labelled, t) for t in tries)


def _shrunk(target: float, n: int, prior: float = PRIOR) -> float:
    return round(prior + n / (n + PRIOR_WEIGHT) * (target - prior), 4)


def test_no_labels_leave_the_prior():
    """Without labels the fitted threshold is the configured one."""
    assert fit_threshold([], PRIOR) == PRIOR == separating_threshold([], PRIOR)


def test_in_labels_below_the_line_lower_it_toward_the_lowest_of_them():
    """Articles labelled in that score under the bar are separated by the lowest of them (the
    highest threshold that admits them all); the fit moves n / (n + PRIOR_WEIGHT) of the way
    there from the prior."""
    labelled = [(0.20, 0, True), (0.22, 0, True)]
    assert separating_threshold(labelled, PRIOR) == 0.20
    assert fit_threshold(labelled, PRIOR) == _shrunk(0.20, 2)


def test_in_labels_above_the_line_leave_it():
    """Articles labelled in that pass already teach nothing: the prior stays."""
    assert fit_threshold([(0.40, 0, True), (0.30, 0, True)], PRIOR) == PRIOR


def test_out_labels_above_the_line_raise_it_toward_just_past_the_highest():
    """Articles labelled out that pass the bar are separated one step above the highest of
    them; the fit moves toward it."""
    labelled = [(0.30, 0, False), (0.28, 0, False)]
    assert separating_threshold(labelled, PRIOR) == 0.3001
    assert fit_threshold(labelled, PRIOR) == _shrunk(0.3001, 2)


def test_out_labels_below_the_line_leave_it():
    """Articles labelled out that fall short already leave the prior where it is."""
    assert fit_threshold([(0.10, 0, False)], PRIOR) == PRIOR


def test_a_keyword_halves_the_bar_so_its_reach_is_twice_the_score():
    """An article that hits a story keyword needs half the threshold: labelled in at 0.11 with
    a keyword, it is admitted by 0.22 (its reach), so the line goes toward 0.22, not 0.11."""
    assert separating_threshold([(0.11, 1, True)], PRIOR) == 0.22
    assert story_bar(0.22, 1) <= 0.11
    assert fit_threshold([(0.11, 1, True)], PRIOR) == _shrunk(0.22, 1)


def test_both_sides_take_the_gaps_midpoint_shrunk_toward_the_prior():
    """With an out label at 0.10 and an in label at 0.20 the gap is (0.10, 0.20]: separated at
    its midpoint 0.15; two labels move the line half way there, a hundred nearly all the way."""
    labelled = [(0.10, 0, False), (0.20, 0, True)]
    assert separating_threshold(labelled, PRIOR) == 0.15
    assert fit_threshold(labelled, PRIOR) == _shrunk(0.15, 2)
    assert fit_threshold(labelled * 50, PRIOR) == _shrunk(0.15, 100)


def test_one_far_label_does_not_drag_the_line_all_the_way():
    """A follow-up labelled in at a score of 0.02 is in the story by its label; one such label
    moves the threshold a third of the way down, not to 0.02 (which would admit everything
    the matcher scored above it)."""
    fitted = fit_threshold([(0.02, 0, True)], PRIOR)
    assert fitted == _shrunk(0.02, 1)
    assert fitted > 0.1


def test_labels_that_cannot_be_separated_get_fewest_wrong_nearest_the_prior():
    """An out label scoring above an in label: no threshold gets both right, and the prior
    between them gets both wrong. The separating threshold gets one wrong: of the two equally
    good stretches (admit both, or neither) the one nearer the prior, just above 0.30."""
    labelled = [(0.30, 0, False), (0.20, 0, True)]
    assert errors(labelled, PRIOR) == 2
    assert separating_threshold(labelled, PRIOR) == 0.3001
    assert errors(labelled, 0.3001) == 1
    assert separating_threshold(labelled, 0.24) == 0.20  # nearer the lower stretch


def test_property_the_separating_threshold_gets_as_few_labels_wrong_as_any():
    """On random label sets the separating threshold gets no more labels wrong than the best
    threshold there is, and is never negative."""
    for seed in range(200):
        rng = random.Random(seed)
        labelled = _random_labels(rng, rng.randint(1, 12))
        prior = round(rng.uniform(0.05, 0.5), 4)
        target = separating_threshold(labelled, prior)
        assert target >= 0
        assert errors(labelled, target) == _fewest_errors(labelled)


def test_property_the_fit_moves_from_the_prior_toward_the_separating_threshold():
    """On random label sets the fitted threshold lies between the prior and the separating
    threshold, n / (n + PRIOR_WEIGHT) of the way; with the same labels many times over it comes
    closer to the separating threshold by as much."""
    for seed in range(200):
        rng = random.Random(seed)
        labelled = _random_labels(rng, rng.randint(1, 12))
        prior = round(rng.uniform(0.05, 0.5), 4)
        target = separating_threshold(labelled, prior)
        fitted = fit_threshold(labelled, prior)
        assert min(prior, target) - 1e-9 <= fitted <= max(prior, target) + 1e-9
        assert fitted == _shrunk(target, len(labelled), prior)
        many = labelled * 50
        gap = abs(fit_threshold(many, prior) - separating_threshold(many, prior))
        assert gap <= PRIOR_WEIGHT / (len(many) + PRIOR_WEIGHT) * abs(prior - target) + 1e-4


def test_property_one_sided_labels_move_the_line_only_their_way():
    """Only in labels never raise the threshold; only out labels never lower it; and labels
    the prior already decides right leave it where it is."""
    for seed in range(100):
        rng = random.Random(seed)
        prior = round(rng.uniform(0.05, 0.5), 4)
        labelled = _random_labels(rng, rng.randint(1, 8))
        ins = [(s, k, True) for s, k, _ in labelled]
        outs = [(s, k, False) for s, k, _ in labelled]
        assert fit_threshold(ins, prior) <= prior
        assert fit_threshold(outs, prior) >= prior
        right = [(s, k, li) for s, k, li in labelled if (prior <= reach(s, k)) == li]
        if right and not {True, False} <= {li for _, _, li in right}:
            assert fit_threshold(right, prior) == prior


def test_property_the_fit_is_deterministic_and_ignores_label_order():
    """The same labels in any order fit the same threshold."""
    for seed in range(100):
        rng = random.Random(seed)
        labelled = _random_labels(rng, rng.randint(1, 10))
        shuffled = labelled[:]
        rng.shuffle(shuffled)
        assert fit_threshold(labelled, PRIOR) == fit_threshold(shuffled, PRIOR)


def _decision(kind: str) -> Decision:
    return Decision(kind, 7, "http://x/a", 0.2, {"score": 0.2}, {"story": 0.26}, "matcher said")


LABEL_IN = {"value": "in", "note": "same event", "at": "2026-01-01T00:00:00+00:00"}
LABEL_OUT = {"value": "out", "note": None, "at": "2026-01-01T00:00:00+00:00"}


def test_a_label_in_makes_an_off_topic_article_an_original_and_keeps_a_copy():
    """``in`` turns the matcher's off-topic into an original and keeps a copy a copy; the
    reason says the label decided, with the note, and the matcher's verdict stays beside it."""
    off = _decision("off_topic")
    decided, match = apply_label(off, off.as_match(), LABEL_IN)
    assert decided.relation == "original"
    assert match["kind"] == "label" and match["label"] == LABEL_IN
    assert match["matcher"] == {"kind": "off_topic", "reason": "matcher said"}
    assert "same event" in match["reason"] and match["scores"] == {"score": 0.2}
    copy = _decision("copy")
    assert apply_label(copy, copy.as_match(), LABEL_IN)[0].relation == "copy"


def test_a_label_out_makes_any_decision_off_topic_and_clearing_gives_the_matcher_back():
    """``out`` makes an original or a copy off-topic (no longer leading a copy group); the
    label withdrawn restores the matcher's kind and reason."""
    for kind in ("same_story", "copy", "exact"):
        d = _decision(kind)
        decided, match = apply_label(d, d.as_match(), LABEL_OUT)
        assert decided.relation == "off_topic" and not decided.leads_group
        assert matcher_of(match)["kind"] == kind
        restored = unlabelled_match(match)
        assert restored["kind"] == kind and restored["reason"] == "matcher said"
        assert "label" not in restored and "matcher" not in restored


def test_a_label_given_twice_keeps_the_matchers_verdict():
    """Relabelling a labelled decision keeps the matcher's verdict of the first, not the
    label's."""
    d = _decision("off_topic")
    _, once = apply_label(d, d.as_match(), LABEL_IN)
    _, twice = apply_label(d, once, LABEL_OUT)
    assert twice["matcher"]["kind"] == "off_topic" and twice["label"] == LABEL_OUT
