"""The news services' answers read as a live service's odd answers come: no XML, a link that
carries no target, GDELT JSON that is not its list, entries without a usable URL or time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from monitor.archive import news
from monitor.errors import ParseError


def test_item_outlets_names_only_items_with_a_link_and_a_source_and_reads_no_xml_as_none():
    """Each item's link names the outlet its <source> gives; an item without either is left
    out, and an answer that is not XML names no outlet rather than failing the poll."""
    body = (
        b"<rss><channel>"
        b"<item><link>https://a.example/1</link><source url='https://a.example'>A Daily</source>"
        b"</item><item><link>https://b.example/2</link><source> </source></item>"
        b"<item><source>No Link</source></item>"
        b"</channel></rss>"
    )
    assert news.item_outlets(body) == {"https://a.example/1": "A Daily"}
    assert news.item_outlets(b"<html><body>Service unavailable") == {}


def test_bing_target_is_the_url_parameter_when_it_is_a_web_address():
    """A Bing News link gives the outlet's URL in its ``url`` parameter; a parameter that is no
    web address, or none, leaves the link as it is."""
    link = "https://www.bing.com/news/apiclick.aspx?url=https%3a%2f%2fc.example%2fstory&c=1"
    assert news.bing_target(link) == "https://c.example/story"
    odd = "https://www.bing.com/news/apiclick.aspx?url=javascript%3aalert(1)"
    assert news.bing_target(odd) == odd
    assert news.bing_target("https://c.example/plain") == "https://c.example/plain"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"articles": [', "not GDELT's JSON"),
        (b"[1, 2]", "expected an object"),
        (b'{"articles": {"url": "x"}}', "articles is not a list"),
    ],
)
def test_gdelt_answers_that_are_not_its_list_are_parse_errors(body: bytes, message: str):
    """Truncated JSON, a JSON array, or ``articles`` that is no list: a ParseError naming what
    was wrong, recorded against the source like a broken feed."""
    with pytest.raises(ParseError, match=message):
        news.gdelt_articles(body)


def test_gdelt_entries_keep_web_addresses_and_read_both_time_forms():
    """Only http(s) URLs become entries; GDELT's ``20230324T153000Z`` and the DOC API's
    ``YYYYMMDDhhmmss`` are both UTC times, anything else no time; an empty answer is no entry."""
    body = (
        b'{"articles": ["odd", {"url": "ftp://d.example/x"}, '
        b'{"url": "https://d.example/a", "title": "A", "seendate": "20230324T153000Z",'
        b' "domain": "d.example"}, {"url": "https://d.example/b", "seendate": "soon"}]}'
    )
    first, second = news.gdelt_articles(body)
    assert (first.url, first.title, first.outlet) == ("https://d.example/a", "A", "d.example")
    assert first.published_at == datetime(2023, 3, 24, 15, 30, tzinfo=UTC)
    assert (second.title, second.published_at, second.outlet) == (None, None, None)
    assert news.gdelt_time("20230324153000") == datetime(2023, 3, 24, 15, 30, tzinfo=UTC)
    assert news.gdelt_articles(b"") == []
