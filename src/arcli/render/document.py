"""The page around a story: letterhead, window-envelope address, page x of y, determinism.

Statements and dunning letters share this one module: a document is a title block plus a
story from a template, printed on company letterhead with the recipient's address in the
window position of a DIN 5008 (form B) / DL window envelope, page numbers "x of y", and a
footer with registration and bank details. Output is deterministic: reportlab's invariant
mode, a creation date taken from the document's own date, and an id derived from content.
"""

from __future__ import annotations

import calendar
import datetime as dt
import io
from dataclasses import dataclass, field

from reportlab import rl_config
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import TimeStamp
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate

from arcli.render import pdf_encoding
from arcli.render.embedding import embed_attachment
from arcli.render.flate import compress_pages_quickly
from arcli.render.model import Attachment, Company, Recipient, RenderedPdf, SignatureBox
from arcli.render.palette import ACCENT, INK, MUTED, RULE
from arcli.render.story import Fonts, StoryContext, Styles
from arcli.render.story import build_flowables as story_flowables
from arcli.render.textblock import TextBlock
from arcli.render.textfit import TextDoesNotFit, fit_lines, fitting_size, wrap_text

rl_config.invariant = 1
pdf_encoding.install()
# Streams are Flate-compressed; ASCII85 on top only makes them 25% bigger and costs ~1 ms
# per document in reportlab's pure-Python encoder.
rl_config.useA85 = 0

PAGE_W, PAGE_H = A4
MARGIN_X = 20 * mm
CONTENT_W = PAGE_W - 2 * MARGIN_X
WINDOW_W = 85 * mm  # the address window of a DL/C5 envelope (DIN 5008 form B)
PAGE_NUMBER_W = 30 * mm  # kept free for "Page x of y" at the footer's right
ADDRESS_TOP = 45 * mm  # DIN 5008 form B address field: 45 mm from the top edge
ADDRESS_HEIGHT = 45 * mm
FIRST_TOP = ADDRESS_TOP + ADDRESS_HEIGHT + 5 * mm
LATER_TOP = 32 * mm
BOTTOM = 24 * mm


@dataclass
class PageLabels:
    """Words printed on every page, in the document's language."""

    page_of: str = "Page {page} of {pages}"
    date: str = "Date"
    number: str = "No."
    customer: str = "Customer"
    tel: str = "Tel."
    reg: str = "Reg. No."
    tax: str = "Tax ID"


@dataclass
class DocumentSpec:
    """Everything the page furniture needs, besides the story."""

    title: str
    number: str
    date_text: str
    doc_date: dt.date
    company: Company
    recipient: Recipient
    fonts: Fonts
    labels: PageLabels = field(default_factory=PageLabels)
    watermark: str = ""  # across every page (a preview's DRAFT), or nothing


def _fixed_timestamp(day: dt.date) -> TimeStamp:
    """A reportlab TimeStamp at midnight UTC of ``day`` (creation date = document date)."""
    stamp = TimeStamp(invariant=1)
    seconds = calendar.timegm(day.timetuple())
    import time

    stamp.t = seconds
    stamp.lt = time.gmtime(seconds)
    stamp.YMDhms = tuple(stamp.lt)[:6]
    return stamp


class _NumberedCanvas(Canvas):
    """Defers page output so every page can say "Page x of y"."""

    def __init__(self, *args, spec: DocumentSpec, attachment: Attachment | None = None,
                 **kwargs):
        super().__init__(*args, **kwargs)
        self._spec = spec
        self._attachment = attachment
        self._saved: list[dict] = []
        self._doc._timeStamp = _fixed_timestamp(spec.doc_date)

    def showPage(self):
        self._saved.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._saved)
        for state in self._saved:
            self.__dict__.update(state)
            if self._spec.watermark:
                _draw_watermark(self, self._spec)
            _draw_page_number(self, self._spec, total)
            super().showPage()
        if self._attachment is not None:
            embed_attachment(self, self._attachment)
        compress_pages_quickly(self._doc)
        super().save()


def _draw_watermark(c: Canvas, spec: DocumentSpec) -> None:
    """Large, light, diagonal text over the page: nobody takes a preview for a letter."""
    c.saveState()
    c.setFillColor(MUTED)
    c.setFillAlpha(0.18)
    c.translate(PAGE_W / 2, PAGE_H / 2)
    c.rotate(45)
    size = min(110.0, 0.9 * PAGE_H / max(c.stringWidth(spec.watermark, spec.fonts.bold, 1), 1))
    c.setFont(spec.fonts.bold, size)
    c.drawCentredString(0, -size / 3, spec.watermark)
    c.restoreState()


def _draw_page_number(c: Canvas, spec: DocumentSpec, total: int) -> None:
    text = spec.labels.page_of.format(page=c.getPageNumber(), pages=total)
    block = TextBlock(c).style(spec.fonts.regular, 7.5, MUTED)
    block.text(PAGE_W - MARGIN_X, 12 * mm, text, "RIGHT")
    block.draw()


def _one_line(value: str, font: str, size: float, room: float, smallest: float,
              what: str) -> float:
    """The size at which ``value`` fits its one line of ``room``: ``size`` or a little
    smaller; a text that needs more is a config or data error, named by ``what``."""
    fitted, lines = fit_lines(value, font, size, room, smallest)
    if len(lines) > 1:
        raise TextDoesNotFit(f"{what} is too long for its line on the page "
                             f"({value[:80]!r}): shorten it in the config or the data")
    return fitted


def _letterhead(c: Canvas, spec: DocumentSpec, block: TextBlock) -> None:
    co, f = spec.company, spec.fonts
    top = PAGE_H - 14 * mm
    x_text = MARGIN_X
    if co.logo and co.logo.is_file():
        c.drawImage(str(co.logo), MARGIN_X, top - 12 * mm, width=24 * mm, height=14 * mm,
                    preserveAspectRatio=True, mask="auto", anchor="sw")
        x_text = MARGIN_X + 28 * mm
    room = PAGE_W - MARGIN_X - x_text
    size = _one_line(co.name, f.bold, 14, room, 9, "company.name")
    block.style(f.bold, size, ACCENT).text(x_text, top - 5 * mm, co.name)
    contact = " · ".join(x for x in (", ".join(co.address), co.phone and
                                     f"{spec.labels.tel} {co.phone}", co.email, co.website)
                         if x)
    size = _one_line(contact, f.regular, 7.5, room, 5.5, "company address and contact")
    block.style(f.regular, size, MUTED).text(x_text, top - 10 * mm, contact)
    c.setStrokeColor(ACCENT)
    c.setLineWidth(1.2)
    c.line(MARGIN_X, top - 13 * mm, PAGE_W - MARGIN_X, top - 13 * mm)
    c.setLineWidth(1)


def _footer(c: Canvas, spec: DocumentSpec, block: TextBlock) -> None:
    co, f = spec.company, spec.fonts
    c.setStrokeColor(RULE)
    c.line(MARGIN_X, 17 * mm, PAGE_W - MARGIN_X, 17 * mm)
    ids = " · ".join(x for x in (co.registration_no and f"{spec.labels.reg} {co.registration_no}",
                                 co.tax_id and f"{spec.labels.tax} {co.tax_id}") if x)
    line = f"{co.name}{' · ' + ids if ids else ''}"
    size = _one_line(line, f.regular, 7, CONTENT_W - PAGE_NUMBER_W, 5, "company name and ids")
    block.style(f.regular, size, MUTED).text(MARGIN_X, 12 * mm, line)
    bank = " · ".join(co.bank_details)
    if bank:
        size = _one_line(bank, f.regular, 7, CONTENT_W, 5, "company.bank_details")
        block.style(f.regular, size, MUTED).text(MARGIN_X, 8.5 * mm, bank)


#: The address lines' size and spacing: as printed when they fit, and the smallest the
#: window may use for a long address before the document fails (DIN 5008 asks for 8 pt
#: and more; 7.5 pt still reads and scans).
_ADDRESS_LOOK = ((10, 9.5, 4.6 * mm), (9, 8.5, 4.0 * mm), (8, 7.5, 3.5 * mm))
#: From the first address line's baseline to the lowest baseline the window shows.
_ADDRESS_SPAN = ADDRESS_HEIGHT - 12 * mm


def _address_window(c: Canvas, spec: DocumentSpec, block: TextBlock) -> None:
    """Return line and recipient in the envelope window; title block on the right.

    Every line of the address is printed: long lines are broken at the window's width,
    and an address with many lines is set smaller; one that does not fit the window even
    then fails the document (a letter must not leave the post office's line out)."""
    f, r = spec.fonts, spec.recipient
    top = PAGE_H - ADDRESS_TOP
    size, sender = _return_address(spec.company, f.regular)
    block.style(f.regular, size, MUTED).text(MARGIN_X, top - 4 * mm, sender)
    c.setStrokeColor(RULE)
    c.line(MARGIN_X, top - 5 * mm, MARGIN_X + WINDOW_W, top - 5 * mm)
    y = top - 11 * mm
    lines, pitch = _address_lines(spec, r)
    for font, size, line in lines:
        block.style(font, size, INK)
        block.text(MARGIN_X, y, line)
        y -= pitch
    _title_block(spec, top, block)


def _return_address(co: Company, font: str) -> tuple[float, str]:
    """The return address above the window: the company's name and as many of its first
    two address lines as fit one line (the whole address is in the letterhead)."""
    for parts in (2, 1, 0):
        sender = " · ".join([co.name, *co.address[:parts]])
        size = fitting_size(sender, font, 6.5, WINDOW_W, 5)
        if size is not None:
            return size, sender
    return _one_line(co.name, font, 6.5, WINDOW_W, 5, "company.name"), co.name


def _address_lines(spec: DocumentSpec, r: Recipient
                   ) -> tuple[list[tuple[str, float, str]], float]:
    """(font, size, text) of every line in the window, at the largest look that fits,
    and the distance between lines."""
    f = spec.fonts
    given = [r.name, *([r.contact] if r.contact else []), *r.address]
    for name_size, size, pitch in _ADDRESS_LOOK:
        lines = []
        for index, text in enumerate(given):
            font, at = (f.bold, name_size) if index == 0 else (f.regular, size)
            lines += [(font, at, part) for part in wrap_text(text, font, at, WINDOW_W)]
        if (len(lines) - 1) * pitch <= _ADDRESS_SPAN:
            return lines, pitch
    raise TextDoesNotFit(
        f"customer {r.customer_id}: name and address need {len(lines)} lines in the envelope "
        f"window, which holds {int(_ADDRESS_SPAN // _ADDRESS_LOOK[-1][2]) + 1}: shorten the "
        "address in the customer data")


def _title_block(spec: DocumentSpec, top: float, block: TextBlock) -> None:
    """Title, number, date and customer id beside the window; a long value is set a
    little smaller, or continues on a second line."""
    f, lab = spec.fonts, spec.labels
    x = PAGE_W - MARGIN_X - 62 * mm
    size = _one_line(spec.title, f.bold, 15, 62 * mm, 10, "the document title")
    block.style(f.bold, size, ACCENT).text(x, top - 8 * mm, spec.title)
    rows = [(lab.number, spec.number), (lab.date, spec.date_text),
            (lab.customer, spec.recipient.customer_id)]
    y = top - 16 * mm
    for label, value in rows:
        block.style(f.regular, 8, MUTED).text(x, y, label)
        size, lines = fit_lines(value, f.bold, 8.5, 44 * mm, 6.5)
        block.style(f.bold, size, INK)
        for line in lines:
            block.text(x + 18 * mm, y, line)
            y -= 3.2 * mm
        y -= 5 * mm - 3.2 * mm
    if y < top - ADDRESS_HEIGHT:
        raise TextDoesNotFit(f"document number {spec.number!r} or customer id is too long "
                             "for the title block")


def _later_header(spec: DocumentSpec, block: TextBlock) -> None:
    line = f"{spec.title} · {spec.number} · {spec.recipient.name}"
    size, lines = fit_lines(line, spec.fonts.regular, 8, CONTENT_W, 6.5)
    block.style(spec.fonts.regular, size, MUTED)
    y = PAGE_H - 30 * mm + (len(lines) - 1) * 3 * mm
    for part in lines:
        block.text(PAGE_W - MARGIN_X, y, part, "RIGHT")
        y -= 3 * mm


def _first_page(c: Canvas, spec: DocumentSpec) -> None:
    """Letterhead, address window, title block and footer, text in one block."""
    block = TextBlock(c)
    _letterhead(c, spec, block)
    _address_window(c, spec, block)
    _footer(c, spec, block)
    block.draw()


def _later_page(c: Canvas, spec: DocumentSpec) -> None:
    block = TextBlock(c)
    _letterhead(c, spec, block)
    _later_header(spec, block)
    _footer(c, spec, block)
    block.draw()


def build_pdf(spec: DocumentSpec, story_root, *, signature_images=(), signatory: str = "",
              subject: str = "", attachment: Attachment | None = None,
              signed: bool = False) -> RenderedPdf:
    """Lay out the story on letterhead pages and return the PDF bytes (with ``attachment``
    embedded as an associated file when given)."""
    buffer = io.BytesIO()
    width = PAGE_W - 2 * MARGIN_X
    first = Frame(MARGIN_X, BOTTOM, width, PAGE_H - FIRST_TOP - BOTTOM, id="first",
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)
    later = Frame(MARGIN_X, BOTTOM, width, PAGE_H - LATER_TOP - 4 * mm - BOTTOM, id="later",
                  leftPadding=0, rightPadding=0, topPadding=0, bottomPadding=0)

    def on_first(c, _doc):
        _first_page(c, spec)

    def on_later(c, _doc):
        _later_page(c, spec)

    doc = BaseDocTemplate(buffer, pagesize=A4, title=f"{spec.title} {spec.number}",
                          author=spec.company.name, subject=subject, creator="arcli",
                          producer="arcli", invariant=1)
    doc.addPageTemplates([PageTemplate("first", [first], onPage=on_first,
                                       autoNextPageTemplate="later"),
                          PageTemplate("later", [later], onPage=on_later)])
    sink: list = []
    ctx = StoryContext(Styles.for_fonts(spec.fonts), width, signatory,
                       tuple(signature_images), sink, spec.date_text, signed)
    flowables = story_flowables(list(story_root), ctx)
    try:
        doc.build(flowables, canvasmaker=lambda *a, **k: _NumberedCanvas(
            *a, spec=spec, attachment=attachment, **k))
    except TextDoesNotFit as exc:  # reportlab prefixes what fails on a page with its hook
        raise TextDoesNotFit(exc.message) from None
    box = SignatureBox(*sink[-1]) if sink else None
    return RenderedPdf(buffer.getvalue(), doc.page, box)
