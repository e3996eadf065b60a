"""What changed in a story between two of its versions, in words a journalist reads: each event
after the first version up to the second, as one sentence naming the outlet, the article and
what happened (its relation and whose reporting it copies, an edit's version and change kinds,
a removal, a redirect, an article taken out or re-pointed). Pure: two story files in (as
``storage.storyfile.build_as_of`` rebuilds them), the changes out."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SECTIONS = (
    ("new", "New articles"),
    ("version", "New versions"),
    ("removed", "Taken down"),
    ("redirected", "Redirected"),
    ("dropped", "Taken out of the story"),
    ("repointed", "Re-pointed"),
    ("other", "Other changes"),
)
_SECTION_OF = {
    "first_report": "new",
    "copy": "new",
    "update": "version",
    "removed": "removed",
    "redirected": "redirected",
    "dropped": "dropped",
    "repointed": "repointed",
}


@dataclass(frozen=True)
class Change:
    """One change: the story version it made, the event, and a sentence saying it."""

    story_version: int
    event: str
    section: str
    at: str
    at_precision: str
    outlet: str
    url: str
    title: str | None
    says: str
    facts: dict[str, Any] = field(default_factory=dict)  # relation, copy_of, kinds, target...


def changes(before: dict[str, Any], after: dict[str, Any]) -> list[Change]:
    """Every change from the story file ``before`` to the later ``after``, in the order made."""
    articles = {a["url"]: a for o in after["outlets"] for a in o["articles"]}
    events = [e for e in after["timeline"] if e["story_version"] > before["version"]]
    return [_change(e, articles) for e in sorted(events, key=lambda e: e["story_version"])]


def _change(e: dict[str, Any], articles: dict[str, dict[str, Any]]) -> Change:
    detail = e.get("detail") or {}
    says, facts = _SAY.get(e["event"], _other)(e, detail, articles)
    return Change(
        e["story_version"],
        e["event"],
        _SECTION_OF.get(e["event"], "other"),
        e["at"],
        e.get("at_precision", "time"),
        e["outlet"],
        e["url"],
        e["title"],
        says,
        facts,
    )


def quoted(title: str | None, url: str) -> str:
    return f"“{title}”" if title else url


def _whose(url: str | None, outlet: str | None, articles: dict[str, dict[str, Any]]) -> str:
    """An article named by its outlet and title: Capital Wire's “Deal reached”."""
    if not url:
        return "an article no longer in the story"
    title = (articles.get(url) or {}).get("title")
    return f"{outlet}'s {quoted(title, url)}" if outlet else quoted(title, url)


Said = tuple[str, dict[str, Any]]


def _joined(e: dict[str, Any], detail: dict[str, Any], articles: dict[str, Any]) -> Said:
    article = articles.get(e["url"]) or {}
    relation = (
        detail.get("relation")
        or article.get("relation")
        or ("copy" if e["event"] == "copy" else "original")
    )
    copy_of = detail.get("copy_of") or article.get("copy_of")
    copy_of_outlet = detail.get("copy_of_outlet") or article.get("copy_of_outlet")
    title = quoted(e["title"], e["url"])
    if relation == "seed":
        says = f"seed article {title} ({e['outlet']}) defines the story"
    elif relation == "copy":
        says = (
            f"{e['outlet']} carried a copy of {_whose(copy_of, copy_of_outlet, articles)}: {title}"
        )
    else:
        says = f"{e['outlet']} reported {title} (original reporting)"
    similarity = detail.get("similarity", article.get("similarity"))
    if relation != "seed" and similarity is not None:
        says += f", similarity {similarity}"
    if detail.get("previously") == "off_topic":
        says += "; judged off-topic before"
    facts = {"relation": relation, "copy_of": copy_of, "copy_of_outlet": copy_of_outlet}
    return says, facts | {"similarity": similarity}


def _edited(e: dict[str, Any], detail: dict[str, Any], articles: dict[str, Any]) -> Said:
    number = e.get("article_version")
    versions = (articles.get(e["url"]) or {}).get("versions") or []
    version: dict[str, Any] = next((v for v in versions if v["version"] == number), {})
    kinds = _kinds(detail.get("kinds") or version.get("kinds") or [])
    says = f"{e['outlet']} edited {quoted(e['title'], e['url'])}: version {number}"
    if kinds:
        says += f" ({', '.join(kinds)})"
    changes = version.get("changes") or {}
    if changes.get("title_changed"):
        says += f"; the title was {quoted(changes.get('previous_title'), 'empty')}"
    if "words_added" in changes:
        says += f"; {changes['words_added']} words added, {changes.get('words_removed', 0)} removed"
    return says, {"article_version": number, "kinds": kinds}


def _kinds(raw: list[Any]) -> list[str]:
    """Change kinds as names, whether stored as names or as objects with their evidence."""
    out = []
    for kind in raw:
        name = kind.get("kind") or kind.get("name") if isinstance(kind, dict) else kind
        if name:
            out.append(str(name))
    return out


def _removed(e: dict[str, Any], detail: dict[str, Any], articles: dict[str, Any]) -> Said:
    status = detail.get("http_status")
    says = f"{e['outlet']} took down {quoted(e['title'], e['url'])}"
    return says + (f" (HTTP {status})" if status else ""), {"http_status": status}


def _redirected(e: dict[str, Any], detail: dict[str, Any], articles: dict[str, Any]) -> Said:
    target = detail.get("target")
    page = quoted(e["title"], e["url"])
    says = f"{e['outlet']}'s {page} now redirects to {target or 'another page'}"
    return says, {"target": target}


def _dropped(e: dict[str, Any], detail: dict[str, Any], articles: dict[str, Any]) -> Said:
    was = detail.get("previous_relation")
    says = f"{e['outlet']}'s {quoted(e['title'], e['url'])}"
    says += f" ({'a copy' if was == 'copy' else 'an original' if was else 'an article'})"
    says += " was taken out of the story"
    if detail.get("reason"):
        says += f": {detail['reason']}"
    return says, {"previous_relation": was, "reason": detail.get("reason")}


def _repointed(e: dict[str, Any], detail: dict[str, Any], articles: dict[str, Any]) -> Said:
    copy_of, outlet = detail.get("copy_of"), detail.get("copy_of_outlet")
    title = quoted(e["title"], e["url"])
    earlier = _whose(copy_of, outlet, articles)
    if detail.get("previous_relation") == "original":
        says = (
            f"{e['outlet']}'s {title} turned out to copy {earlier}, published earlier: "
            "now a copy of it, no longer an original"
        )
    else:
        previous = _whose(
            detail.get("previous_copy_of"), detail.get("previous_copy_of_outlet"), articles
        )
        says = (
            f"{e['outlet']}'s copy {title} now points at {earlier}, published earlier "
            f"(was {previous})"
        )
    facts = {"copy_of": copy_of, "copy_of_outlet": outlet}
    return says, facts | {"previous_copy_of": detail.get("previous_copy_of")}


def _other(e: dict[str, Any], detail: dict[str, Any], articles: dict[str, Any]) -> Said:
    return f"{e['outlet']}: {e['event']} {quoted(e['title'], e['url'])}", {}


_SAY = {
    "first_report": _joined,
    "copy": _joined,
    "update": _edited,
    "removed": _removed,
    "redirected": _redirected,
    "dropped": _dropped,
    "repointed": _repointed,
}


def _when(change: Change) -> str:
    return change.at[:10] if change.at_precision == "day" else change.at


def text(before: dict[str, Any], after: dict[str, Any], found: list[Change]) -> str:
    """The changes as text: a heading, then a section per kind of change, one line each with
    the story version it made and when, and the article's URL under it."""
    lines = [
        f"{after['story']}: {after['title']}",
        f"from version {before['version']} ({before['updated_at']}) "
        f"to version {after['version']} ({after['updated_at']}): "
        f"{len(found)} change{'s' if len(found) != 1 else ''}",
    ]
    for key, heading in SECTIONS:
        rows = [c for c in found if c.section == key]
        if not rows:
            continue
        lines += ["", f"{heading} ({len(rows)})"]
        for c in rows:
            lines += [f"  v{c.story_version}  {_when(c)}  {c.says}", f"        {c.url}"]
    return "\n".join(lines) + "\n"


def as_json(before: dict[str, Any], after: dict[str, Any], found: list[Change]) -> dict[str, Any]:
    """The changes for scripts: the two versions and one object per change."""

    def end(story: dict[str, Any]) -> dict[str, Any]:
        return {"version": story["version"], "updated_at": story["updated_at"]}

    return {
        "story": after["story"],
        "from": end(before),
        "to": end(after),
        "changes": [asdict(c) for c in found],
    }
