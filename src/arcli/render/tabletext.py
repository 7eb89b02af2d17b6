"""Tables whose plain text cells are written as one PDF text block.

reportlab's ``Table`` draws every cell with its own ``drawString``; a statement has ~200
cells, and that was the largest single cost of rendering one. :class:`PlainTable` keeps
reportlab's layout, splitting, backgrounds and rules, but queues the one-line string cells
while the table draws and writes them as one :class:`~.textblock.TextBlock` just before
the rules (the same z-order). Cells are placed exactly where ``Table._drawCell`` would put
them (top-aligned; left, right or centred).
"""

from __future__ import annotations

from reportlab.platypus import Table

from arcli.render.textblock import TextBlock, plain_color

_ALIGNMENTS = ("LEFT", "RIGHT", "CENTRE", "CENTER")


class PlainTable(Table):
    """A reportlab Table with its plain one-line string cells drawn in one text block."""

    def draw(self):
        self._queued: list[tuple] = []
        super().draw()

    def _drawCell(self, cellval, cellstyle, pos, size):
        if not _plain_cell(cellval, cellstyle):
            return super()._drawCell(cellval, cellstyle, pos, size)
        if cellval:
            self._queued.append((cellval, cellstyle, pos, size))
        return None

    def _drawLines(self):
        if self._queued:
            _cells_block(self.canv, self._queued).draw()
            self._queued = []
        super()._drawLines()


def _plain_cell(value, style) -> bool:
    """True for cells reportlab would draw as one top-aligned string and nothing else."""
    return (isinstance(value, str) and "\n" not in value and style.valign == "TOP"
            and style.alignment in _ALIGNMENTS and plain_color(style.color)
            and not style.href and not style.destination and not style.direction
            and not style.shaping)


def _cells_block(canv, queued: list[tuple]) -> TextBlock:
    """The text block placing every queued cell."""
    block = TextBlock(canv)
    for value, style, (colpos, rowpos), (colwidth, rowheight) in queued:
        block.style(style.fontname, style.fontsize, style.color, style.leading)
        y = rowpos + rowheight - style.topPadding - style.fontsize
        if style.alignment == "LEFT":
            block.text(colpos + style.leftPadding, y, value)
        elif style.alignment == "RIGHT":
            block.text(colpos + colwidth - style.rightPadding, y, value, "RIGHT")
        else:
            block.text(colpos + (colwidth + style.leftPadding - style.rightPadding) * 0.5, y,
                       value, "CENTRE")
    return block
