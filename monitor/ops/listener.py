"""The daemon's HTTP listener: ``GET /healthz``, ``/readyz`` and ``/metrics``, and nothing else.

The standard library's ``ThreadingHTTPServer`` rather than prometheus_client's own server or
WSGI app: those answer the metrics on every path, and a WSGI stack (wsgiref) is single-threaded
and adds a layer for three fixed routes. Each request runs in its own daemon thread with a
socket timeout, so a slow client cannot hold up a health probe or the daemon's stop. Every
other path is 404, every method but GET and HEAD 501; no file is ever served and no request
body is read. The server names no version of anything.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from monitor.errors import OpsError
from monitor.log import log

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str = "application/json"


Route = Callable[[], Answer]


def split_address(address: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port``) as the host and the port; the configuration checked it."""
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


class _Server(ThreadingHTTPServer):
    daemon_threads = True  # a stuck client never keeps the process alive

    def __init__(self, address: tuple[str, int], family: int, routes: dict[str, Route]) -> None:
        self.address_family = family
        self.routes = routes
        super().__init__(address, _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 10  # seconds a client may take to send its request
    server_version = "news-monitor"
    protocol_version = "HTTP/1.0"  # one request per connection: nothing to keep alive

    def version_string(self) -> str:
        return self.server_version  # not Python's version: nothing for a scanner to match

    def do_GET(self) -> None:
        self._answer(with_body=True)

    def do_HEAD(self) -> None:
        self._answer(with_body=False)

    def _answer(self, *, with_body: bool) -> None:
        path = self.path.split("?", 1)[0]
        route = self.server.routes.get(path)
        try:
            answer = route() if route else Answer(404, b'{"error": "not found"}\n')
        except Exception as exc:  # a probe must answer, whatever broke behind it
            log(logger, "ops_request_failed", level=logging.ERROR, path=path, error=repr(exc))
            answer = Answer(500, b'{"error": "internal error"}\n')
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if with_body:
            self.wfile.write(answer.body)

    def log_message(self, format: str, *args: Any) -> None:
        # BaseHTTPRequestHandler writes plain text to stderr, which would break the JSON lines
        # of the log; probes come every few seconds, so only at debug level.
        log(logger, "ops_request", level=logging.DEBUG, line=format % args)


class Listener:
    """Bound at once (so a taken port fails before anything else starts), served in a thread."""

    def __init__(self, address: str, routes: dict[str, Route], *, where: str) -> None:
        host, port = split_address(address)
        try:
            info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
            family, _, _, _, sockaddr = info[0]
            self.server = _Server((str(sockaddr[0]), int(sockaddr[1])), family, routes)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise OpsError(f"{where}: cannot listen on {address}: {reason}") from None
        self._thread = threading.Thread(
            target=self.server.serve_forever,
            kwargs={"poll_interval": 0.5},
            name="monitor-ops",
            daemon=True,
        )

    @property
    def address(self) -> str:
        """Where it listens, with the port the system chose for port 0."""
        host, port = self.server.server_address[:2]
        host = str(host)
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        if self._thread.is_alive():
            self.server.shutdown()
        self.server.server_close()
