"""Questions about the book as of a date: balances and open items.

These are the building blocks every report shares (aging, statements, dunning,
reconciliation), so that "the balance" means the same thing everywhere and every figure
ties out. Open amounts as of a date come from the stored allocations: a document's final
open amount plus whatever was applied to it after that date.

The queries are plain SQL over a :class:`~arcli.store.reader.BookReader`, so quick
reports run them without importing SQLAlchemy; ``conn`` may be a SQLAlchemy connection
(batch commands, inside their transaction) or a reader.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from arcli import money
from arcli.store.reader import BookReader, reader_for

Group = tuple[str, str]

#: A document's open amount (minor units, positive) once nothing applies after the date.
OPEN_NOW = "d.open_minor"
#: ... and as of an earlier date: add back what was applied to it after that date.
_OPEN_AT = (
    "d.open_minor + CASE WHEN d.sign > 0 "
    "THEN (SELECT COALESCE(SUM(a.amount_minor), 0) FROM allocations a "
    "WHERE a.debit_id = d.id AND a.effective_date > ?) "
    "ELSE (SELECT COALESCE(SUM(a.amount_minor), 0) FROM allocations a "
    "WHERE a.credit_id = d.id AND a.effective_date > ?) END"
)


@dataclass(frozen=True)
class Scope:
    """The SQL pieces that select open documents as of a date, in some customers/currency.

    ``open_sql`` is the cheapest correct open-amount expression: when no allocation takes
    effect after the date (the usual "as of today" case) the stored ``open_minor`` already
    is the open amount and the per-row subqueries are skipped. ``open_params`` go with it;
    ``where``/``where_params`` use only indexed columns (see ``ix_documents_open``).
    """

    open_sql: str
    open_params: tuple
    where: str
    where_params: tuple


def open_scope(reader: BookReader, as_of: dt.date, customer_ids: Sequence[str] | None = None,
               currency: str | None = None) -> Scope:
    day = reader.param(as_of)
    latest = reader.scalar("SELECT MAX(effective_date) FROM allocations")
    if latest is None or reader.date(latest) <= as_of:
        open_sql, open_params = OPEN_NOW, ()
    else:
        open_sql, open_params = _OPEN_AT, (day, day)
    where, params = _scope_where(customer_ids, currency)
    return Scope(open_sql, open_params, "d.closed_on > ? AND d.date <= ?" + where,
                 (day, day, *params))


def _scope_where(customer_ids: Sequence[str] | None, currency: str | None) -> tuple[str, tuple]:
    """Extra WHERE clauses limiting a query to some customers and/or one currency."""
    sql, params = "", []
    if customer_ids:
        ids = list(dict.fromkeys(customer_ids))
        sql += f" AND d.customer_id IN ({', '.join('?' * len(ids))})"
        params += ids
    if currency:
        sql += " AND d.currency = ?"
        params.append(currency)
    return sql, tuple(params)


def balances(conn, as_of: dt.date, customer_ids: Sequence[str] | None = None,
             currency: str | None = None) -> dict[Group, Decimal]:
    """Ledger balance per customer and currency: debits minus credits dated on or before."""
    reader = reader_for(conn)
    where, params = _scope_where(customer_ids, currency)
    rows = reader.rows(
        "SELECT d.customer_id, d.currency, SUM(d.sign * d.amount_minor) FROM documents d "
        f"WHERE d.date <= ?{where} GROUP BY d.customer_id, d.currency",
        (reader.param(as_of), *params))
    return {(c, cur): money.from_minor(total, cur) for c, cur, total in rows}


class OpenItem(NamedTuple):
    """A document not fully settled as of a date. ``open_amount`` is negative for credits.

    A named tuple rather than a frozen dataclass: a dunning run over a big book builds
    half a million of these, and a tuple is built about four times faster.
    """

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
    #: what the document is for (a statement's and a letter's items print it)
    description: str | None = None

    def days_overdue(self, as_of: dt.date) -> int:
        return max((as_of - self.due_date).days, 0) if self.open_amount > 0 else 0


def open_items(conn, as_of: dt.date, customer_ids: Sequence[str] | None = None,
               currency: str | None = None) -> list[OpenItem]:
    """Every open item as of the date, ordered by customer, currency, due date, number."""
    return list(iter_open_items(conn, as_of, customer_ids, currency))


def iter_open_items(conn, as_of: dt.date, customer_ids: Sequence[str] | None = None,
                    currency: str | None = None) -> Iterator[OpenItem]:
    """:func:`open_items` one at a time, as the database returns them: an export of
    every open item of a big book never holds them all."""
    reader = reader_for(conn)
    scope = open_scope(reader, as_of, customer_ids, currency)
    rows = reader.rows(
        "SELECT d.id, d.customer_id, c.name, d.currency, d.type, d.number, d.date, "
        f"d.due_date, d.amount_minor, d.sign, d.reference, d.description, {scope.open_sql} "
        "FROM documents d JOIN customers c ON c.id = d.customer_id "
        f"WHERE {scope.where} ORDER BY d.customer_id, d.currency, d.due_date, d.number",
        (*scope.open_params, *scope.where_params))
    date, from_minor = reader.date, money.from_minor
    return (
        OpenItem(doc_id, customer_id, name, cur, doc_type, number, date(day), date(due),
                 from_minor(amount, cur), from_minor(sign * open_minor, cur), reference,
                 description)
        for (doc_id, customer_id, name, cur, doc_type, number, day, due, amount, sign,
             reference, description, open_minor) in rows
        if open_minor != 0
    )
