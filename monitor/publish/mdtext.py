"""Text from the web made inert in Markdown: what a title, a byline or a URL says is shown as it
is and never becomes markup (HTML, links, emphasis, code, headings, table cells). Pure.

The rules are CommonMark's and GitHub's (GFM): every character that can open markup in the
middle of a line is backslash-escaped, ``<``, ``>`` and ``&`` become character references (a
backslash before ``<`` is not understood by every Markdown renderer; an entity is), and line
breaks become spaces, so that nothing from the web ever starts a line, where ``#``, ``>``,
``-``, ``1.`` and ``|`` tables open blocks. GFM's bare-URL autolinks (``www.``, ``http://``) are
broken by escaping the ``.`` after ``www`` and a ``:`` that is not followed by a space. Other
punctuation is left alone so that the Markdown stays readable as text. One thing no escape can
stop: GFM links a bare e-mail address (its autolink extension reads the text after escapes
are resolved), so an address in a title renders as a ``mailto:`` link on GitHub.
"""

from __future__ import annotations

import re
from urllib.parse import quote, urlsplit

# Characters that open inline markup in CommonMark or GFM anywhere in a line: code spans,
# emphasis, links and images (``!`` and ``(`` do nothing without ``[``), strikethrough, table
# cells, GitHub's ``$`` math, and ``#``, which would close an ATX heading. ``<``, ``>`` and ``&``
# (raw HTML and entities) become character references.
_ESCAPED = frozenset("\\`*_[]#|~$")
_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
# Line breaks in every form Unicode and CommonMark know, and the C0/C1 controls.
_BREAKS = re.compile(r"[\r\n\v\f\x85\u2028\u2029]+")
_CONTROLS = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x84\x86-\x9f]")
# GFM's autolinks of bare ``www.`` and ``scheme:`` text, and GitHub's ``:emoji:`` codes, are
# triggered by a ``.`` after ``www`` and a ``:`` followed by a non-space: those get a backslash
# (a ``:`` before a space, as in most titles, stays as it is).
_WWW = re.compile(r"(?i)\b(www)\.")
_COLON = re.compile(r":(?=\S)")


def _one_line(value: object) -> str:
    return _CONTROLS.sub("", _BREAKS.sub(" ", str(value))).replace("\t", " ").strip()


def text(value: object) -> str:
    """``value`` as inline Markdown text that renders exactly as its characters (line breaks as
    spaces, no space at either end, where it would undo a surrounding ``**``)."""
    if value is None:
        return ""
    one_line = _one_line(value)
    out = []
    for char in one_line:
        if char in _ESCAPED:
            out.append("\\" + char)
        else:
            out.append(_ENTITIES.get(char, char))
    return _COLON.sub(r"\\:", _WWW.sub(r"\1\\.", "".join(out)))


def code(value: object) -> str:
    """``value`` as a code span: fenced by one backtick more than its longest run of them, and
    padded with a space where it starts or ends with one (CommonMark strips one each side)."""
    inner = _one_line("" if value is None else value)
    fence = "`" * (max((len(run) for run in re.findall(r"`+", inner)), default=0) + 1)
    pad = " " if inner.startswith("`") or inner.endswith("`") else ""
    return f"{fence}{pad}{inner}{pad}{fence}"


# What may stand inside an angle-bracket autolink unencoded: a URL's reserved and unreserved
# characters, without ``<``, ``>``, spaces, quotes or backslashes, which would end or change it.
_URL_SAFE = "/:?#[]@!$&'()*+,;=%~-._"


def url(value: object) -> str:
    """An http(s) URL as a CommonMark autolink ``<...>`` (the characters that could end it
    percent-encoded); anything else, ``javascript:``, ``data:`` and ``seed:`` included, as plain
    text that links nowhere."""
    raw = "" if value is None else str(value)
    try:
        scheme = urlsplit(raw).scheme.lower()
    except ValueError:
        scheme = ""
    if scheme in ("http", "https") and not _BREAKS.search(raw):
        return "<" + quote(raw, safe=_URL_SAFE) + ">"
    return text(raw)
