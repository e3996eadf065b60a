"""monitor.poll.extracting: a poll's pages extracted in child processes forked by one fork
server, a child that dies costing only the page it held, and no child (nor the server)
outliving a parent killed outright."""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor import config as configmod
from monitor.app import open_app
from monitor.errors import ExtractError, ExtractorDied
from monitor.poll import extracting
from monitor.poll.extracting import Extractor, processes_for
from monitor.poll.round import poll
from storage.models import Article
from tests.httpserver import Site
from tests.newsroom import Newsroom, round_time, serve_newsroom
from tests.test_crash import _poll, _unfinished
from tests.test_poll import page, reply, rss

NOW = datetime(2023, 3, 24, 12, tzinfo=UTC)


def test_minus_one_is_a_process_per_core_at_most_workers_and_zero_is_in_thread() -> None:
    """``extract_processes = -1`` gives one child per core but no more than ``workers``; 0 and
    any other count are taken as written."""
    cores = len(os.sched_getaffinity(0))
    assert processes_for(-1, 256) == cores
    assert processes_for(-1, 1) == 1
    assert (processes_for(0, 8), processes_for(3, 1)) == (0, 3)


def test_a_child_answers_each_page_on_its_pipe_and_stops_when_the_parent_closes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The child's loop (``_answer_pages``, here in a thread on a real pipe) answers a page with
    its Extracted, empty bytes with the ExtractError naming the URL, and an answer that will not
    pickle with an ExtractorFailed saying so, each decoded by ``_answer_of`` as the parent does;
    it returns when the parent's end closes. A message that does not unpickle is an
    ExtractorFailed too, not an exception out of the parent's thread."""
    parent, child = multiprocessing.Pipe()
    loop = threading.Thread(target=extracting._answer_pages, args=(child,))
    loop.start()
    body = page("Story", repeat=20).encode()
    parent.send((body, "https://a.example/1", 10))
    failed, value = extracting._answer_of(parent.recv_bytes())
    assert not failed and value.status == "ok" and value.title == "Story"
    parent.send((b"", "https://a.example/empty", 10))
    failed, value = extracting._answer_of(parent.recv_bytes())
    assert failed and isinstance(value, ExtractError) and "a.example/empty" in str(value)
    monkeypatch.setattr(extracting, "_extract_in_child", lambda *_: lambda: None)
    parent.send((body, "https://a.example/2", 10))
    failed, value = extracting._answer_of(parent.recv_bytes())
    assert failed and "did not pickle" in repr(value)
    parent.close()
    loop.join(10)
    assert not loop.is_alive()
    failed, value = extracting._answer_of(b"cno_such_module\nThing\n.")
    assert failed and "did not unpickle" in repr(value) and "no_such_module" in repr(value)


@pytest.mark.slow
def test_a_child_killed_mid_round_fails_its_page_and_the_next_pages_are_stored(
    http_server: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With one extraction process, the child kills itself on the second page it is given
    (SIGKILL, as the out-of-memory killer would): that page is stored with status ``error``
    and counted as a page error, a new child extracts the page after it, which is stored as an
    article, and the round goes on to record the source."""
    paths = [f"/a/{n}" for n in range(3)]
    items = [(f"Story {n}", http_server.url(p), None) for n, p in enumerate(paths)]
    http_server.routes["/feed.xml"] = reply(rss(*items))
    for n, path in enumerate(paths):
        http_server.routes[path] = reply(page(f"Story {n}"))
    # Read by the children (spawned with this environment), never by this process: no point
    # of that name is in the round's own code.
    monkeypatch.setenv("NEWS_MONITOR_CRASH_AT", "extract.child:2")
    config = configmod.Config(
        path="<test>",
        storage=configmod.StorageSettings(url=f"sqlite:///{tmp_path / 'm.sqlite'}"),
        fetch=configmod.FetchSettings(allow_private_networks=True, per_host_delay=0.0),
        poll=configmod.PollSettings(extract_processes=1),
        sources=(configmod.Source(http_server.url("/feed.xml"), "A"),),
    )
    with open_app(config, now=NOW) as app:
        report = poll(app, now=NOW)
        with app.db.read() as session:
            rows = session.execute(select(Article.url, Article.status, Article.error)).all()
    # The host's pages go one at a time, in the round's order: whichever came second died.
    by_status = sorted((status, url) for url, status, _ in rows)
    assert [s for s, _ in by_status] == ["error", "ok", "ok"], rows
    died = next(error for _, status, error in rows if status == "error")
    assert "the process extracting the page died" in died
    assert (report.page_errors, report.sources_failed, report.articles_new) == (1, 0, 3)


@pytest.mark.slow
def test_a_page_whose_extraction_hangs_is_stopped_at_the_timeout_and_the_round_goes_on(
    http_server: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With one extraction process and ``extract_timeout`` 2 s, the child hangs on the second
    page it is given (as on a page that sends the extractor into a loop): that page is stored
    with status ``error`` saying the extraction took over 2 s, the child is killed, and a new
    one extracts the page after it; the round records all three pages and its source."""
    paths = [f"/h/{n}" for n in range(3)]
    items = [(f"Story {n}", http_server.url(p), None) for n, p in enumerate(paths)]
    http_server.routes["/feed.xml"] = reply(rss(*items))
    for n, path in enumerate(paths):
        http_server.routes[path] = reply(page(f"Story {n}"))
    monkeypatch.setenv("NEWS_MONITOR_HANG_AT", "extract.child:2")  # read by the children
    mark = uuid.uuid4().hex
    monkeypatch.setenv("NEWS_MONITOR_TEST_MARK", mark)
    config = configmod.Config(
        path="<test>",
        storage=configmod.StorageSettings(url=f"sqlite:///{tmp_path / 'm.sqlite'}"),
        fetch=configmod.FetchSettings(allow_private_networks=True, per_host_delay=0.0),
        poll=configmod.PollSettings(extract_processes=1, extract_timeout=2.0),
        sources=(configmod.Source(http_server.url("/feed.xml"), "A"),),
    )
    with open_app(config, now=NOW) as app:
        report = poll(app, now=NOW)
        # The fork server's children: marked (they have its environment), not this one's own.
        children = [p for p in _marked(mark) if _parent(p) != os.getpid()]
        running = app.extractor.pids()
        with app.db.read() as session:
            rows = session.execute(select(Article.url, Article.status, Article.error)).all()
    assert sorted(status for _, status, _ in rows) == ["error", "ok", "ok"], rows
    error = next(error for _, status, error in rows if status == "error")
    assert "took over 2 s; its process was stopped" in error
    assert (report.page_errors, report.sources_failed, report.articles_new) == (1, 0, 3)
    # One child left, the new one: the hung one was killed, not left beside it.
    assert len(running) == 1 and children == running


def _parent(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rpartition(")")[2].split()[1])


@pytest.mark.slow
def test_children_come_from_one_fork_server_that_close_stops_and_reaps(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two extractors' children are forked by one fork server, a child of this process, and each
    child gets this process's environment as it is at the child's start (a crash point set
    after the server started reaches the second extractor's child, which dies on its first
    page); when the last extractor closes, the server is stopped and reaped (no process of its
    id is left, not even a zombie)."""
    monkeypatch.delenv("NEWS_MONITOR_CRASH_AT", raising=False)
    body = page("Story", repeat=20).encode()
    first, second = Extractor(1), Extractor(1)
    try:
        assert first.extract(body, "https://a.example/1", min_words=10).status == "ok"
        (child,) = first.pids()
        server = _parent(child)
        assert server is not None and server != os.getpid() and _parent(server) == os.getpid()
        monkeypatch.setenv("NEWS_MONITOR_CRASH_AT", "extract.child:1")
        with pytest.raises(ExtractorDied):
            second.extract(body, "https://a.example/2", min_words=10)
        assert first.extract(body, "https://a.example/3", min_words=10).status == "ok"
        first.close()
        assert Path(f"/proc/{server}").exists()  # the second extractor still uses it
    finally:
        first.close()
        second.close()
    assert not Path(f"/proc/{server}").exists()
    assert not Path(f"/proc/{child}").exists()


@pytest.mark.slow
def test_an_error_raised_in_a_child_reaches_the_caller_and_the_child_reads_the_next_page() -> None:
    """A page the extractor refuses in the child (empty bytes) raises its ExtractError, naming
    the URL, in the thread that asked; the same child (same process id) then extracts the
    next page: an error is an answer on the pipe, not the end of the child."""
    extractor = Extractor(1)
    try:
        body = page("Story", repeat=20).encode()
        assert extractor.extract(body, "https://a.example/1", min_words=10).status == "ok"
        (child,) = extractor.pids()
        with pytest.raises(ExtractError, match=r"https://a\.example/empty"):
            extractor.extract(b"", "https://a.example/empty", min_words=10)
        assert extractor.extract(body, "https://a.example/2", min_words=10).status == "ok"
        assert extractor.pids() == [child]
    finally:
        extractor.close()
    assert not Path(f"/proc/{child}").exists()


@pytest.mark.slow
def test_close_waits_for_the_page_in_hand_which_gets_its_answer() -> None:
    """``close`` called while another thread's page is being extracted (a long page, a few
    hundred milliseconds) waits for it: that thread gets its Extracted, not an error, and the
    child is gone when ``close`` returns; the extractor then starts a new child for a page."""
    extractor = Extractor(1)
    small = page("Story", repeat=20).encode()
    assert extractor.extract(small, "https://a.example/1", min_words=10).status == "ok"
    (child,) = extractor.pids()
    long_page = page("Long story", repeat=6000).encode()
    answers: list[object] = []
    reader = threading.Thread(
        target=lambda: answers.append(
            extractor.extract(long_page, "https://a.example/long", min_words=10)
        )
    )
    reader.start()
    while extractor._free.qsize():  # the slot taken: the long page is in the child
        time.sleep(0.001)
    started = time.monotonic()
    extractor.close()
    waited = time.monotonic() - started
    reader.join(10)
    assert [getattr(a, "status", a) for a in answers] == ["ok"]
    assert not Path(f"/proc/{child}").exists()
    assert waited > 0.01, "the page was not in hand when close was called"
    try:
        assert extractor.extract(small, "https://a.example/2", min_words=10).status == "ok"
        assert extractor.pids() and extractor.pids() != [child]
    finally:
        extractor.close()


def _marked(mark: str) -> list[int]:
    """The processes whose environment holds ``mark`` (this user's, readable ones)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if mark.encode() in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.mark.slow
def test_a_poll_killed_while_children_extract_leaves_no_child_behind(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A poll with two extraction children, killed with SIGKILL after its first article is
    stored: within a few seconds none of its children is left running, the archive holds no
    article read without its version and decision, and a clean poll then finishes the round."""
    mark = f"NEWS_MONITOR_TEST_MARK={uuid.uuid4().hex}"
    monkeypatch.setenv("NEWS_MONITOR_TEST_MARK", mark.partition("=")[2])
    monkeypatch.setenv("MONITOR_POLL_EXTRACT_PROCESSES", "2")
    ctx = multiprocessing.get_context("fork")
    newsroom = Newsroom(3)
    with serve_newsroom(newsroom) as server:
        path = newsroom.write_config(tmp_path / "m.toml", server.base, db_url, tmp_path / "seeds")
        with open_app(configmod.load(str(path)), now=round_time(0)):
            pass  # migrated and synced once, before the child forks
        server.set_round(0)
        child = ctx.Process(target=_poll, args=(str(path), round_time(0), "ingest.recorded:1"))
        child.start()
        child.join(120)
        assert child.exitcode == -9, "the poll was never killed"
        deadline = time.monotonic() + 10
        while _marked(mark) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _marked(mark) == []
        assert _unfinished(db_url) == []
        monkeypatch.setenv("MONITOR_POLL_EXTRACT_PROCESSES", "0")
        with open_app(configmod.load(str(path)), now=round_time(0)) as app:
            report = poll(app, now=round_time(0))
        assert report.sources_failed == 0
        assert _unfinished(db_url) == []
