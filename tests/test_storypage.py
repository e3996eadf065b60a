"""The story page's fast model (``storage.storypage.outline`` through ``monitor.web.storypage``)
against the page made from the full story file (``storage.storyfile.build`` through
``monitor.publish.page.model``), on the hostile story: the two must never drift."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from monitor.publish import page
from monitor.web import storypage as storymodel
from storage import articles, members, stories, storyfile, storypage, types
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


def both(url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The hostile story's page model in the database ``url``, fast and from the file."""
    db = open_database(url)
    try:
        with db.read() as session:
            story = storyfile.build(session, hostile.SLUG)
            rows = storypage.outline(session, hostile.SLUG)
    finally:
        db.close()
    assert story is not None and rows is not None
    ids = {m.url: m.id for m in rows.members} | {e.url: e.article_id for e in rows.events}
    return storymodel.model(rows, offset=0, limit=10_000), from_story_file(story, ids)


@pytest.mark.parametrize("max_marks", [storymodel.MAX_MARKS, 2])
def test_the_fast_story_page_model_equals_the_one_from_the_story_file(
    hostile_story, monkeypatch, max_marks
):
    """The story page's model read from its own rows is the one made from the full story file:
    counts, lanes, ticks, every mark (and grouped ones, with MAX_MARKS lowered to 2), the
    events, each article's fields, copy, page link and version count."""
    monkeypatch.setattr(storymodel, "MAX_MARKS", max_marks)
    fast, full = both(f"sqlite:///{hostile_story['db']}")
    assert fast == full
    assert fast["timeline"]["markers"] and fast["counts"]["copies"] == 1
    if max_marks == 2:  # five lanes and kinds: a group each, linking nowhere
        assert all(m["link"] is None for m in fast["timeline"]["markers"])
    db = open_database(f"sqlite:///{hostile_story['db']}")
    try:
        with db.read() as session:
            rows = storypage.outline(session, hostile.SLUG)
    finally:
        db.close()
    assert rows is not None
    assert storymodel.model(rows, offset=1, limit=1)["shown"] == fast["shown"][1:2]


def test_a_report_known_by_its_day_and_an_article_gone_are_placed_alike(db_url):
    """On SQLite and PostgreSQL, a member published on a day known without its time (its report
    placed among that day's timed ones) and an event of an article outside the story (the
    off-topic one, dropped) are in the fast model where the story file puts them."""
    day = datetime(2024, 5, 2, tzinfo=UTC)
    db = open_database(db_url)
    try:
        hostile.write(db)
        with db.write() as session:
            story = stories.story_by_slug(session, hostile.SLUG)
            off = articles.find_article(session, "https://evil.example/off")
            assert story is not None and off is not None
            dated = articles.create_article(
                session, url="https://day.example/d", outlet="Day Paper", domain="day.example",
                title="Known by its day", first_seen_at=hostile.T0 + timedelta(hours=3),
                language="en", published_at=day, published_precision="day",
            )  # fmt: skip
            hostile._version(session, dated, hostile.TEXT_1, "Known by its day", hostile.T0)
            members.record_decision(session, story_id=story.id, article_id=dated.id,
                                    relation="original", copy_of_id=None, similarity=0.8,
                                    match={"kind": "same_story"}, now=hostile.T0)  # fmt: skip
            for article, event, at in [
                (dated, "first_report", day),
                (off, "dropped", hostile.T0 + timedelta(hours=4)),
            ]:
                stories.add_event(session, story_id=story.id, article_id=article.id,
                                  event=event, at=at, now=at, article_version=None)  # fmt: skip
    finally:
        db.close()
    fast, full = both(db_url)
    assert fast == full
    order = [(e["outlet"], e["label"]) for e in fast["events_shown"]]
    # newest first: placed at the day's last timed report (the copy at 10:00), after it
    at = order.index(("Day Paper", "first report"))
    assert order[at + 1] == (hostile.COPY_OUTLET, "copy") and ("Evil Post", "dropped") in order


def test_a_story_that_does_not_exist_has_no_outline(hostile_story):
    """outline() of an unknown slug is None (the page answers 404 before asking)."""
    db = open_database(f"sqlite:///{hostile_story['db']}")
    try:
        with db.read() as session:
            assert storypage.outline(session, "no-such-story") is None
    finally:
        db.close()


def test_stored_times_read_in_one_pass_are_the_column_types_times():
    """storage.storypage.texts_as_micros reads SQLite's stored times (years 1 to 9999, leap days,
    whole seconds, before 1970) as the column type reads them, and a text of another shape (no
    fraction, another offset) too."""
    rnd = random.Random(18)
    first = datetime(1, 1, 1, tzinfo=UTC)
    times = [first + timedelta(microseconds=rnd.randrange(315_537_897_600_000_000))
             for _ in range(20_000)]  # fmt: skip
    times += [datetime(2024, 2, 29, 23, 59, 59, 999_999, tzinfo=UTC),
              datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC),
              datetime(2024, 5, 2, tzinfo=UTC)]  # fmt: skip
    texts = [t.isoformat(timespec="microseconds") for t in times]
    texts += ["2024-05-02T10:00:00+00:00", "2024-05-02T12:00:00.5+02:00", "2024-05-02T10:00Z"]
    expected = [types.micros(types.from_text(t)) for t in texts]
    assert storypage.texts_as_micros(texts).tolist() == expected
    assert [types.from_micros(m) for m in expected[:-3]] == times


def test_mark_positions_are_rounded_as_python_rounds():
    """The marks' x placed in numpy are the doubles page.frame's round(x, 1) gives, on values
    drawn at random and on values within a rounding error of a half, where numpy's own
    rounding (times ten first) differs."""
    rnd = random.Random(18)
    span, plot = 3_600_000_000 * 24 * 30, 3_912
    after = np.array([rnd.randrange(span + 1) for _ in range(100_000)], dtype=np.int64)
    halves = [h / 10 + 0.05 for h in range(440, 39_560, 7)]  # x = k/10 + 1/20, nearly
    near = [round((x - page.PAD) / plot * span) for x in halves]
    after = np.concatenate([after, np.array(near, dtype=np.int64)])
    expected = [round(page.PAD + plot * (a / span), 1) for a in after.tolist()]
    got = storymodel.positions(after, span, plot).tolist()
    assert got == expected
    raw = page.PAD + plot * (after / span)
    assert (np.round(raw, 1) != np.array(expected)).any()  # the case the fallback is for
