"""Late-payment interest and fixed compensation, with legal presets.

Interest is simple interest per item, from its due date plus grace to the run date, on
the amount actually outstanding each day as of the run date (partial payments shorten the
base from the day they were applied; payments dated after the run date do not count), at
``reference rate + margin`` where the reference rate comes from a dated table: the period
is split at every rate change and every payment. A rate applies from its effective date
on: that day itself is charged at the new rate (§247 BGB: the base rate "changes on
1 January and 1 July"). Amounts stay exact Decimals and are rounded once per item,
half-up, to the currency's minor unit.

Presets and their legal sources (the reference rates change every half-year; the shipped
tables live in ``arcli/data/reference_rates.json`` with their source and the date they
were last updated -- ``arcli dunning rates`` shows them -- and you extend them under
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
* ``cn``: the contract's rate (``rate``) when it has one; else, for a small or medium
  enterprise owed by a public body or a large enterprise (``sme: true``), 0.05 % a day
  (保障中小企业款项支付条例, State Council Decree 802, 2025 revision, art. 17; art. 15 of
  the 2020 text -- where the parties agreed no rate, overdue interest is paid at a daily
  rate of 万分之五); else the
  1-year Loan Prime Rate in force when the payment fell due plus ``lpr_markup`` percent of
  it (default 30: Supreme People's Court interpretation on sales contracts, 法释〔2012〕8号
  as amended 2020, art. 18: LPR "加计30-50%"). No fixed compensation.
* ``contractual``: your contract's fixed annual rate (``rate``), optional fixed fee.
"""

from __future__ import annotations

import datetime as dt
import functools
import itertools
import json
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources

from arcli import money
from arcli.config import ConfigView

D = Decimal

ONE_DAY = dt.timedelta(days=1)
#: cn: percent added to the LPR when the contract has no rate (court practice: 30 to 50).
LPR_MARKUP = D(30)
#: The SME rule's 0.05 % a day, as an annual rate on act/365 (18.25 / 365 = 0.05).
CN_SME_DAILY_AS_ANNUAL = D("18.25")


@functools.cache
def shipped_rates() -> dict:
    """The shipped reference-rate tables (``arcli/data/reference_rates.json``): effective
    dates and annual rates in percent (reference rate only, no margin), each table with its
    source, the date it was checked and a note; ``updated`` says when the file was."""
    text = resources.files("arcli").joinpath("data/reference_rates.json").read_text("utf-8")
    return json.loads(text)


BASES = ("act/365", "act/360", "act/act")


@dataclass(frozen=True)
class Preset:
    name: str
    margin: Decimal
    table_key: str | None  # its table in reference_rates.json
    compensation_currency: str | None = None
    source: str = ""

    @property
    def table(self) -> list[list[str]]:
        """(effective date, annual %) pairs of the shipped table."""
        return shipped_rates()["tables"][self.table_key]["rates"] if self.table_key else []

    def compensation(self, currency: str, principal: Decimal) -> Decimal:
        """Fixed compensation due per late invoice in the preset's currency."""
        if currency != self.compensation_currency:
            return D(0)
        if self.name == "uk":
            return D(40) if principal < 1000 else D(70) if principal < 10000 else D(100)
        return D(40)


PRESETS = {
    "eu": Preset("eu", D(8), "ecb_mro", "EUR", "Directive 2011/7/EU art. 2, 6; ECB MRO rate"),
    "de": Preset("de", D(9), "bundesbank_base", "EUR", "§288(2),(5) BGB; §247 BGB base rate"),
    "uk": Preset("uk", D(8), "boe_base", "GBP",
                 "Late Payment of Commercial Debts (Interest) Act 1998; SI 2002/1675"),
    "cn": Preset("cn", D(0), "cn_lpr_1y", None,
                 "contract; 保障中小企业款项支付条例 (2025) art. 17; 法释〔2012〕8号 art. 18; "
                 "1-year LPR"),
    "contractual": Preset("contractual", D(0), None, None, "your contract"),
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
    sme: bool = False  # cn: the SME rule (0.05 % a day) where the contract has no rate
    lpr_markup: Decimal = LPR_MARKUP  # cn: percent added to the LPR

    def rate_pieces(self, start: dt.date | None = None
                    ) -> tuple[list[dt.date], list[Decimal]]:
        """The total annual rates (percent) of an item in default from the day after
        ``start``, each with its *eve*: the day before it takes effect. A piece of the
        period (a, b] charges the days a+1..b at the rate of the last eve <= a, so a rate
        in force from 1 July charges 1 July itself (its eve is 30 June).

        The cn preset's LPR rate is the one in force when the payment fell due, kept for
        the whole default (法释〔2012〕8号 art. 18: "违约行为发生时"), so it depends on
        ``start``; every other rate follows the table.
        """
        if self.fixed_at_default and start is not None:
            return self._fixed_rate(start)
        return self._rate_pieces

    @property
    def fixed_at_default(self) -> bool:
        return self.preset == "cn" and self.rate is None and not self.sme

    @functools.cached_property
    def _rate_pieces(self) -> tuple[list[dt.date], list[Decimal]]:
        # Asked once per overdue item: a dunning run over a big book asks ~500,000 times.
        if self.rate is not None:
            return [dt.date.min], [self.rate]
        if self.preset == "cn" and self.sme:
            return [dt.date.min], [CN_SME_DAILY_AS_ANNUAL]
        preset = PRESETS[self.preset]
        margin = preset.margin if self.margin is None else self.margin
        return [d - ONE_DAY for d, _ in self.rates], [r + margin for _, r in self.rates]

    def _fixed_rate(self, start: dt.date) -> tuple[list[dt.date], list[Decimal]]:
        cache = self.__dict__.setdefault("_fixed", {})
        found = cache.get(start)
        if found is None:
            eves, rates = self._rate_pieces
            if not eves or start < eves[0]:
                found = ([], [])  # item_interest reports the uncovered date
            else:
                lpr = rates[bisect_right(eves, start) - 1]
                found = ([eves[0]], [lpr * (D(100) + self.lpr_markup) / D(100)])
            cache[start] = found
        return found

    def periods(self, start: dt.date, end: dt.date) -> list[dt.date]:
        """Where an unpaid item's interest period splits (rate changes, years on act/act).

        Items share due dates, so the split of each (start, end) is computed once.
        """
        cache = self.__dict__.setdefault("_periods", {})
        found = cache.get((start, end))
        if found is None:
            found = cache[(start, end)] = _boundaries(
                start, end, self.rate_pieces(start)[0], (), self.basis)
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
    sme = view.get_bool("sme", False)
    if sme and rate is None and basis != "act/365":
        raise view.error("basis", "the SME rule charges 0.05 % a day: use act/365 (the "
                                  "default)")
    markup = view.get_decimal("lpr_markup", LPR_MARKUP)
    if markup is not None and markup < 0:
        raise view.error("lpr_markup", "must be a percentage of the LPR, 0 or more")
    return InterestPolicy(
        enabled=enabled, preset=preset_name, rate=rate, margin=view.get_decimal("margin"),
        basis=basis, compensation=view.get_bool("compensation", True),
        fixed_fee=view.get_currency_amounts("fixed_fee", wildcard=True),
        rates=tuple(sorted(table.items())), sme=sme,
        lpr_markup=LPR_MARKUP if markup is None else markup,
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


def _boundaries(start: dt.date, end: dt.date, eves: list[dt.date],
                payments: Sequence[tuple[dt.date, Decimal]], basis: str) -> list[dt.date]:
    """Cut points of the period (start, end]: each piece (a, b] charges the days a+1..b.

    A rate taking effect on day d cuts at its eve d-1, so day d is charged at the new
    rate; on act/act a year ends on 31 December, so 1 January counts in the new year's days.
    """
    cuts = {start, end}
    cuts.update(eve for eve in eves if start < eve < end)
    cuts.update(d for d, _ in payments if start < d < end)
    if basis == "act/act":
        cuts.update(dt.date(y, 12, 31) for y in range(start.year, end.year)
                    if start < dt.date(y, 12, 31) < end)
    return sorted(cuts)


def item_interest(policy: InterestPolicy, currency: str, start: dt.date, end: dt.date,
                  outstanding: Decimal, payments: Sequence[tuple[dt.date, Decimal]] = ()
                  ) -> Decimal:
    """Interest on one item from ``start`` (exclusive) to ``end`` (inclusive).

    ``outstanding`` is the amount open at ``end``; ``payments`` are (date, amount) applied
    to the item after ``start``, so the base before each payment was larger by it. A
    payment dated after ``end`` is not part of the open amount at ``end`` and is left out
    (it would otherwise raise the base of every day before it).
    """
    if payments:
        payments = [(day, amt) for day, amt in payments if day <= end]
    if end <= start or (outstanding <= 0 and not payments):
        return money.quantize(D(0), currency)
    eves, rates = policy.rate_pieces(start)
    if not eves or start < eves[0]:
        raise RateTableError(
            f"no reference rate for {(start + ONE_DAY).isoformat()}: extend dunning.interest."
            f"reference_rates (table starts {eves[0] + ONE_DAY if eves else 'nowhere'})")
    cuts = (_boundaries(start, end, eves, payments, policy.basis) if payments
            else policy.periods(start, end))
    total = D(0)
    act_act = policy.basis == "act/act"
    for a, b in itertools.pairwise(cuts):
        base = outstanding + sum((amt for day, amt in payments if day > a), D(0))
        rate = rates[bisect_right(eves, a) - 1]
        # act/act: the year of the piece's first day (a+1: 31 December starts a new year)
        year_days = _year_days(a + ONE_DAY, "act/act") if act_act else \
            _year_days(a, policy.basis)
        total += base * rate / D(100) * D((b - a).days) / D(year_days)
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
    if not policy.enabled or policy.rate is not None or not policy.rates \
            or (policy.preset == "cn" and policy.sme):
        return None
    last = policy.rates[-1][0]
    if (as_of - last).days > 184:
        return (f"interest: the last reference rate is from {last.isoformat()}; add the "
                f"current half-year's rate under dunning.interest.reference_rates")
    return None
