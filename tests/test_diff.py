"""What changed between two versions, without a network or a database: sentences split and
aligned (monitor.publish.align), the change kinds and their evidence (monitor.publish.kinds),
the stored diff (monitor.publish.diff) and the ``changes`` summary it keeps as it was."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.extract import Notice
from monitor.publish.align import align, split, word_edits
from monitor.publish.diff import compare, summarise
from monitor.publish.kinds import Snapshot, change_kinds

LEAD = "Police at Roxham Road turned back 12 asylum seekers on Friday, officers said."
SECOND = "The agreement takes effect at midnight and covers the whole land border."
THIRD = "Quebec had asked for the crossing to be closed since last year."
QUOTE = "“This is a sad day for refugees,” said Janet Dench of the refugee council."


def text(*paragraphs: str) -> str:
    return "\n\n".join(paragraphs)


def kinds_of(
    old_text: str, new_text: str, old: dict | None = None, new: dict | None = None
) -> dict[str, object]:
    """The kinds of the change, by name, with the snapshots' other fields from ``old``/``new``."""
    before = Snapshot("Title", old_text, **(old or {}))
    after = Snapshot("Title", new_text, **(new or {}))
    found = change_kinds(before, after, align(old_text, new_text))
    return {k["kind"]: k["evidence"] for k in found}


@pytest.mark.parametrize(
    ("paragraph", "sentences"),
    [
        (
            "Mr. Trudeau met U.S. President Joe Biden. They spoke for 2.5 hours.",
            ["Mr. Trudeau met U.S. President Joe Biden.", "They spoke for 2.5 hours."],
        ),
        (
            "“It is over,” she said. « C’est fini », a dit M. Legault. J. Smith left!",
            ["“It is over,” she said.", "« C’est fini », a dit M. Legault.", "J. Smith left!"],
        ),
        (
            "The vote was 12-3. 15 members abstained.",
            ["The vote was 12-3.", "15 members abstained."],
        ),
        ("No end here, e.g. this one stays whole", ["No end here, e.g. this one stays whole"]),
    ],
)
def test_sentences_end_at_a_full_stop_before_a_capital_but_not_after_an_abbreviation(
    paragraph: str, sentences: list[str]
) -> None:
    """A sentence ends at . ! ? before a capital, a digit or a quote; titles, initials,
    "U.S." and decimals do not end one."""
    assert [s.text for s in split(paragraph)] == sentences


def test_sentences_carry_their_paragraph() -> None:
    """Each sentence knows the paragraph it is in, counted from 0 over the blank lines."""
    got = split(text(f"{LEAD} {SECOND}", THIRD))
    assert [(s.paragraph, s.text) for s in got] == [(0, LEAD), (0, SECOND), (1, THIRD)]


def test_an_identical_text_aligns_with_nothing_changed() -> None:
    """Two equal texts (but for spacing and punctuation) have only unchanged sentences."""
    got = align(text(LEAD, SECOND), text(LEAD.replace(",", ""), "  " + SECOND))
    assert (got.same, got.changed, got.added, got.removed, got.moved) == (
        [(0, 0), (1, 1)],
        [],
        [],
        [],
        [],
    )


def test_a_reworded_sentence_is_changed_and_its_edit_names_the_words() -> None:
    """A sentence that kept most of its words is paired as changed, and the edit says which
    words became which, at which positions."""
    new = LEAD.replace("12", "21").replace("officers said", "police officers said")
    got = align(text(LEAD, SECOND), text(new, SECOND))
    assert got.changed == [(0, 0)]
    assert [(e.op, e.old, e.new, e.old_at, e.new_at) for e in got.edits[(0, 0)]] == [
        ("replace", "12", "21", 6, 6),
        ("insert", "", "police", 11, 11),
    ]


def test_a_punctuation_change_is_no_word_edit() -> None:
    """Words compared on their normalised form: a comma or a dash alone is no edit."""
    assert word_edits("Yes, he said — twice.", "Yes he said twice!") == []


def test_sentences_added_removed_and_moved_are_told_apart() -> None:
    """An unmatched new sentence is added, an unmatched old one removed, and of two sentences
    that swapped places the fewest that explain the new order are moved."""
    old = text(LEAD, SECOND, THIRD, QUOTE)
    new = text(THIRD, LEAD, SECOND, "Officers were posted on both sides of the road.")
    got = align(old, new)
    assert got.same == [(0, 1), (1, 2), (2, 0)]
    assert (got.added, got.removed, got.moved) == ([3], [3], [(2, 0)])


def test_an_unrelated_sentence_is_not_paired_as_changed() -> None:
    """A replacement sharing few words with the old sentence is a removal and an addition."""
    got = align(LEAD, "Markets rallied on Friday after the central bank held rates.")
    assert (got.changed, got.added, got.removed) == ([], [0], [0])


def test_the_stored_diff_lists_each_change_with_its_positions_and_counts() -> None:
    """``compare``'s diff: the title change, sentences added, removed, changed (with word
    edits) and moved, each with its index, and the counts."""
    found = compare(
        Snapshot("Old title", text(LEAD, SECOND, QUOTE)),
        Snapshot("New title", text(SECOND, LEAD.replace("12", "21"), THIRD)),
    )
    assert found.diff == {
        "title": {"old": "Old title", "new": "New title"},
        "added": [{"new": 2, "paragraph": 2, "text": THIRD}],
        "removed": [{"old": 2, "paragraph": 2, "text": QUOTE}],
        "changed": [
            {
                "old": 0,
                "new": 1,
                "old_text": LEAD,
                "new_text": LEAD.replace("12", "21"),
                "edits": [{"op": "replace", "old": "12", "new": "21", "old_at": 6, "new_at": 6}],
            }
        ],
        # Either of the two swapped sentences explains the new order: one is named.
        "moved": [{"old": 0, "new": 1, "text": LEAD.replace("12", "21")}],
        "counts": {
            "old_sentences": 3,
            "new_sentences": 3,
            "unchanged": 1,
            "changed": 1,
            "added": 1,
            "removed": 1,
            "moved": 1,
        },
    }
    assert found.kind_names == ["headline", "correction", "update", "removal", "edit", "silent"]


@pytest.mark.parametrize(
    ("before", "after", "kind"),
    [
        ("12", "21", "number"),
        ("twelve", "21", "number"),
        ("1.5", "22", "number"),
        ("Friday", "Saturday", "date"),
        ("2023-03-24", "2023-03-25", "date"),
        ("Dench", "Densch", "name"),
    ],
)
def test_a_number_date_or_name_replaced_is_a_correction_naming_both(
    before: str, after: str, kind: str
) -> None:
    """Inside a changed sentence, a number, a date or a name replaced by another of its kind
    is a correction whose evidence names the old and new tokens and quotes the sentence."""
    sentence = "The report by {} counted the people who crossed the road at night."
    old, new = sentence.format(before), sentence.format(after)
    assert kinds_of(old, new)["correction"] == {
        "replaced": [{"old": before, "new": after, "type": kind, "sentence": new}],
        "notices": [],
    }


def test_rewording_without_a_number_date_or_name_is_an_edit_not_a_correction() -> None:
    """ "said" becoming "told reporters" is an edit: counted, not a correction."""
    old = "The minister said the crossing would close at midnight on the border."
    new = "The minister told reporters the crossing would close at midnight on the border."
    assert kinds_of(old, new) == {
        "edit": {"sentences": 1, "moved": 0},
        "silent": {"notices": [], "updated_at": {"old": None, "new": None}},
    }


def test_a_new_correction_notice_is_a_correction_and_the_change_is_not_silent() -> None:
    """A correction notice the page did not show before is quoted as the correction's
    evidence; its sentence in the text is not an update; nothing is silent."""
    notice = "Correction: An earlier version of this article misspelled Janet Dench's name."
    got = kinds_of(
        text(LEAD, SECOND),
        text(notice, LEAD, SECOND),
        new={"notices": (Notice("correction", notice),)},
    )
    assert got == {"correction": {"replaced": [], "notices": [notice]}}


def test_a_notice_already_shown_announces_nothing_new() -> None:
    """The same correction notice on both versions: a later edit is silent, and the silent
    evidence quotes the notices the page shows."""
    notice = Notice("correction", "Correction: An earlier version misstated the toll.")
    got = kinds_of(
        text(LEAD, SECOND),
        text(LEAD, SECOND, THIRD),
        old={"notices": (notice,)},
        new={"notices": (notice,)},
    )
    assert got["silent"] == {"notices": [notice.text], "updated_at": {"old": None, "new": None}}


def test_an_update_notice_makes_added_sentences_an_announced_update() -> None:
    """Paragraphs added under "This article has been updated ...": an update quoting the
    sentences and the notice, not silent."""
    notice = "This article has been updated with the minister's reply."
    got = kinds_of(
        text(LEAD, SECOND),
        text(LEAD, SECOND, THIRD, notice),
        new={"notices": (Notice("update", notice),)},
    )
    assert got == {
        "update": {"sentences": 1, "paragraphs": 1, "text": [THIRD], "notices": [notice]}
    }


def test_a_moved_time_stamp_does_not_announce_a_change() -> None:
    """ "Updated 10:32" becoming "Updated 11:05" is no notice of this change: it stays silent,
    and the moved dateModified is shown as evidence."""
    old_stamp = Notice("timestamp", "Updated 10:32 a.m. ET")
    new_stamp = Notice("timestamp", "Updated 11:05 a.m. ET")
    times = [datetime(2023, 3, 24, h, tzinfo=UTC) for h in (10, 11)]
    got = kinds_of(
        text(LEAD, SECOND),
        text(LEAD, SECOND, THIRD),
        old={"notices": (old_stamp,), "updated_at": times[0]},
        new={"notices": (new_stamp,), "updated_at": times[1]},
    )
    assert got["silent"] == {
        "notices": [new_stamp.text],
        "updated_at": {"old": times[0].isoformat(), "new": times[1].isoformat()},
    }


def test_a_quote_taken_out_is_quoted_whole_or_from_inside_a_sentence() -> None:
    """A removed paragraph is quoted whole, and a quotation cut from a sentence that stays
    (changed) is quoted too."""
    kept = "Janet Dench of the refugee council called it “a betrayal of our values” on Friday."
    cut = "Janet Dench of the refugee council criticised it on Friday."
    got = kinds_of(text(LEAD, QUOTE, kept), text(LEAD, cut))
    assert got["removal"] == {
        "quotes": ["This is a sad day for refugees,", "a betrayal of our values"],
        "paragraphs": [QUOTE],
        "sentences": [],
    }


def test_a_changed_byline_is_reported_but_one_that_appears_is_not() -> None:
    """Authors Jane Doe -> John Roe is a byline change; no byline -> Jane Doe is not (some
    fetches find none)."""
    texts = (text(LEAD, SECOND), text(LEAD, SECOND, THIRD))
    changed = kinds_of(*texts, old={"authors": ("Jane Doe",)}, new={"authors": ("John Roe",)})
    assert changed["byline"] == {"old": ["Jane Doe"], "new": ["John Roe"]}
    assert "byline" not in kinds_of(*texts, new={"authors": ("Jane Doe",)})


def test_a_return_names_the_version_it_returns_to() -> None:
    """``returns_to`` gives a ``return`` kind naming that version, beside the headline."""
    found = compare(Snapshot("B", LEAD), Snapshot("A", LEAD), returns_to=1)
    assert found.kinds[:2] == [
        {"kind": "headline", "evidence": {"old": "B", "new": "A"}},
        {"kind": "return", "evidence": {"version": 1}},
    ]
    assert found.diff["counts"]["unchanged"] == 1


def test_the_changes_summary_keeps_its_public_form() -> None:
    """``changes`` (a story-file contract) keeps its keys and counts."""
    assert summarise("A", text(LEAD, SECOND), "B", text(LEAD, THIRD)) == {
        "words_added": 11,
        "words_removed": 11,
        "paragraphs_added": 1,
        "paragraphs_removed": 1,
        "title_changed": True,
        "previous_title": "A",
    }
