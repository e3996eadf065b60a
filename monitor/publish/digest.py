"""Digest emails through a transactional outbox: each digest is built and recorded before it
is sent, then sent by whichever process claims it.

``build_due`` looks at each story for each recipient: when the recipient's schedule
(monitor.publish.cadence) says a digest is due, it builds it (the events none of the
recipient's digests showed, laid out by monitor.publish.digestview and .mail) and records it,
pending, with its whole message and a Message-ID made from the story, the recipient and the
period (storage.digests). ``send_due`` claims each due digest (one sender per digest, whatever
the number of processes), delivers it (monitor.publish.smtp) and records the outcome: sent,
pending again with a backoff (refused for now) or failed (refused for good), with the reply.
A crash between the server's acceptance and the record sends the same bytes again once the
claim's lease ends: same Message-ID, which a mail system may drop as a duplicate.

``run`` is both, as the daemon's rounds and ``monitor poll`` call it: retries need no command.
"""

from __future__ import annotations

import email.policy
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from monitor import crash
from monitor.app import App, StoryRef
from monitor.config import Recipient
from monitor.errors import NotFoundError
from monitor.log import log
from monitor.publish import cadence, digestread, digestview, mail, smtp
from storage import digests, stories
from storage.models import StoryEvent

logger = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=6)


@dataclass(frozen=True)
class Built:
    story: str
    recipient: str
    period: datetime
    events: int
    subject: str


@dataclass(frozen=True)
class Delivered:
    story: str
    recipient: str
    result: str  # sent | retry | failed
    reply: str
    delivered_to: str
    attempts: int


@dataclass(frozen=True)
class Round:
    built: list[Built]
    delivered: list[Delivered]

    @property
    def sent(self) -> int:
        return sum(d.result == "sent" for d in self.delivered)


def recipients(app: App) -> tuple[Recipient, ...]:
    """The configured recipients; none: one without an address, whose digests go to the
    outbox folder with no To: header, on the ``[email]`` schedule."""
    found = app.config.recipients
    if found:
        return found
    e = app.config.email
    return (Recipient(address="", schedule=e.schedule, timezone=e.timezone, quiet=e.quiet),)


def run(app: App, *, now: datetime) -> Round:
    """Build the digests due now, then send every digest due now (new ones and retries)."""
    smtp.check(app.config.email, recipients=len(app.config.recipients))
    return Round(build_due(app, now=now), send_due(app, now=now))


def build_due(app: App, *, now: datetime) -> list[Built]:
    out = []
    for ref in app.stories:
        for r in recipients(app):
            if r.stories is None or ref.slug in r.stories:
                built = _build_if_due(app, ref, r, now=now)
                if built is not None:
                    out.append(built)
    return out


def _period(
    app: App, ref: StoryRef, r: Recipient, session: Session, now: datetime
) -> datetime | None:
    began = stories.story_by_id(session, ref.id).created_at
    return cadence.due(
        cadence.Cadence(r.schedule, ZoneInfo(r.timezone), r.quiet),
        now=now,
        last_period=digests.last_period(session, ref.id, r.address),
        first_waiting=digests.first_unshown_at(session, ref.id, r.address),
        began=began,
    )


def _build_if_due(app: App, ref: StoryRef, r: Recipient, *, now: datetime) -> Built | None:
    """Build and record the recipient's digest of the story if one is due: checked first in a
    read (most rounds have nothing to do), then again under the story's lock, where it counts."""
    with app.db.read() as session:
        if _period(app, ref, r, session, now) is None:
            return None
    with app.db.write() as session:
        digests.lock_story(session, ref.id, now=now)
        period = _period(app, ref, r, session, now)
        if period is None:
            return None
        events = digests.unshown(session, ref.id, r.address)
        since = digests.last_period(session, ref.id, r.address)
        message, view = _compose(app, ref, r, session, events, period=period, since=since, now=now)
        added = digests.add(
            session,
            story_id=ref.id,
            recipient=r.address,
            period=period,
            now=now,
            message_id=str(message["Message-ID"]),
            subject=view.subject,
            # CRLF line ends, as SMTP's DATA wants them (smtplib sends bytes as given).
            message=message.as_bytes(policy=email.policy.SMTP),
            event_ids=[e.id for e in events],
        )
    if added is None:
        return None
    log(logger, "digest_built", story=ref.slug, recipient=r.address, events=len(events))
    return Built(ref.slug, r.address, period, len(events), view.subject)


def _compose(
    app: App,
    ref: StoryRef,
    r: Recipient,
    session: Session,
    events: list[StoryEvent],
    *,
    period: datetime,
    since: datetime | None,
    now: datetime,
) -> tuple[EmailMessage, digestview.View]:
    zone = ZoneInfo(r.timezone)
    rows = digestread.rows(session, ref.id, events)
    failing = digestread.failing(session, ref.sources, now)
    view = digestview.build(
        title=ref.title,
        slug=ref.slug,
        rows=rows,
        failing=failing,
        now=now,
        zone=zone,
        max_items=app.config.email.max_items,
    )
    email = app.config.email
    envelope = mail.Envelope(
        recipient=r.address,
        sender=email.from_,
        domain=email.domain or email.from_.rpartition("@")[2] or "localhost",
        period=period,
        zone=zone,
        since=since,
        base_url=app.config.web.base_url,
        unsubscribe=email.unsubscribe,
    )
    return mail.compose(view, envelope, now=now), view


def send_due(app: App, *, now: datetime) -> list[Delivered]:
    """Claim and deliver every digest due now, one at a time; the others' are skipped."""
    out = []
    with app.db.read() as session:
        due = digests.due_ids(session, now=now)
    for digest_id in due:
        with app.db.write() as session:
            claimed = digests.claim(session, digest_id, now=now)
        if claimed is None:
            log(logger, "digest_skipped", digest=digest_id, reason="claimed by another sender")
            continue
        out.append(_deliver(app, claimed, now=now))
    return out


def _stem(c: digests.Claimed) -> str:
    """The .eml file's name: period, story, recipient and the digest's id, so two digests never
    share a file (the same digest resent does: the same message)."""
    who = re.sub(r"[^A-Za-z0-9._-]+", "_", c.recipient) or "outbox"
    return f"{c.period.strftime('%Y%m%dT%H%M%SZ')}-{c.story_slug}-{who}-{c.id}"


def _deliver(app: App, c: digests.Claimed, *, now: datetime) -> Delivered:
    email = app.config.email
    outcome = smtp.deliver(c.message, recipient=c.recipient, settings=email, stem=_stem(c))
    if outcome.result == "sent":
        # Accepted, not yet recorded: a crash here sends the same message (the same
        # Message-ID) again once the claim's lease ends.
        crash.point("digest.delivered")
    result = outcome.result
    with app.db.write() as session:
        if result == "sent":
            digests.record_sent(
                session, c, now=now, reply=outcome.reply, delivered_to=outcome.delivered_to
            )
        elif result == "retry" and now - c.created_at < timedelta(seconds=email.give_up_after):
            wait = timedelta(seconds=email.retry_backoff) * 2 ** (c.attempts - 1)
            digests.record_retry(
                session, c, reply=outcome.reply, retry_at=now + min(wait, MAX_BACKOFF)
            )
        else:
            result = "failed"
            digests.record_failed(session, c, reply=outcome.reply)
    level = logging.INFO if result == "sent" else logging.WARNING
    log(
        logger,
        "digest" if result == "sent" else f"digest_{result}",
        level=level,
        story=c.story_slug,
        recipient=c.recipient,
        attempts=c.attempts,
        reply=outcome.reply,
        delivered_to=outcome.delivered_to,
    )
    return Delivered(
        c.story_slug, c.recipient, result, outcome.reply, outcome.delivered_to, c.attempts
    )


def preview(app: App, slug: str, *, recipient: str | None, now: datetime, fmt: str) -> str:
    """The recipient's next digest of the story as it would read now (the events none of its
    digests showed; with none, the whole story, as a first digest), without recording it."""
    ref = next((s for s in app.stories if s.slug == slug), None)
    if ref is None:
        raise NotFoundError(f"{slug}: no such story (see: monitor story list)")
    everyone = recipients(app)
    r = (
        everyone[0]
        if recipient is None
        else next((x for x in everyone if x.address.lower() == recipient.lower()), None)
    )
    if r is None:
        known = ", ".join(x.address for x in everyone) or "none"
        raise NotFoundError(f"--recipient {recipient}: not a recipient (recipients: {known})")
    with app.db.read() as session:
        events = digests.unshown(session, ref.id, r.address)
        since = digests.last_period(session, ref.id, r.address)
        if not events:
            events, since = digests.all_events(session, ref.id), None
        message, _ = _compose(app, ref, r, session, events, period=now, since=since, now=now)
    part = message.get_body(("plain",) if fmt == "text" else ("html",))
    assert part is not None  # both parts are always composed
    return str(part.get_content())


def status(app: App) -> list[digests.Status]:
    with app.db.read() as session:
        return digests.status(session)
