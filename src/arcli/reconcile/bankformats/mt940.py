"""SWIFT MT940 customer statements and MT942 interim reports.

Hand-written rather than the ``mt-940`` package: given a mistyped tag (``:6l:``), a line it
does not know or a file cut off after a :61: line, that library goes on without the
transaction and without a word, and it reads any text file as an empty statement. Here
every line is accounted for: a field arcli does not know, text outside a field, a
statement without its closing balance, or one whose entries do not lead from its opening
to its closing balance, refuses the file with its line.

Read as real exports write them: SWIFT block headers around each message
(``{1:…}{2:…}{4:`` … ``-}``), several statements in one file, CRLF or CR line ends, no final
line break, :86: fields wrapped over lines or missing, amounts without decimals (``1000,``),
entry dates without a year, MT942 (``:34F:`` floor limit, ``:90D:``/``:90C:`` totals).
:86: is read in the German structured layout (``166?00…?20…?32…``) and the SWIFT-style one
(``/NAME/ /ORDP/ /REMI/ /IBAN/ /CNTP/``), else kept as free text.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

from arcli.reconcile.bankformats.common import (
    CREDIT,
    DEBIT,
    REVERSED_CREDIT,
    REVERSED_DEBIT,
    ZERO,
    Balances,
    BankTransaction,
    LegacyKey,
    check_balance,
    check_chain,
    currency_of,
    decode_guessing,
    fail,
    placeholder,
    unsigned_amount,
)

_FIELD = re.compile(r":(\d{2}[A-Z]?|NS):(.*)")
#: Fields of MT940 and MT942; any other tag refuses the file (a misspelt :61: is a receipt).
_KNOWN = {"20", "21", "25", "25P", "28", "28C", "60F", "60M", "61", "86", "62F", "62M",
          "64", "65", "NS", "13", "13D", "34F", "90D", "90C"}
#: Fields whose value may go on over further lines.
_WRAPPING = {"86", "NS", "61"}
_BALANCE = re.compile(r"(?P<mark>[CD])(?P<date>\d{6})(?P<currency>[A-Z]{3})(?P<amount>\d+,\d*)")
#: Some banks put a space before the amount (the ``mt-940`` package knows it too).
_LINE61 = re.compile(r"(?P<date>\d{6})(?P<entry>\d{4})?(?P<mark>RC|RD|C|D)(?P<funds>[A-Z])? ?"
                     r"(?P<amount>\d+,\d*)(?P<type>[NFS][A-Z0-9]{3})(?P<ref>.*?)"
                     r"(?://(?P<bankref>.*))?")
#: arcli 0.1.0's :61: pattern, matched at the start of the line (see ``legacy_reference``).
_LEGACY61 = re.compile(r"(?P<date>\d{6})(?P<entry>\d{4})?(?P<mark>R?[CD])(?P<funds>[A-Z])?"
                       r"(?P<amount>\d+,\d*)(?P<type>[A-Z]\w{3})(?P<ref>[^/\n]*)"
                       r"(?://(?P<bankref>[^\n]*))?")
_FLOOR = re.compile(r"(?P<currency>[A-Z]{3})[DC]?\d+,\d*")
_TOTAL = re.compile(r"(?P<count>\d{1,5})(?P<currency>[A-Z]{3})(?P<amount>\d+,\d*)")
_SIGN = {"C": 1, "D": -1, "RC": -1, "RD": 1}
_KIND = {"C": CREDIT, "D": DEBIT, "RC": REVERSED_CREDIT, "RD": REVERSED_DEBIT}


@dataclass
class _Field:
    tag: str
    value: str
    line: int


@dataclass
class _Statement:
    """One message: its fields in order, from its :20: to the next one or its end."""

    line: int
    fields: list[_Field] = field(default_factory=list)

    def get(self, *tags: str) -> _Field | None:
        return next((f for f in self.fields if f.tag in tags), None)


def parse_mt940(path: Path, encoding: str | None = None) -> list[BankTransaction]:
    """Every transaction of every statement in the file, in file order."""
    name = str(path)
    text = decode_guessing(path.read_bytes(), encoding, name)
    statements = _statements(_fields(text, name), name)
    if not statements:
        fail(name, None, "not an MT940 statement: no :20: field")
    found: list[BankTransaction] = []
    chain: list[Balances] = []
    for stmt in statements:
        found.extend(_read_statement(stmt, name, chain))
    check_chain(chain)
    return found


def _lines(text: str):
    """(line number, text) of the message lines, the SWIFT envelope taken off."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\x01", "").replace("\x03", "")
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.rstrip()
        if re.match(r"\{[1-5]:", line):
            # {1:…}{2:…}{3:{108:…}}{4: may be followed by the first field on the same line.
            body = line.split("{4:", 1)[1] if "{4:" in line else ""
            if body.strip():
                yield number, body
            continue
        if line.startswith("-"):
            yield number, "-"  # end of message: "-", "-}", "-}{5:{CHK:…}}"
            continue
        yield number, line


def _fields(text: str, name: str) -> list[_Field | None]:
    """The fields in order; None marks the end of a message."""
    fields: list[_Field | None] = []
    for number, line in _lines(text):
        if line == "-":
            fields.append(None)
            continue
        match = _FIELD.fullmatch(line)
        if match:
            if match.group(1) not in _KNOWN:
                fail(name, number, f"unknown MT940 field :{match.group(1)}:", line[:40])
            fields.append(_Field(match.group(1), match.group(2), number))
            continue
        if not line.strip():
            continue
        last = fields[-1] if fields else None
        if last is None:
            # Before a message's first field: a bank's own header (ABN AMRO writes
            # "ABNANL2A", "940", "ABNANL2A" above each statement). It holds no booking.
            continue
        if last.tag not in _WRAPPING or (last.tag == "61" and "\n" in last.value):
            fail(name, number, "not an MT940 line (text outside a field)", line[:40])
        last.value += "\n" + line
    return fields


def _statements(fields: list[_Field | None], name: str) -> list[_Statement]:
    statements: list[_Statement] = []
    current: _Statement | None = None
    for item in fields:
        if item is None:
            current = None
        elif item.tag == "20":
            current = _Statement(item.line, [item])
            statements.append(current)
        elif current is None:
            fail(name, item.line, f"field :{item.tag}: outside a statement (no :20: before it)")
        else:
            current.fields.append(item)
    return statements


def _read_statement(stmt: _Statement, name: str,
                    chain: list[Balances]) -> list[BankTransaction]:
    account_field = stmt.get("25", "25P")
    if account_field is None:
        fail(name, stmt.line, "statement without an account (:25:)")
    account = account_field.value.strip()
    opening, floor = stmt.get("60F", "60M"), stmt.get("34F")
    if opening is not None:
        open_mark, opened, currency, open_amount = _balance(opening, name)
    elif floor is not None:  # MT942
        match = _FLOOR.fullmatch(floor.value.strip())
        if not match:
            fail(name, floor.line, "unreadable :34F: floor limit", floor.value)
        currency = currency_of(match.group("currency"), name, floor.line)
    else:
        fail(name, stmt.line, "statement without an opening balance (:60F:), so its "
                              "currency is unknown")
    found, signed = _entries(stmt, name, currency, account)
    if opening is None:
        _check_totals(stmt, name, currency, signed)
        return found
    closing = stmt.get("62F", "62M")
    if closing is None:
        fail(name, stmt.line, "statement ends without its closing balance (:62F:): "
                              "the file is cut short")
    close_mark, _, close_currency, close_amount = _balance(closing, name)
    if close_currency != currency:
        fail(name, closing.line, f"closing balance in {close_currency}, opening in {currency}")
    check_balance(name, closing.line, open_mark * open_amount, sum(signed, Decimal(0)),
                  close_mark * close_amount, currency)
    chain.append(Balances(account, currency, opened, open_mark * open_amount,
                          close_mark * close_amount, f"{name}: line {opening.line}", None))
    return found


def _balance(item: _Field, name: str) -> tuple[int, dt.date, str, Decimal]:
    match = _BALANCE.fullmatch(item.value.strip())
    if not match:
        fail(name, item.line, f"unreadable :{item.tag}: balance", item.value)
    currency = currency_of(match.group("currency"), name, item.line)
    day = _date(match.group("date"), name, item)
    amount = unsigned_amount(match.group("amount"), name, item.line, decimal_sep=",")
    return (1 if match.group("mark") == "C" else -1), day, currency, amount


def _date(text: str, name: str, item: _Field) -> dt.date:
    try:
        return yymmdd(text)
    except ValueError:
        fail(name, item.line, f"invalid date in :{item.tag}:", item.value)


def _check_totals(stmt: _Statement, name: str, currency: str, signed: list[Decimal]) -> None:
    """An MT942's :90D:/:90C: (number and sum of debit and credit entries) against its
    entries, when the report gives them."""
    for tag, sign in (("90D", -1), ("90C", 1)):
        item = stmt.get(tag)
        if item is None:
            continue
        match = _TOTAL.fullmatch(item.value.strip())
        if not match or currency_of(match.group("currency"), name, item.line) != currency:
            fail(name, item.line, f"unreadable :{tag}: total", item.value)
        mine = [abs(s) for s in signed if s * sign > 0]
        total = unsigned_amount(match.group("amount"), name, item.line, decimal_sep=",")
        if int(match.group("count")) != len(mine) or total != sum(mine, Decimal(0)):
            fail(name, item.line, f":{tag}: says {match.group('count')} entries of {total} "
                                  f"{currency}, the report lists {len(mine)} of "
                                  f"{sum(mine, Decimal(0))}")


def _entries(stmt: _Statement, name: str, currency: str,
             account: str) -> tuple[list[BankTransaction], list[Decimal]]:
    found: list[BankTransaction] = []
    signed: list[Decimal] = []
    closed, previous = False, ""
    for item in stmt.fields:
        follows_61, previous = previous == "61", item.tag
        if item.tag in ("62F", "62M"):
            closed = True
        elif item.tag == "61":
            if closed:
                fail(name, item.line, ":61: statement line after the closing balance")
            tx, effect = _statement_line(item, name, currency, account)
            found.append(tx)
            signed.append(effect)
        elif item.tag == "86" and follows_61:  # else it describes the statement
            payer, payer_account, remittance = information(item.value)
            found[-1] = _with_information(found[-1], payer, payer_account, remittance)
    return found, signed


def _with_information(tx: BankTransaction, payer: str, payer_account: str,
                      remittance: str) -> BankTransaction:
    from dataclasses import replace

    return replace(tx, payer_name=payer, payer_account=payer_account, remittance=remittance)


def _statement_line(item: _Field, name: str, currency: str,
                    account: str) -> tuple[BankTransaction, Decimal]:
    first, _, details = item.value.partition("\n")
    match = _LINE61.fullmatch(first.strip())
    if not match:
        fail(name, item.line, "unreadable :61: statement line", item.value)
    try:
        day = yymmdd(match.group("date"))
        booking = entry_date(day, match.group("entry"))
    except ValueError:
        fail(name, item.line, "invalid date in :61: statement line", item.value)
    amount = unsigned_amount(match.group("amount"), name, item.line, decimal_sep=",")
    mark = match.group("mark")
    kind = ZERO if amount == 0 else _KIND[mark]
    ref = _reference(match.group("bankref"), match.group("ref"), details, day, amount, mark)
    where = f"{name}: line {item.line}"
    old_ref = legacy_reference(first, item.line)
    tx = BankTransaction(ref, booking, day, amount, currency, kind == CREDIT, "", "",
                         details.strip(), account, where, kind,
                         LegacyKey(old_ref, amount, f"line {item.line}") if old_ref else None)
    return tx, _SIGN[mark] * amount


def _reference(bank_ref: str | None, own_ref: str, details: str, day: dt.date,
               amount: Decimal, mark: str) -> str:
    """The account servicer's reference (after ``//``); without one, a key made of the
    account owner's reference, the supplementary details, the date, mark and amount.

    Why not the owner's reference alone: it is the payer's text (an invoice number paid
    in instalments, ``NONREF``, Rabobank's ``EREF`` pointing at the next line), so a
    second payment under it would read as already posted. The key holds no line number,
    so the same booking in an MT942 and the day's MT940 is posted once.
    """
    if bank_ref and not placeholder(bank_ref):
        return bank_ref.strip()
    parts = [p for p in (own_ref.strip(), details.split("\n")[0].strip()) if not placeholder(p)]
    # 1000, and 1000,00 are one amount: written the same way in the key.
    return "/".join([*parts, f"{day:%Y%m%d}", f"{mark}{amount.normalize():f}"])


def legacy_reference(first_line: str, line: int) -> str | None:
    """The bank reference arcli 0.1.0 gave a :61: line (for books posted before the
    per-format parsers): the text after ``//``, else the account owner's reference up to
    its first ``/``, else value date, amount and line number; None for a line that
    release could not read (it refused the file, so posted nothing from it)."""
    match = _LEGACY61.match(first_line)
    if not match:
        return None
    ref = (match.group("bankref") or match.group("ref") or "").strip()
    if ref:
        return ref
    try:
        day = yymmdd(match.group("date"))
    except ValueError:
        return None
    return f"{day}-{Decimal(match.group('amount').replace(',', '.'))}-{line}"


def yymmdd(text: str) -> dt.date:
    """A SWIFT date; years 00-68 are 20xx, as ``strptime``'s ``%y`` reads them (without
    its cost, paid twice per statement line)."""
    year = int(text[:2])
    return dt.date(year + (2000 if year < 69 else 1900), int(text[2:4]), int(text[4:6]))


def entry_date(value_day: dt.date, entry: str | None) -> dt.date:
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


# -- :86: information to the account owner -------------------------------------------------
_GVC = re.compile(r"\d{3}(?P<sep>[?<~^])\d\d")
_SEPA_KEYS = re.compile(r"(EREF|KREF|MREF|CRED|DEBT|SVWZ|ABWA|ABWE|IBAN|BIC)\+")
_SWIFT_CODES = ("TRTP", "TRCD", "IBAN", "BIC", "NAME", "REMI", "EREF", "ORDP", "BENM", "CNTP",
                "ADDR", "MARF", "CSID", "PREF", "RTRN", "ULTC", "ULTD", "ULTB", "PURP", "SVCL",
                "ACCW", "BUSP", "ID", "ISDT", "OCMT", "CHGS", "EXCH", "RTRE")
_SWIFT = re.compile(r"/(" + "|".join(_SWIFT_CODES) + r")/")
#: Purpose and name subfields are cut at 27 characters, mid-word if need be.
_PURPOSE_WIDTH = 27


def information(text: str) -> tuple[str, str, str]:
    """(payer name, payer account, remittance) from a :86: field: German structured,
    SWIFT-style codes, or free text."""
    flat = text.replace("\n", "")
    gvc = _GVC.match(flat)
    if gvc:
        return _structured(flat, gvc.group("sep"))
    if _SWIFT.search(flat):
        return _swift_codes(flat)
    return "", "", " ".join(line.strip() for line in text.split("\n")).strip()


def _structured(flat: str, sep: str) -> tuple[str, str, str]:
    parts: dict[str, str] = {}
    for match in re.finditer(rf"{re.escape(sep)}(\d\d)([^{re.escape(sep)}]*)", flat):
        parts.setdefault(match.group(1), match.group(2))
    purpose = _joined(parts, [*range(20, 30), *range(60, 64)])
    name = _joined(parts, [32, 33])
    return name, parts.get("31", "").strip(), _sepa_purpose(purpose)


def _joined(parts: dict[str, str], keys: list[int]) -> str:
    """Subfields ?20-?29 (purpose) or ?32-?33 (name) as one text: a full 27-character
    subfield was cut mid-word and goes on without a space; a shorter one ended where its
    writer ended it."""
    pieces = [parts[f"{key}"] for key in keys if parts.get(f"{key}")]
    text = pieces[0] if pieces else ""
    for before, piece in pairwise(pieces):
        text += ("" if len(before) >= _PURPOSE_WIDTH else " ") + piece
    return text.strip()


def _sepa_purpose(purpose: str) -> str:
    """The remittance text of a SEPA purpose (``EREF+… SVWZ+…``): SVWZ, then the
    end-to-end reference unless a placeholder; a purpose without keywords as it is."""
    pieces = _SEPA_KEYS.split(purpose)
    if len(pieces) < 3:
        return purpose
    keyed = dict(zip(pieces[1::2], (p.strip() for p in pieces[2::2]), strict=False))
    chosen = [keyed.get("SVWZ", "")]
    if not placeholder(keyed.get("EREF", "")):
        chosen.append(keyed.get("EREF", ""))
    return " ".join(p for p in chosen if p) or purpose


def _swift_codes(flat: str) -> tuple[str, str, str]:
    pieces = _SWIFT.split(flat)
    values: dict[str, str] = {}
    for code, value in zip(pieces[1::2], pieces[2::2], strict=False):
        values.setdefault(code, value.strip().strip("/").strip())
    counterparty = values.get("CNTP", "").split("/")
    name = (values.get("ORDP") or values.get("NAME") or values.get("BENM")
            or (counterparty[2] if len(counterparty) > 2 else ""))
    account = values.get("IBAN") or (counterparty[0] if counterparty[0] else "")
    remittance = re.sub(r"^(USTD|STRD)/+(CUR/+)?", "", values.get("REMI", "")).strip("/ ")
    if not remittance:
        remittance = flat.strip()
    return name.strip(), account.strip(), remittance
