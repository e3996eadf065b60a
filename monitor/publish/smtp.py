"""Delivering one built digest: through SMTP (STARTTLS when offered, or TLS from the start;
the certificate checked against the system's CAs or ``smtp_ca_file``; login with the password
from the environment or a file) or, without ``smtp_url``, as a file in the outbox folder. The
server's answer decides what happens next: accepted (2xx), refused for now (4xx, no
connection, a timeout, a failed login, an untrusted certificate: retried later) or refused for
good (5xx: failed, never retried), always with the reply to record. A login never goes out in
clear: a server that offers no STARTTLS to ``smtp://user@host`` is refused for now."""

from __future__ import annotations

import contextlib
import os
import smtplib
import ssl
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from monitor.config import EmailSettings
from monitor.errors import ConfigError

TIMEOUT = 30.0


@dataclass(frozen=True)
class Outcome:
    result: str  # sent | retry | failed
    reply: str
    delivered_to: str


def check(settings: EmailSettings, *, recipients: int) -> None:
    """A ConfigError for settings no delivery can work with, before anything is claimed."""
    if not settings.smtp_url:
        return
    if not recipients:
        raise ConfigError("[email] to: no recipients, but smtp_url is set")
    url = urlsplit(settings.smtp_url)
    if url.scheme not in ("smtp", "smtps") or not url.hostname:
        raise ConfigError(
            f"[email] smtp_url: expected smtp://host[:port] or smtps://..., "
            f"got {settings.smtp_url!r}"
        )
    if settings.smtp_password and not url.username:
        raise ConfigError("[email] smtp_password: set, but smtp_url names no user to log in as")
    try:
        _tls(settings)
    except OSError as exc:  # ssl.SSLError is one: a file with no certificate in it
        raise ConfigError(
            f"[email] smtp_ca_file: cannot load {settings.smtp_ca_file}: {exc.strerror or exc}"
        ) from exc


def _tls(settings: EmailSettings) -> ssl.SSLContext:
    """Certificates checked, for the host named in smtp_url. A private relay's CA comes from
    smtp_ca_file: SSL_CERT_FILE would do it too, but for the whole process, and would replace
    the trust store the fetcher's httpx reads, so news sites would stop verifying."""
    return ssl.create_default_context(cafile=settings.smtp_ca_file or None)


def deliver(raw: bytes, *, recipient: str, settings: EmailSettings, stem: str) -> Outcome:
    if not settings.smtp_url:
        return _to_outbox(raw, Path(settings.outbox_dir), stem)
    return _by_smtp(raw, recipient, settings)


def _to_outbox(raw: bytes, outbox: Path, stem: str) -> Outcome:
    """``<outbox>/<stem>.eml``, written whole or not at all (a temporary file renamed)."""
    path = outbox / f"{stem}.eml"
    part = outbox / f".{stem}.eml.part"
    try:
        outbox.mkdir(parents=True, exist_ok=True)
        part.write_bytes(raw)
        os.replace(part, path)
    except OSError as exc:
        with contextlib.suppress(OSError):  # no half-written file for a reader to find
            part.unlink(missing_ok=True)
        # The file a reader would look for, not our temporary name.
        name = path if str(exc.filename) == str(part) else (exc.filename or path)
        reply = f"[email] outbox_dir: cannot write {name}: {exc.strerror or exc}"
        return Outcome("retry", reply, str(path))
    return Outcome("sent", "written", str(path))


def _answer(code: int, reply: bytes | str, where: str) -> Outcome:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
    said = f"{code} {' '.join(text.split())}"
    if 200 <= code < 300:
        return Outcome("sent", said, where)
    return Outcome("failed" if 500 <= code < 600 else "retry", said, where)


def _by_smtp(raw: bytes, recipient: str, settings: EmailSettings) -> Outcome:
    url = urlsplit(settings.smtp_url)
    host = url.hostname or ""
    port = url.port or (465 if url.scheme == "smtps" else 25)
    where = f"{url.scheme}://{host}:{port}"
    try:
        with _connect(url.scheme, host, port, _tls(settings)) as smtp:
            if url.username and not isinstance(smtp.sock, ssl.SSLSocket):
                # Never a password in clear: a relay that lost its STARTTLS (or a downgrade
                # on the way) is the operator's to fix, so the digest is retried meanwhile.
                reply = (
                    f"{where}: offers no STARTTLS, so the password is not sent in clear "
                    "(smtps:// for TLS from the start)"
                )
                return Outcome("retry", reply, where)
            if url.username:
                password = settings.smtp_password or unquote(url.password or "")
                smtp.login(unquote(url.username), password)
            return _transaction(smtp, raw, settings.from_, recipient, where)
    except smtplib.SMTPAuthenticationError as exc:
        # A wrong password is the operator's to fix, not the digest's fault: retried.
        return Outcome(
            "retry", f"login refused: {_answer(exc.smtp_code, exc.smtp_error, where).reply}", where
        )
    except smtplib.SMTPResponseException as exc:
        return _answer(exc.smtp_code, exc.smtp_error, where)
    except ssl.SSLCertVerificationError as exc:
        # Like a refused login, the operator's to fix (trust the CA, renew the certificate),
        # and often fixed without us: retried with the backoff, failed after give_up_after.
        reply = f"{where}: certificate not trusted: {exc.verify_message or exc}"
        return Outcome("retry", f"{reply} (a private CA: [email] smtp_ca_file)", where)
    except (OSError, smtplib.SMTPException) as exc:
        return Outcome("retry", f"{where}: {type(exc).__name__}: {exc}", where)


def _connect(scheme: str, host: str, port: int, context: ssl.SSLContext) -> smtplib.SMTP:
    smtp: smtplib.SMTP
    if scheme == "smtps":
        smtp = smtplib.SMTP_SSL(host, port, timeout=TIMEOUT, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=TIMEOUT)
    try:
        smtp.ehlo()
        if scheme == "smtp" and smtp.has_extn("starttls"):
            smtp.starttls(context=context)
            smtp.ehlo()
    except BaseException:
        smtp.close()  # a refused certificate: no socket left open until the collector runs
        raise
    return smtp


def _transaction(smtp: smtplib.SMTP, raw: bytes, sender: str, rcpt: str, where: str) -> Outcome:
    """MAIL, RCPT and DATA one by one, so the reply that decided is the one recorded."""
    for code, reply in (smtp.mail(sender), smtp.rcpt(rcpt)):
        if code not in (250, 251):
            smtp.rset()
            return _answer(code, reply, where)
    code, reply = smtp.data(raw)
    return _answer(code, reply, where)
