"""The aging table: open amounts per customer and currency, by how long they are overdue.

Collectability falls with age (roughly all of it within two months overdue, half after
six months, a fifth after a year), so this is the report everything else starts from.
The summary is one GROUP BY in the database with CASE buckets, so a million-document
book is aged without loading documents into Python.

Invariant (tested): for every customer and currency, buckets + unapplied = total = ledger
balance as of the same date.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Connection, case, func, select

from arcli import money
from arcli.errors import UsageError
from arcli.ledger import OpenItem, open_amount, open_at_filter, open_items, scope_filter
from arcli.output import Report
from arcli.store.schema import customers, documents

BASES = ("due", "document")
DEFAULT_BUCKETS = (30, 60, 90)


@dataclass(frozen=True)
class AgingSpec:
    """How to age: the date, what the age counts from, and the bucket upper bounds."""

    as_of: dt.date
    basis: str = "due"
    buckets: tuple[int, ...] = DEFAULT_BUCKETS

    def __post_init__(self):
        if self.basis not in BASES:
            raise UsageError(f"basis must be one of {', '.join(BASES)}")
        if not self.buckets or list(self.buckets) != sorted(set(self.buckets)) \
                or self.buckets[0] < 1:
            raise UsageError("buckets must be increasing positive day counts, e.g. 30,60,90")

    @property
    def labels(self) -> list[str]:
        """Column labels: ``current,1-30,31-60,61-90,91+`` (``0-30,...`` on document basis)."""
        first = "current" if self.basis == "due" else None
        lows = [1 if self.basis == "due" else 0, *[b + 1 for b in self.buckets[:-1]]]
        ranges = [f"{lo}-{hi}" for lo, hi in zip(lows, self.buckets, strict=True)]
        return [*([first] if first else []), *ranges, f"{self.buckets[-1] + 1}+"]

    def label_for(self, item_date: dt.date, due_date: dt.date) -> str:
        """The bucket of one debit (the same rule the SQL applies)."""
        age = (self.as_of - (due_date if self.basis == "due" else item_date)).days
        labels = self.labels
        if self.basis == "due" and age <= 0:
            return labels[0]
        offset = 1 if self.basis == "due" else 0
        for index, bound in enumerate(self.buckets):
            if age <= bound:
                return labels[index + offset]
        return labels[-1]


@dataclass(frozen=True)
class AgingRow:
    customer_id: str
    name: str
    currency: str
    buckets: dict[str, Decimal]
    unapplied: Decimal
    total: Decimal


def parse_buckets(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise UsageError(f"buckets must be comma-separated day counts, got {text!r}") from None


def _bucket_cases(spec: AgingSpec, open_expr):
    """One SUM(CASE ...) per bucket, comparing dates (cheap) rather than computing ages."""
    d = documents.c
    column = d.due_date if spec.basis == "due" else d.date
    debit = d.sign > 0
    bounds = [spec.as_of - dt.timedelta(days=b) for b in spec.buckets]
    exprs = []
    if spec.basis == "due":
        exprs.append(case((debit & (column >= spec.as_of), open_expr), else_=0))
        upper = spec.as_of - dt.timedelta(days=1)
    else:
        upper = spec.as_of
    for bound in bounds:
        exprs.append(case((debit & (column <= upper) & (column >= bound), open_expr), else_=0))
        upper = bound - dt.timedelta(days=1)
    exprs.append(case((debit & (column <= upper), open_expr), else_=0))
    return [func.sum(e) for e in exprs]


def aging_rows(conn: Connection, spec: AgingSpec, customer_ids: Sequence[str] | None = None,
               currency: str | None = None) -> list[AgingRow]:
    """Aging summary per customer and currency, computed in the database.

    Documents are summed per group first and customer names joined to the 10,000-odd
    group rows afterwards, so the scan reads the covering ``ix_documents_open`` index alone.
    """
    d = documents.c
    open_expr = open_amount(conn, spec.as_of)
    unapplied = func.sum(case((d.sign < 0, -open_expr), else_=0))
    sums = (
        select(d.customer_id, d.currency, *_bucket_cases(spec, open_expr), unapplied,
               func.sum(case((open_expr != 0, 1), else_=0)).label("open_count"))
        .where(open_at_filter(spec.as_of), *scope_filter(customer_ids, currency))
        .group_by(d.customer_id, d.currency)
        .subquery()
    )
    query = (
        select(sums.c.customer_id, customers.c.name, *list(sums.c)[1:])
        .join(customers, customers.c.id == sums.c.customer_id)
        .order_by(sums.c.customer_id, sums.c.currency)
    )
    rows = []
    for r in conn.execute(query):
        cur = r[2]
        amounts = [money.from_minor(v or 0, cur) for v in r[3:-1]]
        if r[-1] == 0:
            continue
        buckets = dict(zip(spec.labels, amounts[:-1], strict=True))
        rows.append(AgingRow(r[0], r[1], cur, buckets, amounts[-1], sum(amounts, Decimal(0))))
    return rows


def currency_totals(rows: Sequence[AgingRow], spec: AgingSpec) -> list[AgingRow]:
    """One total row per currency (amounts in different currencies are never added)."""
    totals: dict[str, AgingRow] = {}
    for row in rows:
        t = totals.get(row.currency)
        if t is None:
            totals[row.currency] = row
            continue
        merged = {k: t.buckets[k] + row.buckets[k] for k in spec.labels}
        totals[row.currency] = AgingRow("", "", row.currency, merged,
                                        t.unapplied + row.unapplied, t.total + row.total)
    return [AgingRow("TOTAL", "", cur, t.buckets, t.unapplied, t.total)
            for cur, t in sorted(totals.items())]


def aging_report(rows: Sequence[AgingRow], spec: AgingSpec) -> Report:
    """The summary as a Report with the documented stable columns."""
    columns = ["customer", "name", "currency", *spec.labels, "unapplied", "total"]

    def as_dict(row: AgingRow) -> dict:
        return {"customer": row.customer_id, "name": row.name, "currency": row.currency,
                **row.buckets, "unapplied": row.unapplied, "total": row.total}

    return Report(columns, [as_dict(r) for r in rows],
                  totals=[as_dict(t) for t in currency_totals(rows, spec)])


def detail_report(items: Sequence[OpenItem], spec: AgingSpec) -> Report:
    """Open items with their age and bucket (``--detail``)."""
    columns = ["customer", "name", "currency", "type", "number", "date", "due_date",
               "days_overdue", "open_amount", "bucket"]
    rows = []
    for item in items:
        debit = item.open_amount > 0
        rows.append({
            "customer": item.customer_id, "name": item.customer_name, "currency": item.currency,
            "type": item.type, "number": item.number, "date": item.date,
            "due_date": item.due_date, "days_overdue": item.days_overdue(spec.as_of),
            "open_amount": item.open_amount,
            "bucket": spec.label_for(item.date, item.due_date) if debit else "unapplied",
        })
    return Report(columns, rows)


def aging_detail(conn: Connection, spec: AgingSpec, customer_ids: Sequence[str] | None = None,
                 currency: str | None = None) -> Report:
    return detail_report(open_items(conn, spec.as_of, customer_ids, currency), spec)
