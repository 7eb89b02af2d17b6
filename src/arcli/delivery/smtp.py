"""Email delivery of generated statements and letters over SMTP.

Safe for cron: a document is *claimed* in the ``deliveries`` table (unique per document
SHA-256 and recipient) in its own transaction before it is sent, so two runs -- or two hosts
sharing a PostgreSQL book -- never send it twice; the Message-ID is derived from the
document's hash, so a message that did go out before a crash is recognisable.

One SMTP session serves a whole run (:class:`Mailer`). What goes wrong is sorted three ways:

* the server cannot be used at all -- nothing listening, unknown host, TLS or login
  refused, or still unreachable after the retries: :class:`ServerError` stops the run at
  once, naming host and port (trying the next document would only wait for the same);
* the server may recover -- a 4xx reply, a timeout, a connection dropped before the
  message was handed over: :class:`TransientError`, retried with exponential backoff;
* retrying will not help -- a 5xx reply, a refused or impossible address:
  :class:`PermanentError`, that document fails and the batch goes on.

A connection lost *after* the whole message was handed over, before the server's answer,
is neither: the server may have kept it. Retrying could send it twice, so it is
:class:`Uncertain` and left claimed, reported as interrupted like a run that died there.

TLS is required by default: ``security: none`` is only accepted for a server on
localhost (tests, a local relay).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import email.policy
import smtplib
import socket
import ssl
import textwrap
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from email.header import Header
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import NamedTuple

from sqlalchemy import Connection, insert, select, update
from sqlalchemy.exc import IntegrityError

from arcli.config import ConfigView
from arcli.delivery.addresses import (
    AddressError,
    Mailbox,
    address_header,
    check_text,
    mailbox,
    parse_mailbox,
)
from arcli.errors import ArcliError
from arcli.store.schema import deliveries

SECURITY = ("starttls", "tls", "none")
_LOCAL = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class SmtpConfig:
    """The ``smtp:`` section, addresses checked and encoded for the envelope."""

    sender: Mailbox  # a placeholder when only checking (see smtp_config)
    #: no ``smtp.from``: the sender is the company, named per message as the customer's
    #: language names it (:meth:`sender_as`)
    sender_is_company: bool = False
    host: str = "localhost"
    port: int = 587
    security: str = "starttls"
    user: str | None = None
    password: str | None = None
    reply_to: Mailbox | None = None
    cc: tuple[Mailbox, ...] = ()
    bcc: tuple[Mailbox, ...] = ()
    salespeople: dict[str, Mailbox] = field(default_factory=dict)
    timeout: int = 30
    retries: int = 3
    backoff_seconds: float = 2.0

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port}"

    def sender_as(self, company_name: str) -> Mailbox:
        """The From of a message to a customer whose documents name the company
        ``company_name``: an English PDF signed "East China Trading Co., Ltd." came From
        "华东贸易有限公司 East China Trading Co., Ltd.". An ``smtp.from`` is kept as given."""
        if not self.sender_is_company:
            return self.sender
        return replace(self.sender, name=check_text("company.name", company_name))


def smtp_config(config: ConfigView, company_name: str = "", company_email: str | None = None,
                *, sending: bool = True) -> SmtpConfig:
    """``smtp:`` of the config; ``from`` defaults to the company's name and email, and one
    of them must be set when ``sending`` (a dry run needs no sender)."""
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
        sender=_sender(view, company_name, company_email, sending),
        sender_is_company=not view.get_str("from"),
        host=host, port=view.get_int("port", default_port, minimum=1), security=security,
        user=view.get_str("user"), password=view.secret("password"),
        reply_to=next(iter(_mailboxes(view, "reply_to")), None),
        cc=_mailboxes(view, "cc"), bcc=_mailboxes(view, "bcc"),
        salespeople=_salespeople(view),
        timeout=view.get_int("timeout", 30, minimum=1),
        retries=view.get_int("retries", 3, minimum=0),
        backoff_seconds=float(backoff) if backoff is not None else 2.0,
    )


def _sender(view: ConfigView, company_name: str, company_email: str | None,
            sending: bool) -> Mailbox:
    text = view.get_str("from")
    try:
        if text:
            return parse_mailbox(text, "from")
        if company_email:
            return mailbox(company_email, company_name, "company.email", "company.name")
    except AddressError as exc:
        raise view.error("from", str(exc)) from None
    if not sending:
        return Mailbox(company_name, "nobody", "localhost")
    raise view.error("from", "no sender: set smtp.from or company.email")


def _mailboxes(view: ConfigView, key: str) -> tuple[Mailbox, ...]:
    """One address or a list of them (``Name <local@domain>`` or bare)."""
    value = view.raw(key)
    items = value if isinstance(value, list) else [] if value is None else [value]
    try:
        return tuple(parse_mailbox(str(item), key) for item in items)
    except AddressError as exc:
        raise view.error(key, str(exc)) from None


def _salespeople(view: ConfigView) -> dict[str, Mailbox]:
    """``salespeople: {name: address}``: the customer's salesperson gets a copy."""
    value = view.raw("salespeople") or {}
    if not isinstance(value, dict):
        raise view.error("salespeople", "must map a salesperson's name to an email address")
    people = {}
    for name, address in value.items():
        try:
            box = parse_mailbox(str(address), f"salespeople.{name}")
        except AddressError as exc:
            raise view.error("salespeople", str(exc)) from None
        people[str(name)] = box if box.name else replace(box, name=str(name))
    return people


class ServerError(ArcliError):
    """The mail server cannot be used at all: the run stops (exit 1)."""


class TransientError(Exception):
    """Worth retrying: the server or network may recover."""


class PermanentError(Exception):
    """Retrying will not help (rejected recipient, policy, an address the server cannot
    take)."""


class Uncertain(Exception):
    """The connection was lost after the message was handed over: it may have gone out."""


#: Address headers are written by :func:`address_header`, already encoded: the policy
#: must not fold them again (its folding split encoded names in mid-word).
_POLICY = email.policy.default.clone(refold_source="none")


def build_message(cfg: SmtpConfig, *, to: Sequence[Mailbox], cc: Sequence[Mailbox] = (),
                  subject: str, body: str, attachment_name: str, attachment: bytes,
                  sha256: str, sender: Mailbox | None = None) -> EmailMessage:
    """The message from ``sender`` (default ``cfg.sender``); names go into the headers,
    encoded, never the envelope.

    The attachment is the bytes whose hash was checked, not the file read again."""
    message = EmailMessage(policy=_POLICY)
    message.set_raw("From", address_header([sender or cfg.sender]))
    message.set_raw("To", address_header(to))
    if cc:
        message.set_raw("Cc", address_header(cc))
    if cfg.reply_to:
        message.set_raw("Reply-To", address_header([cfg.reply_to]))
    message.set_raw("Subject", _subject_header(subject))
    message["Message-ID"] = f"<{sha256[:40]}@{cfg.sender.domain}>"
    message["Date"] = format_datetime(dt.datetime.now(dt.UTC).replace(microsecond=0))
    message.set_content(body)
    message.add_attachment(attachment, maintype="application", subtype="pdf",
                           filename=attachment_name)
    return message


def _subject_header(subject: str) -> str:
    """The Subject, folded at spaces (ASCII) or as RFC 2047 encoded words. The policy's
    own folding put a subject just too long for the first line on a line of its own,
    which Python's ``policy.default`` parser then read with a leading space."""
    if not subject.isascii():
        return Header(subject, "utf-8", header_name="Subject").encode(linesep="\n")
    return "\n ".join(textwrap.wrap(subject, 69, break_long_words=False,
                                     break_on_hyphens=False)) or subject


class _HandOverTracking:
    """Notes when the end of the message data (``CRLF.CRLF``) has been written: from then
    on the server may have kept the message, whatever happens to the connection."""

    handed_over = False

    def send(self, s):  # smtplib writes every command and the whole message through here
        super().send(s)  # type: ignore[misc]
        if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n"):
            self.handed_over = True


class _SMTP(_HandOverTracking, smtplib.SMTP):
    pass


class _SMTPSSL(_HandOverTracking, smtplib.SMTP_SSL):
    pass


@dataclass
class Sent:
    attempts: int
    refused: dict[str, str]  # recipients the server refused while taking the others


class Mailer:
    """One SMTP session for a run: opened at the first message, kept open between
    messages (one TLS handshake and login per run), opened again after a lost
    connection. Use as a context manager."""

    def __init__(self, cfg: SmtpConfig, sleep: Callable[[float], None] = time.sleep):
        self.cfg, self._sleep = cfg, sleep
        self._client: _SMTP | None = None
        self.attempts = 0  # made for the last message, also when it failed
        # The last failure was in connecting, greeting, TLS or login: when it lasts
        # through the retries, no message can go out and the run stops.
        self._client_failed_to_open = False

    def __enter__(self) -> Mailer:
        return self

    def __exit__(self, *_exc) -> None:
        self._close(polite=True)

    def send(self, message: EmailMessage, recipients: Sequence[Mailbox]) -> Sent:
        """Send, retrying transient failures with exponential backoff.

        Raises PermanentError (this message), Uncertain (it may have gone out) or
        ServerError (no message can go out: stop the run)."""
        attempt = 0
        while True:
            attempt = self.attempts = attempt + 1
            try:
                return Sent(attempt, self._send_once(message, recipients))
            except TransientError as exc:
                self._close(polite=False)
                if attempt > self.cfg.retries:
                    if self._client_failed_to_open:
                        raise ServerError(f"SMTP server {self.cfg.server} not reachable "
                                          f"after {attempt} attempts: {exc}") from None
                    raise TransientError(f"{exc} (after {attempt} attempts)") from None
                self._sleep(self.cfg.backoff_seconds * 2 ** (attempt - 1))

    def _send_once(self, message: EmailMessage, recipients: Sequence[Mailbox]) -> dict:
        client = self._open()
        needing = [str(m) for m in (self.cfg.sender, *recipients) if m.needs_smtputf8]
        if needing and not client.has_extn("smtputf8"):
            raise PermanentError(
                f"{', '.join(needing)}: an address with non-ASCII characters before the @ "
                f"needs SMTPUTF8, which {self.cfg.server} does not offer")
        client.handed_over = False
        try:
            refused = client.send_message(message, from_addr=self.cfg.sender.envelope,
                                          to_addrs=[m.envelope for m in recipients])
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            error = PermanentError if all(c >= 500 for c in codes) else TransientError
            raise error("recipient refused: " + _refusals(exc.recipients)) from None
        except smtplib.SMTPResponseException as exc:
            error = TransientError if 400 <= exc.smtp_code < 500 else PermanentError
            raise error(f"{exc.smtp_code} {_text(exc.smtp_error)}") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise PermanentError(str(exc)) from None
        except (smtplib.SMTPServerDisconnected, OSError) as exc:
            if client.handed_over:
                self._close(polite=False)
                raise Uncertain(f"connection to {self.cfg.server} lost after the message "
                                f"was handed over ({_describe(exc)})") from None
            raise TransientError(f"connection to {self.cfg.server} lost: "
                                 f"{_describe(exc)}") from None
        return {address: f"{code} {_text(text)}" for address, (code, text) in refused.items()}

    def _open(self) -> _SMTP:
        """The session, connected (and TLS, login) if it is not yet."""
        if self._client is not None:
            return self._client
        cfg, self._client_failed_to_open = self.cfg, True
        client = None
        try:
            context = ssl.create_default_context()
            if cfg.security == "tls":
                client = _SMTPSSL(cfg.host, cfg.port, timeout=cfg.timeout, context=context)
            else:
                client = _SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
            client.ehlo()
            if cfg.security == "starttls":
                if not client.has_extn("starttls"):
                    raise ServerError(f"SMTP server {cfg.server} does not offer STARTTLS "
                                      "(required; see smtp.security)")
                client.starttls(context=context)
                client.ehlo()
            if cfg.user:
                client.login(cfg.user, cfg.password or "")
        except ServerError:
            _quietly_close(client)
            raise
        except BaseException as exc:
            _quietly_close(client)
            raise _opening_error(cfg, exc) from None
        self._client, self._client_failed_to_open = client, False
        return client

    def _close(self, polite: bool) -> None:
        client, self._client = self._client, None
        if client is not None:
            if polite:
                with contextlib.suppress(smtplib.SMTPException, OSError):
                    client.quit()
            _quietly_close(client)


def _opening_error(cfg: SmtpConfig, exc: BaseException) -> BaseException:
    """What a failure to connect, greet, start TLS or log in means for the run."""
    where = f"SMTP server {cfg.server}"
    if isinstance(exc, smtplib.SMTPAuthenticationError) and exc.smtp_code >= 500:
        return ServerError(f"{where} refused the login of {cfg.user!r}: "
                           f"{exc.smtp_code} {_text(exc.smtp_error)} (see smtp.user and "
                           "smtp.password_env / password_file)")
    if isinstance(exc, smtplib.SMTPResponseException):
        if 400 <= exc.smtp_code < 500:
            return TransientError(f"{where}: {exc.smtp_code} {_text(exc.smtp_error)}")
        return ServerError(f"{where}: {exc.smtp_code} {_text(exc.smtp_error)}")
    if isinstance(exc, (TimeoutError, smtplib.SMTPServerDisconnected, ConnectionResetError)):
        return TransientError(f"{where}: {_describe(exc)}")
    if isinstance(exc, ssl.SSLError):
        return ServerError(f"{where}: TLS failed: {exc.reason or exc}")
    if isinstance(exc, socket.gaierror):
        return ServerError(f"cannot connect to {where}: unknown host ({exc.strerror})")
    if isinstance(exc, smtplib.SMTPException):
        return ServerError(f"{where}: {exc}")
    if isinstance(exc, OSError):
        return ServerError(f"cannot connect to {where}: {exc.strerror or exc} (is the server "
                           "running? see smtp.host and smtp.port)")
    return exc


def _quietly_close(client: smtplib.SMTP | None) -> None:
    if client is not None:
        with contextlib.suppress(OSError):
            client.close()


def _text(error: bytes | str) -> str:
    return error.decode(errors="replace") if isinstance(error, bytes) else str(error)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timed out"
    return str(exc) or type(exc).__name__


def _refusals(recipients: dict) -> str:
    return "; ".join(f"{address}: {code} {_text(text)}"
                     for address, (code, text) in recipients.items())
# -- claims: never twice ----------------------------------------------------------------
def recipient_key(name: str, email_field: str) -> str:
    """What a claim is unique by, with the document's hash: the customer's name and
    email field as earlier versions wrote them, so a document sent before an upgrade is
    not sent again after it. Copies (cc, bcc) are not part of it: adding a copy address
    to the config does not send last month's documents again."""
    if not email_field.isascii():  # earlier versions could not send to these at all
        return f"{name} <{email_field}>"
    return formataddr((name, email_field))


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


def finish(conn: Connection, sha256: str, recipient: str, *, sent: bool, attempts: int,
           message_id: str, error: str) -> None:
    """Mark a claim sent or failed (a failed one is claimed again by the next run)."""
    values = {"status": "sent" if sent else "failed", "attempts": attempts,
              "message_id": message_id or None, "last_error": error or None}
    if sent:
        values["sent_at"] = dt.datetime.now(dt.UTC)
    conn.execute(update(deliveries).where(deliveries.c.document_sha256 == sha256,
                                          deliveries.c.recipient == recipient).values(**values))
