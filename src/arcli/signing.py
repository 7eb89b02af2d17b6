"""PDF attachments, PAdES signatures and their verification (pyHanko).

* The machine-readable JSON copy of a statement is embedded as a PDF attachment before
  signing, so the signature covers it.
* Signatures are PAdES baseline B-B, made offline from a PKCS#12 file whose password comes
  from an environment variable or a file -- never from the command line. The field is placed
  over the signature block the renderer drew (so CJK text in the block is drawn by
  reportlab, not by pyHanko's stamp).
* Speed: pyHanko's stock signer re-parses the private key and signs twice per document (once
  to size the signature). :class:`CachedKeySigner` keeps the parsed key and a fixed
  ``bytes_reserved`` skips the sizing pass, taking a one-page document from ~100 ms to a
  few ms.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import io
import logging
from dataclasses import dataclass
from pathlib import Path

from arcli.config import ConfigView
from arcli.errors import ArcliError
from arcli.fileio import atomic_write
from arcli.render.model import SignatureBox

BYTES_RESERVED = 16384
FIELD_NAME = "arcli-signature"


class SigningError(ArcliError):
    """The signing key or certificate cannot be used."""


@dataclass(frozen=True)
class SigningConfig:
    """``signing:`` in the config. No password here: it comes from the environment/a file."""

    pkcs12: Path
    password: bytes | None
    reason: str = "Statement of account"
    location: str | None = None
    contact: str | None = None
    field_name: str = FIELD_NAME


def signing_config(config: ConfigView) -> SigningConfig | None:
    """The signing setup, or None when ``signing.pkcs12`` is not configured."""
    view = config.section("signing")
    path = view.get_path("pkcs12")
    if path is None:
        return None
    if not path.is_file():
        raise view.error("pkcs12", f"file {path} not found (create one with `arcli signing init`)")
    secret = view.secret("password")
    return SigningConfig(
        pkcs12=path, password=secret.encode("utf-8") if secret is not None else None,
        reason=view.get_str("reason", "Statement of account") or "Statement of account",
        location=view.get_str("location"), contact=view.get_str("contact"),
        field_name=view.get_str("field_name", FIELD_NAME) or FIELD_NAME,
    )


@dataclass(frozen=True)
class _CmsTemplate:
    """A PAdES CMS signature with the places of its two per-document parts.

    With PAdES (no signing-time attribute), RSA PKCS#1 v1.5 and no timestamp, the CMS
    object of every document is byte for byte the same except for the message digest
    inside the signed attributes and the signature over those attributes; both have a
    fixed length. Building it with asn1crypto cost ~8 ms of the ~12 ms a signature took;
    filling the template costs the RSA operation (~1 ms). See :meth:`fill`.
    """

    der: bytes
    attrs_at: int  # offset of the signed attributes ([0] IMPLICIT) in ``der``
    attrs: bytes
    digest_at: int  # offset of the message digest in ``attrs``
    digest_size: int
    signature_at: int  # offset of the signature value in ``der``
    signature_size: int

    def fill(self, digest: bytes, sign) -> bytes:
        """The CMS object for ``digest``; ``sign(data)`` signs the DER signed attributes."""
        end = self.digest_at + self.digest_size
        attrs = self.attrs[:self.digest_at] + digest + self.attrs[end:]
        signature = sign(b"\x31" + attrs[1:])  # signed as a SET OF, not as [0]
        if len(digest) != self.digest_size or len(signature) != self.signature_size:
            raise SigningError("CMS template does not fit this digest or signature")
        after_attrs = self.attrs_at + len(attrs)
        return b"".join((self.der[:self.attrs_at], attrs,
                         self.der[after_attrs:self.signature_at], signature,
                         self.der[self.signature_at + self.signature_size:]))

    @classmethod
    def locate(cls, der: bytes, attrs: bytes, digest: bytes, signature: bytes) -> _CmsTemplate:
        """Find the variable parts in a CMS object made for ``digest``; each occurs once."""
        for part, within in ((attrs, der), (digest, attrs), (signature, der)):
            if within.count(part) != 1:
                raise SigningError("CMS template: a variable part is not unique")
        template = cls(der, der.index(attrs), attrs, attrs.index(digest), len(digest),
                       der.index(signature), len(signature))
        if template.attrs_at + len(attrs) > template.signature_at:
            raise SigningError("CMS template: signature before the signed attributes")
        return template


def _sentinel_digest(digest_algorithm: str, label: bytes) -> bytes | None:
    """A known digest of the right size to build and check a template with."""
    try:
        return hashlib.new(digest_algorithm, label).digest()
    except ValueError:
        return None


_KNOWN_SIGN_OPTIONS = frozenset({"dry_run", "use_pades", "timestamper", "signed_attr_settings",
                                 "is_pdf_sig", "encap_content_info"})


def _cached_key_signer_class():
    from asn1crypto import cms
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
    from pyhanko.sign.general import get_pyca_cryptography_hash
    from pyhanko.sign.signers import SimpleSigner

    class CachedKeySigner(SimpleSigner):
        """SimpleSigner that parses its RSA key once instead of on every signature, and
        fills a checked CMS template for plain PAdES signatures (:class:`_CmsTemplate`)."""

        _parsed = None
        _templates: dict[str, _CmsTemplate | None]

        def _is_rsa_pkcs1(self, digest_algorithm: str) -> bool:
            mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
            try:
                algo = mechanism.signature_algo
            except ValueError:
                algo = mechanism["algorithm"].native
            return algo == "rsassa_pkcs1v15"

        def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
            if not self._is_rsa_pkcs1(digest_algorithm):
                return super().sign_raw(data, digest_algorithm)
            if self._parsed is None:
                self._parsed = serialization.load_der_private_key(self.signing_key.dump(),
                                                                  password=None)
            assert isinstance(self._parsed, RSAPrivateKey)
            return self._parsed.sign(data, PKCS1v15(),
                                     get_pyca_cryptography_hash(digest_algorithm))

        async def async_sign(self, data_digest: bytes, digest_algorithm: str, **options):
            """pyHanko's ``async_sign``; fills the template when only the digest varies.

            Options this code does not know (a newer pyHanko) always take pyHanko's path.
            """
            plain = (set(options) <= _KNOWN_SIGN_OPTIONS and options.get("use_pades")
                     and options.get("is_pdf_sig", True) and not options.get("dry_run")
                     and options.get("timestamper") is None
                     and options.get("encap_content_info") is None
                     and self._plain(options.get("signed_attr_settings"))
                     and self._is_rsa_pkcs1(digest_algorithm))
            template = await self._template(digest_algorithm,
                                            options.get("signed_attr_settings")) \
                if plain else None
            if template is None:
                return await super().async_sign(data_digest, digest_algorithm, **options)
            der = template.fill(data_digest, lambda data: self.sign_raw(data,
                                                                        digest_algorithm))
            return cms.ContentInfo.load(der)

        def _plain(self, settings) -> bool:
            """Only the message digest varies: no extra or per-signature attributes."""
            return (settings is not None and settings.cades_signed_attrs is None
                    and settings.adobe_revinfo_attr is None
                    and self.signed_attr_prov_spec is None
                    and self.unsigned_attr_prov_spec is None and not self.attribute_certs)

        async def _template(self, digest_algorithm: str, settings) -> _CmsTemplate | None:
            if not hasattr(self, "_templates"):
                self._templates = {}
            if digest_algorithm not in self._templates:
                self._templates[digest_algorithm] = await self._checked_template(
                    digest_algorithm, settings)
            return self._templates[digest_algorithm]

        async def _checked_template(self, md: str, settings) -> _CmsTemplate | None:
            """A template from one pyHanko signature, used only if filling it reproduces a
            second pyHanko signature exactly (PKCS#1 v1.5 signatures are deterministic)."""
            first, second = (_sentinel_digest(md, label) for label in (b"arcli 1", b"arcli 2"))
            if first is None or second is None:
                return None
            made = [await super(CachedKeySigner, self).async_sign(
                digest, md, use_pades=True, signed_attr_settings=settings)
                for digest in (first, second)]
            info = made[0]["content"]["signer_infos"][0]
            try:
                template = _CmsTemplate.locate(made[0].dump(), info["signed_attrs"].dump(),
                                               first, info["signature"].native)
                filled = template.fill(second, lambda data: self.sign_raw(data, md))
            except SigningError:
                return None
            return template if filled == made[1].dump() else None

    return CachedKeySigner


class PdfSigningKey:
    """A loaded signing identity; load once per process and reuse for every document."""

    def __init__(self, cfg: SigningConfig):
        logging.getLogger("pyhanko").setLevel(logging.CRITICAL)
        from pyhanko.sign.signers import SimpleSigner

        try:
            loaded = SimpleSigner.load_pkcs12(str(cfg.pkcs12), passphrase=cfg.password)
        except Exception as exc:  # pyHanko raises assorted errors for bad files/passwords
            raise SigningError(f"cannot load {cfg.pkcs12}: {exc}") from None
        if loaded is None:
            raise SigningError(f"cannot load {cfg.pkcs12}: wrong password or not PKCS#12 "
                               "(password from signing.password_env / password_file)")
        self.cfg = cfg
        self.signer = _cached_key_signer_class()(
            signing_cert=loaded.signing_cert, signing_key=loaded.signing_key,
            cert_registry=loaded.cert_registry)

    def sign(self, pdf: bytes, box: SignatureBox | None) -> bytes:
        """Return ``pdf`` with a PAdES B-B signature over the whole file."""
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import fields, signers

        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
        spec = None
        if box is not None:
            spec = fields.SigFieldSpec(self.cfg.field_name, on_page=box.page,
                                       box=(box.x1, box.y1, box.x2, box.y2))
        else:
            spec = fields.SigFieldSpec(self.cfg.field_name)
        meta = signers.PdfSignatureMetadata(
            field_name=self.cfg.field_name, subfilter=fields.SigSeedSubFilter.PADES,
            md_algorithm="sha256", reason=self.cfg.reason, location=self.cfg.location,
            contact_info=self.cfg.contact,
        )
        pdf_signer = signers.PdfSigner(meta, signer=self.signer, new_field_spec=spec,
                                       stamp_style=_invisible_stamp())
        out = io.BytesIO()
        pdf_signer.sign_pdf(writer, output=out, bytes_reserved=BYTES_RESERVED)
        return out.getvalue()


def _invisible_stamp():
    """A stamp style that leaves the field's appearance as created: empty. The visible
    block is already on the page, drawn by reportlab.

    pyHanko's text stamp, even with no text, gives the appearance stream a font
    dictionary written in place (not as an object of its own). poppler names such a
    font by a hash, then looks that hash up as an object number: every viewer and tool
    on poppler (pdftotext, pdffonts, evince) printed "Internal Error: xref num … not
    found" on every signed file and rebuilt the file's cross-reference table."""
    from pyhanko.stamp import BaseStampStyle

    class _KeepAppearance(BaseStampStyle):
        def create_stamp(self, writer, box, text_params):
            return None  # pyHanko then keeps the empty appearance of the new field

    return _KeepAppearance()


def create_test_certificate(out_path: Path, *, password: bytes, common_name: str,
                            organization: str, days: int = 730) -> tuple[Path, Path]:
    """A self-signed RSA certificate for trying signatures out (not for production).

    Writes ``out_path`` (PKCS#12) and ``out_path.with_suffix('.pem')`` (the certificate, to
    use as a trust root for `arcli verify --trust`).
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization)])
    now = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now).not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(
            digital_signature=True, content_commitment=True, key_encipherment=False,
            data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=False,
            encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    blob = pkcs12.serialize_key_and_certificates(
        common_name.encode("utf-8"), key, cert, None,
        serialization.BestAvailableEncryption(password))
    atomic_write(out_path, blob, mode=0o600)  # the private key: never readable by others
    pem_path = out_path.with_suffix(".pem")
    atomic_write(pem_path, cert.public_bytes(serialization.Encoding.PEM))
    return out_path, pem_path


@dataclass(frozen=True)
class VerifyResult:
    file: str
    signed: bool
    intact: bool
    valid: bool
    covers_whole_file: bool
    trusted: bool
    signer: str
    signing_time: dt.datetime | None
    message: str
    is_pdf: bool = True
    readable: bool = True  # False: the file could not be read at all (missing, no permission)

    @property
    def ok(self) -> bool:
        return self.signed and self.intact and self.valid and self.covers_whole_file


def verify_pdf(path: Path, trust_roots: list[Path] = ()) -> VerifyResult:  # type: ignore[assignment]
    """Check the last signature of a PDF: intact, valid, covering the whole file, trusted."""
    from pyhanko.keys import load_certs_from_pemder
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    for name in ("pyhanko", "pyhanko_certvalidator"):
        logging.getLogger(name).setLevel(logging.CRITICAL)
    unread = functools.partial(VerifyResult, str(path), False, False, False, False, False,
                               "", None)
    try:
        with path.open("rb") as handle:
            if b"%PDF-" not in handle.read(1024):  # where the PDF standard puts the header
                return unread("not a PDF", is_pdf=False)
            handle.seek(0)
            try:
                sigs = PdfFileReader(handle, strict=False).embedded_signatures
            except Exception as exc:  # a damaged PDF raises many pyHanko-specific errors
                return unread(f"not a readable PDF: {type(exc).__name__}: {exc}",
                              is_pdf=False)
            if not sigs:
                return unread("not signed")
            roots = list(load_certs_from_pemder([str(p) for p in trust_roots]))
            context = ValidationContext(trust_roots=roots, allow_fetching=False)
            status = validate_pdf_signature(sigs[-1], context)
    except OSError as exc:
        return unread(f"cannot read the file: {exc.strerror or exc}", is_pdf=False,
                      readable=False)
    except ValueError as exc:
        return unread(f"unreadable: {exc}")
    except Exception as exc:  # malformed signatures raise many pyHanko-specific errors
        return VerifyResult(str(path), True, False, False, False, False, "", None,
                            f"invalid: {type(exc).__name__}: {exc}")
    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    signer = status.signing_cert.subject.human_friendly if status.signing_cert else ""
    problems = [text for ok, text in ((status.intact, "altered after signing"),
                                      (status.valid, "signature invalid"),
                                      (whole, "does not cover the whole file"),
                                      (status.trusted, "signer not trusted")) if not ok]
    return VerifyResult(str(path), True, status.intact, status.valid, whole, status.trusted,
                        signer, status.signer_reported_dt, "; ".join(problems) or "valid")
