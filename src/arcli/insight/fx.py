"""A dated table of exchange rates into one company currency, for figures that add up
currencies (``kpi --base``). Rates are exact fractions; a converted amount is rounded
half up to the company currency's minor unit once per figure.
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass
from fractions import Fraction

from arcli import money
from arcli.errors import UsageError
from arcli.insight.shares import round_half_up


@dataclass(frozen=True)
class FxTable:
    """``rates[currency]``: (first day, units of ``base`` per unit) sorted by day; the
    latest rate dated on or before a day applies."""

    base: str
    rates: dict[str, tuple[tuple[dt.date, Fraction], ...]]

    def rate(self, currency: str, day: dt.date) -> Fraction:
        if currency == self.base:
            return Fraction(1)
        dated = self.rates.get(currency, ())
        index = bisect.bisect_right([d for d, _ in dated], day)
        if index == 0:
            raise UsageError(f"fx.rates has no {currency} rate dated on or before {day} "
                             f"(to convert into {self.base})")
        return dated[index - 1][1]

    def convert_minor(self, minor: int, currency: str, day: dt.date) -> int:
        """``minor`` units of ``currency`` in minor units of the base currency."""
        scale = Fraction(10 ** money.exponent(self.base), 10 ** money.exponent(currency))
        return round_half_up(minor * self.rate(currency, day) * scale)
