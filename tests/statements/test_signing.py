"""The signing fast path: a filled CMS template, checked against pyHanko's own output."""

from __future__ import annotations

import io

import pytest

from arcli.signing import PdfSigningKey, SigningConfig, create_test_certificate, verify_pdf


@pytest.fixture(scope="module")
def key(tmp_path_factory) -> PdfSigningKey:
    folder = tmp_path_factory.mktemp("keys")
    p12, _pem = create_test_certificate(folder / "test.p12", password=b"pw",
                                        common_name="Test Signer", organization="Test Co")
    return PdfSigningKey(SigningConfig(pkcs12=p12, password=b"pw"))


def _pdf(text: str) -> bytes:
    from reportlab.pdfgen.canvas import Canvas

    buffer = io.BytesIO()
    canvas = Canvas(buffer)
    canvas.drawString(72, 720, text)
    canvas.save()
    return buffer.getvalue()


def test_template_signatures_verify_and_differ_per_document(key, tmp_path):
    signed = [key.sign(_pdf(f"document {n}"), None) for n in range(3)]
    templates = key.signer._templates
    assert list(templates) == ["sha256"] and templates["sha256"] is not None  # fast path on
    for n, pdf in enumerate(signed):
        path = tmp_path / f"{n}.pdf"
        path.write_bytes(pdf)
        result = verify_pdf(path)
        assert result.intact and result.valid, result
    tampered = tmp_path / "tampered.pdf"
    data = bytearray(signed[0])
    data[len(data) // 4] ^= 0x01
    tampered.write_bytes(bytes(data))
    broken = verify_pdf(tampered)
    assert not (broken.intact and broken.valid)


def test_unknown_signing_options_take_pyhankos_path(key):
    """A newer pyHanko passing an option this code does not know is never short-cut."""
    import asyncio
    import hashlib

    from pyhanko.sign.signers.pdf_cms import PdfCMSSignedAttributes

    digest = hashlib.sha256(b"x").digest()
    calls = []
    original = type(key.signer)._template

    async def spy(self, *args):
        calls.append(args)
        return await original(self, *args)

    type(key.signer)._template = spy
    try:
        settings = PdfCMSSignedAttributes()
        asyncio.run(key.signer.async_sign(digest, "sha256", use_pades=True,
                                          signed_attr_settings=settings))
        assert len(calls) == 1
        with pytest.raises(TypeError):  # pyHanko itself rejects what it does not know
            asyncio.run(key.signer.async_sign(digest, "sha256", use_pades=True,
                                              signed_attr_settings=settings, novel=True))
        assert len(calls) == 1
    finally:
        type(key.signer)._template = original
