"""robots.txt: the rules (pure, monitor.fetch.robots_rules), RFC 9309's status rules (pure), and
the cache (monitor.fetch.robots) against real HTTP servers on 127.0.0.1."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from monitor.config import FetchSettings
from monitor.errors import BlockedAddressError, ConfigError, FetchError
from monitor.fetch.client import Fetcher
from monitor.fetch.result import FetchResult
from monitor.fetch.robots import RobotsCache
from monitor.fetch.robots_rules import (
    GIVE_UP,
    MAX_BYTES,
    MIN_LIFETIME,
    Entry,
    Rules,
    interpret,
    product_token,
    robots_url,
)
from tests.conftest import REPO
from tests.httpserver import Handler, Reply, Site, send, serve

TOKEN = "news-monitor"
UA = "news-monitor/0.1 (+https://tests.invalid/contact)"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
ROBOTS = "https://example.org/robots.txt"


def rules(text: str | bytes) -> Rules:
    return Rules.parse(text.encode() if isinstance(text, str) else text, TOKEN)


def ok(url: str, r: Rules) -> bool:
    return r.allowed(f"https://example.org{url}")


# --- the rules ------------------------------------------------------------------------------


def test_product_token_is_the_leading_name_of_the_user_agent() -> None:
    """The product token is the User-Agent's leading run of letters, '_' and '-'."""
    assert product_token(UA) == "news-monitor"
    assert product_token("Mozilla/5.0 (compatible; X)") == "Mozilla"
    assert product_token("news_monitor") == "news_monitor"


def test_product_token_refuses_a_user_agent_without_one() -> None:
    """A User-Agent that does not start with a token is a configuration error naming the key."""
    with pytest.raises(ConfigError, match=r"fetch\.user_agent"):
        product_token("0.1/news-monitor")


def test_robots_url_is_per_origin() -> None:
    """robots.txt sits at the origin's root; default ports are dropped, others kept."""
    assert robots_url("https://Example.ORG/a/b?c=1#d") == "https://example.org/robots.txt"
    assert robots_url("http://example.org:80/a") == "http://example.org/robots.txt"
    assert robots_url("http://example.org:8080/a") == "http://example.org:8080/robots.txt"
    assert robots_url("http://user:pw@example.org/a") == "http://example.org/robots.txt"
    assert robots_url("http://[2001:db8::1]:81/a") == "http://[2001:db8::1]:81/robots.txt"
    assert robots_url("ftp://example.org/a") is None
    assert robots_url("http://example.org:99999/a") is None
    assert robots_url("mailto:a@example.org") is None


def test_wildcards_star_and_dollar() -> None:
    """'*' matches any run of characters and '$' anchors the end of the URL."""
    r = rules("User-agent: *\nDisallow: /*.pdf$\nDisallow: /search*q=\n")
    assert not ok("/files/report.pdf", r)
    assert ok("/files/report.pdf?download=1", r)
    assert not ok("/search?lang=en&q=x", r)
    assert ok("/search?lang=en", r)
    assert ok("/news/story", r)


def test_longest_match_wins() -> None:
    """The most specific (longest) matching rule decides, whatever the order in the file."""
    r = rules("User-agent: *\nAllow: /news/open/\nDisallow: /news/\n")
    assert ok("/news/open/1", r)
    assert not ok("/news/closed/1", r)
    r = rules("User-agent: *\nDisallow: /news/open/\nAllow: /news/\n")
    assert not ok("/news/open/1", r)
    assert ok("/news/other", r)


def test_allow_beats_disallow_on_a_tie() -> None:
    """An Allow and a Disallow of equal length: the Allow wins (RFC 9309 2.2.2)."""
    assert ok("/page", rules("User-agent: *\nDisallow: /page\nAllow: /page\n"))
    assert ok("/page", rules("User-agent: *\nAllow: /page\nDisallow: /page\n"))


def test_our_group_beats_the_star_group() -> None:
    """Our token's group applies instead of '*', matched case-insensitively, with its delay."""
    text = (
        "User-agent: *\nDisallow: /\nCrawl-delay: 3\n\n"
        "User-agent: News-Monitor\nDisallow: /private\nCrawl-delay: 7\n"
    )
    r = rules(text)
    assert ok("/news/1", r)
    assert not ok("/private/1", r)
    assert r.crawl_delay == 7.0
    other = Rules.parse(text.encode(), "otherbot")
    assert not ok("/news/1", other)
    assert other.crawl_delay == 3.0


def test_a_group_named_by_a_prefix_of_our_token_is_not_ours() -> None:
    """'User-agent: news' does not apply to news-monitor (whole-token match, as Google does)."""
    r = rules("User-agent: news\nDisallow: /\n\nUser-agent: *\nDisallow: /private\n")
    assert ok("/story", r)
    assert not ok("/private/x", r)
    assert ok("/story", rules("User-agent: news\nDisallow: /\n"))


def test_empty_file_allows_everything() -> None:
    """An empty robots.txt (or one with only comments) allows every URL and sets no delay."""
    for text in ("", "# nothing here\n", "User-agent: *\nDisallow:\n"):
        r = rules(text)
        assert ok("/anything", r)
        assert r.crawl_delay is None


def test_rules_past_the_size_cap_are_ignored() -> None:
    """Only the first MAX_BYTES are read, and a rule cut by the cap is dropped, not shortened."""
    head = b"User-agent: *\nDisallow: /early\n"
    filler = b"# " + b"x" * 100 + b"\n"
    body = head + filler * ((MAX_BYTES - len(head)) // len(filler))
    straddling = b"Allow: /early/and-a-long-allowed-path\n"
    body += b"#" * (MAX_BYTES - len(body) - 18) + b"\n" + straddling + b"Disallow: /late\n"
    assert body[:MAX_BYTES].endswith(b"\nAllow: /early/and")
    r = rules(body)
    assert not ok("/early/x", r)
    assert ok("/late/x", r)
    # Cut mid-line, the Allow would have become "Allow: /early/and" and won over /early.
    assert not ok("/early/and-a-long-allowed-path", r)
    assert not ok("/early/andmore", r)


def test_garbage_bytes_parse_to_allow_everything() -> None:
    """Binary junk or an HTML page served as robots.txt yields rules that allow everything."""
    junk = bytes(range(256)) * 40
    assert ok("/x", rules(junk))
    assert ok("/x", rules(b"<!doctype html><html><body>Not found</body></html>"))


def test_invalid_utf8_and_a_bom_do_not_hide_rules() -> None:
    """Bad bytes are replaced and a UTF-8 BOM is dropped, so the rules around them still count."""
    body = b"\xef\xbb\xbfUser-agent: *\n# caf\xe9 \xff\xfe\nDisallow: /priv\xe9/\nDisallow: /x\n"
    r = rules(body)
    assert not ok("/x", r)
    assert ok("/y", r)


# --- the status rules -----------------------------------------------------------------------


def read(
    outcome: FetchResult | FetchError,
    *,
    now: datetime = NOW,
    previous: Entry | None = None,
    ttl: float = 86400.0,
) -> Entry:
    return interpret(
        outcome, robots=ROBOTS, token=TOKEN, now=now, ttl=ttl, retry=3600.0, previous=previous
    )


def found(text: str, headers: dict[str, str] | None = None) -> FetchResult:
    return FetchResult(ROBOTS, 200, headers or {}, text.encode())


def test_2xx_is_parsed_and_kept_for_the_ttl() -> None:
    """A 200 is parsed and trusted for the TTL; the verdict names the file."""
    entry = read(found("User-agent: *\nDisallow: /private\n"))
    assert entry.status == "parsed"
    assert entry.expires_at == NOW + timedelta(days=1)
    verdict = entry.verdict("https://example.org/private/1")
    assert not verdict.allowed
    assert verdict.robots == ROBOTS
    assert verdict.reason == f"disallowed by {ROBOTS}"
    assert entry.verdict("https://example.org/public").allowed


@pytest.mark.parametrize(
    ("cache_control", "lifetime"),
    [
        ("max-age=7200", 7200.0),  # shorter than the TTL: honoured
        ("public, max-age=0", MIN_LIFETIME),  # but never below the floor
        ("max-age=604800", 86400.0),  # longer than the TTL: RFC 9309 2.4 says a day at most
        ("no-cache", 86400.0),
    ],
)
def test_cache_control_max_age_shortens_the_lifetime(cache_control: str, lifetime: float) -> None:
    """Cache-Control max-age can shorten the cache lifetime down to MIN_LIFETIME, never lengthen."""
    entry = read(found("", {"cache-control": cache_control}))
    assert entry.expires_at == NOW + timedelta(seconds=lifetime)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410])
def test_4xx_allows_everything(status: int) -> None:
    """Any 4xx but 429, 401 and 403 included, means no robots.txt: everything allowed for a TTL."""
    entry = read(FetchError("http_4xx", ROBOTS, f"HTTP {status}", status=status))
    assert entry.status == "unavailable"
    assert entry.expires_at == NOW + timedelta(days=1)
    verdict = entry.verdict("https://example.org/any")
    assert verdict.allowed
    assert verdict.reason == f"{ROBOTS} gave HTTP {status}: everything allowed"


def test_too_many_redirects_allows_everything() -> None:
    """More redirects than the fetcher follows counts as unavailable (RFC 9309 2.3.1.2)."""
    entry = read(FetchError("too_many_redirects", ROBOTS, "more than 5 redirects"))
    assert entry.verdict("https://example.org/any").allowed


@pytest.mark.parametrize(
    "error",
    [
        FetchError("http_5xx", ROBOTS, "HTTP 503", status=503),
        FetchError("http_429", ROBOTS, "HTTP 429", status=429),
        FetchError("timeout", ROBOTS, "read timeout"),
        FetchError("connect", ROBOTS, "connection refused"),
        FetchError("dns", ROBOTS, "cannot resolve"),
        FetchError("tls", ROBOTS, "certificate verify failed"),
        FetchError("too_large", ROBOTS, "body over the cap"),
        BlockedAddressError(ROBOTS, "example.org resolves to 10.0.0.1"),
    ],
    ids=lambda e: e.kind,
)
def test_unreachable_disallows_everything_until_the_retry(error: FetchError) -> None:
    """5xx, 429 and network failures (a blocked address too) refuse everything for an hour."""
    entry = read(error)
    assert entry.status == "unreachable"
    assert entry.unreachable_since == NOW
    assert entry.expires_at == NOW + HOUR
    verdict = entry.verdict("https://example.org/any")
    assert not verdict.allowed
    assert verdict.reason == (
        f"{ROBOTS} unreachable ({error.kind}); retry after {(NOW + HOUR).isoformat()}"
    )


def test_a_longer_retry_after_postpones_the_retry() -> None:
    """A Retry-After longer than the retry delay is obeyed, up to the TTL."""
    busy = FetchError("http_5xx", ROBOTS, "HTTP 503", status=503, retry_after=5 * 3600)
    assert read(busy).expires_at == NOW + 5 * HOUR
    forever = FetchError("http_429", ROBOTS, "HTTP 429", status=429, retry_after=9e9)
    assert read(forever).expires_at == NOW + timedelta(days=1)


def test_unreachable_for_over_30_days_allows_everything() -> None:
    """RFC 9309 2.3.1.4: after GIVE_UP of unreachability, the file counts as unavailable."""
    down = FetchError("http_5xx", ROBOTS, "HTTP 500", status=500)
    first = read(down)
    almost = read(down, now=NOW + GIVE_UP, previous=first)
    assert almost.unreachable_since == NOW
    assert not almost.verdict("https://example.org/a").allowed
    later = read(down, now=NOW + GIVE_UP + HOUR, previous=almost)
    verdict = later.verdict("https://example.org/a")
    assert verdict.allowed
    assert "over 30 days: everything allowed" in verdict.reason
    assert read(down, now=NOW + GIVE_UP + 2 * HOUR, previous=later).unreachable_since == NOW


def test_an_unreachable_file_keeps_its_last_copy() -> None:
    """Once reached, a file that becomes unreachable keeps its rules (RFC 9309 2.4), not 'none'."""
    good = read(found("User-agent: *\nDisallow: /private\nCrawl-delay: 2\n"))
    down = FetchError("timeout", ROBOTS, "read timeout")
    stale = read(down, now=NOW + timedelta(days=1), previous=good)
    assert stale.stale_copy
    assert stale.expires_at == NOW + timedelta(days=1) + HOUR
    assert stale.verdict("https://example.org/public").allowed
    verdict = stale.verdict("https://example.org/private/1")
    assert not verdict.allowed
    assert verdict.reason.startswith(f"disallowed by the last copy of {ROBOTS}; unreachable")
    assert stale.rules.crawl_delay == 2.0
    again = read(down, now=NOW + timedelta(days=40), previous=stale)
    assert again.stale_copy
    assert again.unreachable_since == NOW + timedelta(days=1)
    assert not again.verdict("https://example.org/private/1").allowed


def test_reaching_the_file_again_ends_the_outage() -> None:
    """A 200 after an outage replaces the refusal and forgets when the outage began."""
    down = read(FetchError("connect", ROBOTS, "refused"))
    back = read(found("User-agent: *\nDisallow: /x\n"), now=NOW + 2 * HOUR, previous=down)
    assert back.status == "parsed"
    assert back.unreachable_since is None
    assert back.verdict("https://example.org/y").allowed


# --- the cache against real servers on 127.0.0.1 ---------------------------------------------


def user_agents(site: Site) -> list[str | None]:
    """The User-Agent of each request the site received, in order."""
    return [r.headers.get("user-agent") for r in site.requests]


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    settings = FetchSettings(
        allow_private_networks=True,
        per_host_delay=0.0,
        user_agent=UA,
        connect_timeout=2.0,
        read_timeout=10.0,
        total_timeout=20.0,
    )
    with Fetcher(settings) as f:
        yield f


def cache_for(fetcher: Fetcher, ttl: float = 3600.0) -> RobotsCache:
    return RobotsCache(lambda u: fetcher.get(u, accept="text/plain"), user_agent=UA, ttl=ttl)


def test_one_fetch_per_origin_within_the_ttl(http_server: Site, fetcher: Fetcher) -> None:
    """Every URL of an origin shares one robots.txt fetch until the TTL runs out."""
    robots = b"User-agent: *\nDisallow: /private\n\nUser-agent: news-monitor\nCrawl-delay: 4\n"
    http_server.routes["/robots.txt"] = Reply(200, robots)
    cache = cache_for(fetcher, ttl=3600)
    assert cache.allowed(http_server.url("/a"), now=NOW).allowed
    assert cache.allowed(http_server.url("/private/b"), now=NOW + timedelta(minutes=59)).allowed
    assert cache.crawl_delay(http_server.url("/c"), now=NOW + timedelta(minutes=30)) == 4.0
    assert user_agents(http_server) == [UA]
    http_server.routes["/robots.txt"] = Reply(200, b"User-agent: *\nDisallow: /\n")
    verdict = cache.allowed(http_server.url("/a"), now=NOW + HOUR)
    assert len(http_server.requests) == 2
    assert not verdict.allowed
    assert verdict.robots == http_server.url("/robots.txt")
    assert cache.crawl_delay(http_server.url("/c"), now=NOW + HOUR) is None


def test_404_allows_everything(http_server: Site, fetcher: Fetcher) -> None:
    """A site without robots.txt (404) may be fetched, and is not asked again within the TTL."""
    http_server.routes["/robots.txt"] = Reply(404)
    cache = cache_for(fetcher)
    verdict = cache.allowed(http_server.url("/story"), now=NOW)
    assert verdict.allowed
    assert "HTTP 404" in verdict.reason
    assert cache.allowed(http_server.url("/other"), now=NOW + timedelta(minutes=5)).allowed
    assert len(http_server.requests) == 1


def test_500_disallows_until_the_retry_after_recovery(http_server: Site, fetcher: Fetcher) -> None:
    """A 500 refuses the site; after recovery, the file is read again only once the retry is due."""
    http_server.routes["/robots.txt"] = Reply(500)
    cache = cache_for(fetcher, ttl=86400)
    verdict = cache.allowed(http_server.url("/story"), now=NOW)
    assert not verdict.allowed
    assert "unreachable (http_5xx)" in verdict.reason
    http_server.routes["/robots.txt"] = Reply(200, b"User-agent: *\nDisallow: /private\n")
    assert not cache.allowed(http_server.url("/story"), now=NOW + timedelta(minutes=30)).allowed
    assert len(http_server.requests) == 1
    assert cache.allowed(http_server.url("/story"), now=NOW + HOUR).allowed
    assert not cache.allowed(http_server.url("/private/1"), now=NOW + HOUR).allowed
    assert len(http_server.requests) == 2


def test_refusals_are_logged(http_server: Site, fetcher: Fetcher) -> None:
    """A refused URL logs robots_disallowed with the URL and the robots.txt consulted."""
    http_server.routes["/robots.txt"] = Reply(200, b"User-agent: *\nDisallow: /private\n")
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    robots_logger = logging.getLogger("monitor.fetch.robots")
    level = robots_logger.level
    robots_logger.addHandler(handler)
    robots_logger.setLevel(logging.INFO)
    try:
        cache = cache_for(fetcher)
        cache.allowed(http_server.url("/public"), now=NOW)
        cache.allowed(http_server.url("/private/1"), now=NOW)
    finally:
        robots_logger.removeHandler(handler)
        robots_logger.setLevel(level)
    [record] = [r for r in records if r.getMessage() == "robots_disallowed"]
    assert record.url == http_server.url("/private/1")  # type: ignore[attr-defined]
    assert record.robots == http_server.url("/robots.txt")  # type: ignore[attr-defined]


def test_concurrent_callers_cause_one_fetch(http_server: Site, fetcher: Fetcher) -> None:
    """Eight threads asking about one origin at once cause exactly one robots.txt fetch."""
    second = threading.Event()

    @http_server.route("/robots.txt")
    def hold_the_first_reply(h: Handler) -> None:
        # Without the per-origin lock a second request arrives while the first is held; the
        # wait only gives it the chance to, so a correct cache passes whatever the timing.
        if len(http_server.requests) > 1:
            second.set()
        else:
            second.wait(0.5)
        send(h, Reply(200, b"User-agent: *\nDisallow: /private\n"))

    cache = cache_for(fetcher)
    start = threading.Barrier(8)
    verdicts: list[bool] = []

    def ask(i: int) -> None:
        start.wait()
        verdicts.append(cache.allowed(http_server.url(f"/private/{i}"), now=NOW).allowed)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(http_server.requests) == 1
    assert verdicts == [False] * 8


def test_different_origins_do_not_wait_for_each_other(fetcher: Fetcher) -> None:
    """While one origin's robots.txt fetch hangs, another origin is answered."""
    arrived, release, replied = threading.Event(), threading.Event(), threading.Event()

    def hang(h: Handler) -> None:
        arrived.set()
        release.wait(5)
        replied.set()
        send(h, Reply(200))

    with serve({"/robots.txt": hang}) as slow, serve({"/robots.txt": Reply(200)}) as fast:
        cache = cache_for(fetcher)
        waiting = threading.Thread(
            target=cache.allowed, args=(slow.url("/a"),), kwargs={"now": NOW}
        )
        waiting.start()
        try:
            assert arrived.wait(5)
            assert cache.allowed(fast.url("/a"), now=NOW).allowed
            assert not replied.is_set()
        finally:
            release.set()
            waiting.join(10)
    assert len(slow.requests) == len(fast.requests) == 1


def test_the_pure_rules_import_no_http_client() -> None:
    """monitor.fetch.robots_rules (the rules and RFC 9309's reading of a fetch) imports neither
    the HTTP client nor httpx: it is pure, and the cache is what fetches."""
    script = (
        "import sys\n"
        "import monitor.fetch.robots_rules\n"
        "print(sorted(m for m in ('httpx', 'monitor.fetch.client', 'monitor.fetch.robots')"
        " if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert out.strip() == "[]"
