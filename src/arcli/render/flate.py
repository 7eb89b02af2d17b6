"""Flate compression for the streams every document makes afresh.

reportlab compresses page content at zlib's default level 6. A three-page statement's
content streams and its JSON copy (~65 kB of text) took ~0.43 ms of ~7.5 ms a document
at that level; level 3 takes ~0.15 ms and the streams come out ~11% bigger (~1 kB on a
47 kB statement, most of which is the embedded font subset, compressed once per batch
and kept). Levels 1-2 save no more time; level 4 costs half as much again, 5 twice as
much. What a reader decompresses is the same either way. Font subsets, compressed once
per batch and then reused (``render/fonts.py``), keep zlib's default level.
"""

from __future__ import annotations

import zlib

from reportlab.pdfbase import pdfdoc

LEVEL = 3


class Flate:
    """A reportlab stream filter: ``FlateDecode`` at a zlib level (default: zlib's own)."""

    pdfname = "FlateDecode"

    def __init__(self, level: int = zlib.Z_DEFAULT_COMPRESSION):
        self.level = level

    def encode(self, content: bytes | str) -> bytes:
        return zlib.compress(as_bytes(content), self.level)

    def decode(self, data: bytes) -> bytes:
        return zlib.decompress(data)


def as_bytes(content: bytes | str) -> bytes:
    """Stream content as reportlab hands it to a filter: text is encoded as UTF-8."""
    return content.encode("utf-8") if isinstance(content, str) else content


QUICK_FLATE = Flate(LEVEL)


def compress_pages_quickly(doc: pdfdoc.PDFDocument) -> None:
    """Give each compressed page of ``doc`` its content stream now, with :data:`QUICK_FLATE`.

    reportlab makes a page's stream while writing the file (``PDFPage.check_format``),
    only for pages that have none yet, with its level-6 filter; call this just before
    the canvas is saved."""
    for page in doc.Pages.pages:
        if page.Contents is None and page.stream and page.compression:
            page.Contents = pdfdoc.PDFStream(content=page.stream, filters=[QUICK_FLATE])
