"""The JSON API: stories and their files, articles, versions and diffs, facts, search, sources
and digests, read-only. Every list is a page (``items``, ``total``, ``limit``, ``offset``,
``links`` with ``next`` and ``prev``); every error is ``{"error": {"status", "message"}}``.
``monitor.web.openapi`` describes each route; a test holds the two together.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from monitor.errors import RequestError
from monitor.match.facts import story_facts
from monitor.publish import render
from monitor.web import finding
from monitor.web import views as v
from monitor.web.app import Context, check_fresh, handler, json_response
from monitor.web.params import Params, Window, identifier
from storage import browse, facts, storyfile
from storage.db import ReadSession
from storage.models import Story
from storage.stories import list_stories, story_by_slug

LIST = ("limit", "offset")


def listing(request: Request, window: Window, items: Sequence[Any], total: int) -> dict[str, Any]:
    return {
        "items": list(items),
        "total": total,
        "limit": window.limit,
        "offset": window.offset,
        "links": window.links(request.url.path, request.query_params, total),
    }


def window(ctx: Context, params: Params) -> Window:
    return Window.of(params, ctx.settings.page_size, ctx.settings.max_page_size)


def the_story(session: ReadSession, slug: str) -> Story:
    story = story_by_slug(session, slug)
    if story is None:
        raise RequestError(404, f"no story {slug!r}")
    return story


def story_tag(story: Story, variant: str) -> str:
    """An ETag that changes with the story's version (every change to its file makes one)."""
    return f'W/"story-{story.id}-v{story.version}-{variant}"'


def stories(ctx: Context, request: Request, session: ReadSession) -> Response:
    """Every story with its counts."""
    win = window(ctx, Params(request.query_params, LIST))
    rows = list_stories(session)
    shown = rows[win.offset : win.offset + win.limit]
    return json_response(listing(request, win, [v.story(r) for r in shown], len(rows)))


def story(ctx: Context, request: Request, session: ReadSession) -> Response:
    """One story's counts and links."""
    Params(request.query_params, ())
    found = the_story(session, request.path_params["slug"])
    tag = story_tag(found, "summary")
    check_fresh(request, tag)
    row = next(r for r in list_stories(session) if r.slug == found.slug)
    return json_response(v.story(row), etag=tag)


def story_file(ctx: Context, request: Request, session: ReadSession) -> Response:
    """The story file (docs/story-file.md), with its facts unless facts=false."""
    params = Params(request.query_params, ("facts",))
    with_facts = params.flag("facts") if "facts" in params.query else True
    found = the_story(session, request.path_params["slug"])
    tag = story_tag(found, f"file-{int(with_facts)}")
    check_fresh(request, tag)
    data = storyfile.build(
        session,
        found.slug,
        facts=story_facts if with_facts else None,
        threshold=ctx.thresholds.get(found.slug),
    )
    assert data is not None
    body = render.story_json(data).encode("utf-8")
    return Response(body, headers={"etag": tag}, media_type="application/json")


def story_articles(ctx: Context, request: Request, session: ReadSession) -> Response:
    """The story's members (or those of one relation), oldest first."""
    params = Params(request.query_params, (*LIST, "relation", "outlet"))
    win = window(ctx, params)
    relation = params.choice("relation", finding.RELATIONS)
    found = the_story(session, request.path_params["slug"])
    tag = story_tag(found, f"articles-{request.url.query}")
    check_fresh(request, tag)
    page = browse.articles(
        session,
        limit=win.limit,
        offset=win.offset,
        story_id=found.id,
        outlet=params.text("outlet", limit=200),
        relation=relation,
    )
    items = [v.article(r) for r in page.rows]
    return json_response(listing(request, win, items, page.total), etag=tag)


def story_facts_route(ctx: Context, request: Request, session: ReadSession) -> Response:
    """The story's facts, each with its first carrier and the later ones."""
    win = window(ctx, Params(request.query_params, LIST))
    found = the_story(session, request.path_params["slug"])
    tag = story_tag(found, f"facts-{request.url.query}")
    check_fresh(request, tag)
    every = facts.facts_at(session, found.id, found.version, story_facts)
    shown = every[win.offset : win.offset + win.limit]
    return json_response(listing(request, win, shown, len(every)), etag=tag)


def article_list(ctx: Context, request: Request, session: ReadSession) -> Response:
    """Articles, newest first; or a story's, oldest first."""
    params = Params(request.query_params, (*LIST, "story", "outlet", "relation"))
    win = window(ctx, params)
    relation = params.choice("relation", finding.RELATIONS)
    slug = params.text("story", limit=200)
    if relation is not None and slug is None:
        raise RequestError(400, "relation: needs story (a relation is to a story)")
    story_id = None if slug is None else the_story(session, slug).id
    page = browse.articles(
        session,
        limit=win.limit,
        offset=win.offset,
        story_id=story_id,
        outlet=params.text("outlet", limit=200),
        relation=relation,
    )
    items = [v.article(r) for r in page.rows]
    return json_response(listing(request, win, items, page.total))


def the_article(session: ReadSession, request: Request) -> Any:
    article_id = identifier(request.path_params["id"], "article")
    found = browse.article(session, article_id)
    if found is None:
        raise RequestError(404, f"no article {article_id}")
    return found


def article(ctx: Context, request: Request, session: ReadSession) -> Response:
    """An article, its stories and its versions."""
    Params(request.query_params, ())
    found = the_article(session, request)
    return json_response(v.article_detail(found, browse.memberships(session, found.id)))


def version(ctx: Context, request: Request, session: ReadSession) -> Response:
    """One version: its text, what changed and the side-by-side diff from the one before."""
    Params(request.query_params, ())
    found = the_article(session, request)
    number = identifier(request.path_params["version"], f"version of article {found.id}:")
    wanted = browse.version(session, found.id, number)
    if wanted is None:
        raise RequestError(404, f"no version {number} of article {found.id}")
    previous = browse.version(session, found.id, number - 1) if number > 1 else None
    return json_response(v.version_detail(found, wanted, previous))


SEARCH_PARAMS = (*LIST, "q", "story", "outlet", "relation", "lang", "since", "until", "any_version")


def search_query(params: Params) -> finding.Query | None:
    """The search a request asks for; None when it gives no text."""
    text = params.text("q")
    if text is None or not text.strip():
        return None
    return finding.Query(
        text=text,
        story=params.text("story", limit=200),
        outlet=params.text("outlet", limit=200),
        relation=params.choice("relation", finding.RELATIONS),
        lang=params.text("lang", limit=16),
        since=params.time("since"),
        until=params.time("until"),
        any_version=params.flag("any_version"),
    )


def search(ctx: Context, request: Request, session: ReadSession) -> Response:
    """Articles matching q, best first, with their snippets; total_exact false when total
    is an estimate."""
    params = Params(request.query_params, SEARCH_PARAMS)
    win = window(ctx, params)
    query = search_query(params)
    if query is None:
        raise RequestError(400, 'q: expected the text to search for (words, "a phrase"...)')
    found = finding.find(session, query, limit=win.limit, offset=win.offset)
    body = listing(request, win, found.hits, found.total or 0)
    return json_response({**body, "total_exact": found.total_exact})


def now() -> datetime:
    return datetime.now(UTC)


def sources(ctx: Context, request: Request, session: ReadSession) -> Response:
    """Every source with its state, as `monitor sources` shows it."""
    win = window(ctx, Params(request.query_params, LIST))
    page = browse.sources(session, limit=win.limit, offset=win.offset)
    at = now()
    items = [v.source(s, now=at) for s in page.rows]
    return json_response(listing(request, win, items, page.total))


def digests(ctx: Context, request: Request, session: ReadSession) -> Response:
    """Digests sent or written to the outbox, newest first."""
    params = Params(request.query_params, (*LIST, "story"))
    win = window(ctx, params)
    slug = params.text("story", limit=200)
    story_id = None if slug is None else the_story(session, slug).id
    page = browse.digests(session, limit=win.limit, offset=win.offset, story_id=story_id)
    items = [v.digest(d) for d in page.rows]
    return json_response(listing(request, win, items, page.total))


HANDLERS: Mapping[str, Callable[[Context, Request, ReadSession], Response]] = {
    "/api/stories": stories,
    "/api/stories/{slug}": story,
    "/api/stories/{slug}/file": story_file,
    "/api/stories/{slug}/articles": story_articles,
    "/api/stories/{slug}/facts": story_facts_route,
    "/api/articles": article_list,
    "/api/articles/{id}": article,
    "/api/articles/{id}/versions/{version}": version,
    "/api/search": search,
    "/api/sources": sources,
    "/api/digests": digests,
}


def routes() -> list[Route]:
    return [Route(path, handler(fn), methods=["GET"]) for path, fn in HANDLERS.items()]
