"""Questions about the book as of a date: balances and open items.

These are the building blocks every report shares (aging, statements, dunning,
reconciliation), so that "the balance" means the same thing everywhere and every figure
ties out. Open amounts as of a date come from the stored allocations: a document's final
open amount plus whatever was applied to it after that date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import ColumnElement, Connection, Select, and_, case, func, select

from arcli import money
from arcli.store.schema import allocations, customers, documents

Group = tuple[str, str]


def _applied_after(as_of: dt.date, column) -> Select:
    a = allocations.c
    return (
        select(func.coalesce(func.sum(a.amount_minor), 0))
        .where(column == documents.c.id, a.effective_date > as_of)
        .scalar_subquery()
    )


def open_at(as_of: dt.date) -> ColumnElement:
    """SQL expression: the document's open amount (minor units, positive) as of ``as_of``."""
    d = documents.c
    return d.open_minor + case(
        (d.sign > 0, _applied_after(as_of, allocations.c.debit_id)),
        else_=_applied_after(as_of, allocations.c.credit_id),
    )


def open_amount(conn: Connection, as_of: dt.date) -> ColumnElement:
    """The cheapest correct open-amount expression for ``as_of``.

    When no allocation takes effect after the date (the usual "as of today" case), the
    stored ``open_minor`` already is the open amount, and the per-row subqueries of
    :func:`open_at` are skipped.
    """
    latest = conn.execute(select(func.max(allocations.c.effective_date))).scalar()
    if latest is None or latest <= as_of:
        return documents.c.open_minor
    return open_at(as_of)


def open_at_filter(as_of: dt.date) -> ColumnElement:
    """Documents that exist and are not fully settled as of ``as_of`` (index friendly)."""
    d = documents.c
    return and_(d.closed_on > as_of, d.date <= as_of)


def scope_filter(customer_ids: Sequence[str] | None = None,
                 currency: str | None = None) -> list[ColumnElement]:
    """WHERE clauses limiting a query to some customers and/or one currency."""
    clauses: list[ColumnElement] = []
    if customer_ids:
        clauses.append(documents.c.customer_id.in_(list(customer_ids)))
    if currency:
        clauses.append(documents.c.currency == currency)
    return clauses


def balances(conn: Connection, as_of: dt.date, customer_ids: Sequence[str] | None = None,
             currency: str | None = None) -> dict[Group, Decimal]:
    """Ledger balance per customer and currency: debits minus credits dated on or before."""
    d = documents.c
    rows = conn.execute(
        select(d.customer_id, d.currency, func.sum(d.sign * d.amount_minor))
        .where(d.date <= as_of, *scope_filter(customer_ids, currency))
        .group_by(d.customer_id, d.currency)
    )
    return {(c, cur): money.from_minor(total, cur) for c, cur, total in rows}


@dataclass(frozen=True)
class OpenItem:
    """A document not fully settled as of a date. ``open_amount`` is negative for credits."""

    document_id: int
    customer_id: str
    customer_name: str
    currency: str
    type: str
    number: str
    date: dt.date
    due_date: dt.date
    amount: Decimal
    open_amount: Decimal
    reference: str | None

    def days_overdue(self, as_of: dt.date) -> int:
        return max((as_of - self.due_date).days, 0) if self.open_amount > 0 else 0


def open_items(conn: Connection, as_of: dt.date, customer_ids: Sequence[str] | None = None,
               currency: str | None = None) -> list[OpenItem]:
    """Every open item as of the date, ordered by customer, currency, due date, number."""
    d = documents.c
    open_minor = open_amount(conn, as_of).label("open_minor_at")
    query = (
        select(d.id, d.customer_id, customers.c.name, d.currency, d.type, d.number, d.date,
               d.due_date, d.amount_minor, d.sign, d.reference, open_minor)
        .join(customers, customers.c.id == d.customer_id)
        .where(open_at_filter(as_of), *scope_filter(customer_ids, currency))
        .order_by(d.customer_id, d.currency, d.due_date, d.number)
    )
    items = []
    for r in conn.execute(query):
        if r.open_minor_at == 0:
            continue
        items.append(OpenItem(
            r.id, r.customer_id, r.name, r.currency, r.type, r.number, r.date, r.due_date,
            money.from_minor(r.amount_minor, r.currency),
            money.from_minor(r.sign * r.open_minor_at, r.currency), r.reference,
        ))
    return items
