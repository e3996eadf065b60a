"""What storage.search and its two engines (storage.searchlite, storage.searchpg) share: the
tables as Core aliases, made once (building ORM aliases at every query took 5 ms of a rare
word's 7), and the page an engine ranks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, select

from storage.models import Article, ArticleVersion, Story, StoryArticle

version = ArticleVersion.__table__.alias("v")
newest = ArticleVersion.__table__.alias("newest")
article = Article.__table__
member = StoryArticle.__table__
story = Story.__table__


@dataclass(frozen=True)
class Ranked:
    """A page of version ids with their scores, best first, and the total of the matches
    (``exact`` False: estimated, see storage.searchlite)."""

    page: list[tuple[int, float]]
    total: int
    exact: bool = True


def joined(
    matches: Any, key: Any, conditions: list[ColumnElement[bool]], *columns: Any
) -> Select[Any]:
    """``columns`` of the rows of ``matches`` (an index, its version id ``key``) joined to
    their version and article and kept by ``conditions``."""
    return (
        select(*columns)
        .select_from(matches)
        .join(version, version.c.id == key)
        .join(article, article.c.id == version.c.article_id)
        .where(*conditions)
    )
