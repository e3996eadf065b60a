"""A replay web server: serves a story folder round by round on 127.0.0.1.

Round N answers PATH from the newest round folder <= N holding it; a ``PATH.gone`` marker makes
it answer 410 from that round on. ``{{BASE}}`` in served text becomes ``http://127.0.0.1:PORT``.
It honours If-None-Match (strong ETags of the served bytes), so conditional GET is exercised.
Used by ``monitor demo`` and by the tests.
"""

from __future__ import annotations

import hashlib
import mimetypes
import threading
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

_TYPES = {
    ".xml": "application/xml; charset=utf-8",
    ".html": "text/html; charset=utf-8",
    ".json": "application/feed+json; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}


class ReplayServer:
    def __init__(self, root: Path, rounds: Sequence[str]) -> None:
        self.root = root
        self.rounds = list(rounds)
        self.current = 0
        self.requests: list[str] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def set_round(self, name: str) -> None:
        self.current = self.rounds.index(name)

    def __enter__(self) -> ReplayServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def resolve(self, path: str) -> Path | None:
        """The file serving ``path`` in the current round; None for 404; raises for 410."""
        relative = unquote(urlsplit(path).path).lstrip("/")
        if ".." in relative.split("/"):
            return None
        for name in reversed(self.rounds[: self.current + 1]):
            folder = self.root / name
            if (folder / f"{relative}.gone").is_file():
                raise FileNotFoundError("gone")
            candidate = folder / relative
            if candidate.is_file():
                return candidate
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                server.requests.append(self.path)
                try:
                    file = server.resolve(self.path)
                except FileNotFoundError:
                    self._send(410, b"gone\n", "text/plain")
                    return
                if file is None:
                    self._send(404, b"not found\n", "text/plain")
                    return
                body = file.read_bytes().replace(b"{{BASE}}", server.base.encode())
                etag = '"' + hashlib.sha1(body).hexdigest() + '"'
                if self.headers.get("If-None-Match") == etag:
                    self._send(304, b"", None, etag=etag)
                    return
                kind = _TYPES.get(file.suffix) or mimetypes.guess_type(file.name)[0]
                self._send(200, body, kind or "application/octet-stream", etag=etag)

            def _send(self, status: int, body: bytes, kind: str | None, **extra: str) -> None:
                self.send_response(status)
                if kind:
                    self.send_header("Content-Type", kind)
                if "etag" in extra:
                    self.send_header("ETag", extra["etag"])
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if body:
                    self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass  # the client logs every fetch already

        return Handler
