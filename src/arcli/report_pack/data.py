"""The management pack's figures, gathered once as plain values for both renderers.

Each section comes from the command that shows it on its own (aging, kpi, provision,
collections, credit), so the pack ties out to those reports by construction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from arcli import money
from arcli.aging import AgingRow, AgingSpec, aging_rows, currency_totals
from arcli.collections_report import CollectionLine
from arcli.credit import CreditLine
from arcli.periods import Period

TOP_DEBTORS = 10
TREND_MONTHS = 12


@dataclass(frozen=True)
class TrendPoint:
    """One month end of one currency: the aging's bucket sums (minor units) and DSO."""

    label: str                  # YYYY-MM
    buckets: dict[str, int]
    dso: Decimal | None


@dataclass(frozen=True)
class ProvisionTotal:
    currency: str
    provision: Decimal
    previous: Decimal
    change: Decimal


@dataclass(frozen=True)
class Pack:
    company: str
    period: Period
    labels: list[str]                    # aging bucket labels
    aging: list[AgingRow]                # one TOTAL row per currency
    trend: dict[str, list[TrendPoint]]   # per currency, oldest first
    top: dict[str, list[AgingRow]]       # per currency, largest balance first
    collections: list[CollectionLine]
    provision: list[ProvisionTotal]
    provision_as_of: tuple[dt.date, dt.date]  # (this month end, the one before)
    holds: list[CreditLine]

    @property
    def currencies(self) -> list[str]:
        return sorted({row.currency for row in self.aging} | set(self.trend))

    @property
    def as_of(self) -> dt.date:
        return self.period.end


def aging_part(conn, as_of: dt.date) -> tuple[list[str], list[AgingRow], dict]:
    """Bucket labels, the per-currency totals and the top debtors at ``as_of``."""
    spec = AgingSpec(as_of)
    rows = aging_rows(conn, spec)
    top: dict[str, list[AgingRow]] = {}
    for row in sorted(rows, key=lambda r: (r.currency, -r.total, r.customer_id)):
        if row.total > 0 and len(top.setdefault(row.currency, [])) < TOP_DEBTORS:
            top[row.currency].append(row)
    return spec.labels, currency_totals(rows, spec), top


def trend_part(conn, period: Period, dso_rows: Sequence[dict]) -> dict[str, list[TrendPoint]]:
    """The aging at each of the last 12 month ends with that month's DSO (``dso_rows``:
    the kpi report's rows for the same months)."""
    from arcli.insight.provision import history_month_ends, snapshot

    dso = {(r["currency"], r["period"]): r["dso"] for r in dso_rows}
    trend: dict[str, list[TrendPoint]] = {}
    ends = history_month_ends(period.end, TREND_MONTHS - 1)
    snaps = [(end, snapshot(conn, AgingSpec(end))) for end in ends]
    currencies = sorted({c for _, snap in snaps for c in snap} | {c for c, _ in dso})
    labels = AgingSpec(period.end).labels
    for currency in currencies:
        trend[currency] = [
            TrendPoint(f"{end.year:04d}-{end.month:02d}",
                       snap.get(currency, dict.fromkeys(labels, 0)),
                       dso.get((currency, f"{end.year:04d}-{end.month:02d}")))
            for end, snap in snaps]
    return trend


def provision_part(report_totals: Sequence[dict]) -> list[ProvisionTotal]:
    return [ProvisionTotal(t["currency"], t["provision"], t["previous_provision"],
                           t["change"]) for t in report_totals]


def zero(currency: str) -> Decimal:
    return money.from_minor(0, currency)


def amount_label(currency: str):
    """Axis text for a value in minor units: whole units of the currency, grouped."""
    def label(minor: int) -> str:
        return f"{int(money.from_minor(minor, currency).to_integral_value()):,}"
    return label
