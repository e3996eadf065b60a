"""A poll killed with SIGKILL anywhere (monitor.crash's points, NEWS_MONITOR_CRASH_AT) leaves
no article read without its version and decision, and the next poll finishes the work: the
archive ends as if nothing had crashed."""

from __future__ import annotations

import multiprocessing
import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor import config as configmod
from monitor.app import open_app
from monitor.poll.round import poll
from storage.db import open_database
from storage.models import Article, ArticleVersion, Entry, StoryArticle
from tests.newsroom import ROUNDS, Newsroom, round_time, serve_newsroom
from tests.test_race import _check_archive

STEP = timedelta(minutes=20)  # longer than a source's and an article's claim
# Where each round is killed (point:N, the Nth time the poll passes it) before it runs whole.
KILLS = {
    0: ["ingest.article:1", "ingest.recorded:2", "ingest.article:2", "round.feeds:1"],
    1: ["ingest.article:2", "round.feeds:1", "first_version.recorded:1", "recheck.version:1"],
}


def _poll(config_path: str, now: datetime, crash_at: str) -> None:
    """A poll in a forked child, told where to kill itself. One fetching thread: a round's
    re-checks store first versions and new versions of edited pages, and in threads, whichever
    came first under the machine's load decided whether a poll killed at the one had already
    stored every one of the other (the next poll's point then never reached)."""
    os.environ["NEWS_MONITOR_CRASH_AT"] = crash_at
    os.environ["MONITOR_POLL_WORKERS"] = "1"
    config = configmod.load(config_path)
    with open_app(config, now=now) as app:
        poll(app, now=now)


def _unfinished(url: str) -> list[str]:
    """Articles read as articles (status ok) without a version or without the story's decision,
    and feed entries linked to one of them."""
    db = open_database(url, migrate=False)
    try:
        with db.read() as session:
            versioned = set(session.scalars(select(ArticleVersion.article_id)))
            decided = set(session.scalars(select(StoryArticle.article_id)))
            rows = session.execute(select(Article.id, Article.url).where(Article.status == "ok"))
            read = {article_id: url for article_id, url in rows}
            linked = set(session.scalars(select(Entry.article_id)))
    finally:
        db.close()
    bad = [f"{u}: no version" for a, u in read.items() if a not in versioned]
    bad += [f"{u}: no decision" for a, u in read.items() if a not in decided]
    bad += [f"{u}: an entry links it" for a, u in read.items() if a in linked - versioned]
    return bad


@pytest.mark.slow
def test_a_poll_killed_at_any_point_leaves_no_article_without_its_version_and_decision(
    db_url: str, tmp_path: Path
) -> None:
    """At each crash point of ingest, re-check, first version and feed recording, a poll that
    kills itself there leaves every article read with its version and decision; clean polls
    after the crashes end with the archive a crash-free run makes."""
    ctx = multiprocessing.get_context("fork")  # the modules imported already: a fast start
    newsroom = Newsroom(6)
    with serve_newsroom(newsroom) as server:
        path = newsroom.write_config(tmp_path / "m.toml", server.base, db_url, tmp_path / "seeds")
        with open_app(configmod.load(str(path)), now=round_time(0)):
            pass  # migrated and synced once, before the first child forks
        for r in range(ROUNDS):
            server.set_round(r)
            for k, crash_at in enumerate(KILLS.get(r, [])):
                # Each poll a little later, past the leases of the one killed before it.
                now = round_time(r) + k * STEP
                child = ctx.Process(target=_poll, args=(str(path), now, crash_at))
                child.start()
                child.join(120)
                assert child.exitcode == -9, f"round {r}: {crash_at} was never reached"
                assert _unfinished(db_url) == [], f"round {r}, killed at {crash_at}"
            now = round_time(r) + len(KILLS.get(r, [])) * STEP
            clean = ctx.Process(target=_poll, args=(str(path), now, ""))
            clean.start()
            clean.join(120)
            assert clean.exitcode == 0
    _check_archive(db_url, newsroom)
