"""Fitting text into a given width: how wide a font's widest glyph is, widths measured
so far, and cutting a text with an ellipsis.

Ledger data has no length limit a layout could rely on (a customer name, a reference,
a bank line), and text that runs past its box overprints what is beside it: every text
drawn from data into a bounded place goes through :func:`fit_text`.
"""

from __future__ import annotations

import functools

from reportlab.pdfbase.pdfmetrics import getFont, stringWidth

ELLIPSIS = "\u2026"


@functools.cache
def widest_glyph(font: str) -> float:
    """The font's widest advance, in ems: a cell with fewer characters than its room
    over this fits without being measured (most cells, so measuring stays rare)."""
    metrics = getFont(font)
    face = getattr(metrics, "face", None)
    widths = getattr(face, "charWidths", None) or getattr(metrics, "widths", None) or [1000]
    return max(widths.values() if isinstance(widths, dict) else widths) / 1000


_KNOWN_WIDTHS: dict[tuple[str, float], dict[str, float]] = {}


def known_widths(font: str, size: float) -> dict[str, float]:
    """Text widths measured so far in this font and size, by text: dates, type names and
    labels recur in every document of a batch. Cleared when it grows large."""
    known = _KNOWN_WIDTHS.setdefault((font, size), {})
    if len(known) > 20_000:
        known.clear()
    return known


def fit_text(value: str, font: str, size: float, room: float) -> str:
    """``value``, or the longest start of it that fits ``room`` points followed by an
    ellipsis (found by bisection: a long text costs a few measurements, not one per
    character). The whole value stays in the document's JSON copy."""
    if stringWidth(value, font, size) <= room:
        return value
    low, high = 0, len(value)  # the longest prefix that fits with the ellipsis
    while low < high:
        middle = (low + high + 1) // 2
        if stringWidth(value[:middle].rstrip() + ELLIPSIS, font, size) <= room:
            low = middle
        else:
            high = middle - 1
    return value[:low].rstrip() + ELLIPSIS if low else ""
