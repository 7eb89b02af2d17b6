"""Embedding a file in the PDF while reportlab writes it.

The machine-readable JSON copy of a statement or letter is an associated file of the
document (``/AF`` with ``/AFRelationship /Data``, listed in the ``/EmbeddedFiles`` name
tree, as PDF 2.0 and PDF/A-3 describe). Writing those objects with the rest of the
document, instead of a pyHanko incremental update afterwards, saves re-reading and
re-writing every PDF, and keeps the unsigned file a pure function of its content: the
update stamped the current time into ``/ModDate`` and XMP metadata.
"""

from __future__ import annotations

from hashlib import md5

from reportlab.pdfbase import pdfdoc
from reportlab.pdfgen.canvas import Canvas

from arcli.render.flate import QUICK_FLATE
from arcli.render.model import Attachment


class _CatalogWithFiles(pdfdoc.PDFCatalog):
    """The document catalog, with the associated-files array and the PDF version."""

    __NoDefault__ = (*pdfdoc.PDFCatalog.__NoDefault__, "AF", "Version")


def embed_attachment(canvas: Canvas, attachment: Attachment) -> None:
    """Add ``attachment`` to the document of ``canvas``; call before ``canvas.save()``."""
    doc = canvas._doc
    spec_ref = doc.Reference(_file_spec(doc, attachment))
    catalog = _CatalogWithFiles()
    catalog.__dict__.update(doc.Catalog.__dict__)
    catalog.Names = pdfdoc.PDFDictionary({"EmbeddedFiles": pdfdoc.PDFDictionary(
        {"Names": pdfdoc.PDFArray([pdfdoc.PDFString(attachment.name), spec_ref])})})
    catalog.AF = pdfdoc.PDFArray([spec_ref])
    catalog.Version = pdfdoc.PDFName("2.0")  # /AF and /AFRelationship are PDF 2.0
    doc.Catalog = doc._catalog = catalog


def _file_spec(doc, attachment: Attachment) -> pdfdoc.PDFDictionary:
    stream = pdfdoc.PDFStream(
        dictionary=pdfdoc.PDFDictionary({
            "Type": pdfdoc.PDFName("EmbeddedFile"),
            "Subtype": _name(attachment.mime_type),
            "Params": pdfdoc.PDFDictionary({
                "Size": len(attachment.data),
                "CheckSum": pdfdoc.PDFText(md5(attachment.data).digest()),
            }),
        }),
        content=attachment.data, filters=[QUICK_FLATE])
    stream_ref = doc.Reference(stream)
    return pdfdoc.PDFDictionary({
        "Type": pdfdoc.PDFName("Filespec"),
        "F": pdfdoc.PDFString(attachment.name),
        "UF": pdfdoc.PDFString(attachment.name),
        "EF": pdfdoc.PDFDictionary({"F": stream_ref, "UF": stream_ref}),
        "Desc": pdfdoc.PDFString(attachment.description),
        "AFRelationship": pdfdoc.PDFName("Data"),
    })


def _name(text: str) -> str:
    """A PDF name; reportlab's ``PDFName`` leaves ``/`` (as in a MIME type) unescaped."""
    return "/" + pdfdoc.PDFName(text)[1:].replace("/", "#2F")
