"""Reading bank statements: ISO 20022 camt.053 (and camt.052/054), SWIFT MT940/MT942,
OFX (1.x SGML, 2.x XML), mapped CSV -- one module per format, one transaction type.

Every parser yields :class:`BankTransaction` with exact Decimal amounts and a location
(file and line or element) for error messages, and refuses a file it cannot read for
certain (see ``common``). XML is parsed with defusedxml, so a hostile file cannot expand
entities or reach the network.
"""

from __future__ import annotations

import re
from pathlib import Path

from arcli.reconcile.bankformats.camt import parse_camt053
from arcli.reconcile.bankformats.common import BankTransaction, fail, settled
from arcli.reconcile.bankformats.csvfile import BANK_FIELDS, parse_csv
from arcli.reconcile.bankformats.mt940 import parse_mt940
from arcli.reconcile.bankformats.ofx import parse_ofx

FORMATS = ("camt053", "mt940", "ofx", "csv")
__all__ = ["BANK_FIELDS", "FORMATS", "BankTransaction", "detect", "parse_camt053", "parse_csv",
           "parse_mt940", "parse_ofx", "read_statement"]

_MT940_START = re.compile(rb"(?:^|[\r\n])\s*(\{1:|:20:|:25:|:28C?:|:60[FM]:)")


def detect(path: Path, explicit: str | None) -> str:
    """The format named, else the one the file's first bytes show; CSV otherwise."""
    if explicit:
        return explicit
    with path.open("rb") as stream:
        head = stream.read(8192)
    head = head.lstrip(b"\xef\xbb\xbf").lstrip(b"\x01").lstrip()
    if (head.startswith(b"<?xml") and b"<?OFX" in head) or b"OFXHEADER" in head[:200] \
            or re.match(rb"<OFX>", head, re.IGNORECASE):
        return "ofx"
    if head.startswith(b"<"):
        return "camt053"
    if _MT940_START.search(head):
        return "mt940"
    return "csv"


def read_statement(path: Path, fmt: str | None, mapping=None) -> list[BankTransaction]:
    """The statement's transactions, amounts at the currency's minor unit and bank
    references unique in the file; raises :class:`InputError` for a file that is not a
    statement or cannot be read for certain, and for amounts the store cannot keep
    exactly (too many decimals for the currency, or too large)."""
    if not path.is_file():
        fail(str(path), None, "file not found")
    chosen = detect(path, fmt)
    encoding = mapping.encoding if mapping is not None and chosen != "csv" and \
        _given_encoding(mapping) else None
    if chosen == "camt053":
        found = parse_camt053(path)
    elif chosen == "mt940":
        found = parse_mt940(path, encoding)
    elif chosen == "ofx":
        found = parse_ofx(path, encoding)
    else:
        from arcli.importing.mapping import NATIVE

        found = parse_csv(path, mapping or NATIVE)
    return settled(found, balanced=chosen in ("camt053", "mt940"))


def _given_encoding(mapping) -> bool:
    from arcli.importing.encodings import DEFAULT_ENCODING

    return mapping.encoding != DEFAULT_ENCODING
