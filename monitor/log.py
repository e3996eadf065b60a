"""Structured logging: one JSON object per line on stderr, with stable keys.

Every fetch logs ``event=fetch`` with ``source``, ``url``, ``status``, ``duration_ms`` and
``bytes``; other events use the same ``event`` key and whatever fields they carry. Call
``log(logger, "event", key=value, ...)`` rather than formatting messages, so that fields stay
machine-readable.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

_RESERVED = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "event": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                out[key] = value
        if record.exc_info:
            out["exc"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        ts = datetime.fromtimestamp(record.created, UTC).isoformat(timespec="seconds")
        fields = " ".join(
            f"{k}={v}"
            for k, v in vars(record).items()
            if k not in _RESERVED and not k.startswith("_")
        )
        return f"{ts} {record.levelname.lower():7} {record.getMessage()} {fields}".rstrip()


def setup(level: str = "info", fmt: str = "json") -> None:
    """Send the ``monitor`` and ``storage`` loggers to stderr in the chosen format, and the
    libraries' warnings and errors too (through the root logger)."""
    formatter = JsonFormatter() if fmt == "json" else TextFormatter()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    for name in ("monitor", "storage"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False
    # APScheduler's "run time of job was missed", trafilatura's parser warnings: without a
    # handler on the root, Python prints them as bare text, and a log shipper expecting one
    # JSON object per line chokes on them. Only our own earlier handler is replaced, so a
    # host's handlers (pytest's, an embedding application's) stay.
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _LibraryHandler)]:
        root.removeHandler(old)
    libraries = _LibraryHandler(sys.stderr)
    libraries.setFormatter(formatter)
    libraries.setLevel(logging.WARNING)
    root.addHandler(libraries)


class _LibraryHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The root logger's handler for the libraries' records, told apart from others'."""


def log(logger: logging.Logger, event: str, *, level: int = logging.INFO, **fields: Any) -> None:
    """Log ``event`` with ``fields`` as top-level keys of the JSON line."""
    # A field named like a LogRecord attribute ("message", "name", ...) would make logging raise.
    safe = {f"{k}_" if k in _RESERVED else k: v for k, v in fields.items()}
    logger.log(level, event, extra=safe)
