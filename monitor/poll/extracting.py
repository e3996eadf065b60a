"""Extraction in child processes (``[poll] extract_processes``), so a poll extracts on every
core: in threads, the GIL runs one extraction (Python and lxml, CPU-bound) at a time whatever
``workers`` is.

Fetching stays in the round's threads (``monitor.poll.page``). A thread that has a page hands it
to a free slot and waits for the extraction; each slot is one child process, in an executor of
its own. So at most ``extract_processes`` pages are extracted at once, and a fetch thread holds
at most one page while it waits: the fetches slow down to the extraction's pace rather than
pile pages up in memory.

One executor per child, not one shared executor: when a child of a shared executor dies (killed,
out of memory, a crash in C code), every page queued on the executor fails with it. With one
child per slot, only the page that child held is lost, and it is the page to blame: it is
recorded as failed (``ExtractorDied``, an ``error`` on the article, re-fetched at its next
re-check) and the slot starts a new child for its next page. A page whose extraction takes
longer than ``[poll] extract_timeout`` (a pathological page, a bug looping in C) is handled the
same way: its child is killed (``ExtractTimedOut``), where it would have held its slot, and the
round with it, for ever.

Children are started with ``spawn`` (a forked child would inherit the parent's database
connections and the locks its other threads held), at the first page that needs one, and live
until ``Extractor.close`` (``App.close``): a daemon keeps them from round to round. They ignore
SIGINT and SIGTERM, which a terminal or systemd sends to the whole process group: the parent
decides when to stop, finishes the page in hand and then stops them. A child whose parent died
without stopping it (SIGKILL) exits by itself within a second.

With 0 processes, extraction runs in the fetch thread, one page at a time: under the GIL more
at once is no faster, and each would hold a parsed page (8 threads: about 130 MB more at peak).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from monitor import crash
from monitor.errors import ExtractError, ExtractorDied, ExtractTimedOut
from monitor.extract import Extracted, extract

# A child's parent is checked this often: how long a child outlives a parent killed outright.
ORPHAN_CHECK_S = 1.0


def processes_for(setting: int, workers: int) -> int:
    """The number of child processes for ``[poll] extract_processes``: -1 is one per core the
    process may run on, at most ``workers`` (more could never be busy at once); 0 is none."""
    if setting >= 0:
        return setting
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, min(cores or 1, workers))


class Extractor:
    """``monitor.extract.extract`` in ``processes`` child processes (0: in the caller's thread),
    called from any number of threads."""

    def __init__(self, processes: int, *, timeout: float | None = None) -> None:
        self.processes = processes
        self._slots = [
            _Slot(in_child=processes > 0, timeout=timeout) for _ in range(max(processes, 1))
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
        """Stop every child (each finishes the page in hand first)."""
        for slot in self._slots:
            slot.close()


class ExtractorFailed(Exception):
    """An exception the extractor raised in a child, carried back by its repr: the original
    may not survive pickling, and a result that cannot be unpickled breaks the executor."""

    def __repr__(self) -> str:
        return str(self.args[0])


class _Slot:
    """One child process (or, when not ``in_child``, the caller's thread)."""

    def __init__(self, *, in_child: bool, timeout: float | None = None) -> None:
        self.in_child = in_child
        self.timeout = timeout
        self.executor: ProcessPoolExecutor | None = None

    def run(self, body: bytes, url: str, min_words: int) -> Extracted:
        if not self.in_child:
            return extract(body, url, min_words=min_words)
        if self.executor is None:
            self.executor = ProcessPoolExecutor(
                1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_child_started,
                initargs=(os.getpid(),),
            )
        future = self.executor.submit(_extract_in_child, body, url, min_words)
        try:
            return future.result(timeout=self.timeout)
        except BrokenProcessPool as exc:
            self.close()  # the next page starts a new child
            raise ExtractorDied(f"{url}: the process extracting the page died") from exc
        except TimeoutError:
            self.kill()
            raise ExtractTimedOut(
                f"{url}: extracting the page took over {self.timeout:g} s; its process was stopped"
            ) from None

    def pids(self) -> list[int]:
        # The executor keeps its processes privately (measurement, and ``kill``, whose test
        # would fail if this stopped finding them), so tolerate change.
        processes = getattr(self.executor, "_processes", None) or {}
        return list(processes)

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None

    def kill(self) -> None:
        """Stop the child at once (SIGKILL: it is stuck, it would not finish its page); the
        next page starts a new one."""
        for pid in self.pids():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if self.executor is not None:
            self.executor.shutdown(wait=False, cancel_futures=True)
            self.executor = None


def _child_started(parent: int) -> None:
    """In a new child: leave SIGINT and SIGTERM to the parent, and exit if it dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    watch = threading.Thread(target=_exit_when_orphaned, args=(parent,), daemon=True)
    watch.start()


def _exit_when_orphaned(parent: int) -> None:
    # A dead parent's children are adopted by init (or a subreaper): the parent id changes.
    while os.getppid() == parent:
        time.sleep(ORPHAN_CHECK_S)
    os._exit(1)


def _extract_in_child(body: bytes, url: str, min_words: int) -> Extracted:
    """``extract`` in a child; the crash point lets a test kill the child mid-page."""
    crash.point("extract.child")
    try:
        return extract(body, url, min_words=min_words)
    except ExtractError:
        raise
    except Exception as exc:
        raise ExtractorFailed(repr(exc)) from None
