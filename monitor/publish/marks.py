"""The timeline's marks as SVG, for ``parts.html.j2``'s ``lanes`` (the story file's page and
``monitor serve``'s story page): the text the template made, made here because a Jinja macro
call and four escaped fields per mark were most of a 5,000-article story page's rendering
(1,218 marks: about 17 ms of 25). Every value is escaped as the template escapes it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from markupsafe import Markup, escape


def shape(event: str, x: float, y: float) -> Markup:
    """The mark of an ``event`` at (``x``, ``y``): a circle for a first report, a diamond for a
    copy, a triangle for an update, a cross for a removal, a square for a dropped article."""
    if event == "first_report":
        return Markup(f'<circle class="mk first_report" cx="{x}" cy="{y}" r="7"/>\n')
    if event == "copy":
        return Markup(f'<polygon class="mk copy" points="{x},{y - 8} {x + 8},{y} {x},{y + 8} '
                      f'{x - 8},{y}"/>\n')  # fmt: skip
    if event == "update":
        return Markup(f'<polygon class="mk update" points="{x},{y - 8} {x + 7.5},{y + 6} '
                      f'{x - 7.5},{y + 6}"/>\n')  # fmt: skip
    if event == "removed":
        return Markup(f'<path class="mk removed" d="M{x - 6},{y - 8}l6,5 6,-5 2,2 -5,6 5,6 -2,2 '
                      f'-6,-5 -6,5 -2,-2 5,-6 -5,-6z"/>\n')  # fmt: skip
    if event == "dropped":
        return Markup(f'<rect class="mk dropped" x="{x - 6}" y="{y - 6}" width="12" '
                      f'height="12"/>\n')  # fmt: skip
    return Markup(f'<circle class="mk other" cx="{x}" cy="{y}" r="5"/>\n')


def marks(markers: Iterable[dict[str, Any]]) -> Markup:
    """The timeline's marks (``page.timeline``'s markers), a line each: a link to its article
    when it has an anchor and is focusable (to ``link`` when the marker has one, else to the
    anchor on the page), else a group; titled with when, what, who and which article."""
    out = []
    for m in markers:
        shown, label, outlet, title = (
            escape(m["shown"]), escape(m["label"]), escape(m["outlet"]), escape(m["title"])
        )  # fmt: skip
        drawn = shape(m["event"], m["x"], m["y"])
        titled = f"<title>{shown} · {label} · {outlet} · {title}</title>{drawn}"
        if m["anchor"] and m["focusable"]:
            href = escape(m["link"] if "link" in m else f"#{m['anchor']}")
            aria = f"{shown}, {label}: {outlet}, {title}"
            out.append(f'<a href="{href}" aria-label="{aria}">{titled}</a>\n')
        else:
            out.append(f"<g>{titled}</g>\n")
    return Markup("".join(out))


# What parts.html.j2 calls: each environment that loads it has them.
GLOBALS = {"shape": shape, "marks": marks}
