"""Bank reconciliation against the book: propose matches, and with --apply post receipts.

Applying is idempotent by bank reference: a receipt already posted is reported as such and
never posted twice, also when arcli 0.1.0 posted it under another reference. Matched
receipts become payment documents pinned (manual allocations) to the invoices they were
matched to; payer accounts and names are learned for next time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from sqlalchemy import Connection, insert, select

from arcli import money
from arcli.cash_application import reapply
from arcli.config import ConfigView
from arcli.importing.batches import record_batch
from arcli.importing.readers import SourceFile
from arcli.ledger import open_items
from arcli.output import Report
from arcli.reconcile.bankformats import BankTransaction
from arcli.reconcile.matching import Candidate, Match, Matcher, normalize_account, normalize_name
from arcli.store.schema import (
    OPEN_SENTINEL,
    bank_transactions,
    customers,
    documents,
    manual_allocations,
    payer_keys,
)


@dataclass(frozen=True)
class BankSettings:
    tolerance: dict[str, Decimal]
    min_confidence: int = 50


def bank_settings(config: ConfigView) -> BankSettings:
    view = config.section("reconcile")
    return BankSettings(view.get_currency_amounts("tolerance"),
                        view.get_int("min_confidence", 50, minimum=0))


def build_matcher(conn: Connection, as_of: dt.date, settings: BankSettings) -> Matcher:
    candidates = [Candidate(i.document_id, i.number, i.customer_id, i.currency, i.open_amount,
                            i.due_date)
                  for i in open_items(conn, as_of) if i.open_amount > 0]
    names = {r.name: r.id for r in conn.execute(select(customers.c.id, customers.c.name))}
    accounts = {}
    for key in conn.execute(select(payer_keys.c.kind, payer_keys.c.value,
                                   payer_keys.c.customer_id)):
        (accounts if key.kind == "account" else names)[key.value] = key.customer_id
    return Matcher(candidates, names, accounts, settings.tolerance)


def posted_refs(conn: Connection, refs: list[str]) -> set[str]:
    rows = conn.execute(select(bank_transactions.c.bank_ref)
                        .where(bank_transactions.c.bank_ref.in_(refs))) if refs else []
    return {r.bank_ref for r in rows}


def posted_earlier(conn: Connection,
                   transactions: Sequence[BankTransaction]) -> dict[str, str]:
    """bank_ref -> the reference the book holds it under, for each transaction already
    posted: under its own reference, or -- posted by arcli 0.1.0 -- under the one that
    release gave it (``legacy``), on the same booking date, in the same currency, for the
    amount that release posted.

    Why more than the old reference: it was often the payer's text (``NONREF``, an
    invoice number paid in instalments), so another receipt under it must not read as
    posted. Each stored row answers for one booking of the file, the first in file order
    (the parts of a camt batch, posted then as one receipt of the whole entry, share it).
    """
    found = {ref: ref for ref in posted_refs(conn, [t.bank_ref for t in transactions])}
    legacy = [t for t in transactions if t.bank_ref not in found and t.legacy is not None
              and t.legacy.ref != t.bank_ref]
    if not legacy:
        return found
    rows = {r.bank_ref: r for r in conn.execute(
        select(bank_transactions.c.bank_ref, bank_transactions.c.booking_date,
               bank_transactions.c.amount_minor, bank_transactions.c.currency)
        .where(bank_transactions.c.bank_ref.in_(sorted({t.legacy.ref for t in legacy}))))}
    answers: dict[str, str] = {ref: "" for ref in found}  # stored ref -> booking it answers
    for tx in legacy:
        row = rows.get(tx.legacy.ref)
        if row is None or (row.booking_date, row.currency, row.amount_minor) != (
                tx.booking_date, tx.currency, _legacy_minor(tx)):
            continue
        if answers.setdefault(row.bank_ref, tx.legacy.booking) == tx.legacy.booking:
            found[tx.bank_ref] = row.bank_ref
    return found


def posted_statuses(already: dict[str, str]) -> dict[str, str]:
    """The report's status of transactions already posted (``posted_earlier``). One that
    arcli 0.1.0 posted under another reference names it: the parts of a camt batch were
    one receipt of the whole entry then, on the first payer's customer, which the user
    may want to move."""
    return {ref: "already posted" if stored == ref else f"already posted as {stored}"
            for ref, stored in already.items()}


def _legacy_minor(tx: BankTransaction) -> int | None:
    """The amount arcli 0.1.0 posted ``tx`` with, in minor units (None: it could not)."""
    try:
        return money.to_minor(tx.legacy.amount, tx.currency)
    except money.MoneyError:
        return None


def posted_match(conn: Connection, tx: BankTransaction) -> Match | None:
    """The match a receipt was posted with earlier (customer, confidence, reason), or None."""
    if tx.bank_ref not in posted_earlier(conn, [tx]):
        return None
    return as_posted(conn, [Match(tx)])[0]


def as_posted(conn: Connection, matches: Sequence[Match]) -> list[Match]:
    """``matches`` with each receipt the book already holds shown as it was posted: its
    customer, the invoices its payment was pinned to, its confidence and reason.

    Why not the fresh match: once posted, the receipt has settled its invoices, so
    matching it again finds other open items (an older invoice of the same customer at a
    lower confidence) and the report would say the money went where it did not."""
    already = posted_earlier(conn, [m.transaction for m in matches])
    if not already:
        return list(matches)
    rows = {r.bank_ref: r for r in conn.execute(
        select(bank_transactions.c.bank_ref, bank_transactions.c.customer_id,
               bank_transactions.c.confidence, bank_transactions.c.reason,
               bank_transactions.c.payment_id, bank_transactions.c.write_off_minor)
        .where(bank_transactions.c.bank_ref.in_(sorted(set(already.values())))))}
    pinned: dict[int, list[tuple[Candidate, Decimal]]] = {}
    payments = [r.payment_id for r in rows.values() if r.payment_id is not None]
    if payments:
        for a in conn.execute(
                select(manual_allocations.c.credit_id, manual_allocations.c.amount_minor,
                       documents.c.id, documents.c.number, documents.c.customer_id,
                       documents.c.currency, documents.c.due_date)
                .join(documents, documents.c.id == manual_allocations.c.debit_id)
                .where(manual_allocations.c.credit_id.in_(payments))
                .order_by(manual_allocations.c.credit_id, documents.c.id)):
            amount = money.from_minor(a.amount_minor, a.currency)
            pinned.setdefault(a.credit_id, []).append(
                (Candidate(a.id, a.number, a.customer_id, a.currency, amount, a.due_date),
                 amount))
    shown = []
    for m in matches:
        row = rows.get(already.get(m.transaction.bank_ref, ""))
        if row is None:
            shown.append(m)
            continue
        currency = m.transaction.currency
        shown.append(Match(
            m.transaction, row.customer_id, pinned.get(row.payment_id, []),
            confidence=row.confidence or 0, reason="posted earlier: " + (row.reason or ""),
            write_off=money.from_minor(row.write_off_minor, currency)
            if row.write_off_minor else Decimal(0)))
    return shown


def _learn(conn: Connection, tx: BankTransaction, customer: str, now) -> None:
    existing = {(r.kind, r.value) for r in conn.execute(
        select(payer_keys.c.kind, payer_keys.c.value).where(payer_keys.c.customer_id == customer))}
    for kind, value in (("account", normalize_account(tx.payer_account)),
                        ("name", tx.payer_name.strip())):
        if value and (kind, value) not in existing and (kind != "name" or normalize_name(value)):
            conn.execute(insert(payer_keys).values(customer_id=customer, kind=kind, value=value,
                                                   source="learned", created_at=now))


def apply_matches(conn: Connection, source: SourceFile, matches: list[Match],
                  settings: BankSettings, *, settlement_order: Sequence[str]
                  ) -> dict[str, str]:
    """Post confident, not yet posted matches, cash applied in the book's
    ``settlement_order``; returns bank_ref -> new status."""
    now = dt.datetime.now(dt.UTC)
    already = posted_earlier(conn, [m.transaction for m in matches])
    # Only a customer's receipt becomes a payment: a debit, a reversal or a pending entry
    # posted as one would raise the customer's balance by money that never came in.
    todo = [m for m in matches if m.matched and m.confidence >= settings.min_confidence
            and m.transaction.credit and m.transaction.amount > 0
            and m.transaction.bank_ref not in already]
    status = posted_statuses(already)
    if not todo:
        return status
    batch = record_batch(conn, "bank", source, len(matches))
    groups = set()
    for m in todo:
        tx = m.transaction
        number = f"BANK-{tx.bank_ref}"[:64]
        reference = m.invoices[0][0].number if len(m.invoices) == 1 else None
        minor = money.to_minor(tx.amount, tx.currency)
        payment_id = conn.execute(insert(documents).values(
            type="payment", number=number, customer_id=m.customer_id, date=tx.booking_date,
            due_date=tx.booking_date, amount_minor=minor, sign=-1, currency=tx.currency,
            reference=reference, description=(tx.remittance or tx.payer_name)[:200] or None,
            content_hash=f"bank:{tx.bank_ref}:{minor}", batch_id=batch, open_minor=minor,
            closed_on=OPEN_SENTINEL)).inserted_primary_key[0]
        for cand, amount in m.invoices:
            conn.execute(insert(manual_allocations).values(
                credit_id=payment_id, debit_id=cand.document_id,
                amount_minor=money.to_minor(amount, tx.currency), created_at=now,
                created_by="bank-match", note=m.reason[:200]))
        conn.execute(insert(bank_transactions).values(
            bank_ref=tx.bank_ref, account=tx.account, booking_date=tx.booking_date,
            value_date=tx.value_date, amount_minor=minor, currency=tx.currency,
            payer_name=tx.payer_name, payer_account=tx.payer_account,
            remittance=tx.remittance, batch_id=batch, customer_id=m.customer_id,
            payment_id=payment_id, status="posted", confidence=m.confidence, reason=m.reason,
            write_off_minor=money.to_minor(m.write_off, tx.currency) if m.write_off else None))
        _learn(conn, tx, m.customer_id, now)
        groups.add((m.customer_id, tx.currency))
        status[tx.bank_ref] = "posted"
    reapply(conn, groups, settlement_order=settlement_order)
    return status


def bank_report(matches: list[Match], status: dict[str, str], min_confidence: int) -> Report:
    rows = []
    for m in matches:
        tx = m.transaction
        state = status.get(tx.bank_ref) or (
            "matched" if m.matched and m.confidence >= min_confidence else
            "low confidence" if m.matched else "unmatched" if tx.credit else "ignored")
        rows.append({
            "bank_ref": tx.bank_ref, "date": tx.booking_date, "amount": tx.amount,
            "currency": tx.currency, "payer": tx.payer_name, "remittance": tx.remittance,
            "customer": m.customer_id, "invoices": ", ".join(
                f"{c.number}:{a}" for c, a in m.invoices),
            "confidence": m.confidence if m.matched else None, "write_off": m.write_off or None,
            "status": state, "reason": m.reason})
    return Report(["bank_ref", "date", "amount", "currency", "payer", "remittance", "customer",
                   "invoices", "confidence", "write_off", "status", "reason"], rows)


def source_for(path: Path) -> SourceFile:
    from arcli.importing.readers import open_source

    return open_source(str(path))
