"""Digests over TLS to a real SMTP server (aiosmtpd) on 127.0.0.1: STARTTLS on ``smtp://``,
TLS from the start on ``smtps://``, with login, the server's certificate signed by a throwaway
CA the operator trusts through ``[email] smtp_ca_file``; an untrusted certificate is a refusal
for now, recorded with a reply saying so."""

from __future__ import annotations

import shutil
import ssl
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlalchemy.engine import make_url

from monitor import config as configmod
from monitor import demo
from monitor.app import open_app
from monitor.cli import present
from monitor.demo.server import ReplayServer
from monitor.errors import ConfigError
from monitor.publish import digest, smtp
from tests.conftest import at, with_db
from tests.postgres import free_port
from tests.test_digest import parse, play, rows

pytestmark = pytest.mark.skipif(not shutil.which("openssl"), reason="needs the openssl command")


@dataclass(frozen=True)
class Pki:
    ca: Path  # the CA's certificate, what an operator trusts
    cert: Path  # the server's, signed by the CA, for 127.0.0.1 and localhost
    key: Path
    other_ca: Path  # a CA that signed nothing here


def _openssl(*args: str | Path, cwd: Path) -> None:
    subprocess.run(["openssl", *map(str, args)], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A throwaway CA and a server certificate it signs (EC keys: a few ms each, not RSA's)."""
    d = tmp_path_factory.mktemp("pki")
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    for name in ("ca", "other"):
        _openssl("req", "-x509", *ec, "-keyout", f"{name}.key", "-out", f"{name}.pem",
                 "-days", "2", "-subj", f"/CN=news-monitor test {name} CA", cwd=d)  # fmt: skip
    _openssl("req", *ec, "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost",
             cwd=d)  # fmt: skip
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n", encoding="utf-8")
    _openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
             "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "server.pem",
             cwd=d)  # fmt: skip
    return Pki(d / "ca.pem", d / "server.pem", d / "server.key", d / "other.pem")


class Recording:
    """Keeps each accepted message with the TLS the session was under and who logged in."""

    def __init__(self) -> None:
        self.accepted: list[tuple[bytes, str | None, bool]] = []
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_DATA(self, server, session, envelope) -> str:
        tls = server.transport.get_extra_info("ssl_object")
        # (the content, the TLS version, whether aiosmtpd saw a STARTTLS: session.ssl)
        self.accepted.append((envelope.content, tls and tls.version(), session.ssl is not None))
        return "250 OK"

    def authenticate(self, server, session, envelope, mechanism, auth_data) -> AuthResult:
        self.logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret:pass")


def server_context(pki: Pki) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(pki.cert, pki.key)
    return context


def _running(**options: object) -> Iterator[tuple[int, Recording]]:
    """An aiosmtpd server on a free port of 127.0.0.1 with ``options``, recording what it
    accepts and who logs in; stopped after."""
    handler, port = Recording(), free_port()
    controller = Controller(
        handler, hostname="127.0.0.1", port=port, authenticator=handler.authenticate, **options
    )
    controller.start()
    try:
        yield port, handler
    finally:
        controller.stop()


@pytest.fixture
def starttls_server(pki: Pki) -> Iterator[tuple[int, Recording]]:
    """Plain SMTP that offers STARTTLS and refuses MAIL and AUTH before it."""
    yield from _running(tls_context=server_context(pki), require_starttls=True, auth_required=True)


@pytest.fixture
def smtps_server(pki: Pki) -> Iterator[tuple[int, Recording]]:
    """SMTP inside TLS from the first byte (port 465's way)."""
    # aiosmtpd counts only STARTTLS as TLS for AUTH, and would warn on each connection that
    # requiring AUTH without it is unsafe: AUTH is offered, not required, and the test checks
    # that the login happened (and the handler that TLS wrapped the connection).
    yield from _running(ssl_context=server_context(pki), auth_require_tls=False)


@pytest.fixture
def plain_server() -> Iterator[tuple[int, Recording]]:
    """Plain SMTP with no STARTTLS that would take a login in clear (AUTH offered anyway)."""
    yield from _running(auth_require_tls=False)


def email_settings(env: dict[str, str]) -> configmod.EmailSettings:
    return configmod.load(None, env={"MONITOR_EMAIL_TO": "desk@example.org", **env}).email


@pytest.fixture(scope="module")
def polled(tmp_path_factory: pytest.TempPathFactory, manifest: dict):
    """The demo's first round polled once for the module (most of a test's time otherwise):
    its configuration, SQLite file and time."""
    out = tmp_path_factory.mktemp("polled")
    with ReplayServer(demo.STORY, [r["name"] for r in manifest["round"]]) as replay:
        config = demo.demo_config(replay.base, out, manifest)
        with open_app(config, now=at(manifest["round"][0]["now"])) as app:
            now = play(app, replay, manifest, 0)
    return config, make_url(config.storage.url).database, now


def send_one(polled, tmp_path: Path, email: configmod.EmailSettings):
    """The first round's digest sent from a copy of the polled database: the delivery, the
    digest's record and the time."""
    config, database, now = polled
    shutil.copyfile(database, tmp_path / "monitor.db")
    config = with_db(config, f"sqlite:///{tmp_path / 'monitor.db'}").replace(email=email)
    with open_app(config, now=now) as app:
        (delivered,) = digest.run(app, now=now).delivered
        (row,) = rows(app)
    return delivered, row, now


def test_starttls_delivers_the_digest_encrypted_with_the_password_from_its_file(
    polled, tmp_path, pki, starttls_server
):
    """smtp://user@host to a server offering STARTTLS: the client upgrades before it logs in
    (the server refuses AUTH and MAIL in the clear), checks the certificate against the CA in
    MONITOR_EMAIL_SMTP_CA_FILE, logs in with MONITOR_EMAIL_SMTP_PASSWORD_FILE's password, and
    the digest arrives over TLS and is recorded sent."""
    port, handler = starttls_server
    (tmp_path / "smtp_password").write_text("s3cret:pass\n", encoding="utf-8")
    email = email_settings(
        {
            "MONITOR_EMAIL_SMTP_URL": f"smtp://desk@127.0.0.1:{port}",
            "MONITOR_EMAIL_SMTP_PASSWORD_FILE": str(tmp_path / "smtp_password"),
            "MONITOR_EMAIL_SMTP_CA_FILE": str(pki.ca),
        }
    )
    delivered, row, _ = send_one(polled, tmp_path, email)
    assert (delivered.result, row.state, row.attempts) == ("sent", "sent", 1)
    assert handler.logins == [(b"desk", b"s3cret:pass")]
    ((content, version, starttls),) = handler.accepted
    assert starttls and version in ("TLSv1.2", "TLSv1.3")
    assert parse(content)["Message-ID"] == row.message_id


def test_smtps_delivers_the_digest_over_tls_from_the_start(polled, tmp_path, pki, smtps_server):
    """smtps://user@host: TLS from the first byte (no STARTTLS), the certificate checked against
    smtp_ca_file, login with the smtp_password setting, and the digest recorded sent."""
    port, handler = smtps_server
    email = email_settings(
        {
            "MONITOR_EMAIL_SMTP_URL": f"smtps://desk@127.0.0.1:{port}",
            "MONITOR_EMAIL_SMTP_PASSWORD": "s3cret:pass",
            "MONITOR_EMAIL_SMTP_CA_FILE": str(pki.ca),
        }
    )
    delivered, row, _ = send_one(polled, tmp_path, email)
    assert (delivered.result, row.state) == ("sent", "sent"), row.last_reply
    assert handler.logins == [(b"desk", b"s3cret:pass")]
    ((content, version, starttls),) = handler.accepted
    assert version in ("TLSv1.2", "TLSv1.3") and not starttls
    assert parse(content)["Message-ID"] == row.message_id


@pytest.mark.parametrize("scheme", ["starttls", "smtps"])
def test_an_untrusted_certificate_is_retried_with_a_reply_that_says_so(
    polled, tmp_path, pki, scheme, request
):
    """A certificate no trusted CA signed is a refusal for now, not for good and not a crash:
    like a refused login it is the operator's to fix (trust the CA, renew the certificate) and
    is often fixed without a word to us, so the digest stays pending with a doubling backoff
    and goes out once it is fixed, or fails after give_up_after. Nothing goes out in the clear
    meanwhile (no password, no message), and `monitor digest status` shows the reason and the
    setting that fixes it."""
    port, handler = request.getfixturevalue(f"{scheme}_server")
    url_scheme = "smtp" if scheme == "starttls" else "smtps"
    email = email_settings(
        {
            "MONITOR_EMAIL_SMTP_URL": f"{url_scheme}://desk@127.0.0.1:{port}",
            "MONITOR_EMAIL_SMTP_PASSWORD": "s3cret:pass",
            "MONITOR_EMAIL_SMTP_CA_FILE": str(pki.other_ca),
            "MONITOR_EMAIL_RETRY_BACKOFF": "60",
        }
    )
    delivered, row, now = send_one(polled, tmp_path, email)
    assert (delivered.result, row.state, row.attempts) == ("retry", "pending", 1)
    assert row.next_attempt_at == now + timedelta(minutes=1)
    assert row.last_reply == (
        f"{url_scheme}://127.0.0.1:{port}: certificate not trusted: unable to get local issuer "
        "certificate (a private CA: [email] smtp_ca_file)"
    )
    (line,) = present.digest_status([row], as_json=False)
    assert line.split("\t")[4:] == ["pending", "1 attempt", row.last_reply]
    assert handler.logins == [] and handler.accepted == []


def test_a_ca_file_that_cannot_be_loaded_is_a_config_error(tmp_path):
    """smtp_ca_file naming a missing file, or one with no certificate in it: a ConfigError
    naming the setting and the file, before any digest is claimed."""
    (tmp_path / "notes.pem").write_text("not a certificate\n", encoding="utf-8")
    for name, says in (("missing.pem", "No such file"), ("notes.pem", "no certificate")):
        email = email_settings(
            {
                "MONITOR_EMAIL_SMTP_URL": "smtps://127.0.0.1:9",
                "MONITOR_EMAIL_SMTP_CA_FILE": str(tmp_path / name),
            }
        )
        with pytest.raises(ConfigError, match=r"^\[email\] smtp_ca_file: cannot load .*" + says):
            smtp.check(email, recipients=1)


def test_a_login_is_never_sent_in_clear_to_a_server_without_starttls(
    polled, tmp_path, plain_server
):
    """smtp://user@host to a server that offers no STARTTLS (a misconfigured relay, or a
    downgrade on the way): no password and no message go out; the digest stays pending, retried
    with its backoff, with a reply that says why and what to use instead."""
    port, handler = plain_server
    email = email_settings(
        {
            "MONITOR_EMAIL_SMTP_URL": f"smtp://desk@127.0.0.1:{port}",
            "MONITOR_EMAIL_SMTP_PASSWORD": "s3cret:pass",
        }
    )
    delivered, row, _ = send_one(polled, tmp_path, email)
    assert (delivered.result, row.state, row.attempts) == ("retry", "pending", 1)
    assert row.last_reply == (
        f"smtp://127.0.0.1:{port}: offers no STARTTLS, so the password is not sent in clear "
        "(smtps:// for TLS from the start)"
    )
    assert handler.logins == [] and handler.accepted == []
