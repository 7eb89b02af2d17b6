"""Text that does not fit: breaking it into lines of a width (never cutting it), and the
table flowable's long cells and tall rows."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.platypus import Frame

from arcli.render.grid import PAD_X, Grid, GridLook, GridRow, cell_room, wrap_rows
from arcli.render.textfit import widest_glyph, wrap_text

FONT, SIZE = "Helvetica", 8.5


@given(st.text(st.characters(min_codepoint=32, max_codepoint=0x24F), max_size=80),
       st.floats(min_value=0, max_value=300))
def test_wrap_text_keeps_every_character_in_lines_that_fit(value, room):
    lines = wrap_text(value, FONT, SIZE, room)
    assert "".join(lines).replace(" ", "") == value.replace(" ", "")  # nothing left out
    for line in lines:  # each fits, unless it is one character wider than the room
        assert stringWidth(line, FONT, SIZE) <= room or len(line.strip()) <= 1
    if stringWidth(value, FONT, SIZE) <= room:
        assert lines == [value.strip()] or lines == [value]


def test_widest_glyph_bounds_every_character_of_the_font():
    widest = widest_glyph(FONT)
    assert all(stringWidth(chr(code), FONT, 1) <= widest + 1e-9 for code in range(32, 0x250))
    assert widest == pytest.approx(stringWidth("@", FONT, 1))  # the widest Helvetica glyph


WIDTHS = [60.0, 60.0, 60.0, 60.0]
ALIGNS = ("LEFT", "LEFT", "RIGHT", "RIGHT")


def test_long_text_runs_on_through_empty_cells_and_stops_before_the_next_text():
    # Column 0 grows right: column 1 is empty, column 2's right-aligned figure leaves
    # room on its left.
    figure = "12.00"
    room = cell_room(("a long text", "", figure, ""), 0, WIDTHS, ALIGNS, FONT, SIZE)
    figure_starts = 180 - PAD_X - stringWidth(figure, FONT, SIZE)
    assert room == (figure_starts - 2 * PAD_X) - PAD_X
    # With a left-aligned neighbour, only the own column (padding kept).
    assert cell_room(("long", "x", "", ""), 0, WIDTHS, ALIGNS, FONT, SIZE) == 60 - 2 * PAD_X
    # Right-aligned text grows left through empty cells up to the table's edge.
    assert cell_room(("", "", "", "Balance due"), 3, WIDTHS, ALIGNS, FONT, SIZE) == \
        240 - 2 * PAD_X
    # Centred text keeps to its column.
    assert cell_room(("", "", "", "x"), 1, WIDTHS, ("LEFT", "CENTRE", "LEFT", "LEFT"),
                     FONT, SIZE) == 60 - 2 * PAD_X


def _grid(rows, repeat=1):
    look = GridLook(FONT, "Helvetica-Bold", SIZE, ALIGNS)
    return Grid(rows, WIDTHS, look, repeat=repeat)


def _split_in_frame(grid, height, at_top, room=None):
    """Split as platypus does: the frame is set on the flowable, then ``split`` is
    asked with the room left in it."""
    frame = Frame(0, 0, 300, height, leftPadding=0, rightPadding=0, topPadding=0,
                  bottomPadding=0)
    frame._atTop = at_top
    grid._frame = frame
    return grid.split(240, height if room is None else room)


def test_a_row_taller_than_a_page_is_split_between_its_lines():
    header = GridRow(("Date", "Ref", "Debit", "Balance"), 0, header=True)
    tall = GridRow(("1 Oct", "\n".join(f"ref {n}" for n in range(200)), "5.00", "5.00"), 1)
    after = GridRow(("2 Oct", "x", "1.00", "6.00"), 2)
    grid = _grid([header, tall, after])
    first, rest = _split_in_frame(grid, 400, at_top=True)
    lines_first = first.rows[1].cells[1].split("\n")
    assert first.rows[0] == header and rest.rows[0] == header  # header repeated
    assert lines_first[0] == "ref 0" and first.height <= 400
    continued = rest.rows[1].cells[1].split("\n")
    assert lines_first + continued == [f"ref {n}" for n in range(200)]
    assert rest.rows[1].cells[0] == "" and rest.rows[2] == after
    assert first.last == rest.last == after.index
    # When the tall row is the table's last, only its continuation is ruled off.
    first, rest = _split_in_frame(_grid([header, tall]), 400, at_top=True)
    assert first.last == -1 and rest.last == tall.index


def test_a_row_that_fits_a_page_moves_whole_to_the_next_one_as_before():
    header = GridRow(("Date", "Ref", "Debit", "Balance"), 0, header=True)
    two_lines = GridRow(("1 Oct", "a\nb", "5.00", "5.00"), 1)
    grid = _grid([header, two_lines])
    room = grid.heights[0] + grid.heights[1] - 1  # one point short
    assert _split_in_frame(grid, 700, at_top=False, room=room) == []
    # On a fresh page too short for it, it is split rather than failing the document.
    first, rest = _split_in_frame(grid, room, at_top=True)
    assert first.rows[1].cells[1] == "a" and rest.rows[1].cells[1] == "b"


def _drawn_alone(grid: Grid, pdf: Path) -> str:
    """Draw ``grid`` on a page of its own in ``pdf``; the page's text as pdftotext reads it."""
    import subprocess

    from reportlab.pdfgen.canvas import Canvas

    canvas = Canvas(str(pdf))
    grid.wrapOn(canvas, sum(grid.widths), 100)
    grid.drawOn(canvas, 100, 700)
    canvas.save()
    return subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                          text=True, check=True).stdout


def test_a_figure_too_wide_for_its_cell_is_shrunk_whole_and_free_text_is_wrapped(tmp_path):
    """Cutting an amount would print another figure: figures are set smaller instead. A
    text was cut with an ellipsis; it is now broken into lines, the row grows taller."""
    figure, reference = "123,456,789,012.34 CNY", "A reference far too long for its cell"
    look = GridLook(FONT, "Helvetica-Bold", SIZE, ("LEFT", "RIGHT"))
    rows = wrap_rows([GridRow((reference, figure), 1)], [60.0, 60.0], look)
    grid = Grid(rows, [60.0, 60.0], look)
    assert grid.heights[0] > Grid([GridRow(("x", figure), 1)], [60.0, 60.0], look).heights[0]
    pdf = tmp_path / "grid.pdf"
    text = _drawn_alone(grid, pdf)
    assert figure in text and "…" not in text
    assert " ".join(text.replace(figure, "").split()) == reference
    from pypdf import PdfReader

    stream = PdfReader(str(pdf)).pages[0].get_contents().get_data().decode("latin-1")
    sizes = [float(size) for size in re.findall(r"/F\S+ ([\d.]+) Tf", stream)]
    assert SIZE in sizes and min(sizes) < SIZE  # the figure alone set smaller


@given(st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40))
def test_ascii_text_is_escaped_as_translate_escapes_it(value):
    """The quick escape (look for the three characters first) equals the full one."""
    from arcli.render.textblock import _ASCII_ESCAPES, _ascii_escaped

    assert _ascii_escaped(value) == value.translate(_ASCII_ESCAPES)


def test_parentheses_and_backslashes_in_cells_print_as_written(tmp_path):
    """A reference with ``( ) \\`` reads back from the PDF exactly (unescaped, they would
    end the string early or swallow the next character)."""
    reference, number = r"PO (2026) \ batch 7)", "INV-1"
    look = GridLook(FONT, "Helvetica-Bold", SIZE, ("LEFT", "LEFT"))
    grid = Grid([GridRow((reference, number), 1)], [200.0, 80.0], look)
    text = _drawn_alone(grid, tmp_path / "grid.pdf")
    assert reference in text and number in text
