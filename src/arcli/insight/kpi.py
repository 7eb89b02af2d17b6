"""Receivables KPIs per month and currency: DSO (two ways), best possible DSO, ADD, CEI,
share overdue and over 90 days.

Every input is a figure other reports show, so the KPIs tie out: opening and closing
receivables are ledger balances (``ledger.balances``, the aging total), credit sales are
the month's invoices, fees and interest less credit notes (the rule ``arcli collections``
uses), and current / overdue / over-90 amounts are the aging's buckets at the month end
(default buckets, due basis). For a month with D days:

* DSO = closing / credit sales x D
* count-back DSO: the closing balance is matched against credit sales month by month
  backwards (this month, then the one before, ... up to 12 more); every month fully used
  adds its days, the last one its share of days. More than 13 months of sales: none.
* best possible DSO = current (not yet due) / credit sales x D
* ADD (average days delinquent) = DSO - best possible DSO = overdue-side balance / sales x D
* CEI = (opening + credit sales - closing) / (opening + credit sales - current) x 100
* overdue % = overdue open debits / open debits x 100; over-90 % likewise for 91+ days.

Ratios are computed as exact fractions and rounded half up to one decimal once (ADD from
the exact DSO and best DSO, so it can differ by 0.1 from the difference of the rounded
figures). A ratio whose divisor is zero or negative is left empty.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction

from arcli import money
from arcli.aging import AgingSpec, aging_rows
from arcli.collections_report import credited_minor, invoiced_minor, movements
from arcli.insight.fx import FxTable
from arcli.insight.shares import round_half_up
from arcli.ledger import balances
from arcli.output import Report
from arcli.periods import Period
from arcli.store.reader import reader_for

GROUPINGS = ("salesperson", "class", "customer")
UNASSIGNED = "(unassigned)"
COUNT_BACK_MONTHS = 12
Key = tuple[str, str]  # (group, currency)


@dataclass
class Figures:
    """One group's and currency's month, in minor units."""

    opening: int = 0
    closing: int = 0
    sales: int = 0
    current: int = 0
    open_debits: int = 0
    over_90: int = 0
    earlier_sales: list[int] = field(default_factory=list)  # last month first


def previous_month(period: Period) -> Period:
    before = period.start - dt.timedelta(days=1)
    return Period.month(before.year, before.month)


def grouping(conn, by: str | None) -> Callable[[str], str]:
    """Customer id -> the group it reports under (one group "" without ``by``)."""
    if by is None:
        return lambda _customer: ""
    if by == "customer":
        return lambda customer: customer
    column = {"salesperson": "salesperson", "class": "credit_class"}[by]
    owner = {cid: value or UNASSIGNED for cid, value in
             reader_for(conn).rows(f"SELECT id, {column} FROM customers")}
    return lambda customer: owner.get(customer, UNASSIGNED)


def _sales(conn, period: Period, group_of: Callable[[str], str]) -> dict[Key, int]:
    sales: dict[Key, int] = defaultdict(int)
    for (customer, currency), moves in movements(conn, period).items():
        # PostgreSQL sums BIGINTs as NUMERIC: back to an exact int
        sales[group_of(customer), currency] += int(invoiced_minor(moves) - credited_minor(moves))
    return sales


def month_figures(conn, period: Period, group_of: Callable[[str], str],
                  sales_memo: dict[str, dict[Key, int]] | None = None) -> dict[Key, Figures]:
    """The month's figures per group and currency, with the 12 months of sales before it
    (``sales_memo``: months' sales already read, by label, shared along a trend)."""
    memo = {} if sales_memo is None else sales_memo

    def sales_of(month: Period) -> dict[Key, int]:
        if month.label not in memo:
            memo[month.label] = _sales(conn, month, group_of)
        return memo[month.label]

    figures: dict[Key, Figures] = defaultdict(Figures)
    for at, name in ((period.start - dt.timedelta(days=1), "opening"), (period.end, "closing")):
        for (customer, currency), amount in balances(conn, at).items():
            fig = figures[group_of(customer), currency]
            setattr(fig, name, getattr(fig, name) + money.to_minor(amount, currency))
    for key, amount in sales_of(period).items():
        figures[key].sales += amount
    spec = AgingSpec(period.end)
    for row in aging_rows(conn, spec):
        fig = figures[group_of(row.customer_id), row.currency]
        minor = {label: money.to_minor(row.buckets[label], row.currency)
                 for label in spec.labels}
        fig.current += minor[spec.labels[0]]
        fig.open_debits += sum(minor.values())
        fig.over_90 += minor[spec.labels[-1]]
    month = period
    for _ in range(COUNT_BACK_MONTHS):
        month = previous_month(month)
        earlier = sales_of(month)
        for key, fig in figures.items():
            fig.earlier_sales.append(earlier.get(key, 0))
    return dict(figures)


def _ratio(numerator: Fraction | int, denominator: int, scale: int) -> Fraction | None:
    return Fraction(numerator) * scale / denominator if denominator > 0 else None


def _shown(value: Fraction | None) -> Decimal | None:
    """One decimal, rounded half up."""
    return None if value is None else Decimal(round_half_up(value * 10)).scaleb(-1)


def count_back_dso(closing: int, sales: Sequence[int], days: Sequence[int]
                   ) -> Fraction | None:
    """Days of the latest sales it takes to make up the closing balance (``sales`` and
    ``days`` latest month first); None when all of them do not make it up."""
    remaining, total = Fraction(max(closing, 0)), Fraction(0)
    for month_sales, month_days in zip(sales, days, strict=True):
        if remaining <= 0:
            break
        if month_sales > 0 and remaining <= month_sales:
            return total + remaining / month_sales * month_days
        remaining -= max(month_sales, 0)
        total += month_days
    return total if remaining <= 0 else None


def kpi_row(period: Period, fig: Figures, month_days: Sequence[int]) -> dict:
    """The KPIs of one month (``month_days``: its days and those of the 12 before it)."""
    days = month_days[0]
    dso = _ratio(fig.closing, fig.sales, days)
    best = _ratio(fig.current, fig.sales, days)
    collected = fig.opening + fig.sales - fig.closing
    overdue = fig.open_debits - fig.current
    return {
        "dso": _shown(dso),
        "dso_countback": _shown(count_back_dso(
            fig.closing, [fig.sales, *fig.earlier_sales], month_days)),
        "best_dso": _shown(best),
        "add": _shown(dso - best) if dso is not None and best is not None else None,
        "cei_pct": _shown(_ratio(collected, fig.opening + fig.sales - fig.current, 100)),
        "overdue_pct": _shown(_ratio(overdue, fig.open_debits, 100)),
        "over_90_pct": _shown(_ratio(fig.over_90, fig.open_debits, 100)),
    }


KPI_COLUMNS = ["opening", "credit_sales", "closing", "current", "overdue", "over_90",
               "dso", "dso_countback", "best_dso", "add", "cei_pct", "overdue_pct",
               "over_90_pct"]


def month_days(period: Period) -> list[int]:
    """The days of the month and of the 12 before it, latest first."""
    days, month = [], period
    for _ in range(COUNT_BACK_MONTHS + 1):
        days.append((month.end - month.start).days + 1)
        month = previous_month(month)
    return days


def in_base(figures: dict[Key, Figures], period: Period, fx: FxTable) -> dict[Key, Figures]:
    """Each group's figures in all currencies added up in ``fx.base``: balances and
    sales at the rate of their month end (the opening at the previous month end's),
    each figure rounded to the base currency's minor unit before adding."""
    total: dict[Key, Figures] = {}
    for (group, currency), fig in sorted(figures.items()):
        into = total.setdefault((group, fx.base), Figures(
            earlier_sales=[0] * len(fig.earlier_sales)))

        def convert(minor: int, day: dt.date, currency: str = currency) -> int:
            # nothing needs no rate: a currency's quiet months need none in the table
            return fx.convert_minor(minor, currency, day) if minor else 0

        into.opening += convert(fig.opening, period.start - dt.timedelta(days=1))
        for name in ("closing", "sales", "current", "open_debits", "over_90"):
            setattr(into, name, getattr(into, name) + convert(getattr(fig, name), period.end))
        month = period
        for index, amount in enumerate(fig.earlier_sales):
            month = previous_month(month)
            into.earlier_sales[index] += convert(amount, month.end)
    return total


def kpi_report(conn, last: Period, months: int, by: str | None,
               fx: FxTable | None = None) -> Report:
    """The KPIs per group and currency for ``months`` months ending with ``last``; with
    ``fx`` also per group in the company currency (``converted`` yes)."""
    group_of = grouping(conn, by)
    periods = [last]
    while len(periods) < months:
        periods.append(previous_month(periods[-1]))
    rows, memo = [], {}
    for period in reversed(periods):
        days = month_days(period)
        figures = month_figures(conn, period, group_of, memo)
        parts = [(False, figures)] + ([(True, in_base(figures, period, fx))] if fx else [])
        for converted, part in parts:
            for (group, currency), fig in sorted(part.items()):
                if not (fig.opening or fig.closing or fig.sales or fig.open_debits):
                    continue
                rows.append(_row(period, by, group, currency, fig, days)
                            | ({"converted": converted} if fx else {}))
    rows.sort(key=lambda r: (r.get(by, "") if by else "", r.get("converted", False),
                             r["currency"], r["period"]))
    columns = ["period", *([by] if by else []), "currency", *(["converted"] if fx else []),
               *KPI_COLUMNS]
    return Report(columns, rows)


def _row(period: Period, by: str | None, group: str, currency: str, fig: Figures,
         days: list[int]) -> dict:
    amounts = {"opening": fig.opening, "credit_sales": fig.sales, "closing": fig.closing,
               "current": fig.current, "overdue": fig.open_debits - fig.current,
               "over_90": fig.over_90}
    return {"period": period.label, **({by: group} if by else {}), "currency": currency,
            **{k: money.from_minor(v, currency) for k, v in amounts.items()},
            **kpi_row(period, fig, days)}
