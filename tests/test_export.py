"""``monitor story export`` in every format through the real entry point, on the demo's story
and on the hostile one, and the HTML page in headless Chromium from Debian: it opens with no
console error or CSP violation, shows the timeline and a diff, fits a phone, and works with a
keyboard. Screenshots land in data/test-artifacts/ (git ignores data/); their paths are printed.
"""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path

import feedparser
import lxml.html
import pytest

from monitor import demo
from tests import atomcheck, chromium, hostile
from tests.conftest import REPO, toml_value
from tests.storyschema import checked
from tests.test_cli import monitor, ok

ARTIFACTS = REPO / "data" / "test-artifacts"


def _config(tmp: Path, database: Path) -> Path:
    path = tmp / "export.toml"
    path.write_text(f"[storage]\nurl = {toml_value(f'sqlite:///{database}')}\n", "utf-8")
    return path


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """``monitor demo`` run once: a configuration reading its database, and its slug."""
    cwd = tmp_path_factory.mktemp("export-demo")
    ok(monitor("demo", "--out", str(cwd / "out"), cwd=cwd))
    return {"cwd": cwd, "config": _config(cwd, cwd / "out" / "demo.sqlite"),
            "slug": demo.manifest()["slug"]}  # fmt: skip


def export(setup: dict, fmt: str, *extra: str) -> str:
    """``monitor --config FILE story export SLUG --format FMT`` written with ``-o``, read back."""
    out = setup["cwd"] / f"story.{fmt}"
    proc = monitor("--config", str(setup["config"]), "story", "export", setup["slug"],
                   "--format", fmt, "-o", str(out), *extra, cwd=setup["cwd"])  # fmt: skip
    ok(proc)
    return out.read_bytes().decode("utf-8")


@pytest.mark.slow
def test_every_format_of_the_demo_story_through_the_entry_point(demo_db):
    """Each format of the demo's story file: JSON valid by the schema, Markdown with its
    headings, an HTML page with a diff, CSV rows per article and per version, a valid feed
    with an entry per event; standard output carries the same bytes as ``-o``."""
    story = checked(json.loads(export(demo_db, "json")))
    n_articles = sum(len(o["articles"]) for o in story["outlets"])
    n_versions = sum(len(a["versions"]) for o in story["outlets"] for a in o["articles"])
    markdown = export(demo_db, "md")
    assert markdown.startswith(f"# {story['title']}\n") and "\n## Timeline\n" in markdown
    page = lxml.html.document_fromstring(export(demo_db, "html"))
    assert page.xpath('//table[@class="diff"]//ins') and not page.xpath("//script")
    assert len(list(csv.reader(io.StringIO(export(demo_db, "csv"), newline="")))) == n_articles + 1
    versions = export(demo_db, "csv", "--versions")
    assert len(list(csv.reader(io.StringIO(versions, newline="")))) == n_versions + 1
    feed = export(demo_db, "atom").encode("utf-8")
    assert atomcheck.problems(feed) == []
    assert len(feedparser.parse(io.BytesIO(feed)).entries) == len(story["timeline"])
    proc = monitor("--config", str(demo_db["config"]), "story", "export", demo_db["slug"],
                   "--format", "csv", cwd=demo_db["cwd"])  # fmt: skip
    ok(proc)
    assert proc.stdout == export(demo_db, "csv").replace("\r\n", "\n")  # text mode reads CRLF


@pytest.mark.parametrize(
    ("args", "message"),
    [(("--entries", "0"), "--entries: expected a positive number, got 0"),
     (("--tag-authority", "example.org"), "--tag-authority: tag authority 'example.org'")],
)  # fmt: skip
def test_a_bad_export_option_is_one_error_line(tmp_path, args, message):
    """A malformed ``--entries`` or ``--tag-authority``: exit 2, one line naming the option."""
    proc = monitor("story", "export", "s", "--format", "atom", *args, cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.startswith(f"monitor: error: {message}")
    assert len(proc.stderr.splitlines()) == 1


# -- headless Chromium ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser_binary() -> str:
    """Debian's Chromium. Missing, the test fails; it is skipped only for a user who cannot
    install it (not root) outside CI: scripts/test installs it as root, as CI runs."""
    binary = chromium.executable()
    if binary is None:
        if os.geteuid() != 0 and not os.environ.get("CI"):
            pytest.skip("Chromium is not installed (apt-get install chromium, as root)")
        pytest.fail("Chromium is missing: scripts/test installs it (apt-get install -y chromium)")
    return binary


def _shot(browser: chromium.Browser, name: str, capsys: pytest.CaptureFixture[str]) -> Path:
    path = browser.screenshot(ARTIFACTS / name)
    with capsys.disabled():
        print(f"\nscreenshot: {path}")
    return path


VISIBLE = """(sel) => Array.from(document.querySelectorAll(sel)).filter(e => {
  const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; }).length"""


@pytest.mark.slow
def test_the_story_page_in_chromium(demo_db, browser_binary, capsys):
    """The demo story's page opens in headless Chromium with no console error, exception or
    CSP violation; the timeline shows a mark per event in a lane per outlet and a diff shows
    inserted and deleted words; on a phone-sized screen nothing overflows sideways but the
    timeline's own scroller; Tab reaches the skip link first, then a timeline mark, whose Enter
    goes to its article."""
    path = demo_db["cwd"] / "story.html"
    story = json.loads(export(demo_db, "json"))
    export(demo_db, "html")
    with chromium.Browser(browser_binary) as browser:
        browser.open(path.as_uri(), width=1280, height=900)
        assert browser.complaints() == []
        count = f"({VISIBLE})"
        assert browser.evaluate(f"{count}('.lanes svg a .mk')") == len(story["timeline"])
        assert browser.evaluate(f"{count}('svg.labels text')") == len(story["outlets"])
        assert browser.evaluate(f"{count}('table.diff ins')") > 0
        assert browser.evaluate(f"{count}('table.diff del')") > 0
        _shot(browser, "story-page-desktop.png", capsys)

        browser.key("Tab", "Tab", 9)
        assert browser.evaluate("document.activeElement.className") == "skip"
        for _ in range(6):  # past the skip link, the three section links, the scroller
            browser.key("Tab", "Tab", 9)
            if browser.evaluate("document.activeElement.closest('.lanes svg') !== null"):
                break
        assert browser.evaluate("document.activeElement.closest('.lanes svg') !== null")
        target = browser.evaluate("document.activeElement.getAttribute('href')")
        browser.key("Enter", "Enter", 13)
        assert browser.evaluate("location.hash") == target

        browser.open(path.as_uri(), width=375, height=740, mobile=True)
        assert browser.complaints() == []
        assert browser.evaluate("document.documentElement.scrollWidth <= innerWidth")
        assert browser.evaluate("document.querySelector('.lanes').scrollWidth") > 375
        _shot(browser, "story-page-phone.png", capsys)


@pytest.mark.slow
def test_the_hostile_story_page_runs_nothing_in_chromium(hostile_story, browser_binary, tmp_path):
    """The hostile story's page, exported through the entry point, opens with no console
    complaint (an injected script or handler would at least be refused by the CSP, which logs),
    no dialog, no element the web sent, and its hostile titles on screen as text."""
    setup = {"cwd": tmp_path, "config": _config(tmp_path, hostile_story["db"]),
             "slug": hostile_story["slug"]}  # fmt: skip
    export(setup, "html")
    with chromium.Browser(browser_binary) as browser:
        browser.open((tmp_path / "story.html").as_uri(), width=1024, height=800)
        assert browser.complaints() == []
        methods = {e.get("method") for e in browser.events}
        assert "Page.javascriptDialogOpening" not in methods
        assert browser.evaluate("document.querySelectorAll('script, img, iframe').length") == 0
        text = browser.evaluate("document.body.innerText")
        assert hostile.ORIGINAL_NEW_TITLE.split("\n")[0] in text
        assert hostile.OFF_TOPIC_TITLE not in text  # collapsed in <details>, not rendered
        assert browser.evaluate("document.body.textContent").count(hostile.OFF_TOPIC_TITLE) == 1
