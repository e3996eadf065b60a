"""The structured log: every line on stderr is one JSON object, the libraries' warnings too."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest

from monitor import log


@pytest.fixture
def restored() -> Iterator[None]:
    """The loggers ``log.setup`` touches put back as they were after the test, so its handlers
    (holding the test's captured stderr) do not outlive it."""
    names = ("monitor", "storage", "")
    saved = {n: (logging.getLogger(n).handlers[:], logging.getLogger(n).level) for n in names}
    propagate = {n: logging.getLogger(n).propagate for n in names}
    yield
    for n, (handlers, level) in saved.items():
        logger = logging.getLogger(n)
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate = propagate[n]


def _lines(err: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.splitlines()]


def test_a_library_warning_is_a_json_line_and_its_info_is_not_shown(
    restored: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """APScheduler's missed-run warning comes out as JSON with its logger's name; a library's
    INFO chatter (httpx's request lines) does not come out at all."""
    log.setup("info", "json")
    logging.getLogger("apscheduler.executors.default").warning(
        "Run time of job %r was missed by %s", "tick", "3 s"
    )
    logging.getLogger("httpx").info("HTTP Request: GET http://127.0.0.1/ 200")
    log.log(logging.getLogger("monitor.poll"), "round", sources=3)
    lines = _lines(capsys.readouterr().err)
    assert [(x["logger"], x["level"], x["event"]) for x in lines] == [
        (
            "apscheduler.executors.default",
            "warning",
            "Run time of job 'tick' was missed by 3 s",
        ),
        ("monitor.poll", "info", "round"),
    ]
    assert lines[1]["sources"] == 3


def test_setup_twice_leaves_one_library_handler(
    restored: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """A second ``setup`` (a test, an embedding program) replaces its own root handler rather
    than adding one, so a library warning is written once."""
    log.setup("info", "json")
    log.setup("warning", "json")
    logging.getLogger("trafilatura.core").error("empty HTML tree")
    (line,) = _lines(capsys.readouterr().err)
    assert line["event"] == "empty HTML tree"
