"""The one HTTP client: polite, bounded and unable to reach private networks unless allowed.

Every feed, sitemap and article page goes through ``Fetcher.get``:

- timeouts on connect and on each read, and a deadline for the whole request, body included;
- a size cap enforced while the body streams in, after decompression: the raw bytes are inflated
  here, at most ``_PIECE`` bytes at a time, so a gzip bomb stops at the cap without first
  inflating a whole network read (httpx would, up to ~64 MB per read);
- redirects followed by hand, at most ``max_redirects``, each hop checked again;
- only http and https; every hop's host resolved and refused if any address is loopback,
  private, link-local, CGNAT, unique-local or otherwise not global (unless
  ``allow_private_networks``). The check runs in the network backend at connect time and the
  socket connects to the very address checked, so a name that answers differently the second
  time (DNS rebinding) cannot slip through; TLS still verifies the certificate for the hostname;
- one request at a time per host, and at least ``per_host_delay`` between the starts of two
  requests to the same host (HostGate), whichever thread makes them;
- conditional GET with the ETag and Last-Modified the caller kept;
- one structured log line per fetch (``event=fetch``, ``url``, ``status``, ``duration_ms``, the
  time on the network, and ``wait_ms``, the time spent waiting for the host's turn).

Failures raise FetchError with a ``kind`` from errors.FETCH_ERROR_KINDS. The transport and the
resolver are injectable so tests use ``httpx.MockTransport`` or a real server on 127.0.0.1. An
injected transport does its own connecting, so for it the guard resolves and checks each hop
before the request instead (good enough for a mock; it is the built-in transport that closes the
rebinding gap).
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import ssl
import threading
import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from monitor.config import FetchSettings
from monitor.errors import BlockedAddressError, FetchError
from monitor.fetch.cookies import NoCookies, with_cookies
from monitor.fetch.result import FetchResult
from monitor.fetch.transport import (
    AddressRefused,
    GuardedTransport,
    Resolver,
    Unresolvable,
    is_public_address,
    request_deadline,
    system_resolver,
)
from monitor.log import log

# FetchResult lives in monitor.fetch.result (robots.txt's pure rules read it without httpx); it
# is still importable from here.
__all__ = [
    "ACCEPT_ENCODING",
    "FetchResult",
    "Fetcher",
    "HostGate",
    "Resolver",
    "is_public_address",
    "parse_retry_after",
    "system_resolver",
]

logger = logging.getLogger(__name__)


def parse_retry_after(value: str | None, date_header: str | None = None) -> float | datetime | None:
    """A Retry-After value: seconds (delta-seconds, or an HTTP date measured from the response's
    own Date header), else the time the HTTP date names, which the caller measures from its
    ``now`` (FetchError.retry_delay): the fetcher never reads a clock of its own for it."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; "-0000" reads as naive
        when = when.replace(tzinfo=UTC)
    if date_header:
        with contextlib.suppress(TypeError, ValueError):
            sent = parsedate_to_datetime(date_header)
            return max(0.0, when.timestamp() - sent.timestamp())
    return when.astimezone(UTC)


# Largest piece of body inflated at once; the cap is checked between pieces.
_PIECE = 65_536
# The encodings _inflate understands; sent as Accept-Encoding instead of httpx's default, which
# may offer br or zstd when those packages happen to be installed.
ACCEPT_ENCODING = "gzip, deflate"


def _inflate_one(encoding: str, pieces: Iterable[bytes]) -> Iterator[bytes]:
    """Undo one content coding, yielding at most _PIECE bytes at a time."""
    if encoding in ("gzip", "x-gzip"):
        decompressor = zlib.decompressobj(zlib.MAX_WBITS | 16)
    elif encoding == "deflate":
        decompressor = zlib.decompressobj()
    else:  # identity, or a coding we did not offer: passed through, as httpx does
        yield from pieces
        return
    first = True
    for piece in pieces:
        if first and encoding == "deflate":
            first = False
            try:  # "deflate" is zlib-wrapped by the standard, raw by some servers
                out = decompressor.decompress(piece, _PIECE)
            except zlib.error:
                decompressor = zlib.decompressobj(-zlib.MAX_WBITS)
                out = decompressor.decompress(piece, _PIECE)
        else:
            out = decompressor.decompress(piece, _PIECE)
        yield out
        while decompressor.unconsumed_tail:
            yield decompressor.decompress(decompressor.unconsumed_tail, _PIECE)
    yield decompressor.flush()


def _inflate(content_encoding: str, raw: Iterable[bytes]) -> Iterator[bytes]:
    """The body with every listed content coding undone, in bounded pieces."""
    pieces = raw
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    for coding in reversed(codings):  # the last coding applied is undone first
        pieces = _inflate_one(coding, pieces)
    return (piece for piece in pieces if piece)


class HostGate:
    """One request at a time per host, and at least ``delay`` seconds between the starts of two
    requests to the same host. Hosts never wait for each other."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self._lock = threading.Lock()
        self._hosts: dict[str, tuple[threading.Lock, list[float]]] = {}

    @staticmethod
    def _key(url: str) -> str:
        parts = urlsplit(url)
        return f"{(parts.hostname or '').lower()}:{parts.port or ''}"

    def ready_at(self, url: str) -> float:
        """The monotonic time ``url``'s host may next be asked (in the past when it may now)."""
        with self._lock:
            entry = self._hosts.get(self._key(url))
        return entry[1][0] + self.delay if entry else 0.0

    @contextlib.contextmanager
    def slot(self, url: str, delay: float | None = None) -> Iterator[float]:
        """Wait for ``url``'s host (and at least ``delay``, when longer than the gate's own);
        gives the seconds waited."""
        asked = time.monotonic()
        host = self._key(url)
        with self._lock:
            lock, last_start = self._hosts.setdefault(host, (threading.Lock(), [-float("inf")]))
        with lock:
            wait = last_start[0] + max(self.delay, delay or 0.0) - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            last_start[0] = time.monotonic()
            yield last_start[0] - asked


def _classify(exc: Exception) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    text = str(exc).lower()
    if (
        isinstance(exc.__cause__ or exc.__context__, ssl.SSLError)
        or "ssl" in text
        or ("certificate" in text)
    ):
        return "tls"
    if isinstance(exc, httpx.ConnectError) and any(
        s in text for s in ("name or service", "nodename", "name resolution", "getaddrinfo")
    ):
        return "dns"
    return "connect"


class Fetcher:
    def __init__(
        self,
        settings: FetchSettings,
        *,
        transport: httpx.BaseTransport | None = None,
        resolver: Resolver = system_resolver,
    ) -> None:
        self.settings = settings
        self.resolver = resolver
        self.gate = HostGate(settings.per_host_delay)
        # Told of every fetch's kind (feed, article, robots) and result (ok, not_modified or the
        # error kind), from the thread that made it: the daemon's metrics and liveness.
        self.on_fetch: Callable[[str, str], None] | None = None
        # Only the built-in transport can check addresses at connect time; with an injected one
        # (a MockTransport in tests) the hostname is resolved and checked before each request.
        self._check_at_connect = transport is None
        if transport is None:
            transport = GuardedTransport(
                resolver, allow_private_networks=settings.allow_private_networks
            )
        self.client = httpx.Client(
            transport=transport,
            follow_redirects=False,
            timeout=httpx.Timeout(
                connect=settings.connect_timeout,
                read=settings.read_timeout,
                write=settings.read_timeout,
                pool=settings.connect_timeout,
            ),
            headers={"User-Agent": settings.user_agent, "Accept-Encoding": ACCEPT_ENCODING},
            cookies=NoCookies(),
        )

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _check_target(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise FetchError("bad_url", url, "only http and https URLs are fetched")
        if self.settings.allow_private_networks:
            return
        host = parts.hostname
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise FetchError("bad_url", url, "invalid port") from None
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            if self._check_at_connect:
                return  # GuardedBackend resolves, checks and connects in one step
            try:
                addresses = list(self.resolver(host, port))
            except OSError as exc:
                raise FetchError("dns", url, f"cannot resolve {host}: {exc}") from exc
        for address in addresses:
            if not is_public_address(address):
                raise BlockedAddressError(
                    url,
                    f"{host} resolves to {address}, a private or local address "
                    "(set fetch.allow_private_networks to allow it)",
                )

    def get(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = "*/*",
        log_fields: dict[str, Any] | None = None,
        host_delay: float | None = None,
        stop_at: Callable[[str], bool] | None = None,
    ) -> FetchResult:
        """GET ``url``; a 304 comes back as a result with ``not_modified``, errors as
        FetchError. ``host_delay`` lengthens the pause since the host's last request (a
        robots.txt Crawl-delay). ``stop_at``: a redirect to a URL it accepts is not followed
        but returned (its URL, the redirect's status, no body): where a news search service's
        link leads, without fetching the outlet's page twice."""
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        trip = _Trip(url, dict(log_fields or {}))
        token = request_deadline.set(None)
        try:
            status, response_headers, body = self._follow(trip, headers, host_delay, stop_at)
            _refuse_error_status(trip.current, status, response_headers)
            return FetchResult(trip.current, status, response_headers, body, trip.network_ms())
        except FetchError as exc:
            trip.fields["error"] = exc.kind
            trip.fields["error_message"] = exc.message
            raise
        finally:
            request_deadline.reset(token)
            log(
                logger,
                "fetch",
                url=url,
                final_url=trip.current,
                status=trip.status,
                duration_ms=trip.network_ms(),
                wait_ms=int(trip.waited * 1000),
                bytes=trip.size,
                **trip.fields,
            )
            if self.on_fetch is not None:
                result = trip.fields.get("error") or (
                    "not_modified" if trip.status == 304 else "ok"
                )
                self.on_fetch(trip.fields.get("kind", "feed"), result)

    def _follow(
        self,
        trip: _Trip,
        headers: dict[str, str],
        host_delay: float | None,
        stop_at: Callable[[str], bool] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        """Request ``trip.current``, and each redirect's target in turn, until an answer that
        is not a redirect: its status, headers and body."""
        for _hop in range(self.settings.max_redirects + 1):
            self._check_target(trip.current)
            with self.gate.slot(trip.current, host_delay) as wait:
                trip.waited += wait
                if trip.deadline is None:
                    # The whole-request clock starts once the host is ours: waiting for the
                    # host's turn is politeness, not the server being slow.
                    trip.deadline = time.monotonic() + self.settings.total_timeout
                    request_deadline.set(trip.deadline)
                status, response_headers, body, location = self._one(
                    trip.current, headers, trip.deadline, trip.cookies
                )
            trip.status, trip.size = status, len(body)
            if location is None:
                return status, response_headers, body
            trip.current = urljoin(trip.current, location)
            if stop_at is not None and stop_at(trip.current):
                return status, response_headers, b""
        raise FetchError(
            "too_many_redirects", trip.url, f"more than {self.settings.max_redirects} redirects"
        )

    def _one(
        self, url: str, headers: dict[str, str], deadline: float, cookies: httpx.Cookies
    ) -> tuple[int, dict[str, str], bytes, str | None]:
        """One request, with the ``cookies`` this fetch's earlier hops set: status, headers,
        body (capped), and the redirect target if any."""
        headers = with_cookies(headers, cookies, url)
        try:
            with self.client.stream("GET", url, headers=headers) as response:
                response_headers = {k.lower(): v for k, v in response.headers.items()}
                if response.status_code in _REDIRECTS:
                    cookies.extract_cookies(response)
                    location = response.headers.get("location")
                    if not location:
                        raise FetchError(
                            "http_4xx",
                            url,
                            "redirect without a Location",
                            status=response.status_code,
                        )
                    return response.status_code, response_headers, b"", location
                body = self._body(url, response, deadline)
                return response.status_code, response_headers, body, None
        except (AddressRefused, Unresolvable, zlib.error, httpx.InvalidURL, httpx.HTTPError) as exc:
            raise _failure(url, exc, deadline, self.settings.total_timeout) from exc

    def _body(self, url: str, response: httpx.Response, deadline: float) -> bytes:
        """The body, inflated, refused past the size cap or the request's deadline."""
        cap = self.settings.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            raise FetchError(
                "too_large", url, f"Content-Length {declared} is over the {cap}-byte cap"
            )
        if response.is_stream_consumed:  # a Response built with content (a mock)
            pieces: Iterable[bytes] = [response.content]  # already decoded by httpx
        else:
            raw = response.iter_raw(_PIECE)
            pieces = _inflate(response.headers.get("content-encoding", ""), raw)
        chunks: list[bytes] = []
        received = 0
        for chunk in pieces:
            received += len(chunk)
            if received > cap:
                raise FetchError("too_large", url, f"body over the {cap}-byte cap")
            if time.monotonic() > deadline:
                raise FetchError(
                    "timeout", url, f"the whole request took over {self.settings.total_timeout:g}s"
                )
            chunks.append(chunk)
        return b"".join(chunks)


_REDIRECTS = frozenset({301, 302, 303, 307, 308})


@dataclass
class _Trip:
    """One ``Fetcher.get`` as it goes from hop to hop: what its log line reports."""

    url: str  # as asked
    fields: dict[str, Any]  # the caller's log fields, and the error if there is one
    current: str = ""  # the hop being requested (the final URL once done)
    status: int | None = None
    size: int = 0
    waited: float = 0.0  # seconds spent waiting for the host's turn
    deadline: float | None = None  # set when the first hop gets its turn
    started: float = field(default_factory=time.monotonic)
    cookies: httpx.Cookies = field(default_factory=httpx.Cookies)  # set by its redirects

    def __post_init__(self) -> None:
        self.current = self.current or self.url

    def network_ms(self) -> int:
        """Milliseconds since the start, less the waits for the host's turn."""
        return int((time.monotonic() - self.started - self.waited) * 1000)


def _refuse_error_status(url: str, status: int, headers: dict[str, str]) -> None:
    if status == 429 or status >= 400:
        kind = "http_429" if status == 429 else "http_4xx" if status < 500 else "http_5xx"
        raise FetchError(
            kind,
            url,
            f"HTTP {status}",
            status=status,
            retry_after=parse_retry_after(headers.get("retry-after"), headers.get("date")),
        )


def _failure(url: str, exc: Exception, deadline: float, total_timeout: float) -> FetchError:
    """The FetchError a library error during a request stands for."""
    if isinstance(exc, AddressRefused):
        return BlockedAddressError(url, str(exc))
    if isinstance(exc, Unresolvable):
        return FetchError("dns", url, str(exc))
    if isinstance(exc, httpx.DecodingError | zlib.error):
        return FetchError("connect", url, f"cannot decode the body: {exc}")
    if isinstance(exc, httpx.InvalidURL):
        return FetchError("bad_url", url, str(exc))
    if isinstance(exc, httpx.TimeoutException):
        if time.monotonic() >= deadline:
            return FetchError("timeout", url, f"the whole request took over {total_timeout:g}s")
        return FetchError("timeout", url, f"{type(exc).__name__}: {exc}")
    message = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return FetchError(_classify(exc), url, message)
