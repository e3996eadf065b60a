"""Quality gate: matching figures on the real sets stay above the floors pinned in a file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import matching

FLOORS = Path(__file__).parent / "quality" / "matching_floors.json"

pytestmark = [
    pytest.mark.slow,  # scores the labelled corpora
    pytest.mark.skipif(
        not (matching.DATA / "basil").is_dir(), reason="../shared/data/dedup_story is not here"
    ),
]


@pytest.fixture(scope="module")
def measured() -> dict[str, float]:
    """The gate subset of benchmarks/matching.py (deterministic, about 10 s), measured once."""
    return matching.gate_measure()


def _floors() -> dict[str, dict]:
    return {k: v for k, v in json.loads(FLOORS.read_text()).items() if not k.startswith("_")}


@pytest.mark.parametrize("name", sorted(_floors()))
def test_matching_figure_stays_within_its_pinned_bound(name, measured):
    """Each figure is at least its floor (or at most its ceiling); lowering one is a decision."""
    bound = _floors()[name]
    if "ceiling" in bound:
        assert measured[name] <= bound["ceiling"], (name, measured[name], bound["reason"])
    else:
        assert measured[name] >= bound["floor"], (name, measured[name], bound["reason"])


def test_newswcl50_articles_carry_the_days_their_urls_give():
    """NewsWCL50's articles are dated from the set's urls.tsv (a URL's day, or a HuffPost id's
    creation time), each within two days of its event's other outlets; a page that gives
    neither stays undated."""
    articles = [a for a in matching.load_articles() if a.dataset == "newswcl50"]
    dated = [a for a in articles if a.published_at is not None]
    assert len(articles) == 50 and len(dated) == 47
    by_event: dict[str, list] = {}
    for a in dated:
        by_event.setdefault(a.event, []).append(a.published_at)
    assert all((max(days) - min(days)).days <= 2 for days in by_event.values())
    first = {a.key: a.published_at for a in articles}
    assert first["newswcl50:0/-/0_L"].isoformat() == "2018-04-17T00:00:00+00:00"
    assert first["newswcl50:0/-/0_LL"].isoformat() == "2018-04-18T00:00:00+00:00"  # HuffPost id
    assert first["newswcl50:6/-/6_RR"] is None  # a Breitbart wire page without a day
