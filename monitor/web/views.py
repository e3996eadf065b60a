"""What the API answers and the pages show, as JSON-ready data, from what storage reads: a
story's summary, an article and its versions (with the side-by-side rows of the story page,
``monitor.publish.sidebyside``, and the change kinds in words, ``monitor.publish.kindtext``),
a source's state (``monitor sources``' own, ``monitor.sources.manage.status_of``), a digest, a
search hit. Every object carries ``links`` to itself in the API and on the pages.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from monitor.publish import kindtext, page, sidebyside
from monitor.sources.manage import status_of
from storage.browse import ArticleRow, DigestRow, Membership
from storage.models import Article, ArticleVersion, Source
from storage.stories import StorySummary


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def story(row: StorySummary) -> dict[str, Any]:
    return {
        "slug": row.slug,
        "title": row.title,
        "version": row.version,
        "updated_at": iso(row.updated_at),
        "outlets": row.outlets,
        "articles": row.articles,
        "copies": row.copies,
        "off_topic": row.off_topic,
        "links": {
            "self": f"/api/stories/{row.slug}",
            "file": f"/api/stories/{row.slug}/file",
            "articles": f"/api/stories/{row.slug}/articles",
            "facts": f"/api/stories/{row.slug}/facts",
            "page": f"/stories/{row.slug}",
        },
    }


def article_links(article_id: int) -> dict[str, str]:
    return {"self": f"/api/articles/{article_id}", "page": f"/articles/{article_id}"}


def article(row: ArticleRow) -> dict[str, Any]:
    """An article in a list."""
    a = row.article
    out: dict[str, Any] = {
        "id": a.id,
        "url": a.url,
        "title": a.title,
        "outlet": a.outlet,
        "domain": a.domain,
        "language": a.language,
        "published_at": iso(a.published_at),
        "first_seen_at": iso(a.first_seen_at),
        "status": a.status,
        "versions": row.versions,
        "links": article_links(a.id),
    }
    if row.relation is not None:
        out["relation"] = row.relation
    return out


def membership(m: Membership) -> dict[str, Any]:
    return {
        "story": m.slug,
        "title": m.title,
        "relation": m.relation,
        "copy_of": m.copy_of_url,
        "copy_of_id": m.copy_of_id,
        "similarity": None if m.similarity is None else round(m.similarity, 4),
        "reason": (m.match or {}).get("reason"),
        "links": {"story": f"/api/stories/{m.slug}", "page": f"/stories/{m.slug}"},
    }


def kinds(version: ArticleVersion) -> list[dict[str, Any]]:
    """The version's change kinds, each with its evidence as stored and in words."""
    out = []
    for kind in version.kinds or []:
        name, said = kindtext.describe(kind)
        evidence = kind.get("evidence") if isinstance(kind, dict) else None
        out.append({"kind": name, "evidence": evidence, "said": said})
    return out


def version_summary(article_id: int, v: ArticleVersion) -> dict[str, Any]:
    return {
        "version": v.version,
        "fetched_at": iso(v.fetched_at),
        "title": v.title,
        "word_count": v.word_count,
        "content_sha256": v.content_sha256,
        "changes": v.changes,
        "kinds": kinds(v),
        "returns_to": v.returns_to,
        "links": {
            "self": f"/api/articles/{article_id}/versions/{v.version}",
            "page": f"/articles/{article_id}",
        },
    }


def article_detail(a: Article, stories: Sequence[Membership]) -> dict[str, Any]:
    """An article with its stories and its versions (their texts are at their own links)."""
    return {
        **article(ArticleRow(a, len(a.versions))),
        "canonical_url": a.canonical_url,
        "authors": a.authors,
        "published_precision": a.published_precision,
        "updated_at": iso(a.updated_at),
        "removed_at": iso(a.removed_at),
        "redirected_to": a.redirected_to,
        "stories": [membership(m) for m in stories],
        "versions": [version_summary(a.id, v) for v in a.versions],
    }


def side_by_side(previous: ArticleVersion | None, v: ArticleVersion) -> list[Any] | None:
    """The rows of the story page's side-by-side diff from ``previous`` (the stored diff when
    its shape is known, else the two texts aligned again); None for a first version."""
    if previous is None:
        return None
    rows = sidebyside.from_diff(v.diff) if v.diff is not None else None
    if rows is None:
        rows = sidebyside.from_texts(previous.title, previous.text, v.title, v.text)
    return rows


def version_detail(
    a: Article, v: ArticleVersion, previous: ArticleVersion | None
) -> dict[str, Any]:
    return {
        "article": {"id": a.id, "url": a.url, "outlet": a.outlet, "links": article_links(a.id)},
        **version_summary(a.id, v),
        "authors": v.authors,
        "text": v.text,
        "notices": v.notices,
        "diff": v.diff,
        "side_by_side": side_by_side(previous, v),
        "evidence": {
            "http_status": v.http_status,
            "etag": v.etag,
            "last_modified": v.last_modified,
            "final_url": v.final_url,
            "html_size": v.html_size,
        },
    }


def page_versions(versions: Sequence[ArticleVersion]) -> list[dict[str, Any]]:
    """The versions as the story page's template shows them (``monitor.publish.page``): each
    after the first with its side-by-side diff and its kinds in words."""
    shaped = [
        {
            "version": v.version,
            "fetched_at": iso(v.fetched_at),
            "title": v.title,
            "word_count": v.word_count,
            "changes": v.changes,
            "kinds": v.kinds,
            "diff": v.diff,
            "text": v.text,
        }
        for v in versions
    ]
    return page.versions(shaped)


def source(s: Source, *, now: datetime) -> dict[str, Any]:
    """A source's state as ``monitor sources --format json`` gives it, with its outlet's
    articles' link and the schedule's reason."""
    state = status_of(s, now=now).as_json()
    return {
        **state,
        "domain": s.domain,
        "format": s.format,
        "interval_s": s.learned_interval_s or s.interval_s,
        "next_check_reason": s.next_check_reason,
        "links": {"articles": f"/api/articles?{urlencode({'outlet': s.name})}"},
    }


def digest(d: DigestRow) -> dict[str, Any]:
    return {
        "id": d.id,
        "story": d.story,
        "created_at": iso(d.created_at),
        "events": d.events,
        "recipients": d.recipients,
        "delivered_to": d.delivered_to,
        "links": {"story": f"/api/stories/{d.story}"},
    }
