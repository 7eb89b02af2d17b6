"""Email delivery of generated statements and letters over SMTP.

Safe for cron: a document is *claimed* in the ``deliveries`` table (unique per document
SHA-256 and recipient) in its own transaction before it is sent, so two runs -- or two hosts
sharing a PostgreSQL book -- never send it twice; the Message-ID is derived from the
document's hash, so a message that did go out before a crash is recognisable. Transient
failures (connection problems, 4xx replies) are retried with exponential backoff; permanent
ones (5xx) are reported. TLS is required by default: ``security: none`` is only accepted
for a server on localhost (tests, a local relay).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formataddr, parseaddr
from pathlib import Path
from typing import NamedTuple

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from arcli.config import ConfigView
from arcli.errors import ArcliError, UsageError
from arcli.store.schema import customers, deliveries

SECURITY = ("starttls", "tls", "none")
_LOCAL = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class SmtpConfig:
    host: str = "localhost"
    port: int = 587
    security: str = "starttls"
    user: str | None = None
    password: str | None = None
    sender: str = "arcli <ar@localhost>"
    reply_to: str | None = None
    bcc: str | None = None
    timeout: int = 30
    retries: int = 3
    backoff_seconds: float = 2.0


def smtp_config(config: ConfigView) -> SmtpConfig:
    view = config.section("smtp")
    security = view.get_str("security", "starttls") or "starttls"
    if security not in SECURITY:
        raise view.error("security", f"must be one of {', '.join(SECURITY)}")
    host = view.get_str("host", "localhost") or "localhost"
    if security == "none" and host not in _LOCAL:
        raise view.error("security", "'none' (no TLS) is only allowed for a localhost server")
    default_port = {"starttls": 587, "tls": 465, "none": 25}[security]
    backoff = view.get_decimal("backoff_seconds")
    return SmtpConfig(
        host=host, port=view.get_int("port", default_port, minimum=1), security=security,
        user=view.get_str("user"), password=view.secret("password"),
        sender=view.get_str("from", "arcli <ar@localhost>") or "arcli <ar@localhost>",
        reply_to=view.get_str("reply_to"), bcc=view.get_str("bcc"),
        timeout=view.get_int("timeout", 30, minimum=1),
        retries=view.get_int("retries", 3, minimum=0),
        backoff_seconds=float(backoff) if backoff is not None else 2.0,
    )


class TransientError(Exception):
    """Worth retrying: the server or network may recover."""


class PermanentError(Exception):
    """Retrying will not help (rejected recipient, policy, no TLS)."""


def build_message(cfg: SmtpConfig, *, recipient: str, subject: str, body: str,
                  attachment: Path, sha256: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = cfg.sender
    message["To"] = recipient
    if cfg.reply_to:
        message["Reply-To"] = cfg.reply_to
    message["Subject"] = subject
    domain = parseaddr(cfg.sender)[1].rpartition("@")[2] or "localhost"
    message["Message-ID"] = f"<{sha256[:40]}@{domain}>"
    message["Date"] = dt.datetime.now(dt.UTC).strftime("%a, %d %b %Y %H:%M:%S +0000")
    message.set_content(body)
    message.add_attachment(attachment.read_bytes(), maintype="application", subtype="pdf",
                           filename=attachment.name)
    return message


def _connect(cfg: SmtpConfig) -> smtplib.SMTP:
    context = ssl.create_default_context()
    if cfg.security == "tls":
        client = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout, context=context)
    else:
        client = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
    client.ehlo()
    if cfg.security == "starttls":
        if not client.has_extn("starttls"):
            client.quit()
            raise PermanentError(f"{cfg.host}:{cfg.port} does not offer STARTTLS (required; "
                                 "set smtp.security)")
        client.starttls(context=context)
        client.ehlo()
    if cfg.user:
        client.login(cfg.user, cfg.password or "")
    return client


def send_once(cfg: SmtpConfig, message: EmailMessage) -> None:
    """One attempt; classifies every failure as transient or permanent."""
    recipients = [message["To"]] + ([cfg.bcc] if cfg.bcc else [])
    try:
        client = _connect(cfg)
        try:
            client.send_message(message, to_addrs=recipients)
        finally:
            with contextlib.suppress(smtplib.SMTPException):
                client.quit()
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        error = PermanentError if all(c >= 500 for c in codes) else TransientError
        raise error(f"recipient refused: {exc.recipients}") from None
    except smtplib.SMTPResponseException as exc:
        error = TransientError if 400 <= exc.smtp_code < 500 else PermanentError
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) \
            else str(exc.smtp_error)
        raise error(f"{exc.smtp_code} {text}") from None
    except (smtplib.SMTPServerDisconnected, smtplib.SMTPConnectError, OSError) as exc:
        raise TransientError(f"{type(exc).__name__}: {exc}") from None


def send_with_retries(cfg: SmtpConfig, message: EmailMessage,
                      sleep: Callable[[float], None] = time.sleep) -> int:
    """Send, retrying transient failures with exponential backoff; returns attempts made."""
    attempt = 0
    while True:
        attempt += 1
        try:
            send_once(cfg, message)
            return attempt
        except TransientError:
            if attempt > cfg.retries:
                raise
            sleep(cfg.backoff_seconds * 2 ** (attempt - 1))


# -- documents from a manifest --------------------------------------------------------------
@dataclass
class Delivery:
    customer: str
    kind: str
    file: str
    recipient: str
    status: str
    message_id: str = ""
    attempts: int = 0
    error: str = ""


def manifest_rows(target: Path) -> tuple[Path, list[dict]]:
    """The output folder and the sendable rows of its manifest.json."""
    path = target / "manifest.json" if target.is_dir() else target
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: no manifest (generate statements or letters first)") \
            from None
    except ValueError as exc:
        raise ArcliError(f"{path}: not a valid manifest: {exc}") from None
    sendable, seen = [], set()
    for r in rows:  # one row per currency: send each file once
        if r.get("status") in ("written", "unchanged") and r.get("file") \
                and r["file"] not in seen:
            seen.add(r["file"])
            sendable.append(r)
    return path.parent, sendable


def recipient_for(conn: Connection, customer_id: str) -> tuple[str, str | None]:
    row = conn.execute(select(customers.c.name, customers.c.email, customers.c.language)
                       .where(customers.c.id == customer_id)).first()
    if row is None or not row.email:
        return "", None
    return formataddr((row.name, row.email)), row.language


class Unclaimed(NamedTuple):
    """Why a document is not sent this time: its delivery status and the reason."""

    status: str  # already-sent | interrupted
    reason: str


def claim(conn: Connection, sha256: str, recipient: str, customer: str, kind: str,
          file: str, *, resend_interrupted: bool = False) -> Unclaimed | None:
    """Claim a document for sending (None), or say why it is not to be sent.

    The claim is committed before the message goes out and marked sent after, so a
    document is never sent twice. A claim that was never finished belongs to a run that
    died while sending -- the caller holds the batch lock of these customers, so no live
    run has it -- and nobody knows whether the mail server took the message: it is
    reported as interrupted, for a person to check the server's log, and claimed again
    only when ``resend_interrupted`` says so.
    """
    now = dt.datetime.now(dt.UTC)
    try:
        with conn.begin_nested():
            conn.execute(insert(deliveries).values(
                document_sha256=sha256, recipient=recipient, customer_id=customer, kind=kind,
                file=file, status="claimed", attempts=0, claimed_at=now))
        return None
    except IntegrityError:
        row = conn.execute(select(deliveries.c.status, deliveries.c.sent_at,
                                  deliveries.c.claimed_at).where(
            deliveries.c.document_sha256 == sha256, deliveries.c.recipient == recipient)).one()
        if row.status == "sent":
            return Unclaimed("already-sent", f"already sent {row.sent_at:%Y-%m-%d %H:%M}")
        if row.status == "claimed" and not resend_interrupted:
            return Unclaimed("interrupted", (
                f"sending was interrupted (claimed {row.claimed_at:%Y-%m-%d %H:%M}, never "
                "finished): it may or may not have reached the mail server; check its log, "
                "then send it again with --resend-interrupted"))
        conn.execute(update(deliveries).where(deliveries.c.document_sha256 == sha256,
                                              deliveries.c.recipient == recipient)
                     .values(status="claimed", claimed_at=now))
        return None


def finish(conn: Connection, sha256: str, recipient: str, delivery: Delivery) -> None:
    values = {"status": "sent" if delivery.status == "sent" else "failed",
              "attempts": delivery.attempts, "message_id": delivery.message_id or None,
              "last_error": delivery.error or None}
    if delivery.status == "sent":
        values["sent_at"] = dt.datetime.now(dt.UTC)
    conn.execute(update(deliveries).where(deliveries.c.document_sha256 == sha256,
                                          deliveries.c.recipient == recipient).values(**values))
