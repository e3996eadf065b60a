"""The story file's JSON Schema (docs/story-file.schema.json), for every test that exports one.

``checked(story)`` validates a story file (what ``storage.storyfile.build`` returns or what
``monitor story export --format json`` prints) and returns it, so a test can wrap the call that
made it: ``story = checked(storyfile.build(session, slug))``.
"""

from __future__ import annotations

import json
from datetime import datetime
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

from tests.conftest import REPO

SCHEMA = REPO / "docs" / "story-file.schema.json"

_FORMATS = FormatChecker()


@_FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    """RFC 3339: the pattern in the schema checks the shape, this the calendar (no 2023-02-30)."""
    if not isinstance(value, str):
        return True
    return datetime.fromisoformat(value.replace("Z", "+00:00")).tzinfo is not None


@cache
def validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA.read_text("utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=_FORMATS)


def problems(story: Any) -> list[str]:
    """Every way ``story`` breaks the schema, as 'path: message' lines (none when valid)."""
    errors = sorted(validator().iter_errors(story), key=lambda e: list(e.absolute_path))
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in errors]


def checked(story: Any) -> Any:
    """``story``, once it has passed the schema (an AssertionError listing every problem
    otherwise; None, for an unknown slug, passes through)."""
    if story is None:
        return None
    found = problems(story)
    assert not found, "story file breaks docs/story-file.schema.json:\n" + "\n".join(found[:20])
    return story
