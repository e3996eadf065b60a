"""The story file's text renderings, without the web page: its JSON Schema, the Markdown (read
back by GitHub's own renderer, cmark-gfm) and the CSV (read back by the csv module)."""

from __future__ import annotations

import copy
import csv
import io
import json
import re

import cmarkgfm
import lxml.html
import pytest
from cmarkgfm.cmark import Options

from monitor.publish import mdtext, render, table
from tests import hostile
from tests.storyschema import SCHEMA, checked, problems

REPO_DOCS = SCHEMA.parent / "story-file.md"

# -- the schema -------------------------------------------------------------------------------

# docs/story-file.md's sections and where their keys are in the schema.
SECTIONS = {
    "Top level": "#",
    "Outlet": "#/$defs/outlet",
    "Article": "#/$defs/article",
    "Version": "#/$defs/version",
    "The diff": "#/$defs/diff",
    "Timeline event": "#/$defs/event",
    "Fact": "#/$defs/fact",
    "Carrier": "#/$defs/carrier",
}


def _documented() -> dict[str, list[tuple[str, bool]]]:
    """The keys of each table of docs/story-file.md (first column, in backticks), each with
    whether it is always there: a meaning that opens with a condition in brackets ("(later
    carriers) ...") says when it is."""
    out: dict[str, list[tuple[str, bool]]] = {}
    section = None
    for line in REPO_DOCS.read_text("utf-8").splitlines():
        if line.startswith(("## ", "### ")):
            section = line.lstrip("#").strip()
        elif section in SECTIONS and (m := re.match(r"^\| `(\w+)` \| [^|]+ \| (.)", line)):
            out.setdefault(section, []).append((m.group(1), m.group(2) != "("))
    return out


def _node(schema: dict, pointer: str) -> dict:
    node = schema
    for part in pointer.lstrip("#/").split("/") if pointer != "#" else []:
        node = node[part]
    return node


def test_the_schema_types_and_requires_every_key_docs_story_file_documents():
    """Every key of every table in docs/story-file.md is a typed property at the same place in
    docs/story-file.schema.json, required unless the docs say when it is there, and the
    schema has no key the docs leave out."""
    schema = json.loads(SCHEMA.read_text("utf-8"))
    documented = _documented()
    assert set(documented) == set(SECTIONS)
    for section, pointer in SECTIONS.items():
        node = _node(schema, pointer)
        keys = [key for key, _ in documented[section]]
        always = {key for key, required in documented[section] if required}
        assert always <= set(node["required"]), (section, always - set(node["required"]))
        assert set(node["required"]) <= set(keys), (section, set(node["required"]) - set(keys))
        assert set(node["properties"]) == set(keys), (section, set(node["properties"]) ^ set(keys))
        for key in keys:
            prop = node["properties"][key]
            assert {"type", "$ref", "enum", "const", "anyOf"} & set(prop), (section, key)
        assert node.get("additionalProperties", True) is not False, "keys are added in parallel"


def test_the_schema_refuses_what_the_contract_forbids(hostile_story):
    """A story file passes, and fails once it has a timestamp without an offset, a missing key,
    an unknown relation or a version number that is not an integer (the check can fail)."""
    story = hostile_story["story"]
    assert problems(story) == []
    breakages = [
        lambda s: s["timeline"][0].update(at="2024-05-02T08:00:00"),
        lambda s: s["outlets"][0]["articles"][0].pop("first_seen_at"),
        lambda s: s["outlets"][0]["articles"][0].update(relation="friend"),
        lambda s: s["outlets"][0]["articles"][0]["versions"][0].update(version="1"),
        lambda s: s.update(updated_at="2024-02-30T00:00:00+00:00"),
    ]
    for breakage in breakages:
        broken = copy.deepcopy(story)
        breakage(broken)
        assert problems(broken), breakage
        with pytest.raises(AssertionError):
            checked(broken)


def test_texts_are_in_the_page_build_only(hostile_story):
    """``build(texts=True)`` adds every version's text; the plain build, which the JSON export
    prints, has none, and is otherwise the same."""
    texts = {a["url"]: [v["text"] for v in a["versions"]]
             for o in hostile_story["full"]["outlets"] for a in o["articles"]}  # fmt: skip
    assert texts[hostile.ORIGINAL_URL] == [hostile.TEXT_1, hostile.TEXT_2]
    stripped = json.loads(json.dumps(hostile_story["full"]))
    for o in stripped["outlets"]:
        for a in o["articles"]:
            for v in a["versions"]:
                v.pop("text")
    assert stripped == hostile_story["story"]
    assert '"text"' not in render.story_json(hostile_story["story"])


# -- Markdown ---------------------------------------------------------------------------------


def gfm(markdown: str) -> lxml.html.HtmlElement:
    """``markdown`` as GitHub renders it (cmark-gfm with its extensions: tables, autolinks,
    strikethrough), raw HTML let through so that any would show."""
    html = cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    return lxml.html.fromstring(f"<div>{html}</div>")


@pytest.mark.parametrize("value", [*hostile.VALUES, "back\\slash\\", "  spaced  ", "a:b :x:"])
def test_an_escaped_value_renders_as_exactly_its_characters(value):
    """Inside ``**...**`` an escaped value renders as one bold run holding exactly its
    characters (line breaks as spaces): no element, link, code or heading of its own."""
    root = gfm(f"- **{mdtext.text(value)}** after")
    (strong,) = root.iter("strong")
    assert strong.text_content() == hostile.shown(value)
    assert len(strong) == 0, lxml.html.tostring(strong)
    assert {e.tag for e in root.iter()} == {"div", "ul", "li", "strong"}


def test_only_http_urls_become_links_in_markdown():
    """An http(s) URL becomes a link to itself (characters that would end the autolink
    percent-encoded); ``javascript:``, ``data:`` and ``seed:`` URLs stay text."""
    root = gfm(mdtext.url(hostile.ORIGINAL_URL))
    (link,) = root.iter("a")
    assert link.get("href") == "https://evil.example/a?x=%3C1%3E&y=%222%22"
    for url in ("javascript:alert(1)", "data:text/html,<b>x</b>", "seed:hostile/001"):
        root = gfm(mdtext.url(url))
        assert not list(root.iter("a")) and root.text_content().strip() == url


def test_a_code_span_holds_any_backticks():
    """``mdtext.code`` fences a value with more backticks than it holds: it renders as one
    code span with exactly the value."""
    for value in ("plain", "a`b", "``x``", "`edge`"):
        (code,) = gfm(mdtext.code(value)).iter("code")
        assert code.text == value


def test_the_markdown_story_file_shows_hostile_values_as_text(hostile_story):
    """The Markdown of the hostile story, rendered by GitHub's renderer, has only the elements
    the template writes (headings, lists, bold, code, links), links only to the articles'
    http(s) URLs, and every hostile value among its text."""
    markdown = render.story_markdown(hostile_story["story"])
    root = gfm(markdown)
    assert {e.tag for e in root.iter()} <= {"div", "h1", "h2", "h3", "p", "ul", "li", "strong",
                                           "code", "a"}  # fmt: skip
    hrefs = {a.get("href") for a in root.iter("a")}
    assert hrefs == {
        "https://evil.example/a?x=%3C1%3E&y=%222%22",  # the original
        "https://copy.example/c",
        "https://evil.example/off",  # the article judged off-topic, on its line
    }
    text = root.text_content()
    for value in hostile.VALUES:
        if value != hostile.ORIGINAL_TITLE:  # the newest title replaced it; shown as "title was"
            assert hostile.shown(value) in text, value
    assert f"title was “{hostile.ORIGINAL_TITLE}”" in text
    assert [h.text_content() for h in root.iter("h1")] == [hostile.STORY_TITLE]
    headings = [h.text_content() for h in root.iter("h2")]
    assert headings == ["Outlets", "Timeline", "Judged off-topic"]


# -- CSV --------------------------------------------------------------------------------------


def _read(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def test_the_articles_csv_has_one_row_per_article_and_neutralises_formulas(hostile_story):
    """One row per article under a header row, CRLF line ends, quoted fields that read back
    exactly, and every value that starts like a formula (=, +, -, @) led by a quote."""
    text = render.render(hostile_story["story"], "csv")
    rows = _read(text)
    assert text.endswith("\r\n") and text.count("\r\n") == len(rows) + 1  # a title's LF is data
    assert list(rows[0]) == list(table.ARTICLE_COLUMNS)
    assert len(rows) == sum(len(o["articles"]) for o in hostile_story["story"]["outlets"])
    by_url = {r["url"]: r for r in rows}
    copy_row = by_url["https://copy.example/c"]
    assert copy_row["title"] == "'" + hostile.COPY_TITLE
    assert copy_row["outlet"] == "'" + hostile.COPY_OUTLET
    assert copy_row["authors"] == "'" + "; ".join(hostile.COPY_AUTHORS)
    assert copy_row["copy_of"] == hostile.ORIGINAL_URL
    assert copy_row["copy_of_outlet"] == "Evil Post"
    assert (copy_row["relation"], copy_row["status"], copy_row["versions"]) == (
        "copy", "removed", "1")  # fmt: skip
    original = by_url[hostile.ORIGINAL_URL]
    assert original["title"] == hostile.ORIGINAL_NEW_TITLE  # a line break survives, quoted
    assert original["similarity"] == "0.9" and original["versions"] == "2"
    for row in rows:
        assert not any(v.startswith(("=", "+", "-", "@")) for v in row.values()), row


def test_the_versions_csv_has_one_row_per_version(hostile_story):
    """``--versions``: one row per version with its changes, in the story file's order."""
    rows = _read(render.render(hostile_story["story"], "csv", versions=True))
    assert list(rows[0]) == list(table.VERSION_COLUMNS)
    versions = [(a["url"], v["version"]) for o in hostile_story["story"]["outlets"]
                for a in o["articles"] for v in a["versions"]]  # fmt: skip
    assert [(r["url"], int(r["version"])) for r in rows] == versions
    edited = [r for r in rows if r["version"] == "2"]
    assert [(r["words_added"], r["title_changed"], r["previous_title"]) for r in edited] == [
        ("4", "true", hostile.ORIGINAL_TITLE)
    ]


@pytest.mark.parametrize(
    ("value", "cell"),
    [("=1+1", "'=1+1"), ("+33 1", "'+33 1"), ("-x", "'-x"), ("@A1", "'@A1"), ("\t=1", "'\t=1"),
     ("a=1", "a=1"), (0.25, "0.25"), (3, "3"), (None, ""), (True, "true"), (["a", "b"], "a; b")],
)  # fmt: skip
def test_a_csv_cell(value, cell):
    """A cell: formulas neutralised, numbers and booleans as written, lists joined."""
    assert table.cell(value) == cell


def test_the_json_export_is_what_json_dumps_writes(hostile_story):
    """The story file's JSON (made by orjson, for speed) is the text json.dumps(indent=2,
    ensure_ascii=False) writes, for a story full of hostile characters, floats and nulls."""
    story = copy.deepcopy(hostile_story["story"])
    story["extra"] = {"float": 0.1 + 0.2, "big": 2**53 + 1, "zero": -0.0, "nested": [[], {}]}
    assert render.story_json(story) == json.dumps(story, ensure_ascii=False, indent=2) + "\n"
