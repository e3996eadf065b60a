"""A story's query sources made from its keywords (``monitor story sources SLUG
--add-queries``): for each of ``[reach] languages``, a Google News and a Bing News search and a
GDELT article list for any of the keywords, appended to the configuration file as ``[[source]]``
tables the way ``monitor sources add`` appends feeds (checked to load before the file is
replaced; tables already there are left alone)."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from monitor import config as configmod
from monitor.config.reach import LANGUAGES, query_name, query_url
from monitor.errors import ConfigError, UserError
from monitor.sources.manage import replace_checked, toml_string


@dataclass(frozen=True)
class QuerySource:
    kind: str
    query: str
    language: str

    @property
    def name(self) -> str:
        return query_name(self.kind, self.query, self.language)

    def table(self) -> list[str]:
        return [
            "[[source]]",
            f"name = {toml_string(self.name)}",
            f"kind = {toml_string(self.kind)}",
            f"query = {toml_string(self.query)}",
            f"language = {toml_string(self.language)}",
        ]


@dataclass
class Added:
    added: list[QuerySource] = field(default_factory=list)
    present: list[QuerySource] = field(default_factory=list)


def any_of(keywords: tuple[str, ...]) -> str:
    """The services' query for any of ``keywords``: each quoted, joined by OR (GDELT wants the
    alternatives in parentheses; the others accept them)."""
    quoted = [f'"{k.replace(chr(34), "")}"' for k in keywords if k.strip()]
    return quoted[0] if len(quoted) == 1 else f"({' OR '.join(quoted)})"


def story_queries(story: configmod.Story, given: str) -> list[QuerySource]:
    languages = [code.strip() for code in given.split(",") if code.strip()]
    unknown = [code for code in languages if code not in LANGUAGES]
    if unknown:
        raise UserError(f"[reach] languages: {unknown[0]!r} is not one of {', '.join(LANGUAGES)}")
    if not story.keywords:
        raise UserError(f"story {story.slug}: has no keywords to make queries from")
    query = any_of(story.keywords)
    return [
        QuerySource(kind, query, language)
        for language in languages
        for kind in configmod.QUERY_KINDS
    ]


def add_queries(config: configmod.Config, slug: str) -> Added:
    """Append the story's query sources to ``config``'s file (those not there yet)."""
    story = next((s for s in config.stories if s.slug == slug), None)
    if story is None:
        raise UserError(f"no story {slug!r} in {config.path}")
    wanted = story_queries(story, config.reach.languages)
    have = {s.url for s in config.sources}
    result = Added()
    for query in wanted:
        url = query_url(config.reach, query.kind, query.query, query.language)
        (result.present if url in have else result.added).append(query)
    if not result.added:
        return result
    path = Path(os.path.realpath(config.path))
    try:
        text = path.read_text(encoding="utf-8")
        tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{config.path}: cannot read: {exc}") from None
    lines = [
        f"# Query sources for the story {slug}, from its keywords (story sources --add-queries)"
    ]
    for query in result.added:
        lines += [*query.table(), ""]
    text = (text if text.endswith("\n") or not text else text + "\n") + "\n" + "\n".join(lines)
    urls = [query_url(config.reach, q.kind, q.query, q.language) for q in result.added]
    replace_checked(path, config.path, text, urls)
    return result
