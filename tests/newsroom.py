"""A newsroom on 127.0.0.1 for the tests that race worker processes: many sources whose feeds
share article URLs, new articles arriving round after round, pages edited, copies published
under other URLs, and a log of every feed request's start and end.

The model is pure data (``Newsroom``): which URLs each feed lists at each round, each page's
text at each round, and so what a correct archive holds after the last round (every listed URL
once, each text it showed as a version once). ``serve`` answers it over HTTP, one round at a
time (``NewsroomServer.set_round``).

Texts are drawn from two vocabularies with a fixed seed: on-topic articles are random orderings
of the story's words (far above the story threshold, and sharing no 5-word shingle with each
other), off-topic ones of a football vocabulary (cosine 0). Copies repeat another article's text
exactly, or with a sentence added; some are published an hour before the article they copy (so
they lead its copy group), some at the very same time (the URL decides: groups.predates).
"""

from __future__ import annotations

import hashlib
import itertools
import random
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

from tests.conftest import at, toml_value
from tests.httpserver import Handler, Reply, send, serve


def _words(text: str) -> list[str]:
    return text.split()


TOPIC = _words(
    "roxham road asylum seekers border crossing canada quebec york trudeau biden ottawa "
    "agreement migrants officials refugees irregular closure police lacolle champlain "
    "immigration minister fraser deal washington treaty safe third country shelters montreal "
    "buses arrivals claims hearing lawyers advocates families"
)
OFF = _words(
    "football league striker goal keeper season coach stadium fans penalty transfer derby "
    "midfield winger referee trophy cup final tactics training injury captain supporters "
    "tickets pitch kickoff halftime replay fixture relegation promotion academy scouting "
    "contract manager club"
)
SEED_TEXT = " ".join(
    f"{sentence.capitalize()}." for sentence in (" ".join(TOPIC[i : i + 12]) for i in (0, 12, 24))
)
START = at("2023-03-24T12:00:00+00:00")
ROUND_STEP = timedelta(days=1)
ROUNDS = 3  # 0: first articles; 1: new articles and edits; 2: nothing new, to settle


def _text(rng: random.Random, words: list[str], sentences: int = 8) -> str:
    return " ".join(
        " ".join(rng.choice(words) for _ in range(15)).capitalize() + "." for _ in range(sentences)
    )


@dataclass
class Page:
    path: str
    title: str
    published_at: datetime
    texts: dict[int, str]  # from round: the text from then on
    broken: frozenset[int] = frozenset()  # rounds it answers 500 in

    def text_at(self, round_: int) -> str:
        return self.texts[max(r for r in self.texts if r <= round_)]


@dataclass
class Newsroom:
    """``sources`` feeds over three rounds; see the module docstring. The first ``reporting``
    (all by default) publish their own articles and copies; the rest are aggregators listing
    only wire stories, which every feed shares: round 0's, then a new set in round 1."""

    sources: int
    reporting: int | None = None
    pages: dict[str, Page] = field(default_factory=dict)
    feeds: dict[int, dict[int, list[str]]] = field(default_factory=dict)  # round -> feed -> paths

    def __post_init__(self) -> None:
        rng = random.Random(15)
        reporting = self.sources if self.reporting is None else self.reporting
        wires = [self._wire(rng, w) for w in range(max(2, reporting // 6))]
        aggregators = self.sources > reporting
        later = [self._wire(rng, w, r=1) for w in range(len(wires), 2 * len(wires)) if aggregators]
        for r in range(ROUNDS):
            self.feeds[r] = {i: [] for i in range(self.sources)}
        for i in range(self.sources):
            # Each wire story is listed by several feeds under its one URL.
            self.feeds[0][i].append(wires[i % len(wires)])
            if i >= reporting:
                self.feeds[1][i] = [wires[i % len(wires)], later[i % len(later)]]
                continue
            for r in (0, 1):
                self._own(rng, i, r)
            if i % 5 == 0:
                self._copy(rng, i, wires[(i // 5) % len(wires)])
        for i in range(self.sources):
            self.feeds[2][i] = list(self.feeds[1][i])

    def _wire(self, rng: random.Random, w: int, r: int = 0) -> str:
        path = f"/wire/{w}.html"
        when = START + r * ROUND_STEP - timedelta(hours=2)
        self.pages[path] = Page(path, f"Wire {w}", when, {r: _text(rng, TOPIC)})
        return path

    def _own(self, rng: random.Random, i: int, r: int) -> None:
        path = f"/o{i}/story-{r}.html"
        words = OFF if i % 4 == 3 else TOPIC
        when = START + r * ROUND_STEP - timedelta(hours=1, minutes=i % 50)
        texts = {r: _text(rng, words)}
        if r == 0 and i % 3 == 0:
            texts[1] = texts[0] + " " + _text(rng, words, sentences=2)  # edited in round 1
        # Some first fetches fail: the article is stored unread, its first version (and the
        # stories' decisions) come with the re-check of the next round.
        # Others fail a re-check: the error is recorded, the article kept as it was.
        broken = frozenset({0}) if r == 0 and i % 7 == 1 else frozenset()
        broken |= frozenset({1}) if r == 0 and i % 7 == 2 else frozenset()
        self.pages[path] = Page(path, f"Outlet {i} story {r}", when, texts, broken)
        for later in range(r, ROUNDS):
            self.feeds[later][i].append(path)

    def _copy(self, rng: random.Random, i: int, wire: str) -> None:
        """A copy of ``wire`` on outlet ``i``, listed from round 1: exact, near (a sentence
        added), published an hour earlier (it leads the group) or at the same time."""
        original = self.pages[wire]
        text = original.texts[0]
        if i % 10 == 0:
            text += " " + _text(rng, TOPIC, sentences=1)
        when = original.published_at - (timedelta(hours=1) if i % 15 == 0 else timedelta(0))
        path = f"/o{i}/copy.html"
        self.pages[path] = Page(path, f"Outlet {i} copy", when, {0: text})
        for later in (1, 2):
            self.feeds[later][i].append(path)

    def listed(self) -> set[str]:
        """Every path some feed lists in some round."""
        return {p for feeds in self.feeds.values() for paths in feeds.values() for p in paths}

    def versions(self) -> dict[str, list[str]]:
        """The texts each listed page must be stored with, in order: each text it showed from
        the round it was first listed on, once."""
        out = {}
        for path in self.listed():
            first = min(r for r in range(ROUNDS) if any(path in v for v in self.feeds[r].values()))
            texts: list[str] = []
            for r in range(first, ROUNDS):
                if r in self.pages[path].broken:
                    continue
                text = self.pages[path].text_at(r)
                if not texts or texts[-1] != text:
                    texts.append(text)
            out[path] = texts
        return out

    def feed(self, base: str, i: int, round_: int) -> bytes:
        items = []
        for path in self.feeds[round_][i]:
            page = self.pages[path]
            items.append(
                f"<item><title>{page.title}</title><link>{base}{path}</link>"
                f"<guid>{base}{path}</guid>"
                f"<pubDate>{format_datetime(page.published_at)}</pubDate></item>"
            )
        return (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>Outlet '
            f"{i}</title>{''.join(items)}</channel></rss>"
        ).encode()

    def html(self, path: str, round_: int) -> bytes:
        page = self.pages[path]
        sentences = [s.rstrip(".") for s in page.text_at(round_).split(". ")]
        paragraphs = "".join(f"<p>{s}.</p>" for s in sentences)
        return (
            f'<html lang="en"><head><title>{page.title}</title>'
            f'<meta property="article:published_time" content="{page.published_at.isoformat()}">'
            f"</head><body><article><h1>{page.title}</h1>{paragraphs}</article></body></html>"
        ).encode()

    def write_config(self, path: Path, base: str, db_url: str, seeds: Path) -> Path:
        """A configuration polling every feed (each due again every round), with the story."""
        seeds.mkdir(exist_ok=True)
        (seeds / "seed.txt").write_text(
            "title: Roxham Road closes\nurl: https://seed.test/roxham\noutlet: Seed\n"
            f"published_at: {START.isoformat()}\n\n{SEED_TEXT}\n",
            encoding="utf-8",
        )
        lines = [
            "[storage]",
            f"url = {toml_value(db_url)}",
            "[fetch]",
            "allow_private_networks = true",
            "per_host_delay = 0",
            "[email]",
            f"outbox_dir = {toml_value(str(seeds.parent / 'outbox'))}",
            "[poll]",
            "per_host = 10000",
            # Small claims, so that every worker gets a share of the sources.
            "batch_size = 3",
            "workers = 2",
            "",
        ]
        for i in range(self.sources):
            lines += [
                "[[source]]",
                f'name = "Outlet {i}"',
                f"url = {toml_value(f'{base}/feed/{i}.xml')}",
                'interval = "1h"',
                "",
            ]
        lines += [
            "[[story]]",
            'slug = "roxham"',
            'title = "Roxham Road"',
            f"seeds = {toml_value(str(seeds))}",
            'keywords = ["Roxham"]',
        ]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path


def round_time(round_: int) -> datetime:
    return START + round_ * ROUND_STEP


@dataclass
class NewsroomServer:
    """The newsroom answering at ``base`` the round ``set_round`` chose; ``fetches`` holds each
    feed request as (path, start, end) on the monotonic clock."""

    newsroom: Newsroom
    base: str = ""
    round: int = 0
    pages: int = 0  # article pages answered
    on_page: Callable[[int], None] | None = None  # called with the count before answering
    fetches: list[tuple[str, float, float]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def set_round(self, round_: int) -> None:
        self.round = round_

    def answer_feed(self, handler: Handler, i: int) -> None:
        start = time.monotonic()
        time.sleep(0.01)  # long enough for two overlapping fetches to show as overlapping
        _send(handler, self.newsroom.feed(self.base, i, self.round), "application/rss+xml")
        with self.lock:
            self.fetches.append((f"/feed/{i}.xml", start, time.monotonic()))

    def answer_page(self, handler: Handler, path: str) -> None:
        with self.lock:
            self.pages += 1
            count = self.pages
        if self.on_page is not None:
            self.on_page(count)
        if self.round in self.newsroom.pages[path].broken:
            send(handler, Reply(500, b"down for maintenance\n", {"Content-Type": "text/plain"}))
            return
        _send(handler, self.newsroom.html(path, self.round), "text/html; charset=utf-8")

    def overlaps(self) -> list[str]:
        """Feed paths fetched twice at once."""
        by_path: dict[str, list[tuple[float, float]]] = {}
        for path, start, end in self.fetches:
            by_path.setdefault(path, []).append((start, end))
        bad = []
        for path, spans in by_path.items():
            spans.sort()
            if any(later[0] < earlier[1] for earlier, later in itertools.pairwise(spans)):
                bad.append(path)
        return bad


def _send(handler: Handler, body: bytes, content_type: str) -> None:
    """``body`` with an ETag, or a 304 to a client that has it: re-reading what did not change
    costs the workers no extraction, which keeps the races short."""
    etag = '"' + hashlib.sha256(body).hexdigest()[:16] + '"'
    if handler.headers.get("If-None-Match") == etag:
        send(handler, Reply(304, b"", {"ETag": etag}))
    else:
        send(handler, Reply(200, body, {"Content-Type": content_type, "ETag": etag}))


@contextmanager
def serve_newsroom(newsroom: Newsroom) -> Iterator[NewsroomServer]:
    """The newsroom on a free port of 127.0.0.1, at round 0."""
    server = NewsroomServer(newsroom)
    with serve() as site:
        server.base = site.base
        for i in range(newsroom.sources):
            site.routes[f"/feed/{i}.xml"] = lambda h, i=i: server.answer_feed(h, i)
        for path in newsroom.pages:
            site.routes[path] = lambda h, path=path: server.answer_page(h, path)
        yield server
