"""monitor.extract.byline finds the byline trafilatura's extract_author finds, without its copy
of the page (the equality on every page of ../shared/data is in benchmarks/README.md)."""

from __future__ import annotations

import pytest
from trafilatura.metadata import extract_author

from monitor.extract.byline import find_byline
from monitor.extract.tree import drop_comments, load


def _tree(body: str):  # type: ignore[no-untyped-def]
    tree = load(f"<html><head><title>t</title></head><body>{body}</body></html>".encode())
    assert tree is not None
    return drop_comments(tree)


PAGES = {
    "specific before generic": (
        '<div class="story-byline">Desk Staff Writer</div>'
        '<p>Text</p><a rel="author" href="/jane">Jane Doe</a>'
    ),
    "a generic class": '<p>Intro</p><span class="byline">By John Smith</span>',
    "an author element": "<author>Ann Example</author>",
    "an id": '<div id="author-box"><b>Written by</b> Maria Rossi</div>',
    "itemprop": '<span itemprop="author"><span itemprop="name">Ken Tanaka</span></span>',
    "data attributes": (
        '<div data-component="ArticleByline">Lee Park</div>'
        '<span data-testid="AuthorCard">Sam Lowe</span>'
    ),
    "inside a comment box (cut)": (
        '<div class="comments"><span class="author">Reader One</span></div>'
        '<span class="author-name">Real Author</span>'
    ),
    "a date inside the byline, cut with its tail kept": (
        '<div class="byline">By Jo Bloggs<time>March 3</time>, Reporter</div>'
    ),
    "cut elements glue their tails": (
        '<p class="author">Anna<figure>x</figure>belle <span class="date">today</span>Kay</p>'
    ),
    "too long, then the next": (
        f'<div class="author">{"word " * 40}</div><div class="author">Short Name</div>'
    ),
    "inside a sidebar (cut)": (
        '<aside><div class="sidebar"><p class="byline">Side Guy</p></div></aside>'
    ),
    "a rel child element": '<div><rel>me</rel>Odd Page</div><span class="byline">By Al Ng</span>',
    "no byline": "<p>Just text, nothing else.</p>",
}


@pytest.mark.parametrize("body", PAGES.values(), ids=PAGES.keys())
def test_find_byline_equals_trafilatura(body: str) -> None:
    """find_byline returns what trafilatura's extract_author returns, rule by rule."""
    assert find_byline(_tree(body)) == extract_author(_tree(body))


def test_find_byline_reads_the_cut_page() -> None:
    """Text inside a cut element is left out and the tail after it is kept (trafilatura then
    splits the names at the comma)."""
    got = find_byline(_tree(PAGES["a date inside the byline, cut with its tail kept"]))
    assert got == "Jo Bloggs; Reporter"
