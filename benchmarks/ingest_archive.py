"""The fixtures of benchmarks/ingest.py: the real pages and their local feeds, the
configuration, and a pre-filled archive of N articles and M story members.

Pages: every real article page of ../shared/data (article_extraction_benchmark and the four
article_html sets, read in place, one per distinct content, canonical URL tags removed so a
page served twice is two articles). Page k is served at ``/a/k.html`` and listed in feed
k % 20, under the feed's own host name (``/feed/i.xml``, for the poll, whose resolver maps every
name to 127.0.0.1) and under 127.0.0.1 (``/plain/i.xml``, for the script).

The archive: storing 100,000 articles through the pipeline would take hours; here each article
is one row of ``articles`` and one of ``article_versions`` (version 1, fetched two weeks after
publication, no re-check due, no page kept), inserted with SQLAlchemy Core in chunks into a
migrated database. The texts are the 825 real articles of ../shared/data/dedup_story (BASIL,
ECB+, NewsWCL50), going round, each under its own URL with its real fingerprint
(``monitor.match.fingerprint``). The story's members are ``story_articles`` rows (relation
``original``) on articles of their own, beside the N archived.

What the app derives from these rows it derives itself: the story's row is synced, and the band
table and the document frequencies are built, by the first ``open_app`` (they were never built
on this database, so the start rebuilds them from the stored rows, as after an upgrade). So the
matcher loads the members and the background statistics count the archive exactly as if the
pipeline had stored them, and derived state that a later version adds is built the same way.

Imports here are light (the project's are inside ``build``): benchmarks/ingest.py's spawned
systems import this module, and their peak memory must hold only what each needs.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from monitor.config import Config
    from monitor.match import MatchSettings

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
PAGE_DIRS = (
    DATA / "article_extraction_benchmark" / "html",
    DATA / "article_html" / "trafilatura_eval_subset" / "html",
    DATA / "article_html" / "htmldate_mediacloud_2020" / "html",
    DATA / "article_html" / "newspaper3k" / "html",
    DATA / "article_html" / "newspaper4k" / "html",
)
NOW = datetime(2023, 3, 24, 12, tzinfo=UTC)
SOURCES = 20
_CANONICAL = re.compile(
    rb"<link\b[^>]*\brel\s*=\s*[\"']?canonical\b[^>]*>"
    rb"|<meta\b[^>]*\bproperty\s*=\s*[\"']?og:url\b[^>]*>",
    re.IGNORECASE,
)


def read_page(path: str) -> bytes:
    raw = Path(path).read_bytes()
    return _CANONICAL.sub(b"", gzip.decompress(raw) if path.endswith(".gz") else raw)


def page_paths() -> list[str]:
    """Every real article page, once per distinct content, in a fixed order."""
    seen, paths = set(), []
    for folder in PAGE_DIRS:
        for path in sorted(folder.iterdir()):
            if path.name.endswith((".html", ".html.gz", ".htm")):
                digest = hashlib.sha256(read_page(str(path))).digest()
                if digest not in seen:
                    seen.add(digest)
                    paths.append(str(path))
    return paths


def host(i: int) -> str:
    return f"s{i:03d}.ingest.test"


def resolve_local(_host: str, _port: int) -> list[str]:
    return ["127.0.0.1"]


def page_url(k: int, port: int, plain: bool = False) -> str:
    name = "127.0.0.1" if plain else host(k % SOURCES)
    return f"http://{name}:{port}/a/{k}.html"


@contextmanager
def newsroom(paths: list[str], count: int) -> Iterator[int]:
    """The pages and feeds on 127.0.0.1; yields the port. Page k is in feed k % SOURCES,
    listed under its host name (``/feed/i.xml``, for the poll) and under 127.0.0.1
    (``/plain/i.xml``, for the script, which resolves names the usual way)."""
    from tests.httpserver import Reply, serve

    pages = [read_page(p) for p in paths]
    with serve() as site:
        html = {"Content-Type": "text/html; charset=utf-8"}
        for k in range(count):
            site.routes[f"/a/{k}.html"] = Reply(200, pages[k % len(pages)], html)
        for kind, plain in (("feed", False), ("plain", True)):
            for i in range(SOURCES):
                items = "".join(
                    f"<item><title>Item {k}</title><link>{page_url(k, site.port, plain)}</link>"
                    f"<guid>{k}</guid><pubDate>"
                    f"{(NOW - timedelta(minutes=k)).strftime('%a, %d %b %Y %H:%M:%S +0000')}"
                    "</pubDate></item>"
                    for k in range(i, count, SOURCES)
                )
                body = '<?xml version="1.0"?><rss version="2.0"><channel><title>f</title>'
                site.routes[f"/{kind}/{i}.xml"] = Reply(
                    200, (body + items + "</channel></rss>").encode(), {"Content-Type": "text/xml"}
                )
        site.routes["/robots.txt"] = Reply(404)
        yield site.port


def write_config(folder: Path, port: int) -> Path:
    lines = [
        "[storage]",
        f"url = {json.dumps('sqlite:///' + str(folder / 'monitor.sqlite'))}",
        "[fetch]\nallow_private_networks = true\nper_host_delay = 0",
        f"[email]\noutbox_dir = {json.dumps(str(folder / 'outbox'))}",
        "[poll]\nbatch_size = 10",  # two lots of the 20 sources: two workers can share them
        '[log]\nlevel = "warning"',
    ]
    for i in range(SOURCES):
        lines.append(f'[[source]]\nname = "S{i}"\nurl = "http://{host(i)}:{port}/feed/{i}.xml"')
    seeds = json.dumps(str(ROOT / "seeds" / "roxham-road"))
    lines.append(
        f'[[story]]\nslug = "roxham-road"\ntitle = "Roxham Road"\nseeds = {seeds}\n'
        'keywords = ["Roxham"]'
    )
    path = folder / "monitor.toml"
    path.write_text("\n\n".join(lines) + "\n", encoding="utf-8")
    return path


class Templates:
    """Pre-filled databases, one per (archived, members), built on first use and copied."""

    def __init__(self, folder: Path, port: int, say: Callable[[str], None]) -> None:
        self.folder, self.port, self.say = folder, port, say
        self.built: set[tuple[int, int]] = set()

    def fresh(self, archived: int, members: int, run: Path) -> Path:
        from monitor import config as configmod

        template = self.folder / f"a{archived}-m{members}"
        if (archived, members) not in self.built:
            template.mkdir()
            started = time.perf_counter()
            build(
                configmod.load(write_config(template, self.port)),
                archived=archived,
                members=members,
                now=NOW,
            )
            self.say(
                f"built {archived:,} archived + {members:,} members in "
                f"{time.perf_counter() - started:.0f} s"
            )
            self.built.add((archived, members))
        run.mkdir()
        for f in template.glob("monitor.sqlite*"):
            shutil.copy(f, run / f.name)
        return write_config(run, self.port)


STORIES = DATA / "dedup_story"
POOL_FILES = (
    "basil/basil_articles.jsonl",
    "ecbplus_gvc/ecbplus_docs.jsonl",
    "newswcl50/newswcl50_docs.jsonl",
)
CHUNK = 2_000


def pool() -> list[tuple[str, str]]:
    """(title, text) of every article of the three story sets, in file order."""
    texts = []
    for name in POOL_FILES:
        for line in (STORIES / name).read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            body = row["text"].replace("\\n", "\n").strip()
            title = row.get("title") or body.split("\n", 1)[0][:120]
            texts.append((title, body))
    return texts


class _Texts:
    """The pool's texts with their fingerprints, each computed once however often it is used."""

    def __init__(self, settings: MatchSettings) -> None:
        from monitor.match import fingerprint

        self.fingerprint, self.settings = fingerprint, settings
        self.items = pool()
        self._done: dict[int, dict[str, Any]] = {}

    def version(self, k: int) -> dict[str, Any]:
        i = k % len(self.items)
        if i not in self._done:
            title, body = self.items[i]
            fp = self.fingerprint(body, self.settings)
            self._done[i] = {
                "title": title,
                "text": body,
                "content_sha256": fp.sha256,
                "word_count": fp.word_count,
                "shingle_count": len(fp.shingles),
                "minhash": fp.minhash_bytes(),
            }
        return self._done[i]


def _article(k: int, now: datetime, kind: str) -> dict[str, Any]:
    """Article ``k`` of the pre-fill: published ``k`` minutes before the oldest new page, on
    one of 50 outlets; re-checks done (``next_check_at`` null), as an archive's old articles."""
    outlet = k % 50
    published = now - timedelta(days=2, minutes=k)
    return {
        "url": f"https://outlet{outlet:02d}.archive.test/{kind}/{k}.html",
        "canonical_url": None,
        "source_id": None,
        "outlet": f"Outlet {outlet:02d}",
        "domain": f"outlet{outlet:02d}.archive.test",
        "authors": [],
        "language": "en",
        "published_at": published,
        "published_precision": "time",
        "first_seen_at": published + timedelta(minutes=5),
        "last_fetched_at": published + timedelta(days=14),
        "next_check_at": None,
        "check_count": 8,
        "status": "ok",
    }


def _insert_articles(
    session: Any, texts: _Texts, start: int, count: int, kind: str, now: datetime
) -> Iterator[int]:
    """Insert ``count`` articles with their first version, in chunks; yields their ids."""
    from sqlalchemy import insert

    from storage.models import Article, ArticleVersion

    for lo in range(start, start + count, CHUNK):
        ks = range(lo, min(lo + CHUNK, start + count))
        rows = [_article(k, now, kind) for k in ks]
        ids = session.scalars(
            insert(Article).returning(Article.id, sort_by_parameter_order=True), rows
        ).all()
        versions = []
        for k, article_id, row in zip(ks, ids, rows, strict=True):
            v = texts.version(k)
            versions.append(
                v
                | {
                    "article_id": article_id,
                    "version": 1,
                    "fetched_at": row["first_seen_at"],
                    "changes": {},
                    "kinds": [],
                    "authors": [],
                    "notices": [],
                    "http_status": 200,
                    "html": None,
                    "html_size": len(v["text"]) * 8,  # pages weigh about 8 times their text
                }
            )
        session.execute(insert(ArticleVersion), versions)
        yield from ids


def build(config: Config, *, archived: int, members: int, now: datetime) -> None:
    """Fill the empty database of ``config`` (its first story gets the members), then open
    the app once on it, which syncs the configuration and builds the derived tables."""
    from dataclasses import replace

    from sqlalchemy import insert

    from monitor.app import open_app, open_db
    from monitor.match import MatchSettings
    from storage.models import Story, StoryArticle

    story = config.stories[0]
    m = config.match
    texts = _Texts(replace(MatchSettings(), num_perm=m.num_perm, shingle_size=m.shingle_size))
    db = open_db(config)  # migrated, nothing derived yet
    try:
        with db.write() as session:
            story_id = session.scalar(
                insert(Story).returning(Story.id),
                [
                    {
                        "slug": story.slug,
                        "title": story.title,
                        "keywords": list(story.keywords),
                        "version": 0,
                        "created_at": now - timedelta(days=30),
                        "updated_at": now - timedelta(days=30),
                    }
                ],
            )
            # Members first, so their texts start the pool: the archive repeats them too.
            member_ids = list(_insert_articles(session, texts, 0, members, "member", now))
            for lo in range(0, len(member_ids), CHUNK):
                session.execute(
                    insert(StoryArticle),
                    [
                        {
                            "story_id": story_id,
                            "article_id": a,
                            "relation": "original",
                            "copy_of_id": None,
                            "similarity": None,
                            "match": {"kind": "story", "reason": "benchmark pre-fill"},
                            "decided_at": now - timedelta(days=1),
                        }
                        for a in member_ids[lo : lo + CHUNK]
                    ],
                )
            for _ in _insert_articles(session, texts, members, archived, "archive", now):
                pass
    finally:
        db.close()
    with open_app(config, now=now):
        pass
