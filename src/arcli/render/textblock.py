"""Many short strings written as one PDF text block.

reportlab's ``drawString`` builds a text object per string: ``BT``, font selection, a text
matrix, the string, ``ET``, each number formatted by reportlab's pure-Python ``fp_str``.
Statements draw a few hundred short strings (table cells, letterhead, address, title
block), and that per-string overhead was the largest single cost of rendering one.
:class:`TextBlock` collects strings with their font, colour and position and writes them
as one ``q BT … ET Q`` block, selecting font and colour only when they change. It encodes
text exactly as reportlab's text objects do (TrueType subsets, standard-font encodings)
and formats numbers with ``fp_str``'s precision, so the page looks the same; ``q``/``Q``
keeps the colour and font it leaves behind from leaking into later drawing.
"""

from __future__ import annotations

from functools import lru_cache
from math import log10

from reportlab.lib.colors import CMYKColor, Color
from reportlab.lib.rl_accel import escapePDF
from reportlab.pdfbase import pdfmetrics

_NUMBERS: dict[float, str] = {}
_ASCII_ESCAPES = str.maketrans({"\\": "\\\\", "(": "\\(", ")": "\\)"})


def plain_color(color) -> bool:
    """True for the opaque RGB colours a text block can set with ``rg``."""
    return type(color) is Color and color.alpha == 1 and not isinstance(color, CMYKColor)


class TextBlock:
    """Strings to draw on one canvas page, written out by :meth:`draw`."""

    def __init__(self, canv):
        self.canv, self.doc = canv, canv._doc
        self.code: list[str] = ["q BT"]
        self._font: tuple[str, float, float] | None = None
        self._face = None  # the reportlab font object of ``_font``
        self._ascii = False  # whether printable ASCII is at its own codes in subset 0
        self._ascii_resource: str | None = None  # that subset's resource, once used
        self._selected: str | None = None  # PDF font resource currently selected
        self._color: Color | None = None

    def style(self, font: str, size: float, color: Color, leading: float | None = None):
        """Font and colour for the following strings (emitted only when they change)."""
        key = (font, size, size * 1.2 if leading is None else leading)
        if key != self._font:
            self._font, self._selected = key, None
            if self._face is None or self._face.fontName != font:
                self._face = pdfmetrics.getFont(font)
                self._ascii = self._face._dynamicFont and _ascii_is_subset_zero(self._face)
                self._ascii_resource = None
        if color is not self._color and color != self._color:
            self._color = color
            self.code.append(f"{pdf_rgb(color)} rg")
        return self

    def text(self, x: float, y: float, value: str, align: str = "LEFT",
             width: float | None = None) -> None:
        """``value`` at baseline ``y``, starting (LEFT), ending (RIGHT) or centred at x;
        ``width`` is its width if the caller has measured it already."""
        if not value:
            return
        if align != "LEFT":
            if width is None:
                width = self._face.stringWidth(value, self._font[1])
            x -= width if align == "RIGHT" else width * 0.5
        code = self.code
        place = f"1 0 0 1 {pdf_number(x)} {pdf_number(y)} Tm"
        if self._ascii and value.isascii() and value.isprintable():
            if self._ascii_resource is None:
                self._ascii_resource = self._face.getSubsetInternalName(0, self.doc)
            if self._ascii_resource != self._selected:
                self._select(self._ascii_resource)
            code.append(f"{place} ({_ascii_escaped(value)}) Tj")
            return
        code.append(place)
        for resource, escaped in self._encoded(value):
            self._select(resource)
            code.append(f"({escaped}) Tj")

    def draw(self) -> None:
        if len(self.code) > 1:
            self.canv.addLiteral(" ".join([*self.code, "ET Q"]))
        self.code = ["q BT"]
        self._font = self._selected = self._color = None

    def _select(self, resource: str) -> None:
        if resource != self._selected:
            _, size, leading = self._font
            self.code.append(f"{resource} {pdf_number(size)} Tf {pdf_number(leading)} TL")
            self._selected = resource

    def _encoded(self, value: str) -> list[tuple[str, str]]:
        """(font resource, escaped PDF string) pieces of ``value`` in the current font.

        Remembered per document: CJK dates and type names recur on every line of a
        statement, and reportlab assigns subset codes character by character in Python.
        A character keeps its code for the rest of the document, so the pieces stay valid.
        """
        cache = self.doc.__dict__.setdefault("_arcli_encoded", {})
        key = (self._face.fontName, value)
        pieces = cache.get(key)
        if pieces is None:
            pieces = cache[key] = [(resource, _escape(data))
                                   for resource, data in self._chunks(value)]
        return pieces

    def _chunks(self, value: str) -> list[tuple[str, bytes]]:
        """(font resource, encoded text) pieces, as reportlab's text objects make them."""
        font = self._face
        if font._dynamicFont:
            return [(font.getSubsetInternalName(subset, self.doc), data)
                    for subset, data in font.splitString(value, self.doc)]
        return [(self.doc.getInternalFontName(f.fontName), data) for f, data
                in pdfmetrics.unicode2T1(value, [font, *font.substitutionFonts])]


def pdf_number(value: float) -> str:
    """A PDF number with reportlab's ``fp_str`` precision (six significant digits, at
    most six decimals), so strings land on exactly the same coordinates as before.

    Remembered: every document of a batch uses the same few hundred coordinates."""
    text = _NUMBERS.get(value)
    if text is None:
        if len(_NUMBERS) > 20_000:
            _NUMBERS.clear()
        text = _NUMBERS[value] = _format_number(value)
    return text


def pdf_rgb(color: Color) -> str:
    """The colour's three components as PDF numbers (for ``rg`` and ``RG``)."""
    return f"{pdf_number(color.red)} {pdf_number(color.green)} {pdf_number(color.blue)}"


def _format_number(value: float) -> str:
    size = abs(value)
    if size <= 1e-7:
        return "0"
    places = 6 if size <= 1 else min(max(0, 6 - int(log10(size))), 6)
    text = f"{value:.{places}f}"
    return text.rstrip("0").rstrip(".") if places else text


def _escape(data: bytes) -> str:
    """``escapePDF``, short-cut for printable ASCII (only ``\\ ( )`` need escaping)."""
    if data.isascii():
        text = data.decode("ascii")
        if text.isprintable():
            return _ascii_escaped(text)
    return escapePDF(data)


def _ascii_escaped(text: str) -> str:
    """Printable ASCII ``text`` as a PDF string's content: ``\\ ( )`` escaped. Most
    strings have none of them, and looking for them takes a tenth of ``translate``
    (46 against 505 ns for a 16-character document number); a statement draws ~400."""
    if "(" in text or ")" in text or "\\" in text:
        return text.translate(_ASCII_ESCAPES)
    return text


@lru_cache(maxsize=16)
def _ascii_is_subset_zero(font) -> bool:
    """True when the TrueType font puts printable ASCII at its own codes in subset 0.

    reportlab reserves codes 32-126 of the first subset for ASCII ("ascii readable"
    subsets, the default) when the face has those glyphs, so such text needs no
    per-character subset assignment.
    """
    face = font.face
    return bool(font._asciiReadable) and not getattr(face, "_full_font", None) \
        and all(code in face.charToGlyph for code in range(32, 127))
