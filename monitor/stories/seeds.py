"""Seed documents: the articles that define a story.

A seeds folder holds one UTF-8 text file per seed article (``*.txt``, read in name order):
header lines ``key: value``, a blank line, then the article text. Known keys: ``title``,
``url``, ``outlet``, ``published_at`` (ISO 8601 date or date and time), ``language``, ``note``.
A seed without ``url`` is identified as ``seed:<story>/<file stem>``. A seed without ``title``
is titled by its first line (cut at ``TITLE_CHARS``), else by the story's title: a reader of
the story file sees words, not ``seed:<story>/003_c793181e4958acd0``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from monitor.errors import SeedError

KNOWN_KEYS = {"title", "url", "outlet", "published_at", "language", "note"}
# The longest title made from a seed's first line; a longer line is cut at a word, with "…".
TITLE_CHARS = 120


@dataclass(frozen=True)
class Seed:
    path: Path
    url: str
    title: str | None
    outlet: str
    published_at: datetime | None
    language: str | None
    text: str
    published_precision: str | None = None  # "day" for a bare date, "time" otherwise
    titled: bool = True  # the title is the file's own (False: made from its text or story)


def made_title(text: str, story_title: str | None) -> str | None:
    """A title for a seed file that gives none: its first line, cut at a word if long, else
    (a first line with no letter or digit) the story's title."""
    line = text.strip().splitlines()[0].strip() if text.strip() else ""
    if not any(c.isalnum() for c in line):
        return story_title
    if len(line) <= TITLE_CHARS:
        return line
    cut = line[: TITLE_CHARS - 1].rsplit(" ", 1)[0].rstrip(" ,;:.-–—")
    return cut + "…"


def parse_seed(path: Path, raw: str, story: str, story_title: str | None = None) -> Seed:
    header, sep, body = raw.partition("\n\n")
    if not sep:
        raise SeedError(f"{path}: expected header lines, a blank line, then the text")
    fields: dict[str, str] = {}
    for number, line in enumerate(header.splitlines(), start=1):
        key, colon, value = line.partition(":")
        key = key.strip().lower()
        if not colon or key not in KNOWN_KEYS:
            raise SeedError(
                f"{path}: line {number}: expected 'key: value' with key one of "
                f"{', '.join(sorted(KNOWN_KEYS))}, got {line!r}"
            )
        fields[key] = value.strip()
    published, precision = None, None
    if fields.get("published_at"):
        value = fields["published_at"]
        try:
            published = datetime.fromisoformat(value)
        except ValueError:
            raise SeedError(f"{path}: published_at: not an ISO 8601 date: {value!r}") from None
        if published.tzinfo is None:
            # A bare date is the day, taken at 00:00 UTC so that it sorts before that day's news.
            published = published.replace(tzinfo=UTC)
        precision = "day" if len(value) == 10 else "time"
    text = "\n\n".join(p.strip() for p in body.split("\n\n") if p.strip())
    if not text:
        raise SeedError(f"{path}: no text after the header")
    title = fields.get("title") or None
    return Seed(
        path=path,
        url=fields.get("url") or f"seed:{story}/{path.stem}",
        title=title or made_title(text, story_title),
        titled=title is not None,
        outlet=fields.get("outlet") or "Seed",
        published_at=published,
        published_precision=precision,
        language=fields.get("language") or None,
        text=text,
    )


def load_seeds(folder: Path, story: str, title: str | None = None) -> list[Seed]:
    """Every seed in ``folder`` of the story ``story`` (its slug; ``title``, its title); a
    SeedError names the file and line of any mistake."""
    if not folder.is_dir():
        raise SeedError(f"{folder}: no such seeds folder")
    seeds = []
    for path in sorted(folder.glob("*.txt")):
        try:
            raw = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SeedError(f"{path}: cannot read: {exc}") from None
        seeds.append(parse_seed(path, raw.replace("\r\n", "\n"), story, title))
    if not seeds:
        raise SeedError(f"{folder}: no seed files (*.txt)")
    return seeds
