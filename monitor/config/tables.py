"""The ``[[source]]`` and ``[[story]]`` tables: their keys declared like the settings (type,
default, help, through ``values.checked``), then what only a whole table or the whole file can
check: a source's default name, a story's seeds folder, a URL or a slug given twice, a story
naming a source that does not exist. Errors name the file, the table and its number:
``<file>: [[source]] #2: url: ...``.
"""

# declare() returns a dataclasses.field carrying the Rule; ruff cannot see that it is a field.
# ruff: noqa: RUF009

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import MISSING, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from monitor.config.reach import LANGUAGES, QUERY_KINDS, ReachSettings, query_name, query_url
from monitor.config.values import Rule, checked, default_of, kind_of, toml_key
from monitor.config.values import declare as _declare
from monitor.errors import ConfigError
from monitor.urls import URL_MAX


@dataclass(frozen=True)
class Source:
    url: str = _declare(
        MISSING,
        "An `http://` or `https://` URL with a host name, without spaces or control characters, "
        f"at most {URL_MAX} characters; surrounding spaces are trimmed. Each URL may appear in "
        "only one `[[source]]`. Required for a feed; a query source (`kind` other than "
        "`feed`) has it made from `[reach]`'s service URL, `query` and `language`.",
        "url",
        shown="required (a feed); made from `query` (a query source)",
    )
    name: str = _declare(
        MISSING,
        "The outlet's name, shown in story files and digests and used by `[[story]] sources`.",
        "str",
        shown="the URL's host name",
    )
    # None: learned from how often the source publishes
    interval: float | None = _declare(
        None,
        "How often the feed is polled, fixed. Without it the source starts at `[poll] "
        "default_interval` and its schedule learns how often it publishes (see below).",
        "duration",
        shown="learned",
    )
    # False: this source's article pages are fetched whatever robots.txt says
    robots: bool = _declare(
        True,
        "`false`: fetch this source's article pages whatever the site's robots.txt says (for a "
        "feed you have the outlet's permission to follow). `[fetch] obey_robots = false` does "
        "this for every source.",
        "bool",
    )
    kind: str = _declare(
        "feed",
        "`feed` (a feed or sitemap at `url`), or a query source polled like a feed: "
        "`google_news` (Google News search RSS), `bing_news` (Bing News search RSS) or `gdelt` "
        "(the GDELT DOC 2.0 article list). A query source's articles are named after their "
        "outlet (the `[[source]]` with the article's domain, else the outlet the service "
        "names, else the domain), never after the service.",
        "str",
        choices=("feed", *QUERY_KINDS),
    )
    query: str | None = _declare(
        None,
        "What a query source asks for (`kind` other than `feed`), in the service's syntax: "
        '`"Roxham Road"`, `Roxham OR "chemin Roxham"`.',
        "str",
        shown="none",
    )
    language: str = _declare(
        "en",
        "A query source's language: `en` or `fr` (Google News' and Bing's Canadian editions, "
        "GDELT's `sourcelang:`).",
        "str",
        choices=LANGUAGES,
    )


@dataclass(frozen=True)
class Story:
    slug: str = _declare(
        MISSING,
        "Lower-case letters, digits and dashes, starting with a letter or digit "
        "(`^[a-z0-9][a-z0-9-]*$`); unique among the stories. Used in `monitor story export "
        "SLUG` and file names.",
        "slug",
        required=True,
    )
    title: str = _declare(
        MISSING, "The story's title in story files and digests.", "str", shown="the slug"
    )
    seeds: Path | None = _declare(
        MISSING,
        "A folder of seed files (see below), relative to the configuration file's folder; it "
        "must exist when the configuration is loaded.",
        "str",
        shown="no seeds",
        wrong="expected a folder path",
    )
    keywords: tuple[str, ...] = _declare(
        (),
        "Words or phrases that mark an article as about the story: when one appears, half of "
        "`[match] story_threshold` suffices.",
        "array",
        wrong="expected a list of strings",
    )
    # None: every source
    sources: tuple[str, ...] | None = _declare(
        None,
        "Names of the `[[source]]` tables whose articles are considered for this story; each "
        "must be the `name` of a `[[source]]` (or its default name, the URL's host name).",
        "array",
        shown="every source",
        wrong="expected a list of source names",
    )
    # None: [match] story_threshold
    story_threshold: float | None = _declare(
        None,
        "This story's same-story threshold, from 0 to 1, in place of the `[match]` one. How "
        "high a story's own articles score against its seeds differs from story to story: on "
        "the benchmark's 152 seeded events each event's best threshold lies between 0.12 and "
        "0.43, and F1 would be 0.956 with each at its best against 0.868 with one for all "
        "(`benchmarks/matching.py`). `monitor story scores SLUG` lists what the story's "
        "articles nearest the threshold scored against what they needed, and `--threshold X` "
        "which of those decisions X would flip: lower it when articles of the story sit just "
        "under the line, raise it when other events sit just over it. It applies to articles "
        "decided from then on; `monitor story redecide SLUG` applies it to those decided "
        "before (`--dry-run` to see the changes first). Once the analyst labels the story's "
        "articles (`monitor story label`), it decides with the threshold fitted from the "
        "labels, this one its prior.",
        "float",
        low=0.0,
        high=1.0,
        shown="`[match] story_threshold`",
        wrong="expected a number from 0 to 1, got {value!r}",
    )


@dataclass(frozen=True)
class Recipient:
    address: str = _declare(
        MISSING, "One bare email address (`desk@example.org`).", "email", required=True
    )
    schedule: str = _declare(
        MISSING,
        "`immediately`, `every 30m` or a cron expression, as `[email] schedule`.",
        "schedule",
        shown="`[email] schedule`",
    )
    timezone: str = _declare(
        MISSING,
        "The recipient's time zone, for the cron schedule and the times shown.",
        "timezone",
        shown="`[email] timezone`",
    )
    quiet: bool = _declare(
        MISSING,
        "No digest when nothing happened, as `[email] quiet`.",
        "bool",
        shown="`[email] quiet`",
    )
    # None: every story
    stories: tuple[str, ...] | None = _declare(
        None,
        "Slugs of the `[[story]]` tables this recipient gets digests of, on this table's "
        "schedule; another `[[recipient]]` table with the same address may give other stories "
        "another schedule. A story may appear once per address.",
        "array",
        shown="every story",
        wrong="expected a list of story slugs",
    )


TABLES: dict[str, type] = {"source": Source, "story": Story, "recipient": Recipient}
STORY_KEYS = tuple(toml_key(f.name) for f in dataclasses.fields(Story))


@dataclass(frozen=True)
class TableKey:
    """One key of a ``[[source]]`` or ``[[story]]`` table, for the documentation."""

    table: str
    key: str
    type: str
    required: bool
    default: Any  # the value a missing key takes, unless ``shown`` words it
    shown: str | None
    help: str


TABLE_KEYS: tuple[TableKey, ...] = tuple(
    TableKey(
        table,
        toml_key(f.name),
        kind_of(f),
        Rule.of(f).required,
        default_of(f),
        Rule.of(f).shown,
        Rule.of(f).help,
    )
    for table, cls in TABLES.items()
    for f in dataclasses.fields(cls)
)


def _tables(raw: Any, name: str, where: str) -> list[tuple[str, dict[str, Any]]]:
    """The ``[[name]]`` tables with the place each is named by in errors."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise ConfigError(f"{where}: {name}: use [[{name}]] tables, one per {name}")
    out = []
    for index, table in enumerate(raw, start=1):
        here = f"{where}: [[{name}]] #{index}"
        if not isinstance(table, dict):
            raise ConfigError(f"{here}: must be a table")
        out.append((here, table))
    return out


Then = Mapping[str, Callable[[Any], Any]]


def _read(cls: type, table: dict[str, Any], here: str, then: Then | None = None) -> dict[str, Any]:
    """The keys of ``table`` checked against ``cls``'s declarations, in declaration order: the
    written ones, and the required ones (checked as None when missing). ``then[key]`` goes on
    from a key's checked value (a ValueError names the key too)."""
    fields = {toml_key(f.name): f for f in dataclasses.fields(cls)}
    unknown = sorted(set(table) - set(fields))
    if unknown:
        raise ConfigError(f"{here}: {unknown[0]}: unknown key (known: {', '.join(sorted(fields))})")
    values: dict[str, Any] = {}
    for key, f in fields.items():
        if key in table or Rule.of(f).required:
            try:
                value = checked(f, table.get(key))
                values[f.name] = (then or {}).get(key, _same)(value)
            except ValueError as exc:
                raise ConfigError(f"{here}: {key}: {exc}") from None
    return values


def _same(value: Any) -> Any:
    return value


def _query_source(values: dict[str, Any], here: str, reach: ReachSettings) -> None:
    """A query source's URL and default name, made from its kind, query and language."""
    kind, language = values["kind"], values.get("language", "en")
    query = (values.get("query") or "").strip()
    if not query:
        raise ConfigError(f"{here}: query: required for a {kind} source")
    if "url" in values:
        raise ConfigError(f"{here}: url: a {kind} source's URL is made from its query")
    values["query"] = query
    values["url"] = query_url(reach, kind, query, language)
    values["name"] = values.get("name") or query_name(kind, query, language)


def read_sources(raw: Any, where: str, reach: ReachSettings | None = None) -> tuple[Source, ...]:
    out: list[Source] = []
    seen: set[str] = set()
    for here, table in _tables(raw, "source", where):
        values = _read(Source, table, here)
        if values.get("kind", "feed") != "feed":
            _query_source(values, here, reach or ReachSettings())
        elif "url" not in values:
            raise ConfigError(f"{here}: url: missing (required for a feed)")
        elif values.get("query"):
            raise ConfigError(f"{here}: query: only a query source (kind) has one")
        url = values["url"]
        values["name"] = values.get("name") or urlsplit(url).hostname or url
        if url in seen:
            raise ConfigError(f"{here}: url: {url} is listed twice")
        seen.add(url)
        out.append(Source(**values))
    return tuple(out)


def _folder(base: Path) -> Callable[[str], Path]:
    def resolve(seeds: str) -> Path:
        folder = (base / seeds).resolve()
        try:
            found = folder.is_dir()
        except OSError as exc:  # a name too long for the file system, a folder we may not read
            raise ValueError(f"cannot read {folder}: {exc.strerror or exc}") from None
        if not found:
            raise ValueError(f"no such folder: {folder}")
        return folder

    return resolve


def _known(names: set[str]) -> Callable[[list[str]], tuple[str, ...]]:
    def check(sources: list[str]) -> tuple[str, ...]:
        missing = [n for n in sources if n not in names]
        if missing:
            raise ValueError(f"no [[source]] is named {missing[0]!r}")
        return tuple(sources)

    return check


def read_stories(
    raw: Any, sources: tuple[Source, ...], base: Path, where: str
) -> tuple[Story, ...]:
    then: Then = {
        "seeds": _folder(base),
        "sources": _known({s.name for s in sources}),
        "keywords": tuple,
    }
    out: list[Story] = []
    for here, table in _tables(raw, "story", where):
        values = _read(Story, table, here, then)
        values.setdefault("title", values["slug"])
        out.append(Story(**{"seeds": None, **values}))
    slugs = [s.slug for s in out]
    for slug in slugs:
        if slugs.count(slug) > 1:
            raise ConfigError(f"{where}: [[story]] slug {slug!r} is used twice")
    return tuple(out)


def read_recipients(
    raw: Any, stories: tuple[Story, ...], to: list[str], defaults: dict[str, Any], where: str
) -> tuple[Recipient, ...]:
    """The ``[[recipient]]`` tables, then one recipient per address of ``[email] to`` (every
    story, ``defaults``: the ``[email]`` schedule, time zone and quiet). An address may get a
    story once: twice would send two digests of it."""
    slugs = {s.slug for s in stories}

    def known(names: list[str]) -> tuple[str, ...]:
        missing = [n for n in names if n not in slugs]
        if missing:
            raise ValueError(f"no [[story]] has the slug {missing[0]!r}")
        return tuple(names)

    out = [
        Recipient(**{**defaults, **_read(Recipient, table, here, {"stories": known})})
        for here, table in _tables(raw, "recipient", where)
    ]
    out += [Recipient(address=a, stories=None, **defaults) for a in to]
    taken: set[tuple[str, str]] = set()
    for r in out:
        for slug in r.stories if r.stories is not None else sorted(slugs) or ["*"]:
            if (r.address.lower(), slug) in taken:
                raise ConfigError(
                    f"{where}: recipient {r.address}: gets the story {slug!r} twice "
                    "([email] to and [[recipient]] tables name each address's stories once)"
                )
            taken.add((r.address.lower(), slug))
    return tuple(out)
