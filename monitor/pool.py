"""Network work in parallel, one host at a time.

The items of a round (feeds to fetch, pages to fetch and extract) are grouped by host, and each
group runs in one worker thread, item after item. Different hosts proceed side by side, a slow
host holds up only its own items, and no worker sits blocked on another's host. The fetcher's
HostGate still enforces the per-host limit and delay for anything that crosses hosts (a
redirect, a robots.txt).

Workers only fetch and run pure stages; every database write stays on the calling thread, in
an order the caller chooses, so decisions do not depend on which host answered first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, as_completed
from typing import TypeVar

from monitor.urls import domain_of

Item = TypeVar("Item")
Result = TypeVar("Result")


def by_host(
    executor: Executor,
    items: Iterable[Item],
    *,
    url: Callable[[Item], str],
    work: Callable[[Item], Result],
    stop: threading.Event | None = None,
) -> Iterator[tuple[Item, Result]]:
    """Run ``work`` on every item, the items of one host in sequence, and yield each item with
    its result as groups finish. Items not started when ``stop`` is set are not yielded.

    ``work`` must not raise for an expected failure: it returns the failure as its result, so
    one bad page never costs the rest of its host's items.
    """
    groups: dict[str, list[Item]] = {}
    for item in items:
        groups.setdefault(domain_of(url(item)), []).append(item)

    def run(group: list[Item]) -> list[tuple[Item, Result]]:
        done = []
        for item in group:
            if stop is not None and stop.is_set():
                break
            done.append((item, work(item)))
        return done

    # The longest groups start first: with fewer workers than hosts, they set the round's end.
    futures: list[Future[list[tuple[Item, Result]]]] = [
        executor.submit(run, group) for group in sorted(groups.values(), key=len, reverse=True)
    ]
    for future in as_completed(futures):
        yield from future.result()
