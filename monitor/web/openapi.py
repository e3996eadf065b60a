"""The OpenAPI 3.1 description of the JSON API, served at ``/openapi.json``: written here as
data beside the routes (``monitor.web.api.HANDLERS``), each operation's summary taken from its
handler's docstring. A test checks that every route is described and every description routed.
"""

from __future__ import annotations

from typing import Any

from monitor import __version__
from monitor.web import api

_INT = {"type": "integer", "minimum": 0}
_STR = {"type": "string"}
_TIME = {"type": "string", "description": "2023-03-24 or 2023-03-24T12:00:00Z"}
_RELATION = {"type": "string", "enum": ["seed", "original", "copy", "off_topic"]}


def _query(name: str, schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "schema": schema,
        "description": description,
    }


def _path(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema}


PAGE = [
    _query(
        "limit",
        {"type": "integer", "minimum": 1},
        "items in the page ([web] page_size; at most [web] max_page_size)",
    ),
    _query("offset", _INT, "items skipped (default 0)"),
]
SLUG = _path("slug", _STR)
ID = _path("id", _INT)
STORY = _query("story", _STR, "a story's slug")
OUTLET = _query("outlet", _STR, "an outlet's name (any case)")
RELATION = _query("relation", _RELATION, "the relation to the story")

PARAMETERS: dict[str, list[dict[str, Any]]] = {
    "/api/stories": PAGE,
    "/api/stories/{slug}": [SLUG],
    "/api/stories/{slug}/file": [
        SLUG,
        _query("facts", {"type": "boolean"}, "with the story's facts (default true)"),
    ],
    "/api/stories/{slug}/articles": [SLUG, *PAGE, RELATION, OUTLET],
    "/api/stories/{slug}/facts": [SLUG, *PAGE],
    "/api/articles": [*PAGE, STORY, OUTLET, RELATION],
    "/api/articles/{id}": [ID],
    "/api/articles/{id}/versions/{version}": [
        ID,
        _path("version", {"type": "integer", "minimum": 1}),
    ],
    "/api/search": [
        _query("q", _STR, 'the query: words, "a phrase", prefix*, OR, -word'),
        *PAGE,
        STORY,
        OUTLET,
        RELATION,
        _query("lang", _STR, "the article's language (en, fr)"),
        _query("since", _TIME, "published (else first seen) at or after"),
        _query("until", _TIME, "published (else first seen) before"),
        _query("any_version", {"type": "boolean"}, "match every version, not the newest only"),
    ],
    "/api/sources": PAGE,
    "/api/digests": [*PAGE, STORY],
}

_ERROR = {
    "description": "an error",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
}
_COMPONENTS = {
    "schemas": {
        "Error": {
            "type": "object",
            "required": ["error"],
            "properties": {
                "error": {
                    "type": "object",
                    "required": ["status", "message"],
                    "properties": {"status": {"type": "integer"}, "message": _STR},
                }
            },
        },
        "Page": {
            "type": "object",
            "required": ["items", "total", "limit", "offset", "links"],
            "properties": {
                "items": {"type": "array"},
                "total": {"type": "integer"},
                "limit": {"type": "integer"},
                "offset": {"type": "integer"},
                "links": {
                    "type": "object",
                    "properties": {
                        "self": _STR,
                        "next": {"type": ["string", "null"]},
                        "prev": {"type": ["string", "null"]},
                    },
                },
            },
        },
        "SearchPage": {
            "allOf": [
                {"$ref": "#/components/schemas/Page"},
                {
                    "type": "object",
                    "required": ["total_exact"],
                    "properties": {
                        "total_exact": {
                            "type": "boolean",
                            "description": "false: total is an estimate (a query matching "
                            "thousands of versions is ranked among its newest matches and its "
                            "matches are not all counted); the last page's total is exact",
                        }
                    },
                },
            ]
        },
    },
    "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
}


def _operation(path: str) -> dict[str, Any]:
    doc = (api.HANDLERS[path].__doc__ or "").strip()
    listed = any(p["name"] == "limit" for p in PARAMETERS[path])
    page = "SearchPage" if path == "/api/search" else "Page"
    body = {"$ref": f"#/components/schemas/{page}"} if listed else {"type": "object"}
    return {
        "get": {
            "summary": doc.split("\n")[0],
            "parameters": PARAMETERS[path],
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": body}}},
                "304": {"description": "not modified (If-None-Match named the ETag)"},
                "400": _ERROR,
                "401": _ERROR,
                "404": _ERROR,
            },
        }
    }


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "news-monitor",
            "version": __version__,
            "description": "Read-only access to the archive: stories, their files and facts, "
            "articles and their versions, search, sources and digests. With [web] token set, "
            "every request but /healthz needs Authorization: Bearer TOKEN.",
        },
        "paths": {path: _operation(path) for path in PARAMETERS},
        "components": _COMPONENTS,
        "security": [{"token": []}, {}],
    }
