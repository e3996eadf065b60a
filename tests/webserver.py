"""``monitor serve``'s application on a real socket on 127.0.0.1, in a thread of the test: the
uvicorn server the command runs (``monitor.web.server.server``), on a database and settings
the test gives, stopped at the end."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from monitor import config as configmod
from monitor.web import server
from storage.db import open_database


@contextlib.contextmanager
def serving(database: Path | str, **web: Any) -> Iterator[str]:
    """The base URL (``http://127.0.0.1:PORT``) of the server over ``database`` (an SQLite
    file, or a database URL) with ``[web]`` settings ``web``, for the ``with`` block."""
    url = database if isinstance(database, str) else f"sqlite:///{database}"
    config = configmod.from_mapping({"storage": {"url": url}, "web": web}, env={})
    db = open_database(config.storage.url, existing=True)
    sock = server.bind("127.0.0.1", 0)
    port = sock.getsockname()[1]
    uv = server.server(config, db)
    thread = threading.Thread(target=uv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not uv.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uv.should_exit = True
        thread.join(timeout=30)
        sock.close()
        db.close()
