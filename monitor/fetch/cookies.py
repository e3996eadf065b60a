"""Cookies in ``monitor.fetch``: none kept from one fetch to the next.

Every fetch starts as a new visitor. Only a fetch's own redirects carry the cookies they set to
its later hops (``client._Trip.cookies``), so a site that sets one and redirects to check it
still answers.
"""

from __future__ import annotations

import http.cookiejar
from typing import Any

import httpx


class NoCookies(http.cookiejar.CookieJar):
    """The client's cookie jar, which keeps nothing. httpx copies the client's whole jar into
    every request it builds: 0.04 ms a request empty, 0.4 with 100 cookies, 6.2 with 2,000 (a
    few hundred outlets); and a jar kept for a daemon's life would carry a paywall's article
    meter from page to page."""

    def set_cookie(self, cookie: http.cookiejar.Cookie) -> None:
        return

    def extract_cookies(self, response: Any, request: Any) -> None:
        return


def with_cookies(headers: dict[str, str], cookies: httpx.Cookies, url: str) -> dict[str, str]:
    """``headers`` with the Cookie header ``cookies`` send to ``url`` (their domains, paths and
    expiry matched as a browser matches them), if they send one."""
    if not cookies:
        return headers
    request = httpx.Request("GET", url)
    cookies.set_cookie_header(request)
    cookie = request.headers.get("cookie")
    return {**headers, "Cookie": cookie} if cookie else headers
