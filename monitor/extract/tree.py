"""Parse an article page once, for every reader of monitor.extract. Pure: bytes in, a tree out.

The page is read the way trafilatura's ``load_html`` reads it (its charset detection and
repairs, libxml2's HTML parser without ids or processing instructions), with one difference:
the comments stay in until htmldate has read the tree (2 of the 195 Media Cloud pages hold their
date only in a comment), then ``drop_comments`` takes them out, so that trafilatura, the
metadata and the notices get the very tree trafilatura's own parse gives (F1 0.961 against
0.957 with the comments in). Parsing once instead of twice (trafilatura's tree, then htmldate's
from the bytes) saves about 4 ms a page. Two more differences make no other tree: the elements'
Python class is chosen by lxml in C (see _PARSER), not by lxml.html's Python lookup, and the
repair before the parse skips its search for invalid XML characters when the page has none
(``repair``).
"""

from __future__ import annotations

from lxml import etree  # type: ignore[import-untyped]
from lxml.html import (  # type: ignore[import-untyped]
    HtmlComment,
    HtmlElement,
    HtmlProcessingInstruction,
    fromstring,
)
from trafilatura.utils import (
    DOCTYPE_TAG,
    FAULTY_HTML,
    decode_file,
    is_dubious_html,
    repair_faulty_html,
)

from monitor.extract.meta import Tree

# trafilatura.utils.HTML_PARSER with remove_comments=False, and with lxml's C-level default
# class lookup in place of lxml.html's Python one: lxml.html.HTMLParser asks a Python method
# which class to give every element it hands out (3 million calls on 519 pages, a tenth of an
# extraction's CPU, inside trafilatura's passes too, since its copies keep the tree's parser).
# Every element is an HtmlElement either way; only <form>, <input>, <select>, <textarea> and
# <label> lose lxml.html's form helpers, which nothing here (nor trafilatura, htmldate or
# justext) uses. Same output on the 707 pages of ../shared/data.
_PARSER = etree.HTMLParser(
    collect_ids=False,
    default_doctype=False,
    encoding="utf-8",
    remove_comments=False,
    remove_pis=True,
)
_PARSER.set_element_class_lookup(
    etree.ElementDefaultClassLookup(
        element=HtmlElement, comment=HtmlComment, pi=HtmlProcessingInstruction
    )
)


# The characters trafilatura.utils.INVALID_XML_CHARS matches. Its repair_faulty_html removes
# them with a regular expression that reads the page one character at a time (0.42 s of the
# 519 benchmark pages' 1.4 s of parsing, for 2 pages that hold any); a str's ``in`` looks for
# one character as memchr does: the 31 of them in 0.15 s.
_INVALID_XML = [chr(c) for c in range(0x20) if c not in (0x09, 0x0A, 0x0D)] + ["\ufffe", "\uffff"]


def repair(text: str, beginning: str) -> str:
    """trafilatura.utils.repair_faulty_html(text, beginning), the same string, faster on a page
    with no invalid XML character (nearly every page): its removal is then skipped."""
    if any(c in text for c in _INVALID_XML):
        return repair_faulty_html(text, beginning)
    # The rest of repair_faulty_html, step for step.
    if "doctype" in beginning:
        firstline, _, rest = text.partition("\n")
        text = DOCTYPE_TAG.sub("", firstline, count=1) + "\n" + rest
    for line in text[:4096].splitlines()[:4]:
        if "<html" in line and line.endswith("/>"):
            text = FAULTY_HTML.sub(r"\1>", text, count=1)
            break
    return text


def _from_bytes(text: str) -> Tree | None:
    try:
        return fromstring(text.encode("utf8", "surrogatepass"), parser=_PARSER)
    except Exception:  # lxml raises a variety of errors on hostile bytes
        return None


def load(html: bytes) -> Tree | None:
    """The page's tree, comments kept, or None when the bytes hold no HTML page.

    trafilatura.utils.load_html's steps, in its order: decode (charset detection), repair, parse
    the text, else its UTF-8 bytes; a page with no "html" in its first 50 characters and fewer
    than two children under the root is no page.
    """
    text = decode_file(html)
    beginning = text[:50].lower()
    text = repair(text, beginning)
    tree: Tree | None
    tried_bytes = False
    try:
        tree = fromstring(text, parser=_PARSER)
    except ValueError:  # "Unicode strings with encoding declaration are not supported."
        tree, tried_bytes = _from_bytes(text), True
    except Exception:  # lxml raises a variety of errors on hostile bytes; then try the bytes
        tree = None
    if (tree is None or len(tree) < 1) and not tried_bytes:
        tree = _from_bytes(text)
    if tree is not None and is_dubious_html(beginning) and len(tree) < 2:
        return None
    return tree


def drop_comments(tree: Tree) -> Tree:
    """The tree without its comments (in place), their tails kept: what trafilatura's parse,
    which drops them, would have given."""
    etree.strip_elements(tree, etree.Comment, with_tail=False)
    return tree
