"""Digest emails: composed from the demo replay's events, written to the outbox or sent to a
real SMTP server (aiosmtpd) on 127.0.0.1, and never lost when delivery fails."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import re
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from bs4 import BeautifulSoup
from sqlalchemy import func, select

from monitor.app import App, open_app
from monitor.config import EmailSettings
from monitor.errors import ConfigError, MonitorError
from monitor.poll.round import poll
from monitor.publish import digest
from storage import storyfile
from storage.models import Digest
from tests.conftest import at
from tests.storyschema import checked

# -- helpers -------------------------------------------------------------------------------------


def _parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _parts(message: EmailMessage) -> tuple[str, str]:
    """The text/plain and text/html bodies of a multipart/alternative digest."""
    assert message.get_content_type() == "multipart/alternative"
    types = [part.get_content_type() for part in message.iter_parts()]
    assert types == ["text/plain", "text/html"]
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    return plain.get_content(), html.get_content()


def _html_links(html: str) -> list[str]:
    """The article links of the HTML part, in order (one per listed event)."""
    return [a["href"] for a in BeautifulSoup(html, "lxml").select("li a[href]")]


def _text_links(text: str) -> list[str]:
    """The article URLs of the plain part: the indented line under each item."""
    return re.findall(r"^  (\S+://\S+|seed:\S+)\r?$", text, flags=re.MULTILINE)


def _round(app: App, replay, manifest: dict, index: int) -> datetime:
    spec = manifest["round"][index]
    replay.set_round(spec["name"])
    now = at(spec["now"])
    poll(app, now=now)
    return now


def _new_urls(replay, manifest: dict, round_name: str) -> set[str]:
    """The articles first seen in ``round_name`` that belong to the story."""
    return {
        replay.url(e["path"])
        for e in manifest["expect"]
        if e["first_round"] == round_name and e["relation"] != "off_topic"
    }


def _off_topic_urls(replay, manifest: dict) -> set[str]:
    return {replay.url(e["path"]) for e in manifest["expect"] if e["relation"] == "off_topic"}


def _with_email(app: App, **changes: object) -> None:
    app.config = app.config.replace(email=dataclasses.replace(app.config.email, **changes))


def _digest_rows(app: App) -> int:
    with app.db.read() as session:
        return session.scalar(select(func.count()).select_from(Digest)) or 0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Store:
    """An aiosmtpd handler that keeps every envelope it receives."""

    def __init__(self) -> None:
        self.envelopes: list = []

    async def handle_DATA(self, server, session, envelope) -> str:
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Controller, _Store]]:
    """A real SMTP server on 127.0.0.1 that stores what it receives."""
    handler = _Store()
    controller = Controller(handler, hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()


# -- the outbox ----------------------------------------------------------------------------------


def test_round_one_digest_is_a_multipart_eml_listing_every_new_article(
    demo_config, replay, manifest, tmp_path
):
    """After round 1, send_due writes one .eml: multipart/alternative (text and HTML), a
    subject with the story title and counts, and every new article of the round in both parts."""
    with open_app(demo_config, now=at(manifest["round"][0]["now"])) as app:
        now = _round(app, replay, manifest, 0)
        sent = digest.send_due(app, now=now)
    outbox = Path(demo_config.email.outbox_dir)
    files = sorted(outbox.glob("*.eml"))
    assert len(sent) == 1 and len(files) == 1
    assert sent[0].delivered_to == str(files[0])
    assert sent[0].story == manifest["slug"]
    message = _parse(files[0].read_bytes())
    subject = message["Subject"]
    assert manifest["title"] in subject
    # Round 1 brings the seed and two outlets' first reports, nothing else; the seed is not
    # news, and is listed apart.
    assert sent[0].events == 3
    assert subject.endswith(": 2 new reports, 1 seed")
    plain, html = _parts(message)
    new = _new_urls(replay, manifest, "round-1")
    assert len(new) == 2
    assert new <= set(_text_links(plain))
    assert new <= set(_html_links(html))
    for url in new:
        assert url in plain and url in html
    for url in _off_topic_urls(replay, manifest):
        assert url not in plain and url not in html
    assert message["To"] == ", ".join(demo_config.email.to)
    assert message["From"] == demo_config.email.from_


def test_the_first_digest_lists_the_seed_apart_dated_by_its_day(
    demo_config, replay, manifest, tmp_path
):
    """The seed (known by its date only) is not "New reporting": it has its own section,
    after the news, dated 2023-03-23 rather than at a 00:00 it never had."""
    with open_app(demo_config, now=at(manifest["round"][0]["now"])) as app:
        now = _round(app, replay, manifest, 0)
        (sent,) = digest.send_due(app, now=now)
    plain, html = _parts(_parse(Path(sent.delivered_to).read_bytes()))
    for part in (plain, html):
        news = part[part.index("New reporting") : part.index("Seed articles")]
        seeds = part[part.index("Seed articles the story started from (1)") :]
        assert "seed:" not in news
        assert "seed:roxham-road-demo/001-wire-brief" in seeds
        assert "2023-03-23 ·" not in news
        assert "2023-03-23T00:00" not in part
        assert "2023-03-23" in seeds
        assert _new_urls(replay, manifest, "round-1") <= set(
            re.findall(r"http\S+?(?=[\s\"<])", news)
        )


def test_the_digest_suggests_an_export_command_with_the_configuration_it_was_sent_with():
    """A configuration read from a file is named in the suggested command (quoted for the
    shell); the defaults need none."""
    assert digest.export_command("<defaults>", "s") == "monitor story export s --format md"
    assert (
        digest.export_command("data/my demo/monitor.toml", "s")
        == "monitor --config 'data/my demo/monitor.toml' story export s --format md"
    )
    item = digest.DigestItem("first_report", "2023-03-23", "Wire", "T", "https://example.org/a")
    message = digest.compose(
        story={"slug": "s", "title": "Story", "version": 1, "updated_at": None},
        items=[item],
        since=None,
        now=datetime(2023, 3, 23, 18, tzinfo=UTC),
        settings=EmailSettings(to=["desk@example.org"]),
        export="monitor --config x.toml story export s --format md",
    )
    plain, html = _parts(_parse(bytes(message)))
    assert "run `monitor --config x.toml story export s --format md`" in plain
    assert "<code>monitor --config x.toml story export s --format md</code>" in html


def test_compose_escapes_html_in_titles_and_keeps_text_literal():
    """A title with markup is escaped in the HTML part and kept as written in the text part."""
    item = digest.DigestItem(
        event="first_report",
        at="2023-03-23T15:10:00+00:00",
        outlet="A & B <News>",
        title="<script>x</script>",
        url="https://example.org/a?x=1&y=2",
    )
    message = digest.compose(
        story={"slug": "s", "title": "Story", "version": 2, "updated_at": None},
        items=[item],
        since=None,
        now=datetime(2023, 3, 23, 18, tzinfo=UTC),
        settings=EmailSettings(to=["desk@example.org"]),
    )
    plain, html = _parts(_parse(bytes(message)))
    assert "<script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html
    assert "A &amp; B &lt;News&gt;" in html
    assert "- A & B <News>: <script>x</script>" in plain
    assert _html_links(html) == ["https://example.org/a?x=1&y=2"]
    assert message["Subject"] == "[news-monitor] Story: 1 new report"


def test_a_section_lists_at_most_max_items_and_counts_the_rest():
    """With more articles in a section than ``[email] max_items`` (a backfill adds thousands),
    both parts list the first ``max_items``, say how many more there are and where they are,
    and the subject and the section heading count them all."""
    items = [
        digest.DigestItem(
            event="first_report",
            at=f"2023-03-23T15:{n:02d}:00+00:00",
            outlet="Wire",
            title=f"Report {n}",
            url=f"https://example.org/{n}",
        )
        for n in range(5)
    ]
    message = digest.compose(
        story={"slug": "s", "title": "Story", "version": 2, "updated_at": None},
        items=items,
        since=None,
        now=datetime(2023, 3, 23, 18, tzinfo=UTC),
        settings=EmailSettings(to=["desk@example.org"], max_items=2),
    )
    plain, html = _parts(_parse(bytes(message)))
    assert message["Subject"] == "[news-monitor] Story: 5 new reports"
    assert "== New reporting (5) ==" in plain
    assert [n for n in range(5) if f"Report {n}" in plain] == [0, 1]
    assert "... and 3 more: monitor story export s" in plain
    assert _html_links(html) == ["https://example.org/0", "https://example.org/1"]
    assert "and 3 more" in html


def test_nothing_new_sends_nothing_and_round_two_lists_only_its_events(
    demo_config, replay, manifest
):
    """A second send_due with no new events sends nothing; after round 2 the digest lists only
    round 2's events: new reports, the copy with the URL it copies, the edit with its words."""
    edited = next(e for e in manifest["expect"] if e["versions"] == 2)
    copy = next(
        e for e in manifest["expect"] if e["relation"] == "copy" and e["first_round"] == "round-2"
    )
    with open_app(demo_config, now=at(manifest["round"][0]["now"])) as app:
        now1 = _round(app, replay, manifest, 0)
        assert len(digest.send_due(app, now=now1)) == 1
        assert digest.send_due(app, now=now1) == []
        assert _digest_rows(app) == 1
        now2 = _round(app, replay, manifest, 1)
        sent = digest.send_due(app, now=now2)
        with app.db.read() as session:
            story = checked(storyfile.build(session, manifest["slug"]))
    assert story is not None
    assert len(list(Path(demo_config.email.outbox_dir).glob("*.eml"))) == 2
    assert len(sent) == 1
    message = _parse(Path(sent[0].delivered_to).read_bytes())
    plain, html = _parts(message)

    new = _new_urls(replay, manifest, "round-2")
    edited_url = replay.url(edited["path"])
    expected = new | {edited_url}
    assert set(_html_links(html)) == expected
    assert set(_text_links(plain)) == expected
    assert sent[0].events == len(expected)
    for url in _new_urls(replay, manifest, "round-1") - {edited_url}:
        assert url not in _html_links(html), "round 1's reports are not repeated"

    versions = next(
        a["versions"] for o in story["outlets"] for a in o["articles"] if a["url"] == edited_url
    )
    changes = versions[-1]["changes"]
    words = f"+{changes['words_added']}/-{changes['words_removed']} words"
    original = replay.url(copy["copy_of"])
    for part in (plain, html):
        edited_block = part[part.index("Edited articles") :]
        assert edited_url in edited_block
        assert words in edited_block
        assert f"copy of {original}" in part
    assert "Edited articles (1)" in plain and "Copies and republications (1)" in plain
    assert "1 copy" in message["Subject"] and "1 edit" in message["Subject"]


# -- SMTP ----------------------------------------------------------------------------------------


def test_smtp_delivers_the_multipart_digest_and_writes_no_eml(
    demo_config, replay, manifest, smtp_server
):
    """With smtp_url set, send_due hands one message for desk@example.org to a real SMTP
    server on 127.0.0.1, and the outbox stays empty."""
    controller, handler = smtp_server
    with open_app(demo_config, now=at(manifest["round"][0]["now"])) as app:
        _with_email(app, smtp_url=f"smtp://127.0.0.1:{controller.port}", to=["desk@example.org"])
        now = _round(app, replay, manifest, 0)
        sent = digest.send_due(app, now=now)
        assert _digest_rows(app) == 1
    assert [d.delivered_to for d in sent] == [f"smtp://127.0.0.1:{controller.port}"]
    assert len(handler.envelopes) == 1
    envelope = handler.envelopes[0]
    assert envelope.rcpt_tos == ["desk@example.org"]
    assert envelope.mail_from == demo_config.email.from_
    message = _parse(envelope.content)
    assert message["To"] == "desk@example.org"
    plain, html = _parts(message)
    for url in _new_urls(replay, manifest, "round-1"):
        assert url in plain and url in html
    outbox = Path(demo_config.email.outbox_dir)
    assert not outbox.exists() or not list(outbox.glob("*.eml"))


def test_failed_delivery_records_nothing_and_the_next_send_has_the_events(
    demo_config, replay, manifest, smtp_server
):
    """An SMTP URL on a closed port raises DeliveryError (a MonitorError) and records no
    digest; the next send_due to a working server delivers the same events."""
    controller, handler = smtp_server
    with open_app(demo_config, now=at(manifest["round"][0]["now"])) as app:
        now = _round(app, replay, manifest, 0)
        _with_email(app, smtp_url=f"smtp://127.0.0.1:{_free_port()}", to=["desk@example.org"])
        with pytest.raises(digest.DeliveryError) as caught:
            digest.send_due(app, now=now)
        assert isinstance(caught.value, MonitorError)
        assert "127.0.0.1" in str(caught.value)
        assert _digest_rows(app) == 0
        _with_email(app, smtp_url=f"smtp://127.0.0.1:{controller.port}")
        sent = digest.send_due(app, now=now)
        assert _digest_rows(app) == 1
    assert len(sent) == 1 and sent[0].events == 3
    assert len(handler.envelopes) == 1
    plain, _ = _parts(_parse(handler.envelopes[0].content))
    assert _new_urls(replay, manifest, "round-1") <= set(_text_links(plain))


def test_smtp_without_recipients_is_a_config_error(demo_config, replay, manifest):
    """smtp_url set with an empty ``to`` list raises ConfigError and records no digest."""
    with open_app(demo_config, now=at(manifest["round"][0]["now"])) as app:
        now = _round(app, replay, manifest, 0)
        _with_email(app, smtp_url="smtp://127.0.0.1:2525", to=[])
        with pytest.raises(ConfigError, match=r"\[email\] to"):
            digest.send_due(app, now=now)
        assert _digest_rows(app) == 0


def test_a_source_failing_for_over_a_day_is_named_in_the_digest(demo_config, replay, manifest):
    """A source that has failed since round 1 is not in round 1's digest, but round 2's digest
    (27 hours later) names it with its error, in both the text and the HTML part."""
    from monitor import config as configmod

    broken = configmod.Source(
        url=replay.url("/no-such-outlet/feed.xml"), name="Broken Outlet", interval=1800.0
    )
    config = demo_config.replace(sources=(*demo_config.sources, broken))
    first, second = manifest["round"][0], manifest["round"][1]
    with open_app(config, now=at(first["now"])) as app:
        replay.set_round(first["name"])
        poll(app, now=at(first["now"]))
        (sent1,) = digest.send_due(app, now=at(first["now"]))
        replay.set_round(second["name"])
        poll(app, now=at(second["now"]), everything=True)
        (sent2,) = digest.send_due(app, now=at(second["now"]))
    text1, html1 = _parts(_parse(Path(sent1.delivered_to).read_bytes()))
    text2, html2 = _parts(_parse(Path(sent2.delivered_to).read_bytes()))
    assert "Broken Outlet" not in text1 and "Broken Outlet" not in html1
    assert "Sources failing for over a day (1)" in text2
    assert "Broken Outlet: failing since " + at(first["now"]).isoformat() in text2
    assert "HTTP 404" in text2
    assert "Broken Outlet" in html2 and "Sources failing for over a day" in html2
