"""monitor.fetch.pool.by_host: parallel work, one host at a time, no worker idle while a host is
ready."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from monitor.fetch.pool import by_host


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
