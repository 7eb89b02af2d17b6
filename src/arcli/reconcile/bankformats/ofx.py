"""OFX bank and credit card statements: 1.x (SGML, a ``KEY:VALUE`` header) and 2.x (XML).

Hand-written rather than ``ofxtools``: that library refuses ordinary files outside the
US (a bank id longer than nine characters, as every BIC is, is an error there) and skips
an aggregate it does not know with a warning -- so a misspelt ``<STMTTRN>`` loses the
transaction. Here an OFX 1.x file is read into the same element tree as an OFX 2.x one
(which defusedxml parses), every aggregate must be closed, and an unknown aggregate among
the transactions refuses the file.

The header's ``ENCODING``/``CHARSET`` (1.x) or the XML declaration (2.x) say how the text
is written. Each statement (``STMTRS``/``CCSTMTRS``) has its own account and currency;
the payer's account of a transaction is its ``BANKACCTTO``/``CCACCTTO`` (the other side),
its name ``NAME`` or ``PAYEE/NAME``.
"""

from __future__ import annotations

import datetime as dt
import html
import re
from pathlib import Path
from xml.etree.ElementTree import Element

from arcli.reconcile.bankformats.common import (
    CREDIT,
    DEBIT,
    ZERO,
    BankTransaction,
    currency_of,
    decode,
    fail,
    signed_amount,
)

_TAG = re.compile(r"<(/?)([A-Za-z0-9_.]+)>")
#: OFX 1.x CHARSET values and the codecs that read them (ENCODING:UTF-8 wins over them).
_CHARSETS = {"1252": "cp1252", "ISO-8859-1": "latin-1", "8859-1": "latin-1",
             "NONE": "utf-8", "UTF-8": "utf-8", "936": "gb18030", "GB2312": "gb18030",
             "GBK": "gb18030", "GB18030": "gb18030", "950": "big5", "BIG5": "big5",
             "1250": "cp1250", "1251": "cp1251", "ISO-8859-15": "iso8859-15"}
#: Transaction types that take money out: a positive amount with one of them is a
#: contradiction the file must resolve, not a receipt.
_OUTGOING = {"DEBIT", "PAYMENT", "CHECK", "FEE", "SRVCHG", "ATM", "POS", "DIRECTDEBIT",
             "CASH", "REPEATPMT"}
#: OFX aggregates a bank statement holds (an element with other elements inside); any
#: other element without text is an aggregate only where the file closes it.
_AGGREGATES = {"OFX", "SIGNONMSGSRSV1", "SONRS", "STATUS", "FI", "BANKMSGSRSV1", "STMTTRNRS",
               "STMTRS", "BANKACCTFROM", "BANKACCTTO", "BANKTRANLIST", "STMTTRN", "PAYEE",
               "LEDGERBAL", "AVAILBAL", "BALLIST", "BAL", "CURRENCY", "ORIGCURRENCY",
               "CREDITCARDMSGSRSV1", "CCSTMTTRNRS", "CCSTMTRS", "CCACCTFROM", "CCACCTTO",
               "MKTGINFO", "IMAGEDATA", "STMTENDRS", "STMTENDTRNRS", "CCSTMTENDRS"}
#: Aggregates that may stand among a statement's transactions.
_IN_LIST = {"STMTTRN", "DTSTART", "DTEND"}


def parse_ofx(path: Path, encoding: str | None = None) -> list[BankTransaction]:
    """Every transaction of every statement in the file, in file order."""
    name = str(path)
    data = path.read_bytes()
    head = data[:4096].lstrip(b"\xef\xbb\xbf").lstrip()
    xml = head.startswith(b"<?xml")
    root = _xml_tree(path, name) if xml else _sgml_tree(data, name, encoding)
    if root.tag != "OFX":
        fail(name, None, "not an OFX file (no <OFX> element)")
    statements = [el for el in root.iter() if el.tag in ("STMTRS", "CCSTMTRS")]
    if not statements:
        fail(name, None, "not a bank statement: the OFX file holds no STMTRS or CCSTMTRS")
    found: list[BankTransaction] = []
    for stmt in statements:
        found.extend(_statement(stmt, name))
    return found


# -- OFX 2.x ----------------------------------------------------------------------------------
def _xml_tree(path: Path, name: str) -> Element:
    from arcli.reconcile.bankformats.camt import parse_xml

    root = parse_xml(path, name)
    for el in root.iter():  # OFX has no namespaces, but be safe with a stray default one
        el.tag = el.tag.rsplit("}", 1)[-1].upper()
        el.text = (el.text or "").strip()
    return root


# -- OFX 1.x ----------------------------------------------------------------------------------
def _sgml_tree(data: bytes, name: str, encoding: str | None) -> Element:
    """The OFX body as an element tree; each element's ``line`` attribute is its line."""
    header_end = data.find(b"<")
    if header_end < 0:
        fail(name, None, "not an OFX file (no <OFX> element)")
    header = data[:header_end].decode("ascii", errors="replace")
    fields = dict(_header_fields(header))
    if "OFXHEADER" not in fields:
        fail(name, 1, "not an OFX file (no OFXHEADER line)")
    text = decode(data, encoding or _codec(fields, name), name)
    return _build(text, text.find("<"), name)


def _header_fields(header: str):
    for line in header.replace("\r", "\n").split("\n"):
        key, sep, value = line.partition(":")
        if sep:
            yield key.strip().upper(), value.strip().upper()


def _codec(fields: dict[str, str], name: str) -> str:
    if fields.get("ENCODING") in ("UTF-8", "UTF8"):
        return "utf-8"
    charset = fields.get("CHARSET", "NONE")
    if charset not in _CHARSETS:
        fail(name, None, "unknown OFX CHARSET; give the file's encoding with --encoding NAME",
             charset)
    return _CHARSETS[charset]


def _build(text: str, start: int, name: str) -> Element:
    """SGML to a tree: an element followed by text is a leaf (its end tag optional); any
    other element is an aggregate and must be closed."""
    root = Element("#root")
    stack = [root]
    closed = {tag.upper() for tag in re.findall(r"</([A-Za-z0-9_.]+)>", text)}
    position, line, counted = text.find("<", start), 1, 0
    while position >= 0:
        match = _TAG.match(text, position)
        line += text.count("\n", counted, position)
        counted = position
        if not match:
            fail(name, line, "unreadable OFX tag", text[position:position + 30])
        closing, tag = match.group(1) == "/", match.group(2).upper()
        following = text.find("<", match.end())
        value = text[match.end():following if following >= 0 else len(text)]
        if closing:
            _close(stack, tag, name, line)
        else:
            element = Element(tag, line=str(line))
            stack[-1].append(element)
            if tag in _AGGREGATES and value.strip():
                fail(name, line, f"text inside the aggregate <{tag}>", value.strip()[:30])
            if value.strip():
                element.text = html.unescape(value.strip())
            elif tag in _AGGREGATES or tag in closed:
                stack.append(element)
            else:
                element.text = ""  # an empty leaf without an end tag
        position = following
    if len(stack) > 1:
        fail(name, None, f"the file ends inside <{stack[-1].tag}> (cut short?)")
    if len(root) != 1:
        fail(name, None, "not an OFX file (no single <OFX> element)")
    return root[0]


def _close(stack: list[Element], tag: str, name: str, line: int) -> None:
    parent = stack[-1]
    if parent.tag == tag:
        stack.pop()
    elif len(parent) and parent[-1].tag == tag and parent[-1].text is not None:
        return  # the optional end tag of a leaf
    else:
        fail(name, line, f"</{tag}> closes nothing open (open: <{parent.tag}>)")


# -- statements -------------------------------------------------------------------------------
def _leaf(el: Element | None, *path: str) -> str:
    for tag in path:
        if el is None:
            return ""
        el = el.find(tag)
    return (el.text or "").strip() if el is not None else ""


def _where(name: str, el: Element, fallback: str) -> str:
    line = el.get("line")
    return f"{name}: line {line}" if line else f"{name}: {fallback}"


def _statement(stmt: Element, name: str) -> list[BankTransaction]:
    where = _where(name, stmt, stmt.tag)
    currency = currency_of(_leaf(stmt, "CURDEF"), f"{where}: CURDEF")
    account = _leaf(stmt, "BANKACCTFROM", "ACCTID") or _leaf(stmt, "CCACCTFROM", "ACCTID")
    listing = stmt.find("BANKTRANLIST")
    if listing is None:
        return []
    for el in listing:
        if el.tag not in _IN_LIST:
            fail(_where(name, el, f"{stmt.tag} {account}"), None,
                 f"unknown element <{el.tag}> among the transactions")
    return [_transaction(el, name, currency, account, index) for index, el in
            enumerate(listing.findall("STMTTRN"), start=1)]


def _transaction(el: Element, name: str, currency: str, account: str,
                 index: int) -> BankTransaction:
    where = _where(name, el, f"account {account} transaction {index}")
    amount = signed_amount(_leaf(el, "TRNAMT"), f"{where}: TRNAMT")
    day = _date(_leaf(el, "DTPOSTED"), f"{where}: DTPOSTED")
    user_day = _leaf(el, "DTUSER")
    kind_code = _leaf(el, "TRNTYPE").upper()
    if amount > 0 and kind_code in _OUTGOING:
        fail(where, None, f"TRNTYPE {kind_code} with a positive amount: the type says money "
                          "out, the sign says money in", _leaf(el, "TRNAMT"))
    kind = ZERO if amount == 0 else CREDIT if amount > 0 else DEBIT
    own = _leaf(el, "CURRENCY", "CURSYM")
    tx_currency = currency_of(own, f"{where}: CURRENCY") if own else currency
    fitid = _leaf(el, "FITID")
    return BankTransaction(
        bank_ref=fitid or f"{day}-{amount}-{index}", booking_date=day,
        value_date=_date(user_day, f"{where}: DTUSER") if user_day else day,
        amount=abs(amount), currency=tx_currency, credit=kind == CREDIT,
        payer_name=_leaf(el, "NAME") or _leaf(el, "PAYEE", "NAME"),
        payer_account=_leaf(el, "BANKACCTTO", "ACCTID") or _leaf(el, "CCACCTTO", "ACCTID"),
        remittance=_leaf(el, "MEMO"), account=account, where=where, kind=kind)


def _date(text: str, where: str) -> dt.date:
    """``YYYYMMDD[HHMMSS[.XXX]][[±h:TZ]]``: the day is what a booking needs."""
    try:
        return dt.datetime.strptime(text[:8], "%Y%m%d").date() if re.match(r"\d{8}", text) \
            else _bad_date(text, where)
    except ValueError:
        _bad_date(text, where)


def _bad_date(text: str, where: str):
    fail(where, None, "invalid date (YYYYMMDD)", text)
