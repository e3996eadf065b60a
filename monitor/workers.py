"""``monitor run --workers N``: N daemons on one host, sharing one database.

Each worker is a process running ``monitor.daemon.run``: the database is the queue, so the
workers share sources, re-checks and digests with no leader and no traffic between them (a
source is claimed by one worker at a time, a version is stored under the article's row lock).
The parent only starts them, starts again one that died (at most once per ``RESTART_DELAY_S``),
and on SIGTERM or SIGINT passes SIGTERM on to every worker, waits for each to finish the item
in hand and give back its claims, then kills any that has not stopped within ``GRACE_S``.

Workers are started with ``spawn``, not ``fork``: a forked child would share the parent's
database connections and logging handlers.

Each worker extracts its pages in children of its own (``[poll] extract_processes``,
``monitor.poll.extracting``): N workers run N times that many. A worker stopped by SIGTERM
stops its children when it closes; one killed after ``GRACE_S`` leaves children that exit by
themselves within a second.
"""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import signal
import sys
import threading
import time
from datetime import UTC, datetime
from multiprocessing.process import BaseProcess
from types import FrameType

from monitor import log as logmod
from monitor.config import Config
from monitor.errors import MonitorError
from monitor.log import log

logger = logging.getLogger(__name__)

RESTART_DELAY_S = 5.0
GRACE_S = 60.0


def worker_main(config: Config, level: str, fmt: str) -> None:
    """One worker: the daemon, with logging set up as the parent's."""
    # SIGTERM may come while the worker still starts (imports, opening the database): it must
    # stop it as cleanly as later, not kill it with no word.
    stop = threading.Event()
    for s in (signal.SIGTERM, signal.SIGINT):
        signal.signal(s, lambda _signum, _frame: stop.set())
    from monitor import daemon

    logmod.setup(level, fmt)
    try:
        daemon.run(config, stop=stop)
    except MonitorError as exc:
        print(f"monitor: error: {exc}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:  # SIGINT to the terminal's group before run() took the signal
        sys.exit(130)


def worker_config(config: Config, n: int) -> Config:
    """Worker ``n``'s configuration: its own ``[ops] listen`` port, the configured one plus
    ``n - 1`` (each worker answers for its own health and metrics; port 0 stays 0, any free
    port; an empty address stays off)."""
    listen = config.ops.listen
    host, _, port = listen.rpartition(":")
    if not listen or n == 1 or int(port) == 0:
        return config
    ops = dataclasses.replace(config.ops, listen=f"{host}:{int(port) + n - 1}")
    return dataclasses.replace(config, ops=ops)


def run(
    config: Config, workers: int, *, level: str, fmt: str, stop: threading.Event | None = None
) -> None:
    """Run ``workers`` daemons until SIGTERM/SIGINT (or until ``stop`` is set)."""
    from monitor.app import open_app

    stop = stop or threading.Event()
    # Migrate and sync once here: a configuration or database fault is one error from the
    # parent, not one from each worker, again and again.
    open_app(config, now=datetime.now(UTC)).close()
    ctx = multiprocessing.get_context("spawn")

    def start(n: int) -> BaseProcess:
        own = worker_config(config, n)
        process = ctx.Process(target=worker_main, args=(own, level, fmt), name=f"worker-{n}")
        process.start()
        log(logger, "worker_started", worker=n, pid=process.pid)
        return process

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        log(logger, "stopping", signal=signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    children = {n: start(n) for n in range(1, workers + 1)}
    started = dict.fromkeys(children, time.monotonic())
    try:
        while not stop.wait(0.5):
            for n, process in children.items():
                if process.is_alive() or time.monotonic() - started[n] < RESTART_DELAY_S:
                    continue
                log(
                    logger,
                    "worker_died",
                    level=logging.WARNING,
                    worker=n,
                    pid=process.pid,
                    exitcode=process.exitcode,
                )
                children[n], started[n] = start(n), time.monotonic()
    finally:
        _stop_all(list(children.values()))
        for s, handler in previous.items():
            signal.signal(s, handler)
        log(logger, "stopped", workers=workers)


def _stop_all(children: list[BaseProcess]) -> None:
    """SIGTERM to every worker, then SIGKILL to any still running after ``GRACE_S``."""
    for process in children:
        if process.is_alive():
            process.terminate()
    deadline = time.monotonic() + GRACE_S
    for process in children:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            log(logger, "worker_killed", level=logging.WARNING, pid=process.pid)
            process.kill()
            process.join()
