"""The ``[reach]`` section: where the news search services and the web archive answer, and how
politely a backfill asks the archives. Its own module so that the seven older sections stay
where they were; ``sections.SECTIONS`` lists it with them."""

# declare() returns a dataclasses.field carrying the Rule; ruff cannot see that it is a field.

from __future__ import annotations

from dataclasses import dataclass

from monitor.config.values import declare

QUERY_KINDS = ("google_news", "bing_news", "gdelt")


@dataclass(frozen=True)
class ReachSettings:
    google_news_url: str = declare(
        "https://news.google.com/rss/search",
        'Google News search RSS, asked by `[[source]] kind = "google_news"` with `q`, `hl`, '
        "`gl` and `ceid`. Its item links lead to the outlet through a redirect, followed "
        "through the guarded client. The tests point it at 127.0.0.1.",
        "url",
    )
    bing_news_url: str = declare(
        "https://www.bing.com/news/search",
        'Bing News search RSS, asked by `kind = "bing_news"` with `q`, `format=rss` and '
        "`setlang`; its links carry the outlet's URL in their `url` parameter.",
        "url",
    )
    gdelt_url: str = declare(
        "https://api.gdeltproject.org/api/v2/doc/doc",
        'The GDELT DOC 2.0 API, asked by `kind = "gdelt"` and by `monitor story backfill '
        "--from gdelt` with `mode=artlist&format=json` (its rolling window: about three months).",
        "url",
    )
    wayback_url: str = declare(
        "https://web.archive.org",
        "The Wayback Machine: its CDX API (`/cdx/search/cdx`) and raw captures "
        "(`/web/{timestamp}id_/{url}`), asked by `monitor story backfill --from wayback` and, for "
        "every `--from`, for the past versions of the story's articles.",
        "url",
    )
    pause: float = declare(
        1.0,
        "Least time between two requests to one archive or search host during a backfill, in "
        "seconds (one request at a time per host). 0 turns the pause off.",
        low=0,
    )
    retries: int = declare(
        4,
        "Times a backfill asks again after a 429 or 5xx answer or a failed connection, waiting "
        "what Retry-After says, else 2, 4, 8... seconds (up to `max_wait`).",
        low=0,
        high=20,
    )
    max_wait: float = declare(
        120.0,
        "Longest wait before one retry, whatever Retry-After asks; a longer ask ends the "
        "backfill's run (resume it later).",
        "duration",
    )
    budget: int = declare(
        5000,
        "Most requests one backfill run sends to the archives (answers recorded before are "
        "free); the run stops there and the next one continues.",
        low=1,
    )
    languages: str = declare(
        "en,fr",
        "Languages of the query sources `monitor story sources SLUG --add-queries` writes, "
        "separated by commas (`en`, `fr`): a Google News, a Bing News and a GDELT source each.",
    )


# Google News' edition parameters by language: Canadian editions, the story being Canadian.
_GOOGLE_EDITIONS = {"en": ("en-CA", "CA", "CA:en"), "fr": ("fr-CA", "CA", "CA:fr")}
_BING_MARKETS = {"en": "en-CA", "fr": "fr-CA"}
# GDELT's language names for its sourcelang: operator.
GDELT_LANGUAGES = {"en": "english", "fr": "french"}
LANGUAGES = tuple(_GOOGLE_EDITIONS)
# How far back one poll of a GDELT query source looks (the API's own window is three months).
GDELT_POLL_SPAN = "1d"
GDELT_MAX_RECORDS = 250


def gdelt_query(query: str, language: str) -> str:
    """The GDELT query for ``query`` in ``language``'s outlets."""
    return f"{query} sourcelang:{GDELT_LANGUAGES.get(language, language)}"


def query_url(settings: ReachSettings, kind: str, query: str, language: str) -> str:
    """The URL a query source of ``kind`` polls for ``query`` in ``language``."""
    from urllib.parse import urlencode  # stdlib, light: config imports no library

    if kind == "google_news":
        hl, gl, ceid = _GOOGLE_EDITIONS.get(language, _GOOGLE_EDITIONS["en"])
        params = {"q": query, "hl": hl, "gl": gl, "ceid": ceid}
        return f"{settings.google_news_url}?{urlencode(params)}"
    if kind == "bing_news":
        params = {"q": query, "format": "rss", "setlang": _BING_MARKETS.get(language, "en-CA")}
        return f"{settings.bing_news_url}?{urlencode(params)}"
    params = {
        "query": gdelt_query(query, language),
        "mode": "artlist",
        "format": "json",
        "maxrecords": str(GDELT_MAX_RECORDS),
        "sort": "datedesc",
        "timespan": GDELT_POLL_SPAN,
    }
    return f"{settings.gdelt_url}?{urlencode(params)}"


def query_name(kind: str, query: str, language: str) -> str:
    """A query source's default name: the service, the query and the language."""
    service = {"google_news": "Google News", "bing_news": "Bing News", "gdelt": "GDELT"}[kind]
    return f"{service}: {query} ({language})"
