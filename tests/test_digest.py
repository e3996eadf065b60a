"""Digest emails through the outbox: composed from the demo replay's events, one message per
recipient delivered to a real SMTP server (aiosmtpd) on 127.0.0.1 or written to the outbox
folder, a refusal for now retried and a refusal for good recorded, and nothing from the web
reaching the HTML as markup."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiosmtpd.controller import Controller
from bs4 import BeautifulSoup

from monitor import config as configmod
from monitor.app import App, open_app
from monitor.errors import ConfigError
from monitor.poll.round import poll
from monitor.publish import digest, digestview, mail
from storage import digests
from tests.conftest import at
from tests.postgres import free_port


def parse(raw: bytes) -> EmailMessage:
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def parts(message: EmailMessage) -> tuple[str, str]:
    """The text/plain and text/html bodies of a multipart/alternative digest."""
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    plain, html = message.get_body(("plain",)), message.get_body(("html",))
    assert plain is not None and html is not None
    return plain.get_content(), html.get_content()


class Answering:
    """An aiosmtpd handler that answers DATA with the next of ``replies`` (the last one
    repeated) and keeps what it accepted."""

    def __init__(self, *replies: str) -> None:
        self.replies = list(replies) or ["250 Message accepted for delivery"]
        self.accepted: list = []
        self.tried = 0

    async def handle_DATA(self, server, session, envelope) -> str:
        reply = self.replies[min(self.tried, len(self.replies) - 1)]
        self.tried += 1
        if reply.startswith("250"):
            self.accepted.append(envelope)
        return reply


@pytest.fixture
def smtp_server(request) -> Iterator[tuple[Controller, Answering]]:
    """A real SMTP server on 127.0.0.1; ``@pytest.mark.parametrize('smtp_server', [(...)],
    indirect=True)`` gives its replies."""
    handler = Answering(*getattr(request, "param", ()))
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, handler
    finally:
        controller.stop()


def with_email(app: App, **changes: object) -> None:
    app.config = app.config.replace(email=dataclasses.replace(app.config.email, **changes))


def play(app: App, replay, manifest: dict, index: int) -> datetime:
    spec = manifest["round"][index]
    replay.set_round(spec["name"])
    poll(app, now=at(spec["now"]))
    return at(spec["now"])


def rows(app: App) -> list[digests.Status]:
    with app.db.read() as session:
        return digests.status(session)


# -- content -------------------------------------------------------------------------------------


def test_each_recipient_gets_one_message_whose_two_parts_say_what_happened(
    demo_config, replay, manifest, smtp_server
):
    """Two recipients in two time zones each get their own message (their own To:) with the
    mail headers a list needs, a Message-ID in the configured domain, a subject that counts
    what happened, times in words in their zone, copies under their original with its outlet,
    the edit's kinds and changed words, wrapped text lines and absolute links to the web."""
    controller, handler = smtp_server
    with open_app(demo_config, now=at(manifest["round"][0]["now"])) as app:
        with_email(app, smtp_url=f"smtp://127.0.0.1:{controller.port}", domain="news.example.org")
        app.config = app.config.replace(
            email=dataclasses.replace(app.config.email, to=["desk@example.org"]),
            recipient_tables=(
                configmod.Recipient("nuit@example.org", "immediately", "America/Toronto", True),
            ),
            web=configmod.WebSettings(base_url="https://news.example.org"),
        )
        play(app, replay, manifest, 0)
        digest.run(app, now=at(manifest["round"][0]["now"]))
        handler.accepted.clear()
        now = play(app, replay, manifest, 1)
        done = digest.run(app, now=now)
    assert sorted(d.recipient for d in done.delivered) == ["desk@example.org", "nuit@example.org"]
    by_to = {e.rcpt_tos[0]: parse(e.content) for e in handler.accepted}
    assert sorted(by_to) == ["desk@example.org", "nuit@example.org"]
    desk, nuit = by_to["desk@example.org"], by_to["nuit@example.org"]
    assert desk["To"] == "desk@example.org" and nuit["To"] == "nuit@example.org"
    assert desk["Subject"].startswith(f"{manifest['title']}: 3 new reports, 1 correction, 1 copy")
    assert re.fullmatch(
        r"<digest\.roxham-road-demo\.20230324T210000Z\.\w+@news\.example\.org>",
        desk["Message-ID"].strip(),
    )
    assert desk["Message-ID"] != nuit["Message-ID"]
    assert desk["Auto-Submitted"] == "auto-generated"
    assert desk["List-Id"].endswith("<roxham-road-demo.digest.news.example.org>")
    assert desk["List-Unsubscribe"].startswith("<mailto:news-monitor@localhost?subject=")
    assert desk["Date"] == "Fri, 24 Mar 2023 21:00:00 +0000"
    text, html = parts(desk)
    assert "since yesterday at 18:00" in text and "today at 17:45" in text
    assert "today at 13:45" in parts(nuit)[0]  # 17:45 UTC in Toronto (EDT)
    assert "copied by Daily Digest Network, today at 08:00" in text
    assert "correction: number 29,000 became 39,000" in text
    assert "[-29,000-] {+39,000+}" in text
    assert "New on the story: Daily Digest Network, Le Courrier de l'Estrie" in text
    assert "https://news.example.org/stories/roxham-road-demo" in text
    assert [
        x for x in text.splitlines() if len(x) > 72 and not re.search(r"(://|mailto:)\S+$", x)
    ] == []
    soup = BeautifulSoup(html, "lxml")
    assert soup.find("del").text == "29,000" and soup.find("ins").text == "39,000"
    hrefs = [a["href"] for a in soup.find_all("a")]
    assert "https://news.example.org/stories/roxham-road-demo" in hrefs
    assert any(h.startswith("https://news.example.org/articles/") for h in hrefs)
    assert all(re.match(r"(https?|mailto):", h) for h in hrefs)
    assert not soup.find_all(["script", "img", "link", "style"])
    assert "command" not in text and "monitor " not in text


def test_no_recipient_writes_each_digest_to_its_own_eml_and_nothing_new_sends_nothing(
    demo_config, replay, manifest
):
    """With no recipient, each round's digest is one .eml with no To: header, named after its
    period, story and id; a second run at the same time builds nothing and writes nothing."""
    with open_app(demo_config, now=at(manifest["round"][0]["now"])) as app:
        app.config = app.config.replace(email=dataclasses.replace(app.config.email, to=[]))
        now = play(app, replay, manifest, 0)
        first = digest.run(app, now=now)
        again = digest.run(app, now=now)
        now = play(app, replay, manifest, 1)
        second = digest.run(app, now=now)
        states = rows(app)
    files = sorted(Path(demo_config.email.outbox_dir).glob("*.eml"))
    assert [f.name for f in files] == [
        "20230323T180000Z-roxham-road-demo-outbox-1.eml",
        "20230324T210000Z-roxham-road-demo-outbox-2.eml",
    ]
    assert (len(first.built), len(again.built), len(again.delivered), len(second.built)) == (
        1,
        0,
        0,
        1,
    )
    assert parse(files[0].read_bytes())["To"] is None
    assert [s.state for s in states] == ["sent", "sent"]
    assert all(s.last_reply == "written" for s in states)


def test_a_configuration_names_no_recipient_for_smtp():
    """smtp_url set with no recipient: a ConfigError naming [email] to, before anything is built."""
    from monitor.publish import smtp

    with pytest.raises(ConfigError, match=r"\[email\] to"):
        smtp.check(configmod.EmailSettings(smtp_url="smtp://127.0.0.1:2525"), recipients=0)


def test_a_json_list_in_the_environment_is_a_list_of_addresses():
    """MONITOR_EMAIL_TO='["desk@example.org"]' is one address, not the text of the list; a
    display name or a list in one string is refused with the variable named."""
    config = configmod.from_mapping({}, env={"MONITOR_EMAIL_TO": '["desk@example.org"]'})
    assert config.email.to == ["desk@example.org"]
    with pytest.raises(ConfigError, match="MONITOR_EMAIL_TO"):
        configmod.from_mapping({}, env={"MONITOR_EMAIL_TO": '["Desk <desk@example.org>"]'})


# -- delivery outcomes ---------------------------------------------------------------------------


@pytest.mark.parametrize("smtp_server", [("451 4.3.0 Try again later", "250 OK")], indirect=True)
def test_a_refusal_for_now_is_retried_after_the_backoff_and_delivered_once(
    demo_config, replay, manifest, smtp_server
):
    """451: recorded pending with the reply and a retry time; a round before it sends nothing,
    a round after it delivers the same message once and records it sent after two attempts."""
    controller, handler = smtp_server
    with open_app(demo_config, now=at(manifest["round"][0]["now"])) as app:
        with_email(app, smtp_url=f"smtp://127.0.0.1:{controller.port}", retry_backoff=600.0)
        now = play(app, replay, manifest, 0)
        (first,) = digest.run(app, now=now).delivered
        (row,) = rows(app)
        assert (first.result, row.state, row.attempts) == ("retry", "pending", 1)
        assert row.last_reply == "451 4.3.0 Try again later"
        assert row.next_attempt_at == now + timedelta(minutes=10)
        assert digest.run(app, now=now + timedelta(minutes=5)).delivered == []
        (second,) = digest.run(app, now=now + timedelta(minutes=10)).delivered
        (row,) = rows(app)
    assert (second.result, row.state, row.attempts) == ("sent", "sent", 2)
    assert len(handler.accepted) == 1 and handler.tried == 2
    assert parse(handler.accepted[0].content)["Message-ID"] == row.message_id


@pytest.mark.parametrize("smtp_server", [("550 5.1.1 No such user here",)], indirect=True)
def test_a_refusal_for_good_is_failed_with_the_reply_and_never_retried(
    demo_config, replay, manifest, smtp_server
):
    """550: the digest is failed with the server's reply after one attempt; later rounds do
    not try it again, and its events are not shown again either."""
    controller, handler = smtp_server
    with open_app(demo_config, now=at(manifest["round"][0]["now"])) as app:
        with_email(app, smtp_url=f"smtp://127.0.0.1:{controller.port}")
        now = play(app, replay, manifest, 0)
        (first,) = digest.run(app, now=now).delivered
        later = digest.run(app, now=now + timedelta(days=1))
        (row,) = rows(app)
    assert first.result == "failed" and later.delivered == [] and later.built == []
    assert (row.state, row.attempts, row.last_reply) == ("failed", 1, "550 5.1.1 No such user here")
    assert handler.tried == 1


def test_a_refused_connection_is_retried_and_given_up_after_give_up_after(
    demo_config, replay, manifest
):
    """Nothing listening: pending with the error and a doubling wait; past give_up_after, failed."""
    with open_app(demo_config, now=at(manifest["round"][0]["now"])) as app:
        with_email(
            app,
            smtp_url=f"smtp://127.0.0.1:{free_port()}",
            retry_backoff=60.0,
            give_up_after=3600.0,
        )
        now = play(app, replay, manifest, 0)
        digest.run(app, now=now)
        digest.run(app, now=now + timedelta(minutes=1))
        (row,) = rows(app)
        assert (row.state, row.attempts) == ("pending", 2)
        assert row.next_attempt_at == now + timedelta(minutes=3)
        assert "ConnectionRefusedError" in (row.last_reply or "")
        digest.run(app, now=now + timedelta(hours=2))
        (row,) = rows(app)
    assert (row.state, row.attempts) == ("failed", 3)


# -- nothing from the web as markup --------------------------------------------------------------

HOSTILE = digestview.EventRow(
    event="first_report",
    at=datetime(2023, 3, 23, 15, 10, tzinfo=UTC),
    day_only=False,
    article_id=7,
    outlet='Evil <img src=x onerror="alert(1)">',
    title="<script>alert('title')</script> Deal <a href='javascript:alert(2)'>reached</a>",
    url="javascript:alert(3)",
    relation="original",
    text='<p onclick="alert(4)">Opening</p><script>alert(5)</script> <a href="javascript:x">l</a>',
)


def test_a_script_a_handler_or_a_javascript_link_never_reaches_the_html():
    """An article whose outlet, title, text and URL carry a script tag, event-handler
    attributes and javascript: links: the HTML part has no script element, no on* attribute
    and no javascript: href, and shows the text as text."""
    now = datetime(2023, 3, 23, 18, tzinfo=UTC)
    view = digestview.build(title="Story", slug="s", rows=[HOSTILE], now=now, zone=ZoneInfo("UTC"))
    envelope = mail.Envelope(
        "desk@example.org",
        "nm@example.org",
        "example.org",
        now,
        ZoneInfo("UTC"),
        base_url="https://news.example.org",
    )
    html = mail.html_part(view, envelope, now)
    soup = BeautifulSoup(html, "lxml")
    assert not soup.find_all("script") and not soup.find_all("img")
    assert not [a for tag in soup.find_all(True) for a in tag.attrs if a.startswith("on")]
    assert "javascript:" not in " ".join(str(a.get("href")) for a in soup.find_all("a"))
    assert "<script>alert('title')</script> Deal" in soup.get_text()
    assert "javascript:alert(3)" in soup.get_text()  # shown, not linked
    text = mail.text_part(view, envelope, now)
    assert "javascript:alert(3)" in text  # the plain part shows text as it is


# -- the HTML part in a browser ------------------------------------------------------------------


@pytest.mark.slow
def test_the_html_part_in_chromium(demo_config, replay, manifest, tmp_path, capsys):
    """Round 2's HTML part opens in headless Chromium with no console error or exception and
    no script; it shows the diff's deleted and inserted words; screenshotted as an artifact."""
    from tests import chromium
    from tests.test_export import ARTIFACTS

    binary = chromium.executable()
    if binary is None:
        pytest.skip("Chromium is not installed (apt-get install chromium, as root)")
    with open_app(demo_config, now=at(manifest["round"][0]["now"])) as app:
        app.config = app.config.replace(web=configmod.WebSettings("https://news.example.org"))
        digest.run(app, now=play(app, replay, manifest, 0))
        (sent,) = digest.run(app, now=play(app, replay, manifest, 1)).delivered
    _, html = parts(parse(Path(sent.delivered_to).read_bytes()))
    page = tmp_path / "digest.html"
    page.write_text(html, encoding="utf-8")
    with chromium.Browser(binary) as browser:
        browser.open(page.as_uri(), width=700, height=900)
        assert browser.complaints() == []
        assert browser.evaluate("document.scripts.length") == 0
        assert browser.evaluate("document.querySelectorAll('del, ins').length") >= 2
        assert browser.evaluate("document.body.scrollWidth <= 700")
        shot = browser.screenshot(ARTIFACTS / "digest-html.png")
    with capsys.disabled():
        print(f"\nscreenshot: {shot}")
