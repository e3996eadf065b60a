"""What a fetch gives back: plain data, shared by the HTTP client that makes it and by the pure
code that reads it (robots.txt's status rules), which must not import the client (httpx)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FetchResult:
    url: str  # the final URL, after redirects
    status: int
    headers: dict[str, str] = field(repr=False)
    body: bytes = field(repr=False)
    duration_ms: int = 0

    @property
    def not_modified(self) -> bool:
        return self.status == 304
