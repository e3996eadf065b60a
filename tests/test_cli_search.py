"""``monitor search``: its formats, filters and mistakes, on the archive of tests/test_search.py."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.cli import main
from storage.db import open_database
from tests.test_search import COURIER, DEVOIR, GAZETTE, TRIBUNE, _store

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def archive_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('cli-search') / 'monitor.sqlite'}"
    db = open_database(url)
    try:
        _store(db)
    finally:
        db.close()
    return url


def run(
    archive_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    *args: str,
) -> tuple[int, str, str]:
    monkeypatch.setenv("MONITOR_STORAGE_URL", archive_url)
    code = main(["search", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_table_shows_hits_best_first_with_marked_words_and_the_count(
    archive_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The table: date, outlet, title, URL and the snippet with the matched words in
    brackets, best first, then which hits of how many."""
    code, out, _ = run(archive_url, monkeypatch, capsys, "engineers", "--limit", "5")
    assert code == 0
    assert out.splitlines()[0] == "2023-03-23  Gazette: Harbour tunnel opens (version 2)"
    assert f"    {GAZETTE}" in out.splitlines()
    assert "[Engineers]" in out
    assert out.splitlines()[-1] == "1-1 of 1 (best first)"
    code, out, _ = run(archive_url, monkeypatch, capsys, "zzzz qqqq")
    assert (code, out) == (0, "no article matches 'zzzz qqqq'\n")


def test_json_and_its_alias_give_one_object_per_hit_with_the_filters_applied(
    archive_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--format json`` and ``--json`` print the same lines, one object per hit, with the
    snippet's marks and the filters (story, relation, since, until) applied."""
    args = ["tunnel", "--story", "harbour", "--since", "2023-03-23", "--until", "2023-03-27"]
    code, out, _ = run(archive_url, monkeypatch, capsys, *args, "--format", "json")
    assert code == 0
    assert run(archive_url, monkeypatch, capsys, *args, "--json")[1] == out
    hits = [json.loads(line) for line in out.splitlines()]
    assert {h["url"] for h in hits} == {GAZETTE, DEVOIR}
    assert all(h["snippet"][a:b] for h in hits for a, b in h["marks"])
    assert hits[0]["stories"] == ["harbour"] and hits[0]["published_at"].endswith("+00:00")
    _, out, _ = run(archive_url, monkeypatch, capsys, "tunnel", "--relation", "off_topic", "--json")
    assert [json.loads(line)["url"] for line in out.splitlines()] == [COURIER]


def test_csv_has_a_header_and_a_row_per_hit(
    archive_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``--format csv``: a header, one row per hit, the page cut by --limit and --offset."""
    _, everything, _ = run(archive_url, monkeypatch, capsys, "tunnel", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(everything)))
    _, page, _ = run(
        archive_url,
        monkeypatch,
        capsys,
        "tunnel",
        "--format",
        "csv",
        "--limit",
        "1",
        "--offset",
        "1",
    )
    assert [r["url"] for r in csv.DictReader(io.StringIO(page))] == [rows[1]["url"]]
    assert {r["url"] for r in rows} >= {GAZETTE, TRIBUNE, COURIER}
    assert rows[0]["outlet"] and json.loads(rows[0]["marks"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("x", "--since", "yesterday"), "--since: not an ISO 8601 time: 'yesterday'"),
        (("x", "--until", "2023-02-30"), "--until: not a day (YYYY-MM-DD): '2023-02-30'"),
        (("* ^",), "search: the query '* ^' has no word to look for"),
        (("a" * 2000,), "search: the query is 2,000 characters long: at most 1,000"),
        (("x", "--lang", "english!"), "search: language 'english!': a language code"),
        (("x", "--limit", "0"), "search: limit 0: from 1 to 1000"),
    ],
)
def test_a_bad_date_or_query_is_one_line_and_exit_2(
    archive_url: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    message: str,
) -> None:
    """A date that is not one, a query with no word or too long, a bad filter: one line on
    stderr naming it, exit 2, nothing on stdout."""
    code, out, err = run(archive_url, monkeypatch, capsys, *args)
    assert (code, out) == (2, "")
    assert err.startswith(f"monitor: error: {message}") and err.count("\n") == 1


@pytest.mark.slow
def test_monitor_search_through_the_real_command(archive_url: str, tmp_path: Path) -> None:
    """``python -m monitor search`` with filters prints JSON lines and exits 0."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MONITOR_")}
    env |= {"MONITOR_STORAGE_URL": archive_url, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "search", "tunnel", "--outlet", "gazette", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert [json.loads(line)["url"] for line in proc.stdout.splitlines()] == [GAZETTE]


def test_a_word_in_most_of_the_archive_keeps_its_scores_in_json(
    archive_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A word in most of the archive (as a story's name is in that story's), which FTS5's BM25
    weighs at 1e-6, still shows each hit's score, best first, not 0 or one rounded value."""
    code, out, _ = run(archive_url, monkeypatch, capsys, "tunnel", "--json")
    scores = [json.loads(line)["score"] for line in out.splitlines()]
    assert code == 0 and len(scores) == 4
    assert all(s > 0 for s in scores) and len(set(scores)) == 4
    assert scores == sorted(scores, reverse=True)
