"""Money: exact decimal amounts, quantized to each currency's minor unit.

The store keeps amounts as integers of minor units (cents, fen, yen) so sums in SQL are
exact and indexes stay small; everything above the store works with ``decimal.Decimal``
quantized to the currency's exponent. Floats never appear. ISO 4217 data (which codes
exist, how many decimals each has) comes from Babel's CLDR tables rather than a
hand-kept list that would go stale.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache

from arcli.errors import UsageError

# Historical or fund codes CLDR lists but nobody invoices in; refusing them catches typos.
_NOT_TRADING = frozenset({"XXX", "XTS", "XAU", "XAG", "XPT", "XPD", "XDR", "XSU", "XUA"})


class MoneyError(ValueError):
    """An amount or currency that cannot be represented exactly."""


@cache
def _known_currencies() -> frozenset[str]:
    from babel.numbers import list_currencies

    return frozenset(list_currencies()) - _NOT_TRADING


def check_currency(code: str) -> str:
    """Return the upper-cased ISO 4217 code, or raise :class:`MoneyError`."""
    norm = (code or "").strip().upper()
    if len(norm) != 3 or norm not in _known_currencies():
        raise MoneyError(f"unknown ISO 4217 currency code {code!r}")
    return norm


@cache
def exponent(currency: str) -> int:
    """Number of decimal places of the currency's minor unit (EUR 2, JPY 0, BHD 3)."""
    from babel.numbers import get_currency_precision

    return get_currency_precision(check_currency(currency))


@cache
def quantum(currency: str) -> Decimal:
    """The smallest amount of the currency as a Decimal (``Decimal('0.01')`` for EUR)."""
    return Decimal(1).scaleb(-exponent(currency))


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the currency's minor unit (for computed amounts like interest)."""
    return amount.quantize(quantum(currency), rounding=ROUND_HALF_UP)


#: The largest amount, in minor units, that one document or payment may carry (just under
#: 10 trillion EUR): the store keeps 64-bit integers, and sums of thousands of such
#: amounts still fit in them.
MAX_MINOR = 10**15 - 1


def to_minor(amount: Decimal, currency: str) -> int:
    """Convert an exact amount to integer minor units; refuse more places than allowed,
    and amounts beyond :data:`MAX_MINOR` (a typo such as ``1E30`` must not reach the
    store, where it would not fit)."""
    exp = exponent(currency)
    # The leading digit's power of ten in minor units, checked before scaling: scaling
    # 1E1000000 overflows the decimal context, and 1E-999999999 underflows to 0.
    magnitude = amount.adjusted() + exp if amount else 0
    scaled = amount.scaleb(exp) if 0 <= magnitude < len(str(MAX_MINOR)) else None
    if magnitude > 0 and (scaled is None or abs(scaled) > MAX_MINOR):
        raise MoneyError(f"{amount} is too large (at most {from_minor(MAX_MINOR, currency)})")
    if scaled is None or scaled != scaled.to_integral_value():  # below one minor unit too
        raise MoneyError(f"{amount} has more than {exp} decimal place(s) allowed for {currency}")
    return int(scaled)


def given_to_minor(amount: Decimal, currency: str, name: str) -> int:
    """:func:`to_minor` for an amount given on the command line: a usage error naming
    the argument, not an internal error."""
    try:
        return to_minor(amount, currency)
    except MoneyError as exc:
        raise UsageError(f"{name}: {exc}") from None


def from_minor(minor: int, currency: str) -> Decimal:
    """Convert integer minor units back to a Decimal quantized to the currency.

    Scaling an integer by the currency's exponent already gives exactly that exponent
    (``12345`` → ``123.45``, ``0`` → ``0.00``), so no separate quantize step is needed.
    """
    return Decimal(int(minor)).scaleb(-exponent(currency))


def parse_decimal(text: str, decimal_sep: str = ".", thousands_sep: str = "") -> Decimal:
    """Parse a human-written number exactly: ``1,234.56``, ``1.234,56``, ``(12.00)``, ``-5``.

    Parentheses mean negative, as accounting exports write it. Raises :class:`MoneyError`
    for anything that is not a plain number once separators are removed.
    """
    raw = (text or "").strip()
    if not raw:
        raise MoneyError("empty amount")
    negative = raw.startswith("(") and raw.endswith(")")
    if negative:
        raw = raw[1:-1].strip()
    if thousands_sep:
        raw = raw.replace(thousands_sep, "")
    if decimal_sep != ".":
        if "." in raw and decimal_sep != "." and thousands_sep != ".":
            raise MoneyError(f"not a number: {text!r}")
        raw = raw.replace(decimal_sep, ".")
    raw = raw.replace(" ", "").replace("\u00a0", "")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise MoneyError(f"not a number: {text!r}") from None
    if not value.is_finite():
        raise MoneyError(f"not a number: {text!r}")
    return -value if negative else value


def plain(amount: Decimal) -> str:
    """The exact plain-decimal text used in CSV and JSON (never exponent notation)."""
    return format(amount, "f")


@cache
def _separators(locale: str) -> tuple[str, str]:
    """(decimal, group) symbols of a locale, from CLDR via Babel, looked up once."""
    from babel.numbers import get_decimal_symbol, get_group_symbol

    return get_decimal_symbol(locale), get_group_symbol(locale)


def format_money(amount: Decimal, currency: str, locale: str = "en") -> str:
    """Amount with grouping for people, in the locale's style, without a currency sign.

    Called for every amount of every document, so it formats with Python's own grouping
    and swaps in the locale's symbols instead of calling Babel each time.
    """
    decimal_symbol, group_symbol = _separators(locale)
    text = f"{quantize(amount, currency):,.{exponent(currency)}f}"
    if (decimal_symbol, group_symbol) != (".", ","):
        text = text.replace(",", "\0").replace(".", decimal_symbol).replace("\0", group_symbol)
    return text


def format_currency(amount: Decimal, currency: str, locale: str = "en") -> str:
    """Amount with currency sign, in the locale's style (``¥1,234.50``, ``1.234,50 €``)."""
    from babel.numbers import format_currency as babel_format_currency

    return babel_format_currency(amount, currency, locale=locale)
