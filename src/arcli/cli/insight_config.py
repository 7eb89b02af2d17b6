"""The insight commands' config keys, read and validated where the commands start.

``aging.expected_curve``: a list of ``[days overdue, share]`` pairs (shares as quoted
decimals or percentages, e.g. ``[100, '80%']``), linear between points.
"""

from __future__ import annotations

from arcli.config import ConfigError, ConfigView
from arcli.insight.shares import Curve, ShareError, curve_from_points


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
