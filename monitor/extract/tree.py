"""Parse an article page once, for every reader of monitor.extract. Pure: bytes in, a tree out.

The page is read the way trafilatura's ``load_html`` reads it (its charset detection and
repairs, libxml2's HTML parser without ids or processing instructions), with one difference:
the comments stay in until htmldate has read the tree (2 of the 195 Media Cloud pages hold their
date only in a comment), then ``drop_comments`` takes them out, so that trafilatura, the
metadata and the notices get the very tree trafilatura's own parse gives (F1 0.961 against
0.957 with the comments in). Parsing once instead of twice (trafilatura's tree, then htmldate's
from the bytes) saves about 4 ms a page. A second difference makes no other tree: the elements'
Python class is chosen by lxml in C (see _PARSER), not by lxml.html's Python lookup.
"""

from __future__ import annotations

from lxml import etree  # type: ignore[import-untyped]
from lxml.html import (  # type: ignore[import-untyped]
    HtmlComment,
    HtmlElement,
    HtmlProcessingInstruction,
    fromstring,
)
from trafilatura.utils import decode_file, is_dubious_html, repair_faulty_html

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
    text = repair_faulty_html(text, beginning)
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
