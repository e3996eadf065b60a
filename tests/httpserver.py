"""A small HTTP server on 127.0.0.1 for tests that need a real socket.

    with serve() as site:                       # or the ``http_server`` fixture of conftest
        site.routes["/feed.xml"] = Reply(200, body, {"Content-Type": "application/rss+xml"})

        @site.route("/slow")                    # a callable gets the request handler
        def _(h: Handler) -> None:
            h.stop.wait(5)                      # set when the server stops: slow answers end
            send(h, Reply(200, b"late"))

        fetcher.get(site.url("/feed.xml"))
        assert site.paths == ["/feed.xml"]

Routes match the path without its query; any other path answers ``NOT_FOUND``. Every request
is recorded in ``site.requests`` before it is answered. A ``Reply`` is sent exactly as given,
with a Content-Length (none on a 304) and no automatic Date or Server header, so a test decides
every header the client sees. The server speaks HTTP/1.1 with keep-alive, each connection on a
daemon thread, so a handler still dripping when a test ends does not hold the test up.

A ``Site`` with no server behind it can answer another transport too: ``Site.answer`` records a
request and returns its route (tests/test_faults.py serves one through httpx.MockTransport).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Reply:
    """A complete response: status, body and headers, sent as they are."""

    status: int
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Request:
    """One request as the site received it."""

    method: str
    path: str  # the request target, query included
    url: str  # the site's base and the target
    headers: dict[str, str]  # names lower-cased


NOT_FOUND = Reply(404, b"no such page\n", {"Content-Type": "text/plain"})


class Handler(BaseHTTPRequestHandler):
    """Answers each request from its ``Site``; a callable route is given this handler."""

    protocol_version = "HTTP/1.1"
    # The headers and the body go out in two writes: with Nagle's algorithm on, the body waits
    # for the client's delayed ACK of the headers, 40 ms on Linux, on every kept-alive request.
    disable_nagle_algorithm = True
    timeout = 10  # an idle kept-alive connection does not pin a server thread for ever

    @property
    def site(self) -> Site:
        server = self.server
        assert isinstance(server, _Server)
        return server.site

    @property
    def stop(self) -> threading.Event:
        """Set when the server stops: a route that waits should wait on it."""
        return self.site.stop

    def handle(self) -> None:
        # A client that gives up mid-answer (too large, timed out) resets the connection.
        with suppress(BrokenPipeError, ConnectionResetError):
            super().handle()

    def do_GET(self) -> None:
        site = self.site
        route = site.answer(self.command, site.url(self.path), self.headers.items())
        try:
            if isinstance(route, Reply):
                send(self, route)
            else:
                route(self)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        pass


Respond = Callable[[Handler], None]
Route = Reply | Respond


@dataclass
class Site:
    """Routes by path, the requests received in order, and an event set when serving stops."""

    base: str  # scheme, host and port, no trailing slash
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    @property
    def port(self) -> int | None:
        return urlsplit(self.base).port

    @property
    def paths(self) -> list[str]:
        """The request targets received so far, in order."""
        return [r.path for r in self.requests]

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str) -> Callable[[Respond], Respond]:
        """A decorator registering a callable route for ``path``."""

        def register(fn: Respond) -> Respond:
            self.routes[path] = fn
            return fn

        return register

    def answer(self, method: str, url: str, headers: Iterable[tuple[str, str]]) -> Route:
        """Record a request for ``url`` and return the route for its path."""
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        lowered = {name.lower(): value for name, value in headers}
        self.requests.append(Request(method, target, url, lowered))
        return self.routes.get(parts.path, NOT_FOUND)


def send(handler: BaseHTTPRequestHandler, reply: Reply) -> None:
    """Send ``reply`` whole, with a Content-Length unless it is a 304."""
    handler.send_response_only(reply.status)
    for name, value in reply.headers.items():
        handler.send_header(name, value)
    if reply.status != 304:
        handler.send_header("Content-Length", str(len(reply.body)))
    handler.end_headers()
    if reply.body:
        handler.wfile.write(reply.body)


class _Server(ThreadingHTTPServer):
    site: Site


@contextmanager
def serve(routes: Mapping[str, Route] | None = None) -> Iterator[Site]:
    """A server on a free port of 127.0.0.1 answering from the ``Site`` it yields; on exit its
    stop event is set, the server shut down and its socket closed."""
    httpd = _Server(("127.0.0.1", 0), Handler)
    site = Site(f"http://127.0.0.1:{httpd.server_address[1]}", dict(routes or {}))
    httpd.site = site
    # A short poll interval: shutdown() waits for the loop to look at its flag.
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    )
    thread.start()
    try:
        yield site
    finally:
        site.stop.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
