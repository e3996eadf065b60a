"""A page's own correction and update notices. Pure: HTML bytes in, notices out.

Outlets say on the page when they corrected or updated an article: "Correction: ...",
"Clarification: ...", "An earlier version of this article ...", "This article has been
updated", "Updated March 24, 10:32 a.m.", "Editor's note: ...", and in French "Rectificatif",
"Mise à jour", "Une version précédente de cet article ...". Whether a change to a version was
announced (or made silently) is decided from these (monitor.publish.kinds), so they are read
from the whole page, not from the main text: trafilatura may drop a notice from the main text
(it often sits in a box or a byline line), or keep it.

A notice is found where a text node *starts* with one of those phrases; its text runs from there
to the end of the nearest block element (a paragraph, a box, a list item), so
"By Jane Doe · Updated 10:32 a.m." gives "Updated 10:32 a.m.". The page is the lxml tree
extract() already parsed; parsing it again with beautifulsoup4, as this module did, cost a
third of extract()'s time on the 168 of 519 benchmark pages that needed it (same libxml2 parser
under both, same notices on the 706 pages of ../shared/data). A byte pattern looks for such a
text node first, so that most pages are never walked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from lxml import etree  # type: ignore[import-untyped]

from monitor.extract.meta import Tree
from monitor.extract.text import is_time_stamp
from monitor.extract.tree import drop_comments, load


def _wordset(text: str) -> frozenset[str]:
    """A set of words written as one string, separated by spaces."""
    return frozenset(text.split())


CORRECTION = "correction"
UPDATE = "update"
# "Updated 10:32 a.m. ET, March 24, 2023" and nothing else: many pages move it on every save,
# or with every page view, so it announces no change in particular (monitor.publish.kinds).
TIMESTAMP = "timestamp"

# A notice longer than this is cut: it is evidence to quote, not an article.
MAX_NOTICE = 1000

_DASH = r"\s*[:.\-–—]"
_CORRECTION = re.compile(
    rf"""^(?:
        corrections?{_DASH} | clarifications?{_DASH} | errata?{_DASH}?
      | (?:an?|the)\s+(?:earlier|previous|prior|original)\s+version\s+of\s+this\s+
        (?:article|story|report|post|piece|headline|graphic|video)\b
      | this\s+(?:article|story|report|post)\s+(?:has\s+been|was)\s+(?:corrected|amended)\b
      | rectificatifs?\b | correctifs?{_DASH} | précisions?\s*[:\-–—]
      | une\s+(?:précédente\s+|ancienne\s+)?version\s+(?:précédente\s+|antérieure\s+)?
        de\s+cet\s+article\b
    )""",
    re.IGNORECASE | re.VERBOSE,
)
# Followed by its text: a menu's "Editor's Note" section link is no notice.
_EDITORS_NOTE = re.compile(
    r"^(?:editor'?s'?\s+note|note\s+de\s+la\s+rédaction|note\s+de\s+l'éditeur)\s*[:.\-–—]",
    re.IGNORECASE,
)
# An outlet's standing invitation ("Corrections: if you are aware of an inaccuracy ...") is
# about no change.
_POLICY = re.compile(
    r"\b(?:report|request|submit|send|suggest|signal)\w*\s+(?:an?\s+|une\s+)?"
    r"(?:corrections?|errors?|erreurs?)\b|\bif\s+you\s+(?:are\s+aware|see|spot|notice|find|believe)"
    r"|\bcorrections?\s+policy\b|\bpolitique\s+de\s+correction",
    re.IGNORECASE,
)
_MONTH_OR_DAY = (
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec|mon|tue|wed|thu|fri|sat|sun)[a-z]*\b"
)
_UPDATE = re.compile(
    rf"""^(?:
        this\s+(?:article|story|report|post|page)\s+(?:has\s+been|was|is\s+being|will\s+be)\s+
        updated\b
      | (?:last\s+)?updated\s*(?::|on\b|at\b|\d|{_MONTH_OR_DAY})
      | update\s*(?:\d+\s*)?[:\-–—]
      | (?:dernière\s+)?mise\s+à\s+jour\b | mis\s+à\s+jour\b | actualisé\b
    )""",
    re.IGNORECASE | re.VERBOSE,
)
# "Updated" and a date or time first: a time stamp, however much follows ("Updated: Nov 18,
# 2019 @17:26 PM", "Updated Nov 19, 6:55 AM;Posted ..."), where "Updated: Police have since
# ..." is a note of what changed.
_FR_DATE = (
    r"(?:lun|mar|mer|jeu|ven|sam|dim|janv|f[ée]v|avr|mai|juin|juil|ao[uû]|sept|oct|nov|d[ée]c)"
)
_STAMP = re.compile(
    rf"""^(?:
        (?:last\s+)?updated\s*(?::\s*|on:?\s+|at\s+)?(?:\d|{_MONTH_OR_DAY})
      | (?:dernière\s+)?mise?\s+à\s+jour\s*(?::\s*)?(?:le\s+)?(?:\d|{_FR_DATE})
      | actualisé\s+le\b
    )""",
    re.IGNORECASE | re.VERBOSE,
)
# What an editor's note says when it corrects rather than adds.
_ERROR_WORDS = re.compile(
    r"\b(?:incorrect(?:ly)?|misstated|misidentified|misspelled|misquoted|misattributed|erroneous"
    r"(?:ly)?|error|wrongly|inaccurate(?:ly)?|mistaken(?:ly)?|corrected|erreur|erron|inexact"
    r"|corrigé)",
    re.IGNORECASE,
)

# The first words of any notice, at the start of a text node (after a tag), in the raw bytes:
# UTF-8 or an entity for the accents, any case. Loose on purpose; _classify decides.
_MAYBE = re.compile(
    rb">\s*(?:correction|clarification|errat|an? (?:earlier|previous|prior|original) version"
    rb"|the (?:earlier|previous|prior|original) version|this (?:article|story|report|post|page)"
    rb"|(?:last )?updated?\b|editor|rectificatif|correctif|pr(?:\xc3\xa9|&eacute;|&#233;|e)cision"
    rb"|une (?:pr|version|ancienne)|mise? (?:\xc3\xa0|&agrave;|&#224;|a) jour"
    rb"|derni|note de|actualis)",
    re.IGNORECASE,
)
# A heading that opens a notice box on its own, and the kind of the box.
_HEADING = {
    **dict.fromkeys(
        ["correction", "corrections", "clarification", "rectificatif", "erratum", "correctif"],
        CORRECTION,
    ),
    **dict.fromkeys(["update", "mise à jour", "editor's note", "note de la rédaction"], UPDATE),
}
_BLOCKS = _wordset(
    "p div section aside article li dd dt td th blockquote figcaption header footer main "
    "h1 h2 h3 h4 h5 h6 body"
)
# A link or a menu opens no notice: a footer's "Corrections" page, a menu's "Editor's Note"
# section. Their text still counts inside a notice ("... of <a>this article</a> ...").
_MENUS = _wordset("a nav menu")
_SKIP = _wordset("script style noscript template head title option select button svg")


@dataclass(frozen=True)
class Notice:
    """A notice the page shows: ``correction``, ``update`` or ``timestamp``, and its text."""

    kind: str
    text: str


def classify(text: str) -> str | None:
    """``correction``, ``update`` or ``timestamp`` when ``text`` opens as a notice of that
    kind, else None."""
    text = " ".join(text.replace("’", "'").split())
    kind = _opening_kind(text)
    # The opening first: nearly every paragraph of a text fails it, and cheaply.
    return None if kind is None or _POLICY.search(text) else kind


def _opening_kind(text: str) -> str | None:
    if _CORRECTION.match(text):
        return CORRECTION
    if _EDITORS_NOTE.match(text):
        return CORRECTION if _ERROR_WORDS.search(text) else UPDATE
    if _UPDATE.match(text):
        return TIMESTAMP if is_time_stamp(text) or _STAMP.match(text) else UPDATE
    return None


def find_notices(html: bytes, tree: Tree | None = None) -> tuple[Notice, ...]:
    """Every notice of the page ``html``, in page order, each once.

    ``tree`` is the page already parsed (monitor.extract.tree, comments dropped), as extract()
    has it; without it the page is parsed here.
    """
    if tree is None:
        # The byte pattern spares most pages a parse; it costs more than the search below on
        # a tree already parsed (1.4 ms a page against 0.5).
        tree = load(html) if _MAYBE.search(html) else None
        if tree is None:
            return ()
        drop_comments(tree)
    # Plain strings first: making an element object per text node costs more than the rest of
    # the search, and most pages hold no text node that may open a notice.
    places = [i for i, text in enumerate(_TEXTS(tree), 1) if _may_open(text)]
    if not places:
        return ()
    found: list[Notice] = []
    # Each block's text read once: a block of a thousand lines that may open a notice ("The
    # earlier bus ...") was read again for each, 1.6 s for 500 (the time grew as their square).
    texts: dict[Tree, str] = {}
    for string in _smart_strings(tree, places):
        parent, _ = _owner(string)
        if parent is None or _skipped(parent, _MENUS):
            continue
        notice = _notice(" ".join(str(string).split()), _block(parent), texts)
        # Once: a box repeated for another layout, or the second string of a notice already
        # read whole ("<b>Correction:</b> An earlier version ...").
        if notice is not None and not any(
            notice.text.casefold() in f.text.casefold() for f in found
        ):
            found.append(notice)
    return tuple(found)


# Every text node under an element, in page order, as lxml "smart strings" that know their
# element (getparent) and whether they are its text or its tail; comments' text is no node.
_TEXT_NODES = etree.XPath(".//text()")
_TEXTS = etree.XPath(".//text()", smart_strings=False)


# At most this many text nodes are fetched by their place in one XPath (12 at most on a page of
# the benchmark): libxml2 evaluates the "or" of the places on every text node, and a few
# thousand of them exceed its recursion limit.
_FEW_PLACES = 40


def _smart_strings(tree: Tree, places: list[int]) -> list[Any]:
    """The page's text nodes at ``places`` (counted from 1, in page order) as smart strings.

    By their places, in one XPath, rather than every text node of the page made a smart string
    and all but these dropped: on the 161 of 519 benchmark pages that hold a node that may open
    a notice, find_notices took 0.44-0.47 s, now 0.37-0.39 s.
    """
    if len(places) > _FEW_PLACES:
        wanted = set(places)
        return [s for i, s in enumerate(_TEXT_NODES(tree), 1) if i in wanted]
    return list(tree.xpath(f"(.//text())[{' or '.join(f'position()={i}' for i in places)}]"))


def _owner(string: Any) -> tuple[Tree | None, Tree | None]:
    """The element a text node is in, and the element it follows (None when it opens its
    element): a tail belongs to its element's parent and follows the element."""
    element = string.getparent()
    if element is None:
        return None, None
    if string.is_tail:
        return element.getparent(), element
    return element, None


def _notice(start: str, block: Tree, texts: dict[Tree, str]) -> Notice | None:
    """The notice a text node opening with ``start`` begins, if it is one: from there to the
    end of its block, or, for a heading alone ("Correction"), the box the heading opens.
    ``texts``: the blocks' texts read so far (the dict holds the elements, so lxml gives the
    same object for a block asked for again)."""
    whole = _read(block, texts)
    kind = None
    if len(whole.split(maxsplit=3)) <= 3 and block.getparent() is not None:
        kind = _HEADING.get(whole.casefold().rstrip(" :.-–—"))
        block = _block(block.getparent())
        whole = _read(block, texts)
    text = whole[whole.find(start) :] if start in whole else start
    kind = kind or classify(text)
    if kind is None:
        return None
    return Notice(kind, text if len(text) <= MAX_NOTICE else text[: MAX_NOTICE - 1] + "…")


def _read(block: Tree, texts: dict[Tree, str]) -> str:
    whole = texts.get(block)
    if whole is None:
        whole = texts[block] = _text(block)
    return whole


def _skipped(element: Tree, more: frozenset[str] = frozenset()) -> bool:
    return any(e.tag in _SKIP or e.tag in more for e in (element, *element.iterancestors()))


def _block(element: Tree) -> Tree:
    """The nearest block element holding ``element`` (itself included)."""
    return next((e for e in (element, *element.iterancestors()) if e.tag in _BLOCKS), element)


def _text(block: Tree) -> str:
    """The text of ``block`` as a reader sees it: strings run on as written, but strings of
    different blocks, across a <br>, or of two elements that would otherwise glue two words
    ("Updated" and "21:22" in two spans) are separated by a space."""
    out: list[str] = []
    last: Tree | None = None
    for string in _TEXT_NODES(block):
        parent, after = _owner(string)
        if parent is None or _skipped(parent):
            continue
        text = str(string)
        if out and (
            _block(parent) is not _block(last if last is not None else parent)
            or (after is not None and after.tag == "br")
            or (parent is not last and out[-1][-1:].isalnum() and text[:1].isalnum())
        ):
            out.append(" ")
        out.append(text)
        last = parent
    return " ".join("".join(out).split())


_OPENING = re.compile(
    r"^(?:correction|clarification|errat|an?\s|the\s|this\s|last\s|update|editor|rectificatif"
    r"|correctif|précision|une\s|mise?\s|dernière|note\s|actualisé)",
    re.IGNORECASE,
)


# Every opening of _CORRECTION, _EDITORS_NOTE and _UPDATE is shorter than this ("une ancienne
# version antérieure de cet article" is 46 characters): a text node this long that opens with
# none of them opens no notice, whatever follows it in its block.
_WHOLE_OPENING = 80


def _may_open(text: str) -> bool:
    """Whether a text node may open a notice: it starts with a notice's first word and, when it
    is long enough to hold a whole opening, with a whole opening ("The minister said ..."
    starts as "The earlier version of ..." would, but cannot be one)."""
    text = text.strip()
    if not _OPENING.match(text):
        return False
    if len(text) >= _WHOLE_OPENING:
        return _opening_kind(" ".join(text.replace("’", "'").split())) is not None
    return _may_begin(text.replace("’", "'").split())


# The words an opening of _CORRECTION, _UPDATE or _EDITORS_NOTE (or a _HEADING) has after
# the commonest first words of a text node: "The minister" opens none, "The earlier" may.
_EARLIER = ("earlier", "previous", "prior", "original")
_SECOND: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("a", "an", "the"), _EARLIER),
    "this": ("article", "story", "report", "post", "page"),
}
_EDITORS = ("editor", "editors", "editor's", "editors'", "editor's'")


def _may_begin(words: list[str]) -> bool:
    """Whether a short text node's ``words`` can begin an opening, whatever its block adds
    after it. A last word may be cut by the end of the node ("The ear" then "lier version"
    in a <span>): it need only begin a word the opening has there. Words that are not plain
    ASCII are let through (the regular expressions' case folding is not str.lower()'s).

    Without this, most pages hold a short node such as "The Guardian" or "A guide to ...",
    and the search below went on to read every text node of 161 of the 519 benchmark pages
    for nothing."""
    if not all(w.isascii() for w in words[:2]):
        return True
    first = words[0].lower()
    if first.startswith("editor"):  # "Editor's note", not "Editorial"
        return first in _EDITORS if len(words) > 1 else any(o.startswith(first) for o in _EDITORS)
    options = _SECOND.get(first)
    if options is None or len(words) < 2:
        return True
    second = words[1].lower()
    return second in options if len(words) > 2 else any(o.startswith(second) for o in options)
