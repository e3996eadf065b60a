"""Seed files (monitor.seeds): the project's Roxham Road seeds, and a clear SeedError naming the
file (and line) for every mistake in the format."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitor.errors import SeedError, UserError
from monitor.stories.seeds import load_seeds
from tests.conftest import REPO

ROXHAM = REPO / "seeds" / "roxham-road"
SHARED_SEEDS = REPO.parent / "shared" / "seeds"


def _shared_text(name: str) -> str:
    """The supplied text, paragraphs as the loader keeps them; the BBC relay file starts with a
    ``date YYYY-MM-DD`` marker, which the project's seed moved into its header."""
    raw = (SHARED_SEEDS / name).read_text(encoding="utf-8")
    raw = re.sub(r"^\s*date \d{4}-\d{2}-\d{2}\s+", "", raw)
    return "\n\n".join(p.strip() for p in raw.split("\n\n") if p.strip())


def test_project_seeds_load_with_their_metadata():
    """seeds/roxham-road holds two seeds, in file-name order, with the header's metadata."""
    seeds = load_seeds(ROXHAM, "roxham-road")
    assert [s.path.name for s in seeds] == [
        "000_cf92b35f8e2aca57.txt",
        "003_c793181e4958acd0.txt",
    ]
    bbc, cbc = seeds
    assert bbc.published_at == datetime(2023, 3, 24, tzinfo=UTC)
    assert cbc.published_at == datetime(2023, 3, 23, tzinfo=UTC)
    assert bbc.title is not None and bbc.title.startswith("The US and Canada have reached a deal")
    # The CBC seed gives no title: its first line, cut at a word, stands for one.
    assert not cbc.titled and bbc.titled
    assert cbc.title == (
        "Radio-Canada has learned that the Trudeau government has reached a deal with the "
        "United States on irregular migration…"
    )
    assert (bbc.outlet, cbc.outlet) == ("BBC News (relayed)", "CBC News")
    assert (bbc.language, cbc.language) == ("en", "en")
    # Neither has a known URL: each is identified by its story and file.
    assert bbc.url == "seed:roxham-road/000_cf92b35f8e2aca57"
    assert cbc.url == "seed:roxham-road/003_c793181e4958acd0"


@pytest.mark.parametrize("name", ["000_cf92b35f8e2aca57.txt", "003_c793181e4958acd0.txt"])
def test_project_seed_text_is_the_supplied_text(name):
    """Apart from the header, each seed's text is the supplied one in ../shared/seeds."""
    seed = next(s for s in load_seeds(ROXHAM, "roxham-road") if s.path.name == name)
    assert seed.text == _shared_text(name)
    assert "note:" not in seed.text and "published_at" not in seed.text


def _write(folder: Path, name: str, content: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(content, encoding="utf-8")
    return path


GOOD = "title: A headline\npublished_at: 2023-03-23\n\nThe text of the article.\n"


def test_a_minimal_seed_loads(tmp_path):
    """A header, a blank line and a text make a seed; CRLF line ends are accepted."""
    _write(tmp_path, "a.txt", GOOD.replace("\n", "\r\n"))
    (seed,) = load_seeds(tmp_path, "demo")
    assert seed.title == "A headline"
    assert seed.text == "The text of the article."
    assert seed.published_at == datetime(2023, 3, 23, tzinfo=UTC)
    assert seed.outlet == "Seed" and seed.url == "seed:demo/a"


@pytest.mark.parametrize(
    ("body", "title"),
    [
        pytest.param(
            "Ottawa closes Roxham Road.\n\nMore.", "Ottawa closes Roxham Road.", id="short"
        ),
        pytest.param("— * —\n\nThe text.", "The story's title", id="no-letters"),
        pytest.param("word " * 40, ("word " * 23).strip() + "…", id="long"),
    ],
)
def test_a_seed_without_a_title_takes_its_first_line_else_the_story_title(tmp_path, body, title):
    """A seed file with no ``title`` is titled by its first line (at most 120 characters, cut
    at a word), or by the story's title when that line has no letter or digit."""
    _write(tmp_path, "a.txt", f"published_at: 2023-03-23\n\n{body}\n")
    (seed,) = load_seeds(tmp_path, "demo", "The story's title")
    assert seed.title == title and not seed.titled
    assert len(seed.title) <= 120


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        pytest.param(
            "title: A headline\npublished_at: 2023-03-23\nThe text, with no blank line.\n",
            "expected header lines, a blank line, then the text",
            id="missing-blank-line",
        ),
        pytest.param(
            "title: A headline\nauthor: Someone\n\nThe text.\n",
            "line 2: expected 'key: value'",
            id="unknown-key",
        ),
        pytest.param(
            "title: A headline\nno colon here\n\nThe text.\n",
            "line 2: expected 'key: value'",
            id="line-without-colon",
        ),
        pytest.param(
            "title: A headline\npublished_at: 23 March 2023\n\nThe text.\n",
            "published_at: not an ISO 8601 date: '23 March 2023'",
            id="bad-published-at",
        ),
        pytest.param(
            "title: A headline\n\n\n   \n\n",
            "no text after the header",
            id="empty-body",
        ),
    ],
)
def test_a_format_mistake_raises_seed_error_naming_the_file(tmp_path, content, needle):
    """Each mistake in a seed file raises a SeedError (a UserError) that names the file and,
    for a header line, its number."""
    _write(tmp_path, "001-good.txt", GOOD)
    bad = _write(tmp_path, "002-bad.txt", content)
    with pytest.raises(SeedError) as caught:
        load_seeds(tmp_path, "demo")
    message = str(caught.value)
    assert isinstance(caught.value, UserError)
    assert message.startswith(f"{bad}: ")
    assert needle in message
    assert "\n" not in message, "one line for the user"


def test_unknown_key_error_names_the_known_keys(tmp_path):
    """The unknown-key message lists the keys a header may use."""
    bad = _write(tmp_path, "x.txt", "headline: A headline\n\nThe text.\n")
    with pytest.raises(SeedError) as caught:
        load_seeds(tmp_path, "demo")
    assert str(caught.value) == (
        f"{bad}: line 1: expected 'key: value' with key one of "
        "language, note, outlet, published_at, title, url, got 'headline: A headline'"
    )


def test_an_empty_folder_raises_seed_error_naming_it(tmp_path):
    """A seeds folder with no *.txt file is an error naming the folder."""
    _write(tmp_path, "README.md", "not a seed")
    with pytest.raises(SeedError, match=re.escape(f"{tmp_path}: no seed files (*.txt)")):
        load_seeds(tmp_path, "demo")


def test_a_missing_folder_raises_seed_error_naming_it(tmp_path):
    """A seeds folder that does not exist is an error naming it."""
    missing = tmp_path / "nowhere"
    with pytest.raises(SeedError, match=re.escape(f"{missing}: no such seeds folder")):
        load_seeds(missing, "demo")


def test_a_file_that_is_not_utf8_raises_seed_error_naming_it(tmp_path):
    """A seed file in another encoding is an error naming the file, not a traceback."""
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("title: Qu\xe9bec\n\nTexte.\n".encode("latin-1"))
    with pytest.raises(SeedError, match=re.escape(f"{bad}: cannot read")):
        load_seeds(tmp_path, "demo")
