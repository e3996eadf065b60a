"""The guarded connection layer under ``monitor.fetch``: an httpx transport whose network
backend resolves each host once, refuses non-global addresses (unless allowed) and connects to
the very address it checked, with every socket operation bounded by the request's deadline.

httpx 0.28's HTTPTransport cannot take a network backend, so GuardedTransport builds its own
httpcore ConnectionPools (one an origin, with httpx's SSL context and limits) and converts
requests, responses and errors the way httpx does. TLS still verifies the certificate for the
hostname: httpcore passes ``server_hostname`` to ``start_tls`` separately from the address
connected to.
"""

from __future__ import annotations

import contextlib
import contextvars
import ipaddress
import itertools
import socket
import ssl
import threading
import time
from collections import Counter, OrderedDict
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpcore
import httpx

Resolver = Callable[[str, int], Iterable[str]]


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    # is_global is False for loopback, RFC 1918, link-local, CGNAT (100.64/10), ULA (fc00::/7),
    # documentation, benchmarking and reserved ranges.
    return ip.is_global and not ip.is_multicast


# The monotonic deadline of the request running in this thread (or context); every socket
# operation of the built-in transport waits at most until then, headers included.
request_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "monitor_fetch_deadline", default=None
)


def _time_left(timeout: float | None, timeout_class: type[Exception]) -> float | None:
    """``timeout`` shortened to what is left of the request's deadline; raise once it passed."""
    deadline = request_deadline.get()
    if deadline is None:
        return timeout
    left = deadline - time.monotonic()
    if left <= 0:
        raise timeout_class("the request deadline (total_timeout) has passed")
    return left if timeout is None else min(timeout, left)


class AddressRefused(Exception):
    """Raised by the network backend; Fetcher turns it into BlockedAddressError with the URL."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(
            f"{host} resolves to {address}, a private or local address "
            "(set fetch.allow_private_networks to allow it)"
        )


class Unresolvable(Exception):
    """Raised by the network backend; Fetcher turns it into FetchError(dns) with the URL."""

    def __init__(self, host: str, exc: OSError) -> None:
        super().__init__(f"cannot resolve {host}: {exc}")


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every read, write and TLS handshake ends by the deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _time_left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _time_left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        # server_hostname is the URL's host (httpcore passes it apart from the address we
        # connected to), so SNI and certificate checks are for the name, not the IP.
        try:
            timeout = _time_left(timeout, httpcore.ConnectTimeout)
        except httpcore.ConnectTimeout:
            self._inner.close()
            raise
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, timeout))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's socket backend, resolving with ``resolver`` and connecting only to the
    addresses it checked: a private one is refused (unless allowed) before any byte is sent."""

    def __init__(self, resolver: Resolver, *, allow_private_networks: bool) -> None:
        self.resolver = resolver
        self.allow_private_networks = allow_private_networks
        self._sockets = httpcore.SyncBackend()

    def resolve(self, host: str, port: int) -> list[str]:
        try:
            addresses = [str(ipaddress.ip_address(host))]
        except ValueError:
            try:
                addresses = list(self.resolver(host, port))
            except OSError as exc:
                raise Unresolvable(host, exc) from exc
        if not addresses:
            raise Unresolvable(host, OSError("no addresses"))
        if not self.allow_private_networks:
            for address in addresses:
                if not is_public_address(address):
                    raise AddressRefused(host, address)
        return addresses

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        error: Exception | None = None
        for address in self.resolve(host, port):
            try:
                # An IP literal: socket.create_connection does no DNS lookup for it.
                stream = self._sockets.connect_tcp(
                    address,
                    port,
                    _time_left(timeout, httpcore.ConnectTimeout),
                    local_address,
                    socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
                continue
            return _DeadlineStream(stream)
        assert error is not None
        raise error

    def sleep(self, seconds: float) -> None:
        self._sockets.sleep(seconds)


@contextlib.contextmanager
def _httpx_errors() -> Iterator[None]:
    """httpcore's exceptions as the httpx exceptions of the same name (as httpx itself does)."""
    try:
        yield
    except httpcore.UnsupportedProtocol as exc:
        raise httpx.UnsupportedProtocol(str(exc)) from exc
    except Exception as exc:
        if type(exc).__module__.split(".")[0] != "httpcore":
            raise
        for cls in type(exc).__mro__:
            mapped = getattr(httpx, cls.__name__, None)
            if isinstance(mapped, type) and issubclass(mapped, httpx.TransportError):
                raise mapped(str(exc)) from exc
        raise httpx.TransportError(str(exc)) from exc


class _CoreStream(httpx.SyncByteStream):
    def __init__(self, stream: Iterable[bytes], done: Callable[[], None]) -> None:
        self._stream = stream
        self._done: Callable[[], None] | None = done

    def __iter__(self) -> Iterator[bytes]:
        with _httpx_errors():
            yield from self._stream

    def close(self) -> None:
        try:
            close = getattr(self._stream, "close", None)
            if close is not None:
                with _httpx_errors():
                    close()
        finally:
            done, self._done = self._done, None
            if done is not None:
                done()


# An origin: scheme, host, port.
_Origin = tuple[bytes, bytes, int | None]
# The most recently used origins' pools kept open between requests (the one pool for every host
# that this replaces kept 20 idle connections).
POOLS_KEPT = 20


class GuardedTransport(httpx.BaseTransport):
    """An httpx transport over httpcore connection pools that use GuardedBackend.

    httpx.HTTPTransport takes no network backend, so this builds its pools the way it does
    (same SSL context and limits, no proxies: a proxy would connect for us, past the guard).

    One pool an origin, not one for every host: httpcore's pool walks every connection it holds
    at each request and at each response's end (and, for each idle one, a list of them all and
    a poll() of its socket). One pool for the hosts of a round held some ten connections, which
    cost the fetching threads 0.25 CPU ms a page (benchmarks/README.md); an origin's own pool
    holds its host's one or two. The ``POOLS_KEPT`` most recently used pools stay open between
    requests; an older one is closed once no response of it is being read.
    """

    def __init__(self, resolver: Resolver, *, allow_private_networks: bool) -> None:
        self._ssl_context = httpx.create_ssl_context()
        self._backend = GuardedBackend(resolver, allow_private_networks=allow_private_networks)
        self._lock = threading.Lock()
        self._pools: OrderedDict[_Origin, httpcore.ConnectionPool] = OrderedDict()
        self._reading: Counter[_Origin] = Counter()  # responses not closed yet, by origin

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.SyncByteStream)
        url = request.url
        origin = (url.raw_scheme, url.raw_host, url.port)
        pool = self._take(origin)
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=url.raw_scheme, host=url.raw_host, port=url.port, target=url.raw_path
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,
        )
        try:
            with _httpx_errors():
                response = pool.handle_request(core_request)
        except BaseException:
            self._give_back(origin)
            raise
        assert isinstance(response.stream, Iterable)
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_CoreStream(response.stream, lambda: self._give_back(origin)),
            extensions=response.extensions,
        )

    def _take(self, origin: _Origin) -> httpcore.ConnectionPool:
        """The origin's pool, counted as in use until ``_give_back``; pools past the kept ones,
        least recently used first, closed if none of their responses is being read."""
        with self._lock:
            pool = self._pools.get(origin)
            if pool is None:
                pool = self._pools[origin] = httpcore.ConnectionPool(
                    ssl_context=self._ssl_context,
                    max_connections=100,
                    max_keepalive_connections=20,
                    keepalive_expiry=5.0,
                    network_backend=self._backend,
                )
            self._pools.move_to_end(origin)
            self._reading[origin] += 1
            closing = []
            excess = len(self._pools) - POOLS_KEPT  # most requests: none, and no list made
            for old in list(itertools.islice(self._pools, excess)) if excess > 0 else ():
                if not self._reading[old]:
                    closing.append(self._pools.pop(old))
                    self._reading.pop(old, None)
        # Out of the table and unused: no other thread can be holding them.
        for unused in closing:
            with _httpx_errors():
                unused.close()
        return pool

    def _give_back(self, origin: _Origin) -> None:
        with self._lock:
            self._reading[origin] -= 1

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), OrderedDict()
        for pool in pools:
            with _httpx_errors():
                pool.close()
