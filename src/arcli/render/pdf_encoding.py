"""Quicker PDF names and text encoding for reportlab's PDF writer; same bytes out.

reportlab writes every dictionary key, name, number and object header of a PDF through
``pdfdoc.pdfdocEnc``, which encodes with its ``extpdfdoc`` codec by way of Python's codec
registry (0.56 us a call, ~270 calls a statement), and builds every name anew with
``pdfdoc.PDFName`` (0.65 us, ~120 calls). Together that was a fifth of writing out a
three-page statement (0.2 of 1.0 ms).

For ASCII text without the eight codes 0x18-0x1F, PDFDocEncoding *is* ASCII (the tests
compare every code point with the codec), and nearly everything in a PDF's structure is
such text; anything else still goes through the codec, errors included. Names are
remembered by their text: a batch writes the same few dozen over and over.

:func:`install` swaps these two module-level functions of ``reportlab.pdfbase.pdfdoc``
(the module looks them up at each call); pyproject pins reportlab's minor version, and
the tests check that documents come out byte for byte as reportlab's own functions make
them.
"""

from __future__ import annotations

from reportlab.pdfbase import pdfdoc

#: The ASCII codes that PDFDocEncoding maps elsewhere (accents and ligature marks).
_NOT_ASCII_IN_PDFDOC = bytes(range(0x18, 0x20))
_NAMES_KEPT = 10_000

_original_encode = pdfdoc.pdfdocEnc
_original_name = pdfdoc.PDFName
_names: dict[str, str] = {}


def pdfdoc_encode(text):
    """``pdfdoc.pdfdocEnc``: text as PDFDocEncoding bytes (bytes pass through)."""
    if type(text) is str and text.isascii():
        data = text.encode("ascii")
        if len(data.translate(None, _NOT_ASCII_IN_PDFDOC)) == len(data):
            return data
    return _original_encode(text)


def pdf_name(data, lo="\x21", hi="\x7e"):
    """``pdfdoc.PDFName``: ``/Name`` with the characters a name may not hold escaped."""
    if lo != "\x21" or hi != "\x7e" or type(data) is not str:
        return _original_name(data, lo, hi)
    name = _names.get(data)
    if name is None:
        if len(_names) >= _NAMES_KEPT:
            _names.clear()
        name = _names[data] = _original_name(data)
    return name


def install() -> None:
    """Use the quicker functions in reportlab's PDF writer (idempotent)."""
    pdfdoc.pdfdocEnc = pdfdoc_encode
    pdfdoc.PDFName = pdf_name


def uninstall() -> None:
    """Put reportlab's own functions back (for tests that compare the two)."""
    pdfdoc.pdfdocEnc = _original_encode
    pdfdoc.PDFName = _original_name
