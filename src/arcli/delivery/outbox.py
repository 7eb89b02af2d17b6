"""Sending an output folder's documents: each checked, addressed, worded and mailed once.

Every check that concerns one document -- its file (inside the folder, unchanged since
the manifest), its customer's names and addresses, its figures -- fails that document
with a reason and lets the batch go on. Only a mail server that cannot be used stops the
run (:class:`arcli.delivery.smtp.ServerError`).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from sqlalchemy import select

from arcli.delivery.addresses import AddressError, Mailbox, check_text, mailbox_list
from arcli.delivery.smtp import (
    Mailer,
    PermanentError,
    ServerError,
    SmtpConfig,
    TransientError,
    Uncertain,
    build_message,
    claim,
    finish,
    recipient_key,
)
from arcli.errors import ArcliError, UsageError
from arcli.render.model import Company
from arcli.render.templating import TemplateError, normalize_language, render_text
from arcli.store import Store
from arcli.store.schema import customers, dunning_letters


@dataclass
class Delivery:
    """One document's row in the report."""

    customer: str
    kind: str
    file: str
    recipient: str = ""
    cc: str = ""
    status: str = "skipped"
    #: why it has this status (already sent, skipped, failed...); ``error`` holds only
    #: what went wrong, as in the statements' and letters' reports
    reason: str = ""
    message_id: str = ""
    attempts: int = 0
    error: str = ""

    def row(self) -> dict:
        """The report's row: a failure's error is its reason too."""
        return {**vars(self), "reason": self.reason or self.error}


class Refused(Exception):
    """This document is not sent; the text says why (reported as failed)."""


_WHICH_MANIFEST = "give the output folder or its manifest.json (manifest.csv is for people)"


def manifest_rows(target: Path) -> tuple[Path, list[dict]]:
    """The output folder and the sendable rows of its manifest.json, each file once
    with the amounts of all its currencies, and its withdrawn rows (reported, not sent).
    A manifest.csv is read through the manifest.json beside it when both list the same
    files."""
    path = target / "manifest.json" if target.is_dir() else target
    if path.suffix.lower() == ".csv":
        path = _json_beside(path)
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"{path}: no manifest (generate statements or letters first)") \
            from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ArcliError(f"{path}: not a valid manifest.json ({exc}): {_WHICH_MANIFEST}") \
            from None
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise ArcliError(f"{path}: not a valid manifest: expected a list of rows")
    sendable, seen = [], set()
    for number, r in enumerate(rows, 1):  # one row per currency: send each file once
        if r.get("status") == "withdrawn" and isinstance(r.get("customer"), str):
            sendable.append(r)
        elif r.get("status") in ("written", "unchanged") and r.get("file") \
                and r["file"] not in seen:
            for key in ("customer", "file", "sha256"):
                if not isinstance(r.get(key), str) or not r[key]:
                    raise ArcliError(f"{path}: row {number}: {key}: missing or not text; "
                                     "nothing sent")
            seen.add(r["file"])
            sendable.append(r)
    return path.parent, sendable


def _json_beside(csv_path: Path) -> Path:
    """The manifest.json that ``csv_path`` (a manifest.csv) was written with. It is
    used only while the two list the same files with the same hashes: a CSV a person
    cut down to the documents to send must not be overruled by the full JSON."""
    sibling = csv_path.with_name("manifest.json")
    try:
        with csv_path.open(encoding="utf-8", newline="") as handle:
            listed = _files_of(csv.DictReader(handle))
        if sibling.is_file() and listed == _files_of(
                json.loads(sibling.read_text(encoding="utf-8"))):
            return sibling
    except (OSError, ValueError, UnicodeDecodeError, csv.Error, AttributeError):
        pass  # unreadable either way: said below
    if sibling.is_file():
        raise UsageError(f"{csv_path} differs from {sibling} beside it (edited?): "
                         f"{_WHICH_MANIFEST}")
    raise UsageError(f"{csv_path}: no manifest.json beside it: {_WHICH_MANIFEST}")


def _files_of(rows) -> set[tuple[str, str]]:
    return {(str(r.get("file") or ""), str(r.get("sha256") or "")) for r in rows}


def document_bytes(folder: Path, row: dict) -> bytes:
    """The file of a manifest row, read once: inside ``folder`` after resolving ``..``
    and symlinks, and unchanged since the manifest was written. A manifest is a file
    anyone may edit; without this, a row naming ``../../etc/hostname`` was mailed."""
    base = folder.resolve()
    path = (base / str(row["file"])).resolve()
    if not path.is_relative_to(base):
        raise Refused(f"{row['file']} is outside the output folder {base} (resolves to "
                      f"{path}): not sent")
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise Refused("file missing since the manifest was written") from None
    except OSError as exc:
        raise Refused(f"cannot read the file: {exc.strerror or exc}") from None
    if hashlib.sha256(data).hexdigest() != row.get("sha256"):
        raise Refused("file changed since the manifest was written")
    return data


@dataclass(frozen=True)
class Figures:
    """What the email says about the document, from its own JSON copy."""

    period: str | None
    date: dt.date | None
    balances: tuple[tuple[str, Decimal], ...]
    level: int | None = None


def document_figures(pdf: bytes) -> Figures:
    """Period, date and amounts due from the JSON copy embedded in the PDF: the document
    itself, so the email can never state other figures than the attachment."""
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader

    try:
        names = PdfFileReader(io.BytesIO(pdf), strict=False) \
            .root["/Names"]["/EmbeddedFiles"]["/Names"]
        copies = {str(names[i]): names[i + 1] for i in range(0, len(names) - 1, 2)}
        spec = copies.get("statement.json") or copies["letter.json"]
        return figures_of(json.loads(spec["/EF"]["/F"].data))
    except (KeyError, IndexError, TypeError, ValueError, InvalidOperation, OSError) as exc:
        raise Refused(f"no readable JSON copy in the PDF ({type(exc).__name__}: {exc}); "
                      "generate the document again") from None
    except PdfError as exc:
        raise Refused(f"not a readable PDF ({exc})") from None


def figures_of(copy: dict) -> Figures:
    """The figures of a statement's or a letter's JSON copy."""
    if copy.get("format", "").startswith("arcli-statement/"):
        return Figures(copy["period"], dt.date.fromisoformat(copy["issue_date"]),
                       tuple((s["currency"], Decimal(s["closing_balance"]))
                             for s in copy["sections"]))
    return Figures(None, dt.date.fromisoformat(copy["as_of"]),
                   ((copy["currency"], Decimal(copy["total_due"])),), copy["level"])


@dataclass(frozen=True)
class Customer:
    id: str
    name: str
    email: str
    language: str | None
    contact: str | None
    salesperson: str | None


def customers_by_id(store: Store, ids: Iterable[str]) -> dict[str, Customer]:
    wanted = sorted(set(ids))
    found: dict[str, Customer] = {}
    with store.connect() as conn:
        for start in range(0, len(wanted), 500):
            query = select(customers.c.id, customers.c.name, customers.c.email,
                           customers.c.language, customers.c.contact,
                           customers.c.salesperson).where(
                customers.c.id.in_(wanted[start:start + 500]))
            for row in conn.execute(query):
                found[row.id] = Customer(row.id, row.name, row.email or "", row.language,
                                         row.contact, row.salesperson)
    return found


def withdrawn_letters(store: Store, hashes: Iterable[str]) -> dict[str, str]:
    """Why each of these documents (by SHA-256) is a withdrawn dunning letter: the book's
    word, for a manifest written before the letter was withdrawn (another folder, a copy)."""
    wanted = sorted(set(hashes))
    found: dict[str, str] = {}
    with store.connect() as conn:
        for start in range(0, len(wanted), 500):
            query = select(dunning_letters.c.sha256, dunning_letters.c.withdrawn_reason).where(
                dunning_letters.c.withdrawn_at.is_not(None),
                dunning_letters.c.sha256.in_(wanted[start:start + 500]))
            found.update({sha: reason or "" for sha, reason in conn.execute(query)})
    return found


@dataclass(frozen=True)
class Addressed:
    to: list[Mailbox]
    cc: list[Mailbox]
    greeting: str


def addressed(customer: Customer, cfg: SmtpConfig) -> Addressed:
    """The customer's addresses (the email field may hold several, separated by ``;``),
    the copies (``smtp.cc`` and the customer's salesperson in ``smtp.salespeople``), and
    whom the body greets: the contact, else the customer."""
    try:
        to = mailbox_list(customer.email, customer.name)
        contact = check_text("contact", customer.contact)
    except AddressError as exc:
        raise Refused(str(exc)) from None
    salesperson = cfg.salespeople.get((customer.salesperson or "").strip())
    seen: set[str] = set()
    to, cc = _once(to, seen), _once([*cfg.cc, *([salesperson] if salesperson else [])], seen)
    return Addressed(to, cc, contact or customer.name)


def _once(boxes: list[Mailbox], seen: set[str]) -> list[Mailbox]:
    """``boxes`` without the addresses in ``seen`` (which gains theirs): nobody gets a
    message twice because they are both the customer's address and a copy."""
    kept = []
    for box in boxes:
        if box.envelope.lower() not in seen:
            seen.add(box.envelope.lower())
            kept.append(box)
    return kept


@dataclass
class SendOptions:
    cfg: SmtpConfig
    company: Company
    template_dir: Path | None = None
    dry_run: bool = False
    resend_interrupted: bool = False


def send_documents(store: Store, folder: Path, rows: list[dict], options: SendOptions,
                   mailer: Mailer) -> Iterator[Delivery]:
    """Each row's delivery, in order. A ServerError stops it after yielding the document
    that met it (marked failed: nothing was sent)."""
    people = customers_by_id(store, (str(r["customer"]) for r in rows))
    withdrawn = withdrawn_letters(store, [r["sha256"] for r in rows
                                          if r.get("status") != "withdrawn"])
    for row in rows:
        delivery = Delivery(str(row["customer"]), str(row.get("kind", "")),
                            str(row.get("file") or ""))
        if row.get("status") == "withdrawn" or row.get("sha256") in withdrawn:
            delivery.status = "withdrawn"
            delivery.error = str(row.get("reason") or "") if row.get("status") == "withdrawn" \
                else f"withdrawn: {withdrawn[row['sha256']]}"
            yield delivery
            continue
        try:
            _deliver(store, folder, row, people.get(delivery.customer), options, mailer,
                     delivery)
        except Refused as exc:
            delivery.status, delivery.error = "failed", str(exc)
        except ServerError as exc:
            delivery.status, delivery.error = "failed", str(exc)
            yield delivery
            raise
        yield delivery


def _deliver(store: Store, folder: Path, row: dict, customer: Customer | None,
             options: SendOptions, mailer: Mailer, delivery: Delivery) -> None:
    if customer is None:
        raise Refused(f"unknown customer {delivery.customer} (not in the book)")
    if not customer.email.strip():
        delivery.reason = "customer has no email address"
        return
    to_whom = addressed(customer, options.cfg)
    delivery.recipient = "; ".join(str(m) for m in to_whom.to)
    delivery.cc = "; ".join(str(m) for m in to_whom.cc)
    data = document_bytes(folder, row)
    subject, body = email_wording(delivery.kind, customer, to_whom.greeting,
                                  options.company, delivery.file, document_figures(data),
                                  options.template_dir)
    # From the company as this customer's documents name it (company.by_language).
    language = normalize_language(customer.language)
    try:
        sender = options.cfg.sender_as(options.company.for_language(language).name)
    except AddressError as exc:
        raise Refused(str(exc)) from None
    if options.dry_run:
        delivery.status = "dry-run"
        return
    key = recipient_key(customer.name, customer.email)
    with store.begin() as conn:
        unclaimed = claim(conn, row["sha256"], key, delivery.customer, delivery.kind,
                          delivery.file, resend_interrupted=options.resend_interrupted)
    if unclaimed:
        delivery.status, delivery.reason = unclaimed
        if unclaimed.status == "interrupted":  # for a person to check, as before
            delivery.error = unclaimed.reason
        return
    message = build_message(options.cfg, to=to_whom.to, cc=to_whom.cc, subject=subject,
                            body=body, attachment_name=Path(delivery.file).name,
                            attachment=data, sha256=row["sha256"], sender=sender)
    delivery.message_id = message["Message-ID"]
    _send_claimed(store, row["sha256"], key, message,
                  [*to_whom.to, *to_whom.cc, *options.cfg.bcc], mailer, delivery)


def _send_claimed(store: Store, sha256: str, key: str, message, recipients: list[Mailbox],
                  mailer: Mailer, delivery: Delivery) -> None:
    """Send a claimed document and record how it went (a ServerError after that)."""
    try:
        sent = mailer.send(message, recipients)
    except Uncertain as exc:  # left claimed: the next run reports it interrupted
        delivery.status, delivery.error = "interrupted", (
            f"{exc}: it may or may not have reached the mail server; check its log, then "
            "send it again with --resend-interrupted")
        return
    except (TransientError, PermanentError, ServerError) as exc:
        delivery.status, delivery.error, delivery.attempts = "failed", str(exc), mailer.attempts
        with store.begin() as conn:
            finish(conn, sha256, key, sent=False, attempts=delivery.attempts,
                   message_id=delivery.message_id, error=delivery.error)
        if isinstance(exc, ServerError):
            raise
        return
    delivery.attempts = sent.attempts
    delivery.status = "partly-sent" if sent.refused else "sent"
    if sent.refused:
        delivery.error = "not accepted: " + "; ".join(f"{a} ({why})"
                                                      for a, why in sent.refused.items())
    with store.begin() as conn:
        finish(conn, sha256, key, sent=True, attempts=sent.attempts,
               message_id=delivery.message_id, error=delivery.error)


def email_wording(kind: str, customer: Customer, greeting: str, company: Company, file: str,
                  figures: Figures, template_dir: Path | None = None) -> tuple[str, str]:
    """Subject and body from ``email/<kind>.<language>.txt.j2`` (first line: Subject),
    naming the company as the customer's documents do (:meth:`Company.for_language`)."""
    language = normalize_language(customer.language)
    context = {
        "customer": {"id": customer.id, "name": customer.name, "contact": customer.contact},
        "greeting": greeting, "company": company.for_language(language), "file": file,
        "period": figures.period, "date": figures.date, "level": figures.level,
        "balances": [{"currency": c, "amount": a} for c, a in figures.balances],
    }
    text = render_text(f"email/{kind}.{language}.txt.j2", context, template_dir,
                       locale=language)
    first, _, body = text.partition("\n")
    subject = " ".join(first.removeprefix("Subject:").split())
    # A template without its subject line would mail its greeting as the subject.
    if not first.startswith("Subject:") or not subject:
        raise TemplateError(f"email/{kind}.{language}.txt.j2: the first line must be "
                            "'Subject: …' with a subject")
    if not body.strip():
        raise TemplateError(f"email/{kind}.{language}.txt.j2: the message has no body")
    return subject, body.lstrip("\n")
