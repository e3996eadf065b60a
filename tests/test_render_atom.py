"""The story's timeline as an Atom 1.0 feed (monitor.publish.atom): valid by the grammar and the
RFC's rules (tests/atomcheck.py), read by feedparser with the same entries, with ids that stay
the same from one export to the next."""

from __future__ import annotations

import copy
import io
from datetime import datetime

import feedparser
import pytest

from monitor.publish import atom, render
from tests import atomcheck, hostile

A = atomcheck.A


@pytest.fixture(scope="module")
def feed_bytes(hostile_story) -> bytes:
    return render.render(hostile_story["story"], "atom").encode("utf-8")


def test_the_feed_is_valid_atom(feed_bytes):
    """The hostile story's feed passes the RELAX NG grammar of RFC 4287 and its prose rules."""
    assert atomcheck.problems(feed_bytes) == []


BREAKAGES = [
    ("<updated>2024-05-02T17:00:00Z</updated>", "", 1),  # the feed's updated
    ("</generator>", "</generator>\n  <id>tag:x.example,2024:again</id>", 1),
    ("<updated>2024-05-02T17:00:00Z</updated>", "<updated>2024-05-02 17:00:00Z</updated>", 1),
    ("<updated>2024-05-02T17:00:00Z</updated>", "<updated>2024-05-02t17:00:00z</updated>", 1),
    ('href="https://copy.example/c"', 'href="/c"', 1),
    ("v5</id>", "v4</id>", 1),
    ("<name>news-monitor</name>", "<name>news-monitor</name><email>x</email>", 1),
    ('<category term="removed"', '<category', 1),
    ("<content type=\"text\">", "<content type=\"text\"><b>x</b>", 1),
    ("tag:news-monitor.invalid,2026:", "tag:news-monitor.invalid:", 1),
]  # fmt: skip


@pytest.mark.parametrize(("old", "new", "count"), BREAKAGES)
def test_the_checker_finds_each_breach(feed_bytes, old, new, count):
    """Each way a feed can break RFC 4287 (a missing or doubled element, a date that is not
    RFC 3339, a relative link, a duplicate id, no author anywhere, markup in a text construct,
    a malformed tag: URI) is found: the validation can fail."""
    text = feed_bytes.decode("utf-8")
    assert old in text, old
    assert atomcheck.problems(text.replace(old, new, count).encode("utf-8"))


def test_a_feed_with_no_author_needs_one_on_every_entry(feed_bytes):
    """Without the feed's author the feed stays valid while every entry has one, and is not
    once an entry has none (RFC 4287 4.1.1)."""
    text = feed_bytes.decode("utf-8").replace(
        "<author>\n    <name>news-monitor</name>\n  </author>", "", 1
    )
    assert atomcheck.problems(text.encode("utf-8")) == []
    entry_author = "<author>\n      <name>Evil Post</name>\n    </author>"
    assert entry_author in text
    found = atomcheck.problems(text.replace(entry_author, "", 1).encode("utf-8"))
    assert found and "no author" in found[0]


def test_feedparser_reads_every_event_as_an_entry(hostile_story, feed_bytes):
    """feedparser reads the feed without complaint, with one entry per event, newest first,
    each with the event's id, title, time, link (http(s) articles) and category."""
    parsed = feedparser.parse(io.BytesIO(feed_bytes), response_headers={"content-type":
                              "application/atom+xml; charset=utf-8"})  # fmt: skip
    assert not parsed.bozo, parsed.get("bozo_exception")
    assert parsed.version == "atom10"
    story = hostile_story["story"]
    assert parsed.feed.title == hostile.STORY_TITLE
    assert parsed.feed.id == "tag:news-monitor.invalid,2026:hostile"
    events = list(reversed(story["timeline"]))
    assert len(parsed.entries) == len(events)
    for entry, event in zip(parsed.entries, events, strict=True):
        assert entry.id == f"tag:news-monitor.invalid,2026:hostile/v{event['story_version']}"
        at = datetime.fromisoformat(event["at"])
        assert entry.updated_parsed[:6] == at.utctimetuple()[:6]
        assert entry.title.endswith(f"{event['outlet']}: {event['title'] or event['url']}")
        assert entry.tags[0].term == event["event"]
        alternates = [x.href for x in entry.get("links", []) if x.rel == "alternate"]
        assert alternates == ([event["url"]] if event["url"].startswith("https:") else [])
        assert entry.author == event["outlet"]


def test_entry_ids_stay_the_same_as_the_story_grows(hostile_story):
    """An export after a new event has one entry more, first, and every earlier entry with
    the id, title and time it had; ``entries=N`` keeps the newest N."""
    story = hostile_story["story"]
    grown = copy.deepcopy(story)
    grown["timeline"].append({**story["timeline"][1], "at": "2024-05-03T08:00:00+00:00",
                              "event": "update", "story_version": 6})  # fmt: skip
    grown["version"], grown["updated_at"] = 6, "2024-05-03T08:00:00+00:00"

    def entries(s: dict, **options) -> list[tuple]:
        parsed = feedparser.parse(io.BytesIO(atom.feed(s, **options).encode("utf-8")))
        return [(e.id, e.title, e.updated) for e in parsed.entries]

    before, after = entries(story), entries(grown)
    assert after[1:] == before
    assert after[0][0].endswith("/v6")
    assert entries(grown, entries=2) == after[:2]


def test_a_feed_of_ones_own_tag_authority(hostile_story):
    """``tag_authority`` names the ids' authority; a malformed one is refused."""
    text = atom.feed(hostile_story["story"], tag_authority="newsroom.example.org,2024-05")
    assert "<id>tag:newsroom.example.org,2024-05:hostile/v5</id>" in text
    assert atomcheck.problems(text.encode("utf-8")) == []
    for bad in ("example.org", "example.org,24", "exa mple.org,2024", "a:b,2024"):
        with pytest.raises(ValueError, match="tag authority"):
            atom.feed(hostile_story["story"], tag_authority=bad)


def test_control_characters_from_the_web_leave_the_feed_well_formed(hostile_story):
    """A title holding characters XML 1.0 cannot carry loses them; the feed stays valid."""
    story = copy.deepcopy(hostile_story["story"])
    story["timeline"][0]["title"] = "Bell\x07 and \x00null\x1b[31m and \ufffe"
    data = atom.feed(story).encode("utf-8")
    assert atomcheck.problems(data) == []
    assert "Bell and null[31m and" in feedparser.parse(io.BytesIO(data)).entries[-1].title
