"""The story file as one HTML page (monitor.publish.render.story_html and page), and the
side-by-side diffs it shows (monitor.publish.sidebyside), read back with lxml's HTML parser."""

from __future__ import annotations

import base64
import copy
import hashlib
import random
import re
from datetime import UTC, datetime, timedelta, timezone

import lxml.html
import pytest

from monitor.publish import marks, page, render, sidebyside
from tests import hostile

# Elements that would run something or load something from elsewhere.
ACTIVE = {"script", "iframe", "frame", "object", "embed", "img", "link", "base", "form",
          "input", "audio", "video", "source", "image", "use", "foreignobject", "animate",
          "set"}  # fmt: skip


def parse(html: str) -> lxml.html.HtmlElement:
    return lxml.html.document_fromstring(html)


@pytest.fixture(scope="module")
def html(hostile_story) -> str:
    return render.story_html(hostile_story["full"])


def test_the_page_has_no_active_content_whatever_the_web_sent(html):
    """The hostile story's page has no element that runs or loads anything, no event-handler
    or style attribute, and its only links are to its own anchors (which exist) and to http(s)
    article URLs."""
    root = parse(html)
    tags = {e.tag.split("}")[-1].lower() for e in root.iter() if isinstance(e.tag, str)}
    assert not tags & ACTIVE, tags & ACTIVE
    ids = {e.get("id") for e in root.iter() if e.get("id")}
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on"), (element.tag, name)
            assert name.lower() != "style", element.tag
            if name in ("href", "{http://www.w3.org/1999/xlink}href"):
                assert value[1:] in ids if value.startswith("#") else value.startswith("https://")
    assert "javascript:" not in " ".join(a.get("href", "") for a in root.iter("a"))


def test_the_page_shows_every_hostile_value_as_text(html):
    """Every title, byline, outlet name and reason from the web is in the page's text as its
    own characters, and the version texts' <script> is text inside the diff."""
    text = " ".join(parse(html).text_content().split())
    for value in hostile.VALUES:
        assert hostile.shown(value) in text, value
    assert "<script>alert('text')</script>" in text
    assert hostile.CANONICAL in text  # shown, never linked


def test_the_page_allows_only_its_own_stylesheet(html):
    """The Content-Security-Policy refuses everything by default and allows the page's one
    <style> by its SHA-256, which matches it."""
    root = parse(html)
    (meta,) = root.xpath('//meta[@http-equiv="Content-Security-Policy"]')
    policy = meta.get("content")
    assert policy.startswith("default-src 'none';")
    (style,) = root.iter("style")
    digest = base64.b64encode(hashlib.sha256(style.text.encode("utf-8")).digest()).decode()
    assert f"style-src 'sha256-{digest}'" in policy
    assert "script-src" not in policy  # falls back to default-src 'none'
    assert root.xpath('//meta[@name="viewport"]'), "usable on a phone"


def test_the_timeline_has_a_lane_per_outlet_and_a_mark_per_event(hostile_story, html):
    """One lane label per outlet and one mark per timeline event, each mark a keyboard-reachable
    link to its article's anchor, left to right in time order."""
    root = parse(html)
    story = hostile_story["full"]
    labels = [t.find("title").text for t in root.xpath('//svg[@class="labels"]/text')]
    assert labels == [o["name"] for o in story["outlets"]]
    marks = root.xpath('//div[@class="lanes"]/svg/a')
    assert len(marks) == len(story["timeline"])
    article_ids = {a.get("id") for a in root.iter("article")}
    assert {m.get("href")[1:] for m in marks} <= article_ids
    xs = [_x(m[1]) for m in marks]
    assert xs == sorted(xs) and xs[0] < xs[-1]
    assert root.xpath('//div[@class="lanes"][@tabindex="0"][@role="region"]')


def _x(shape: lxml.html.HtmlElement) -> float:
    """The centre of a mark, whatever its shape (circle, polygon, square or cross)."""
    if shape.get("cx"):
        return float(shape.get("cx"))
    if shape.get("points"):
        xs = [float(point.split(",")[0]) for point in shape.get("points").split()]
        return (min(xs) + max(xs)) / 2
    left = shape.get("x") or re.match(r"M(-?[\d.]+)", shape.get("d")).group(1)
    return float(left) + 6


def test_a_copy_links_to_its_original(html):
    """A copy's "Copy of" links to the original's anchor and names its outlet and title."""
    root = parse(html)
    (dd,) = root.xpath('//dt[text()="Copy of"]/following-sibling::dd[1]')
    (link,) = dd.iter("a")
    target = root.get_element_by_id(link.get("href")[1:])
    assert target.tag == "article"
    assert link.text_content() == "Evil Post: " + hostile.ORIGINAL_NEW_TITLE


def test_an_edited_version_shows_a_side_by_side_diff_of_the_texts(html):
    """The second version of the edited article has a two-column diff table: the title change
    and the edited sentences, removed words in <del> on the left, added words in <ins> on the
    right, unchanged sentences plain."""
    root = parse(html)
    (diff,) = root.xpath('//table[@class="diff"]')
    assert [th.text for th in diff.iter("th")] == ["Version 1", "Version 2"]
    kinds = [tr.get("class") for tr in diff.xpath("./tbody/tr")]
    assert kinds[0] == "title" and "changed" in kinds and "same" in kinds
    deleted = [d.text for d in diff.iter("del")]
    inserted = [i.text for i in diff.iter("ins")]
    assert "will close" in deleted and "closed" in inserted and " in Ottawa" in inserted
    for row in diff.xpath('./tbody/tr[@class="changed"]'):
        old, new = row.findall("td")
        assert not list(old.iter("ins")) and not list(new.iter("del"))


def test_a_stored_diff_is_shown_and_kinds_with_their_evidence(hostile_story):
    """A version with a stored ``diff`` is shown from it, even without texts, and its change
    kinds with their evidence; a ``diff`` of an unknown shape, with no texts to diff, is shown
    as JSON text."""
    story = copy.deepcopy(hostile_story["story"])
    article = story["outlets"][1]["articles"][0]
    article["versions"][1]["diff"] = {  # monitor.publish.align's form
        "title": None,
        "changed": [{"old": 0, "new": 0, "old_text": "a b", "new_text": "a c",
                     "edits": [{"op": "replace", "old": "b", "new": "c", "old_at": 1,
                                "new_at": 1}]}],
        "added": [{"new": 1, "paragraph": 0, "text": "<b>new</b> sentence."}],
        "removed": [], "moved": [],
    }  # fmt: skip
    article["versions"][1]["kinds"] = [{"kind": "correction", "evidence": {"said": "<i>x</i>"}}]
    root = parse(render.story_html(story))
    (diff,) = root.xpath('//table[@class="diff"]')
    assert [d.text for d in diff.iter("del")] == [" b"]
    assert [i.text for i in diff.iter("ins")] == [" c", "<b>new</b> sentence."]
    assert root.xpath('//span[@class="badge kind"]/text()') == ["correction"]
    assert 'correction: {"said": "<i>x</i>"}' in root.text_content()

    article["versions"][1]["diff"] = {"ops": "something else"}
    root = parse(render.story_html(story))
    assert not root.xpath('//table[@class="diff"]')
    (raw,) = root.xpath('//pre[@class="raw"]')
    assert '"ops": "something else"' in raw.text


def test_the_off_topic_list_is_collapsed(html):
    """The off-topic articles are in a closed <details> with their count and reasons."""
    (details,) = parse(html).xpath('//details[@id="off-topic"]')
    assert details.get("open") is None
    assert "Judged off-topic (1)" in details.find("summary").text_content()


def test_a_story_with_no_event_has_a_page():
    """An empty story renders (no lanes, a sentence instead of the timeline)."""
    story = {"schema": 1, "story": "s", "title": "T", "keywords": [], "version": 0,
             "updated_at": "2024-01-01T00:00:00+00:00", "outlets": [], "timeline": [],
             "off_topic": []}  # fmt: skip
    assert "Nothing on the timeline yet." in render.story_html(story)


def test_ticks_fall_on_round_hours_or_days():
    """The axis has at most about eight ticks, on round hours under a day apart and on
    midnights beyond, labelled with the time only when under a day apart."""
    start = page.parse_time("2024-05-02T07:40:00+00:00")
    hourly = page._ticks(start, page.timedelta(hours=20))
    assert [t.hour % 3 for t, _ in hourly] == [0] * len(hourly) and 4 <= len(hourly) <= 9
    assert hourly[0][1] == "2 May 09:00"
    daily = page._ticks(start, page.timedelta(days=12))
    assert all(t.hour == 0 for t, _ in daily) and daily[0][1] == "4 May"


# -- side by side -----------------------------------------------------------------------------


def test_sentences_are_aligned_edited_moved_added_and_removed():
    """An edited sentence is paired with its new form (word edits marked), one that moved is
    marked moved on both sides, a new one is added, a dropped one removed."""
    old = "Alpha beta gamma delta. Second sentence here. Moving one stays. Dropped line now."
    new = "Alpha beta gamma epsilon. Moving one stays. Second sentence here. Brand new words."
    rows = sidebyside.from_texts("T", old, "T", new)
    kinds = [r["kind"] for r in rows]
    assert kinds.count("moved") == 2 and "changed" in kinds
    changed = next(r for r in rows if r["kind"] == "changed")
    assert ["del", "delta"] in changed["old"] and ["ins", "epsilon"] in changed["new"]
    assert any(r["kind"] == "replaced" for r in rows) or ("removed" in kinds and "added" in kinds)


def test_long_unchanged_runs_are_collapsed_to_one_sentence_of_context():
    """Unchanged sentences far from a change are one row with their count."""
    same = " ".join(f"Sentence number {n} stays." for n in range(10))
    rows = sidebyside.from_texts(None, same + " Old end.", None, same + " New ending here.")
    assert rows[0] == {"kind": "same", "old": [], "new": [], "count": 9}
    assert rows[1]["old"] == [["", "Sentence number 9 stays."]]
    assert [r["kind"] for r in rows[2:]] == ["replaced"]


UNKNOWN_DIFFS = [
    None,
    [],
    {"x": 1},
    {"sentences": [{"op": "exploded"}]},
    {"sentences": [{"op": "changed", "words": [["?", "a"]]}]},
]


@pytest.mark.parametrize("diff", UNKNOWN_DIFFS)
def test_a_stored_diff_of_unknown_shape_is_not_guessed(diff):
    """from_diff returns None for any shape but the documented one."""
    assert sidebyside.from_diff(diff) is None


def test_only_http_urls_are_links():
    """page.href keeps http(s) URLs with a host, nothing else."""
    assert page.href("https://a.example/x") == "https://a.example/x"
    for url in ("javascript:alert(1)", "seed:s/1", "//a.example/x", "http://", None, "http://[x"):
        assert page.href(url) is None, url


def test_every_event_kind_has_a_mark_and_an_unknown_one_a_generic_mark():
    """The legend covers the documented events; an event kind added later still gets a mark."""
    assert set(page.EVENT_LABELS) == {"first_report", "copy", "update", "removed", "dropped"}
    assert page.event_label("redirected") == "redirected"
    story = {"schema": 1, "story": "s", "title": "T", "keywords": [], "version": 1,
             "updated_at": "2024-01-01T00:00:00+00:00", "outlets": [], "off_topic": [],
             "timeline": [{"at": "2024-01-01T00:00:00+00:00", "outlet": "O", "url": "u",
                           "title": None, "event": "redirected", "article_version": None,
                           "story_version": 1}]}  # fmt: skip
    assert re.search(r'<circle class="mk other"', render.story_html(story))


def test_titles_and_initials_do_not_end_a_sentence():
    """Titles ("Mr.") and initials ("N.Y.") are inside a sentence; other full stops end one."""
    text = "Mr. Biden landed in Champlain, N.Y., on Friday. The U.S. agreed.\n\nNew paragraph."
    assert sidebyside.sentences(text) == (
        "Mr. Biden landed in Champlain, N.Y., on Friday.",
        "The U.S. agreed.",
        "New paragraph.",
    )


def test_a_copy_whose_original_left_the_story_names_its_url(hostile_story):
    """A copy of an article no longer in the story shows the original's URL as text."""
    story = copy.deepcopy(hostile_story["story"])
    story["outlets"] = [o for o in story["outlets"] if o["name"] != "Evil Post"]
    root = parse(render.story_html(story))
    (dd,) = root.xpath('//dt[text()="Copy of"]/following-sibling::dd[1]')
    assert not list(dd.iter("a")) and dd.find("code").text == hostile.ORIGINAL_URL


def test_each_mark_is_the_svg_the_template_drew_with_its_values_escaped():
    """monitor.publish.marks draws each kind's mark as parts.html.j2's macro did (the same
    points for x and y, floats or ints), links a focusable anchored mark to its page link or
    its anchor, groups the others, and escapes every text."""
    assert marks.shape("copy", 52.5, 49) == (
        '<polygon class="mk copy" points="52.5,41 60.5,49 52.5,57 44.5,49"/>\n')  # fmt: skip
    assert marks.shape("update", 9, 10) == (
        '<polygon class="mk update" points="9,2 16.5,16 1.5,16"/>\n')  # fmt: skip
    assert marks.shape("removed", 9, 10).startswith('<path class="mk removed" d="M3,2l6,5 ')
    assert marks.shape("dropped", 9, 10) == (
        '<rect class="mk dropped" x="3" y="4" width="12" height="12"/>\n')  # fmt: skip
    mark = {"shown": "2024-01-01 00:00 UTC", "label": "copy", "outlet": "<O&>",
            "title": '"<script>"', "event": "first_report", "x": 44.0, "y": 49,
            "anchor": "a-1", "focusable": True}  # fmt: skip
    drawn = marks.marks([mark, {**mark, "link": "/articles/7"}, {**mark, "focusable": False}])
    assert drawn.splitlines() == [
        '<a href="#a-1" aria-label="2024-01-01 00:00 UTC, copy: &lt;O&amp;&gt;, &#34;&lt;script'
        '&gt;&#34;"><title>2024-01-01 00:00 UTC · copy · &lt;O&amp;&gt; · &#34;&lt;script&gt;'
        '&#34;</title><circle class="mk first_report" cx="44.0" cy="49" r="7"/>',
        "</a>",
        '<a href="/articles/7" aria-label="2024-01-01 00:00 UTC, copy: &lt;O&amp;&gt;, &#34;'
        '&lt;script&gt;&#34;"><title>2024-01-01 00:00 UTC · copy · &lt;O&amp;&gt; · &#34;&lt;'
        'script&gt;&#34;</title><circle class="mk first_report" cx="44.0" cy="49" r="7"/>',
        "</a>",
        "<g><title>2024-01-01 00:00 UTC · copy · &lt;O&amp;&gt; · &#34;&lt;script&gt;&#34;"
        '</title><circle class="mk first_report" cx="44.0" cy="49" r="7"/>',
        "</g>",
    ]


def test_times_are_shown_as_strftime_shows_them():
    """page.shown_time reads a time written in UTC from its own digits, and says what
    strftime says of it in UTC, for every shape of ISO 8601 time and offset it is given (a
    year before 1000 unpadded, as strftime leaves it)."""

    def by_strftime(value: str, day: bool) -> str:
        at = datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
        return at.strftime("%Y-%m-%d") if day else at.strftime("%Y-%m-%d %H:%M UTC")

    rnd = random.Random(18)
    first = datetime(1, 1, 1, tzinfo=UTC)
    values = []
    for _ in range(3_000):
        at = first + timedelta(seconds=rnd.randrange(315_537_897_599))
        values += [at.isoformat(), at.isoformat(timespec="minutes"),
                   at.isoformat(timespec="microseconds").replace("+00:00", "Z")]  # fmt: skip
        if at.year > 1:
            values.append(at.astimezone(timezone(timedelta(hours=-5))).isoformat())
    values += [
        "2024-05-02T10:00:00+02:00",
        "2024-05-02 10:00:00+00:00",
        "20240502T1000+00:00",
        "2024-05-02T10+00:00",
        "0999-12-31T23:59:00+00:00",
        "2024-05-02T10:00:00-00:00",
    ]
    for value in values:
        for day in (False, True):
            assert page.shown_time(value, day=day) == by_strftime(value, day), value
