"""Quality gate: the sentence matcher's figures on MSRP, and blocking's agreement with comparing
every pair, stay above the floors pinned in a file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import storyfile_facts

FLOORS = Path(__file__).parent / "quality" / "facts_floors.json"

pytestmark = [
    pytest.mark.slow,  # scores a labelled corpus and compares every pair of a story
    pytest.mark.skipif(
        not storyfile_facts.MSRP.is_dir() or not (storyfile_facts.DATA / "basil").is_dir(),
        reason="../shared/data/dedup_story is not here",
    ),
]


@pytest.fixture(scope="module")
def measured() -> dict[str, float]:
    """The gate figures of benchmarks/storyfile_facts.py (deterministic, seconds), once."""
    return storyfile_facts.gate_measure()


def _floors() -> dict[str, dict]:
    return {k: v for k, v in json.loads(FLOORS.read_text()).items() if not k.startswith("_")}


@pytest.mark.parametrize("name", sorted(_floors()))
def test_facts_figure_stays_above_its_floor(name, measured):
    """Each figure is at least its pinned floor; lowering one is a decision written in the file."""
    bound = _floors()[name]
    assert measured[name] >= bound["floor"], (name, measured[name], bound["reason"])
