"""The sections of the configuration file, every setting declared once with its type, default,
help and range; ``SETTINGS`` lists them for the documentation (``monitor.config.reading`` reads
one section from the file and the environment).
"""

# declare() returns a dataclasses.field carrying the Rule; ruff cannot see that it is a field.
# ruff: noqa: RUF009

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from monitor.config.reach import ReachSettings
from monitor.config.values import Rule, declare, default_of, kind_of, toml_key

DEFAULT_DB_URL = "sqlite:///data/monitor.sqlite"
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("json", "text")


@dataclass(frozen=True)
class StorageSettings:
    url: str = declare(
        DEFAULT_DB_URL,
        "SQLAlchemy database URL. A relative SQLite path is relative to the working directory. "
        "PostgreSQL: postgresql+psycopg://user@host/dbname, with the password here or in "
        "`password`. A secret: `MONITOR_STORAGE_URL_FILE` may name a file holding it.",
        secret=True,
    )
    password: str = declare(
        "",
        "The database password, put into `url` in place of any written there, so the URL "
        "need not hold it. A secret: `MONITOR_STORAGE_PASSWORD_FILE` may name a file holding "
        "it (the file PostgreSQL's own `POSTGRES_PASSWORD_FILE` reads, in docker-compose.yml).",
        secret=True,
    )
    keep_html: bool = declare(
        True,
        "Keep the page as fetched (gzip-compressed) with every version of an article, as "
        "evidence of what it said: about 33 KB a version at the median and 110 KB at the 95th "
        "percentile (benchmarks/storyfile.py). Off: only the HTTP status, validators, final URL "
        "and the page's size are kept.",
    )


@dataclass(frozen=True)
class FetchSettings:
    allow_private_networks: bool = declare(
        False,
        "Allow fetches to loopback, private (RFC 1918), link-local, CGNAT and unique-local "
        "addresses. Off by default so a feed cannot make the service probe your network; the "
        "tests and the demo turn it on.",
    )
    user_agent: str = declare(
        "news-monitor/0.1 (+https://github.com/news-monitor/news-monitor)",
        "User-Agent sent with every request; say who you are so outlets can reach you.",
    )
    connect_timeout: float = declare(10.0, "Seconds to wait for a TCP/TLS connection.", "duration")
    read_timeout: float = declare(
        20.0, "Seconds to wait between two reads of a response.", "duration"
    )
    total_timeout: float = declare(
        60.0, "Seconds a whole request may take, body included.", "duration"
    )
    max_bytes: int = declare(
        10_000_000, "Largest response body accepted, after decompression, in bytes.", low=1
    )
    max_redirects: int = declare(5, "Redirects followed before giving up.", low=0, high=20)
    per_host_delay: float = declare(
        1.0,
        "Least time between the start of one request to a host and the next (one request at a "
        "time per host, within a process), in seconds. 0 turns the delay off.",
        low=0,
    )
    obey_robots: bool = declare(
        True,
        "Fetch article pages only where the site's robots.txt allows it; a [[source]] table's "
        "robots = false overrides this for that source. Feeds are fetched regardless: a "
        "published feed is an invitation to poll it.",
    )


@dataclass(frozen=True)
class PollSettings:
    default_interval: float = declare(
        1800.0,
        "Interval of a source whose [[source]] table gives none, until its schedule has "
        "learned how often the source publishes (then between min_interval and max_interval).",
        "duration",
    )
    max_backoff: float = declare(
        86400.0,
        "Longest wait between two polls of a failing source (errors back off "
        "exponentially up to this).",
        "duration",
    )
    min_interval: float = declare(
        300.0,
        "Shortest interval a source's schedule adapts down to when it publishes often.",
        "duration",
    )
    max_interval: float = declare(
        21600.0,
        "Longest interval a quiet source's schedule adapts up to, and the ceiling on what a "
        "feed's TTL, Cache-Control max-age or Expires can ask for.",
        "duration",
    )
    batch_size: int = declare(
        200,
        "Sources whose answers are stored together (their new pages fetched in parallel and "
        "stored oldest first, each once it and the older ones are read); also the window of "
        "feed fetches in flight. Larger lots amortise "
        "each lot's slowest host (with per_host_delay 1 s, 200 polls 2,000 sources twice as "
        "fast as 50).",
        low=1,
    )
    per_host: int = declare(
        2, "Most sources of one host claimed in one batch, so one host cannot fill it.", low=1
    )
    workers: int = declare(
        8,
        "Threads fetching at once; each host still gets one request at a time.",
        low=1,
        high=256,
    )
    extract_processes: int = declare(
        -1,
        "Child processes extracting the fetched pages, so that extraction uses every core "
        "(in threads, Python runs one at a time). -1: one per core, at most workers; 0: none, "
        "extraction runs in the fetching threads, one page at a time. Started at the first "
        "page a round fetches, kept until the command or the daemon stops; with monitor run "
        "--workers N, each worker has its own.",
        low=-1,
        high=256,
    )
    extract_timeout: float = declare(
        120.0,
        "Seconds one page's extraction may take in a child process (extract_processes above 0) "
        "before the child is stopped and the page recorded as failed (an error on the article, "
        "tried again at its next re-check); the round goes on. A page extracted in the fetching "
        "thread (extract_processes 0) has no such limit: a thread cannot be stopped.",
        "duration",
    )
    max_new_entries: int = declare(
        100,
        "Most new entries taken from one source in one poll (the newest); a sitemap or a "
        "first poll of a long feed does not flood the round.",
        low=1,
    )
    tick: float = declare(
        60.0, "How often the daemon (monitor run) looks for due sources and articles.", "duration"
    )
    recheck_for: float = declare(
        1209600.0,
        "How long after first seeing an article it is re-fetched to catch edits "
        "(on a widening schedule: 1h, 3h, 6h, 12h, then daily).",
        "duration",
    )
    min_words: int = declare(
        60,
        "Pages whose extracted text has fewer words are stored with status too_short and "
        "neither matched nor versioned (as are paywalled teasers and pages that are not "
        "articles).",
        low=0,
    )


@dataclass(frozen=True)
class MatchSettings:
    num_perm: int = declare(
        128,
        "MinHash permutations per signature. A change rebuilds the LSH band table at the next "
        "start (from the stored texts: stored signatures keep their length).",
        low=16,
        high=1024,
    )
    shingle_size: int = declare(
        5, "Words per shingle for near-duplicate detection.", low=1, high=20
    )
    candidate_threshold: float = declare(
        0.15,
        "Jaccard threshold of the LSH index that proposes copy candidates (lower finds "
        "more truncated copies, at more comparisons). Calibrated with "
        "benchmarks/matching.py. A change rebuilds the LSH band table at the next start.",
        low=0.01,
        high=0.99,
    )
    copy_threshold: float = declare(
        0.35,
        "An article is a copy when its exact shingle Jaccard or containment (either way) "
        "against a known version reaches this. Calibrated on real wire copies: they score "
        "0.37 and up, different events at most 0.016.",
        low=0.0,
        high=1.0,
    )
    story_threshold: float = declare(
        0.26,
        "Same-story threshold on the TF-IDF cosine (title and first 300 words, light English "
        "and French stemming, numbers kept, names weighted 1.5), faded by the time between "
        "publications, against the seeds and the accepted articles that scored 1.6 times the "
        "threshold against a seed, and against the centroid of the story's reports near the "
        "article in time. Half of it suffices when a story keyword appears in the "
        "article. Calibrated on BASIL. A [[story]] can set its own.",
        low=0.0,
        high=1.0,
    )


@dataclass(frozen=True)
class EmailSettings:
    to: list[str] = declare(
        [],
        "Digest recipients, each a bare address, on the schedule below; each gets a message of "
        "its own. `[[recipient]]` tables add recipients with schedules of their own. No "
        "recipient at all: digests are written to outbox_dir with no To: header.",
        "emails",
    )
    from_: str = declare("news-monitor@localhost", "The From address of digests.", "email")
    schedule: str = declare(
        "immediately",
        "When the recipients in `to` get a story's digest: `immediately` (after the round that "
        "found something), `every 30m` (immediately, but at most once every 30 minutes) or a "
        "cron expression of five fields in their time zone (`0 7 * * *`: at 07:00; "
        "`0 7,17 * * 1-5`: 07:00 and 17:00 on weekdays).",
        "schedule",
    )
    timezone: str = declare(
        "UTC",
        "The time zone of the recipients in `to`: their cron schedule and the times the digest "
        "shows, in words (an IANA name: America/Toronto, Europe/Paris).",
        "timezone",
    )
    quiet: bool = declare(
        True,
        "No digest when nothing happened to the story. Off: a cron schedule sends one saying "
        "so (an `immediately` schedule only ever sends when something happened).",
    )
    domain: str = declare(
        "",
        "The domain of each digest's Message-ID and List-Id. Empty: the domain of `from`.",
    )
    unsubscribe: str = declare(
        "",
        "An https URL a recipient opens (or a mail client POSTs to, one-click, RFC 8058) to stop "
        "a story's digests; `{recipient}` and `{story}` in it are replaced. Empty: "
        "List-Unsubscribe is a mailto: to `from` with the story in the subject.",
    )
    retry_backoff: float = declare(
        300.0,
        "The wait before retrying a digest the SMTP server refused for now (a 4xx reply, a "
        "refused connection, a timeout); doubled at each failure, at most 6 hours. The daemon's "
        "rounds (and each monitor poll) retry on their own.",
        "duration",
    )
    give_up_after: float = declare(
        259200.0,
        "A digest still refused for now this long after it was built is marked failed. A "
        "permanent refusal (5xx) fails it at once, with the server's reply recorded.",
        "duration",
    )
    smtp_url: str = declare(
        "",
        "smtp://[user[:password]@]host[:port] (STARTTLS when offered; with a user, a server "
        "offering none is refused, never sent the password in clear) or smtps://... (TLS from "
        "the start). Unset: digests are written as .eml files to outbox_dir. A secret: "
        "`MONITOR_EMAIL_SMTP_URL_FILE` may name a file holding it.",
        secret=True,
    )
    smtp_password: str = declare(
        "",
        "The SMTP password, used with the user named in smtp_url in place of any password "
        "written there, so the URL need not hold it. A secret: "
        "`MONITOR_EMAIL_SMTP_PASSWORD_FILE` may name a file holding it.",
        secret=True,
    )
    smtp_ca_file: str = declare(
        "",
        "A PEM file of the certificate authorities that may sign the SMTP server's certificate "
        "(a private relay's CA), trusted in place of the system's for SMTP only; a relative "
        "path is from the working directory. Empty: the system's CAs. (SSL_CERT_FILE would "
        "also change the CAs the fetcher trusts.)",
    )
    outbox_dir: str = declare(
        "data/outbox",
        "Folder for .eml digests when smtp_url is unset, one file per digest "
        "(`<period>-<story>-<recipient>-<id>.eml`, so two digests never share a file).",
    )
    max_items: int = declare(
        100,
        "Most articles a digest lists in each section (new reporting, copies, edits, ...); the "
        "rest are counted, and the story's web page or file has them all.",
        low=1,
    )


@dataclass(frozen=True)
class LogSettings:
    level: str = declare(
        "info",
        "debug, info, warning or error (any case); `--log-level` overrides it.",
        choices=LOG_LEVELS,
    )
    format: str = declare("json", "json (one object per line) or text.", choices=LOG_FORMATS)


@dataclass(frozen=True)
class OpsSettings:
    listen: str = declare(
        "127.0.0.1:9108",
        "Where monitor run serves GET /healthz, /readyz and /metrics (Prometheus), as host:port "
        "([::1]:9108 for IPv6; port 0 picks a free port, logged at start). Empty: no listener. "
        "The listener has no authentication: keep it on loopback or a private network.",
        "address",
    )
    stall_after: float = declare(
        600.0,
        "/healthz answers 503 (and the systemd watchdog is no longer fed) when the daemon's "
        "scheduler has shown no sign of life (a tick begun or ended, a fetch, an article "
        "stored) for poll.tick plus this long.",
        "duration",
    )


@dataclass(frozen=True)
class WebSettings:
    base_url: str | None = declare(
        None,
        "The address readers reach `monitor serve` at (https://news.example.org; a trailing "
        "slash is dropped): digests link each story to {base_url}/stories/{slug} and each "
        "article to {base_url}/articles/{id}. Unset: digests carry no links to the web pages.",
        "base_url",
    )
    host: str = declare(
        "127.0.0.1",
        "The address monitor serve listens on (`--host` overrides it). The default answers only "
        "this machine; 0.0.0.0 or :: answers every network the machine is on: set a token then.",
    )
    port: int = declare(
        8080,
        "The port monitor serve listens on (`--port` overrides it; 0 picks a free port, logged "
        "at start).",
        low=0,
        high=65535,
    )
    token: str = declare(
        "",
        "When set, every request but GET /healthz must carry it, as `Authorization: Bearer "
        "TOKEN` (scripts) or as the password of HTTP Basic authentication (a browser asks for "
        "it; any user name). Empty: no authentication. A secret: `MONITOR_WEB_TOKEN_FILE` may "
        "name a file holding it.",
        secret=True,
    )
    page_size: int = declare(
        50, "Items in one page of a list (API and pages) when `limit` is not given.", low=1
    )
    max_page_size: int = declare(
        500,
        "The largest `limit` a request may ask for; a larger one is answered 400 naming it.",
        low=1,
        high=10000,
    )


SECTIONS: dict[str, type] = {
    "storage": StorageSettings,
    "fetch": FetchSettings,
    "poll": PollSettings,
    "match": MatchSettings,
    "email": EmailSettings,
    "web": WebSettings,
    "log": LogSettings,
    "ops": OpsSettings,
    "reach": ReachSettings,
}


@dataclass(frozen=True)
class Setting:
    section: str
    key: str  # as written in TOML (``from``, not ``from_``)
    type: str
    default: Any
    help: str
    secret: bool = False  # also read from the file named by ``env_file``
    choices: tuple[str, ...] = ()  # a str setting that must be one of these

    @property
    def env(self) -> str:
        return f"MONITOR_{self.section}_{self.key}".upper()

    @property
    def env_file(self) -> str | None:
        return f"{self.env}_FILE" if self.secret else None


SETTINGS: tuple[Setting, ...] = tuple(
    Setting(
        section,
        toml_key(f.name),
        kind_of(f),
        default_of(f),
        Rule.of(f).help,
        Rule.of(f).secret,
        Rule.of(f).choices,
    )
    for section, cls in SECTIONS.items()
    for f in dataclasses.fields(cls)
)
