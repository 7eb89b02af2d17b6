"""Customer statements: statement data + a template -> a deterministic PDF.

The template (``templates/statement/<language>.xml.j2``) words and arranges the whole
statement; this module supplies the context, the page furniture and a machine-readable
JSON copy embedded as an attachment, so the customer's system can reconcile without
retyping.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import json
from decimal import Decimal
from pathlib import Path

from arcli.output import machine_value
from arcli.render.document import DocumentSpec, PageLabels, build_pdf
from arcli.render.fonts import font_pair, needs_cjk
from arcli.render.model import Attachment, RenderedPdf, StatementData
from arcli.render.story import Fonts, parse_story
from arcli.render.templating import _date, normalize_language, render_template


@dataclasses.dataclass(frozen=True)
class RenderOptions:
    """Where templates and fonts come from (config ``templates.path``, ``render.cjk_font``)."""

    template_dir: Path | None = None
    cjk_font: Path | None = None
    #: the document will be signed: its signature block says so (the batch sets it when
    #: it signs, so the unsigned and the signed document differ in content, too)
    signed: bool = False
    #: where a statement's remittance and reply slips go (config ``statements.slips``):
    #: ``same-page`` under the statement when they fit there, else on the next page;
    #: ``own-page`` always on a page of their own
    slips: str = "same-page"


def _texts(data: StatementData) -> list[str | None]:
    r, c = data.recipient, data.company
    texts = [r.name, r.contact, *r.address, c.name, *c.address, *c.bank_details,
             c.payment_instructions, c.signatory]
    for s in data.sections:
        texts += [line.reference for line in s.activity]
        texts += [line.description for line in s.activity]
    return texts


def page_labels(story_root) -> PageLabels:
    """Page furniture wording, taken from attributes of the template's <story> element."""
    defaults = dataclasses.asdict(PageLabels())
    return PageLabels(**{k: story_root.get(k, v) for k, v in defaults.items()})


def document_fonts(language: str, texts, options: RenderOptions) -> Fonts:
    cjk = language.startswith("zh") or needs_cjk(*texts)
    return Fonts(*font_pair(cjk, options.cjk_font))


DEFAULT_OPTIONS = RenderOptions()


def render_statement(data: StatementData, options: RenderOptions = DEFAULT_OPTIONS,
                     attachment: Attachment | None = None) -> RenderedPdf:
    """Render one customer's statement (all its currencies) as PDF bytes, with
    ``attachment`` (its JSON copy, see :func:`statement_attachment`) embedded if given."""
    language = normalize_language(data.language)
    company = data.company.for_language(language)
    if company is not data.company:
        data = dataclasses.replace(data, company=company)
    context = {
        **{f.name: getattr(data, f.name) for f in dataclasses.fields(data)},
        "document_number": data.document_number,
        "currency": data.sections[0].currency if data.sections else "EUR",
        "slips": options.slips, "signed": options.signed,
    }
    name = f"statement/{language}.xml.j2"
    root = parse_story(render_template(name, context, language, options.template_dir), name)
    fonts = document_fonts(language, _texts(data), options)
    spec = DocumentSpec(
        title=root.get("title", "Statement"), number=data.document_number,
        date_text=_date(data.issue_date, language), doc_date=data.issue_date,
        company=data.company, recipient=data.recipient, fonts=fonts, labels=page_labels(root),
    )
    images = tuple(p for p in (data.company.signature_image, data.company.seal_image)
                   if p and p.is_file())
    return build_pdf(spec, root, signature_images=images,
                     signatory=data.company.signatory or data.company.name,
                     subject=f"{data.recipient.customer_id} {data.period_label}",
                     attachment=attachment, signed=options.signed)


def _json_default(value):
    """How ``json`` writes what it does not know: dataclasses as dicts of their fields,
    Decimal as an exact decimal string, dates as ISO text, file paths as null.

    Handing these to the C encoder as they are met, instead of first copying the whole
    statement into plain dicts and strings in Python, made the JSON copy of a three-page
    statement ~15% cheaper (0.38 -> 0.33 ms). Dates and Decimals are recognised by exact
    type first, and a dataclass whose ``__dict__`` holds exactly its fields in order is
    handed over as that dict: 0.26 -> 0.18 ms."""
    kind = type(value)
    if kind is Decimal:
        return format(value, "f")
    if kind is dt.date:
        return value.isoformat()
    names = _field_names(kind)
    if names is not None:
        fields = getattr(value, "__dict__", None)
        if fields is not None and tuple(fields) == names:
            return fields  # exactly its fields, in order: what the line below would build
        return {name: getattr(value, name) for name in names}
    if isinstance(value, Path):
        return None
    return machine_value(value) if isinstance(value, dt.date) else str(value)


@functools.cache
def _field_names(kind: type) -> tuple[str, ...] | None:
    """Field names of a dataclass (None for other types), looked up once per type: a
    statement has a few hundred values."""
    if not dataclasses.is_dataclass(kind):
        return None
    return tuple(f.name for f in dataclasses.fields(kind))


def attachment_json(body: dict) -> bytes:
    """A document's JSON copy as bytes: one line, since only ``indent=None`` lets
    ``json`` use its C encoder (indenting a statement cost ~0.3 ms, as much as its whole
    data assembly)."""
    return json.dumps(body, ensure_ascii=False, default=_json_default).encode("utf-8")


def statement_json(data: StatementData) -> dict:
    """The statement's JSON copy, for the attachment: sections are still dataclasses,
    which :func:`attachment_json` writes out (amounts as decimal strings)."""
    body = {
        "format": "arcli-statement/1",
        "document_number": data.document_number,
        "kind": data.kind,
        "period": data.period_label,
        "period_start": data.period_start.isoformat(),
        "period_end": data.period_end.isoformat(),
        "issue_date": data.issue_date.isoformat(),
        "creditor": data.company.name,
        "customer": {"id": data.recipient.customer_id, "name": data.recipient.name},
        "sections": list(data.sections),
    }
    return body


def statement_json_bytes(data: StatementData) -> bytes:
    """The statement's attachment (see :func:`statement_json`)."""
    return attachment_json(statement_json(data))
