"""A change kind's evidence in words a reader reads ("correction: 29,000 became 39,000 in
“Federal figures show ...”"), for the story file's renderings and the story diff. Pure.

The evidence itself (``article_versions.kinds``, ``monitor.publish.kinds``) stays in the JSON;
this only says it. An evidence of a shape it does not know is shown as JSON text, so nothing is
hidden.
"""

from __future__ import annotations

import json
from typing import Any

QUOTE_CHARS = 160  # a quoted sentence is cut here, at a word


def quoted(text: Any, limit: int = QUOTE_CHARS) -> str:
    """``text`` in quotation marks, cut at a word past ``limit`` characters."""
    value = " ".join(str(text).split())
    if len(value) > limit:
        value = value[:limit].rsplit(" ", 1)[0] + " …"
    return f"“{value}”"


def _count(n: Any, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _headline(e: dict[str, Any]) -> str:
    return f"the headline {quoted(e.get('old') or '')} became {quoted(e.get('new') or '')}"


def _correction(e: dict[str, Any]) -> str:
    parts = [
        f"{r.get('type', 'a value')} {r.get('old')} became {r.get('new')} in "
        f"{quoted(r.get('sentence', ''))}"
        for r in e.get("replaced") or []
    ]
    parts += [f"the page says {quoted(n)}" for n in e.get("notices") or []]
    return "; ".join(parts)


def _update(e: dict[str, Any]) -> str:
    added = _count(e.get("sentences", 0), "sentence")
    if e.get("paragraphs"):
        added += f" ({_count(e['paragraphs'], 'new paragraph')})"
    texts = e.get("text") or []
    first = f", starting {quoted(texts[0])}" if texts else ""
    notice = "".join(f"; the page says {quoted(n)}" for n in e.get("notices") or [])
    return f"{added} added{first}{notice}"


def _removal(e: dict[str, Any]) -> str:
    gone = [
        *(f"the quotation {quoted(q)}" for q in e.get("quotes") or []),
        *(f"the paragraph {quoted(p)}" for p in e.get("paragraphs") or []),
        *(quoted(s) for s in e.get("sentences") or []),
    ]
    return "taken out: " + "; ".join(gone) if gone else "text taken out"


def _edit(e: dict[str, Any]) -> str:
    parts = []
    if e.get("sentences"):
        parts.append(f"{_count(e['sentences'], 'sentence')} reworded")
    if e.get("moved"):
        parts.append(f"{_count(e['moved'], 'sentence')} moved")
    return ", ".join(parts) or "reworded"


def _byline(e: dict[str, Any]) -> str:
    old = ", ".join(e.get("old") or []) or "none"
    new = ", ".join(e.get("new") or []) or "none"
    return f"the byline {old} became {new}"


def _return(e: dict[str, Any]) -> str:
    return f"back to the text and title of version {e.get('version')}"


def _silent(e: dict[str, Any]) -> str:
    shown = e.get("notices") or []
    says = f" (it shows only {', '.join(quoted(n) for n in shown)})" if shown else ""
    return f"no new correction or update notice on the page{says}"


_SAY = {
    "headline": _headline,
    "correction": _correction,
    "update": _update,
    "removal": _removal,
    "edit": _edit,
    "byline": _byline,
    "return": _return,
    "silent": _silent,
}


def describe(kind: Any) -> tuple[str, str]:
    """The kind's name and its evidence in words (JSON text for a shape not known)."""
    if not isinstance(kind, dict):
        return str(kind), ""
    name, evidence = str(kind.get("kind", "")), kind.get("evidence")
    say = _SAY.get(name)
    if isinstance(evidence, dict) and say is not None:
        try:
            text = say(evidence)
        except (AttributeError, TypeError, IndexError):
            text = ""  # an evidence of another shape: shown as it is, below
        if text:
            return name, text
    if evidence is None or isinstance(evidence, str):
        return name, evidence or ""
    return name, json.dumps(evidence, ensure_ascii=False, sort_keys=True)
