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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from arcli import money
from arcli.errors import UsageError
from arcli.ledger import OpenItem, Scope, iter_open_items, open_scope
from arcli.output import Report
from arcli.store.reader import BookReader, reader_for

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
        problem = bucket_problem(self.buckets)
        if problem:
            raise UsageError(f"buckets {problem}")

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


#: The widest bucket bound: a century of days (further back than any date a book holds;
#: a bigger bound would overflow date arithmetic).
MAX_BUCKET_DAYS = 36_500


def bucket_problem(buckets: Sequence) -> str | None:
    """What is wrong with bucket bounds (None when they are fine): one rule for
    ``--buckets`` and ``aging.buckets`` in the config."""
    if not buckets or any(isinstance(b, bool) or not isinstance(b, int) for b in buckets) \
            or list(buckets) != sorted(set(buckets)) or buckets[0] < 1 \
            or buckets[-1] > MAX_BUCKET_DAYS:
        return (f"must be increasing day counts from 1 to {MAX_BUCKET_DAYS}, "
                "e.g. 30,60,90")
    return None


def aging_settings(config) -> tuple[str, tuple[int, ...]]:
    """``aging.basis`` and ``aging.buckets`` from the config (a ConfigView), checked, with
    the located message of a bad value."""
    view = config.section("aging")
    basis = view.get_str("basis", "due")
    if basis not in BASES:
        raise view.error("basis", f"must be one of {', '.join(BASES)}")
    buckets = tuple(view.get_list("buckets", list(DEFAULT_BUCKETS)))
    problem = bucket_problem(buckets)
    if problem:
        raise view.error("buckets", problem)
    return basis, buckets


def parse_buckets(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise UsageError(f"buckets must be comma-separated day counts, got {text!r}") from None


def _bucket_cases(spec: AgingSpec, reader: BookReader, scope: Scope) -> tuple[list[str], list]:
    """One SUM(CASE ...) per bucket, comparing dates (cheap) rather than computing ages.

    Returns the SQL expressions and the parameters they take, in order.
    """
    column = "d.due_date" if spec.basis == "due" else "d.date"
    bounds = [spec.as_of - dt.timedelta(days=b) for b in spec.buckets]
    ranges: list[tuple[dt.date | None, dt.date | None]] = []  # (oldest, newest) per bucket
    if spec.basis == "due":
        ranges.append((spec.as_of, None))
        upper = spec.as_of - dt.timedelta(days=1)
    else:
        upper = spec.as_of
    for bound in bounds:
        ranges.append((bound, upper))
        upper = bound - dt.timedelta(days=1)
    ranges.append((None, upper))
    exprs, params = [], []
    for low, high in ranges:
        tests = ["d.sign > 0"]
        if high is not None:
            tests.append(f"{column} <= ?")
            params.append(reader.param(high))
        if low is not None:
            tests.append(f"{column} >= ?")
            params.append(reader.param(low))
        exprs.append(f"SUM(CASE WHEN {' AND '.join(tests)} THEN {scope.open_sql} ELSE 0 END)")
        params.extend(scope.open_params)
    return exprs, params


def aging_rows(conn, spec: AgingSpec, customer_ids: Sequence[str] | None = None,
               currency: str | None = None) -> list[AgingRow]:
    """Aging summary per customer and currency, computed in the database.

    Documents are summed per group first and customer names joined to the 10,000-odd
    group rows afterwards, so the scan reads the covering ``ix_documents_open`` index alone.
    """
    reader = reader_for(conn)
    scope = open_scope(reader, spec.as_of, customer_ids, currency)
    buckets, params = _bucket_cases(spec, reader, scope)
    sums = ", ".join([
        *buckets,
        f"SUM(CASE WHEN d.sign < 0 THEN -({scope.open_sql}) ELSE 0 END)",
        f"SUM(CASE WHEN ({scope.open_sql}) <> 0 THEN 1 ELSE 0 END)",
    ])
    params += [*scope.open_params, *scope.open_params]
    rows = reader.rows(
        f"SELECT g.*, c.name FROM (SELECT d.customer_id, d.currency, {sums} "
        f"FROM documents d WHERE {scope.where} GROUP BY d.customer_id, d.currency) g "
        "JOIN customers c ON c.id = g.customer_id ORDER BY g.customer_id, g.currency",
        (*params, *scope.where_params))
    result = []
    for customer_id, cur, *figures, count, name in rows:
        if count == 0:
            continue
        amounts = [money.from_minor(v or 0, cur) for v in figures]
        labelled = dict(zip(spec.labels, amounts[:-1], strict=True))
        result.append(AgingRow(customer_id, name, cur, labelled, amounts[-1],
                               sum(amounts, Decimal(0))))
    return result


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


def detail_report(items: Iterable[OpenItem], spec: AgingSpec) -> Report:
    """Open items with their age and bucket (``--detail``). The rows are produced as the
    report is written, so a whole book's open items stream through."""
    columns = ["customer", "name", "currency", "type", "number", "date", "due_date",
               "days_overdue", "open_amount", "bucket"]
    rows = ({
        "customer": item.customer_id, "name": item.customer_name, "currency": item.currency,
        "type": item.type, "number": item.number, "date": item.date,
        "due_date": item.due_date, "days_overdue": item.days_overdue(spec.as_of),
        "open_amount": item.open_amount,
        "bucket": spec.label_for(item.date, item.due_date) if item.open_amount > 0
        else "unapplied",
    } for item in items)
    return Report(columns, rows)


def aging_detail(conn, spec: AgingSpec, customer_ids: Sequence[str] | None = None,
                 currency: str | None = None) -> Report:
    """The ``--detail`` report; write it while ``conn`` is open (its rows are lazy)."""
    return detail_report(iter_open_items(conn, spec.as_of, customer_ids, currency), spec)
