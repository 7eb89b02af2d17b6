"""Dunning letters: letter data + a level template -> a deterministic PDF.

Same page furniture, fonts and signature block as statements (:mod:`.document`); only the
template differs: ``templates/letters/<template>.<language>.xml.j2``, where ``template`` is
the level's template name from the dunning policy (``reminder``, ``demand``, ``final``,
``legal`` by default).
"""

from __future__ import annotations

import dataclasses

from arcli.render.document import DocumentSpec, build_pdf
from arcli.render.model import Attachment, LetterData, RenderedPdf
from arcli.render.statement import (
    DEFAULT_OPTIONS,
    RenderOptions,
    attachment_json,
    document_fonts,
    page_labels,
)
from arcli.render.story import parse_story
from arcli.render.templating import _date, normalize_language, render_template


def letter_context(data: LetterData) -> dict:
    context = {f.name: getattr(data, f.name) for f in dataclasses.fields(data)}
    context["document_number"] = data.document_number
    return context


def render_letter(data: LetterData, options: RenderOptions = DEFAULT_OPTIONS,
                  attachment: Attachment | None = None) -> RenderedPdf:
    """Render one dunning letter, with ``attachment`` (its JSON copy) embedded if given."""
    language = normalize_language(data.language)
    data = dataclasses.replace(data, company=data.company.for_language(language))
    name = f"letters/{data.template}.{language}.xml.j2"
    root = parse_story(render_template(name, letter_context(data), language,
                                       options.template_dir), name)
    texts = [data.recipient.name, data.recipient.contact, *data.recipient.address,
             data.company.name, *data.company.address, *data.company.bank_details,
             data.contact]
    spec = DocumentSpec(
        title=root.get("title", data.level_name), number=data.document_number,
        date_text=_date(data.as_of, language), doc_date=data.as_of, company=data.company,
        recipient=data.recipient, fonts=document_fonts(language, texts, options),
        labels=page_labels(root), watermark=root.get("draft", "DRAFT") if data.draft else "",
    )
    images = tuple(p for p in (data.company.signature_image, data.company.seal_image)
                   if p and p.is_file())
    return build_pdf(spec, root, signature_images=images,
                     signatory=data.company.signatory or data.company.name,
                     subject=f"{data.recipient.customer_id} L{data.level}",
                     attachment=attachment, signed=options.signed)


def letter_attachment(data: LetterData) -> bytes:
    """Machine-readable copy of the letter's items and amounts (decimals as strings)."""
    body = {"format": "arcli-dunning-letter/1", "document_number": data.document_number,
            "level": data.level, "currency": data.currency, "as_of": data.as_of.isoformat(),
            "customer": data.recipient.customer_id, "items": data.items,
            "charges": data.charges, "interest_total": data.interest_total,
            "total_due": data.total_due}
    return attachment_json(body)
