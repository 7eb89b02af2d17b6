"""Fitting text into a given width without losing any of it: how wide a font's widest
glyph is, widths measured so far, setting a text a little smaller, and breaking it into
lines.

Ledger data has no length limit a layout could rely on (a customer name, a document
number, a reference, a bank line), and text that runs past its box overprints what is
beside it. Cutting it short is no answer either: a statement that prints
``INV-2026-016…`` or an address without its last line is a wrong document. So every text
drawn from data into a bounded place is set smaller within limits or broken into lines
here; where even that cannot fit the place, the document fails with a reason
(:class:`TextDoesNotFit`) instead of being sent incomplete.
"""

from __future__ import annotations

import functools
import re
import unicodedata

from reportlab.pdfbase.pdfmetrics import getFont, stringWidth

from arcli.errors import ArcliError


class TextDoesNotFit(ArcliError):
    """A text from the data or the config cannot be printed whole in its place."""


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


def fitting_size(value: str, font: str, size: float, room: float,
                 smallest: float) -> float | None:
    """The size (``size`` or smaller, down to ``smallest``) at which ``value`` fits
    ``room`` points on one line, or None when it does not fit even at ``smallest``."""
    width = stringWidth(value, font, size)
    if width <= room:
        return size
    needed = size * room / width
    return needed if needed >= smallest else None


def _breaks_after(char: str) -> bool:
    """Whether a line may end after ``char``: spaces, separators inside document numbers
    and references, and any CJK character (Chinese has no spaces between words)."""
    return char in " -/_,;:.|·、，。；：" or unicodedata.east_asian_width(char) in "WF"


#: Values read or copied as a whole (by hand, from paper): IBANs and account numbers
#: printed in groups, amounts with their separators, document numbers, SWIFT codes,
#: dates and any other Latin word. A line never ends inside one unless it alone is wider
#: than a line (then at its own separators where it has any): a slip that
#: shows "4563 5100 0012 3456" and "789" on the next line gets the 789 dropped.
_SPACED_UNIT = r"[A-Z]{2}\d{2}(?: [0-9A-Z]{1,4})+|\d+(?:[ .,']\d+)+"
UNIT = re.compile(_SPACED_UNIT + r"|[0-9A-Za-z]+(?:[-/_.,:][0-9A-Za-z]+)*")
_SPACED = re.compile(r"[A-Z]{2}\d{2}(?: [0-9A-Z]{1,4})+|\d+(?: \d+)+|[A-Z]{3} -?\d")


def keep_units_whole(markup: str) -> str:
    """``markup`` with the spaces inside account numbers and IBANs, and between a currency
    code and its amount, made non-breaking: for text that reportlab breaks into lines
    itself (paragraphs break at spaces only)."""
    if " " not in markup:
        return markup
    return _SPACED.sub(lambda m: m.group().replace(" ", "\u00a0"), markup)


def wrap_text(value: str, font: str, size: float, room: float) -> list[str]:
    """``value`` broken into lines no wider than ``room`` points, at spaces and separators
    where it can, between any two characters where a single word is wider than the room.
    Line breaks already in the value are kept. Nothing is left out."""
    lines: list[str] = []
    for paragraph in value.split("\n"):
        lines += _wrap_line(paragraph, font, size, room)
    return lines


def _wrap_line(text: str, font: str, size: float, room: float) -> list[str]:
    measure = getFont(font).stringWidth
    units = [m.span() for m in UNIT.finditer(text)]
    lines, start = [], 0
    while start < len(text):
        if measure(text[start:], size) <= room:
            lines.append(text[start:].strip(" "))
            break
        end = _longest_fit(text, start, measure, size, room)
        # The last break opportunity inside what fits and outside any unit -- unless it
        # would leave the line less than half full: then mid-word, though never inside a
        # unit that could have a line of its own.
        cut = next((i + 1 for i in range(end - 1, start + (end - start) // 2, -1)
                    if _breaks_after(text[i]) and not _inside(units, i + 1)), None)
        cut = cut or _before_unit(text, units, start, end)
        lines.append(text[start:cut].strip(" "))
        start = cut
        while start < len(text) and text[start] == " ":
            start += 1
    return lines or [""]


def _inside(units: list[tuple[int, int]], position: int) -> tuple[int, int] | None:
    """The unit that a line ending at ``position`` would cut in two, if any."""
    return next(((a, b) for a, b in units if a < position < b), None)


def _before_unit(text: str, units: list[tuple[int, int]], start: int, end: int) -> int:
    """Where a line from ``start`` ends when no break fits: at ``end``, or before the
    unit that ``end`` would cut, which then starts the next line; a unit wider than a
    whole line is broken at its own separators (a space between groups) where it can."""
    unit = _inside(units, end)
    if unit is None:
        return end
    if unit[0] > start:
        return unit[0]
    return next((i + 1 for i in range(end - 1, start, -1) if _breaks_after(text[i])), end)


def _longest_fit(text: str, start: int, measure, size: float, room: float) -> int:
    """The end of the longest piece of ``text`` from ``start`` that fits ``room``
    (found by bisection; at least one character, so a line always moves on)."""
    low, high = start + 1, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if measure(text[start:middle], size) <= room:
            low = middle
        else:
            high = middle - 1
    return low


def fit_lines(value: str, font: str, size: float, room: float, smallest: float,
              ) -> tuple[float, list[str]]:
    """One line at ``size`` or a little smaller (down to ``smallest``), else the value
    broken into lines at ``smallest``: for the places with one line of room (letterhead,
    footer, title block), where a slightly smaller text reads better than two lines."""
    fitting = fitting_size(value, font, size, room, smallest)
    if fitting is not None and "\n" not in value:
        return fitting, [value]
    return smallest, wrap_text(value, font, smallest, room)
