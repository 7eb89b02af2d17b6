"""Turning a template's XML story into reportlab flowables.

Templates (Jinja2, autoescaped) produce a small XML vocabulary, so wording, labels, order
and which tables appear are all editable without Python:

``<h1> <h2> <p align= size= color= indent=ems>`` paragraphs (inner ``<b> <i> <br/>
<font>`` allowed),
``<spacer h=mm>``, ``<hr>``, ``<cut>`` (dashed "cut here" line), ``<pagebreak>``,
``<keep>`` (keep children on one page), ``<table widths="30,20,*" align="l,l,r"
header="1">`` with ``<tr class="total|disputed|muted">`` and ``<th>/<td>`` cells,
``<bars>`` with ``<bar label= value= text= tone=>`` (a small horizontal bar chart),
``<boxes>`` with ``<box w=mm h=mm>caption</box>`` (signature and seal boxes for the
customer), ``<columns widths=…>`` with ``<column>`` parts side by side, and
``<signature h=mm>`` (our signature block; its position becomes the
cryptographic signature field).

Table cells are plain strings drawn verbatim (fast, and no second escaping); paragraphs
keep the template's markup, while customer data inside them was escaped by Jinja2.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER, TA_LEFT, TA_RIGHT
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    HRFlowable,
    KeepTogether,
    PageBreak,
    Spacer,
)

from arcli.render.grid import Grid, GridLook, GridRow, natural_widths, wrap_rows
from arcli.render.palette import ACCENT, CREDIT, DUE_SOON, INK, MUTED, OVERDUE, RULE
from arcli.render.paragraphs import ReusedParagraph
from arcli.render.templating import TemplateError
from arcli.render.textblock import TextBlock
from arcli.render.textfit import fit_lines, keep_units_whole

_ALIGN = {"l": "LEFT", "r": "RIGHT", "c": "CENTER"}
_PARA_ALIGN = {"left": TA_LEFT, "right": TA_RIGHT, "center": TA_CENTER}


@dataclass(frozen=True)
class Fonts:
    regular: str
    bold: str


class Styles:
    """Paragraph styles for one font pair, built once per process (:meth:`for_fonts`):
    paragraphs share parsing and line breaking by style (see :mod:`.paragraphs`)."""

    @classmethod
    @lru_cache(maxsize=8)
    def for_fonts(cls, fonts: Fonts) -> Styles:
        return cls(fonts)

    def __init__(self, fonts: Fonts):
        self.fonts = fonts
        self._variants: dict[tuple, ParagraphStyle] = {}
        base = ParagraphStyle("body", fontName=fonts.regular, fontSize=9.5, leading=13,
                              textColor=INK)
        self.body = base
        self.h1 = ParagraphStyle("h1", parent=base, fontName=fonts.bold, fontSize=16,
                                 leading=20, textColor=ACCENT, spaceAfter=2)
        self.h2 = ParagraphStyle("h2", parent=base, fontName=fonts.bold, fontSize=11.5,
                                 leading=15, textColor=ACCENT, spaceBefore=6, spaceAfter=3)
        self.small = ParagraphStyle("small", parent=base, fontSize=8, leading=10.5,
                                    textColor=MUTED)

    def paragraph_style(self, el: ET.Element, default: ParagraphStyle) -> ParagraphStyle:
        align = el.get("align")
        size = el.get("size")
        color = el.get("color")
        indent = el.get("indent")
        if not (align or size or color or indent):
            return default
        key = (default.name, align, size, color, indent)
        if key not in self._variants:
            self._variants[key] = self._variant(default, align, size, color, indent)
        return self._variants[key]

    @staticmethod
    def _variant(default: ParagraphStyle, align: str | None, size: str | None,
                 color: str | None, indent: str | None = None) -> ParagraphStyle:
        extra = {}
        if indent:  # first line indented by this many characters (ems), as 此致 is
            extra["firstLineIndent"] = float(indent) * float(size or default.fontSize)
        if align:
            extra["alignment"] = _PARA_ALIGN.get(align, TA_LEFT)
        if size:
            extra["fontSize"] = float(size)
            extra["leading"] = float(size) * 1.35
        if color:
            extra["textColor"] = MUTED if color == "muted" else colors.HexColor(color)
        return ParagraphStyle(f"{default.name}-x", parent=default, **extra)


class SignatureBlock(Flowable):
    """Our signature block: optional signature and seal images, a line, the signatory
    (on a signed document: "Digitally signed by …"), the caption and the date.

    Records where it was drawn so the PAdES signature field can be placed over it: the
    block is what a reader sees of the signature, drawn here with the document's fonts
    (pyHanko's own stamp cannot show Chinese).
    """

    def __init__(self, height: float, fonts: Fonts, text: tuple[str, str, str],
                 images: tuple[Path, ...], sink: list):
        super().__init__()
        self.height, self.width = height, 90 * mm
        self.fonts, self.images, self.sink = fonts, images, sink
        self.signer, self.caption, self.date_text = text

    def wrap(self, avail_width, avail_height):
        return self.width, self.height

    def draw(self):
        c = self.canv
        # Signature and seal images at the block's right, the full height of it, over
        # the line as a stamp is; the text keeps to their left. All inside the block.
        size = self.height
        for index, image in enumerate(self.images):
            c.drawImage(str(image), self.width - size * (1 + 0.8 * index), 0, width=size,
                        height=size, mask="auto", preserveAspectRatio=True)
        room = self.width - (size * (0.2 + 0.8 * len(self.images)) if self.images else 0)
        c.setStrokeColor(RULE)
        c.line(0, 20, self.width, 20)
        block = TextBlock(c)
        self._lines(block, self.signer, self.fonts.bold, 8.5, INK, 11, room)
        caption = " · ".join(x for x in (self.caption, self.date_text) if x)
        self._lines(block, caption, self.fonts.regular, 7, MUTED, 2, room)
        block.draw()
        x1, y1 = c.absolutePosition(0, 0)
        x2, y2 = c.absolutePosition(self.width, self.height)
        self.sink.append((c.getPageNumber() - 1, x1, y1, x2, y2))

    @staticmethod
    def _lines(block: TextBlock, text: str, font: str, size: float, color, y: float,
               room: float) -> None:
        """``text`` from ``y`` down, smaller or on two lines when long (never cut)."""
        size, lines = fit_lines(text, font, size, room, 6)
        block.style(font, size, color)
        for line in lines:
            block.text(0, y, line)
            y -= size * 1.15


class Bars(Flowable):
    """A small horizontal bar chart (aging buckets) drawn with the document's fonts."""

    def __init__(self, bars: list[tuple[str, Decimal, str, str | None]], fonts: Fonts,
                 width: float):
        super().__init__()
        self.bars, self.fonts, self.width = bars, fonts, width
        self.row = 11
        self.height = self.row * len(bars) + 2

    def wrap(self, avail_width, avail_height):
        return self.width, self.height

    def draw(self):
        c = self.canv
        top = max((abs(b[1]) for b in self.bars), default=Decimal(0)) or Decimal(1)
        label_w, text_w = 22 * mm, 30 * mm
        span = self.width - label_w - text_w
        labels = TextBlock(c)
        for index, (label, value, text, tone) in enumerate(self.bars):
            y = self.height - (index + 1) * self.row
            labels.style(self.fonts.regular, 7.5, MUTED).text(0, y + 2, label)
            labels.style(self.fonts.regular, 7.5, INK).text(self.width, y + 2, text, "RIGHT")
            length = float(abs(value) / top) * span
            c.setFillColor(self._colour(index, value, tone))
            if length:
                c.rect(label_w, y + 1, max(length, 0.8), self.row - 3, stroke=0, fill=1)
        labels.draw()


    def _colour(self, index: int, value: Decimal, tone: str | None):
        """The bar's colour: the template's ``tone`` (current, due, overdue, credit);
        without one, by position (first current, last overdue). A credit -- a negative
        amount -- is never drawn in the overdue red: nothing is owed there."""
        if value < 0 or tone == "credit":
            return CREDIT
        if tone in _TONES:
            return _TONES[tone]
        return ACCENT if index == 0 else OVERDUE if index >= len(self.bars) - 1 else DUE_SOON


_TONES = {"current": ACCENT, "due": DUE_SOON, "overdue": OVERDUE}


class Boxes(Flowable):
    """Side-by-side bordered boxes with captions (customer signature, company seal)."""

    def __init__(self, boxes: list[tuple[float, float, str]], fonts: Fonts):
        super().__init__()
        self.boxes, self.fonts = boxes, fonts
        self.width = sum(w for w, _, _ in boxes) + 6 * mm * (len(boxes) - 1)
        self.height = max((h for _, h, _ in boxes), default=0) + 5 * mm

    def wrap(self, avail_width, avail_height):
        return self.width, self.height

    def draw(self):
        c = self.canv
        x = 0
        for w, h, caption in self.boxes:
            c.setStrokeColor(RULE)
            c.setDash(2, 2)
            c.rect(x, 5 * mm, w, h)
            c.setDash()
            c.setFont(self.fonts.regular, 7.5)
            c.setFillColor(MUTED)
            c.drawString(x, 1.5 * mm, caption)
            x += w + 6 * mm


class Columns(Flowable):
    """Story parts side by side, each laid out at its own width and drawn top-aligned (the
    statement's remittance slip beside its reply slip). Kept whole: it moves to the next
    page rather than split. Lighter than a reportlab ``Table`` of flowables, which is what
    the Grid replaced for speed (see :mod:`.grid`)."""

    def __init__(self, columns: list[list[Flowable]], widths: list[float], gap: float):
        super().__init__()
        self.columns, self.widths, self.gap = columns, widths, gap
        self.placed: list[list[tuple[Flowable, float]]] = []
        # A column may end on a table's bottom rule, and the next line's glyphs reach up
        # to the top of its em box (CJK faces fill it): without a gap they touch the rule.
        self.spaceAfter = 2 * mm

    def wrap(self, avail_width, avail_height):
        self.placed, tallest = [], 0.0
        for flowables, width in zip(self.columns, self.widths, strict=True):
            placed, y = [], 0.0
            for index, flowable in enumerate(flowables):
                if index:
                    y += flowable.getSpaceBefore()
                _w, h = flowable.wrap(width - self.gap, avail_height)
                placed.append((flowable, y + h))
                y += h + flowable.getSpaceAfter()
            self.placed.append(placed)
            tallest = max(tallest, y)
        self.width, self.height = sum(self.widths), tallest
        return self.width, self.height

    def draw(self):
        x = 0.0
        for placed, width in zip(self.placed, self.widths, strict=True):
            for flowable, bottom in placed:
                flowable.drawOn(self.canv, x, self.height - bottom)
            x += width


class CutLine(Flowable):
    def __init__(self, label: str, fonts: Fonts):
        super().__init__()
        self.label, self.fonts = label, fonts

    def wrap(self, avail_width, avail_height):
        self.width = avail_width
        return avail_width, 5 * mm

    def draw(self):
        c = self.canv
        c.setStrokeColor(MUTED)
        c.setDash(3, 3)
        c.line(0, 2 * mm, self.width, 2 * mm)
        c.setDash()
        if self.label:
            c.setFont(self.fonts.regular, 7)
            c.setFillColor(MUTED)
            text_w = c.stringWidth(self.label, self.fonts.regular, 7) + 4
            c.setFillColor(colors.white)
            c.rect(self.width / 2 - text_w / 2, 0.5 * mm, text_w, 3 * mm, stroke=0, fill=1)
            c.setFillColor(MUTED)
            c.drawCentredString(self.width / 2, 1.3 * mm, self.label)


class Keep(KeepTogether):
    """``KeepTogether`` that measures its content without copying the frame.

    reportlab deep-copies the current frame for every measurement, so that content which
    adds frame actions (``<needspace>``) can act on the copy; the copies were ~2% of a
    three-page statement's rendering time (profiled). Content that cannot add frame
    actions is measured without it, which is the same measurement.
    """

    def wrap(self, aW, aH):
        doc = getattr(self.canv, "_doctemplate", None)
        frame = getattr(doc, "frame", None)
        if frame is None or any(isinstance(f, CondPageBreak) or hasattr(f, "frameAction")
                                for f in self._content):
            return super().wrap(aW, aH)
        doc.frame = None
        try:
            return super().wrap(aW, aH)
        finally:
            doc.frame = frame


@dataclass
class StoryContext:
    """What element builders need besides the XML: fonts, frame width, signature info."""

    styles: Styles
    frame_width: float
    signatory: str = ""
    signature_images: tuple[Path, ...] = ()
    signature_sink: list | None = None
    date_text: str = ""  # the document's date, printed in the signature block
    signed: bool = False  # the document will carry a digital signature


def _inner_markup(el: ET.Element) -> str:
    """The element's content as reportlab paragraph markup (text re-escaped)."""
    from xml.sax.saxutils import escape

    parts = [escape(el.text or "")]
    for child in el:
        parts.append(ET.tostring(child, encoding="unicode", short_empty_elements=True))
    return "".join(parts).strip()


def _widths(spec: str | None, count: int, total: float) -> list[float] | None:
    if not spec:
        return None
    parts = [p.strip() for p in spec.split(",")]
    if len(parts) != count:
        return None
    fixed = sum(float(p) * mm for p in parts if p != "*")
    stars = parts.count("*") or 1
    return [(total - fixed) / stars if p == "*" else float(p) * mm for p in parts]


def _table(el: ET.Element, ctx: StoryContext) -> Flowable:
    rows = [r for r in el if r.tag == "tr"]
    data = [[(c.text or "").strip() for c in r if c.tag in ("td", "th")] for r in rows]
    if not any(data):
        return Spacer(0, 0)
    cols = max(len(r) for r in data)
    header = el.get("header", "1") == "1"
    grid_rows = [GridRow(tuple(cells + [""] * (cols - len(cells))), index,
                         row.get("class", ""), header and index == 0)
                 for index, (row, cells) in enumerate(zip(rows, data, strict=True))]
    aligns = [_ALIGN.get(a.strip(), "LEFT") for a in (el.get("align") or "").split(",")]
    fonts = ctx.styles.fonts
    look = GridLook(fonts.regular, fonts.bold, float(el.get("size", "8.5")),
                    tuple((aligns + ["LEFT"] * cols)[:cols]), el.get("zebra", "1") == "1")
    widths = _widths(el.get("widths"), cols, ctx.frame_width) or natural_widths(grid_rows,
                                                                               look)
    return Grid(wrap_rows(grid_rows, widths, look), widths, look, repeat=1 if header else 0)


def _bars(el: ET.Element, ctx: StoryContext) -> Flowable:
    bars = [(b.get("label", ""), Decimal(b.get("value", "0")), b.get("text", ""),
             b.get("tone")) for b in el if b.tag == "bar"]
    width = float(el.get("w", "110")) * mm
    return Bars(bars, ctx.styles.fonts, min(width, ctx.frame_width))


def _boxes(el: ET.Element, ctx: StoryContext) -> Flowable:
    boxes = [(float(b.get("w", "60")) * mm, float(b.get("h", "25")) * mm,
              (b.text or "").strip()) for b in el if b.tag == "box"]
    return Boxes(boxes, ctx.styles.fonts)


def _columns(el: ET.Element, ctx: StoryContext) -> Flowable:
    """``<columns widths="90,*"><column>…</column>…</columns>``: story parts side by side
    (the statement's remittance slip beside its reply slip, so both fit under a short
    statement on its first page). Each column is laid out at its own width."""
    from dataclasses import replace

    parts = [c for c in el if c.tag == "column"]
    widths = _widths(el.get("widths"), len(parts), ctx.frame_width) or \
        [ctx.frame_width / max(len(parts), 1)] * len(parts)
    gap = 4 * mm
    cells = [build_flowables(list(part), replace(ctx, frame_width=width - gap))
             for part, width in zip(parts, widths, strict=True)]
    return Columns(cells, widths, gap)


def build_flowables(elements, ctx: StoryContext) -> list[Flowable]:
    """Flowables for a sequence of story elements."""
    s = ctx.styles
    out: list[Flowable] = []
    for el in elements:
        tag = el.tag
        if tag in ("p", "h1", "h2"):
            default = {"p": s.body, "h1": s.h1, "h2": s.h2}[tag]
            if el.get("style") == "small":
                default = s.small
            out.append(ReusedParagraph(keep_units_whole(_inner_markup(el)),
                                       s.paragraph_style(el, default)))
        elif tag == "spacer":
            out.append(Spacer(0, float(el.get("h", "4")) * mm))
        elif tag == "hr":
            out.append(HRFlowable(width="100%", thickness=0.5, color=RULE, spaceBefore=2,
                                  spaceAfter=2))
        elif tag == "cut":
            out.append(CutLine((el.text or "").strip(), s.fonts))
        elif tag == "pagebreak":
            out.append(PageBreak())
        elif tag == "needspace":
            out.append(CondPageBreak(float(el.get("h", "40")) * mm))
        elif tag == "keep":
            out.append(Keep(build_flowables(list(el), ctx)))
        elif tag == "table":
            out.append(_table(el, ctx))
        elif tag == "bars":
            out.append(_bars(el, ctx))
        elif tag == "boxes":
            out.append(_boxes(el, ctx))
        elif tag == "columns":
            out.append(_columns(el, ctx))
        elif tag == "signature":
            sink = ctx.signature_sink if ctx.signature_sink is not None else []
            signer = ctx.signatory
            if ctx.signed:
                signer = el.get("signed", "Digitally signed by {signer}").replace(
                    "{signer}", ctx.signatory)
            block = SignatureBlock(float(el.get("h", "24")) * mm, s.fonts,
                                   (signer, (el.text or "").strip(), ctx.date_text),
                                   ctx.signature_images, sink)
            block.hAlign = {"right": "RIGHT", "center": "CENTER"}.get(el.get("align", ""),
                                                                     "LEFT")
            out.append(block)
        else:
            raise TemplateError(f"unknown story element <{tag}>")
    return out


def parse_story(xml_text: str, template_name: str) -> ET.Element:
    """Parse the rendered template; a malformed story names the template and line."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        line = exc.position[0] if hasattr(exc, "position") else "?"
        raise TemplateError(f"{template_name}: rendered XML is malformed at line {line}: "
                            f"{exc}") from None
    if root.tag != "story":
        raise TemplateError(f"{template_name}: the root element must be <story>")
    return root
