"""Credit control: rate customers from how they pay, and say who to warn or stop shipping to.

The practice arcli follows rates customers good / normal / risky (classes A / B / C) from
their payment history, compares exposure with the credit limit, warns early and puts
accounts on hold when the limit is exceeded or debts grow too old. Payment behaviour is
measured from the book itself: for invoices settled in the look-back window, the
amount-weighted average number of days they were settled after their due date (the
``closed_on`` date cash application maintains), so no separate history is needed.

Limits are in the customer's own currency; exposure in other currencies is reported but
not converted (arcli keeps no exchange rates).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Connection, Integer, case, cast, func, select

from arcli import money
from arcli.aging import AgingSpec, aging_rows
from arcli.config import ConfigView
from arcli.output import Report
from arcli.store.schema import OPEN_SENTINEL, customers, documents


@dataclass(frozen=True)
class CreditPolicy:
    """Thresholds (config ``credit:``) that turn figures into a status and a class."""

    lookback_days: int = 365
    warn_utilization: int = 80  # percent of the limit
    warn_overdue_days: int = 60
    hold_overdue_days: int = 90
    class_a_max_days_late: int = 7
    class_c_min_days_late: int = 30


def credit_policy(config: ConfigView) -> CreditPolicy:
    view = config.section("credit")
    defaults = CreditPolicy()
    values = {name: view.get_int(name, getattr(defaults, name), minimum=0)
              for name in CreditPolicy.__dataclass_fields__}
    return CreditPolicy(**values)


@dataclass(frozen=True)
class CreditLine:
    customer_id: str
    name: str
    salesperson: str | None
    currency: str
    credit_class: str | None
    suggested_class: str
    credit_limit: Decimal | None
    balance: Decimal
    overdue: Decimal
    oldest_overdue_days: int
    avg_days_late: Decimal | None
    status: str
    reasons: tuple[str, ...]

    @property
    def available(self) -> Decimal | None:
        return None if self.credit_limit is None else self.credit_limit - self.balance

    @property
    def utilization(self) -> Decimal | None:
        if not self.credit_limit:
            return None
        return (self.balance * 100 / self.credit_limit).quantize(Decimal("0.1"))


def days_late(conn: Connection, as_of: dt.date, lookback_days: int) -> dict[tuple, Decimal]:
    """Amount-weighted average days past due at which invoices were settled, per group."""
    d = documents.c
    since = as_of - dt.timedelta(days=lookback_days)
    if conn.dialect.name == "sqlite":  # whole days, as integers (julianday gives floats)
        late = cast(func.julianday(d.closed_on) - func.julianday(d.due_date), Integer)
    else:
        late = d.closed_on - d.due_date
    weighted = func.sum(d.amount_minor * case((late > 0, late), else_=0))
    rows = conn.execute(
        select(d.customer_id, d.currency, weighted, func.sum(d.amount_minor))
        .where(d.sign > 0, d.closed_on != OPEN_SENTINEL, d.closed_on > since,
               d.closed_on <= as_of)
        .group_by(d.customer_id, d.currency)
    )
    return {(c, cur): (Decimal(int(w)) / total).quantize(Decimal("0.1"))
            for c, cur, w, total in rows if total}


def _oldest_overdue(conn: Connection, as_of: dt.date) -> dict[tuple, int]:
    from arcli.ledger import open_items

    oldest: dict[tuple, int] = {}
    for item in open_items(conn, as_of):
        days = item.days_overdue(as_of)
        key = (item.customer_id, item.currency)
        oldest[key] = max(oldest.get(key, 0), days)
    return oldest


def _suggest(policy: CreditPolicy, late: Decimal | None, oldest: int) -> str:
    if (late is not None and late > policy.class_c_min_days_late) \
            or oldest > policy.hold_overdue_days:
        return "C"
    if (late is None or late <= policy.class_a_max_days_late) \
            and oldest <= policy.warn_overdue_days // 2:
        return "A"
    return "B"


def _status(policy: CreditPolicy, limit: Decimal | None, balance: Decimal,
            oldest: int) -> tuple[str, tuple[str, ...]]:
    holds, warns = [], []
    if limit is not None and balance > limit:
        holds.append("over credit limit")
    elif limit and balance * 100 >= limit * policy.warn_utilization:
        warns.append(f"uses {policy.warn_utilization}%+ of credit limit")
    if oldest > policy.hold_overdue_days:
        holds.append(f"debt over {policy.hold_overdue_days} days overdue")
    elif oldest > policy.warn_overdue_days:
        warns.append(f"debt over {policy.warn_overdue_days} days overdue")
    if holds:
        return "hold", tuple(holds + warns)
    return ("warn", tuple(warns)) if warns else ("ok", ())


def credit_lines(conn: Connection, as_of: dt.date, policy: CreditPolicy,
                 customer_ids: Sequence[str] | None = None) -> list[CreditLine]:
    """One line per customer and currency with a balance, plus customers with a limit."""
    spec = AgingSpec(as_of)
    aged = {(r.customer_id, r.currency): r for r in aging_rows(conn, spec, customer_ids)}
    late = days_late(conn, as_of, policy.lookback_days)
    oldest = _oldest_overdue(conn, as_of)
    query = select(customers).order_by(customers.c.id)
    if customer_ids:
        query = query.where(customers.c.id.in_(list(customer_ids)))
    lines = []
    for cust in conn.execute(query):
        currencies = sorted({cur for (cid, cur) in aged if cid == cust.id})
        if not currencies and cust.currency and cust.credit_limit:
            currencies = [cust.currency]
        for cur in currencies:
            lines.append(_line(cust, cur, aged.get((cust.id, cur)), late.get((cust.id, cur)),
                               oldest.get((cust.id, cur), 0), policy, spec))
    return lines


def _line(cust, currency, aged, late, oldest, policy, spec) -> CreditLine:
    zero = money.from_minor(0, currency)
    balance = aged.total if aged else zero
    overdue = sum((aged.buckets[label] for label in spec.labels[1:]), zero) if aged else zero
    limit = None
    if cust.credit_limit is not None and cust.currency == currency:
        limit = money.quantize(Decimal(cust.credit_limit), currency)
    status, reasons = _status(policy, limit, balance, oldest)
    return CreditLine(cust.id, cust.name, cust.salesperson, currency, cust.credit_class,
                      _suggest(policy, late, oldest), limit, balance, overdue, oldest, late,
                      status, reasons)


def credit_report(lines: Sequence[CreditLine]) -> Report:
    columns = ["customer", "name", "salesperson", "currency", "credit_class", "suggested_class",
               "credit_limit", "balance", "available", "utilization_pct", "overdue",
               "oldest_overdue_days", "avg_days_late", "status", "reasons"]
    rows = [{
        "customer": ln.customer_id, "name": ln.name, "salesperson": ln.salesperson,
        "currency": ln.currency, "credit_class": ln.credit_class,
        "suggested_class": ln.suggested_class, "credit_limit": ln.credit_limit,
        "balance": ln.balance, "available": ln.available, "utilization_pct": ln.utilization,
        "overdue": ln.overdue, "oldest_overdue_days": ln.oldest_overdue_days,
        "avg_days_late": ln.avg_days_late, "status": ln.status, "reasons": "; ".join(ln.reasons),
    } for ln in lines]
    return Report(columns, rows)
