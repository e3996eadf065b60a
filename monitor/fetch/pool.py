"""Network work in parallel, one host at a time, no worker idle while any host is ready.

The items of a round (pages to fetch and extract) are queued per host. Worker threads take the
next item of whichever host is ready soonest (``ready_at``: the fetcher's per-host pause),
run it, and put the host back with its next ready time. So one host's items never overlap, a
slow host holds up only its own items, and a worker that would otherwise sleep through one
host's politeness pause serves another host meanwhile. The fetcher's HostGate still enforces
the per-host limit and pause for anything that crosses hosts (a redirect, a robots.txt).

Workers only fetch and run pure stages; every database write stays on the calling thread, in
an order the caller chooses, so decisions do not depend on which host answered first.
"""

from __future__ import annotations

import heapq
import itertools
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import Executor
from typing import Generic, TypeVar

from monitor.urls import domain_of

Item = TypeVar("Item")
Result = TypeVar("Result")


def _always_ready(_url: str) -> float:
    return 0.0


class _Hosts(Generic[Item]):
    """The per-host queues and the heap of hosts by ready time, under one condition."""

    def __init__(self, items: Iterable[Item], url: Callable[[Item], str]) -> None:
        self.url = url
        self.queues: dict[str, deque[Item]] = {}
        for item in items:
            self.queues.setdefault(domain_of(url(item)), deque()).append(item)
        self.order = itertools.count()
        # (ready time, longer queues first among the ready, tie-break, host)
        self.heap = [(0.0, -len(q), next(self.order), h) for h, q in self.queues.items()]
        heapq.heapify(self.heap)
        self.pending = len(self.queues)  # hosts with items left, queued or running
        self.closed = False  # no item is taken any more (a worker failed, the caller left)
        self.cond = threading.Condition()

    def close(self) -> None:
        """Every worker stops after the item in hand."""
        with self.cond:
            self.closed = True
            self.cond.notify_all()

    def take(self, stop: threading.Event | None) -> tuple[str, Item] | None:
        """The next item of the host ready soonest, waiting for its time; None when done."""
        with self.cond:
            while True:
                if self.closed or (stop is not None and stop.is_set()) or self.pending == 0:
                    return None
                if not self.heap:  # every host left is running; one may come back
                    self.cond.wait(0.5)
                    continue
                ready, _, _, host = self.heap[0]
                wait = ready - time.monotonic()
                if wait > 0:
                    self.cond.wait(min(wait, 0.5))
                    continue
                heapq.heappop(self.heap)
                return host, self.queues[host].popleft()

    def put_back(self, host: str, ready_at: Callable[[str], float]) -> None:
        """After one item of ``host``: requeue the host at its next ready time, or retire it."""
        with self.cond:
            items = self.queues[host]
            if items:
                when = ready_at(self.url(items[0]))
                heapq.heappush(self.heap, (when, -len(items), next(self.order), host))
            else:
                self.pending -= 1
            self.cond.notify_all()


def by_host(
    executor: Executor,
    items: Iterable[Item],
    *,
    url: Callable[[Item], str],
    work: Callable[[Item], Result],
    workers: int = 1,
    ready_at: Callable[[str], float] = _always_ready,
    stop: threading.Event | None = None,
) -> Generator[tuple[Item, Result], None, None]:
    """Run ``work`` on every item with ``workers`` threads of ``executor``, never two items of
    one host at once, and yield each item with its result as it finishes. ``ready_at(url)`` is
    the monotonic time the item's host may be asked again. Items not started when ``stop`` is
    set are not yielded. Closed before its end (the caller stopped reading, or raised), it
    stops the workers after the item each has in hand and returns once they have.

    ``work`` must not raise for an expected failure: it returns the failure as its result, so
    one bad page never costs the rest of its host's items. An unexpected exception is raised
    here, in the caller's thread, once the workers have stopped.
    """
    hosts = _Hosts(items, url)
    if not hosts.queues:
        return
    done: queue.SimpleQueue[tuple[Item, Result] | BaseException | None] = queue.SimpleQueue()

    def run() -> None:
        try:
            while (taken := hosts.take(stop)) is not None:
                host, item = taken
                try:
                    done.put((item, work(item)))
                finally:
                    hosts.put_back(host, ready_at)
        except BaseException as exc:  # handed to the caller's thread, never lost in a future
            hosts.close()  # the others stop too
            done.put(exc)
        finally:
            done.put(None)

    runners = min(workers, len(hosts.queues))
    for _ in range(runners):
        executor.submit(run)
    failure: BaseException | None = None
    finished = 0
    try:
        while finished < runners:
            message = done.get()
            if message is None:
                finished += 1
            elif isinstance(message, BaseException):
                failure = failure or message
            else:
                yield message
    finally:
        if finished < runners:  # left early: no worker goes on reading for nobody
            hosts.close()
            while finished < runners:
                finished += done.get() is None
    if failure is not None:
        raise failure


def in_order(
    results: Iterable[tuple[Item, Result]], order: Sequence[Item], *, hold: bool = False
) -> Iterator[tuple[Item, Result]]:
    """``results`` (each item with its result, in the order the work finished) in ``order``
    instead, each as soon as it and every item before it have finished: the caller can store
    the first while the workers still read the rest, in an order that does not depend on which
    host answered first. ``hold``: none before every result is in. An item with no result (not
    started: stopped) ends it there."""
    if hold:
        results = list(results)
    waiting: dict[int, tuple[Item, Result]] = {}  # by identity: items need not be hashable
    head = 0
    for item, result in results:
        waiting[id(item)] = (item, result)
        while head < len(order) and id(order[head]) in waiting:
            yield waiting.pop(id(order[head]))
            head += 1
