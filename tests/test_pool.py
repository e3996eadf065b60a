"""monitor.fetch.pool.by_host: parallel work, one host at a time, no worker idle while a host is
ready."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from monitor.fetch.pool import by_host, in_order


def test_every_item_once_hosts_in_parallel_never_one_host_twice_at_once() -> None:
    """30 items on 5 hosts, 4 workers: each item is yielded once with its result, no host ever
    has two items running, and more than one host runs at a time."""
    items = [f"https://h{i % 5}.test/{i}" for i in range(30)]
    running: dict[str, int] = {}
    most_per_host, most_overall, lock = [0], [0], threading.Lock()

    def work(url: str) -> str:
        host = url.split("/")[2]
        with lock:
            running[host] = running.get(host, 0) + 1
            most_per_host[0] = max(most_per_host[0], running[host])
            most_overall[0] = max(most_overall[0], sum(running.values()))
        time.sleep(0.01)
        with lock:
            running[host] -= 1
        return url.upper()

    with ThreadPoolExecutor(4) as executor:
        results = list(by_host(executor, items, url=lambda u: u, work=work, workers=4))
    assert sorted(results) == sorted((u, u.upper()) for u in items)
    assert most_per_host[0] == 1
    assert most_overall[0] > 1


@pytest.mark.slow
def test_a_worker_serves_another_host_while_one_host_pauses() -> None:
    """One worker, host A pausing 1 s after each request, host B always ready: B's three items
    run during A's pause instead of after A's second item."""
    order: list[str] = []
    pause_until: dict[str, float] = {}

    def work(url: str) -> None:
        host = url.split("/")[2]
        order.append(host)
        if host == "a.test":
            pause_until[host] = time.monotonic() + 1.0

    def ready_at(url: str) -> float:
        return pause_until.get(url.split("/")[2], 0.0)

    items = ["https://a.test/1", "https://a.test/2", "https://a.test/3"]
    items += ["https://b.test/1", "https://b.test/2"]
    with ThreadPoolExecutor(1) as executor:
        list(by_host(executor, items, url=lambda u: u, work=work, workers=1, ready_at=ready_at))
    assert order[:4] == ["a.test", "b.test", "b.test", "a.test"]
    assert len(order) == 5


def test_an_unexpected_error_reaches_the_caller() -> None:
    """A bug in ``work`` is raised in the caller's thread, not lost in a worker."""

    def work(url: str) -> None:
        raise RuntimeError(f"bug on {url}")

    with ThreadPoolExecutor(2) as executor, pytest.raises(RuntimeError, match="bug on"):
        list(by_host(executor, ["https://a.test/1"], url=lambda u: u, work=work, workers=2))


def test_stop_ends_the_work_before_the_remaining_items() -> None:
    """Setting ``stop`` during the first item: that item is yielded, the others never start."""
    stop = threading.Event()
    started: list[str] = []

    def work(url: str) -> str:
        started.append(url)
        stop.set()
        return url

    items = [f"https://a.test/{i}" for i in range(5)]
    with ThreadPoolExecutor(2) as executor:
        results = list(by_host(executor, items, url=lambda u: u, work=work, workers=2, stop=stop))
    assert started == ["https://a.test/0"]
    assert results == [("https://a.test/0", "https://a.test/0")]


def test_in_order_yields_each_result_once_it_and_those_before_it_are_in() -> None:
    """Results finishing c, a, d, b are yielded a, b, c, d: ``a`` as soon as it is in (before
    ``d`` and ``b`` are read), then b, c and d together when b comes; held, nothing before the
    last is in. Items are told apart by identity (a list is not hashable). An item that never
    finished ends the sequence before it."""
    items = {name: [name] for name in "abcd"}
    order = list(items.values())
    read: list[str] = []

    def finishing(names: str) -> Iterator[tuple[list[str], str]]:
        for name in names:
            read.append(name)
            yield items[name], name.upper()

    seen = [(i[0], r, "".join(read)) for i, r in in_order(finishing("cadb"), order)]
    assert seen == [("a", "A", "ca"), ("b", "B", "cadb"), ("c", "C", "cadb"), ("d", "D", "cadb")]
    read.clear()
    held = [(i[0], "".join(read)) for i, _ in in_order(finishing("cadb"), order, hold=True)]
    assert held == [("a", "cadb"), ("b", "cadb"), ("c", "cadb"), ("d", "cadb")]
    assert [i[0] for i, _ in in_order(finishing("cad"), order)] == ["a"]  # b never finished


def test_closing_early_stops_the_workers_after_the_item_in_hand() -> None:
    """The caller reads two results of 40 and closes the iterator: it returns only once every
    worker is idle, and no item is started after that (at most one more per worker)."""
    started: list[str] = []
    running = [0]
    lock = threading.Lock()

    def work(url: str) -> str:
        with lock:
            started.append(url)
            running[0] += 1
        time.sleep(0.02)
        with lock:
            running[0] -= 1
        return url

    items = [f"https://h{i % 8}.test/{i}" for i in range(40)]
    with ThreadPoolExecutor(4) as executor:
        results = by_host(executor, items, url=lambda u: u, work=work, workers=4)
        assert len([next(results), next(results)]) == 2
        results.close()
        assert running[0] == 0
        count = len(started)
        time.sleep(0.1)
        assert len(started) == count <= 2 + 2 * 4
