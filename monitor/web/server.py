"""``monitor serve``: the application built from the configuration, on a socket bound here (so
that an address in use or not this machine's is one ServeError line, and port 0 tells which
port it got), served by uvicorn until SIGINT or SIGTERM."""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable

import jinja2
import uvicorn

from monitor import config as configmod
from monitor.app import open_db
from monitor.errors import ServeError
from monitor.log import log
from monitor.publish import marks
from monitor.web import pages
from monitor.web.app import Context, build
from storage.db import Database

logger = logging.getLogger(__name__)


def templates() -> jinja2.Environment:
    """The pages' templates, and the story page's parts they import (autoescaped, undefined
    values refused)."""
    env = jinja2.Environment(
        loader=jinja2.ChoiceLoader(
            [
                jinja2.PackageLoader("monitor.web", "templates"),
                jinja2.PackageLoader("monitor.publish", "templates"),
            ]
        ),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default=False),
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.globals.update(marks.GLOBALS)
    return env


def context(config: configmod.Config, db: Database) -> Context:
    thresholds = {
        s.slug: config.match.story_threshold if s.story_threshold is None else s.story_threshold
        for s in config.stories
    }
    return Context(db, config.web, templates(), thresholds)


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host``:``port`` (IPv6 when the host is one)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        family, kind, proto, _, address = infos[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ServeError(f"cannot listen on {host}:{port}: {reason}") from None
    sock.set_inheritable(True)
    return sock


def server(config: configmod.Config, db: Database) -> uvicorn.Server:
    """The uvicorn server of the application over ``db`` (``run(sockets=[...])`` serves)."""
    app = build(context(config, db), pages.routes())
    return uvicorn.Server(
        uvicorn.Config(
            app,
            log_config=None,  # our JSON-lines handler on the root logger formats its lines
            access_log=False,  # the Guard logs each request with our keys
            lifespan="off",
            server_header=False,
            proxy_headers=False,
        )
    )


def serve(
    config: configmod.Config,
    host: str,
    port: int,
    *,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the archive ``config`` names on ``host``:``port`` until stopped; ``ready`` gets
    the address once it listens (the command prints it)."""
    db = open_db(config, existing=True)
    try:
        sock = bind(host, port)
        bound_host, bound_port = sock.getsockname()[:2]
        shown = f"[{bound_host}]" if ":" in bound_host else bound_host
        url = f"http://{shown}:{bound_port}/"
        log(logger, "serve_listening", host=bound_host, port=bound_port, url=url)
        if ready is not None:
            ready(url)
        server(config, db).run(sockets=[sock])
    finally:
        db.close()
