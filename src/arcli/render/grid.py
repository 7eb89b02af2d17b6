"""The story's tables, laid out and drawn directly instead of by reportlab's ``Table``.

A statement at the scale the project is built for has about a hundred rows in three
tables over three pages, and reportlab's general-purpose ``Table`` was the largest single
cost of rendering one: building it with its per-cell styles and commands, measuring it
again for every page it is split across, and visiting every cell's style while drawing
(~30% of a three-page statement's rendering time in a profile of 1,000). The story's
tables need little of that generality: every cell is one string (or a few lines), rows
come in four looks (header, total, muted, disputed) plus zebra stripes, columns have
given widths and alignments, and a table splits between rows, repeating its header.

:class:`Grid` does exactly that and draws exactly as reportlab's ``Table`` did with the
equivalent style (backgrounds, then the cells' text, then the rules; text top-aligned
with the same padding; round-capped rules), so pages look the same pixel for pixel; a
test renders statements both ways and compares the page images. Where ``Table`` failed
or overprinted -- a row taller than a page, text wider than its column -- the row is
split between its lines and the text cut (figures set smaller instead).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from reportlab.lib import colors
from reportlab.pdfbase.pdfmetrics import getFont, stringWidth
from reportlab.platypus import Flowable

from arcli.render.palette import ACCENT, DISPUTED, INK, MUTED, RULE, ZEBRA
from arcli.render.textblock import TextBlock, pdf_number, pdf_rgb
from arcli.render.textfit import known_widths, widest_glyph, wrap_text

PAD_X = 3.0  # left and right cell padding, points
PAD_Y = 2.2  # top and bottom cell padding, points


@dataclass(frozen=True)
class GridLook:
    """What every row of one table shares: fonts, text size, column alignments."""

    regular: str
    bold: str
    size: float
    aligns: tuple[str, ...]  # "LEFT", "RIGHT" or "CENTER" per column
    zebra: bool = True

    @property
    def leading(self) -> float:
        return self.size * 1.2


@dataclass(frozen=True)
class GridRow:
    """One row: its cells, its position in the whole table, its look (``klass`` holds
    the template's ``class`` words: total, muted, disputed)."""

    cells: tuple[str, ...]
    index: int
    klass: str = ""
    header: bool = False


class Grid(Flowable):
    """A table of plain-text rows with given column widths (see the module docstring).

    ``last`` is the index of the whole table's last row: only the part holding it is
    ruled off at the bottom when the table is split across pages.
    """

    def __init__(self, rows: list[GridRow], widths: list[float], look: GridLook,
                 repeat: int = 0, last: int | None = None):
        super().__init__()
        self.rows, self.widths, self.look, self.repeat = rows, widths, look, repeat
        self.last = rows[-1].index if last is None else last
        self.heights = [_row_height(row, look) for row in rows]
        self.width, self.height = sum(widths), sum(self.heights)
        self.hAlign = "LEFT"

    def wrap(self, avail_width, avail_height):
        return self.width, self.height

    def split(self, avail_width, avail_height):
        """Split between rows as reportlab's ``Table`` does: as many rows as fit, and
        never before the first body row; the rest repeats the header rows.

        A row that cannot be kept whole (taller than a whole page with the header, e.g.
        a ledger reference with many line breaks) made ``Table`` fail the document; such
        a row is split between its lines instead, as far as the page has room."""
        used, fit = 0.0, 0
        for height in self.heights:
            if used + height > avail_height:
                break
            used, fit = used + height, fit + 1
        if fit < len(self.rows) and self._cannot_keep_whole(fit):
            parts = self._split_row(fit, avail_height - used)
            if parts:
                return parts
        if fit <= self.repeat:
            return []
        if fit == len(self.rows):
            return [self]
        head = self.rows[:self.repeat]
        return [Grid(self.rows[:fit], self.widths, self.look, self.repeat, self.last),
                Grid(head + self.rows[fit:], self.widths, self.look, self.repeat, self.last)]

    def _cannot_keep_whole(self, index: int) -> bool:
        """Whether row ``index`` (the first that does not fit) will not fit a page either:
        it is the first body row on a fresh page, or it is taller with the header than
        the frame's whole height."""
        frame = getattr(self, "_frame", None)
        if frame is None or index < self.repeat:
            return False
        if index == self.repeat and frame._atTop:
            return True
        return sum(self.heights[:self.repeat]) + self.heights[index] > frame._aH

    def _split_row(self, index: int, room: float) -> list[Grid]:
        """Row ``index``'s lines that fit in ``room`` ending this page, the rest of it
        (same look, so its stripe continues) and the rows after it on the next."""
        lines = int((room - 2 * PAD_Y) // self.look.leading)
        row = self.rows[index]
        parts = [value.split("\n") for value in row.cells]
        if lines < 1 or lines >= max(len(part) for part in parts):
            return []
        first = GridRow(tuple("\n".join(part[:lines]) for part in parts), row.index,
                        row.klass, row.header)
        rest = GridRow(tuple("\n".join(part[lines:]) for part in parts), row.index,
                       row.klass, row.header)
        last = -1 if row.index == self.last else self.last  # rule off only the end
        head = self.rows[:self.repeat]
        return [Grid([*self.rows[:index], first], self.widths, self.look, self.repeat, last),
                Grid([*head, rest, *self.rows[index + 1:]], self.widths, self.look,
                     self.repeat, self.last)]

    def draw(self):
        tops = self._row_tops()
        literal = self.canv.addLiteral
        literal(_backgrounds(self.rows, self.heights, tops, self.width, self.look))
        self._draw_text(tops)
        literal(_rules(self.rows, self.heights, tops, self.width, self.last))

    def _row_tops(self) -> list[float]:
        tops, y = [], self.height
        for height in self.heights:
            tops.append(y)
            y -= height
        return tops

    def _draw_text(self, tops: list[float]) -> None:
        look, size = self.look, self.look.size
        block, text = TextBlock(self.canv), None
        anchors, checks = _anchors(self.widths, look.aligns), {}
        rooms = [width - 2 * PAD_X for width in self.widths]
        for row, top in zip(self.rows, tops, strict=True):
            font = look.bold if row.header or "total" in row.klass else look.regular
            color = MUTED if "muted" in row.klass else colors.white if row.header else INK
            text = block.style(font, size, color, look.leading).text
            y = top - PAD_Y - size
            safe, measure, known = checks.get(font) or checks.setdefault(
                font, self._width_checks(font))
            for column, value, (x, align) in zip(range(len(row.cells)), row.cells, anchors,
                                                 strict=False):
                width = None
                if len(value) > safe[column]:  # it may not fit: measure it
                    # Figures (right-aligned) are measured here instead of when drawn;
                    # dates and names recur, so their widths are remembered.
                    if align != "LEFT":
                        width = measure(value, size)
                    elif (width := known.get(value)) is None:
                        width = known[value] = measure(value, size)
                    if width > rooms[column] or "\n" in value:
                        self._draw_long(block, row.cells, column, font, color, (x, y, align))
                        continue
                if "\n" not in value:
                    text(x, y, value, align, width)  # empty values draw nothing
                    continue
                for number, line in enumerate(value.split("\n")):
                    text(x, y - number * look.leading, line, align)
        block.draw()

    def _draw_long(self, block: TextBlock, cells: tuple[str, ...], column: int, font: str,
                   color, place: tuple[float, float, str]) -> None:
        """A cell too wide for its column (or on several lines): a figure, or a text a
        little too wide, set smaller; longer texts were broken into lines by
        :func:`wrap_rows`. Nothing is cut (see :func:`cell_room`)."""
        look, value = self.look, cells[column]
        x, y, align = place
        room = cell_room(cells, column, self.widths, look.aligns, font, look.size)
        if "\n" not in value:
            smallest = _SMALLEST if FIGURE.fullmatch(value) else _SMALLEST_TEXT
            block.style(font, shrunk_size(value, font, look.size, room, smallest), color,
                        look.leading).text(x, y, value, align)
            block.style(font, look.size, color, look.leading)
            return
        for number, line in enumerate(value.split("\n")):
            block.text(x, y - number * look.leading, line, align)

    def _width_checks(self, font: str):
        """For ``font``: per column, how many characters can never be too wide for it;
        the font's measure; the widths measured so far."""
        em = self.look.size * widest_glyph(font)
        return ([(width - 2 * PAD_X) / em for width in self.widths],
                getFont(font).stringWidth, known_widths(font, self.look.size))


#: An amount or a count as the templates print them: digits with group and decimal
#: separators, perhaps a sign or parentheses and a currency code or symbol. Cutting
#: one would print a different figure.
FIGURE = re.compile(r"[-+(]?[¥$€£₩₹]?[\d.,'\u00a0\u202f ]*\d[)]?(\s?(?:[A-Z]{3}|[¥$€£₩₹]))?")
#: How far a figure is shrunk at most to fit (beyond that it runs over, but whole).
_SMALLEST = 0.6
#: How far a text is shrunk at most to stay on one line (a date a little wider than its
#: column); a text wider than that is broken into lines instead.
_SMALLEST_TEXT = 0.85


def shrunk_size(value: str, font: str, size: float, room: float,
                smallest: float = _SMALLEST) -> float:
    """The font size at which ``value`` fits ``room``: ``size`` or smaller, down to
    ``smallest`` times ``size``."""
    width = stringWidth(value, font, size)
    if width <= room:
        return size
    return max(size * smallest, size * room / width)


def wrap_rows(rows: list[GridRow], widths: list[float], look: GridLook) -> list[GridRow]:
    """``rows`` with every text too wide for its cell broken into lines (the row grows
    taller), so no text is cut or runs over its neighbour. Figures are not broken: they
    are set smaller when drawn, as are texts only a little too wide.

    This runs over every cell of every table, so it measures as little as drawing does:
    a cell too short to exceed what its column may hold even in the widest glyphs is
    not measured, nor is a figure (never wrapped), and the widths of texts that recur
    (dates, type names) are remembered."""
    em = max(widest_glyph(look.regular), widest_glyph(look.bold)) * look.size
    # a text up to this wide is set a little smaller in its own column, not wrapped
    shrinkable = [(width - 2 * PAD_X) / _SMALLEST_TEXT for width in widths]
    safe = [room / em for room in shrinkable]  # characters that can never exceed it
    out = rows
    for number, row in enumerate(rows):
        long = [column for column, (value, limit) in enumerate(zip(row.cells, safe,
                                                                       strict=False))
                if len(value) > limit and not FIGURE.fullmatch(value)]
        if not long:
            continue
        font = look.bold if row.header or "total" in row.klass else look.regular
        known = known_widths(font, look.size)
        too_wide = [column for column in long
                    if _widest_line(row.cells[column], font, look.size, known)
                    > shrinkable[column]]
        if too_wide:
            out = out if out is not rows else list(rows)
            out[number] = _wrapped(row, too_wide, widths, look, font)
    return out


def _widest_line(value: str, font: str, size: float, known: dict[str, float]) -> float:
    width = known.get(value)
    if width is None:
        width = known[value] = max(stringWidth(line, font, size)
                                   for line in value.split("\n"))
    return width


def _wrapped(row: GridRow, columns: list[int], widths: list[float], look: GridLook,
             font: str) -> GridRow:
    """``row`` with the texts of ``columns`` broken into lines where they are wider than
    the room they may run on into (see :func:`cell_room`)."""
    cells = list(row.cells)
    for column in columns:
        value = row.cells[column]
        room = cell_room(row.cells, column, widths, look.aligns, font, look.size)
        if _widest_line(value, font, look.size, {}) > room / _SMALLEST_TEXT:
            cells[column] = "\n".join(wrap_text(value, font, look.size, room))
    return GridRow(tuple(cells), row.index, row.klass, row.header)


_GAP = 2 * PAD_X  # the least space left between a long text and the next cell's text


def cell_room(cells: tuple[str, ...], column: int, widths: list[float],
              aligns: tuple[str, ...], font: str, size: float) -> float:
    """How wide a cell's text may run, in points: as in a spreadsheet, text runs on
    through the empty cells on the side it grows to (right when left-aligned, left when
    right-aligned) and stops short of the next cell's text. The shipped templates rely on
    that for labels such as "Days overdue" over a narrow column of figures."""
    align = aligns[column] if column < len(aligns) else "LEFT"
    room = widths[column] - 2 * PAD_X
    if align not in ("LEFT", "RIGHT"):
        return room
    step = 1 if align == "LEFT" else -1
    neighbour = column + step
    while 0 <= neighbour < len(widths):
        text = cells[neighbour] if neighbour < len(cells) else ""
        if text:
            used = max(stringWidth(line, font, size) for line in text.split("\n"))
            other = aligns[neighbour] if neighbour < len(aligns) else "LEFT"
            return room + max(0.0, _free_toward(other, step, widths[neighbour], used)
                              - _GAP + PAD_X)
        room += widths[neighbour]
        neighbour += step
    return room


def _free_toward(align: str, step: int, width: float, used: float) -> float:
    """Empty space in a neighbouring cell on the side facing the long text (``step`` 1:
    the neighbour is to its right, so its left side faces it)."""
    if align not in ("LEFT", "RIGHT"):  # centred
        return (width - used) / 2
    faces_text = (align == "LEFT") == (step == 1)
    return PAD_X if faces_text else width - PAD_X - used


def _anchors(widths: list[float], aligns: tuple[str, ...]) -> list[tuple[float, str]]:
    """Where each column's text is anchored, and how: left edge, right edge or centre
    inside the padding."""
    anchors, left = [], 0.0
    for width, align in zip(widths, aligns, strict=False):
        if align == "RIGHT":
            anchors.append((left + width - PAD_X, "RIGHT"))
        elif align == "LEFT":
            anchors.append((left + PAD_X, "LEFT"))
        else:
            anchors.append((left + width * 0.5, "CENTRE"))
        left += width
    return anchors


def _row_height(row: GridRow, look: GridLook) -> float:
    lines = 1
    if "\n" in "".join(row.cells):  # rare: look at cells one by one only then
        lines += max(value.count("\n") for value in row.cells)
    return look.leading * lines + 2 * PAD_Y


def _background(row: GridRow, look: GridLook):
    """The row's fill colour, or None: headers are filled, totals only ruled, disputed
    rows highlighted, other even rows striped (a later rule wins, as before)."""
    fill = ACCENT if row.header else None
    if "total" in row.klass:
        return fill
    if "disputed" in row.klass:
        return DISPUTED
    return ZEBRA if look.zebra and not row.header and row.index % 2 == 0 else fill


def _backgrounds(rows, heights, tops, width: float, look: GridLook) -> str:
    code = ["q"]
    for row, height, top in zip(rows, heights, tops, strict=True):
        fill = _background(row, look)
        if fill is not None:
            code.append(f"{pdf_rgb(fill)} rg 0 {pdf_number(top)} {pdf_number(width)} "
                        f"{pdf_number(-height)} re f")
    return " ".join([*code, "Q"]) if len(code) > 1 else ""


def _rules(rows, heights, tops, width: float, last: int) -> str:
    """Totals ruled above (0.8 pt, ink); the table's last row ruled below (0.5 pt)."""
    code = ["q 1 J 1 j"]
    for row, height, top in zip(rows, heights, tops, strict=True):
        if "total" in row.klass:
            code.append(_line(0.8, INK, top, width))
        if row.index == last:
            code.append(_line(0.5, RULE, top - height, width))
    return " ".join([*code, "Q"]) if len(code) > 1 else ""


def _line(weight: float, color, y: float, width: float) -> str:
    return (f"{pdf_number(weight)} w {pdf_rgb(color)} RG 0 {pdf_number(y)} m "
            f"{pdf_number(width)} {pdf_number(y)} l S")


def natural_widths(rows: list[GridRow], look: GridLook) -> list[float]:
    """Column widths from the content (widest line plus padding), for tables whose
    template gives no ``widths``."""
    count = max(len(row.cells) for row in rows)
    widths = [0.0] * count
    for row in rows:
        font = look.bold if row.header or "total" in row.klass else look.regular
        for column, value in enumerate(row.cells):
            for line in value.split("\n"):
                widths[column] = max(widths[column], stringWidth(line, font, look.size))
    return [w + 2 * PAD_X for w in widths]
