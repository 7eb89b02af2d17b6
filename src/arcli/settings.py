"""Book-wide settings from the config: default terms and currency, settlement order."""

from __future__ import annotations

from dataclasses import dataclass

from arcli import money
from arcli.allocation import PRINCIPAL_FIRST, SETTLEMENT_ORDERS
from arcli.config import ConfigView


@dataclass(frozen=True)
class BookSettings:
    default_terms: int = 30
    default_currency: str | None = None
    settlement_order: tuple[str, ...] = PRINCIPAL_FIRST


def book_settings(config: ConfigView) -> BookSettings:
    """Parse ``defaults:`` and ``cash_application:`` (every key optional)."""
    defaults = config.section("defaults")
    currency = defaults.get_str("currency")
    if currency:
        try:
            currency = money.check_currency(currency)
        except money.MoneyError as exc:
            raise defaults.error("currency", str(exc)) from None
    cash = config.section("cash_application")
    order_name = cash.get_str("settlement_order", "principal-first")
    if order_name not in SETTLEMENT_ORDERS:
        raise cash.error("settlement_order", f"must be one of {', '.join(SETTLEMENT_ORDERS)}")
    return BookSettings(
        default_terms=defaults.get_int("terms_days", 30, minimum=0),
        default_currency=currency,
        settlement_order=SETTLEMENT_ORDERS[order_name],
    )
