"""Bad-debt provision (allowance for doubtful accounts) per currency, and its movement.

Both methods work on the aging itself (``aging.aging_rows``), so the balances a provision
is computed on are exactly the aging's bucket amounts (open debits; unapplied credit is not
provided against) and tie out to the ledger.

* ``aging-rates`` (账龄分析法): a rate per age band, the user's own or the common Chinese
  practice: within 1 year 5%, 1-2 years 10%, 2-3 years 30%, 3-4 years 50%, 4-5 years 80%,
  over 5 years 100%. Age counts from the document date by default (账龄 runs from the day
  the receivable arose); ``basis: due`` counts from the due date (then not-yet-due amounts
  take the first band's rate).
* ``roll-rate`` (the simplified approach of IFRS 9 / CAS 22 with a provision matrix): the
  book's own month-end agings, computed as of each past month end from the stored
  allocations (a book cut at a date is exactly what the allocations effective by then
  give), show what share of a bucket rolled into the next bucket a month later. The roll
  rate of a bucket is the sum over the months of what arrived in the next bucket divided
  by the sum of what was in the bucket a month before (an amount-weighted average, so a
  month with little in a bucket counts little), capped at 100% (new short-term invoices
  can land in a later bucket without having been in the earlier one). The loss rate of a
  bucket is the product of the roll rates from it to the last bucket, which is taken as
  lost (100%). A bucket that was never filled in the window rolls at 100% (prudent: no
  evidence of recovery).

Rounding: rates stay exact fractions; each band's or bucket's balance x rate is rounded
half up to the currency's minor unit once; a currency's provision is the sum of those.
The entry to book is the change against the provision as of the previous month end,
computed the same way (for roll rates, with the history up to that month end).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from arcli import money
from arcli.aging import AgingSpec, aging_rows, currency_totals
from arcli.insight.shares import Bands, round_half_up, share_decimal
from arcli.output import Report

METHODS = ("aging-rates", "roll-rate")

#: 账龄分析法 rates common in Chinese practice: (last day of the band, rate).
DEFAULT_BANDS = Bands(
    (365, 730, 1095, 1460, 1825, None),
    (Fraction(5, 100), Fraction(10, 100), Fraction(30, 100), Fraction(50, 100),
     Fraction(80, 100), Fraction(1)),
)
#: Monthly buckets for roll rates: current, 1-30 ... 151-180, and 181+ taken as lost.
DEFAULT_ROLL_BUCKETS = (30, 60, 90, 120, 150, 180)
DEFAULT_MONTHS = 12

#: per currency: balance in minor units per bucket label, in the spec's label order
Snapshot = dict[str, dict[str, int]]


def month_end_before(day: dt.date) -> dt.date:
    """The last day of the month before ``day``'s month."""
    return day.replace(day=1) - dt.timedelta(days=1)


def month_end_on_or_before(day: dt.date) -> dt.date:
    following = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    last = following - dt.timedelta(days=1)
    return last if last == day else month_end_before(day)


def snapshot(conn, spec: AgingSpec) -> Snapshot:
    """The aging's bucket sums per currency (open debits only), in minor units."""
    rows = aging_rows(conn, spec)
    return {total.currency: {label: money.to_minor(total.buckets[label], total.currency)
                             for label in spec.labels}
            for total in currency_totals(rows, spec)}


@dataclass(frozen=True)
class Line:
    """One band or bucket of one currency: its balance, rate and provision (minor units)."""

    currency: str
    band: str
    rate: Fraction
    balance: int
    provision: int


def _lines(snap: Snapshot, labels: Sequence[str], rates: Sequence[Fraction]) -> list[Line]:
    lines = []
    for currency in sorted(snap):
        for label, rate in zip(labels, rates, strict=True):
            balance = snap[currency][label]
            lines.append(Line(currency, label, rate, balance, round_half_up(balance * rate)))
    return lines


# -- aging rates ---------------------------------------------------------------------------

def band_spec(as_of: dt.date, bands: Bands, basis: str) -> AgingSpec:
    return AgingSpec(as_of, basis, tuple(limit for limit in bands.limits if limit is not None))


def band_rates(bands: Bands, basis: str) -> list[Fraction]:
    """The rate per aging label: on due basis ``current`` takes the first band's rate."""
    return [bands.rates[0], *bands.rates] if basis == "due" else list(bands.rates)


def aging_rate_lines(conn, as_of: dt.date, bands: Bands, basis: str) -> list[Line]:
    spec = band_spec(as_of, bands, basis)
    return _lines(snapshot(conn, spec), spec.labels, band_rates(bands, basis))


# -- roll rates ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Roll:
    """One row of the provision matrix: a bucket, its roll and loss rates, the evidence."""

    currency: str
    bucket: str
    next_bucket: str | None
    rolled: int        # sum over the months of what arrived in the next bucket
    exposed: int       # sum over the months of what was in this bucket a month before
    months_used: int   # months in which this bucket held anything
    roll_rate: Fraction
    loss_rate: Fraction


def history_month_ends(as_of: dt.date, months: int) -> list[dt.date]:
    """``months`` + 1 month ends, oldest first, the last on or before ``as_of``."""
    ends = [month_end_on_or_before(as_of)]
    for _ in range(months):
        ends.append(month_end_before(ends[-1]))
    return ends[::-1]


def roll_matrix(conn, as_of: dt.date, buckets: tuple[int, ...], months: int) -> list[Roll]:
    """The provision matrix from the month-end agings of the ``months`` months up to
    ``as_of`` (its last month end)."""
    ends = history_month_ends(as_of, months)
    snaps = [snapshot(conn, AgingSpec(end, "due", buckets)) for end in ends]
    labels = AgingSpec(as_of, "due", buckets).labels
    currencies = sorted({c for snap in snaps for c in snap})
    matrix = []
    for currency in currencies:
        sums: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for before, after in itertools.pairwise(snaps):
            for index, label in enumerate(labels[:-1]):
                held = before.get(currency, {}).get(label, 0)
                if held > 0:
                    arrived = after.get(currency, {}).get(labels[index + 1], 0)
                    sums[label][0] += arrived
                    sums[label][1] += held
                    sums[label][2] += 1
        matrix.extend(_currency_matrix(currency, labels, sums))
    return matrix


def _currency_matrix(currency: str, labels: Sequence[str],
                     sums: dict[str, list[int]]) -> list[Roll]:
    """Roll rates from the sums, loss rates as their products towards the last bucket."""
    last = len(labels) - 1
    rolls = [min(Fraction(sums[label][0], sums[label][1]), Fraction(1))
             if sums[label][1] else Fraction(1) for label in labels[:last]]
    rolls.append(Fraction(1))  # the last bucket is taken as lost
    loss = [Fraction(1)] * len(labels)
    for index in range(last - 1, -1, -1):
        loss[index] = rolls[index] * loss[index + 1]
    return [Roll(currency, label, labels[index + 1] if index < last else None,
                 *(sums[label] if index < last else (0, 0, 0)), rolls[index], loss[index])
            for index, label in enumerate(labels)]


def roll_rate_lines(conn, as_of: dt.date, buckets: tuple[int, ...], months: int
                    ) -> tuple[list[Line], list[Roll]]:
    """The provision at ``as_of`` from the matrix of the months up to it."""
    matrix = roll_matrix(conn, as_of, buckets, months)
    spec = AgingSpec(as_of, "due", buckets)
    snap = snapshot(conn, spec)
    loss = {(r.currency, r.bucket): r.loss_rate for r in matrix}
    lines = []
    for currency in sorted(snap):
        for label in spec.labels:
            # a currency with no history at all: no evidence of recovery, 100%
            rate = loss.get((currency, label), Fraction(1))
            balance = snap[currency][label]
            lines.append(Line(currency, label, rate, balance, round_half_up(balance * rate)))
    return lines, matrix


# -- reports -------------------------------------------------------------------------------

PROVISION_COLUMNS = ["as_of", "previous_as_of", "currency", "band", "rate", "balance",
                     "provision", "previous_balance", "previous_provision", "change"]


def provision_report(as_of: dt.date, previous_as_of: dt.date, labels: Sequence[str],
                     lines: Sequence[Line], previous: Sequence[Line]) -> Report:
    """Per currency and band: balance, rate, provision, the same at the previous month
    end, and the change (the entry to book). Totals per currency are sums of the rows."""
    now = {(line.currency, line.band): line for line in lines}
    then = {(line.currency, line.band): line for line in previous}
    currencies = sorted({currency for currency, _ in (*now, *then)})
    rows, total_rows = [], []
    for currency in currencies:
        total = dict.fromkeys(("balance", "provision", "previous_balance",
                               "previous_provision", "change"), 0)
        for label in labels:
            current, before = now.get((currency, label)), then.get((currency, label))
            figures = {"balance": current.balance if current else 0,
                       "provision": current.provision if current else 0,
                       "previous_balance": before.balance if before else 0,
                       "previous_provision": before.provision if before else 0}
            figures["change"] = figures["provision"] - figures["previous_provision"]
            for name, value in figures.items():
                total[name] += value
            rate = (current or before).rate if (current or before) else None
            rows.append(_provision_row(as_of, previous_as_of, currency, label, rate, figures))
        total_rows.append(_provision_row(as_of, previous_as_of, currency, "TOTAL", None,
                                         total))
    return Report(PROVISION_COLUMNS, rows, totals=total_rows)


def _provision_row(as_of, previous_as_of, currency, band, rate, figures) -> dict:
    return {"as_of": as_of, "previous_as_of": previous_as_of, "currency": currency,
            "band": band, "rate": share_decimal(rate) if rate is not None else None,
            **{name: money.from_minor(value, currency) for name, value in figures.items()}}


MATRIX_COLUMNS = ["as_of", "currency", "bucket", "next_bucket", "exposed", "rolled",
                  "months_used", "roll_rate", "loss_rate"]


def matrix_report(as_of: dt.date, matrix: Sequence[Roll]) -> Report:
    """The provision matrix: per currency and bucket the sums it was derived from, the
    months in which the bucket held anything, roll and loss rates."""
    return Report(MATRIX_COLUMNS, [
        {"as_of": as_of, "currency": r.currency, "bucket": r.bucket,
         "next_bucket": r.next_bucket,
         "exposed": money.from_minor(r.exposed, r.currency) if r.next_bucket else None,
         "rolled": money.from_minor(r.rolled, r.currency) if r.next_bucket else None,
         "months_used": r.months_used if r.next_bucket else None,
         "roll_rate": share_decimal(r.roll_rate), "loss_rate": share_decimal(r.loss_rate)}
        for r in matrix])
