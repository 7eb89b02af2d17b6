"""Write-offs: small differences taken off the book as ``write_off`` documents.

A receipt short of its invoices by bank charges within the tolerance is a full payment
with a *suggested* write-off (kept with the posted receipt). Posting a write-off makes a
credit document of type ``write_off`` -- so the ledger balance, the aging and the
statements all show it, and they tie out -- pinned (a manual allocation, with who and
why) to the invoice it settles. Every write-off is limited per currency
(``reconcile.write_off_limit``, else the bank ``tolerance``): a write-off above it is
refused, since it is a loss someone has to approve, not a rounding difference.

Posting is idempotent: a suggested write-off is document ``WO-<bank ref>`` and is never
posted twice; a write-off by hand is ``WO-<invoice number>`` (``-2``, ``-3`` ... for
further ones on the same invoice).
"""

from __future__ import annotations

import datetime as dt
import getpass
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Connection, insert, select

from arcli import money
from arcli.allocation import DEBIT_TYPES
from arcli.cash_application import reapply
from arcli.config import ConfigView
from arcli.dunning.holds import find_document, require_customer
from arcli.errors import UsageError
from arcli.output import Report
from arcli.store.schema import OPEN_SENTINEL, bank_transactions, documents, manual_allocations

COLUMNS = ["number", "customer", "currency", "invoice", "amount", "date", "reason", "status"]


@dataclass(frozen=True)
class WriteOffLimits:
    """Largest write-off per currency (``reconcile.write_off_limit``, else ``tolerance``)."""

    limits: dict[str, Decimal]

    def check(self, amount: Decimal, currency: str) -> None:
        limit = self.limits.get(currency)
        if limit is None:
            raise UsageError(f"no write-off limit for {currency}: set reconcile."
                             f"write_off_limit.{currency} (or reconcile.tolerance.{currency})")
        if amount > limit:
            raise UsageError(f"write-off of {amount} {currency} is above the limit of "
                             f"{limit} {currency} (reconcile.write_off_limit.{currency})")


def write_off_limits(config: ConfigView) -> WriteOffLimits:
    view = config.section("reconcile")
    limits: dict[str, Decimal] = {}
    for key in ("tolerance", "write_off_limit"):  # the explicit limit wins
        raw = view.raw(key) or {}
        if not isinstance(raw, dict):
            raise view.error(key, "must map currency codes to amounts")
        section = view.section(key)
        for cur in section:
            amount = section.get_decimal(cur)
            if amount is None or amount < 0:
                raise section.error(cur, "must be an amount, 0 or more")
            limits[money.check_currency(cur)] = amount
    return WriteOffLimits(limits)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _post(conn: Connection, number: str, debits: list[tuple], total_minor: int, day: dt.date,
          reason: str, created_by: str) -> None:
    """Insert one write-off document and pin it to ``debits`` [(row, amount_minor)]."""
    first = debits[0][0]
    credit_id = conn.execute(insert(documents).values(
        type="write_off", number=number, customer_id=first.customer_id, date=day,
        due_date=day, amount_minor=total_minor, sign=-1, currency=first.currency,
        reference=first.number, description=reason[:200],
        content_hash=f"write-off:{number}:{total_minor}", open_minor=total_minor,
        closed_on=OPEN_SENTINEL)).inserted_primary_key[0]
    now = dt.datetime.now(dt.UTC)
    conn.execute(insert(manual_allocations), [
        {"credit_id": credit_id, "debit_id": row.id, "amount_minor": minor, "created_at": now,
         "created_by": created_by, "note": reason[:200]} for row, minor in debits])


def _free_number(conn: Connection, base: str) -> str:
    taken = set(conn.execute(select(documents.c.number).where(
        documents.c.type == "write_off", documents.c.number.like(f"{base}%"))).scalars())
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def write_off_document(conn: Connection, number: str, amount: Decimal | None, reason: str,
                       day: dt.date, limits: WriteOffLimits, *, customer_id: str | None = None,
                       settlement_order) -> dict:
    """Write off (part of) what is open on the debit ``number``; returns the report row."""
    if not reason.strip():
        raise UsageError("--reason must say why (it is kept with the write-off)")
    if customer_id:
        require_customer(conn, customer_id)
    doc_id, doc_type, owner = find_document(conn, number)
    if doc_type not in DEBIT_TYPES:
        raise UsageError(f"{number} is a {doc_type}: only an invoice, fee or interest "
                         "charge can be written off")
    if customer_id and owner != customer_id:
        raise UsageError(f"{number} belongs to {owner}, not {customer_id}")
    row = conn.execute(select(documents).where(documents.c.id == doc_id)).one()
    if row.open_minor <= 0:
        raise UsageError(f"{number} has nothing open to write off")
    cur = row.currency
    minor = row.open_minor if amount is None else money.given_to_minor(amount, cur, "--amount")
    if minor <= 0:
        raise UsageError("--amount must be positive")
    if minor > row.open_minor:
        raise UsageError(f"--amount {money.from_minor(minor, cur)} is more than the "
                         f"{money.from_minor(row.open_minor, cur)} {cur} open on {number}")
    value = money.from_minor(minor, cur)
    limits.check(value, cur)
    wo_number = _free_number(conn, f"WO-{number}"[:60])
    _post(conn, wo_number, [(row, minor)], minor, day, reason, _user())
    reapply(conn, {(row.customer_id, cur)}, settlement_order=settlement_order)
    return {"number": wo_number, "customer": row.customer_id, "currency": cur,
            "invoice": number, "amount": value, "date": day, "reason": reason,
            "status": "posted"}


def post_suggested(conn: Connection, limits: WriteOffLimits, *, settlement_order) -> Report:
    """Post the write-offs the bank matching suggested for receipts already posted."""
    bt = bank_transactions.c
    suggested = conn.execute(select(bank_transactions).where(
        bt.write_off_minor > 0, bt.payment_id.is_not(None)).order_by(bt.booking_date, bt.id)
    ).all()
    rows, groups = [], set()
    for tx in suggested:
        number = f"WO-{tx.bank_ref}"[:64]
        row = {"number": number, "customer": tx.customer_id, "currency": tx.currency,
               "invoice": "", "amount": money.from_minor(tx.write_off_minor, tx.currency),
               "date": tx.booking_date, "reason": f"bank charges on {tx.bank_ref}"}
        if conn.execute(select(documents.c.id).where(documents.c.type == "write_off",
                                                     documents.c.number == number)).first():
            rows.append({**row, "status": "already posted"})
            continue
        debits = _short_debits(conn, tx.payment_id, tx.write_off_minor)
        row["invoice"] = ", ".join(d.number for d, _ in debits)
        total = sum(m for _, m in debits)
        if not debits or total != tx.write_off_minor:
            rows.append({**row, "status": "not posted: the invoices are no longer open by "
                                          "the suggested amount"})
            continue
        try:
            limits.check(row["amount"], tx.currency)
        except UsageError as exc:
            rows.append({**row, "status": f"not posted: {exc}"})
            continue
        _post(conn, number, debits, total, tx.booking_date, row["reason"], "bank-match")
        groups.add((tx.customer_id, tx.currency))
        rows.append({**row, "status": "posted"})
    if groups:
        reapply(conn, groups, settlement_order=settlement_order)
    return Report(COLUMNS, rows)


def _short_debits(conn: Connection, payment_id: int, wanted: int) -> list[tuple]:
    """The invoices a receipt was pinned to that are still open, up to ``wanted``."""
    debits = conn.execute(
        select(documents).join(manual_allocations,
                               manual_allocations.c.debit_id == documents.c.id)
        .where(manual_allocations.c.credit_id == payment_id, documents.c.open_minor > 0)
        .order_by(documents.c.due_date, documents.c.number)).all()
    taken, left = [], wanted
    for row in debits:
        if left <= 0:
            break
        part = min(left, row.open_minor)
        taken.append((row, part))
        left -= part
    return taken


def bank_line(transactions, bank_ref: str):
    """The statement line with this bank reference; a data error naming it if none."""
    for tx in transactions:
        if tx.bank_ref == bank_ref:
            return tx
    raise UsageError(f"the statement has no transaction {bank_ref!r}")
