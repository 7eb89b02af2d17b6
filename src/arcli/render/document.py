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
from arcli.render.textfit import fit_text

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
            _draw_page_number(self, self._spec, total)
            super().showPage()
        if self._attachment is not None:
            embed_attachment(self, self._attachment)
        compress_pages_quickly(self._doc)
        super().save()


def _draw_page_number(c: Canvas, spec: DocumentSpec, total: int) -> None:
    text = spec.labels.page_of.format(page=c.getPageNumber(), pages=total)
    block = TextBlock(c).style(spec.fonts.regular, 7.5, MUTED)
    block.text(PAGE_W - MARGIN_X, 12 * mm, text, "RIGHT")
    block.draw()


def _letterhead(c: Canvas, spec: DocumentSpec, block: TextBlock) -> None:
    co, f = spec.company, spec.fonts
    top = PAGE_H - 14 * mm
    x_text = MARGIN_X
    if co.logo and co.logo.is_file():
        c.drawImage(str(co.logo), MARGIN_X, top - 12 * mm, width=24 * mm, height=14 * mm,
                    preserveAspectRatio=True, mask="auto", anchor="sw")
        x_text = MARGIN_X + 28 * mm
    room = PAGE_W - MARGIN_X - x_text
    block.style(f.bold, 14, ACCENT).text(x_text, top - 5 * mm, fit_text(co.name, f.bold, 14, room))
    contact = " · ".join(x for x in (", ".join(co.address), co.phone and
                                     f"{spec.labels.tel} {co.phone}", co.email, co.website)
                         if x)
    block.style(f.regular, 7.5, MUTED).text(x_text, top - 10 * mm,
                                            fit_text(contact, f.regular, 7.5, room))
    c.setStrokeColor(ACCENT)
    c.setLineWidth(1.2)
    c.line(MARGIN_X, top - 13 * mm, PAGE_W - MARGIN_X, top - 13 * mm)
    c.setLineWidth(1)


def _footer(c: Canvas, spec: DocumentSpec, block: TextBlock) -> None:
    co, f = spec.company, spec.fonts
    c.setStrokeColor(RULE)
    c.line(MARGIN_X, 17 * mm, PAGE_W - MARGIN_X, 17 * mm)
    block.style(f.regular, 7, MUTED)
    ids = " · ".join(x for x in (co.registration_no and f"{spec.labels.reg} {co.registration_no}",
                                 co.tax_id and f"{spec.labels.tax} {co.tax_id}") if x)
    line = f"{co.name}{' · ' + ids if ids else ''}"
    block.text(MARGIN_X, 12 * mm, fit_text(line, f.regular, 7, CONTENT_W - PAGE_NUMBER_W))
    bank = " · ".join(co.bank_details)
    if bank:
        block.text(MARGIN_X, 8.5 * mm, fit_text(bank, f.regular, 7, CONTENT_W))


def _address_window(c: Canvas, spec: DocumentSpec, block: TextBlock) -> None:
    """Return line and recipient in the envelope window; title block on the right."""
    f, r = spec.fonts, spec.recipient
    top = PAGE_H - ADDRESS_TOP
    sender = " · ".join([spec.company.name, *spec.company.address[:2]])
    block.style(f.regular, 6.5, MUTED).text(MARGIN_X, top - 4 * mm,
                                            fit_text(sender, f.regular, 6.5, WINDOW_W))
    c.setStrokeColor(RULE)
    c.line(MARGIN_X, top - 5 * mm, MARGIN_X + WINDOW_W, top - 5 * mm)
    lines = [r.name, *([r.contact] if r.contact else []), *r.address]
    y = top - 11 * mm
    for index, line in enumerate(lines[:7]):
        font, size = (f.bold, 10) if index == 0 else (f.regular, 9.5)
        block.style(font, size, INK)
        block.text(MARGIN_X, y, fit_text(line, font, size, WINDOW_W))
        y -= 4.6 * mm
    _title_block(spec, top, block)


def _title_block(spec: DocumentSpec, top: float, block: TextBlock) -> None:
    f, lab = spec.fonts, spec.labels
    x = PAGE_W - MARGIN_X - 62 * mm
    block.style(f.bold, 15, ACCENT).text(x, top - 8 * mm, spec.title)
    rows = [(lab.number, spec.number), (lab.date, spec.date_text),
            (lab.customer, spec.recipient.customer_id)]
    y = top - 16 * mm
    for label, value in rows:
        block.style(f.regular, 8, MUTED).text(x, y, label)
        block.style(f.bold, 8.5, INK).text(x + 18 * mm, y, fit_text(value, f.bold, 8.5, 44 * mm))
        y -= 5 * mm


def _later_header(spec: DocumentSpec, block: TextBlock) -> None:
    block.style(spec.fonts.regular, 8, MUTED)
    line = f"{spec.title} · {spec.number} · {spec.recipient.name}"
    block.text(PAGE_W - MARGIN_X, PAGE_H - 30 * mm,
               fit_text(line, spec.fonts.regular, 8, CONTENT_W), "RIGHT")


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
              subject: str = "", attachment: Attachment | None = None) -> RenderedPdf:
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
                       tuple(signature_images), sink)
    flowables = story_flowables(list(story_root), ctx)
    doc.build(flowables, canvasmaker=lambda *a, **k: _NumberedCanvas(
        *a, spec=spec, attachment=attachment, **k))
    box = SignatureBox(*sink[-1]) if sink else None
    return RenderedPdf(buffer.getvalue(), doc.page, box)
