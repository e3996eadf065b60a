"""Quality gate: seeded story following with k analyst labels per story stays above the floors
pinned in a file (benchmarks/labels.py, tests/quality/labels_floors.json)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import labels, matching

FLOORS = Path(__file__).parent / "quality" / "labels_floors.json"

pytestmark = [
    pytest.mark.slow,  # scores the labelled corpora
    pytest.mark.skipif(
        not (matching.DATA / "basil").is_dir(), reason="../shared/data/dedup_story is not here"
    ),
]


@pytest.fixture(scope="module")
def measured() -> dict[str, float]:
    """The gate subset of benchmarks/labels.py (deterministic, about 8 s), measured once."""
    return labels.gate_measure()


def _floors() -> dict[str, dict]:
    return {k: v for k, v in json.loads(FLOORS.read_text()).items() if not k.startswith("_")}


@pytest.mark.parametrize("name", sorted(_floors()))
def test_labelled_story_following_stays_above_its_floor(name, measured):
    """Each figure with simulated labels is at least its floor; lowering one is a decision."""
    assert measured[name] >= _floors()[name]["floor"], (name, measured[name])
