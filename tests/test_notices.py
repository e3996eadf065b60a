"""A page's own correction and update notices (monitor.extract.notices) and the time stamps
the text leaves out (monitor.extract.text.is_time_stamp): pure, HTML in, notices out."""

from __future__ import annotations

import pytest

from monitor.cli.present import extracted as extract_line
from monitor.extract import Notice, extract
from monitor.extract.notices import _FEW_PLACES, _TEXTS, _may_open, classify, find_notices
from monitor.extract.text import is_time_stamp
from monitor.extract.tree import drop_comments, load

BODY = " ".join(
    f"Sentence {i} of the report says officials met in Ottawa to discuss the border deal."
    for i in range(10)
)


def page(extra: str, *, prolog: str = "") -> bytes:
    return (
        f"{prolog}<html><head><title>Deal</title></head><body><nav><a href='/e'>Editor's Note</a>"
        f"</nav><article><h1>Deal reached at the border</h1>{extra}<p>{BODY}</p></article>"
        "<script>var s = 'Correction: not shown';</script></body></html>"
    ).encode()


@pytest.mark.parametrize(
    ("markup", "notices"),
    [
        (
            "<div class='correction'><p><strong>Correction:</strong> An earlier version of this "
            "article misstated the toll.</p></div>",
            [("correction", "Correction: An earlier version of this article misstated the toll.")],
        ),
        (
            "<aside><h4>Correction</h4><p>The toll was 21, not 12.</p></aside>",
            [("correction", "Correction The toll was 21, not 12.")],
        ),
        (
            "<p><em>An earlier version of this story gave the wrong date.</em></p>",
            [("correction", "An earlier version of this story gave the wrong date.")],
        ),
        (
            "<p>Rectificatif : le bilan était de 21 morts.</p>"
            "<p>Une version précédente de cet article indiquait 12 morts.</p>",
            [
                ("correction", "Rectificatif : le bilan était de 21 morts."),
                ("correction", "Une version précédente de cet article indiquait 12 morts."),
            ],
        ),
        (
            "<p><b>Mise à jour</b> : le ministre a répondu samedi.</p>",
            [("update", "Mise à jour : le ministre a répondu samedi.")],
        ),
        (
            "<p>This article has been updated with the minister's reply.</p>",
            [("update", "This article has been updated with the minister's reply.")],
        ),
        (
            "<p>Editor’s note: This story was updated at 5:45 p.m. to add the vote.</p>"
            "<p>Editor's note: An earlier version misidentified the minister.</p>",
            [
                ("update", "Editor’s note: This story was updated at 5:45 p.m. to add the vote."),
                ("correction", "Editor's note: An earlier version misidentified the minister."),
            ],
        ),
        (
            "<div class='meta'>By Jane Doe <span>Updated</span><span>21:22, 6 OCT 2020</span>"
            "</div>",
            [("timestamp", "Updated 21:22, 6 OCT 2020")],
        ),
        (
            "<p>Updated: Nov 18, 2019 @17:26 PM</p>"
            "<p>Update: Police have since made an arrest.</p>",
            [
                ("timestamp", "Updated: Nov 18, 2019 @17:26 PM"),
                ("update", "Update: Police have since made an arrest."),
            ],
        ),
        (
            "<footer><a href='/corrections'>Corrections</a> <a href='/about'>About us</a></footer>",
            [],
        ),
        (
            "<p>Corrections: If you are aware of an inaccuracy, please report a correction.</p>",
            [],
        ),
        ("<p>Updated figures show the toll rose.</p>", []),
    ],
)
def test_notices_are_found_in_the_page_with_their_kind_and_text(
    markup: str, notices: list[tuple[str, str]]
) -> None:
    """Correction, update and time-stamp notices, in English and French, are found where a
    text node opens with them and quoted to the end of their block; a menu's "Editor's Note",
    a script, a corrections policy and "Updated figures ..." are no notices."""
    assert [(n.kind, n.text) for n in find_notices(page(markup))] == notices


@pytest.mark.parametrize(
    ("markup", "notices"),
    [
        (
            "<p><b>The earlier</b> version of this article misstated the toll.</p>",
            [("correction", "The earlier version of this article misstated the toll.")],
        ),
        (
            "<p>The ear<span></span>lier version of this story gave the wrong date.</p>",
            [("correction", "The earlier version of this story gave the wrong date.")],
        ),
        (
            "<p><b>Editor</b>’s note: An earlier version misidentified the minister.</p>",
            [("correction", "Editor’s note: An earlier version misidentified the minister.")],
        ),
        ("<h4>Editorials</h4><p>The minister said the deal was done.</p>", []),
    ],
)
def test_an_opening_split_across_elements_is_found(
    markup: str, notices: list[tuple[str, str]]
) -> None:
    """A notice whose first words sit in one element and the rest in the next ("<b>The
    earlier</b> version ...", a word cut by an empty <span>) is found; "Editorials" and "The
    minister ..." open none. The tree is given, as extract() gives it (the byte pattern that
    spares a parse without one looks for the opening words together)."""
    html = page(markup)
    tree = drop_comments(load(html))
    assert [(n.kind, n.text) for n in find_notices(html, tree)] == notices


def test_a_page_opening_with_an_xml_declaration_is_read_without_a_warning() -> None:
    """An XHTML page with an XML prolog is read as HTML (bs4 would warn, an error here)."""
    got = find_notices(
        page("<p>Clarification: the vote was on Tuesday.</p>", prolog="<?xml version='1.0'?>")
    )
    assert got == (Notice("correction", "Clarification: the vote was on Tuesday."),)


def test_a_notice_shown_twice_is_listed_once() -> None:
    """Pages repeat a box for other layouts: one notice."""
    box = "<p>Correction: the toll was 21.</p>"
    assert len(find_notices(page(box + box))) == 1


def test_extract_carries_the_notices_and_the_extract_command_prints_them() -> None:
    """``Extracted.notices`` holds the page's notices and ``monitor extract`` prints them as
    ``notices``."""
    got = extract(page("<p>Correction: the toll was 21, not 12.</p>"), "https://a.test/x")
    assert got.notices == (Notice("correction", "Correction: the toll was 21, not 12."),)
    assert extract_line("x.html", got)["notices"] == [
        {"kind": "correction", "text": "Correction: the toll was 21, not 12."}
    ]


@pytest.mark.parametrize(
    ("paragraph", "stamp"),
    [
        ("Updated 10:32 a.m. ET, March 24, 2023", True),
        ("Last updated:", True),
        ("Updated 16M ago", True),
        ("Updated 2010 GMT (0410 HKT) March 14, 2021", True),
        ("Publié le 24 mars 2023 à 10 h 32", True),
        ("Mis à jour le 24/03/2023 à 10h32", True),
        ("Updated figures show the toll rose to 12.", False),
        ("The vote is on March 24.", False),
        ("4:14 p.m.", False),
        ("29 November 2018 | 20 January 2019", False),
    ],
)
def test_a_time_stamp_paragraph_is_told_from_text(paragraph: str, stamp: bool) -> None:
    """Only a stamp opened by its word ("Updated", "Publié le") is a stamp; a bare time or
    date may be the article's (the extraction benchmark's truth has both)."""
    assert is_time_stamp(paragraph) is stamp


def test_a_changing_time_stamp_in_the_text_leaves_the_text_unchanged() -> None:
    """The page's "Updated 10:32" paragraph is not in the extracted text, so moving it to
    11:05 changes nothing a version is made of."""
    texts = {
        extract(page(f"<p>Updated {t} a.m. ET, March 24, 2023</p>"), "https://a.test/x").text
        for t in ("10:32", "11:05")
    }
    assert len(texts) == 1 and "Updated" not in next(iter(texts))


def test_classify_reads_a_notice_s_opening_only() -> None:
    """A correction's words later in a sentence do not make it a notice."""
    assert classify("Officials said a correction would be published.") is None
    assert classify("Clarification — the vote was on Tuesday.") == "correction"


def test_a_page_with_many_possible_openings_still_finds_its_notice():
    """More text nodes that may open a notice than one XPath fetches by place are all read
    (the other way), the notice among them found once."""
    teasers = "".join(f"<p>The earlier bus number {i} ran late again.</p>" for i in range(100))
    html = page(f"{teasers}<p>Correction: An earlier version misstated the date.</p>")
    tree = drop_comments(load(html))
    assert len([t for t in _TEXTS(tree) if _may_open(t)]) > _FEW_PLACES
    assert find_notices(html, tree) == (
        Notice("correction", "Correction: An earlier version misstated the date."),
    )


def test_a_block_of_many_possible_openings_is_read_once(monkeypatch: pytest.MonkeyPatch):
    """Hundreds of lines that may open a notice in one block ("The earlier bus ..." by <br>)
    read that block's text once, not once a line (the time grew as their square: 1.6 s for
    500), and the notice after them is still found."""
    from monitor.extract import notices

    read: list[str] = []
    text_of = notices._text
    monkeypatch.setattr(notices, "_text", lambda block: read.append(block.tag) or text_of(block))
    lines = "".join(
        f"<span>The earlier bus number {i} ran late again.</span><br>" for i in range(300)
    )
    html = page(f"<p>{lines}</p><p>Correction: An earlier version misstated the date.</p>")
    assert find_notices(html, drop_comments(load(html))) == (
        Notice("correction", "Correction: An earlier version misstated the date."),
    )
    assert read == ["p", "p"]  # each of the two paragraphs once
