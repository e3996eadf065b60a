"""The web pages: the story list, a story's timeline (one lane per outlet) and articles, its
facts, an article's versions with side-by-side diffs, search, the sources. Server-rendered
(Jinja, autoescaped), no script; the timeline and the versions are the story page's own parts
(``monitor/publish/templates/parts.html.j2``, data from ``monitor.publish.page``). Beside them:
``/healthz``, ``/openapi.json`` and the stylesheets.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from monitor.errors import RequestError
from monitor.match.facts import story_facts
from monitor.publish import page
from monitor.web import api, finding, openapi
from monitor.web import storypage as storymodel
from monitor.web import views as v
from monitor.web.app import Context, check_fresh, handler, json_response
from monitor.web.params import Params, Window
from storage import articles, browse, facts, storypage
from storage.db import ReadSession
from storage.stories import list_stories

HTML = "text/html; charset=utf-8"


def render(ctx: Context, name: str, **values: Any) -> Response:
    html = ctx.templates.get_template(name).render(**values)
    return Response(html, media_type=HTML)


def pager(request: Request, win: Window, total: int | None, shown: int) -> dict[str, Any]:
    """What the page's "previous" and "next" links need; ``total`` None: not counted."""
    known = total if total is not None else win.offset + shown + (1 if shown == win.limit else 0)
    links = win.links(request.url.path, request.query_params, known)
    return {
        **links,
        "first": win.offset + 1 if shown else 0,
        "last": win.offset + shown,
        "total": total,
    }


def index(ctx: Context, request: Request, session: ReadSession) -> Response:
    """The story list."""
    params = Params(request.query_params, api.LIST)
    win = api.window(ctx, params)
    rows = list_stories(session)
    shown = [v.story(r) for r in rows[win.offset : win.offset + win.limit]]
    return render(
        ctx, "stories.html.j2", stories=shown, pager=pager(request, win, len(rows), len(shown))
    )


def story_page(ctx: Context, request: Request, session: ReadSession) -> Response:
    """A story: its timeline, one lane per outlet, and its articles, a page at a time."""
    params = Params(request.query_params, api.LIST)
    win = api.window(ctx, params)
    found = api.the_story(session, request.path_params["slug"])
    tag = api.story_tag(found, f"page-{request.url.query}")
    check_fresh(request, tag)
    kept = ctx.pages.get(tag)
    if kept is not None:  # rendered at this story version already
        return Response(kept, media_type=HTML, headers={"etag": tag})
    with storymodel.collector_paused():
        rows = storypage.outline(session, found.slug)
        assert rows is not None
        model = storymodel.model(rows, offset=win.offset, limit=win.limit)
        groups: list[dict[str, Any]] = []
        for name, domain, a in model["shown"]:
            if not groups or groups[-1]["name"] != name:
                groups.append({"name": name, "domain": domain, "articles": []})
            groups[-1]["articles"].append(a)
        legend = [(e, page.event_label(e)) for e in page.EVENT_LABELS]
        response = render(
            ctx, "story.html.j2", p=model, groups=groups, legend=legend,
            label_width=page.LABEL_WIDTH,
            pager=pager(request, win, model["total"], len(model["shown"])),
        )  # fmt: skip
    ctx.pages.put(tag, bytes(response.body))
    response.headers["etag"] = tag
    return response


def facts_page(ctx: Context, request: Request, session: ReadSession) -> Response:
    """A story's facts: which outlet carried each first, and who carried it later."""
    win = api.window(ctx, Params(request.query_params, api.LIST))
    found = api.the_story(session, request.path_params["slug"])
    tag = api.story_tag(found, f"facts-page-{request.url.query}")
    check_fresh(request, tag)
    every = facts.facts_at(session, found.id, found.version, story_facts)
    shown = every[win.offset : win.offset + win.limit]
    ids = articles.article_ids(
        session, [c["url"] for f in shown for c in [f["first"], *f["later"]]]
    )
    response = render(
        ctx,
        "facts.html.j2",
        story=found,
        facts=shown,
        ids=ids,
        start=win.offset,
        shown_time=page.shown_time,
        pager=pager(request, win, len(every), len(shown)),
    )
    response.headers["etag"] = tag
    return response


def article_page(ctx: Context, request: Request, session: ReadSession) -> Response:
    """An article: its stories, and its versions with side-by-side diffs and change kinds."""
    Params(request.query_params, ())
    found = api.the_article(session, request)
    detail = v.article_detail(found, browse.memberships(session, found.id))
    shaped = {"versions": v.page_versions(found.versions)}
    return render(
        ctx,
        "article.html.j2",
        a=detail,
        shaped=shaped,
        href=page.href(found.url),
        shown_time=page.shown_time,
    )


def search_page(ctx: Context, request: Request, session: ReadSession) -> Response:
    """Search, with its filters; results a page at a time."""
    params = Params(request.query_params, api.SEARCH_PARAMS)
    win = api.window(ctx, params)
    found, problem = None, None
    try:  # a bad filter or query is shown beside the form, which keeps what was typed
        query = api.search_query(params)
        if query is not None:
            found = finding.find(session, query, limit=win.limit, offset=win.offset)
    except RequestError as exc:
        problem = exc.message
    shown = 0 if found is None else len(found.hits)
    return render(
        ctx,
        "search.html.j2",
        q={name: params.query.get(name, "") for name in api.SEARCH_PARAMS},
        found=found,
        problem=problem,
        stories=browse.story_names(session),
        outlets=browse.outlets(session),
        relations=finding.RELATIONS,
        shown_time=page.shown_time,
        pager=pager(request, win, None if found is None else found.total, shown),
    )


def sources_page(ctx: Context, request: Request, session: ReadSession) -> Response:
    """Every source with its state."""
    win = api.window(ctx, Params(request.query_params, api.LIST))
    result = browse.sources(session, limit=win.limit, offset=win.offset)
    at = api.now()
    rows = [v.source(s, now=at) for s in result.rows]
    return render(
        ctx,
        "sources.html.j2",
        sources=rows,
        shown_time=page.shown_time,
        pager=pager(request, win, result.total, len(rows)),
    )


def healthz(request: Request) -> Response:
    """Alive: the process answers (no database read, no token)."""
    return JSONResponse({"status": "ok"}, headers={"cache-control": "no-store"})


def openapi_json(ctx: Context, request: Request, session: ReadSession) -> Response:
    """The API's description."""
    return json_response(openapi.document())


STYLES = {
    "story.css": ("monitor.publish", "templates/story.css"),
    "web.css": ("monitor.web", "templates/web.css"),
    "icon.svg": ("monitor.web", "templates/icon.svg"),
}


def static(ctx: Context, request: Request, session: ReadSession) -> Response:
    """The stylesheets (the story page's and the site's) and the icon."""
    Params(request.query_params, ())
    name = request.path_params["name"]
    if name not in STYLES:
        raise RequestError(404, f"no such file: {name}")
    package, path = STYLES[name]
    body = resources.files(package).joinpath(path).read_bytes()
    kind = "image/svg+xml" if name.endswith(".svg") else "text/css; charset=utf-8"
    return Response(body, media_type=kind)


PAGES = {
    "/": index,
    "/stories/{slug}": story_page,
    "/stories/{slug}/facts": facts_page,
    "/articles/{id}": article_page,
    "/search": search_page,
    "/sources": sources_page,
    "/openapi.json": openapi_json,
    "/static/{name}": static,
}


def routes() -> list[Route]:
    pages = [Route(path, handler(fn), methods=["GET"]) for path, fn in PAGES.items()]
    return [Route("/healthz", healthz, methods=["GET"]), *pages, *api.routes()]
