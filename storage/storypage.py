"""What ``monitor serve``'s story page shows of a story, read directly: its members (the
article's fields, the decision, what it copies, how many versions) and its timeline's events,
without a version's text, diff or kinds (the article page shows those).

The story file (``storage.storyfile.build``) reads every version of every member: at 5,000
members and 20,000 versions that took 1.6 CPU s, for a page that shows a count of them. The
rows here are the story file's, in its order (members in publication order, events in its
time order), and a test holds the page made from them equal to the one made from the file.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from sqlalchemy import BigInteger, String, cast, extract, func, select, type_coerce
from sqlalchemy.orm import Session, aliased

from storage.models import Article, ArticleVersion, StoryArticle, StoryEvent
from storage.stories import story_by_slug
from storage.storyfile import day_only_event, day_only_times
from storage.types import from_micros, from_text, micros, stored

Ints = npt.NDArray[np.int64]
_DAY = 86_400_000_000  # microseconds


class Member(NamedTuple):
    """An article of the story (never an off-topic one) as the story page lists it."""

    id: int
    url: str
    outlet: str
    domain: str
    title: str | None
    published_at: datetime | None
    published_precision: str | None
    first_seen_at: datetime
    status: str
    relation: str
    copy_of: str | None  # the URL of the article it copies
    versions: int


class Event(NamedTuple):
    """A timeline event with its article's outlet, URL and title; ``published_at`` only when
    known to the day alone (it places such a report as the story file does)."""

    id: int
    article_id: int
    at: datetime
    event: str
    article_version: int | None
    outlet: str
    url: str
    title: str | None
    published_at: datetime | None
    published_precision: str | None


@dataclass(frozen=True)
class Outline:
    slug: str
    title: str
    version: int
    updated_at: datetime | None
    members: list[Member]
    events: Timeline


def outline(session: Session, slug: str) -> Outline | None:
    """The story page's rows of ``slug``, or None if there is no such story."""
    story = story_by_slug(session, slug)
    if story is None:
        return None
    members = _members(session, story.id)
    return Outline(
        slug=story.slug,
        title=story.title,
        version=story.version,
        updated_at=story.updated_at,
        members=members,
        events=_events(session, story.id, members),
    )


def _members(session: Session, story_id: int) -> list[Member]:
    """The members in publication order (first seen, for the undated), then by id: the story
    file's order."""
    original = aliased(Article)
    counted = (
        select(func.count())
        .where(ArticleVersion.article_id == Article.id)
        .correlate(Article)
        .scalar_subquery()
    )
    # Core, not the ORM's row handling, and the times read by types.stored, not the column
    # type's processor: 8 ms less of 5,000 rows (35 ms).
    rows = session.connection().execute(
        select(
            Article.id, Article.url, Article.outlet, Article.domain, Article.title,
            type_coerce(Article.published_at, String), Article.published_precision,
            type_coerce(Article.first_seen_at, String), Article.status, StoryArticle.relation,
            original.url.label("copy_of"), counted.label("versions"),
        )
        .join(StoryArticle, StoryArticle.article_id == Article.id)
        .outerjoin(original, original.id == StoryArticle.copy_of_id)
        .where(StoryArticle.story_id == story_id, StoryArticle.relation != "off_topic")
    ).all()  # fmt: skip
    members = [  # first_seen_at is never NULL
        Member(i, url, outlet, domain, title, stored(published), precision, stored(seen),  # type: ignore[arg-type]
               status, relation, copy_of, versions)
        for i, url, outlet, domain, title, published, precision, seen, status, relation,
        copy_of, versions in rows
    ]  # fmt: skip
    return sorted(members, key=lambda m: (m.published_at or m.first_seen_at, m.id))


class Timeline:
    """The story's events in the story file's time order, a column each: ``at`` (microseconds
    since the epoch, UTC), ``article`` (an index into ``articles``: the members, then articles
    outside the story now) and ``kind`` (an index into ``kinds``, the events' names). An event
    with its datetime and its article's fields (an ``Event``) is made only when asked: a
    5,000-article story has 20,000 events, whose datetimes and tuples took some 30 ms more than
    these columns, and its page shows some 1,400 of them."""

    def __init__(self, ids: Ints, at: Ints, article: Ints, kind: Ints, kinds: list[str],
                 versions: list[int | None], articles: list[Any]) -> None:  # fmt: skip
        self.ids, self.at, self.article, self.kind = ids, at, article, kind
        self.kinds, self.articles, self.versions = kinds, articles, versions

    def __len__(self) -> int:
        return len(self.at)

    def __iter__(self) -> Iterator[Event]:
        return (self.event(i) for i in range(len(self)))

    def article_id(self, i: int) -> int:
        """The id of the ``i``-th event's article."""
        return int(self.articles[self.article[i]].id)

    def event(self, i: int) -> Event:
        """The ``i``-th event, its article's fields beside it."""
        a = self.articles[self.article[i]]
        return Event(int(self.ids[i]), a.id, from_micros(int(self.at[i])),
                     self.kinds[self.kind[i]], self.versions[i], a.outlet, a.url, a.title,
                     a.published_at if a.published_precision == "day" else None,
                     a.published_precision)  # fmt: skip


def _events(session: Session, story_id: int, members: list[Member]) -> Timeline:
    """The story's events in the story file's time order: by time, then id, unless a report
    is known only by its day (``storyfile.time_order``). Their articles' fields are the
    members' (joining the articles to 20,000 events doubled the query), read only for
    articles outside the story now (a dropped one)."""
    e = StoryEvent.__table__.c
    postgresql = session.get_bind().dialect.name == "postgresql"
    # The times as numbers: PostgreSQL's computed by it; SQLite's texts read as they are (not
    # as the column type's datetimes) and parsed in one pass (its date functions took 12 ms
    # more than the whole fetch of 20,000 rows).
    at = (cast(extract("epoch", e.at) * 1_000_000, BigInteger) if postgresql
          else type_coerce(e.at, String))  # fmt: skip
    rows = (
        session.connection()
        .execute(  # Core: the ORM's row handling costs
            select(e.id, e.article_id, at, e.event, e.article_version).where(e.story_id == story_id)
        )
        .all()
    )
    ids, article_ids, times, names, versions = (
        (list(c) for c in zip(*rows, strict=True)) if rows else ([], [], [], [], [])
    )
    micros_at = np.array(times, dtype=np.int64) if postgresql else texts_as_micros(times)
    kinds: dict[str, int] = {}
    kind = np.array([kinds.setdefault(name, len(kinds)) for name in names], dtype=np.intp)
    articles, article = _articles(session, members, np.array(article_ids, dtype=np.int64))
    fetched = Timeline(np.array(ids, dtype=np.int64), micros_at, article, kind, list(kinds),
                       versions, articles)  # fmt: skip
    order = np.lexsort((fetched.ids, *_day_only_keys(fetched)))
    return Timeline(fetched.ids[order], micros_at[order], article[order], kind[order],
                    list(kinds), [versions[i] for i in order.tolist()], articles)  # fmt: skip


def _articles(session: Session, members: list[Member], ids: Ints) -> tuple[list[Any], Ints]:
    """The articles of the events (the members, then any outside the story now) and the index
    of each event's in them."""
    if not members:
        index, outside = np.zeros(len(ids), dtype=np.intp), np.ones(len(ids), dtype=bool)
    else:
        member_ids = np.array([m.id for m in members], dtype=np.int64)
        by_id = np.argsort(member_ids)
        index = by_id[np.minimum(np.searchsorted(member_ids, ids, sorter=by_id), len(by_id) - 1)]
        outside = member_ids[index] != ids
    if not outside.any():
        return list(members), index
    wanted = np.unique(ids[outside])
    found = _others(session, set(wanted.tolist()))
    index[outside] = len(members) + np.searchsorted(wanted, ids[outside])
    return [*members, *(found[i] for i in wanted.tolist())], index


def _day_only_keys(t: Timeline) -> tuple[Ints, Ints]:
    """Where each event sorts (``storyfile.time_order``'s keys, the id aside): at its time and
    first, or, for a report known only by its day, where the story file places it, after the
    timed events there."""
    day_at = {n: micros(a.published_at) for n, a in enumerate(t.articles)
              if a.published_precision == "day" and a.published_at is not None}  # fmt: skip
    flags = np.zeros(len(t), dtype=np.int64)
    if not day_at:
        return flags, t.at
    at_day = np.array([day_at.get(n, 0) for n in range(len(t.articles))], dtype=np.int64)
    dated = np.zeros(len(t.articles), dtype=bool)
    dated[list(day_at)] = True
    maybe = np.flatnonzero(dated[t.article] & (at_day[t.article] == t.at)).tolist()
    day_only = [i for i in maybe if day_only_event(t.event(i))]
    if not day_only:
        return flags, t.at
    # time_order's placing looks at the events of the day of each report alone
    days = t.at // _DAY
    near = np.flatnonzero(np.isin(days, days[day_only])).tolist()
    flags[day_only] = 1
    events = [t.event(i) for i in near]
    placed = day_only_times(events, [bool(flags[i]) for i in near])
    keys = t.at.copy()
    for n, when in placed.items():
        keys[near[n]] = micros(when)
    return flags, keys


def _others(session: Session, ids: set[int]) -> dict[int, Any]:
    """The outlet, URL, title and publication time of the articles ``ids``."""
    found: dict[int, Any] = {}
    wanted = sorted(ids)
    for start in range(0, len(wanted), 5_000):  # SQLite binds at most 32,766 parameters
        found |= {
            row.id: row
            for row in session.execute(
                select(Article.id, Article.outlet, Article.url, Article.title,
                       Article.published_at, Article.published_precision)
                .where(Article.id.in_(wanted[start : start + 5_000]))
            )
        }  # fmt: skip
    return found


# The stored text (process_bind_param: 32 characters, the offset always +00:00), each character
# between these two bounds.
_LOW = np.frombuffer(b"0000-00-00T00:00:00.000000+00:00", dtype=np.uint8)
_HIGH = np.frombuffer(b"9999-99-99T99:99:99.999999+00:00", dtype=np.uint8)
# The digits' weights: of the year, of the second in the day (the colons weigh nothing) and of
# the microsecond.
_YEAR = np.array([1000, 100, 10, 1], dtype=np.int32)
_SECOND = np.array([36_000, 3_600, 0, 600, 60, 0, 10, 1], dtype=np.int32)
_MICRO = np.array([100_000, 10_000, 1_000, 100, 10, 1], dtype=np.int32)


def texts_as_micros(texts: Sequence[str]) -> npt.NDArray[np.int64]:
    """SQLite's stored times as microseconds since the epoch, in one numpy pass over their
    characters (a 5,000-article story's 20,000 events: 3.5 ms, against 25 through datetimes
    made by the column type); a text of another shape (none is written so) parsed alone."""
    try:
        chars = np.array(texts, dtype="S33").view(np.uint8).reshape(len(texts), 33)
    except UnicodeEncodeError:
        return np.array([micros(from_text(t)) for t in texts], dtype=np.int64)
    body = chars[:, :32]
    fits = ((body >= _LOW) & (body <= _HIGH)).all(axis=1) & (chars[:, 32] == 0)
    d = body[:, :26].astype(np.int32) - ord("0")
    days = _days((d[:, :4] @ _YEAR).astype(np.int64), (d[:, 5] * 10 + d[:, 6]).astype(np.int64),
                 (d[:, 8] * 10 + d[:, 9]).astype(np.int64))  # fmt: skip
    seconds = days * 86_400 + d[:, 11:19] @ _SECOND
    out: npt.NDArray[np.int64] = seconds * 1_000_000 + d[:, 20:26] @ _MICRO
    for i in np.flatnonzero(~fits).tolist():
        out[i] = micros(from_text(texts[i]))
    return out


def _days(
    year: npt.NDArray[np.int64], month: npt.NDArray[np.int64], day: npt.NDArray[np.int64]
) -> npt.NDArray[np.int64]:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's days_from_civil)."""
    year = year - (month <= 2)
    era = year // 400
    of_era = year - era * 400
    of_year = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    of_cycle = of_era * 365 + of_era // 4 - of_era // 100 + of_year
    days: npt.NDArray[np.int64] = era * 146_097 + of_cycle - 719_468
    return days
