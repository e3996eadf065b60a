"""monitor.fetch.Fetcher against real HTTP servers on 127.0.0.1 (and httpx.MockTransport for
hosts that must never be contacted). No test leaves the machine."""

from __future__ import annotations

import dataclasses
import gzip
import itertools
import shutil
import socket
import ssl
import struct
import subprocess
import threading
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from pathlib import Path

import httpx
import pytest

from monitor.config import FetchSettings
from monitor.errors import BlockedAddressError, FetchError
from monitor.fetch.client import Fetcher, is_public_address, parse_retry_after
from monitor.fetch.transport import POOLS_KEPT, GuardedTransport
from tests.httpserver import Handler, Reply, Site, send

CAP = 100_000
SETTINGS = FetchSettings(
    allow_private_networks=True,
    user_agent="news-monitor-tests/1.0 (+https://tests.invalid/contact)",
    connect_timeout=2.0,
    read_timeout=1.0,
    total_timeout=3.0,
    max_bytes=CAP,
    max_redirects=5,
    per_host_delay=0.0,
)
GUARDED = dataclasses.replace(SETTINGS, allow_private_networks=False)
PUBLIC_IP = "93.184.216.34"


# --- fixtures and a raw TCP server for byte-level faults --------------------------------------


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    with Fetcher(SETTINGS) as f:
        yield f


@contextmanager
def raw_server(handle: Callable[[socket.socket, threading.Event], None]) -> Iterator[RawServer]:
    """A TCP server on 127.0.0.1 handing each accepted socket to ``handle`` (byte-level control)."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.05)
    state = RawServer(listener.getsockname()[1])
    workers: list[threading.Thread] = []

    def serve(conn: socket.socket) -> None:
        with conn, suppress(OSError):
            handle(conn, state.stop)

    def accept_loop() -> None:
        while not state.stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            state.accepted += 1
            worker = threading.Thread(target=serve, args=(conn,), daemon=True)
            workers.append(worker)
            worker.start()

    acceptor = threading.Thread(target=accept_loop, daemon=True)
    acceptor.start()
    try:
        yield state
    finally:
        state.stop.set()
        acceptor.join(5)
        listener.close()
        for worker in workers:
            worker.join(5)


@dataclass
class RawServer:
    port: int
    accepted: int = 0
    stop: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


def read_request(conn: socket.socket) -> bytes:
    conn.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


# --- a plain 200 ----------------------------------------------------------------------------


def test_200_returns_body_final_url_status_and_lowercased_headers(
    http_server: Site, fetcher: Fetcher
) -> None:
    """A 200 comes back with its body, final URL, status and lower-cased header names."""
    body = b"<rss version='2.0'><channel><title>t</title></channel></rss>"
    headers = {"Content-Type": "application/rss+xml", "X-Custom-Header": "Yes"}
    http_server.routes["/feed.xml"] = Reply(200, body, headers)

    result = fetcher.get(http_server.url("/feed.xml"))
    assert result.status == 200
    assert result.body == body
    assert result.url == http_server.url("/feed.xml")
    assert not result.not_modified
    assert result.headers["content-type"] == "application/rss+xml"
    assert result.headers["x-custom-header"] == "Yes"
    assert all(name == name.lower() for name in result.headers)


def test_request_carries_configured_user_agent_and_accept(
    http_server: Site, fetcher: Fetcher
) -> None:
    """Every request sends the configured User-Agent and the caller's Accept header."""
    http_server.routes["/ua"] = Reply(200, b"ok")
    fetcher.get(http_server.url("/ua"), accept="application/rss+xml")
    assert len(http_server.requests) == 1
    assert http_server.requests[0].headers["user-agent"] == SETTINGS.user_agent
    assert http_server.requests[0].headers["accept"] == "application/rss+xml"
    assert "if-none-match" not in http_server.requests[0].headers
    assert "if-modified-since" not in http_server.requests[0].headers


# --- conditional GET --------------------------------------------------------------------------


def test_conditional_get_sends_validators_and_304_is_not_modified(
    http_server: Site, fetcher: Fetcher
) -> None:
    """ETag and Last-Modified go out as If-None-Match / If-Modified-Since; a 304 is not_modified."""
    etag = '"v42"'
    last_modified = "Wed, 21 Oct 2015 07:28:00 GMT"

    @http_server.route("/cond")
    def _(h: Handler) -> None:
        if h.headers.get("If-None-Match") == etag:
            send(h, Reply(304, headers={"ETag": etag}))
        else:
            send(h, Reply(200, b"fresh", {"ETag": etag}))

    result = fetcher.get(http_server.url("/cond"), etag=etag, last_modified=last_modified)
    assert result.status == 304
    assert result.not_modified
    assert result.body == b""
    seen = http_server.requests[-1].headers
    assert seen["if-none-match"] == etag
    assert seen["if-modified-since"] == last_modified

    fresh = fetcher.get(http_server.url("/cond"))
    assert fresh.status == 200 and not fresh.not_modified and fresh.body == b"fresh"


# --- size cap -----------------------------------------------------------------------------------


def test_body_over_cap_with_content_length_is_too_large(
    http_server: Site, fetcher: Fetcher
) -> None:
    """A declared Content-Length over max_bytes raises too_large."""
    http_server.routes["/big"] = Reply(200, b"x" * (CAP + 1))
    with pytest.raises(FetchError) as info:
        fetcher.get(http_server.url("/big"))
    assert info.value.kind == "too_large"


def _stream_without_length(h: Handler, total: int, *, chunked: bool) -> None:
    h.send_response_only(200)
    h.send_header("Content-Type", "application/xml")
    if chunked:
        h.send_header("Transfer-Encoding", "chunked")
    else:
        h.send_header("Connection", "close")
        h.close_connection = True
    h.end_headers()
    sent = 0
    while sent < total:
        piece = b"y" * min(16_384, total - sent)
        sent += len(piece)
        if chunked:
            h.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
        else:
            h.wfile.write(piece)
    if chunked:
        h.wfile.write(b"0\r\n\r\n")


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "connection-close"])
def test_streamed_body_over_cap_without_content_length_is_too_large(
    http_server: Site, fetcher: Fetcher, chunked: bool
) -> None:
    """A body with no Content-Length is cut off once it streams past max_bytes."""
    http_server.routes["/stream"] = lambda h: _stream_without_length(h, 3 * CAP, chunked=chunked)
    with pytest.raises(FetchError) as info:
        fetcher.get(http_server.url("/stream"))
    assert info.value.kind == "too_large"


@pytest.mark.parametrize("chunked", [True, False], ids=["chunked", "connection-close"])
def test_streamed_body_exactly_at_cap_is_accepted(http_server: Site, chunked: bool) -> None:
    """A body of exactly max_bytes is accepted; one byte more is too_large."""
    http_server.routes["/exact"] = lambda h: _stream_without_length(h, CAP, chunked=chunked)
    http_server.routes["/over"] = lambda h: _stream_without_length(h, CAP + 1, chunked=chunked)
    with Fetcher(SETTINGS) as fetcher:
        assert len(fetcher.get(http_server.url("/exact")).body) == CAP
    with Fetcher(SETTINGS) as fetcher, pytest.raises(FetchError) as info:
        fetcher.get(http_server.url("/over"))
    assert info.value.kind == "too_large"


def test_gzip_bomb_is_too_large_after_decompression(http_server: Site, fetcher: Fetcher) -> None:
    """A small gzip body that inflates past max_bytes raises too_large; a small one inflates."""
    bomb = gzip.compress(b"\0" * (50 * CAP))
    assert len(bomb) < CAP // 10  # small on the wire: only decompression can trip the cap
    small = gzip.compress(b"<rss/>" * 100)
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/xml"}
    http_server.routes["/bomb"] = Reply(200, bomb, headers)
    http_server.routes["/small"] = Reply(200, small, headers)

    assert fetcher.get(http_server.url("/small")).body == b"<rss/>" * 100
    with pytest.raises(FetchError) as info:
        fetcher.get(http_server.url("/bomb"))
    assert info.value.kind == "too_large"


def _gzip_of_zeros(size: int) -> bytes:
    """A valid gzip of ``size`` zero bytes, built fast from one repeated full-flush block."""
    megabyte = bytes(1 << 20)
    assert size % len(megabyte) == 0
    deflate = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    block = deflate.compress(megabyte) + deflate.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(size // len(megabyte)):
        crc = zlib.crc32(megabyte, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = struct.pack("<II", crc, size & 0xFFFFFFFF)
    return header + block * (size // len(megabyte)) + deflate.flush() + trailer


def test_gzip_bomb_of_1_gib_stops_at_cap_with_bounded_memory(http_server: Site) -> None:
    """A 1 GiB gzip bomb is too_large and the fetch never holds more than 4 x max_bytes."""
    cap = 2_000_000
    bomb = _gzip_of_zeros(1 << 30)
    assert len(bomb) < cap  # ~1 MB on the wire: under the cap until inflated
    headers = {"Content-Encoding": "gzip", "Content-Type": "application/xml"}
    http_server.routes["/bomb"] = Reply(200, bomb, headers)
    with Fetcher(dataclasses.replace(SETTINGS, max_bytes=cap)) as fetcher:
        tracemalloc.start()
        try:
            with pytest.raises(FetchError) as info:
                fetcher.get(http_server.url("/bomb"))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert info.value.kind == "too_large"
    assert peak < 4 * cap


@pytest.mark.parametrize(
    ("encoding", "compress"),
    [
        ("gzip", gzip.compress),
        ("deflate", zlib.compress),
        ("deflate", lambda data: zlib.compress(data, wbits=-zlib.MAX_WBITS)),
        ("identity", lambda data: data),
    ],
    ids=["gzip", "deflate-zlib", "deflate-raw", "identity"],
)
def test_encoded_body_is_decoded_and_only_supported_codings_are_offered(
    http_server: Site, fetcher: Fetcher, encoding: str, compress: Callable[[bytes], bytes]
) -> None:
    """gzip, zlib or raw deflate and identity bodies decode; Accept-Encoding is gzip, deflate."""
    body = b"<rss><channel><title>t</title></channel></rss>" * 500
    headers = {"Content-Encoding": encoding}
    http_server.routes["/enc"] = Reply(200, compress(body), headers)
    assert fetcher.get(http_server.url("/enc")).body == body
    assert http_server.requests[0].headers["accept-encoding"] == "gzip, deflate"


def test_corrupt_gzip_body_is_fetch_error_connect(http_server: Site, fetcher: Fetcher) -> None:
    """A body labelled gzip that is not gzip raises FetchError(connect), nothing else."""
    http_server.routes["/bad"] = Reply(200, b"not gzip at all", {"Content-Encoding": "gzip"})
    with pytest.raises(FetchError) as info:
        fetcher.get(http_server.url("/bad"))
    assert type(info.value) is FetchError
    assert info.value.kind == "connect"


# --- redirects --------------------------------------------------------------------------------


def _redirect(location: str, status: int = 302) -> Reply:
    return Reply(status, b"", {"Location": location})


def test_redirect_chain_of_three_is_followed_to_final_url(
    http_server: Site, fetcher: Fetcher
) -> None:
    """Three redirects (absolute and relative Locations, 301/302/307) end at the final URL."""
    http_server.routes["/r1"] = _redirect(http_server.url("/r2"), 301)
    http_server.routes["/r2"] = _redirect("/r3", 302)
    http_server.routes["/r3"] = _redirect("final.xml", 307)
    http_server.routes["/final.xml"] = Reply(200, b"the end")

    result = fetcher.get(http_server.url("/r1"))
    assert result.url == http_server.url("/final.xml")
    assert result.status == 200
    assert result.body == b"the end"
    assert [r.path for r in http_server.requests] == ["/r1", "/r2", "/r3", "/final.xml"]


def test_redirect_count_limit_is_exact(http_server: Site) -> None:
    """max_redirects redirects are followed; one more raises too_many_redirects."""
    for i in range(4):
        http_server.routes[f"/hop{i}"] = _redirect(f"/hop{i + 1}")
    http_server.routes["/hop4"] = Reply(200, b"done")
    with Fetcher(dataclasses.replace(SETTINGS, max_redirects=4)) as fetcher:
        assert fetcher.get(http_server.url("/hop0")).url == http_server.url("/hop4")
    with (
        Fetcher(dataclasses.replace(SETTINGS, max_redirects=3)) as fetcher,
        pytest.raises(FetchError) as info,
    ):
        fetcher.get(http_server.url("/hop0"))
    assert info.value.kind == "too_many_redirects"


def test_redirect_loop_raises_too_many_redirects(http_server: Site, fetcher: Fetcher) -> None:
    """A redirect loop stops after max_redirects hops with too_many_redirects."""
    http_server.routes["/a"] = _redirect("/b")
    http_server.routes["/b"] = _redirect("/a")
    with pytest.raises(FetchError) as info:
        fetcher.get(http_server.url("/a"))
    assert info.value.kind == "too_many_redirects"
    assert len(http_server.requests) == SETTINGS.max_redirects + 1


@pytest.mark.parametrize(
    "location", ["file:///etc/passwd", "ftp://127.0.0.1/feed.xml", "gopher://127.0.0.1:70/1"]
)
def test_redirect_to_non_http_scheme_is_bad_url(
    http_server: Site, fetcher: Fetcher, location: str
) -> None:
    """A redirect to a non-http(s) scheme raises bad_url."""
    http_server.routes["/go"] = _redirect(location)
    with pytest.raises(FetchError) as info:
        fetcher.get(http_server.url("/go"))
    assert info.value.kind == "bad_url"
    assert info.value.url == location


def test_redirect_without_location_is_an_error(http_server: Site, fetcher: Fetcher) -> None:
    """A 302 with no Location header raises a FetchError carrying the status."""
    http_server.routes["/nowhere"] = Reply(302, b"")
    with pytest.raises(FetchError) as info:
        fetcher.get(http_server.url("/nowhere"))
    assert info.value.status == 302


# --- private-address guard ---------------------------------------------------------------------


class Recorder:
    """An httpx.MockTransport handler and a resolver that both record what they are asked."""

    def __init__(self, dns: dict[str, list[str]] | None = None) -> None:
        self.dns = dns or {}
        self.requests: list[str] = []
        self.lookups: list[str] = []

    def resolve(self, host: str, port: int) -> list[str]:
        self.lookups.append(host)
        if host not in self.dns:
            raise socket.gaierror(socket.EAI_NONAME, f"{host}: unknown in the test")
        return self.dns[host]

    def transport(self, respond: Callable[[httpx.Request], httpx.Response]) -> httpx.MockTransport:
        def handler(request: httpx.Request) -> httpx.Response:
            self.requests.append(str(request.url))
            return respond(request)

        return httpx.MockTransport(handler)


def test_guard_blocks_loopback_before_contacting_it(http_server: Site) -> None:
    """With private networks disallowed, a URL to 127.0.0.1 is blocked, the server never hit."""
    http_server.routes["/feed.xml"] = Reply(200, b"secret")
    with Fetcher(GUARDED) as fetcher, pytest.raises(BlockedAddressError) as info:
        fetcher.get(http_server.url("/feed.xml"))
    assert info.value.kind == "blocked"
    assert http_server.requests == []
    # The same URL is reachable once private networks are allowed: the guard made the difference.
    with Fetcher(SETTINGS) as fetcher:
        assert fetcher.get(http_server.url("/feed.xml")).body == b"secret"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/feed.xml",
        "http://10.0.0.1/feed.xml",
        "http://[::1]:8080/feed.xml",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/feed.xml",
        "http://[::ffff:127.0.0.1]/feed.xml",
        "https://192.168.1.1/feed.xml",
        "http://[fd00::1]/feed.xml",
        "http://0.0.0.0/feed.xml",
    ],
)
def test_guard_blocks_private_ip_literals_without_any_connection(url: str) -> None:
    """Private, loopback, link-local, CGNAT and v4-mapped IP literals are refused before any I/O."""
    rec = Recorder()
    transport = rec.transport(lambda request: httpx.Response(200, text="reached"))
    with (
        Fetcher(GUARDED, transport=transport, resolver=rec.resolve) as fetcher,
        pytest.raises(BlockedAddressError) as info,
    ):
        fetcher.get(url)
    assert info.value.kind == "blocked"
    assert rec.requests == []  # never contacted
    assert rec.lookups == []  # an IP literal needs no DNS


def test_guard_allows_public_host_via_resolver() -> None:
    """A hostname the resolver maps to a public address is fetched (the guard is not a blanket)."""
    rec = Recorder({"public.test": [PUBLIC_IP]})
    transport = rec.transport(lambda request: httpx.Response(200, text="hello"))
    with Fetcher(GUARDED, transport=transport, resolver=rec.resolve) as fetcher:
        result = fetcher.get("http://public.test/feed.xml")
    assert result.body == b"hello"
    assert rec.lookups == ["public.test"]
    assert rec.requests == ["http://public.test/feed.xml"]


def test_guard_blocks_redirect_from_public_host_to_loopback() -> None:
    """A redirect hop from an allowed host to 127.0.0.1 raises BlockedAddressError, unfetched."""
    rec = Recorder({"public.test": [PUBLIC_IP]})

    def respond(request: httpx.Request) -> httpx.Response:
        if request.url.host == "public.test":
            return httpx.Response(302, headers={"Location": "http://127.0.0.1/admin"})
        return httpx.Response(200, text="internal")

    with (
        Fetcher(GUARDED, transport=rec.transport(respond), resolver=rec.resolve) as fetcher,
        pytest.raises(BlockedAddressError) as info,
    ):
        fetcher.get("http://public.test/feed.xml")
    assert info.value.kind == "blocked"
    assert info.value.url == "http://127.0.0.1/admin"
    assert rec.requests == ["http://public.test/feed.xml"]


@pytest.mark.parametrize(
    "addresses",
    [["10.1.2.3"], [PUBLIC_IP, "127.0.0.1"], ["fe80::1%eth0"], ["::ffff:192.168.0.1"]],
    ids=["private", "one-of-several", "link-local-v6", "v4-mapped"],
)
def test_guard_blocks_hostname_resolving_to_private_address(addresses: list[str]) -> None:
    """A hostname with any private address among its DNS answers is refused, not contacted."""
    rec = Recorder({"intranet.test": addresses})
    transport = rec.transport(lambda request: httpx.Response(200, text="internal"))
    with (
        Fetcher(GUARDED, transport=transport, resolver=rec.resolve) as fetcher,
        pytest.raises(BlockedAddressError),
    ):
        fetcher.get("http://intranet.test/feed.xml")
    assert rec.lookups == ["intranet.test"]
    assert rec.requests == []


def test_guard_unresolvable_host_is_dns_error() -> None:
    """A hostname the resolver cannot resolve raises kind dns without a request."""
    rec = Recorder({})
    transport = rec.transport(lambda request: httpx.Response(200))
    with (
        Fetcher(GUARDED, transport=transport, resolver=rec.resolve) as fetcher,
        pytest.raises(FetchError) as info,
    ):
        fetcher.get("http://nowhere.test/feed.xml")
    assert info.value.kind == "dns"
    assert rec.requests == []


def test_guard_is_not_bypassed_by_dns_rebinding(
    http_server: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A name is resolved once per connection and the socket goes to that checked address, so
    a name answering public then 127.0.0.1 never reaches the loopback http_server."""
    http_server.routes["/admin"] = Reply(200, b"internal")
    real_getaddrinfo = socket.getaddrinfo
    real_create_connection = socket.create_connection
    answers = iter([PUBLIC_IP])
    lookups: list[str] = []
    connections: list[tuple[str, int]] = []

    def rebinding_getaddrinfo(host, port, *args, **kwargs):  # type: ignore[no-untyped-def]
        if host == "rebind.test":
            ip = next(answers, "127.0.0.1")  # first answer public, then loopback
            lookups.append(ip)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, int(port)))]
        if host == "127.0.0.1":
            return real_getaddrinfo(host, port, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, "tests never leave 127.0.0.1")

    def local_create_connection(address, *args, **kwargs):  # type: ignore[no-untyped-def]
        connections.append(address)
        if address[0] != "127.0.0.1":  # a public address: refuse here, never leave the machine
            raise ConnectionRefusedError(f"test: no connection to {address[0]}")
        return real_create_connection(address, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding_getaddrinfo)
    monkeypatch.setattr(socket, "create_connection", local_create_connection)
    port = http_server.port
    with Fetcher(GUARDED) as fetcher:  # the default (system) resolver
        with pytest.raises(FetchError) as first:
            fetcher.get(f"http://rebind.test:{port}/admin")
        with pytest.raises(BlockedAddressError) as second:
            fetcher.get(f"http://rebind.test:{port}/admin")
    assert first.value.kind == "connect"  # it went to the public address it checked, only
    assert connections == [(PUBLIC_IP, port)]
    assert "rebind.test" in second.value.message and "127.0.0.1" in second.value.message
    assert lookups == [PUBLIC_IP, "127.0.0.1"]  # one lookup per connection, none after the check
    assert http_server.requests == []


def test_guard_at_connect_refuses_private_address_before_connecting() -> None:
    """With the built-in transport a name resolving to 127.0.0.1 is refused with kind blocked,
    naming host and address, and the server never sees a connection."""
    rec = Recorder({"intranet.test": ["127.0.0.1"]})
    with (
        raw_server(lambda conn, stop: None) as srv,
        Fetcher(GUARDED, resolver=rec.resolve) as fetcher,
        pytest.raises(BlockedAddressError) as info,
    ):
        fetcher.get(f"http://intranet.test:{srv.port}/feed.xml")
    assert info.value.kind == "blocked"
    assert info.value.url == f"http://intranet.test:{srv.port}/feed.xml"
    assert "intranet.test" in info.value.message and "127.0.0.1" in info.value.message
    assert rec.lookups == ["intranet.test"]
    assert srv.accepted == 0


def test_built_in_transport_unresolvable_host_is_dns_error() -> None:
    """With the built-in transport a name the resolver cannot resolve raises kind dns."""
    rec = Recorder({})
    with Fetcher(GUARDED, resolver=rec.resolve) as fetcher, pytest.raises(FetchError) as info:
        fetcher.get("http://nowhere.test/feed.xml")
    assert info.value.kind == "dns"
    assert "nowhere.test" in info.value.message
    assert rec.lookups == ["nowhere.test"]


def test_connection_goes_to_resolved_address_with_hostname_in_host_header(
    http_server: Site,
) -> None:
    """The socket connects to the address the injected resolver gave; Host keeps the name."""
    http_server.routes["/feed.xml"] = Reply(200, b"via resolver")
    port = http_server.port
    rec = Recorder({"feeds.test": ["127.0.0.1"]})
    with Fetcher(SETTINGS, resolver=rec.resolve) as fetcher:
        result = fetcher.get(f"http://feeds.test:{port}/feed.xml")
    assert result.body == b"via resolver"
    assert rec.lookups == ["feeds.test"]
    assert http_server.requests[0].headers["host"] == f"feeds.test:{port}"


def test_tls_sends_hostname_as_sni_and_verifies_certificate(tmp_path: Path) -> None:
    """Over TLS to a checked IP, SNI is the hostname and an untrusted certificate is kind tls."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a throwaway certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=feeds.test", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    names: list[str | None] = []
    context.sni_callback = lambda sock, name, ctx: names.append(name)  # type: ignore[assignment,func-returns-value]

    def handshake(conn: socket.socket, stop: threading.Event) -> None:
        conn.settimeout(5)
        with suppress(ssl.SSLError, OSError), context.wrap_socket(conn, server_side=True):
            pass

    rec = Recorder({"feeds.test": ["127.0.0.1"]})
    with (
        raw_server(handshake) as srv,
        Fetcher(SETTINGS, resolver=rec.resolve) as fetcher,
        pytest.raises(FetchError) as info,
    ):
        fetcher.get(f"https://feeds.test:{srv.port}/feed.xml")
    assert info.value.kind == "tls"
    assert names == ["feeds.test"]


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("8.8.8.8", True),
        ("2606:4700:4700::1111", True),
        ("::ffff:8.8.8.8", True),
        ("127.0.0.1", False),
        ("127.255.255.254", False),
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("100.127.255.254", False),
        ("0.0.0.0", False),
        ("224.0.0.251", False),
        ("192.0.2.1", False),
        ("::1", False),
        ("::", False),
        ("fe80::1%eth0", False),
        ("fc00::1", False),
        ("fd12:3456::1", False),
        ("ff02::1", False),
        ("ff0e::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("2001:db8::1", False),
    ],
)
def test_is_public_address(address: str, public: bool) -> None:
    """is_public_address is True only for global unicast addresses (v4-mapped unwrapped)."""
    assert is_public_address(address) is public


# --- timeouts ---------------------------------------------------------------------------------


def test_server_that_never_sends_headers_times_out_after_read_timeout() -> None:
    """A server that accepts and then stays silent raises timeout after about read_timeout."""

    def silent(conn: socket.socket, stop: threading.Event) -> None:
        read_request(conn)
        stop.wait(10)

    settings = dataclasses.replace(SETTINGS, read_timeout=0.3)
    with raw_server(silent) as srv, Fetcher(settings) as fetcher:
        started = time.monotonic()
        with pytest.raises(FetchError) as info:
            fetcher.get(srv.url("/feed.xml"))
        elapsed = time.monotonic() - started
    assert info.value.kind == "timeout"
    assert srv.accepted == 1
    assert 0.25 <= elapsed < 1.5


def _drip(h: Handler, interval: float) -> None:
    h.send_response_only(200)
    h.send_header("Content-Length", "1000")
    h.end_headers()
    for _ in range(1000):
        h.wfile.write(b"z")
        if h.stop.wait(interval):
            return


def test_body_dripping_past_total_timeout_times_out(http_server: Site) -> None:
    """A body sent one byte every 0.2 s (each read on time) is cut off at total_timeout."""
    http_server.routes["/drip"] = lambda h: _drip(h, 0.2)
    settings = dataclasses.replace(SETTINGS, read_timeout=0.5, total_timeout=0.8)
    with Fetcher(settings) as fetcher:
        started = time.monotonic()
        with pytest.raises(FetchError) as info:
            fetcher.get(http_server.url("/drip"))
        elapsed = time.monotonic() - started
    assert info.value.kind == "timeout"
    assert 0.75 <= elapsed < 1.6


def test_headers_dripping_past_total_timeout_time_out() -> None:
    """Response headers dripped one byte every 0.1 s are cut off at total_timeout (0.5 s)."""

    def drip_headers(conn: socket.socket, stop: threading.Event) -> None:
        read_request(conn)
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Slow")
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline and not stop.is_set():
            conn.sendall(b"a")  # one more byte of the header name, well within read_timeout
            stop.wait(0.1)
        conn.sendall(b": b\r\n\r\nok")

    settings = dataclasses.replace(SETTINGS, read_timeout=0.3, total_timeout=0.5)
    with raw_server(drip_headers) as srv, Fetcher(settings) as fetcher:
        started = time.monotonic()
        with pytest.raises(FetchError) as info:
            fetcher.get(srv.url("/feed.xml"))
        elapsed = time.monotonic() - started
    assert info.value.kind == "timeout"
    assert elapsed < 1.2


# --- HTTP errors ------------------------------------------------------------------------------


def test_404_is_http_4xx_with_status(http_server: Site, fetcher: Fetcher) -> None:
    """A 404 raises http_4xx carrying status 404 and no retry_after."""
    with pytest.raises(FetchError) as info:
        fetcher.get(http_server.url("/missing"))
    assert info.value.kind == "http_4xx"
    assert info.value.status == 404
    assert info.value.retry_after is None


def test_503_with_retry_after_seconds_is_http_5xx(http_server: Site, fetcher: Fetcher) -> None:
    """A 503 with Retry-After: 120 raises http_5xx with retry_after 120."""
    http_server.routes["/busy"] = Reply(503, b"busy", {"Retry-After": "120"})
    with pytest.raises(FetchError) as info:
        fetcher.get(http_server.url("/busy"))
    assert info.value.kind == "http_5xx"
    assert info.value.status == 503
    assert info.value.retry_after == 120.0


def test_429_with_retry_after_http_date_is_relative_to_date_header(
    http_server: Site, fetcher: Fetcher
) -> None:
    """A 429 whose Retry-After is an HTTP date 90 s after its Date header gives retry_after 90."""
    # A server clock far in the past: only the Date header can make the answer 90.
    sent = 1_445_412_480.0  # Wed, 21 Oct 2015 07:28:00 GMT
    headers = {
        "Date": formatdate(sent, usegmt=True),
        "Retry-After": formatdate(sent + 90, usegmt=True),
    }
    http_server.routes["/slow-down"] = Reply(429, b"", headers)
    with pytest.raises(FetchError) as info:
        fetcher.get(http_server.url("/slow-down"))
    assert info.value.kind == "http_429"
    assert info.value.status == 429
    assert info.value.retry_after == pytest.approx(90, abs=1)


# --- broken connections -----------------------------------------------------------------------


def _partial_headers_then_close(conn: socket.socket, stop: threading.Event) -> None:
    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Len")
    conn.shutdown(socket.SHUT_WR)


def _partial_headers_then_reset(conn: socket.socket, stop: threading.Event) -> None:
    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Len")
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST on close


def _partial_body_then_close(conn: socket.socket, stop: threading.Event) -> None:
    read_request(conn)
    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n<rss>")


@pytest.mark.parametrize(
    "handle",
    [_partial_headers_then_close, _partial_headers_then_reset, _partial_body_then_close],
    ids=["headers-fin", "headers-rst", "body-fin"],
)
def test_connection_dropped_mid_response_is_fetch_error_connect(
    handle: Callable[[socket.socket, threading.Event], None],
) -> None:
    """A connection closed or reset mid-response raises FetchError(connect), nothing else."""
    with (
        raw_server(handle) as srv,
        Fetcher(SETTINGS) as fetcher,
        pytest.raises(FetchError) as info,
    ):
        fetcher.get(srv.url("/feed.xml"))
    assert type(info.value) is FetchError
    assert info.value.kind == "connect"
    assert srv.accepted == 1


def test_connection_refused_is_fetch_error_connect() -> None:
    """A port with nothing listening raises FetchError(connect)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, never listening: connections are refused
        with Fetcher(SETTINGS) as fetcher, pytest.raises(FetchError) as info:
            fetcher.get(f"http://127.0.0.1:{port}/feed.xml")
    assert info.value.kind == "connect"


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/feed", "file:///etc/passwd", "http:///nohost"])
def test_non_http_url_is_bad_url(fetcher: Fetcher, url: str) -> None:
    """A URL that is not http(s) with a host raises bad_url."""
    with pytest.raises(FetchError) as info:
        fetcher.get(url)
    assert info.value.kind == "bad_url"


# --- parse_retry_after --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"), [("120", 120.0), (" 7 ", 7.0), ("0", 0.0), ("86400", 86400.0)]
)
def test_parse_retry_after_seconds(value: str, expected: float) -> None:
    """Delta-seconds Retry-After values are read as seconds."""
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date_against_date_header() -> None:
    """An HTTP-date Retry-After is measured from the Date header; a past one gives 0."""
    date = "Wed, 21 Oct 2015 07:28:00 GMT"
    assert parse_retry_after("Wed, 21 Oct 2015 07:29:30 GMT", date) == pytest.approx(90)
    assert parse_retry_after("Wed, 21 Oct 2015 08:28:00 GMT", date) == pytest.approx(3600)
    assert parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", date) == 0.0


def test_parse_retry_after_http_date_is_measured_from_the_callers_now() -> None:
    """Without a (usable) Date header an HTTP-date Retry-After is kept as the time it names and
    measured from the caller's ``now`` (a replay's clock), never from the machine's clock."""
    now = datetime(2015, 10, 21, 7, 20, tzinfo=UTC)
    later = formatdate(now.timestamp() + 600, usegmt=True)
    error = FetchError(
        "http_429", "https://a.test/", "HTTP 429", retry_after=parse_retry_after(later)
    )
    assert error.retry_delay(now) == pytest.approx(600)
    error = FetchError(
        "http_429",
        "https://a.test/",
        "HTTP 429",
        retry_after=parse_retry_after(later, "not a date"),
    )
    assert error.retry_delay(now) == pytest.approx(600)
    assert error.retry_delay(now + timedelta(hours=1)) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "-5", "1.5", "1e3", "Mon, 99 Foo 2020"])
def test_parse_retry_after_garbage_is_none(value: str | None) -> None:
    """Missing or unreadable Retry-After values give None."""
    assert parse_retry_after(value) is None


# --- per-host politeness --------------------------------------------------------------------


def test_one_request_at_a_time_per_host_with_the_minimum_delay_between_starts(
    http_server: Site,
) -> None:
    """Six threads fetching from one host: the server never sees two requests at once, and
    the starts are at least per_host_delay apart."""
    active, most, starts = [0], [0], []
    lock = threading.Lock()

    @http_server.route("/slow")
    def _(h: Handler) -> None:
        with lock:
            active[0] += 1
            most[0] = max(most[0], active[0])
            starts.append(time.monotonic())
        time.sleep(0.05)
        with lock:
            active[0] -= 1
        send(h, Reply(200, b"ok"))

    delay = 0.2
    with Fetcher(dataclasses.replace(SETTINGS, per_host_delay=delay)) as polite:
        threads = [
            threading.Thread(target=polite.get, args=(http_server.url("/slow"),)) for _ in range(6)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
    assert len(starts) == 6
    assert most[0] == 1
    gaps = [b - a for a, b in itertools.pairwise(sorted(starts))]
    # Measured where the server's threads get to run: on a loaded 2-core machine one arrival can
    # be late by tens of ms, shortening the next gap. Without the gate the gaps are ~0.05 s.
    assert min(gaps) >= delay * 0.75


def test_a_busy_host_does_not_hold_up_another_host(http_server: Site) -> None:
    """A request to 127.0.0.1 that only answers once a request to localhost (another host on
    the same server) has arrived completes: the second host was not made to wait."""
    other_arrived = threading.Event()

    @http_server.route("/waits")
    def _(h: Handler) -> None:
        send(h, Reply(200 if other_arrived.wait(5) else 504, b"done"))

    @http_server.route("/other")
    def _(h: Handler) -> None:
        other_arrived.set()
        send(h, Reply(200, b"other"))

    port = http_server.port
    results: dict[str, int] = {}
    with Fetcher(dataclasses.replace(SETTINGS, per_host_delay=5.0)) as polite:
        first = threading.Thread(
            target=lambda: results.setdefault("waits", polite.get(http_server.url("/waits")).status)
        )
        first.start()
        results["other"] = polite.get(f"http://localhost:{port}/other").status
        first.join(10)
    assert results == {"waits": 200, "other": 200}


def test_one_pool_an_origin_and_a_response_being_read_outlives_its_pool_falling_out(
    http_server: Site,
) -> None:
    """The transport keeps one connection pool an origin, the POOLS_KEPT most recently used;
    a response still being read when its pool falls out of those is read to its end, and its
    pool is closed at the next request after."""
    big = bytes(range(256)) * 8192  # 2 MiB: the socket's buffers cannot hold it whole
    http_server.routes["/big"] = Reply(200, big)
    http_server.routes["/small"] = Reply(200, b"small")
    hosts = [f"h{i}.test" for i in range(POOLS_KEPT + 10)]
    resolve = Recorder({h: ["127.0.0.1"] for h in ["slow.test", *hosts]}).resolve
    transport = GuardedTransport(resolve, allow_private_networks=True)
    with httpx.Client(transport=transport) as client:
        with client.stream("GET", f"http://slow.test:{http_server.port}/big") as slow:
            pieces = slow.iter_raw(65_536)
            first = next(pieces)
            for host in hosts:  # slow.test's pool is now the oldest, past the kept ones
                assert client.get(f"http://{host}:{http_server.port}/small").content == b"small"
            assert first + b"".join(pieces) == big
        assert client.get(f"http://{hosts[-1]}:{http_server.port}/small").content == b"small"
        kept = [host for _, host, _ in transport._pools]
        assert len(kept) == POOLS_KEPT and b"slow.test" not in kept


def test_cookies_set_by_a_fetchs_redirects_go_with_its_later_hops_and_no_other_fetch(
    http_server: Site, fetcher: Fetcher
) -> None:
    """A page that sets a cookie and redirects to check it is read (the cookie goes with the
    fetch's next hop); the next fetch, of that page or of a page answering with a cookie,
    starts with none: no cookie is carried from one fetch to another."""

    @http_server.route("/article")
    def _(h: Handler) -> None:
        if "seen=1" in h.headers.get("Cookie", ""):
            send(h, Reply(200, b"the article", {"Set-Cookie": "meter=1; Path=/"}))
        else:
            send(h, Reply(302, headers={"Set-Cookie": "seen=1; Path=/", "Location": "/article"}))

    first = fetcher.get(http_server.url("/article"))
    assert first.status == 200 and first.body == b"the article"
    second = fetcher.get(http_server.url("/article"))
    assert second.body == b"the article"
    cookies = [r.headers.get("cookie") for r in http_server.requests]
    assert cookies == [None, "seen=1", None, "seen=1"]  # no meter, no seen on a new fetch
