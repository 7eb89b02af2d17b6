"""Late-payment interest and fixed compensation, with legal presets.

Interest is simple interest per item, from its due date plus grace to the run date, on
the amount actually outstanding each day (partial payments shorten the base from the day
they were applied), at ``reference rate + margin`` where the reference rate comes from a
dated table: the period is split at every rate change and every payment. Amounts stay
exact Decimals and are rounded once per item, half-up, to the currency's minor unit.

Presets and their legal sources (the reference rates change every half-year; the shipped
tables end at the last value known when this release was made, and you extend them under
``dunning.interest.reference_rates`` from the official source named below):

* ``eu``: Directive 2011/7/EU art. 2(6)-(7) and art. 6: ECB main refinancing operations
  rate in force on 1 January / 1 July, plus 8 points; EUR 40 fixed compensation per late
  invoice. Source: ECB, "Key ECB interest rates".
* ``de``: §288(2) BGB (business-to-business): base rate (Basiszinssatz, §247 BGB,
  published by the Deutsche Bundesbank for 1 January / 1 July) plus 9 points; §288(5) BGB
  EUR 40 lump sum per late invoice.
* ``uk``: Late Payment of Commercial Debts (Interest) Act 1998 and the Late Payment of
  Commercial Debts (Rate of Interest) (No. 3) Order 2002: Bank of England base rate in force
  on 31 December / 30 June, plus 8 points, for the following half-year; fixed sums (s. 5A)
  GBP 40 below GBP 1,000, GBP 70 below GBP 10,000, GBP 100 above.
* ``contractual``: your contract's fixed annual rate (``rate``), optional fixed fee.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from arcli import money
from arcli.config import ConfigView

D = Decimal

# Effective-from dates and annual rates in percent (reference rate only, no margin).
ECB_MRO = (("2023-01-01", "2.50"), ("2023-07-01", "4.00"), ("2024-01-01", "4.50"),
           ("2024-07-01", "4.25"), ("2025-01-01", "3.15"), ("2025-07-01", "2.15"))
BUNDESBANK_BASE = (("2023-01-01", "1.62"), ("2023-07-01", "3.12"), ("2024-01-01", "3.62"),
                   ("2024-07-01", "3.37"), ("2025-01-01", "2.27"), ("2025-07-01", "1.27"))
BOE_BASE = (("2023-01-01", "3.50"), ("2023-07-01", "5.00"), ("2024-01-01", "5.25"),
            ("2024-07-01", "5.25"), ("2025-01-01", "4.75"), ("2025-07-01", "4.25"))

BASES = ("act/365", "act/360", "act/act")


@dataclass(frozen=True)
class Preset:
    name: str
    margin: Decimal
    table: tuple[tuple[str, str], ...]
    compensation_currency: str | None = None
    source: str = ""

    def compensation(self, currency: str, principal: Decimal) -> Decimal:
        """Fixed compensation due per late invoice in the preset's currency."""
        if currency != self.compensation_currency:
            return D(0)
        if self.name == "uk":
            return D(40) if principal < 1000 else D(70) if principal < 10000 else D(100)
        return D(40)


PRESETS = {
    "eu": Preset("eu", D(8), ECB_MRO, "EUR", "Directive 2011/7/EU art. 2, 6; ECB MRO rate"),
    "de": Preset("de", D(9), BUNDESBANK_BASE, "EUR", "§288(2),(5) BGB; §247 BGB base rate"),
    "uk": Preset("uk", D(8), BOE_BASE, "GBP",
                 "Late Payment of Commercial Debts (Interest) Act 1998; SI 2002/1675"),
    "contractual": Preset("contractual", D(0), (), None, "your contract"),
}


@dataclass(frozen=True)
class InterestPolicy:
    """``dunning.interest``: off unless ``enabled``."""

    enabled: bool = False
    preset: str = "contractual"
    rate: Decimal | None = None  # fixed annual % (contractual), replaces the reference rate
    margin: Decimal | None = None  # points over the reference rate (preset default)
    basis: str = "act/365"
    compensation: bool = True  # EU/DE/UK fixed sums per late invoice
    fixed_fee: dict[str, Decimal] = field(default_factory=dict)  # contractual, per invoice
    rates: tuple[tuple[dt.date, Decimal], ...] = ()  # reference rate table in force

    def annual_rate_changes(self) -> tuple[list[dt.date], list[Decimal]]:
        """Dates from which the total annual rate (percent) applies, and those rates."""
        return self._rate_changes

    @functools.cached_property
    def _rate_changes(self) -> tuple[list[dt.date], list[Decimal]]:
        # Asked once per overdue item: a dunning run over a big book asks ~500,000 times.
        if self.rate is not None:
            return [dt.date.min], [self.rate]
        preset = PRESETS[self.preset]
        margin = preset.margin if self.margin is None else self.margin
        return [d for d, _ in self.rates], [r + margin for _, r in self.rates]

    def periods(self, start: dt.date, end: dt.date) -> list[dt.date]:
        """Where an unpaid item's interest period splits (rate changes, years on act/act).

        Items share due dates, so the split of each (start, end) is computed once.
        """
        cache = self.__dict__.setdefault("_periods", {})
        found = cache.get((start, end))
        if found is None:
            found = cache[(start, end)] = _boundaries(start, end, self._rate_changes[0], (),
                                                      self.basis)
        return found


def interest_policy(view: ConfigView) -> InterestPolicy:
    preset_name = view.get_str("preset", "contractual") or "contractual"
    if preset_name not in PRESETS:
        raise view.error("preset", f"must be one of {', '.join(PRESETS)}")
    basis = view.get_str("basis", "act/365") or "act/365"
    if basis not in BASES:
        raise view.error("basis", f"must be one of {', '.join(BASES)}")
    table = {dt.date.fromisoformat(d): D(r) for d, r in PRESETS[preset_name].table}
    extra = view.raw("reference_rates") or {}
    if not isinstance(extra, dict):
        raise view.error("reference_rates", "must map dates to annual rates in percent")
    rates_view = view.section("reference_rates")
    for key, value in extra.items():
        try:
            day = key if isinstance(key, dt.date) else dt.date.fromisoformat(str(key))
        except ValueError:
            raise rates_view.error(key, "keys must be dates YYYY-MM-DD") from None
        table[day] = rates_view.get_decimal(key) if not isinstance(value, Decimal) else value
    rate = view.get_decimal("rate")
    enabled = view.get_bool("enabled", False)
    if enabled and preset_name == "contractual" and rate is None:
        raise view.error("rate", "the contractual preset needs an annual rate in percent")
    return InterestPolicy(
        enabled=enabled, preset=preset_name, rate=rate, margin=view.get_decimal("margin"),
        basis=basis, compensation=view.get_bool("compensation", True),
        fixed_fee=view.get_currency_amounts("fixed_fee", wildcard=True),
        rates=tuple(sorted(table.items())),
    )


def _year_days(day: dt.date, basis: str) -> int:
    if basis == "act/360":
        return 360
    if basis == "act/act":
        year = day.year
        return 366 if (year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)) else 365
    return 365


class RateTableError(ValueError):
    """The rate table does not cover the period to be charged."""


def _boundaries(start: dt.date, end: dt.date, changes: list[dt.date],
                payments: Sequence[tuple[dt.date, Decimal]], basis: str) -> list[dt.date]:
    cuts = {start, end}
    cuts.update(d for d in changes if start < d < end)
    cuts.update(d for d, _ in payments if start < d < end)
    if basis == "act/act":
        cuts.update(dt.date(y, 1, 1) for y in range(start.year + 1, end.year + 1))
    return sorted(cuts)


def item_interest(policy: InterestPolicy, currency: str, start: dt.date, end: dt.date,
                  outstanding: Decimal, payments: Sequence[tuple[dt.date, Decimal]] = ()
                  ) -> Decimal:
    """Interest on one item from ``start`` (exclusive) to ``end`` (inclusive).

    ``outstanding`` is the amount open at ``end``; ``payments`` are (date, amount) applied
    to the item after ``start``, so the base before each payment was larger by it.
    """
    if end <= start or (outstanding <= 0 and not payments):
        return money.quantize(D(0), currency)
    dates, rates = policy.annual_rate_changes()
    if not dates or start < dates[0]:
        raise RateTableError(
            f"no reference rate for {start.isoformat()}: extend dunning.interest."
            f"reference_rates (table starts {dates[0] if dates else 'nowhere'})")
    cuts = (_boundaries(start, end, dates, payments, policy.basis) if payments
            else policy.periods(start, end))
    total = D(0)
    for a, b in itertools.pairwise(cuts):
        base = outstanding + sum((amt for day, amt in payments if day > a), D(0))
        rate = rates[bisect_right(dates, a) - 1]
        total += base * rate / D(100) * D((b - a).days) / D(_year_days(a, policy.basis))
    return money.quantize(total, currency)


def compensation(policy: InterestPolicy, currency: str, principal: Decimal) -> Decimal:
    """Fixed compensation for one late invoice under the policy's preset."""
    if not policy.enabled:
        return D(0)
    if policy.preset == "contractual":
        fee = policy.fixed_fee.get(currency, policy.fixed_fee.get("*", D(0)))
        return money.quantize(fee, currency)
    if not policy.compensation:
        return D(0)
    return money.quantize(PRESETS[policy.preset].compensation(currency, principal), currency)


def stale_table_warning(policy: InterestPolicy, as_of: dt.date) -> str | None:
    """Reference rates change every half-year; warn when the table has not followed."""
    if not policy.enabled or policy.rate is not None or not policy.rates:
        return None
    last = policy.rates[-1][0]
    if (as_of - last).days > 184:
        return (f"interest: the last reference rate is from {last.isoformat()}; add the "
                f"current half-year's rate under dunning.interest.reference_rates")
    return None
