"""Shares by age, kept as exact fractions, and the one rounding rule for money made of them.

Two shapes use them: the collectability curve (linear between its points, flat beyond
them) and provision bands (a rate per age band, a step function). A share such as 80% of
an amount interpolated over 185 days is not a finite decimal, so shares and the products
of shares and amounts are ``fractions.Fraction`` until the one place they become money:
a sum of products is rounded half up to the currency's minor unit once, at the end.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction


class ShareError(ValueError):
    """A bad point or band, with the index of the entry (and the field) it is about."""

    def __init__(self, index: int | None, message: str, field: str = "up_to"):
        super().__init__(message)
        self.index = index
        self.field = field


def parse_share(value: object) -> Fraction:
    """``"80%"``, ``"0.8"``, ``1`` or ``0`` as an exact fraction between 0 and 1.

    Floats are refused (YAML ``0.8`` unquoted): they are not the number written.
    """
    if isinstance(value, (bool, float)):
        raise ValueError(f"write shares in quotes to keep them exact, e.g. '{value}' or "
                         "'80%'")
    text = str(value).strip()
    percent = text.endswith("%")
    try:
        number = Decimal(text[:-1].strip() if percent else text)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a share (e.g. '80%' or '0.8')") from None
    if not number.is_finite():
        raise ValueError(f"{value!r} is not a share (e.g. '80%' or '0.8')")
    share = Fraction(number) / (100 if percent else 1)
    if not 0 <= share <= 1:
        raise ValueError(f"{value!r} is not between 0% and 100%")
    return share


def parse_positive(value: object) -> Fraction:
    """An exact positive number (an exchange rate), written quoted: ``'0.9234'``."""
    if isinstance(value, (bool, float)) or value is None:
        raise ValueError(f"write rates in quotes to keep them exact, e.g. '{value}'")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    if not number.is_finite() or number <= 0:
        raise ValueError(f"{value!r} is not a positive number")
    return Fraction(number)


def parse_days(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{value!r} is not a number of days (a whole number, 0 or more)")
    return value


def round_half_up(amount: Fraction) -> int:
    """The nearest integer, halves away from zero (the rounding of ``money.quantize``)."""
    sign = -1 if amount < 0 else 1
    magnitude = abs(amount)
    whole, rest = divmod(magnitude.numerator, magnitude.denominator)
    return sign * (whole + (1 if 2 * rest >= magnitude.denominator else 0))


def share_decimal(share: Fraction, places: int = 6) -> Decimal:
    """A share for display (rounded half up to ``places`` decimals)."""
    scale = 10 ** places
    return Decimal(round_half_up(share * scale)).scaleb(-places)


@dataclass(frozen=True)
class Curve:
    """Share expected to be collected by days overdue: linear between points, flat outside.

    ``points`` are (days, share) with strictly increasing days. Before the first point the
    first share applies, after the last the last share. A step (a share that drops at
    one year) is two points one day apart: ages are whole days, so nothing lies between.
    """

    points: tuple[tuple[int, Fraction], ...]

    def __post_init__(self):
        if not self.points:
            raise ShareError(None, "needs at least one (days, share) point")
        for index in range(1, len(self.points)):
            if self.points[index][0] <= self.points[index - 1][0]:
                raise ShareError(index, "days must increase from one point to the next")

    def share(self, days: int) -> Fraction:
        first, last = self.points[0], self.points[-1]
        if days <= first[0]:
            return first[1]
        if days >= last[0]:
            return last[1]
        for (d0, s0), (d1, s1) in itertools.pairwise(self.points):
            if d0 <= days <= d1:
                return s0 + (s1 - s0) * Fraction(days - d0, d1 - d0)
        raise AssertionError("unreachable: days lies between the first and last point")


@dataclass(frozen=True)
class Bands:
    """A rate per age band: ``limits[i]`` is the last day of band i (``None``: no limit).

    The bands become the buckets of an aging (document or due basis), so a provision's
    balances are the aging's own figures."""

    limits: tuple[int | None, ...]
    rates: tuple[Fraction, ...]

    def __post_init__(self):
        if len(self.limits) < 2:
            raise ShareError(None, "needs at least two bands (the last without up_to)")
        if self.limits[0] is not None and self.limits[0] < 1:
            raise ShareError(0, "the first band must end at day 1 or later")
        for index, limit in enumerate(self.limits[:-1]):
            if limit is None:
                raise ShareError(index, "only the last band may have no upper limit")
            following = self.limits[index + 1]
            if following is not None and following <= limit:
                raise ShareError(index + 1, "band limits must increase")
        if self.limits[-1] is not None:
            raise ShareError(len(self.limits) - 1,
                             "the last band must have no upper limit (up_to: null)")


def curve_from_points(raw: Sequence[object]) -> Curve:
    """A curve from config: a list of ``[days, share]`` pairs."""
    points = []
    for index, entry in enumerate(raw):
        if not isinstance(entry, (list, tuple)) or len(entry) != 2:
            raise ShareError(index, "each point is a pair [days, share], e.g. [100, '80%']")
        try:
            points.append((parse_days(entry[0]), parse_share(entry[1])))
        except ValueError as exc:
            raise ShareError(index, str(exc)) from None
    return Curve(tuple(points))


def bands_from_pairs(raw: Iterable[tuple[object, object]]) -> Bands:
    """Bands from config entries ``(up_to, rate)``; ``up_to`` None for the last band."""
    limits, rates = [], []
    for index, (up_to, rate) in enumerate(raw):
        try:
            limits.append(None if up_to is None else parse_days(up_to))
        except ValueError as exc:
            raise ShareError(index, str(exc), "up_to") from None
        try:
            rates.append(parse_share(rate))
        except ValueError as exc:
            raise ShareError(index, str(exc), "rate") from None
    return Bands(tuple(limits), tuple(rates))
