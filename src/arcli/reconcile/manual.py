"""Cash application by hand: what needs attention, pinning, unpinning, explaining.

Manual allocations are stored as inputs (``manual_allocations``), never as edits of the
derived ``allocations``: cash application reruns with them pinned first, so they survive
re-imports and every automatic figure stays reproducible.
"""

from __future__ import annotations

import datetime as dt
import getpass
from decimal import Decimal

from sqlalchemy import Connection, delete, func, insert, select

from arcli import money
from arcli.allocation import CREDIT_TYPES, DEBIT_TYPES
from arcli.cash_application import reapply
from arcli.dunning.holds import find_document
from arcli.errors import UsageError
from arcli.ledger import open_items
from arcli.output import Report
from arcli.settings import BookSettings
from arcli.store.schema import allocations, documents, manual_allocations


def _doc(conn: Connection, number: str, types: tuple[str, ...], role: str):
    rows = conn.execute(select(documents).where(documents.c.number == number,
                                                documents.c.type.in_(types))).all()
    if not rows:
        raise UsageError(f"no {role} numbered {number!r}")
    if len(rows) > 1:
        raise UsageError(f"{number!r} names several {role}s")
    return rows[0]


def _pinned(conn: Connection, column, doc_id: int) -> int:
    return conn.execute(select(func.coalesce(func.sum(manual_allocations.c.amount_minor), 0))
                        .where(column == doc_id)).scalar()


def apply_manual(conn: Connection, credit_no: str, debit_no: str, amount: Decimal | None,
                 book: BookSettings) -> Decimal:
    """Pin (part of) a payment or credit note to an invoice; returns the amount pinned."""
    credit = _doc(conn, credit_no, CREDIT_TYPES, "payment or credit note")
    debit = _doc(conn, debit_no, DEBIT_TYPES, "invoice")
    if (credit.customer_id, credit.currency) != (debit.customer_id, debit.currency):
        raise UsageError(f"{credit_no} ({credit.customer_id} {credit.currency}) and {debit_no} "
                         f"({debit.customer_id} {debit.currency}) are not the same customer "
                         "and currency")
    cur = credit.currency
    free_credit = credit.amount_minor - _pinned(conn, manual_allocations.c.credit_id, credit.id)
    free_debit = debit.amount_minor - _pinned(conn, manual_allocations.c.debit_id, debit.id)
    existing = conn.execute(select(manual_allocations.c.amount_minor).where(
        manual_allocations.c.credit_id == credit.id,
        manual_allocations.c.debit_id == debit.id)).scalar() or 0
    free_credit += existing
    free_debit += existing
    wanted = money.given_to_minor(amount, cur, "--amount") if amount is not None \
        else min(free_credit, free_debit)
    if wanted <= 0:
        raise UsageError("nothing left to apply: the payment or the invoice is fully pinned")
    if wanted > free_credit:
        raise UsageError(f"over-allocation: {credit_no} has only "
                         f"{money.from_minor(free_credit, cur)} {cur} not yet pinned")
    if wanted > free_debit:
        raise UsageError(f"over-allocation: {debit_no} has only "
                         f"{money.from_minor(free_debit, cur)} {cur} not yet pinned")
    conn.execute(delete(manual_allocations).where(manual_allocations.c.credit_id == credit.id,
                                                  manual_allocations.c.debit_id == debit.id))
    conn.execute(insert(manual_allocations).values(
        credit_id=credit.id, debit_id=debit.id, amount_minor=wanted,
        created_at=dt.datetime.now(dt.UTC), created_by=_user()))
    reapply(conn, [(credit.customer_id, cur)], settlement_order=book.settlement_order)
    return money.from_minor(wanted, cur)


def unapply_manual(conn: Connection, credit_no: str, debit_no: str | None,
                   book: BookSettings) -> int:
    credit = _doc(conn, credit_no, CREDIT_TYPES, "payment or credit note")
    query = delete(manual_allocations).where(manual_allocations.c.credit_id == credit.id)
    if debit_no:
        debit = _doc(conn, debit_no, DEBIT_TYPES, "invoice")
        query = query.where(manual_allocations.c.debit_id == debit.id)
    removed = conn.execute(query).rowcount
    if not removed:
        raise UsageError(f"{credit_no} has no manual allocation"
                         + (f" to {debit_no}" if debit_no else ""))
    reapply(conn, [(credit.customer_id, credit.currency)], settlement_order=book.settlement_order)
    return removed


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def explain(conn: Connection, number: str) -> Report:
    """Every allocation touching the document, the rule and why earlier rules did not apply."""
    doc_id, _, _ = find_document(conn, number)
    doc = conn.execute(select(documents).where(documents.c.id == doc_id)).one()
    other = documents.alias("other")
    is_debit = doc.sign > 0
    mine, theirs = (allocations.c.debit_id, allocations.c.credit_id) if is_debit else \
        (allocations.c.credit_id, allocations.c.debit_id)
    rows = []
    for r in conn.execute(select(allocations, other.c.number.label("other_number"),
                                 other.c.type.label("other_type"))
                          .join(other, other.c.id == theirs).where(mine == doc_id)
                          .order_by(allocations.c.effective_date, allocations.c.id)):
        rows.append({"document": number, "with": f"{r.other_type} {r.other_number}",
                     "amount": money.from_minor(r.amount_minor, doc.currency),
                     "effective_date": r.effective_date, "rule": r.rule, "why": r.note})
    rows.append({"document": number, "with": "(open)",
                 "amount": money.from_minor(doc.open_minor, doc.currency),
                 "effective_date": None, "rule": "", "why":
                 f"{doc.type} of {money.from_minor(doc.amount_minor, doc.currency)} "
                 f"{doc.currency} dated {doc.date.isoformat()}"})
    return Report(["document", "with", "amount", "effective_date", "rule", "why"], rows)


def status(conn: Connection, as_of: dt.date, customer_ids=None) -> Report:
    """Unapplied credits, partly paid invoices, and payments whose reference matched nothing."""
    items = [i for i in open_items(conn, as_of, customer_ids)]
    open_debits: dict[tuple, list] = {}
    for i in items:
        if i.open_amount > 0:
            open_debits.setdefault((i.customer_id, i.currency), []).append(i)
    rows = []
    for i in items:
        if i.open_amount < 0:
            rows.append(_row("unapplied credit", i, -i.open_amount,
                             _suggest(open_debits.get((i.customer_id, i.currency), []),
                                      -i.open_amount)))
        elif i.open_amount < i.amount:
            rows.append(_row("partly paid", i, i.open_amount, ""))
    d = documents.c
    fifo = conn.execute(
        select(d.number, d.customer_id, d.currency, d.reference, d.amount_minor, d.date)
        .join(allocations, allocations.c.credit_id == d.id)
        .where(allocations.c.rule == "oldest", allocations.c.note.like("%names no open item%"))
        .distinct())
    for r in fifo:
        if customer_ids and r.customer_id not in customer_ids:
            continue
        rows.append({"issue": "reference matched nothing", "customer": r.customer_id,
                     "currency": r.currency, "document": r.number,
                     "amount": money.from_minor(r.amount_minor, r.currency),
                     "suggestion": f"check reference {r.reference!r}; applied oldest first",
                     })
    return Report(["issue", "customer", "currency", "document", "amount", "suggestion"], rows)


def _row(issue: str, item, amount: Decimal, suggestion: str) -> dict:
    return {"issue": issue, "customer": item.customer_id, "currency": item.currency,
            "document": item.number, "amount": amount, "suggestion": suggestion}


def _suggest(debits: list, amount: Decimal) -> str:
    exact = [d for d in debits if d.open_amount == amount]
    if exact:
        return f"apply to {exact[0].number} (same amount)"
    if debits:
        return f"apply to {debits[0].number} (oldest open)"
    return "refund or keep as prepayment"
