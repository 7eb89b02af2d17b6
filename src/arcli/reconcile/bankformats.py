"""Reading bank statements: ISO 20022 camt.053, SWIFT MT940, OFX (1.x SGML, 2.x XML), CSV.

Every parser yields :class:`BankTransaction` with exact Decimal amounts and a location
(file and line or entry) for error messages. XML is parsed with defusedxml, so a hostile
file cannot expand entities or reach the network.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from arcli import money
from arcli.errors import InputError, InputProblem

FORMATS = ("camt053", "mt940", "ofx", "csv")


@dataclass(frozen=True)
class BankTransaction:
    bank_ref: str
    booking_date: dt.date
    value_date: dt.date | None
    amount: Decimal  # positive
    currency: str
    credit: bool  # money received
    payer_name: str
    payer_account: str
    remittance: str
    account: str
    where: str  # "file: line N" / "file: entry N"


def _fail(name: str, line: int | None, message: str, value: str | None = None):
    raise InputError([InputProblem(name, line, None, value, message)])


def detect(path: Path, explicit: str | None) -> str:
    if explicit:
        return explicit
    head = path.read_bytes()[:2048].lstrip(b"\xef\xbb\xbf").lstrip()
    if b"camt.053" in head or (head.startswith(b"<?xml") and b"BkToCstmrStmt" in head):
        return "camt053"
    if b"OFXHEADER" in head or b"<OFX>" in head.upper():
        return "ofx"
    if head.startswith(b":20:") or b"\n:20:" in head or head.startswith(b"{1:"):
        return "mt940"
    return "csv"


# -- camt.053 -----------------------------------------------------------------------------
def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(el, *path: str):
    for name in path:
        if el is None:
            return None
        el = next((c for c in el if _local(c.tag) == name), None)
    return el


def _text(el, *path: str) -> str:
    found = _find(el, *path)
    return (found.text or "").strip() if found is not None else ""


def _first(el, *paths: tuple[str, ...]) -> str:
    for path in paths:
        value = _text(el, *path)
        if value:
            return value
    return ""


def parse_camt053(path: Path) -> list[BankTransaction]:
    import defusedxml.ElementTree as SafeET
    from defusedxml import DefusedXmlException

    name = str(path)
    try:
        root = SafeET.parse(str(path)).getroot()
    except (SafeET.ParseError, DefusedXmlException) as exc:
        _fail(name, getattr(exc, "position", (None,))[0], f"not a safe, well-formed XML: {exc}")
    statement_parent = _find(root, "BkToCstmrStmt")
    if statement_parent is None:
        _fail(name, None, "not a camt.053 statement (no BkToCstmrStmt)")
    found = []
    for stmt in (s for s in statement_parent if _local(s.tag) == "Stmt"):
        account = _first(stmt, ("Acct", "Id", "IBAN"), ("Acct", "Id", "Othr", "Id"))
        entries = [e for e in stmt if _local(e.tag) == "Ntry"]
        for index, entry in enumerate(entries, start=1):
            found.append(_camt_entry(entry, account, f"{name}: entry {index}"))
    return found


def _camt_entry(entry, account: str, where: str) -> BankTransaction:
    amount_el = _find(entry, "Amt")
    if amount_el is None:
        _fail(where, None, "entry without Amt")
    amount = _decimal(amount_el.text or "", where)
    currency = money.check_currency(amount_el.get("Ccy", ""))
    tx = _find(entry, "NtryDtls", "TxDtls")
    parties = _find(tx, "RltdPties") if tx is not None else None
    payer = _first(parties, ("Dbtr", "Nm"), ("Dbtr", "Pty", "Nm")) if parties is not None else ""
    payer_account = _first(parties, ("DbtrAcct", "Id", "IBAN"),
                           ("DbtrAcct", "Id", "Othr", "Id")) if parties is not None else ""
    remittance = ""
    if tx is not None:
        rmt = _find(tx, "RmtInf")
        if rmt is not None:
            parts = [(c.text or "").strip() for c in rmt if _local(c.tag) == "Ustrd"]
            parts += [_text(s, "CdtrRefInf", "Ref") for s in rmt if _local(s.tag) == "Strd"]
            remittance = " ".join(p for p in parts if p)
    ref = _first(entry, ("AcctSvcrRef",), ("NtryRef",)) or \
        (_first(tx, ("Refs", "AcctSvcrRef"), ("Refs", "EndToEndId")) if tx is not None else "")
    booking = _first(entry, ("BookgDt", "Dt"), ("BookgDt", "DtTm"))[:10]
    value = _first(entry, ("ValDt", "Dt"), ("ValDt", "DtTm"))[:10]
    return BankTransaction(
        bank_ref=ref or f"{booking}-{amount}-{where}", booking_date=_iso(booking, where),
        value_date=_iso(value, where) if value else None, amount=amount, currency=currency,
        credit=_text(entry, "CdtDbtInd") == "CRDT", payer_name=payer,
        payer_account=payer_account, remittance=remittance, account=account, where=where)


def _iso(text: str, where: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        _fail(where, None, "invalid date", text)


def _decimal(text: str, where: str) -> Decimal:
    try:
        return Decimal(text.strip().replace(",", "."))
    except InvalidOperation:
        _fail(where, None, "invalid amount", text)


# -- MT940 ----------------------------------------------------------------------------------
_TAG = re.compile(r"^:(\d{2}[A-Z]?):(.*)$")
_LINE61 = re.compile(r"^(?P<date>\d{6})(?P<entry>\d{4})?(?P<mark>R?[CD])(?P<funds>[A-Z])?"
                     r"(?P<amount>\d+,\d*)(?P<type>[A-Z]\w{3})(?P<ref>[^/\n]*)"
                     r"(?://(?P<bankref>[^\n]*))?")


def _mt940_fields(path: Path) -> list[tuple[str, str, int]]:
    fields: list[tuple[str, str, int]] = []
    for number, raw in enumerate(path.read_text(encoding="latin-1").splitlines(), start=1):
        line = raw.rstrip()
        match = _TAG.match(line)
        if match:
            fields.append((match.group(1), match.group(2), number))
        elif fields and line and not line.startswith(("-}", "{", "-")):
            tag, value, start = fields[-1]
            fields[-1] = (tag, value + "\n" + line, start)
    return fields


def _mt940_info(text: str) -> tuple[str, str, str]:
    """(payer name, payer account, remittance) from a :86: field (structured or free)."""
    flat = text.replace("\n", "")
    if "?" in flat:
        parts = dict((m.group(1), m.group(2)) for m in re.finditer(r"\?(\d{2})([^?]*)", flat))
        remittance = " ".join(parts.get(f"{i}", "") for i in range(20, 30)).strip()
        name = (parts.get("32", "") + parts.get("33", "")).strip()
        return name, parts.get("31", "").strip(), remittance
    name = re.search(r"/NAME/([^/]*)", flat)
    account = re.search(r"/IBAN/([^/]*)", flat)
    remittance = re.search(r"/REMI/([^/]*)", flat)
    if name or remittance:
        return ((name.group(1).strip() if name else ""),
                (account.group(1).strip() if account else ""),
                (remittance.group(1).strip() if remittance else flat))
    return "", "", flat.strip()


def parse_mt940(path: Path) -> list[BankTransaction]:
    name = str(path)
    currency, account, found, pending = "", "", [], None
    for tag, value, line in _mt940_fields(path):
        if tag == "25":
            account = value.strip()
        elif tag in ("60F", "60M"):
            currency = money.check_currency(value[7:10])
        elif tag == "61":
            if pending:
                found.append(pending)
            pending = _mt940_line(value, line, currency, account, name)
        elif tag == "86" and pending:
            payer, payer_account, remittance = _mt940_info(value)
            pending = BankTransaction(pending.bank_ref, pending.booking_date, pending.value_date,
                                      pending.amount, pending.currency, pending.credit, payer,
                                      payer_account, remittance, account, pending.where)
    if pending:
        found.append(pending)
    if not currency and found:
        _fail(name, None, "no :60F: opening balance line (currency unknown)")
    return found


def _mt940_entry_date(value_day: dt.date, entry: str | None) -> dt.date:
    """The booking date from the optional MMDD entry field, which carries no year.

    Why: a line valued 31 Dec and booked 2 Jan belongs to the next year, so the year is
    the one that puts the booking date closest to the value date.
    """
    if not entry:
        return value_day
    month, day = int(entry[:2]), int(entry[2:])
    options = []
    for year in (value_day.year - 1, value_day.year, value_day.year + 1):
        try:
            options.append(dt.date(year, month, day))
        except ValueError:  # 29 Feb exists only in some of the candidate years
            continue
    if not options:
        raise ValueError(f"no such booking date {entry}")
    return min(options, key=lambda option: abs((option - value_day).days))


def _mt940_line(value: str, line: int, currency: str, account: str, name: str):
    match = _LINE61.match(value.split("\n")[0])
    if not match:
        _fail(name, line, "unreadable :61: statement line", value)
    try:
        day = dt.datetime.strptime(match.group("date"), "%y%m%d").date()
        booking = _mt940_entry_date(day, match.group("entry"))
    except ValueError:
        _fail(name, line, "invalid date in :61: statement line", value)
    amount = _decimal(match.group("amount"), f"{name}: line {line}")
    credit = match.group("mark") in ("C", "RD")
    ref = (match.group("bankref") or match.group("ref") or "").strip()
    return BankTransaction(ref or f"{day}-{amount}-{line}", booking, day, amount, currency,
                           credit, "", "", "", account, f"{name}: line {line}")


# -- OFX ------------------------------------------------------------------------------------
def _ofx_value(block: str, tag: str) -> str:
    match = re.search(rf"<{tag}>([^<\r\n]*)", block, re.IGNORECASE)
    return match.group(1).strip() if match else ""


def parse_ofx(path: Path) -> list[BankTransaction]:
    name = str(path)
    text = path.read_text(encoding="utf-8", errors="replace")
    currency = money.check_currency(_ofx_value(text, "CURDEF") or "XXX") \
        if _ofx_value(text, "CURDEF") else ""
    account = _ofx_value(text, "ACCTID")
    found = []
    for match in re.finditer(r"<STMTTRN>(.*?)(?:</STMTTRN>|(?=<STMTTRN>)|</BANKTRANLIST>)",
                             text, re.IGNORECASE | re.DOTALL):
        block = match.group(1)
        line = text.count("\n", 0, match.start()) + 1
        where = f"{name}: line {line}"
        amount = _decimal(_ofx_value(block, "TRNAMT"), where)
        posted = _ofx_value(block, "DTPOSTED")[:8]
        try:
            day = dt.datetime.strptime(posted, "%Y%m%d").date()
        except ValueError:
            _fail(name, line, "invalid DTPOSTED", posted)
        if not currency:
            _fail(name, line, "no CURDEF currency")
        found.append(BankTransaction(
            _ofx_value(block, "FITID") or f"{day}-{amount}-{line}", day, day, abs(amount),
            currency, amount > 0, _ofx_value(block, "NAME"),
            _ofx_value(block, "BANKACCTFROM") or "", _ofx_value(block, "MEMO"), account, where))
    return found


# -- CSV (mapped) ---------------------------------------------------------------------------
BANK_FIELDS = ("bank_ref", "date", "value_date", "amount", "currency", "payer_name",
               "payer_account", "remittance")


def parse_csv(path: Path, mapping) -> list[BankTransaction]:
    from arcli.importing.readers import detect_format, open_source, read_records

    source = open_source(str(path))
    found, problems = [], []
    fmt = detect_format(source, mapping.format)
    for line, raw in read_records(source, fmt, encoding=mapping.encoding,
                                  delimiter=mapping.delimiter, skip_rows=mapping.skip_rows):
        rec = mapping.to_native(raw, BANK_FIELDS)
        try:
            amount = money.parse_decimal(rec["amount"], mapping.decimal, mapping.thousands)
            day = mapping.parse_date(rec["date"])
            value_day = mapping.parse_date(rec["value_date"]) if rec["value_date"] else None
            cur = money.check_currency(mapping.currencies.get(rec["currency"], rec["currency"]))
        except (money.MoneyError, ValueError) as exc:
            problems.append(InputProblem(str(path), line, None, None, str(exc)))
            continue
        found.append(BankTransaction(rec["bank_ref"] or f"{day}-{amount}-{line}", day,
                                     value_day, abs(amount), cur, amount > 0,
                                     rec["payer_name"], rec["payer_account"], rec["remittance"],
                                     "", f"{path}: line {line}"))
    if problems:
        raise InputError(problems)
    return found


def read_statement(path: Path, fmt: str | None, mapping=None) -> list[BankTransaction]:
    """The statement's transactions; raises :class:`InputError` for amounts the store
    cannot keep exactly (too many decimals for the currency, or too large)."""
    chosen = detect(path, fmt)
    if chosen == "camt053":
        found = parse_camt053(path)
    elif chosen == "mt940":
        found = parse_mt940(path)
    elif chosen == "ofx":
        found = parse_ofx(path)
    else:
        from arcli.importing.mapping import NATIVE

        found = parse_csv(path, mapping or NATIVE)
    _check_amounts(found)
    return found


def _check_amounts(found: list[BankTransaction]) -> None:
    problems = []
    for tx in found:
        try:
            money.to_minor(tx.amount, tx.currency)
        except money.MoneyError as exc:
            problems.append(InputProblem(tx.where, None, "amount", None, str(exc)))
    if problems:
        raise InputError(problems)
