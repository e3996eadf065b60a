"""The story's centroid: an article scored against the story as its recent reports tell it, not
only against its best single anchor (monitor.match.story_stage, story.CENTROID_MEMBERS)."""

from __future__ import annotations

from monitor.match import Known, StoryIndex
from tests.test_match import SETTINGS, _background, _when, _words, decide

SEED = _words("a", range(4))
# Two accepted reports, each sharing one word with the seed (cosine 0.25: neither anchors).
REPORTS = (
    _words("a", range(1)) + " " + _words("b", range(3)),
    _words("a", range(1, 2)) + " " + _words("b", range(3, 5)) + " " + _words("b", range(1)),
)
# Shares one word with the seed and one with both reports: 0.20 against the seed alone.
HEADLINE = _words("a", range(1)) + " " + _words("b", range(1)) + " " + _words("e", range(4))


def _story(report_day: int) -> StoryIndex:
    index = StoryIndex(SETTINGS)
    _background(index)
    index.add(Known(1, "https://example.org/seed", "seed", _when(0), None, [SEED]))
    for n, text in enumerate(REPORTS, start=2):
        url = f"https://example.org/{n}"
        index.add(Known(n, url, "original", _when(report_day), None, [text]))
    return index


def test_an_article_near_the_storys_recent_reports_together_joins_through_their_centroid():
    """A headline sharing a word with the seed and one with each recent report, too little
    with any single one (0.20 against the seed), joins the story by its cosine with the
    centroid of the reports near it in time, and the reason says so; undated, it has no "now"
    to make a centroid of, and stays out."""
    index = _story(report_day=0)
    joined = decide(index, HEADLINE, published_at=_when(1))
    assert joined.kind == "same_story"
    assert "centroid of the story's 3 reports" in joined.reason
    assert joined.similarity == joined.scores["cosine"] >= SETTINGS.story_threshold
    undated = decide(index, HEADLINE)
    assert undated.kind == "off_topic"
    assert undated.similarity < SETTINGS.story_threshold


def test_reports_past_the_storys_grace_make_no_centroid():
    """The same reports a month before the headline are past the story's grace (a story a day
    old then), so only the seed's lone score counts and the headline stays out: the centroid
    is what the story is about now, not everything it ever took in."""
    index = _story(report_day=0)
    late = decide(index, HEADLINE, published_at=_when(30))
    assert late.kind == "off_topic"
    assert "centroid" not in late.reason
