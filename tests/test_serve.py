"""``monitor serve``'s JSON API and pages through a real server on 127.0.0.1 (uvicorn in a
thread, tests/webserver.py), over the hostile story of tests/hostile.py in a real SQLite file
and in the real PostgreSQL (the API's tests run on both):
three outlets, an edited article, a copy, an off-topic article, every value from the web
hostile. Bad parameters, unknown ids, FTS-looking queries, the token, ETags, pagination, the
OpenAPI description; and the command itself, end to end, in a subprocess."""

from __future__ import annotations

import base64
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import lxml.html
import pytest

from monitor.web import api, openapi, pages
from monitor.web import storypage as storymodel
from storage.db import open_database
from tests import hostile
from tests.conftest import REPO
from tests.webserver import serving


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def web(request: pytest.FixtureRequest, hostile_story: dict) -> Iterator[httpx.Client]:
    """A client of the server over the hostile story, with small pages (3 items), on each
    backend: the SQLite file of ``hostile_story``, or the same story written into PostgreSQL
    (its file must come out the same)."""
    database: Path | str = hostile_story["db"]
    if request.param == "postgresql":
        database = request.getfixturevalue("postgres_server").new_database()
        db = open_database(database)
        try:
            hostile.write(db)
        finally:
            db.close()
    with (
        serving(database, page_size=3, max_page_size=50) as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        yield client


def ok_json(response: httpx.Response) -> dict:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()


def error_of(response: httpx.Response, status: int) -> str:
    """The message of a JSON error answered with ``status``, checked for its shape."""
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and body["error"]["status"] == status
    return body["error"]["message"]


def test_the_story_and_its_file_articles_versions_and_facts_are_served(web, hostile_story):
    """The story list, the story, its file (the export's JSON, byte for byte), its members,
    an article with its stories and versions, and a version with its text and side-by-side
    rows, each with links that lead to it."""
    listed = ok_json(web.get("/api/stories"))
    assert [s["slug"] for s in listed["items"]] == [hostile.SLUG] and listed["total"] == 1
    story = ok_json(web.get(listed["items"][0]["links"]["self"]))
    file = ok_json(web.get(story["links"]["file"], params={"facts": "false"}))
    assert {k: v for k, v in file.items() if k != "facts"} == {
        k: v for k, v in hostile_story["story"].items() if k != "facts"
    }
    members = ok_json(web.get(story["links"]["articles"]))
    assert members["total"] == 3 and {a["relation"] for a in members["items"]} == {
        "seed", "original", "copy",
    }  # fmt: skip
    edited = next(a for a in members["items"] if a["versions"] == 2)
    article = ok_json(web.get(edited["links"]["self"]))
    assert article["title"] == hostile.ORIGINAL_NEW_TITLE
    assert [m["relation"] for m in article["stories"]] == ["original"]
    second = ok_json(web.get(article["versions"][1]["links"]["self"]))
    assert second["text"] == hostile.TEXT_2 and second["side_by_side"]
    first = ok_json(web.get(article["versions"][0]["links"]["self"]))
    assert first["side_by_side"] is None
    ok_json(web.get(story["links"]["facts"]))


def test_every_list_is_paged_with_next_links_to_the_end(web):
    """Following ``next`` from the first page of articles (3 a page) visits every article
    once, and ``prev`` of the second page leads back to the first."""
    seen, url, pages_seen = [], "/api/articles", []
    while url:
        page = ok_json(web.get(url))
        pages_seen.append(page)
        seen += [a["id"] for a in page["items"]]
        url = page["links"]["next"]
    assert len(seen) == len(set(seen)) == pages_seen[0]["total"] == 4
    assert len(pages_seen) == 2 and pages_seen[0]["links"]["prev"] is None
    assert ok_json(web.get(pages_seen[1]["links"]["prev"]))["items"] == pages_seen[0]["items"]
    for path in ("/api/sources", "/api/digests", "/api/stories"):
        assert {"items", "total", "limit", "offset", "links"} <= set(ok_json(web.get(path)))


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/api/articles?limit=0", "limit: expected a whole number from 1 to 50, got '0'"),
        ("/api/articles?limit=51", "limit: expected a whole number from 1 to 50, got '51'"),
        ("/api/articles?limit=ten", "limit: expected a whole number from 1 to 50, got 'ten'"),
        ("/api/articles?offset=-1", "offset: expected a whole number from 0, got '-1'"),
        ("/api/articles?colour=red", "colour: unknown parameter (known: limit, offset,"),
        ("/api/articles?relation=friend&story=hostile", "relation: expected one of seed,"),
        ("/api/articles?relation=copy", "relation: needs story"),
        ("/api/stories/hostile/file?facts=maybe", "facts: expected true or false, got 'maybe'"),
        ("/api/search", "q: expected the text to search for"),
        ("/api/search?q=x&since=yesterday", "since: expected an ISO 8601 date"),
        ("/api/search?q=x&until=2024-05-02T10:00", "until: expected an ISO 8601 date"),
    ],
)
def test_a_bad_parameter_is_400_naming_it(web, path, message):
    """A parameter out of range, not a number, unknown, not one of its choices, missing or
    unreadable as a time: 400, the message naming the parameter and what it expects."""
    assert error_of(web.get(path), 400).startswith(message)


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("/api/stories/nope", "no story 'nope'"),
        ("/api/stories/nope/file", "no story 'nope'"),
        ("/api/articles/99999", "no article 99999"),
        ("/api/articles/x1", "no article 'x1'"),
        ("/api/articles/2/versions/9", "no version 9 of article 2"),
        ("/api/articles?story=nope", "no story 'nope'"),
        ("/api/nothing", "no such path: /api/nothing"),
    ],
)
def test_an_unknown_id_is_404(web, path, message):
    """A story, article or version that is not there, or a path no route has: 404 as JSON."""
    assert error_of(web.get(path), 404) == message


def test_the_server_only_reads_and_says_so(web):
    """POST, PUT and DELETE are 405 with the methods allowed and a JSON error."""
    for method in ("POST", "PUT", "DELETE"):
        response = web.request(method, "/api/stories")
        assert "only reads" in error_of(response, 405)
        assert "GET" in response.headers["allow"]


QUERIES = [
    '"', '"unbalanced phrase', 'NEAR(roxham road, 2)', "*", "roxham*", "title:roxham",
    "text:roxham OR title:x", "roxham AND NOT", "-", "^roxham", "'; DROP TABLE articles; --",
    "%_%", "\\", "roxham\x00road", "{roxham}", "Élysée", "r" * 10_000, "roxham " * 1_400,
]  # fmt: skip


@pytest.mark.parametrize("query", QUERIES)
def test_a_query_that_looks_like_fts_syntax_is_answered_not_a_500(web, query):
    """Quotes, NEAR, a lone ``*``, column filters, SQL and LIKE wildcards, a NUL, 10,000
    characters: a page of results or a 400 naming q, never a server error."""
    response = web.get("/api/search", params={"q": query})
    if response.status_code == 400:
        assert error_of(response, 400).startswith("q:")
    else:
        assert "items" in ok_json(response)
    assert web.get("/search", params={"q": query}).status_code in (200, 400)


def test_a_search_finds_the_story_and_links_its_articles(web):
    """Searching a word of the texts finds the story's articles, each linked to its page,
    with its score (the story's name, in most of the archive, is weighed at 1e-6 by BM25:
    still shown, not 0)."""
    found = ok_json(web.get("/api/search", params={"q": "roxham", "story": hostile.SLUG}))
    assert found["items"] and all(
        h["links"]["page"].startswith("/articles/") for h in found["items"]
    )
    assert all(h["score"] > 0 for h in found["items"])


def test_a_search_says_whether_its_total_is_exact(web, monkeypatch):
    """A search's page says total_exact: true when its matches were counted, false when the
    query matched more than the search ranks whole and its total is an estimate; the
    OpenAPI description names the field."""
    from storage import searchsql

    counted = ok_json(web.get("/api/search", params={"q": "roxham"}))
    assert counted["total_exact"] is True and counted["total"] >= 3
    monkeypatch.setattr(searchsql, "RANK_ALL", 1)
    monkeypatch.setattr(searchsql, "WINDOW", 1)
    estimated = ok_json(web.get("/api/search", params={"q": "roxham", "limit": 1}))
    assert estimated["total_exact"] is False and len(estimated["items"]) == 1
    schema = ok_json(web.get("/openapi.json"))["components"]["schemas"]["SearchPage"]
    assert "total_exact" in schema["allOf"][1]["required"]


def test_etag_from_the_story_version_and_304(web):
    """The story file's ETag names the story's version; asked again with If-None-Match it is
    304 with no body; any other answer has an ETag of its body that works the same way."""
    first = web.get("/api/stories/hostile/file")
    tag = first.headers["etag"]
    assert re.fullmatch(r'W/"story-\d+-v\d+-file-1"', tag)
    again = web.get("/api/stories/hostile/file", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == tag
    page = web.get("/stories/hostile")
    assert (
        web.get("/stories/hostile", headers={"If-None-Match": page.headers["etag"]}).status_code
        == 304
    )
    articles = web.get("/api/articles")
    repeat = web.get("/api/articles", headers={"If-None-Match": articles.headers["etag"]})
    assert repeat.status_code == 304 and first.headers["cache-control"] == "no-cache"


def test_every_route_is_in_the_openapi_description(web):
    """/openapi.json describes every API route and no other, each with its parameters."""
    document = ok_json(web.get("/openapi.json"))
    assert document["openapi"].startswith("3.1")
    routed = {r.path for r in pages.routes() if r.path.startswith("/api/")}
    assert set(document["paths"]) == routed == set(api.HANDLERS) == set(openapi.PARAMETERS)
    for path, item in document["paths"].items():
        named = {p["name"] for p in item["get"]["parameters"] if p["in"] == "path"}
        assert named == set(re.findall(r"{(\w+)}", path)), path


def test_every_page_is_html_with_no_script_and_the_hostile_values_as_text(web):
    """Each page answers HTML with a strict CSP and no script or element the web sent; the
    hostile titles are text; a missing story is a 404 page."""
    members = ok_json(web.get("/api/stories/hostile/articles"))["items"]
    paths = ["/", "/stories/hostile", "/stories/hostile/facts", "/search?q=roxham", "/sources",
             *(a["links"]["page"] for a in members)]  # fmt: skip
    for path in paths:
        response = web.get(path)
        assert response.status_code == 200, path
        assert "default-src 'none'" in response.headers["content-security-policy"]
        doc = lxml.html.document_fromstring(response.text)
        assert not doc.xpath("//script | //img | //iframe | //*[@onerror] | //*[@onload]"), path
    story_text = lxml.html.document_fromstring(web.get("/stories/hostile").text).text_content()
    assert hostile.STORY_TITLE in story_text
    missing = web.get("/stories/nope")
    assert missing.status_code == 404
    assert "no story 'nope'" in lxml.html.document_fromstring(missing.text).text_content()


@pytest.fixture(scope="module")
def locked(hostile_story: dict) -> Iterator[httpx.Client]:
    with (
        serving(hostile_story["db"], token="s3cret") as url,
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        yield client


def test_a_token_is_required_for_everything_but_healthz(locked):
    """With [web] token set: /healthz answers without it; the API and the pages are 401 with
    no token or a wrong one (asking for Bearer or Basic), 200 with it as Bearer or as the
    Basic password."""
    assert locked.get("/healthz").json() == {"status": "ok"}
    for path in ("/api/stories", "/", "/openapi.json", "/api/nothing"):
        response = locked.get(path)
        assert error_of(response, 401).startswith("a token is required")
        assert 'Basic realm="news-monitor"' in response.headers.get_list("www-authenticate")
        assert error_of(locked.get(path, headers={"Authorization": "Bearer nope"}), 401)
    assert locked.get("/api/stories", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    basic = base64.b64encode(b"anyone:s3cret").decode()
    assert locked.get("/", headers={"Authorization": f"Basic {basic}"}).status_code == 200


@pytest.mark.slow
def test_monitor_serve_through_the_entry_point(hostile_story, tmp_path):
    """``monitor serve --port 0`` prints its address and answers there; a port taken is one
    error line and exit 1; a malformed --port is exit 2."""
    config = tmp_path / "monitor.toml"
    config.write_text(f'[storage]\nurl = "sqlite:///{hostile_story["db"]}"\n', "utf-8")
    command = [sys.executable, "-m", "monitor", "--config", str(config), "serve"]
    proc = subprocess.Popen([*command, "--port", "0"], cwd=REPO, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert url, line
        assert httpx.get(url.group() + "api/stories", timeout=30).json()["total"] == 1
        port = url.group().rsplit(":", 1)[1].strip("/")
        taken = subprocess.run([*command, "--port", port], cwd=REPO, capture_output=True,
                               text=True, timeout=60)  # fmt: skip
        assert taken.returncode == 1 and f"cannot listen on 127.0.0.1:{port}" in taken.stderr
        assert len(taken.stderr.strip().splitlines()) == 1
    finally:
        proc.terminate()
        proc.communicate(timeout=30)
    bad = subprocess.run([*command, "--port", "http"], cwd=REPO, capture_output=True,
                         text=True, timeout=60)  # fmt: skip
    assert bad.returncode == 2 and "--port" in bad.stderr


def test_marks_are_grouped_at_the_narrowest_stretch_that_leaves_few_enough():
    """The stretch of the timeline a grouped mark stands for is the narrowest of MARK_WIDTH
    doubled that leaves at most MAX_MARKS marks (or the whole timeline): the groups are those
    of widening the stretch one doubling at a time, for lanes whose events are spread, bunched
    or both."""
    import random

    def by_levels(points):
        keyed = [(y, e, int(x // storymodel.MARK_WIDTH)) for y, e, x in points]
        level, shift = set(keyed), 0
        widest = max(x for _, _, x in points)
        while len(level) > storymodel.MAX_MARKS and (storymodel.MARK_WIDTH << shift) <= widest:
            level, shift = {(y, e, b >> 1) for y, e, b in level}, shift + 1
        groups: dict = {}
        for i, (y, e, b) in enumerate(keyed):
            groups.setdefault((y, e, b >> shift), []).append(i)
        return list(groups.values())

    rnd = random.Random(18)
    for lanes, width in ((40, 4000.0), (3, 960.0), (400, 2000.0)):
        points = [
            (30.0 * rnd.randrange(lanes), rnd.choice(("copy", "update")),
             round(rnd.uniform(44, width) if rnd.random() < 0.8 else rnd.uniform(44, 80), 1))
            for _ in range(4000)
        ]  # fmt: skip
        assert storymodel.group_marks(points) == by_levels(points)


def test_a_timeline_of_many_events_is_drawn_with_grouped_marks():
    """Over MAX_MARKS events, marks are grouped by lane, kind and stretch of time until at
    most MAX_MARKS remain, each titled with its count and linking nowhere; few are kept."""
    few = [{"x": float(i), "y": 10.0, "event": "copy", "title": f"t{i}"} for i in range(50)]
    assert storymodel.grouped(few) is few
    many = [
        {"x": float(i % 4000), "y": 30.0 * (i % 40), "event": ("copy", "update")[i % 2],
         "title": f"t{i}", "link": "/articles/1", "anchor": "a-1", "focusable": True}
        for i in range(25_000)
    ]  # fmt: skip
    shown = storymodel.grouped(many)
    assert len(shown) <= storymodel.MAX_MARKS
    counts = [int(m["title"].split()[0]) if " events," in m["title"] else 1 for m in shown]
    assert sum(counts) == len(many)
    assert all(m["link"] is None and not m["focusable"] for m in shown)
