"""The insight commands' config keys, read and validated where the commands start.

``aging.expected_curve``: a list of ``[days overdue, share]`` pairs (shares as quoted
decimals or percentages, e.g. ``[100, '80%']``), linear between points.
``provision.method|basis|bands|roll_buckets|months``: see ``arcli provision --help``.
"""

from __future__ import annotations

import datetime as dt

from arcli.config import ConfigError, ConfigView
from arcli.insight.shares import Bands, Curve, ShareError, bands_from_pairs, curve_from_points


def share_error(view: ConfigView, key: str, exc: ShareError) -> ConfigError:
    """A ShareError as a config error on the list entry it names, at that entry's line."""
    if exc.index is None:
        return view.error(key, str(exc))
    lines = getattr(view.raw(key), "lines", None) or []
    line = lines[exc.index] if exc.index < len(lines) else view.line_of(key)
    return ConfigView(None, view.source, view.key_path(key), line).error(exc.index, str(exc))


def recovery_curve(aging: ConfigView) -> Curve:
    """The collectability curve: ``aging.expected_curve`` or the documented default."""
    from arcli.insight.recovery import DEFAULT_CURVE

    raw = aging.raw("expected_curve")
    if raw is None:
        return DEFAULT_CURVE
    if not isinstance(raw, list):
        raise aging.error("expected_curve", "must be a list of [days, share] pairs")
    try:
        return curve_from_points(raw)
    except ShareError as exc:
        raise share_error(aging, "expected_curve", exc) from None


def provision_bands(section: ConfigView) -> Bands:
    """``provision.bands``: ``- {up_to: 365, rate: '5%'}`` ... the last with ``up_to: null``
    (or without ``up_to``); the default is the common Chinese 账龄分析法 table."""
    from arcli.insight.provision import DEFAULT_BANDS

    if section.raw("bands") is None:
        return DEFAULT_BANDS
    pairs = []
    for band in section.sections("bands"):
        unknown = sorted(set(band.keys()) - {"up_to", "rate"})
        if unknown:
            raise band.error(unknown[0], "unknown key (a band has up_to and rate)")
        if "rate" not in band:
            raise band.error("rate", "is required, e.g. rate: '5%'")
        pairs.append((band.raw("up_to"), band.raw("rate")))
    try:
        return bands_from_pairs(pairs)
    except ShareError as exc:
        if exc.index is None:
            raise section.error("bands", str(exc)) from None
        band = list(section.sections("bands"))[exc.index]
        raise band.error(exc.field, str(exc)) from None


def roll_buckets(section: ConfigView) -> tuple[int, ...]:
    """``provision.roll_buckets``: monthly bucket bounds for roll rates."""
    from arcli.aging import AgingSpec
    from arcli.errors import UsageError
    from arcli.insight.provision import DEFAULT_ROLL_BUCKETS

    raw = section.get_list("roll_buckets", list(DEFAULT_ROLL_BUCKETS))
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in raw):
        raise section.error("roll_buckets", "must be a list of day counts, e.g. [30, 60, 90]")
    try:
        AgingSpec(dt.date.min, "due", tuple(raw))
    except UsageError as exc:
        raise section.error("roll_buckets", str(exc)) from None
    return tuple(raw)


def fx_table(config: ConfigView):
    """``fx:`` — ``base: EUR`` and ``rates: {USD: [{from: 2026-01-01, rate: '0.92'}]}``
    (units of the base per unit of the currency); None when absent."""
    from fractions import Fraction

    from arcli.insight.fx import FxTable
    from arcli.insight.shares import parse_positive
    from arcli.money import MoneyError, check_currency

    view = config.section("fx")
    if not view.keys():
        return None
    try:
        base = check_currency(view.get_str("base") or "")
    except MoneyError as exc:
        raise view.error("base", f"{exc} (the company currency, e.g. base: EUR)") from None
    rates_view = view.section("rates")
    rates = {}
    for code in rates_view:
        try:
            currency = check_currency(code)
        except MoneyError as exc:
            raise rates_view.error(code, str(exc)) from None
        dated: list[tuple[dt.date, Fraction]] = []
        for entry in rates_view.sections(code):
            day = entry.get_date("from")
            if day is None:
                raise entry.error("from", "is required (the first day the rate applies)")
            try:
                dated.append((day, parse_positive(entry.raw("rate"))))
            except ValueError as exc:
                raise entry.error("rate", str(exc)) from None
        rates[currency] = tuple(sorted(dated))
    return FxTable(base, rates)
