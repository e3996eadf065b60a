"""Digest emails: what is new and what changed in each story since its last digest.

``compose`` is pure (story and events in, an EmailMessage out); ``send_due`` is the edge that
claims each story, reads the events no digest has shown, delivers through SMTP or to the outbox
folder, and records the digest (marking those events), so a failed delivery leaves the events
for the next attempt and two processes never send one story's digest together.
"""

from __future__ import annotations

import contextlib
import logging
import shlex
import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from monitor import crash
from monitor.app import App, StoryRef
from monitor.config import EmailSettings
from monitor.errors import ConfigError, MonitorError
from monitor.log import log
from monitor.publish.render import template
from storage import digests, members, sources, stories
from storage.storyfile import iso

logger = logging.getLogger(__name__)

SECTIONS = (
    ("first_report", "New reporting"),
    ("copy", "Copies and republications"),
    ("update", "Edited articles"),
    ("removed", "Taken down"),
    ("dropped", "Taken out of the story"),
    ("repointed", "Copies re-pointed to an earlier original"),
    # A seed's first_report: what the story was defined with, not news.
    ("seed", "Seed articles the story started from"),
)


# A source failing for longer than this is named in every digest of the stories it feeds.
FAILING_FOR = timedelta(days=1)

_NOUNS = {
    "New reporting": ("new report", "new reports"),
    "Copies and republications": ("copy", "copies"),
    "Edited articles": ("edit", "edits"),
    "Taken down": ("removal", "removals"),
    "Taken out of the story": ("article taken out", "articles taken out"),
    "Copies re-pointed to an earlier original": ("copy re-pointed", "copies re-pointed"),
    "Seed articles the story started from": ("seed", "seeds"),
}


class DeliveryError(MonitorError):
    """The SMTP server could not be reached or refused the message."""


@dataclass(frozen=True)
class DigestItem:
    event: str
    at: str
    outlet: str
    title: str | None
    url: str
    copy_of: str | None = None
    changes: str | None = None
    reason: str | None = None  # why it was taken out of the story (event dropped)

    @property
    def detail(self) -> str:
        """The line under the link: when, and what it copies, what changed or why it left."""
        parts = [self.at]
        if self.copy_of:
            parts.append(f"copy of {self.copy_of}")
        if self.changes:
            parts.append(self.changes)
        if self.reason:
            parts.append(self.reason)
        return " · ".join(parts)


@dataclass(frozen=True)
class FailingSource:
    name: str
    url: str
    since: str
    error: str


@dataclass(frozen=True)
class Delivered:
    story: str
    events: int
    delivered_to: str


def _describe(changes: dict[str, Any]) -> str:
    parts = [f"+{changes.get('words_added', 0)}/-{changes.get('words_removed', 0)} words"]
    if changes.get("title_changed"):
        parts.append(f"title was “{changes.get('previous_title')}”")
    return ", ".join(parts)


def export_command(config_path: str, slug: str) -> str:
    """The command that prints the whole story file, with ``--config`` when the configuration
    was read from a file (``<defaults>``, ``<demo>``: none), so that it answers as written."""
    config = "" if config_path.startswith("<") else f" --config {shlex.quote(config_path)}"
    return f"monitor{config} story export {shlex.quote(slug)} --format md"


def compose(
    *,
    story: dict[str, Any],
    items: list[DigestItem],
    since: datetime | None,
    now: datetime,
    settings: EmailSettings,
    failing: Sequence[FailingSource] = (),
    export: str | None = None,
) -> EmailMessage:
    """A multipart (plain text and HTML) digest of ``items`` for ``story``, naming the sources
    that have been failing for over a day (``failing``) so a silent feed is never missed;
    ``export`` is the command it suggests for the whole story file."""
    every = [(title, [i for i in items if i.event == event]) for event, title in SECTIONS]
    every = [(title, rows) for title, rows in every if rows]
    # Listed up to max_items a section, the rest counted: a backfill can add thousands.
    sections = [(title, rows[: settings.max_items], len(rows)) for title, rows in every]
    context = {
        "story": story,
        "items": items,
        "sections": sections,
        "since": since.isoformat() if since else None,
        "now": now.isoformat(),
        "failing": failing,
        "export": export or export_command("<defaults>", story["slug"]),
    }
    message = EmailMessage()
    counts = ", ".join(
        f"{len(rows)} {_NOUNS[title][0] if len(rows) == 1 else _NOUNS[title][1]}"
        for title, rows in every
    )
    message["Subject"] = f"[news-monitor] {story['title']}: {counts}"
    message["From"] = settings.from_
    if settings.to:
        message["To"] = ", ".join(settings.to)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain="news-monitor")
    message.set_content(template("digest.txt.j2").render(**context))
    message.add_alternative(template("digest.html.j2").render(**context), subtype="html")
    return message


def _items(session: Any, story_id: int) -> tuple[list[DigestItem], list[int]]:
    """The digest lines of the events no digest has shown yet, and those events' ids."""
    events = digests.undigested(session, story_id)
    return [_item(session, story_id, e) for e in events], [e.id for e in events]


def _item(session: Any, story_id: int, e: Any) -> DigestItem:
    """One event as a digest line: a seed's first report in its own section, a copy with the
    article and outlet it copies (as the event recorded them), an edit with its words."""
    a = e.article
    detail = e.detail or {}
    event, copy_of, changes, reason = e.event, None, None, None
    if e.event in ("first_report", "copy", "dropped", "repointed"):
        row = members.decision(session, story_id, a.id)
        relation = detail.get("relation") or row.relation
        if e.event == "first_report" and relation == "seed":
            event = "seed"
        copy_of = _copy_of(detail, row) if e.event in ("copy", "repointed") else None
        if e.event == "dropped":
            reason = detail.get("reason") or (row.match or {}).get("reason")
    if e.event == "repointed":
        reason = "published earlier than what it was a copy of"
        if detail.get("previous_relation") == "original":
            reason = "found to copy an article published earlier: no longer an original"
    if e.event == "update":
        version = next((v for v in a.versions if v.version == e.article_version), None)
        changes = _describe(version.changes) if version is not None else None
    # A seed known by its date only is dated by the day, not at a 00:00 it never had.
    day = e.event in ("first_report", "copy") and a.published_precision == "day"
    day = day and e.at == a.published_at
    at = e.at.date().isoformat() if day else e.at.isoformat()
    return DigestItem(event, at, a.outlet, a.title, a.url, copy_of, changes, reason)


def _copy_of(detail: dict[str, Any], row: Any) -> str | None:
    """What a copy copies, with the outlet: ``URL (Outlet)``."""
    url = detail.get("copy_of") or (row.copy_of.url if row.copy_of is not None else None)
    outlet = detail.get("copy_of_outlet") or (row.copy_of.outlet if row.copy_of else None)
    if url is None:
        return None
    return f"{url} ({outlet})" if outlet else url


def deliver(message: EmailMessage, settings: EmailSettings, *, stem: str) -> str:
    """Send through SMTP, or write ``<outbox_dir>/<stem>.eml``; returns where it went."""
    if not settings.smtp_url:
        return _to_outbox(message, Path(settings.outbox_dir), stem)
    if not settings.to:
        raise ConfigError("[email] to: no recipients, but smtp_url is set")
    url = urlsplit(settings.smtp_url)
    if url.scheme not in ("smtp", "smtps") or not url.hostname:
        raise ConfigError(
            f"[email] smtp_url: expected smtp://host[:port] or smtps://..., "
            f"got {settings.smtp_url!r}"
        )
    if settings.smtp_password and not url.username:
        raise ConfigError("[email] smtp_password: set, but smtp_url names no user to log in as")
    port = url.port or (465 if url.scheme == "smtps" else 25)
    where = f"{url.scheme}://{url.hostname}:{port}"
    try:
        smtp: smtplib.SMTP
        if url.scheme == "smtps":
            smtp = smtplib.SMTP_SSL(
                url.hostname, port, timeout=30, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(url.hostname, port, timeout=30)
        with smtp:
            smtp.ehlo()
            if url.scheme == "smtp" and smtp.has_extn("starttls"):
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if url.username:
                password = settings.smtp_password or unquote(url.password or "")
                smtp.login(unquote(url.username), password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"{where}: cannot send the digest: {exc}") from exc
    return where


def _to_outbox(message: EmailMessage, outbox: Path, stem: str) -> str:
    """``<outbox>/<stem>.eml`` written; a folder that cannot be made or written (read-only, a
    full disk) is a DeliveryError naming it and the setting."""
    path = outbox / f"{stem}.eml"
    try:
        outbox.mkdir(parents=True, exist_ok=True)
        path.write_bytes(bytes(message))
    except OSError as exc:
        with contextlib.suppress(OSError):  # no half-written message for a reader to find
            path.unlink(missing_ok=True)
        raise DeliveryError(
            f"[email] outbox_dir: cannot write {exc.filename or path}: {exc.strerror or exc}"
        ) from exc
    return str(path)


def send_due(app: App, *, now: datetime) -> list[Delivered]:
    """Send one digest per story that has events no digest has shown yet.

    Each story is claimed first (``storage.digests.claim``, a lease), so of several processes
    sending at once only one composes and sends a story's digest; the others skip it. The claim
    is released when the digest is recorded, or when sending fails.
    """
    out = []
    for ref in app.stories:
        with app.db.read() as session:
            if not digests.has_undigested(session, ref.id):
                continue
        with app.db.write() as session:
            until = digests.claim(session, ref.id, now=now)
        if until is None:
            log(logger, "digest_skipped", story=ref.slug, reason="claimed by another sender")
            continue
        try:
            delivered = _send_claimed(app, ref, now=now, until=until)
        except BaseException:
            _release(app, ref.id, until)
            raise
        if delivered is not None:
            out.append(delivered)
    return out


def _release(app: App, story_id: int, until: datetime) -> None:
    """Give the claim back after a failure; if even that fails, the lease ends by itself, and
    the failure reported is the first one."""
    with contextlib.suppress(Exception), app.db.write() as session:
        digests.release(session, story_id, until)


def _send_claimed(app: App, ref: StoryRef, *, now: datetime, until: datetime) -> Delivered | None:
    """Compose, deliver and record the digest of a story this process has claimed; None (the
    claim given back) when another sender showed the events between the check and the claim."""
    with app.db.read() as session:
        last = digests.last_digest(session, ref.id)
        items, event_ids = _items(session, ref.id)
        story = stories.story_by_id(session, ref.id)
        failing = [
            FailingSource(s.name, s.url, iso(s.failing_since) or "", s.error_message or "")
            for s in sources.failing_sources(session, since=now - FAILING_FOR)
            if ref.sources is None or s.name in ref.sources
        ]
        summary = {
            "slug": story.slug,
            "title": story.title,
            "version": story.version,
            "updated_at": iso(story.updated_at),
        }
    if not items:
        _release(app, ref.id, until)
        return None
    message = compose(
        story=summary,
        items=items,
        since=last.created_at if last else None,
        now=now,
        settings=app.config.email,
        failing=failing,
        export=export_command(app.config.path, ref.slug),
    )
    stem = f"{now.strftime('%Y%m%dT%H%M%SZ')}-{ref.slug}-v{summary['version']}"
    where = deliver(message, app.config.email, stem=stem)
    # Delivered, not recorded: a crash here sends the digest again once the claim's lease ends
    # (at least once; issue 17's outbox records before sending).
    crash.point("digest.delivered")
    with app.db.write() as session:
        digests.record_digest(
            session,
            story_id=ref.id,
            created_at=now,
            event_ids=event_ids,
            recipients=list(app.config.email.to),
            delivered_to=where,
            claimed_until=until,
        )
    log(logger, "digest", story=ref.slug, events=len(items), delivered_to=where)
    return Delivered(ref.slug, len(items), where)
