"""A digest as an email: the ``View`` (monitor.publish.digestview) laid out by Jinja2 templates
into a plain-text part that reads well in a terminal (wrapped, times in words) and an HTML part
with inline CSS, no script and no remote image, every link absolute; the headers a mail system
and a reader expect (List-Id, List-Unsubscribe, Auto-Submitted, Date) and a Message-ID made from
the story, the recipient and the period, so a resend is recognisably the same message. Pure.

Everything from the web (titles, outlets, first lines, changed words) is escaped by the
template, and the HTML is then cleaned by nh3 (ammonia) against an allow-list of tags,
attributes, CSS properties and URL schemes: a script, an event handler or a ``javascript:``
link that got past one layer does not get past the other.
"""

from __future__ import annotations

import hashlib
import textwrap
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import nh3

from monitor.publish.digestview import View
from monitor.publish.render import template
from monitor.publish.when import span, zone_name

WIDTH = 72  # the plain part's lines: a terminal's 80 columns with room for a quote mark

_TAGS = {
    "div", "p", "h1", "h2", "h3", "ul", "li", "a", "strong", "em", "small", "span", "del",
    "ins", "br", "blockquote", "table", "tr", "td",
}  # fmt: skip
_CSS = {
    "color", "background", "background-color", "font-family", "font-size", "font-weight",
    "font-style", "line-height", "margin", "margin-top", "margin-bottom", "padding",
    "padding-left", "border", "border-left", "border-radius", "max-width", "text-decoration",
    "list-style", "width",
}  # fmt: skip
_ATTRIBUTES = {"*": {"style"}, "a": {"href", "title"}}


@dataclass(frozen=True)
class Envelope:
    """Who the digest is for and from, and where its links point."""

    recipient: str  # "" : no recipient configured, written to the outbox folder only
    sender: str
    domain: str
    period: datetime
    zone: ZoneInfo
    since: datetime | None = None
    base_url: str | None = None
    unsubscribe: str = ""  # an https URL with {recipient} and {story}, or "": mailto


def message_id(slug: str, recipient: str, period: datetime, domain: str) -> str:
    """``<digest.SLUG.PERIOD.HASH@DOMAIN>``: one id per story, recipient and period, whoever
    builds it (the recipient hashed: an address has characters an id may not)."""
    who = hashlib.sha256(recipient.lower().encode("utf-8")).hexdigest()[:12]
    stamp = period.strftime("%Y%m%dT%H%M%SZ")
    return f"<digest.{slug}.{stamp}.{who}@{domain}>"


def link(url: str | None) -> str | None:
    """``url`` if it is an absolute http(s) URL, else None (shown as text, never a link)."""
    if not url:
        return None
    parts = urlsplit(url)
    return url if parts.scheme in ("http", "https") and parts.netloc else None


def wrap(text: str, indent: int = 0, first: str | None = None) -> str:
    """``text`` wrapped at WIDTH, every line indented by ``indent`` spaces (``first``: the
    first line's prefix in their place); a URL is never broken."""
    pad = " " * indent
    return textwrap.fill(
        " ".join(str(text).split()),
        WIDTH,
        initial_indent=pad if first is None else first,
        subsequent_indent=pad,
        break_long_words=False,
        break_on_hyphens=False,
    )


def sentence_text(segments: list[tuple[str, str]]) -> str:
    """A changed sentence for a terminal: ``[-removed words-]`` and ``{+added words+}`` (as
    wdiff and git's word diff write them)."""
    marks = {"": "{}", "del": "[-{}-]", "ins": "{{+{}+}}"}
    return " ".join(marks[op].format(words) for op, words in segments if words)


def _context(view: View, env: Envelope, now: datetime) -> dict[str, object]:
    base = env.base_url
    return {
        "v": view,
        "span": span(env.since, now=now, zone=env.zone),
        "zone": zone_name(env.zone, now),
        "story_url": f"{base}/stories/{view.slug}" if base else None,
        "page": (lambda article_id: f"{base}/articles/{article_id}") if base else None,
        "link": link,
        "wrap": wrap,
        "sentence_text": sentence_text,
        "unsubscribe": _unsubscribe(view, env)[0],
        "recipient": env.recipient,
    }


def _unsubscribe(view: View, env: Envelope) -> tuple[str, bool]:
    """The List-Unsubscribe target and whether it takes RFC 8058's one-click POST (https)."""
    if env.unsubscribe:
        url = env.unsubscribe.replace("{recipient}", quote(env.recipient, safe="")).replace(
            "{story}", quote(view.slug, safe="")
        )
        return url, url.startswith("https://")
    subject = quote(f"unsubscribe {view.slug} {env.recipient}".strip())
    return f"mailto:{env.sender}?subject={subject}", False


def html_part(view: View, env: Envelope, now: datetime) -> str:
    """The HTML document: the body rendered and cleaned by nh3, inside a fixed shell."""
    body = template("digest.html.j2").render(**_context(view, env, now))
    clean = nh3.clean(
        body,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        filter_style_properties=_CSS,
        link_rel="noopener noreferrer",
        strip_comments=True,
    )
    return template("digest_shell.html.j2").render(title=view.subject, body=clean)


def text_part(view: View, env: Envelope, now: datetime) -> str:
    return template("digest.txt.j2").render(**_context(view, env, now))


def compose(view: View, env: Envelope, *, now: datetime) -> EmailMessage:
    """The digest message: multipart/alternative, plain text then HTML, with its headers."""
    message = EmailMessage()
    message["Subject"] = view.subject
    message["From"] = env.sender
    if env.recipient:
        message["To"] = env.recipient
    message["Date"] = format_datetime(now)
    message["Message-ID"] = message_id(view.slug, env.recipient, env.period, env.domain)
    message["List-Id"] = f"{view.title} <{view.slug}.digest.{env.domain}>"
    target, one_click = _unsubscribe(view, env)
    message["List-Unsubscribe"] = f"<{target}>"
    if one_click:
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"  # no out-of-office replies to a digest
    message.set_content(text_part(view, env, now))
    message.add_alternative(html_part(view, env, now), subtype="html")
    return message
