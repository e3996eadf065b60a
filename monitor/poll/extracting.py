"""Extraction in child processes (``[poll] extract_processes``), so a poll extracts on every
core: in threads, the GIL runs one extraction (Python and lxml, CPU-bound) at a time whatever
``workers`` is.

Fetching stays in the round's threads (``monitor.poll.page``). A thread that has a page hands it
to a free slot and waits for the extraction; each slot is one child process and the pipe its
pages go through. So at most ``extract_processes`` pages are extracted at once, and a fetch
thread holds at most one page while it waits: the fetches slow down to the extraction's pace
rather than pile pages up in memory.

One child per slot, not a pool sharing a queue: when a child of a shared pool dies (killed,
out of memory, a crash in C code), every page queued on the pool fails with it. With one
child per slot, only the page that child held is lost, and it is the page to blame: it is
recorded as failed (``ExtractorDied``, an ``error`` on the article, re-fetched at its next
re-check) and the slot starts a new child for its next page. A page whose extraction takes
longer than ``[poll] extract_timeout`` (a pathological page, a bug looping in C) is handled the
same way: its child is killed (``ExtractTimedOut``), where it would have held its slot, and the
round with it, for ever.

Children are forked by multiprocessing's fork server, never from this process (a child forked
from here would inherit its database connections and the locks its other threads held). The
server is a fresh interpreter that imports the extractor and extracts one page
(``monitor.poll.extract_server``) before it forks any child, so the imports and the first
page's costs are paid once and every child starts warm, where a spawned child paid them again
(benchmarks/README.md). dateparser's compiling of every locale's expressions (1.4-2.7 CPU s)
is left to the children whose pages need it (see WARM_PAGE).
The server starts at the first page that needs a child and stops when the last ``Extractor``
that started children closes; so it is reaped by this process, and its CPU and its children's
count in this process's ``RUSAGE_CHILDREN``. A child gets this process's environment as it is
at the child's start, as a spawned child would.

Children live until ``Extractor.close`` (``App.close``): a daemon keeps them from round to
round. They ignore SIGINT and SIGTERM, which a terminal or systemd sends to the whole process
group: the parent decides when to stop, finishes the page in hand and then stops them. A child
whose parent died without stopping it (SIGKILL) exits at once: it waits on a pipe whose only
writer is the parent, which the kernel closes when the parent dies (the child's own parent is
the fork server, so a change of parent id would not tell); then the fork server, whose last
client is gone, exits too.

With 0 processes, extraction runs in the fetch thread, one page at a time: under the GIL more
at once is no faster, and each would hold a parsed page (8 threads: about 130 MB more at peak).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import multiprocessing.util
import os
import pickle
import queue
import signal
import threading
from collections.abc import Callable
from multiprocessing import forkserver
from multiprocessing.connection import Connection
from typing import Any

from monitor import crash
from monitor.errors import ExtractError, ExtractorDied, ExtractTimedOut
from monitor.extract import Extracted, extract

# Imported by the fork server before it forks a child: the extractor, warmed up.
PRELOAD = ["monitor.poll.extract_server"]

# A page for the extractor's first-use costs (its libraries' lazy imports and first compiles).
# Its date is one htmldate reads by itself: a date that fits no dateparser locale ("7 xqzv
# 2023") made dateparser compile every locale's expressions here, 1.4 CPU s a poll paid before
# its first page, which a small poll (the demo: 3.4 -> 4.9 s) or the test suite's many (3.8
# minutes of CI) never needed; a child compiles them when one of its pages needs them.
WARM_PAGE = (
    b'<html lang="en"><head><title>Warm</title></head><body><article><h1>Warm</h1>'
    b"<p>Posted 2023-03-07</p><p>"
    + b"Some words of text for the extractor to read as a paragraph. " * 30
    + b"</p></article></body></html>"
)


def usable_cores() -> int:
    """The cores this process may run on."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return cores or 1


def processes_for(setting: int, workers: int) -> int:
    """The number of child processes for ``[poll] extract_processes``: -1 is one per core the
    process may run on, at most ``workers`` (more could never be busy at once); 0 is none."""
    if setting >= 0:
        return setting
    return max(1, min(usable_cores(), workers))


class Extractor:
    """``monitor.extract.extract`` in ``processes`` child processes (0: in the caller's thread),
    called from any number of threads."""

    def __init__(self, processes: int, *, timeout: float | None = None) -> None:
        self.processes = processes
        self._server: _Server | None = None
        self._server_lock = threading.Lock()
        self._slots = [
            _Slot(self._server_for_child if processes > 0 else None, timeout=timeout)
            for _ in range(max(processes, 1))
        ]
        self._free: queue.SimpleQueue[_Slot] = queue.SimpleQueue()
        for slot in self._slots:
            self._free.put(slot)

    def extract(self, body: bytes, url: str, *, min_words: int) -> Extracted:
        """What ``extract`` makes of the page, raising what it raises (ExtractError; any other
        exception as ``ExtractorFailed``, with the original's repr), or ExtractorDied when the
        child extracting it died or ExtractTimedOut when it took too long; waits for a free
        slot first."""
        slot = self._free.get()
        try:
            return slot.run(body, url, min_words)
        finally:
            self._free.put(slot)

    def pids(self) -> list[int]:
        """The running children's process ids (for measuring them)."""
        return [pid for slot in self._slots for pid in slot.pids()]

    def close(self) -> None:
        """Stop every child (each finishes the page in hand first), and the fork server when
        no other extractor is using it."""
        # Each slot taken as a page would take it: one in use is waited for, so its thread
        # gets its page's answer rather than a pipe closed under it. Usable again after.
        taken = [self._free.get() for _ in self._slots]
        for slot in taken:
            slot.close()
            self._free.put(slot)
        with self._server_lock:
            if self._server is not None:
                self._server.release(self)
                self._server = None

    def _server_for_child(self) -> _Server:
        with self._server_lock:
            if self._server is None:
                self._server = _Server.acquire(self)
            return self._server


class ExtractorFailed(Exception):
    """An exception the extractor raised in a child, carried back by its repr: the original
    may not survive pickling, and an answer that cannot be unpickled would fail the page's
    caller with an error about pickling, not the extractor's."""

    def __repr__(self) -> str:
        return str(self.args[0])


class _Slot:
    """One child process, from the fork server ``server`` gives (None: the caller's thread),
    and the pipe its pages go through."""

    def __init__(self, server: Callable[[], _Server] | None, *, timeout: float | None) -> None:
        self.server = server
        self.timeout = timeout
        self.child: _Child | None = None

    def run(self, body: bytes, url: str, min_words: int) -> Extracted:
        if self.server is None:
            return extract(body, url, min_words=min_words)
        if self.child is None:
            self.child = _Child(self.server())
        try:
            failed, value = self.child.call((body, url, min_words), self.timeout)
        except TimeoutError:  # before OSError, of which it is one
            self.kill()
            raise ExtractTimedOut(
                f"{url}: extracting the page took over {self.timeout:g} s; its process was stopped"
            ) from None
        except (EOFError, OSError) as exc:  # the child died: its end of the pipe closed
            self.close()  # the next page starts a new child
            raise ExtractorDied(f"{url}: the process extracting the page died") from exc
        if failed:
            raise value
        result: Extracted = value
        return result

    def pids(self) -> list[int]:
        return [self.child.process.pid] if self.child and self.child.process.pid else []

    def close(self) -> None:
        if self.child is not None:
            self.child.close()
            self.child = None

    def kill(self) -> None:
        """Stop the child at once (SIGKILL: it is stuck, it would not finish its page); the
        next page starts a new one."""
        if self.child is not None:
            with contextlib.suppress(ProcessLookupError):
                self.child.process.kill()
            self.close()


class _Child:
    """A child process started by the fork server, reading pages from a pipe and answering
    each on it. One pipe, written and read by the one thread that holds the slot: where an
    executor (as before) kept two threads and two queues per child to do the same, which cost
    the poll 0.7 CPU ms a page (benchmarks/README.md)."""

    def __init__(self, server: _Server) -> None:
        self.conn, child_end = server.context.Pipe()
        self.process = server.context.Process(
            target=_serve,
            args=(child_end, server.parent_alive, dict(os.environ)),
            name="monitor-extract",
        )
        self.process.start()
        # Only the child holds its end now: its death reads as the end of this one.
        child_end.close()
        # At the interpreter's exit multiprocessing joins its children: closing the pipe first
        # (an Extractor never closed) lets this one end rather than wait for pages for ever.
        self._finalize = multiprocessing.util.Finalize(self, self.conn.close, exitpriority=10)

    def call(self, request: tuple[bytes, str, int], timeout: float | None) -> tuple[bool, Any]:
        """Send ``request`` and return the child's answer, (failed, the result or exception);
        EOFError or OSError when the child died, TimeoutError past ``timeout`` seconds."""
        self.conn.send(request)
        if not self.conn.poll(timeout):
            raise TimeoutError
        return _answer_of(self.conn.recv_bytes())

    def close(self) -> None:
        """The pipe closed: the child ends after the page in hand, and is waited for."""
        self._finalize()  # closes the pipe, once
        self.process.join()
        self.process.close()


class _Server:
    """The fork server, shared by this process's extractors: started for the first that needs
    a child, stopped when the last of them closes; with the pipe that tells a child its parent
    died."""

    _lock = threading.Lock()
    _current: _Server | None = None

    def __init__(self) -> None:
        self.users: set[int] = set()  # ids of the extractors using it
        self.context = multiprocessing.get_context("forkserver")
        self.context.set_forkserver_preload(PRELOAD)
        # Only this process holds the writing end; each child gets the reading end.
        self.parent_alive, self._writer = self.context.Pipe(duplex=False)

    @classmethod
    def acquire(cls, user: object) -> _Server:
        with cls._lock:
            if cls._current is None:
                cls._current = _Server()
            cls._current.users.add(id(user))
            return cls._current

    def release(self, user: object) -> None:
        with self._lock:
            self.users.discard(id(user))
            if self.users or _Server._current is not self:
                return
            _Server._current = None
            # multiprocessing has no public way to stop its fork server; ``_stop`` (there since
            # Python 3.4) closes the server's pipe and waits for it to exit, so its CPU and that
            # of the children it reaped count in this process's RUSAGE_CHILDREN.
            stop = getattr(getattr(forkserver, "_forkserver", None), "_stop", None)
            if stop is not None:
                with contextlib.suppress(OSError):  # it died and was reaped already
                    stop()
            self._writer.close()
            self.parent_alive.close()


def _child_started(parent_alive: Connection, environ: dict[str, str]) -> None:
    """In a new child: this process's environment, SIGINT and SIGTERM left to the parent, and
    an exit as soon as the parent dies."""
    os.environ.clear()
    os.environ.update(environ)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    watch = threading.Thread(target=_exit_when_orphaned, args=(parent_alive,), daemon=True)
    watch.start()


def _exit_when_orphaned(parent_alive: Connection) -> None:
    # Nothing is ever written: the pipe reads as ready (at its end) once the parent is gone.
    parent_alive.poll(None)
    os._exit(1)


def warm_up() -> None:
    """Extract ``WARM_PAGE`` once, so that what the extractor imports and compiles at its
    first page is done (in the fork server, before it forks a child; dateparser's locales
    excepted, see WARM_PAGE). Never raises: a failure here only
    leaves the children to pay those costs themselves."""
    with contextlib.suppress(Exception):  # an optimisation: the children extract anyway
        extract(WARM_PAGE, "https://example.org/warm-up")


def _answer_of(message: bytes) -> tuple[bool, Any]:
    """A child's answer as ``_answer_pages`` sent it: (failed, the Extracted or the exception)."""
    try:
        answer: tuple[bool, Any] = pickle.loads(message)
    except Exception as exc:  # a bug of ours: this page fails, the next is read as usual
        return True, ExtractorFailed(f"the extraction's answer did not unpickle: {exc!r}")
    return answer


def _serve(conn: Connection, parent_alive: Connection, environ: dict[str, str]) -> None:
    """A child's life (its target): set up, then pages answered until the parent is done."""
    _child_started(parent_alive, environ)
    _answer_pages(conn)


def _answer_pages(conn: Connection) -> None:
    """Pages read from ``conn`` until the parent closes it, each answered on it with (failed,
    the Extracted or the exception)."""
    while True:
        try:
            body, url, min_words = conn.recv()
        except EOFError:
            return
        try:
            answer: tuple[bool, Any] = (False, _extract_in_child(body, url, min_words))
        except (ExtractError, ExtractorFailed) as exc:
            answer = (True, exc)
        try:
            conn.send(answer)
        except (EOFError, OSError):
            return  # the parent closed the pipe
        except Exception as exc:  # an answer that does not pickle: a bug, told, not a hang
            conn.send((True, ExtractorFailed(f"the extraction's answer did not pickle: {exc!r}")))


def _extract_in_child(body: bytes, url: str, min_words: int) -> Extracted:
    """``extract`` in a child; the crash point lets a test kill the child mid-page."""
    crash.point("extract.child")
    try:
        return extract(body, url, min_words=min_words)
    except ExtractError:
        raise
    except Exception as exc:
        raise ExtractorFailed(repr(exc)) from None
