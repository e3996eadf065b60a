"""The web archives and news search services replayed on 127.0.0.1 for the reach tests: outlets
(feeds and article pages, a page taken down), the Wayback Machine (CDX JSON and text, raw
``id_`` captures, a capture with the archive's banner, a capture that redirects, one that is an
error page), Google News search RSS (links that redirect to the outlet), Bing News search RSS
(the outlet's URL in a parameter) and GDELT's article list (JSON), with 429 and 503 answers
served before the real one where a test asks.

The article bodies are real reporting: BASIL's three outlets' articles on one event (the story)
and another event's (off-topic), from ../shared/data, wrapped in a page.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import format_datetime
from html import escape
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

from tests.conftest import at
from tests.httpserver import Handler, Reply, Site, send, serve

SHARED = Path(__file__).resolve().parent.parent.parent / "shared" / "data"
BASIL = SHARED / "dedup_story" / "basil" / "basil_articles.jsonl"
T1 = at("2023-03-24T12:00:00+00:00")
T2 = T1 + timedelta(days=1)
BANNER = "WAYBACKTOOLBARTEXT archive banner"


def events(count: int) -> list[dict[str, dict]]:
    """The first ``count`` BASIL events covered by all three outlets, each outlet's article."""
    found: dict[str, dict[str, dict]] = {}
    with BASIL.open(encoding="utf-8") as lines:
        for line in lines:
            row = json.loads(line)
            found.setdefault(row["story_id"], {})[row["source"]] = row
            full = [e for e in found.values() if len(e) == 3]
            if len(full) >= count:
                return full
    raise AssertionError("BASIL has too few events")


def page(title: str, text: str, published: datetime, extra: str = "") -> str:
    paragraphs = "".join(f"<p>{escape(p)}</p>" for p in text.split("\n") if p.strip())
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}"
        f"</title><meta property='article:published_time' content='{published.isoformat()}'>"
        f"</head><body><article><h1>{escape(title)}</h1>{paragraphs}{extra}</article>"
        "</body></html>"
    )


def rss(items: list[tuple[str, str, datetime]], *, source: dict[str, str] | None = None) -> str:
    """RSS 2.0 with (title, link, published) items; ``source`` names each link's outlet as
    Google News does (``<source>``)."""
    out = []
    for title, link, published in items:
        named = (source or {}).get(link)
        src = f"<source url='https://outlet.example'>{escape(named)}</source>" if named else ""
        out.append(
            f"<item><title>{escape(title)}</title><link>{escape(link)}</link>"
            f"<guid>{escape(link)}</guid><pubDate>{format_datetime(published)}</pubDate>{src}"
            "</item>"
        )
    return (
        "<?xml version='1.0' encoding='UTF-8'?><rss version='2.0'><channel><title>t</title>"
        f"<link>http://example.org/</link><description>d</description>{''.join(out)}"
        "</channel></rss>"
    )


def stamp(when: datetime) -> str:
    return when.strftime("%Y%m%d%H%M%S")


@dataclass
class Replay:
    """What the server answers; tests change it between polls."""

    site: Site
    # CDX: original URL -> captures (time, body, status code); served at /web/{ts}id_/{url}
    captures: dict[str, list[tuple[datetime, str]]] = field(default_factory=dict)
    cdx_text: set[str] = field(default_factory=set)  # originals whose CDX answer is text

    def url(self, path: str) -> str:
        return self.site.url(path)

    def set(self, path: str, text: str, kind: str = "text/html", status: int = 200) -> None:
        self.site.routes[path] = Reply(status, text.encode("utf-8"), {"Content-Type": kind})

    def capture(self, original: str, when: datetime, body: str) -> str:
        """Add a capture of ``original``; returns its raw address's path."""
        self.captures.setdefault(original, []).append((when, body))
        path = f"/web/{stamp(when)}id_/{original}"
        self.site.routes[path] = Reply(200, body.encode("utf-8"), {"Content-Type": "text/html"})
        return path

    def archive_requests(self) -> list[str]:
        """The requests that reached the archive (CDX and captures), in order."""
        return [p for p in self.site.paths if p.startswith(("/web/", "/cdx/"))]


def _cdx(replay: Replay):  # type: ignore[no-untyped-def]
    def answer(h: Handler) -> None:
        query = parse_qs(urlsplit(h.path).query)
        original = query["url"][0]
        since, until = query.get("from", ["0"])[0], query.get("to", ["99999999999999"])[0]
        rows = [
            [stamp(when), original, "200", f"d{abs(hash(body))}", "text/html"]
            for when, body in replay.captures.get(original, [])
            if since <= stamp(when) <= until
        ]
        if original in replay.cdx_text:
            body = "\n".join(" ".join(r) for r in rows).encode()
        else:
            header = ["timestamp", "original", "statuscode", "digest", "mimetype"]
            body = json.dumps([header, *rows] if rows else []).encode()
        send(h, Reply(200, body, {"Content-Type": "application/json"}))

    return answer


@contextmanager
def replay() -> Iterator[Replay]:
    with serve() as site:
        served = Replay(site)
        site.routes["/cdx/search/cdx"] = _cdx(served)
        yield served


def flaky(replay: Replay, path: str, replies: list[Reply]) -> None:
    """``path`` answers ``replies`` first, one a request, then what it answered before."""
    real = replay.site.routes[path]
    early = list(replies)

    def answer(h: Handler) -> None:
        if early:
            send(h, early.pop(0))
        elif isinstance(real, Reply):
            send(h, real)
        else:
            real(h)

    replay.site.routes[path] = answer


def gone(replay: Replay, path: str) -> None:
    replay.site.routes[path] = Reply(404, b"gone", {"Content-Type": "text/html"})


def quoted(url: str) -> str:
    return quote(url, safe="")
