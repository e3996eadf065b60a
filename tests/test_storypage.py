"""The story page's fast model (``storage.storypage.outline`` through ``monitor.web.storypage``)
against the page made from the full story file (``storage.storyfile.build`` through
``monitor.publish.page.model``), on the hostile story: the two must never drift."""

from __future__ import annotations

from typing import Any

import pytest

from monitor.publish import page
from monitor.web import storypage as storymodel
from storage import storyfile, storypage
from storage.db import open_database
from tests import hostile

# What the story page's list shows of an article (page.head's keys), beside its page link.
HEAD = ("id", "title", "url", "href", "relation", "status", "published_at", "published_shown",
        "first_seen_at", "first_seen_shown", "copy_of")  # fmt: skip


def from_story_file(story: dict[str, Any], ids: dict[str, int]) -> dict[str, Any]:
    """The story page's data as made from the full story file (how monitor serve made it
    before it read its own rows): every mark, grouped; the newest events; every article."""

    def link(url: str) -> str:
        return f"/articles/{ids[url]}"

    full = page.model(story)
    timeline = full["timeline"]
    for m, e in zip(timeline["markers"], story["timeline"], strict=True):
        m["link"] = link(e["url"])
    timeline["markers"] = storymodel.grouped(timeline["markers"])
    events = full["events"][: storymodel.EVENTS_SHOWN]
    for e, raw in zip(events, reversed(story["timeline"]), strict=False):
        e["page"] = link(raw["url"])
    shown = [
        (o["name"], o["domain"],
         {**{k: a[k] for k in HEAD}, "page": link(a["url"]), "version_count": len(a["versions"])})
        for o in full["outlets"] for a in o["articles"]
    ]  # fmt: skip
    kept = ("title", "slug", "version", "updated_at", "updated_shown", "counts")
    return {**{k: full[k] for k in kept}, "timeline": timeline, "events_shown": events,
            "shown": shown, "total": len(shown)}  # fmt: skip


@pytest.mark.parametrize("max_marks", [storymodel.MAX_MARKS, 2])
def test_the_fast_story_page_model_equals_the_one_from_the_story_file(
    hostile_story, monkeypatch, max_marks
):
    """The story page's model read from its own rows is the one made from the full story file:
    counts, lanes, ticks, every mark (and grouped ones, with MAX_MARKS lowered to 2), the events,
    each article's fields, copy, page link and version count."""
    monkeypatch.setattr(storymodel, "MAX_MARKS", max_marks)
    db = open_database(f"sqlite:///{hostile_story['db']}")
    try:
        with db.read() as session:
            story = storyfile.build(session, hostile.SLUG)
            rows = storypage.outline(session, hostile.SLUG)
            ids = {a.url: a.id for a in rows.members} if rows else {}
            ids |= {e.url: e.article_id for e in rows.events} if rows else {}
    finally:
        db.close()
    assert story is not None and rows is not None
    fast = storymodel.model(rows, offset=0, limit=10_000)
    assert fast == from_story_file(story, ids)
    assert fast["timeline"]["markers"] and fast["counts"]["copies"] == 1
    if max_marks == 2:  # five lanes and kinds: a group each, linking nowhere
        assert all(m["link"] is None for m in fast["timeline"]["markers"])
    assert storymodel.model(rows, offset=1, limit=1)["shown"] == fast["shown"][1:2]


def test_a_story_that_does_not_exist_has_no_outline(hostile_story):
    """outline() of an unknown slug is None (the page answers 404 before asking)."""
    db = open_database(f"sqlite:///{hostile_story['db']}")
    try:
        with db.read() as session:
            assert storypage.outline(session, "no-such-story") is None
    finally:
        db.close()
