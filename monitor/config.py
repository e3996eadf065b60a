"""Configuration: every setting declared once, loaded from TOML, overridden from the environment.

Each section is a frozen dataclass whose fields carry their help text; ``SETTINGS`` is derived
from them, so the documentation test and ``docs/configuration.md`` read the same declaration.
Any setting ``[section] key`` can be overridden by the environment variable
``MONITOR_<SECTION>_<KEY>`` (upper case). A mistake names the file, the key and what is wrong.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from monitor.errors import ConfigError

DEFAULT_DB_URL = "sqlite:///data/monitor.sqlite"

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d|w)?\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, None: 1}


def parse_duration(value: object) -> float:
    """Seconds from ``90``, ``"90s"``, ``"30m"``, ``"6h"``, ``"2d"`` or ``"1w"``."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30m, 6h or 2d")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"expected a duration such as 30m, 6h or 2d, got {value!r}")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds <= 0:
        raise ValueError(f"a duration must be positive, got {value!r}")
    return seconds


def _setting(
    default: Any,
    help: str,
    kind: str | None = None,
    *,
    low: float | None = None,
    high: float | None = None,
) -> Any:
    """A dataclass field with its help text, its kind where the type alone is ambiguous, and
    the range a number must fall in."""
    metadata = {"help": help, "kind": kind, "low": low, "high": high}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class StorageSettings:
    url: str = _setting(
        DEFAULT_DB_URL,
        "SQLAlchemy database URL. A relative SQLite path is relative to the working directory. "
        "PostgreSQL: postgresql+psycopg://user:password@host/dbname.",
    )


@dataclass(frozen=True)
class FetchSettings:
    allow_private_networks: bool = _setting(
        False,
        "Allow fetches to loopback, private (RFC 1918), link-local, CGNAT and unique-local "
        "addresses. Off by default so a feed cannot make the service probe your network; the "
        "tests and the demo turn it on.",
    )
    user_agent: str = _setting(
        "news-monitor/0.1 (+https://github.com/news-monitor/news-monitor)",
        "User-Agent sent with every request; say who you are so outlets can reach you.",
    )
    connect_timeout: float = _setting(10.0, "Seconds to wait for a TCP/TLS connection.", "duration")
    read_timeout: float = _setting(
        20.0, "Seconds to wait between two reads of a response.", "duration"
    )
    total_timeout: float = _setting(
        60.0, "Seconds a whole request may take, body included.", "duration"
    )
    max_bytes: int = _setting(
        10_000_000, "Largest response body accepted, after decompression, in bytes.", low=1
    )
    max_redirects: int = _setting(5, "Redirects followed before giving up.", low=0, high=20)
    per_host_delay: float = _setting(
        1.0,
        "Least time between the start of one request to a host and the next (one request at a "
        "time per host, within a process), in seconds. 0 turns the delay off.",
        low=0,
    )
    obey_robots: bool = _setting(
        True,
        "Fetch article pages only where the site's robots.txt allows it; a [[source]] table's "
        "robots = false overrides this for that source. Feeds are fetched regardless: a "
        "published feed is an invitation to poll it.",
    )


@dataclass(frozen=True)
class PollSettings:
    default_interval: float = _setting(
        1800.0,
        "Interval of a source whose [[source]] table gives none, until its schedule has "
        "learned how often the source publishes (then between min_interval and max_interval).",
        "duration",
    )
    max_backoff: float = _setting(
        86400.0,
        "Longest wait between two polls of a failing source (errors back off "
        "exponentially up to this).",
        "duration",
    )
    min_interval: float = _setting(
        300.0,
        "Shortest interval a source's schedule adapts down to when it publishes often.",
        "duration",
    )
    max_interval: float = _setting(
        21600.0,
        "Longest interval a quiet source's schedule adapts up to, and the ceiling on what a "
        "feed's TTL, Cache-Control max-age or Expires can ask for.",
        "duration",
    )
    batch_size: int = _setting(
        200,
        "Sources whose answers are stored together (their new pages fetched in parallel, then "
        "stored oldest first); also the window of feed fetches in flight. Larger lots amortise "
        "each lot's slowest host (with per_host_delay 1 s, 200 polls 2,000 sources twice as "
        "fast as 50).",
        low=1,
    )
    per_host: int = _setting(
        2, "Most sources of one host claimed in one batch, so one host cannot fill it.", low=1
    )
    workers: int = _setting(
        8,
        "Threads fetching (and extracting) at once; each host still gets one request at a time.",
        low=1,
        high=256,
    )
    max_new_entries: int = _setting(
        100,
        "Most new entries taken from one source in one poll (the newest); a sitemap or a "
        "first poll of a long feed does not flood the round.",
        low=1,
    )
    tick: float = _setting(
        60.0, "How often the daemon (monitor run) looks for due sources and articles.", "duration"
    )
    recheck_for: float = _setting(
        1209600.0,
        "How long after first seeing an article it is re-fetched to catch edits "
        "(on a widening schedule: 1h, 3h, 6h, 12h, then daily).",
        "duration",
    )
    min_words: int = _setting(
        60,
        "Pages whose extracted text has fewer words are stored with status too_short and "
        "neither matched nor versioned (as are paywalled teasers and pages that are not "
        "articles).",
        low=0,
    )


@dataclass(frozen=True)
class MatchSettings:
    num_perm: int = _setting(
        128,
        "MinHash permutations per signature. A change rebuilds the LSH band table at the next "
        "start (from the stored texts: stored signatures keep their length).",
        low=16,
        high=1024,
    )
    shingle_size: int = _setting(
        5, "Words per shingle for near-duplicate detection.", low=1, high=20
    )
    candidate_threshold: float = _setting(
        0.15,
        "Jaccard threshold of the LSH index that proposes copy candidates (lower finds "
        "more truncated copies, at more comparisons). Calibrated with "
        "benchmarks/matching.py. A change rebuilds the LSH band table at the next start.",
        low=0.01,
        high=0.99,
    )
    copy_threshold: float = _setting(
        0.35,
        "An article is a copy when its exact shingle Jaccard or containment (either way) "
        "against a known version reaches this. Calibrated on real wire copies: they score "
        "0.37 and up, different events at most 0.016.",
        low=0.0,
        high=1.0,
    )
    story_threshold: float = _setting(
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
    to: list[str] = _setting(
        [], "Digest recipients. Empty: digests are only written to the outbox."
    )
    from_: str = _setting("news-monitor@localhost", "The From address of digests.")
    smtp_url: str = _setting(
        "",
        "smtp://[user:password@]host[:port] (STARTTLS when offered) or smtps://... "
        "Unset: digests are written as .eml files to outbox_dir.",
    )
    outbox_dir: str = _setting("data/outbox", "Folder for .eml digests when smtp_url is unset.")
    max_items: int = _setting(
        100,
        "Most articles a digest lists in each section (new reporting, copies, edits, ...); the "
        "rest are counted, and the story file has them all. A backfill can add thousands.",
        low=1,
    )


@dataclass(frozen=True)
class LogSettings:
    level: str = _setting("info", "debug, info, warning or error.")
    format: str = _setting("json", "json (one object per line) or text.")


@dataclass(frozen=True)
class Source:
    url: str
    name: str
    interval: float | None = None  # None: learned from how often the source publishes
    robots: bool = True  # false: this source's article pages are fetched whatever robots.txt says


@dataclass(frozen=True)
class Story:
    slug: str
    title: str
    seeds: Path | None
    keywords: tuple[str, ...] = ()
    sources: tuple[str, ...] | None = None  # None: every source
    story_threshold: float | None = None  # None: [match] story_threshold


@dataclass(frozen=True)
class Config:
    path: str
    storage: StorageSettings = field(default_factory=StorageSettings)
    fetch: FetchSettings = field(default_factory=FetchSettings)
    poll: PollSettings = field(default_factory=PollSettings)
    match: MatchSettings = field(default_factory=MatchSettings)
    email: EmailSettings = field(default_factory=EmailSettings)
    log: LogSettings = field(default_factory=LogSettings)
    sources: tuple[Source, ...] = ()
    stories: tuple[Story, ...] = ()

    def replace(self, **changes: Any) -> Config:
        return dataclasses.replace(self, **changes)


SECTIONS: dict[str, type] = {
    "storage": StorageSettings,
    "fetch": FetchSettings,
    "poll": PollSettings,
    "match": MatchSettings,
    "email": EmailSettings,
    "log": LogSettings,
}


@dataclass(frozen=True)
class Setting:
    section: str
    key: str  # as written in TOML (``from``, not ``from_``)
    type: str
    default: Any
    help: str

    @property
    def env(self) -> str:
        return f"MONITOR_{self.section}_{self.key}".upper()


def _toml_key(name: str) -> str:
    return name.rstrip("_")


def _kind_of(cls: type, name: str) -> str:
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    if f.metadata["kind"]:
        return str(f.metadata["kind"])
    annotation = str(f.type)
    return {"bool": "bool", "int": "int", "float": "float", "str": "str"}.get(annotation, "list")


def _default(f: dataclasses.Field[Any]) -> Any:
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return f.default


SETTINGS: tuple[Setting, ...] = tuple(
    Setting(
        section,
        _toml_key(f.name),
        _kind_of(cls, f.name),
        _default(f),
        f.metadata["help"],
    )
    for section, cls in SECTIONS.items()
    for f in dataclasses.fields(cls)
)


def _coerce(kind: str, value: Any, *, from_env: bool) -> Any:
    """Check and convert one value to its declared kind; raise ValueError saying what is wrong."""
    if kind == "duration":
        return parse_duration(value)
    if kind == "bool":
        if isinstance(value, bool):
            return value
        if from_env and str(value).lower() in ("1", "true", "yes", "on"):
            return True
        if from_env and str(value).lower() in ("0", "false", "no", "off", ""):
            return False
        raise ValueError(f"expected true or false, got {value!r}")
    if kind in ("int", "float"):
        # TOML already typed the value: only the environment's text is converted. A bool is an
        # int to Python, never to us.
        wanted = int if kind == "int" else (int, float)
        noun = "an integer" if kind == "int" else "a number"
        if isinstance(value, bool) or not (from_env or isinstance(value, wanted)):
            raise ValueError(f"expected {noun}, got {value!r}")
        try:
            return int(value) if kind == "int" else float(value)
        except ValueError:
            raise ValueError(f"expected {noun}, got {value!r}") from None
    if kind == "list":
        if from_env:
            return [part.strip() for part in str(value).split(",") if part.strip()]
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"expected a list of strings, got {value!r}")
        return list(value)
    if not isinstance(value, str):
        raise ValueError(f"expected a string, got {value!r}")
    return value


def _out_of_range(cls: type, name: str, value: Any) -> str | None:
    f = next(f for f in dataclasses.fields(cls) if f.name == name)
    low, high = f.metadata["low"], f.metadata["high"]
    if low is not None and value < low:
        return f"must be at least {low:g}, got {value!r}"
    if high is not None and value > high:
        return f"must be at most {high:g}, got {value!r}"
    return None


def _section(name: str, raw: Any, env: Mapping[str, str], where: str) -> Any:
    cls = SECTIONS[name]
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: [{name}] must be a table")
    names = {_toml_key(f.name): f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(names))
    if unknown:
        raise ConfigError(
            f"{where}: [{name}] {unknown[0]}: unknown setting (known: {', '.join(sorted(names))})"
        )
    values: dict[str, Any] = {}
    for key, attr in names.items():
        kind = _kind_of(cls, attr)
        env_name = f"MONITOR_{name}_{key}".upper()
        if env_name in env:
            try:
                values[attr] = _coerce(kind, env[env_name], from_env=True)
            except ValueError as exc:
                raise ConfigError(f"environment {env_name}: {exc}") from None
        elif key in raw:
            try:
                values[attr] = _coerce(kind, raw[key], from_env=False)
            except ValueError as exc:
                raise ConfigError(f"{where}: [{name}] {key}: {exc}") from None
        if attr in values:
            problem = _out_of_range(cls, attr, values[attr])
            if problem:
                origin = (
                    f"environment {env_name}" if env_name in env else f"{where}: [{name}] {key}"
                )
                raise ConfigError(f"{origin}: {problem}")
    return cls(**values)


def _check_url(url: Any, where: str) -> str:
    if not isinstance(url, str) or not url.strip():
        raise ConfigError(f"{where}: url: expected an http(s) URL, got {url!r}")
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 (urlsplit checks the port only when it is read)
    except ValueError as exc:
        raise ConfigError(f"{where}: url: {exc}: {url!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{where}: url: expected an http(s) URL, got {url!r}")
    return url.strip()


def _sources(raw: Any, where: str) -> tuple[Source, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: source: use [[source]] tables, one per source")
    out: list[Source] = []
    seen: set[str] = set()
    for index, table in enumerate(raw, start=1):
        here = f"{where}: [[source]] #{index}"
        if not isinstance(table, dict):
            raise ConfigError(f"{here}: must be a table")
        unknown = sorted(set(table) - {"url", "name", "interval", "robots"})
        if unknown:
            raise ConfigError(
                f"{here}: {unknown[0]}: unknown key (known: interval, name, robots, url)"
            )
        if "url" not in table:
            raise ConfigError(f"{here}: url: missing")
        url = _check_url(table["url"], here)
        name = table.get("name") or (urlsplit(url).hostname or url)
        if not isinstance(name, str):
            raise ConfigError(f"{here}: name: expected a string, got {name!r}")
        interval = None
        if "interval" in table:
            try:
                interval = parse_duration(table["interval"])
            except ValueError as exc:
                raise ConfigError(f"{here}: interval: {exc}") from None
        robots = table.get("robots", True)
        if not isinstance(robots, bool):
            raise ConfigError(f"{here}: robots: expected true or false, got {robots!r}")
        if url in seen:
            raise ConfigError(f"{here}: url: {url} is listed twice")
        seen.add(url)
        out.append(Source(url=url, name=name, interval=interval, robots=robots))
    return tuple(out)


_SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
STORY_KEYS = ("slug", "title", "seeds", "keywords", "sources", "story_threshold")


def _stories(raw: Any, sources: tuple[Source, ...], base: Path, where: str) -> tuple[Story, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: story: use [[story]] tables, one per story")
    names = {s.name for s in sources}
    out: list[Story] = []
    for index, table in enumerate(raw, start=1):
        here = f"{where}: [[story]] #{index}"
        if not isinstance(table, dict):
            raise ConfigError(f"{here}: must be a table")
        unknown = sorted(set(table) - set(STORY_KEYS))
        if unknown:
            raise ConfigError(
                f"{here}: {unknown[0]}: unknown key (known: {', '.join(sorted(STORY_KEYS))})"
            )
        slug = table.get("slug")
        if not isinstance(slug, str) or not _SLUG.match(slug):
            raise ConfigError(
                f"{here}: slug: expected lower-case letters, digits and dashes, got {slug!r}"
            )
        title = table.get("title", slug)
        if not isinstance(title, str):
            raise ConfigError(f"{here}: title: expected a string, got {title!r}")
        seeds = None
        if "seeds" in table:
            if not isinstance(table["seeds"], str):
                raise ConfigError(f"{here}: seeds: expected a folder path")
            seeds = (base / table["seeds"]).resolve()
            if not seeds.is_dir():
                raise ConfigError(f"{here}: seeds: no such folder: {seeds}")
        keywords = table.get("keywords", [])
        if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
            raise ConfigError(f"{here}: keywords: expected a list of strings")
        story_sources = table.get("sources")
        if story_sources is not None:
            if not isinstance(story_sources, list) or not all(
                isinstance(k, str) for k in story_sources
            ):
                raise ConfigError(f"{here}: sources: expected a list of source names")
            missing = [n for n in story_sources if n not in names]
            if missing:
                raise ConfigError(f"{here}: sources: no [[source]] is named {missing[0]!r}")
        threshold = table.get("story_threshold")
        if threshold is not None and (
            isinstance(threshold, bool)
            or not isinstance(threshold, int | float)
            or not 0 <= threshold <= 1
        ):
            raise ConfigError(
                f"{here}: story_threshold: expected a number from 0 to 1, got {threshold!r}"
            )
        out.append(
            Story(
                slug=slug,
                title=title,
                seeds=seeds,
                keywords=tuple(keywords),
                sources=tuple(story_sources) if story_sources is not None else None,
                story_threshold=float(threshold) if threshold is not None else None,
            )
        )
    slugs = [s.slug for s in out]
    for slug in slugs:
        if slugs.count(slug) > 1:
            raise ConfigError(f"{where}: [[story]] slug {slug!r} is used twice")
    return tuple(out)


def from_mapping(
    data: Mapping[str, Any],
    *,
    where: str = "<config>",
    base: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> Config:
    """Build a Config from parsed TOML (``where`` names the file in error messages)."""
    env = os.environ if env is None else env
    base = base or Path.cwd()
    known = set(SECTIONS) | {"source", "story"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(
            f"{where}: [{unknown[0]}]: unknown section (known: {', '.join(sorted(known))})"
        )
    sections = {name: _section(name, data.get(name), env, where) for name in SECTIONS}
    sources = _sources(data.get("source"), where)
    stories = _stories(data.get("story"), sources, base, where)
    return Config(path=where, sources=sources, stories=stories, **sections)


def load(path: str | os.PathLike[str] | None, *, env: Mapping[str, str] | None = None) -> Config:
    """Load the configuration from ``path`` (or $MONITOR_CONFIG); no file means all defaults."""
    env = os.environ if env is None else env
    if path is None:
        path = env.get("MONITOR_CONFIG") or None
    if path is None:
        return from_mapping({}, where="<defaults>", env=env)
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{file}: no such configuration file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{file}: cannot read: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: invalid TOML: {exc}") from None
    return from_mapping(data, where=str(file), base=file.parent, env=env)
