"""Expected recovery: how much of the aging one may expect to collect (``aging --expected``).

Each open debit is weighted by the share a collectability curve gives for its days
overdue. The default curve follows the collection surveys quoted in the Chinese
accounts-receivable literature: about 100% of a debt is collected within two months
overdue, 80% within 100 days, 50% within 180 days, and about 20% after a year; a second
survey gives 26.6% after one year and 13.6% after two. Between 60 and 365 days the curve is
linear through 100% / 80% / 50% / 35% (35% at one year lies between the two surveys'
one-year figures), then 20% from 366 days to two years and 13.6% beyond.

Rounding (so totals tie): per open item the product amount x share is kept exact; the
products of one customer, currency and bucket are summed and that sum is rounded half up
to the currency's minor unit once. A row's ``expected_total`` is the sum of its rounded
buckets and a currency total is the sum of its rows' rounded figures, so every total in
the report is the sum of the figures shown above it. Unapplied credits are not weighted
and not netted: ``expected_total`` is what the open debits are expected to bring in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from fractions import Fraction

from arcli import money
from arcli.aging import AgingRow, AgingSpec, currency_totals, detail_report
from arcli.insight.shares import Curve, round_half_up, share_decimal
from arcli.ledger import Group, OpenItem
from arcli.output import Report

#: (days overdue, share collected): see the module docstring for the sources.
DEFAULT_CURVE = Curve((
    (60, Fraction(1)),
    (100, Fraction(8, 10)),
    (180, Fraction(5, 10)),
    (365, Fraction(35, 100)),
    (366, Fraction(20, 100)),
    (730, Fraction(20, 100)),
    (731, Fraction(136, 1000)),
))

Expected = dict[Group, dict[str, int]]


def expected_by_bucket(items: Iterable[OpenItem], spec: AgingSpec, curve: Curve) -> Expected:
    """Expected recovery in minor units per (customer, currency) and bucket label.

    Every bucket of every group with an open debit is present (0 where nothing is
    expected), so reports need no defaults.
    """
    exact: dict[Group, dict[str, Fraction]] = defaultdict(
        lambda: dict.fromkeys(spec.labels, Fraction(0)))
    for item in items:
        if item.open_amount <= 0:
            continue
        share = curve.share(item.days_overdue(spec.as_of))
        minor = money.to_minor(item.open_amount, item.currency)
        exact[item.customer_id, item.currency][spec.label_for(item.date, item.due_date)] += \
            minor * share
    return {group: {label: round_half_up(value) for label, value in buckets.items()}
            for group, buckets in exact.items()}


def _expected_columns(spec: AgingSpec) -> list[str]:
    return [f"expected_{label}" for label in spec.labels] + ["expected_total"]


def _with_expected(row: AgingRow, spec: AgingSpec, minor: dict[str, int] | None) -> dict:
    minor = minor or dict.fromkeys(spec.labels, 0)
    values = {f"expected_{label}": money.from_minor(minor[label], row.currency)
              for label in spec.labels}
    values["expected_total"] = money.from_minor(sum(minor.values()), row.currency)
    return {"customer": row.customer_id, "name": row.name, "currency": row.currency,
            **row.buckets, "unapplied": row.unapplied, "total": row.total, **values}


def expected_report(rows: Sequence[AgingRow], expected: Expected, spec: AgingSpec) -> Report:
    """The aging summary with the expected recovery per bucket and in total.

    Totals per currency are sums of the rows' rounded figures (they tie to what is shown).
    """
    columns = ["customer", "name", "currency", *spec.labels, "unapplied", "total",
               *_expected_columns(spec)]
    body = [_with_expected(row, spec, expected.get((row.customer_id, row.currency)))
            for row in rows]
    totals = []
    for total in currency_totals(rows, spec):
        same = [r for r in body if r["currency"] == total.currency]
        sums = {c: sum((r[c] for r in same), money.from_minor(0, total.currency))
                for c in _expected_columns(spec)}
        base = _with_expected(total, spec, None)
        totals.append({**base, **sums})
    return Report(columns, body, totals=totals)


def expected_detail(items: Iterable[OpenItem], spec: AgingSpec, curve: Curve) -> Report:
    """The aging detail with the share of the curve and the expected amount per open
    debit, each rounded half up on its own (the summary rounds bucket sums instead, so
    these may differ from it by a minor unit or so)."""
    base = detail_report(items, spec)

    def rows() -> Iterator[dict]:
        for row in base.rows:
            share = expected = None
            if row["open_amount"] > 0:
                share = curve.share(row["days_overdue"])
                minor = money.to_minor(row["open_amount"], row["currency"])
                expected = money.from_minor(round_half_up(minor * share), row["currency"])
            yield {**row, "recovery_share": share_decimal(share) if share is not None
                   else None, "expected": expected}

    return Report([*base.columns, "recovery_share", "expected"], rows())
