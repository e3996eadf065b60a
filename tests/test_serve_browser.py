"""``monitor serve``'s pages in headless Chromium from Debian (tests/chromium.py, the DevTools
protocol on a pipe), over the demo's story built by the real pipeline (``monitor.demo.run``:
five outlets, an edited article, two copies, a page taken down): the story page shows a lane
per outlet and a mark per event, a mark opens its article, whose diff shows, a search typed
into the form finds the story's articles; no console error or CSP violation anywhere, nothing
wider than a phone's screen. Screenshots land in data/test-artifacts/ (git ignores data/).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from monitor import demo
from tests import chromium
from tests.test_export import ARTIFACTS, VISIBLE, browser_binary  # noqa: F401 (a fixture)
from tests.webserver import serving

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """The demo run once into a folder, served; its story file from the API."""
    out = tmp_path_factory.mktemp("serve-demo") / "out"
    demo.run(out)
    with serving(out / demo.DATABASE) as url:
        slug = demo.manifest()["slug"]
        story = httpx.get(f"{url}/api/stories/{slug}/file", timeout=60).json()
        yield {"url": url, "slug": slug, "story": story}


def _shot(browser: chromium.Browser, name: str, capsys: pytest.CaptureFixture[str]) -> Path:
    path = browser.screenshot(ARTIFACTS / name)
    with capsys.disabled():
        print(f"\nscreenshot: {path}")
    return path


def _follow(browser: chromium.Browser, selector: str) -> None:
    """Focus the link ``selector`` finds and press Enter, as a keyboard user does; wait for
    the page it opens."""
    assert browser.evaluate(f"(() => {{ const a = document.querySelector({selector!r}); "
                            "if (!a) return false; a.focus(); return true; })()")  # fmt: skip
    browser.key("Enter", "Enter", 13)
    browser.wait_for("Page.loadEventFired")


def test_the_story_page_a_diff_and_a_search_in_chromium(served, browser_binary, capsys):  # noqa: F811
    """The story page has a lane per outlet and a mark per event and no console complaint;
    Tab reaches the skip link first; the edited article's mark opens its page, whose
    side-by-side diff shows inserted and deleted words; a query typed into the search form
    and sent with Enter lists the story's articles with the words marked; on a phone-sized
    screen nothing is wider than the screen but the timeline's own scroller."""
    story, url = served["story"], served["url"]
    lanes = {o["name"] for o in story["outlets"]} | {e["outlet"] for e in story["timeline"]}
    edited = next(a for o in story["outlets"] for a in o["articles"] if len(a["versions"]) > 1)
    found = httpx.get(f"{url}/api/search", params={"q": edited["title"]}, timeout=30).json()
    edited_id = next(h["id"] for h in found["items"] if h["url"] == edited["url"])
    count = f"({VISIBLE})"
    with chromium.Browser(browser_binary) as browser:
        browser.open(f"{url}/stories/{served['slug']}", width=1280, height=900)
        assert browser.complaints() == []
        assert browser.evaluate(f"{count}('svg.labels text')") == len(lanes)
        assert browser.evaluate(f"{count}('.lanes svg a .mk')") == len(story["timeline"])
        _shot(browser, "serve-story.png", capsys)
        browser.key("Tab", "Tab", 9)
        assert browser.evaluate("document.activeElement.className") == "skip"

        _follow(browser, f'.lanes svg a[href="/articles/{edited_id}"]')
        assert browser.evaluate("location.pathname") == f"/articles/{edited_id}"
        assert browser.complaints() == []
        assert browser.evaluate(f"{count}('table.diff ins')") > 0
        assert browser.evaluate(f"{count}('table.diff del')") > 0
        _shot(browser, "serve-article-diff.png", capsys)

        browser.open(f"{url}/search", width=1280, height=900)
        browser.evaluate("document.getElementById('q').focus()")
        browser.call("Input.insertText", session=True, text="roxham")
        # keyDown with its text, as a keyboard's Enter: a form submits on the key's character
        for kind, text in (("keyDown", "\r"), ("keyUp", "")):
            browser.call("Input.dispatchKeyEvent", session=True, type=kind, key="Enter",
                         code="Enter", windowsVirtualKeyCode=13, text=text)  # fmt: skip
        browser.wait_for("Page.loadEventFired")
        assert browser.evaluate("new URLSearchParams(location.search).get('q')") == "roxham"
        assert browser.evaluate(f"{count}('ol.hits > li')") >= 5
        assert browser.evaluate(f"{count}('ol.hits mark')") > 0
        assert browser.complaints() == []
        _shot(browser, "serve-search.png", capsys)

        for path in (f"/stories/{served['slug']}", "/sources", "/", f"/articles/{edited_id}"):
            browser.open(url + path, width=375, height=740, mobile=True)
            assert browser.complaints() == [], path
            assert browser.evaluate("document.documentElement.scrollWidth <= innerWidth"), path
        _shot(browser, "serve-article-phone.png", capsys)
