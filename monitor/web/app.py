"""The ASGI application of ``monitor serve``: its routes (``api``, ``pages``), what every
answer goes through (``handler``: a read session, errors as JSON or an error page, ETag and
304), and what every request goes through (``Guard``: the token, the security headers).

Handlers are plain functions: Starlette runs them in its thread pool, where SQLAlchemy's
synchronous sessions belong; the event loop only moves bytes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jinja2
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from monitor.config import WebSettings
from monitor.errors import RequestError
from monitor.log import log
from storage.db import Database, ReadSession
from storage.errors import DatabaseError

logger = logging.getLogger(__name__)

# No script, no frame, nothing from elsewhere: the pages are HTML and CSS from this server.
CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
    "base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
OPEN_PATHS = ("/healthz",)


class Kept:
    """The last few rendered story pages by ETag: a story page is the same bytes until the
    story's next version, and rendering a large one takes seconds (benchmarks/serve.py)."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self._pages: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, tag: str) -> bytes | None:
        with self._lock:
            if tag in self._pages:
                self._pages.move_to_end(tag)
            return self._pages.get(tag)

    def put(self, tag: str, body: bytes) -> None:
        with self._lock:
            self._pages[tag] = body
            while len(self._pages) > self.size:
                self._pages.popitem(last=False)


@dataclass
class Context:
    """What every handler reads: the database, the settings, the page templates, and each
    configured story's threshold (shown beside the fitted one; storage does not read it)."""

    db: Database
    settings: WebSettings
    templates: jinja2.Environment
    thresholds: dict[str, float] = field(default_factory=dict)
    pages: Kept = field(default_factory=Kept)


Handler = Callable[[Context, Request, ReadSession], Response]


class NotModified(Exception):
    """The client's copy is current: answered 304 with ``etag``."""

    def __init__(self, etag: str) -> None:
        self.etag = etag


def check_fresh(request: Request, etag: str) -> None:
    """NotModified when the request's If-None-Match names ``etag`` (or ``*``)."""
    wanted = request.headers.get("if-none-match")
    if wanted and (wanted.strip() == "*" or etag in [t.strip() for t in wanted.split(",")]):
        raise NotModified(etag)


def error_json(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(
        {"error": {"status": status, "message": message}}, status_code=status, headers=headers
    )


def wants_page(request: Request) -> bool:
    """Whether an error is answered as a page (a browser's request for a page) or as JSON."""
    path = request.url.path
    return not (path.startswith("/api/") or path == "/openapi.json" or path == "/healthz")


def error_response(request: Request, status: int, message: str, headers: Any = None) -> Response:
    if not wants_page(request):
        return error_json(status, message, headers)
    ctx: Context = request.app.state.ctx
    html = ctx.templates.get_template("error.html.j2").render(status=status, message=message)
    return Response(html, status, headers=headers, media_type="text/html; charset=utf-8")


def handler(fn: Handler) -> Callable[[Request], Response]:
    """``fn`` as a Starlette endpoint: given a read session; a RequestError answered with its
    status, a storage fault 503; the answer given an ETag (its body's hash unless ``fn`` set
    one from a story version) and 304 when the client has it."""

    def endpoint(request: Request) -> Response:
        ctx: Context = request.app.state.ctx
        try:
            with ctx.db.read() as session:
                response = fn(ctx, request, session)
        except NotModified as fresh:
            return Response(status_code=304, headers=_caching(ctx, fresh.etag))
        except RequestError as exc:
            return error_response(request, exc.status, exc.message)
        except DatabaseError as exc:
            log(logger, "serve_storage_fault", path=request.url.path, error=str(exc))
            return error_response(request, 503, "the archive cannot be read just now")
        except Exception:  # a bug: logged with its traceback, answered in our error shape
            logger.exception("serve_failed", extra={"path": request.url.path})
            return error_response(request, 500, "internal error (logged by the server)")
        etag = response.headers.get("etag") or _body_tag(response.body)
        response.headers.update(_caching(ctx, etag))
        try:
            check_fresh(request, etag)
        except NotModified:
            return Response(status_code=304, headers=_caching(ctx, etag))
        return response

    endpoint.__name__ = fn.__name__
    endpoint.__doc__ = fn.__doc__
    return endpoint


def _body_tag(body: bytes | memoryview) -> str:
    return '"' + hashlib.sha256(bytes(body)).hexdigest()[:32] + '"'


def _caching(ctx: Context, etag: str) -> dict[str, str]:
    # no-cache: kept, but asked again each time (the ETag makes that a 304); private when the
    # answers are behind a token, so no shared cache keeps them.
    scope = "private, no-cache" if ctx.settings.token else "no-cache"
    return {"etag": etag, "cache-control": scope}


def json_response(data: Any, *, etag: str | None = None) -> Response:
    headers = {"etag": etag} if etag else None
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(body, headers=headers, media_type="application/json")


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own 404 (no route) and 405 (a method no route takes), as our errors."""
    assert isinstance(exc, HTTPException)
    message = {404: f"no such path: {request.url.path}", 405: "method not allowed"}.get(
        exc.status_code, exc.detail
    )
    if exc.status_code == 405:
        message = f"{request.method} not allowed on {request.url.path}: this server only reads"
    return error_response(request, exc.status_code, message, exc.headers)


def authorized(header: str | None, token: str) -> bool:
    """``Authorization: Bearer TOKEN`` or HTTP Basic with TOKEN as the password."""
    if not header:
        return False
    scheme, _, given = header.partition(" ")
    given = given.strip()
    if scheme.lower() == "basic":
        try:
            given = base64.b64decode(given, validate=True).decode("utf-8").partition(":")[2]
        except (ValueError, UnicodeDecodeError):
            return False
    elif scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8"))


class Guard:
    """Every request: the token checked (but for /healthz), and every answer, errors
    included, sent with the security headers."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        started = time.perf_counter()

        async def secured(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
                log(
                    logger,
                    "request",
                    method=scope["method"],
                    path=scope["path"],
                    status=message["status"],
                    duration_ms=round((time.perf_counter() - started) * 1000, 1),
                )
            await send(message)

        if self.token and scope["path"] not in OPEN_PATHS:
            headers = dict(scope["headers"])
            auth = headers.get(b"authorization", b"").decode("latin-1")
            if not authorized(auth, self.token):
                message = "a token is required" if not auth else "wrong token"
                response = error_json(401, message + " (Authorization: Bearer TOKEN)")
                response.headers.append("www-authenticate", 'Bearer realm="news-monitor"')
                response.headers.append("www-authenticate", 'Basic realm="news-monitor"')
                await response(scope, receive, secured)
                return
        await self.app(scope, receive, secured)


def build(ctx: Context, routes: list[Route]) -> ASGIApp:
    """The application: ``routes`` behind the Guard."""
    app = Starlette(routes=routes, exception_handlers={HTTPException: _http_error})
    app.state.ctx = ctx
    return Guard(app, ctx.settings.token)
