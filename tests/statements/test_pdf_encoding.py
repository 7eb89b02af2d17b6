"""The quicker PDF names and text encoding give exactly what reportlab's own functions do."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arcli.render import pdf_encoding
from arcli.render.model import Attachment


def _outcome(function, *args):
    try:
        return function(*args)
    except Exception as exc:  # the same error, or the same bytes
        return type(exc)


def test_every_code_point_encodes_as_the_codec_does():
    for code in range(0x300):
        for text in (chr(code), f"/Name{chr(code)}x", f"12 0 obj\n{chr(code)}"):
            assert _outcome(pdf_encoding.pdfdoc_encode, text) == \
                _outcome(pdf_encoding._original_encode, text), hex(code)


@given(st.one_of(st.text(max_size=40), st.binary(max_size=20)))
def test_any_text_or_bytes_encodes_as_the_codec_does(value):
    assert _outcome(pdf_encoding.pdfdoc_encode, value) == \
        _outcome(pdf_encoding._original_encode, value)


@given(st.text(max_size=30))
def test_names_are_escaped_as_reportlab_escapes_them(text):
    assert pdf_encoding.pdf_name(text) == pdf_encoding._original_name(text)
    assert pdf_encoding.pdf_name(text) == pdf_encoding._original_name(text)  # remembered


def test_names_with_other_bounds_and_a_full_memory():
    assert pdf_encoding.pdf_name("a b", "\x22", "\x7e") == \
        pdf_encoding._original_name("a b", "\x22", "\x7e")
    for index in range(pdf_encoding._NAMES_KEPT + 5):
        pdf_encoding.pdf_name(f"N{index}")
    assert len(pdf_encoding._names) <= pdf_encoding._NAMES_KEPT
    assert pdf_encoding.pdf_name("Type") == "/Type"


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_documents_come_out_byte_for_byte_as_with_reportlabs_functions(language):
    from reportlab.pdfbase import pdfdoc

    from arcli.render.letter import render_letter
    from arcli.render.samples import sample_letter, sample_statement
    from arcli.render.statement import render_statement, statement_json_bytes

    statement, letter = sample_statement(language, lines=60), sample_letter("reminder",
                                                                            language)
    attachment = Attachment("statement.json", statement_json_bytes(statement), "data")

    def both():
        return (render_statement(statement, attachment=attachment).pdf,
                render_letter(letter).pdf)

    quick = both()
    pdf_encoding.uninstall()
    try:
        assert pdfdoc.pdfdocEnc is pdf_encoding._original_encode
        own = both()
    finally:
        pdf_encoding.install()
    assert quick == own
    assert quick[0].startswith(b"%PDF") and quick[1].startswith(b"%PDF")
