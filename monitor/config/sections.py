"""The seven sections of the configuration file, every setting declared once with its type,
default, help and range; ``SETTINGS`` lists them for the documentation, and ``read_section``
reads one section from the file and the environment (``MONITOR_<SECTION>_<KEY>`` wins).
"""

# declare() returns a dataclasses.field carrying the Rule; ruff cannot see that it is a field.
# ruff: noqa: RUF009

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from monitor.config.reach import ReachSettings
from monitor.config.values import Rule, checked, declare, default_of, kind_of, toml_key
from monitor.errors import ConfigError

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
        "Sources whose answers are stored together (their new pages fetched in parallel, then "
        "stored oldest first); also the window of feed fetches in flight. Larger lots amortise "
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
        "threshold against a seed. Half of it suffices when a story keyword appears in the "
        "article. Calibrated on BASIL. A [[story]] can set its own.",
        low=0.0,
        high=1.0,
    )


@dataclass(frozen=True)
class EmailSettings:
    to: list[str] = declare([], "Digest recipients. Empty: digests are only written to the outbox.")
    from_: str = declare("news-monitor@localhost", "The From address of digests.")
    smtp_url: str = declare(
        "",
        "smtp://[user[:password]@]host[:port] (STARTTLS when offered) or smtps://... "
        "Unset: digests are written as .eml files to outbox_dir. A secret: "
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
    outbox_dir: str = declare("data/outbox", "Folder for .eml digests when smtp_url is unset.")
    max_items: int = declare(
        100,
        "Most articles a digest lists in each section (new reporting, copies, edits, ...); the "
        "rest are counted, and the story file has them all. A backfill can add thousands.",
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


SECTIONS: dict[str, type] = {
    "storage": StorageSettings,
    "fetch": FetchSettings,
    "poll": PollSettings,
    "match": MatchSettings,
    "email": EmailSettings,
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


def _secret_file(variable: str, env: Mapping[str, str]) -> str:
    """The text of the file ``env[variable]`` names, less its final line break (``echo`` and
    editors add one; no password or URL ends with one)."""
    path = env[variable]
    try:
        with open(path, encoding="utf-8") as file:
            return file.read().removesuffix("\n").removesuffix("\r")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise ConfigError(f"environment {variable}: cannot read {path}: {reason}") from None


def _given(
    name: str, key: str, f: dataclasses.Field[Any], raw: dict[str, Any], env: Mapping[str, str]
) -> tuple[Any, bool, str] | None:
    """Where ``[name] key`` is given: (value, from the environment?, origin for messages), the
    environment first (its variable, else for a secret the file its ``_FILE`` variable names),
    then the file's table; None when nowhere."""
    env_name = f"MONITOR_{name}_{key}".upper()
    file_name = f"{env_name}_FILE" if Rule.of(f).secret else ""
    if file_name in env and env_name in env:
        raise ConfigError(f"environment {env_name} and {file_name}: set one of them, not both")
    if env_name in env:
        return env[env_name], True, f"environment {env_name}"
    if file_name in env:
        return _secret_file(file_name, env), True, f"environment {file_name}"
    if key in raw:
        return raw[key], False, f"[{name}] {key}"
    return None


def read_section(
    name: str, raw: Any, env: Mapping[str, str], where: str, origins: dict[str, str] | None = None
) -> Any:
    """The settings of ``[name]``: the environment's, else the file's ``raw`` table's, else the
    defaults; a ConfigError names the variable, or the file, section and key. ``origins`` gets
    ``"section.key"``: where each given setting came from, for later messages."""
    cls = SECTIONS[name]
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: [{name}] must be a table")
    fields = {toml_key(f.name): f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields))
    if unknown:
        raise ConfigError(
            f"{where}: [{name}] {unknown[0]}: unknown setting (known: {', '.join(sorted(fields))})"
        )
    values: dict[str, Any] = {}
    for key, f in fields.items():
        given = _given(name, key, f, raw, env)
        if given is None:
            continue
        value, from_env, origin = given
        origin = origin if from_env else f"{where}: {origin}"
        try:
            values[f.name] = checked(f, value, from_env=from_env)
        except ValueError as exc:
            raise ConfigError(f"{origin}: {exc}") from None
        if origins is not None:
            origins[f"{name}.{key}"] = origin
    return cls(**values)
