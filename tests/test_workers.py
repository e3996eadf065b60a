"""Several worker processes on one database (GUIDE: the database is the queue): two processes
poll the demo's rounds side by side, on SQLite and PostgreSQL, and the story file is the one a
single process makes: every article once, each copy pointing at its original."""

from __future__ import annotations

import multiprocessing

import pytest

from monitor import config as configmod
from monitor.app import open_app
from monitor.poll.round import poll
from storage import storyfile
from tests.conftest import at, with_db
from tests.storyschema import checked
from tests.test_pipeline import assert_ground_truth

WORKERS = 2


def _worker(config: configmod.Config, times: list[str], barrier: object, out: object) -> None:
    """One `monitor poll` process: for each round, wait until the replay serves it, poll;
    report how many sources and new articles it handled."""
    polled = stored = 0
    with open_app(config, now=at(times[0])) as app:
        for now in times:
            barrier.wait()  # type: ignore[attr-defined]  # the parent has set the round
            report = poll(app, now=at(now))
            polled, stored = polled + report.sources_polled, stored + report.articles_new
            barrier.wait()  # type: ignore[attr-defined]  # every worker is done with it
    out.put((polled, stored))  # type: ignore[attr-defined]


@pytest.mark.slow
def test_two_processes_polling_one_database_make_the_single_process_story(
    demo_config, replay, manifest, db_url
):
    """Both processes claim sources from one queue and store, decide and version articles
    concurrently; the story file matches the replay's ground truth, with no article twice and
    no copy recorded as a second original."""
    config = with_db(demo_config, db_url)
    times = [spec["now"] for spec in manifest["round"]]
    with open_app(config, now=at(times[0])):
        pass  # migrate and sync once, before the workers race to
    ctx = multiprocessing.get_context("spawn")
    barrier, out = ctx.Barrier(WORKERS + 1), ctx.Queue()
    workers = [
        ctx.Process(target=_worker, args=(config, times, barrier, out)) for _ in range(WORKERS)
    ]
    for w in workers:
        w.start()
    try:
        for spec in manifest["round"]:
            replay.set_round(spec["name"])
            barrier.wait(timeout=120)
            barrier.wait(timeout=120)
        done = [out.get(timeout=60) for _ in workers]
    finally:
        for w in workers:
            w.join(timeout=60)
    assert [w.exitcode for w in workers] == [0] * WORKERS
    # Each source polled once a round, each article stored once, between them (how the work
    # splits varies from run to run; the race on one decision is forced in test_copy_index).
    assert sum(polled for polled, _ in done) == len(manifest["outlet"]) * len(times)
    assert sum(stored for _, stored in done) == len(manifest["expect"])
    with open_app(config, now=at(times[-1])) as app, app.db.read() as session:
        story = checked(storyfile.build(session, manifest["slug"]))
    assert story is not None
    listed = [a["url"] for o in story["outlets"] for a in o["articles"]]
    assert len(listed) == len(set(listed))
    assert_ground_truth(story, replay, manifest)
