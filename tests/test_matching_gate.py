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
