"""The visible byline: trafilatura's ``extract_author`` in one pass over the tree. Pure.

trafilatura finds a byline with three XPaths (``trafilatura.xpaths.AUTHOR_XPATHS``), most
specific first, over a deep copy of the page from which comment boxes, sidebars, dates and
figures have been cut (``AUTHOR_DISCARD_XPATHS``). libxml2 walks the whole page for each of
those four XPaths and calls back into Python for every ``re:test``: about 9 ms a page, on the
third of the pages whose JSON-LD and meta tags name nobody (1.6 s of CPU on the 519 pages of
benchmarks/extraction.py, the largest part of extract() after trafilatura's text). Here one
walk over the page's elements tests the same predicates with the same regular expressions,
and the texts are read as they would be after the cut, without copying the page: the same
byline as ``extract_author`` on the 1,049 pages of ../shared/data (tests/test_byline.py pins
it on pages built to exercise each rule).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from lxml import etree  # type: ignore[import-untyped]
from trafilatura.json_metadata import normalize_authors
from trafilatura.metadata import extract_author
from trafilatura.utils import trim

from monitor.extract.meta import Tree

# trafilatura.xpaths.AUTHOR_XPATHS, one predicate each, in their order.
_TAGS_0 = frozenset({"a", "address", "div", "link", "p", "span", "strong"})
_IDS_0 = frozenset({"author"})
_CLASS_0 = re.compile("author-?name|AuthorName|authorName")
_TESTIDS_0 = frozenset({"AuthorCard", "AuthorURL"})
_TAGS_1 = frozenset({"a", "div", "h3", "h4", "p", "span"})
_CLASSES_1 = frozenset({"byline", "username", "byl", "BBL"})
_ID_1 = re.compile("author|zuozhe|bianji|xiaobian")
_CLASS_1 = re.compile(
    "author|channel-name|zuozhe|bianji|xiaobian|submitted-by|posted-by|journalist-name"
)
_ID_2 = re.compile("[Aa]uthor")
_CLASS_2 = re.compile("[Aa]uthor|screenname|writer|[Bb]yline")
# trafilatura.xpaths.AUTHOR_DISCARD_XPATHS: what is cut from the page before the search.
_TAGS_CUT = frozenset({"a", "div", "section", "span"})
_CLASSES_CUT = frozenset({"comments", "title", "date"})
_ID_CUT = re.compile("^comments|comment-?list|ProductReviews")
_CLASS_CUT = re.compile(
    "^[Cc]omments|commentlist|comments-list|sidebar|is-hidden|quote|embedly-instagram"
    "|article-(?:share|support)|print|category|meta-date|meta-reviewer"
)
_ALWAYS_CUT = frozenset({"time", "figure"})
# The longest byline trafilatura takes (extract_metainfo's len_limit for authors).
_LONGEST = 120


def _cut(el: Tree, tag: str, cls: str) -> bool:
    if tag in _ALWAYS_CUT:
        return True
    if tag not in _TAGS_CUT:
        return False
    ident = el.get("id") or ""
    return (
        ident == "comments"
        or cls in _CLASSES_CUT
        or bool(_ID_CUT.search(ident) or _CLASS_CUT.search(cls))
        or "Figure" in (el.get("data-component") or "")
    )


def _rank(el: Tree, tag: str, cls: str) -> int | None:
    """Which of trafilatura's three XPaths ``el`` answers first (0 to 2), or None."""
    ident, itemprop = el.get("id") or "", el.get("itemprop") or ""
    if tag == "author" or (
        tag in _TAGS_0
        and (
            el.get("rel") == "author"
            or ident in _IDS_0
            or cls == "author"
            or itemprop == "author name"
            or el.get("data-testid") in _TESTIDS_0
            or _CLASS_0.search(cls)
        )
    ):
        return 0
    if tag in _TAGS_1 and (
        cls in _CLASSES_1 or "author" in itemprop or _ID_1.search(ident) or _CLASS_1.search(cls)
    ):
        return 1
    if (
        "Byline" in (el.get("data-component") or "")
        or "author" in itemprop
        or _ID_2.search(ident)
        or _CLASS_2.search(cls)
    ):
        return 2
    return None


def _texts(el: Tree, cut: set[Tree]) -> Iterator[str]:
    """``el.itertext()`` as it would read once the elements of ``cut`` are deleted the way
    trafilatura deletes them: a deleted element's tail joins the text before it."""
    slots: list[str | None] = [el.text]
    for child in el:
        if child in cut:
            if child.tail:
                slots[-1] = (slots[-1] or "") + child.tail
            continue
        slots.extend(_texts(child, cut))
        slots.append(child.tail)
    return (s for s in slots if s is not None)


def find_byline(tree: Tree) -> str | None:
    """What ``trafilatura.metadata.extract_author(tree)`` returns, found in one walk."""
    if tree.find(".//rel") is not None:
        # AUTHOR_XPATHS[0] also asks for a child element <rel> reading "me" (no HTML page has
        # one on ../shared/data); left to trafilatura itself.
        return extract_author(tree)
    cut: set[Tree] = set()
    found: list[list[Tree]] = [[], [], []]
    for el in tree.iter(etree.Element):
        tag, cls = el.tag, el.get("class") or ""
        if _cut(el, tag, cls):
            cut.add(el)
        rank = _rank(el, tag, cls)
        if rank is not None:
            found[rank].append(el)
    for candidates in found:
        for el in candidates:
            if el in cut or any(a in cut for a in el.iterancestors()):
                continue
            content = trim(" ".join(_texts(el, cut)))
            if content and 2 < len(content) < _LONGEST:
                return normalize_authors(None, content)
    return None
