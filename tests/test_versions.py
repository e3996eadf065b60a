"""One outlet edits its articles over four poll rounds, served on 127.0.0.1 and polled with
``poll(app, now=...)`` on SQLite and PostgreSQL: each edit is stored as a version with its diff,
change kinds and the evidence of its fetch, and on the story's timeline with its kinds; a
rotating sidebar and time stamp make no version, a page answering 404 is removed, one that
starts redirecting elsewhere is a ``redirected`` event, and one redirected to itself under a new
URL goes on being versioned."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from monitor import config as configmod
from monitor.app import App, open_app
from monitor.poll.round import poll
from storage import articles, storyfile
from storage.models import Article, ArticleVersion
from tests.conftest import at
from tests.httpserver import Reply, Site, serve

pytestmark = pytest.mark.slow  # four poll rounds of nine pages on each backend

T0 = at("2023-03-24T12:00:00+00:00")
ROUNDS = [T0 + timedelta(hours=h) for h in range(4)]
PUBLISHED = "Fri, 24 Mar 2023 09:00:00 GMT"

SEED = (
    "title: Canada and the US close Roxham Road\nurl: https://seed.test/roxham\n"
    "outlet: Seed\npublished_at: 2023-03-24T00:00:00+00:00\n\n"
    "Canada and the United States agreed to close Roxham Road, the irregular border crossing "
    "used by asylum seekers entering Quebec from New York, under an amended Safe Third Country "
    "Agreement announced by Prime Minister Justin Trudeau and President Joe Biden in Ottawa. "
    "Asylum seekers crossing between official ports of entry will be turned back to the United "
    "States. Refugee advocates said the closure of Roxham Road would push migrants toward "
    "more dangerous routes through the woods along the border. "
)

# Paragraphs shared by the articles: each article's own lead comes first.
BODY = [
    "The amended Safe Third Country Agreement takes effect at midnight and covers the whole "
    "land border, so asylum seekers who cross at Roxham Road will be returned to New York.",
    "Officials in Ottawa said Canada would open 15,000 places for migrants from the Western "
    "Hemisphere over the year, a concession the United States had sought for months.",
    "Quebec Premier François Legault had asked for the crossing to be closed since last year, "
    "saying the province could no longer house the asylum seekers arriving there.",
]
QUOTE = (
    "“This is a sad day for refugees who will be pushed into the woods,” said Janet Dench of "
    "the Canadian Council for Refugees, who called the deal a betrayal."
)


def lead(topic: str, figure: str = "12") -> str:
    return (
        f"Police at Roxham Road turned back {figure} asylum seekers on Friday night as the "
        f"border deal on {topic} came into force, officers at the crossing said."
    )


@dataclass
class Edition:
    """One state of an article page."""

    title: str
    paragraphs: list[str]
    notice: str = ""  # a box above the text, as outlets show corrections
    canonical: str | None = None
    stamp: str = "10:32"  # the "Updated" time the page shows
    author: str = "Jane Doe"
    boxed: str = ""  # a notice in a box beside the article, which the extracted text leaves out
    sidebar: tuple[str, ...] = ("Storm hits the coast", "Election results are in")


@dataclass
class Outlet:
    """The Gazette: its feed and article pages, each path's current edition or reply."""

    site: Site
    pages: dict[str, Edition | Reply] = field(default_factory=dict)
    etags: dict[str, int] = field(default_factory=dict)
    served: dict[str, list[bytes]] = field(default_factory=dict)  # each path's pages, in order

    def url(self, path: str) -> str:
        return self.site.url(path)

    def publish(self) -> None:
        items = "".join(
            f"<item><title>{path}</title><link>{self.url(path)}</link><guid>{path}</guid>"
            f"<pubDate>{PUBLISHED}</pubDate></item>"
            for path in self.pages
            if path not in ("/elsewhere", "/renamed-2")
        )
        feed = f'<?xml version="1.0"?><rss version="2.0"><channel><title>Gazette</title>{items}'
        self.site.routes["/feed.xml"] = Reply(
            200, (feed + "</channel></rss>").encode(), {"Content-Type": "application/rss+xml"}
        )
        for path, page in self.pages.items():
            if isinstance(page, Reply):
                self.site.routes[path] = page
                continue
            self.etags[path] = self.etags.get(path, 0) + 1
            self.served.setdefault(path, []).append(html(self, path, page))
            self.site.routes[path] = Reply(
                200,
                self.served[path][-1],
                {
                    "Content-Type": "text/html; charset=utf-8",
                    "ETag": f'"{path[1:]}-{self.etags[path]}"',
                    "Last-Modified": "Fri, 24 Mar 2023 12:00:00 GMT",
                },
            )


def html(outlet: Outlet, path: str, e: Edition) -> bytes:
    """A news page as outlets write them: navigation, byline, time stamp, the text, a notice
    box when there is one, a sidebar of other stories and a footer."""
    canonical = outlet.url(e.canonical or path)
    paragraphs = "".join(f"<p>{p}</p>" for p in e.paragraphs)
    notice = f'<div class="correction"><p>{e.notice}</p></div>' if e.notice else ""
    sidebar = "".join(f'<li><a href="/s/{i}">{s}</a></li>' for i, s in enumerate(e.sidebar))
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f'<title>{e.title} | The Gazette</title><link rel="canonical" href="{canonical}">'
        f'<meta name="author" content="{e.author}"></head><body>'
        '<header><nav><a href="/">Home</a> <a href="/canada">Canada</a></nav></header>'
        f'<main><article><h1>{e.title}</h1><p class="byline">By {e.author}</p>'
        f"<p>Updated {e.stamp} a.m. ET, March 24, 2023</p>"
        f"{notice}{paragraphs}</article>"
        + (f'<aside class="correction"><p>{e.boxed}</p></aside>' if e.boxed else "")
        + f"<aside><h2>Most read</h2><ul>{sidebar}</ul></aside></main>"
        "<footer>Copyright 2023 The Gazette</footer></body></html>"
    ).encode()


def first_editions() -> dict[str, Edition | Reply]:
    return {
        "/headline": Edition("Canada and US close Roxham Road", [lead("headline"), *BODY]),
        "/figure": Edition("Border deal takes effect at Roxham Road", [lead("figure"), *BODY]),
        "/silent": Edition("Roxham Road crossing closes overnight", [lead("silent"), *BODY]),
        "/quote": Edition("Advocates decry Roxham Road deal", [lead("quote"), QUOTE, *BODY]),
        "/added": Edition("Migrants turned back at Roxham Road", [lead("added"), *BODY]),
        "/sidebar": Edition("Roxham Road: what the deal changes", [lead("sidebar"), *BODY]),
        "/gone": Edition("Roxham Road deal draws criticism", [lead("gone"), *BODY]),
        "/moved": Edition("Trudeau defends Roxham Road closure", [lead("moved"), *BODY]),
        "/renamed": Edition("Roxham Road closed to asylum seekers", [lead("renamed"), *BODY]),
    }


@contextmanager
def gazette(db_url: str, tmp_path: Path, *, keep_html: bool = True) -> Iterator[tuple[Outlet, App]]:
    """The Gazette on a local server, and an app following it for the Roxham Road story."""
    seeds = tmp_path / "seeds"
    seeds.mkdir()
    (seeds / "seed.txt").write_text(SEED, encoding="utf-8")
    with serve() as site:
        outlet = Outlet(site, first_editions())
        outlet.publish()
        config = configmod.Config(
            path="<test>",
            storage=configmod.StorageSettings(url=db_url, keep_html=keep_html),
            fetch=configmod.FetchSettings(allow_private_networks=True, per_host_delay=0.0),
            poll=configmod.PollSettings(extract_processes=0),
            sources=(configmod.Source(site.url("/feed.xml"), "Gazette"),),
            stories=(configmod.Story("roxham", "Roxham Road", seeds, ("Roxham",)),),
        )
        with open_app(config, now=T0) as app:
            yield outlet, app


def edit(outlet: Outlet, path: str, **changes: Any) -> None:
    page = outlet.pages[path]
    assert isinstance(page, Edition)
    outlet.pages[path] = Edition(**{**page.__dict__, **changes})


def round_two(outlet: Outlet) -> None:
    """An hour later: a headline rewritten, a figure corrected with a notice and the same
    correction made silently, a quote taken out, paragraphs added, the sidebar and time stamp
    changed everywhere."""
    for path, page in outlet.pages.items():
        assert isinstance(page, Edition)
        edit(outlet, path, stamp="11:05", sidebar=("Hockey team wins the cup", "Prices rise"))
    edit(outlet, "/headline", title="Roxham Road closes as Canada and US seal migration deal")
    edit(
        outlet,
        "/figure",
        paragraphs=[lead("figure", "21"), *BODY],
        notice="Correction: An earlier version of this article misstated the number of asylum "
        "seekers turned back on Friday.",
    )
    edit(outlet, "/silent", paragraphs=[lead("silent", "21"), *BODY])
    edit(outlet, "/quote", paragraphs=[lead("quote"), *BODY])
    added = [
        "Immigration Minister Sean Fraser said on Saturday that the closure was working. "
        "He said no crossing had been recorded since midnight.",
        "Police in New York said they had seen no rise in arrivals on their side of the road.",
    ]
    edit(outlet, "/added", paragraphs=[lead("added"), *BODY, *added])


def round_three(outlet: Outlet) -> None:
    """Another hour: one page answers 404, one redirects to another article, one to itself
    under a new URL (its canonical still names it), edited there; a byline changes and a
    correction notice appears on an unchanged text; the stamp changes again."""
    for path, page in outlet.pages.items():
        if isinstance(page, Edition):
            edit(outlet, path, stamp="11:40")
    edit(outlet, "/figure", author="John Roe")
    edit(outlet, "/silent", boxed=SILENT_NOTICE)
    outlet.pages["/gone"] = Reply(404, b"gone", {"Content-Type": "text/plain"})
    outlet.pages["/elsewhere"] = Edition(
        "Quebec counts the cost of asylum housing",
        [
            "Quebec spent more on housing asylum seekers last year than in any year before, "
            "the province's auditor said in a report on Roxham Road arrivals.",
            *BODY,
        ],
    )
    outlet.pages["/moved"] = Reply(301, b"", {"Location": outlet.url("/elsewhere")})
    renamed = outlet.pages["/renamed"]
    assert isinstance(renamed, Edition)
    outlet.pages["/renamed-2"] = Edition(
        renamed.title,
        [*renamed.paragraphs, BODY[0].replace("midnight", "12:01 a.m.")],
        canonical="/renamed",
        stamp="11:40",
    )
    outlet.pages["/renamed"] = Reply(301, b"", {"Location": outlet.url("/renamed-2")})


SILENT_NOTICE = (
    "Correction: An earlier version of this article gave the wrong number of asylum seekers."
)


def round_four(outlet: Outlet) -> None:
    """The headline flips back to the first one; the redirect stays."""
    edit(outlet, "/headline", title="Canada and US close Roxham Road", stamp="12:15")


def polled(outlet: Outlet, app: App) -> None:
    for n, (now, change) in enumerate(
        zip(ROUNDS, (None, round_two, round_three, round_four), strict=True)
    ):
        if change is not None:
            change(outlet)
            outlet.publish()
        poll(app, now=now, everything=n > 0)


def versions(app: App, outlet: Outlet) -> dict[str, list[ArticleVersion]]:
    with app.db.read() as session:
        rows = session.scalars(select(Article).where(Article.url.startswith(outlet.url("/"))))
        return {a.url.removeprefix(outlet.url("")): list(a.versions) for a in rows}


def kinds(v: ArticleVersion) -> list[str]:
    return [k["kind"] for k in v.kinds]


def evidence_of(v: ArticleVersion) -> dict[str, Any]:
    return {k: v.kinds[n]["evidence"] for n, k in enumerate(kinds(v))}


def story_file(app: App) -> dict[str, Any]:
    with app.db.read() as session:
        data = storyfile.build(session, "roxham")
    assert data is not None
    return data


def path_of(outlet: Outlet, url: str) -> str:
    return url.removeprefix(outlet.url(""))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def edited(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Outlet, App]]:
    """The four rounds polled once per backend; every test of the module reads the result."""
    tmp_path = tmp_path_factory.mktemp("gazette")
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'monitor.sqlite'}"
    else:
        url = request.getfixturevalue("postgres_server").new_database()
    with gazette(url, tmp_path) as (outlet, app):
        polled(outlet, app)
        yield outlet, app


def test_each_edit_is_a_version_with_its_kinds_and_the_rest_make_none(edited) -> None:
    """Four rounds of edits give exactly these versions and change kinds: the rotating
    sidebar and time stamp make none, nor do the 404 and the redirect elsewhere."""
    outlet, app = edited
    got = {
        path: [(v.version, kinds(v), v.returns_to) for v in vs]
        for path, vs in versions(app, outlet).items()
    }
    assert got == {
        "/headline": [
            (1, [], None),
            (2, ["headline", "silent"], None),
            (3, ["headline", "return", "silent"], 1),
        ],
        "/figure": [(1, [], None), (2, ["correction"], None), (3, ["byline", "silent"], None)],
        "/silent": [
            (1, [], None),
            (2, ["correction", "silent"], None),
            (3, ["correction"], None),
        ],
        "/quote": [(1, [], None), (2, ["removal", "silent"], None)],
        "/added": [(1, [], None), (2, ["update", "silent"], None)],
        "/sidebar": [(1, [], None)],
        "/gone": [(1, [], None)],
        "/moved": [(1, [], None)],
        "/renamed": [(1, [], None), (2, ["update", "silent"], None)],
    }


STAMPED = ["Updated 11:05 a.m. ET, March 24, 2023"]
NO_DATE = {"old": None, "new": None}


def test_each_kind_quotes_the_evidence_that_decided_it(edited) -> None:
    """The corrected figure names 12 becoming 21 and quotes the notice (or, made silently,
    the time stamp the page moved and no notice); the removal quotes the quote; the update the
    sentences added; the headline both titles; the return names version 1; a new byline both
    bylines; a correction notice on an unchanged text the notice."""
    outlet, app = edited
    got = versions(app, outlet)
    corrected = lead("figure", "21")
    assert evidence_of(got["/figure"][1]) == {
        "correction": {
            "replaced": [{"old": "12", "new": "21", "type": "number", "sentence": corrected}],
            "notices": [
                "Correction: An earlier version of this article misstated the number of asylum "
                "seekers turned back on Friday."
            ],
        }
    }
    assert evidence_of(got["/silent"][1]) == {
        "correction": {
            "replaced": [
                {"old": "12", "new": "21", "type": "number", "sentence": lead("silent", "21")}
            ],
            "notices": [],
        },
        "silent": {"notices": STAMPED, "updated_at": NO_DATE},
    }
    assert evidence_of(got["/quote"][1]) == {
        "removal": {
            "quotes": [
                "This is a sad day for refugees who will be pushed into the woods,",
            ],
            "paragraphs": [QUOTE],
            "sentences": [],
        },
        "silent": {"notices": STAMPED, "updated_at": NO_DATE},
    }
    assert evidence_of(got["/added"][1])["update"] == {
        "sentences": 3,
        "paragraphs": 2,
        "text": [
            "Immigration Minister Sean Fraser said on Saturday that the closure was working.",
            "He said no crossing had been recorded since midnight.",
            "Police in New York said they had seen no rise in arrivals on their side of the road.",
        ],
    }
    first, second = (
        "Canada and US close Roxham Road",
        ("Roxham Road closes as Canada and US seal migration deal"),
    )
    assert evidence_of(got["/headline"][1])["headline"] == {"old": first, "new": second}
    assert evidence_of(got["/headline"][2]) == {
        "headline": {"old": second, "new": first},
        "return": {"version": 1},
        "silent": {"notices": ["Updated 12:15 a.m. ET, March 24, 2023"], "updated_at": NO_DATE},
    }
    assert evidence_of(got["/figure"][2])["byline"] == {"old": ["Jane Doe"], "new": ["John Roe"]}
    assert evidence_of(got["/silent"][2]) == {
        "correction": {"replaced": [], "notices": [SILENT_NOTICE]}
    }
    assert (
        got["/silent"][2].diff["counts"]["unchanged"]
        == got["/silent"][2].diff["counts"]["old_sentences"]
    )


def test_the_diff_aligns_sentences_and_names_the_words_replaced(edited) -> None:
    """The corrected page's diff: the notice kept in the text is an added sentence, the lead a
    changed one whose word edit is 12 -> 21, the rest unchanged; version 1 has no diff."""
    outlet, app = edited
    figure = versions(app, outlet)["/figure"]
    assert figure[0].diff is None
    assert figure[1].diff == {
        "title": None,
        "added": [
            {
                "new": 0,
                "paragraph": 0,
                "text": "Correction: An earlier version of this article misstated the number "
                "of asylum seekers turned back on Friday.",
            }
        ],
        "removed": [],
        "changed": [
            {
                "old": 0,
                "new": 1,
                "old_text": lead("figure"),
                "new_text": lead("figure", "21"),
                "edits": [{"op": "replace", "old": "12", "new": "21", "old_at": 6, "new_at": 6}],
            }
        ],
        "moved": [],
        "counts": {
            "old_sentences": 4,
            "new_sentences": 5,
            "unchanged": 3,
            "changed": 1,
            "added": 1,
            "removed": 0,
            "moved": 0,
        },
    }


def test_every_version_keeps_the_evidence_of_its_fetch(edited) -> None:
    """Each version keeps the status, ETag, Last-Modified, final URL and the page exactly as
    served (gzip), with its size; the renamed article's version 2 was fetched at its new URL."""
    outlet, app = edited
    with app.db.read() as session:
        for path, vs in versions(app, outlet).items():
            for v in vs:
                where = "/renamed-2" if (path, v.version) == ("/renamed", 2) else path
                served = outlet.served[where]
                body = articles.version_html(session, v.article_id, v.version)
                assert body in served
                assert (v.http_status, v.final_url, v.html_size, v.html_kept) == (
                    200,
                    outlet.url(where),
                    len(body),
                    True,
                )
                assert v.etag == f'"{where[1:]}-{served.index(body) + 1}"'
                assert v.last_modified == "Fri, 24 Mar 2023 12:00:00 GMT"
                stored = session.scalar(
                    select(ArticleVersion.html).where(ArticleVersion.id == v.id)
                )
                assert stored is not None and gzip.decompress(stored) == body


def test_a_404_is_removed_and_a_redirect_elsewhere_is_recorded_once(edited) -> None:
    """After the first round the timeline holds exactly these events: the updates with their
    kinds, the 404's removal with its status, one redirect naming its target though the page
    redirected in two rounds; the renamed article is no redirect."""
    outlet, app = edited
    data = story_file(app)
    later = [
        (e["event"], path_of(outlet, e["url"]), e["article_version"], e["detail"])
        for e in data["timeline"]
        if e["story_version"] > 10
    ]
    assert later == [
        ("update", "/added", 2, {"kinds": ["update", "silent"]}),
        ("update", "/figure", 2, {"kinds": ["correction"]}),
        ("update", "/headline", 2, {"kinds": ["headline", "silent"]}),
        ("update", "/quote", 2, {"kinds": ["removal", "silent"]}),
        ("update", "/silent", 2, {"kinds": ["correction", "silent"]}),
        ("update", "/figure", 3, {"kinds": ["byline", "silent"]}),
        ("removed", "/gone", None, {"http_status": 404}),
        ("redirected", "/moved", None, {"target": outlet.url("/elsewhere")}),
        ("update", "/renamed", 2, {"kinds": ["update", "silent"]}),
        ("update", "/silent", 3, {"kinds": ["correction"]}),
        ("update", "/headline", 3, {"kinds": ["headline", "return", "silent"], "returns_to": 1}),
    ]
    assert [e["story_version"] for e in data["timeline"]] == list(range(1, 22))
    assert {e["event"] for e in data["timeline"] if e["story_version"] <= 10} <= {
        "first_report",
        "copy",
    }
    with app.db.read() as session:
        rows = {
            path_of(outlet, a.url): (a.status, path_of(outlet, a.final_url or ""), a.redirected_to)
            for a in session.scalars(select(Article).where(Article.url.startswith(outlet.url("/"))))
        }
    assert rows["/gone"][0] == "removed"
    assert rows["/moved"] == ("ok", "/elsewhere", outlet.url("/elsewhere"))
    assert rows["/renamed"] == ("ok", "/renamed-2", None)
    assert rows["/figure"] == ("ok", "/figure", None)


def test_the_story_file_shows_each_version_s_diff_kinds_and_evidence(edited) -> None:
    """The story file's versions carry the stored diff, kinds, return, byline, notices and
    evidence (never the page itself), and its articles the redirect target."""
    outlet, app = edited
    data = story_file(app)
    by_path = {path_of(outlet, a["url"]): a for o in data["outlets"] for a in o["articles"]}
    stored = versions(app, outlet)
    for path, article in by_path.items():
        if path.startswith("https://seed.test"):
            continue
        for shown, v in zip(article["versions"], stored[path], strict=True):
            assert (shown["diff"], shown["kinds"], shown["returns_to"]) == (
                v.diff,
                v.kinds,
                v.returns_to,
            )
            byline = "John Roe" if (path, shown["version"]) == ("/figure", 3) else "Jane Doe"
            assert shown["authors"] == [byline]
            assert shown["evidence"] == {
                "http_status": 200,
                "etag": v.etag,
                "last_modified": "Fri, 24 Mar 2023 12:00:00 GMT",
                "final_url": v.final_url,
                "html_size": v.html_size,
                "html_kept": True,
                "archive": None,  # read from the outlet, not a web archive's capture
            }
    assert by_path["/moved"]["redirected_to"] == outlet.url("/elsewhere")
    assert by_path["/figure"]["versions"][1]["notices"] == [
        {"kind": "timestamp", "text": "Updated 11:05 a.m. ET, March 24, 2023"},
        {
            "kind": "correction",
            "text": "Correction: An earlier version of this article misstated the number of "
            "asylum seekers turned back on Friday.",
        },
    ]


def test_with_keep_html_off_a_version_keeps_the_page_s_size_but_not_the_page(
    tmp_path: Path,
) -> None:
    """[storage] keep_html = false: version 1 records the page's size, status and final URL,
    and no HTML."""
    with gazette(f"sqlite:///{tmp_path / 'm.sqlite'}", tmp_path, keep_html=False) as (
        outlet,
        app,
    ):
        poll(app, now=T0)
        first = versions(app, outlet)["/figure"][0]
        with app.db.read() as session:
            assert articles.version_html(session, first.article_id, 1) is None
    assert (first.html_kept, first.html_size, first.http_status) == (
        False,
        len(outlet.served["/figure"][0]),
        200,
    )
