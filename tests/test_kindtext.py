"""Change kinds said in words (monitor.publish.kindtext) for the renderings: each kind's
evidence read as a sentence, anything else shown as it is."""

from __future__ import annotations

from monitor.publish import kindtext, render


def test_each_kind_is_said_with_its_evidence() -> None:
    """Every kind the versions stage records reads as a sentence naming its evidence."""
    said = dict(
        kindtext.describe(k)
        for k in [
            {"kind": "headline", "evidence": {"old": "Deal near", "new": "Deal done"}},
            {
                "kind": "correction",
                "evidence": {
                    "replaced": [
                        {"old": "12", "new": "21", "type": "number", "sentence": "21 went."}
                    ],
                    "notices": ["Correction: we said 12."],
                },
            },
            {"kind": "update", "evidence": {"sentences": 2, "paragraphs": 1, "text": ["New."]}},
            {
                "kind": "removal",
                "evidence": {
                    "quotes": ["“No,” he said."],
                    "paragraphs": [],
                    "sentences": ["Gone."],
                },
            },
            {"kind": "edit", "evidence": {"sentences": 1, "moved": 2}},
            {"kind": "byline", "evidence": {"old": ["A"], "new": ["A", "B"]}},
            {"kind": "return", "evidence": {"version": 1}},
            {"kind": "silent", "evidence": {"notices": ["Updated 9:05"], "updated_at": None}},
        ]
    )
    assert said == {
        "headline": "the headline “Deal near” became “Deal done”",
        "correction": "number 12 became 21 in “21 went.”; the page says “Correction: we said 12.”",
        "update": "2 sentences (1 new paragraph) added, starting “New.”",
        "removal": "taken out: the quotation ““No,” he said.”; “Gone.”",
        "edit": "1 sentence reworded, 2 sentences moved",
        "byline": "the byline A became A, B",
        "return": "back to the text and title of version 1",
        "silent": "no new correction or update notice on the page (it shows only “Updated 9:05”)",
    }


def test_an_unknown_shape_is_shown_as_it_is_and_long_quotes_are_cut() -> None:
    """An unknown kind or an evidence of another shape comes out as JSON text, a kind that is
    not an object as its text, and a quotation past 160 characters is cut at a word."""
    assert kindtext.describe({"kind": "new", "evidence": {"b": 1}}) == ("new", '{"b": 1}')
    assert kindtext.describe({"kind": "headline", "evidence": ["x"]}) == ("headline", '["x"]')
    assert kindtext.describe({"kind": "update", "evidence": {"text": 5}}) == (
        "update", '{"text": 5}')  # fmt: skip
    assert kindtext.describe("odd") == ("odd", "")
    long = kindtext.quoted("word " * 60)
    assert long.endswith(" …”") and len(long) <= kindtext.QUOTE_CHARS + 4


def test_the_markdown_says_each_versions_kinds_with_their_evidence_escaped() -> None:
    """A version's kinds are listed under it in the Markdown, their evidence escaped."""
    version = {
        "version": 2,
        "fetched_at": "2024-01-01T00:00:00+00:00",
        "changes": {"words_added": 1, "words_removed": 1, "title_changed": False},
        "kinds": [{"kind": "headline", "evidence": {"old": "<b>x</b>", "new": "*y*"}}],
    }
    note = render._version_note(version)  # fmt: skip
    assert "\n    - headline: the headline “&lt;b&gt;x&lt;/b&gt;” became “\\*y\\*”" in note
