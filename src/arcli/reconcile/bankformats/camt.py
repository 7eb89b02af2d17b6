"""ISO 20022 cash management: camt.053 statements (also camt.052 reports and camt.054
notifications, which share the entry layout), versions .001.02 to .001.13.

Parsed with defusedxml, so a hostile file cannot expand entities or reach the network.
Elements are found by local name: the versions differ in their namespace and in a few
wrappers (``Sts`` became ``Sts/Cd`` in version 6, parties gained ``Pty`` in version 8),
which are both read.

An entry is one booking on the account; a batch booking (``Btch``) carries one ``TxDtls``
per payment in it, and each of those is a transaction of its own, whose amounts must
add up to the entry's.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

from arcli.reconcile.bankformats.common import (
    CREDIT,
    DEBIT,
    PENDING,
    REVERSED_CREDIT,
    REVERSED_DEBIT,
    ZERO,
    Balances,
    BankTransaction,
    LegacyKey,
    check_balance,
    check_chain,
    currency_of,
    fail,
    placeholder,
    unsigned_amount,
)

#: The document element's child in each message kind, and what its statements are called.
_MESSAGES = {"BkToCstmrStmt": "Stmt", "BkToCstmrAcctRpt": "Rpt", "BkToCstmrDbtCdtNtfctn": "Ntfctn"}
_NAMESPACE = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.05[234]\.001\.(\d\d)")
_OPENING = ("OPBD", "PRCD")
_CLOSING = ("CLBD",)


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def _children(el, name: str) -> list:
    return el.findall(name) if el is not None else []


def _find(el, *path: str):
    """The element at ``path`` (local names: the tree's namespaces are taken off once)."""
    return el.find("/".join(path)) if el is not None else None


def _found(el, *paths: tuple[str, ...]):
    """The first of ``paths`` present (an element without children is false: test None)."""
    for path in paths:
        found = _find(el, *path)
        if found is not None:
            return found
    return None


def _text(el, *path: str) -> str:
    found = _find(el, *path)
    return (found.text or "").strip() if found is not None else ""


def _first(el, *paths: tuple[str, ...]) -> str:
    for path in paths:
        value = _text(el, *path)
        if value:
            return value
    return ""


def parse_xml(path: Path, name: str):
    """The root element, parsed by defusedxml; any failure is the file's, located."""
    import xml.parsers.expat

    import defusedxml.ElementTree as SafeET
    from defusedxml import DefusedXmlException

    try:
        return SafeET.parse(str(path)).getroot()
    except SafeET.ParseError as exc:
        fail(name, getattr(exc, "position", (None,))[0], f"not a safe, well-formed XML: {exc}")
    except DefusedXmlException as exc:
        fail(name, None, f"not a safe, well-formed XML: {exc}")
    except (LookupError, ValueError, xml.parsers.expat.ExpatError) as exc:
        # An encoding Python does not know (``encoding="X-FOO"``) fails in the codec lookup.
        fail(name, None, f"not a readable XML file: {exc}")


def parse_camt053(path: Path, encoding: str | None = None) -> list[BankTransaction]:
    """Every transaction of every statement in the document, in file order."""
    name = str(path)
    root = parse_xml(path, name)
    if _local(root.tag) != "Document":
        fail(name, None, f"not an ISO 20022 camt document (root element <{_local(root.tag)}>)")
    version = _NAMESPACE.fullmatch(root.tag[1:].split("}", 1)[0]) if "}" in root.tag else None
    if "}" in root.tag and not version:
        fail(name, None, "not a camt.052/053/054 document", root.tag[1:].split("}", 1)[0])
    for el in root.iter():  # one namespace (checked above): local names from here on
        el.tag = _local(el.tag)
    message = next((c for c in root if c.tag in _MESSAGES), None)
    if message is None:
        fail(name, None, "not a bank statement: no BkToCstmrStmt (camt.053), "
                         "BkToCstmrAcctRpt (camt.052) or BkToCstmrDbtCdtNtfctn (camt.054)")
    statements = _children(message, _MESSAGES[message.tag])
    if not statements:
        fail(name, None, f"the document holds no statement (<{_MESSAGES[message.tag]}>)")
    found: list[BankTransaction] = []
    chain: list[Balances] = []
    for number, stmt in enumerate(statements, start=1):
        label = _text(stmt, "Id") or str(number)
        found.extend(_statement(stmt, name, label, chain))
    check_chain(chain)
    return found


def _statement(stmt, name: str, label: str, chain: list[Balances]) -> list[BankTransaction]:
    where = f"{name}: statement {label}"
    account = _first(stmt, ("Acct", "Id", "IBAN"), ("Acct", "Id", "Othr", "Id"))
    found, movement, currencies = [], Decimal(0), set()
    for index, entry in enumerate(_children(stmt, "Ntry"), start=1):
        place = f"{where} entry {index}"
        parts, signed, currency = _entry(entry, account, place, f"{label}-{index}",
                                         f"{name}: entry {index}")
        found.extend(parts)
        movement += signed
        currencies.add(currency)
    balances = _check_balances(stmt, where, movement, currencies)
    if balances is not None:
        chain.append(Balances(account, balances[2], balances[3], balances[0], balances[1],
                              where, None))
    return found


def _balance(stmt, codes: tuple[str, ...], where: str) -> tuple[Decimal, str, str] | None:
    """(signed amount, currency, date) of the first balance of one of ``codes``."""
    for bal in _children(stmt, "Bal"):
        code = _first(bal, ("Tp", "CdOrPrtry", "Cd"), ("Tp", "CdOrPrtry", "Prtry"))
        if code in codes:
            place = f"{where} balance {code}"
            amount_el = _find(bal, "Amt")
            if amount_el is None:
                fail(place, None, "balance without Amt")
            amount = unsigned_amount(amount_el.text or "", place)
            day = _first(bal, ("Dt", "Dt"), ("Dt", "DtTm"))
            return (amount * _direction(bal, place),
                    currency_of(amount_el.get("Ccy", ""), place), day)
    return None


def _check_balances(stmt, where: str, movement: Decimal,
                    currencies: set[str]) -> tuple[Decimal, Decimal, str, dt.date] | None:
    """(opening, closing, currency, opening date) once they tie out with the booked
    entries; None for a report or a page without both balances."""
    opening, closing = _balance(stmt, _OPENING, where), _balance(stmt, _CLOSING, where)
    if opening is None or closing is None:
        return None
    if opening[1] != closing[1] or currencies - {opening[1]}:
        fail(where, None, f"balances in {opening[1]} and {closing[1]}, entries in "
                          f"{', '.join(sorted(currencies))}")
    check_balance(where, None, opening[0], movement, closing[0], opening[1])
    opened = _iso(opening[2], f"{where} balance date") if opening[2] else dt.date.min
    return opening[0], closing[0], opening[1], opened


def _direction(el, where: str) -> int:
    indicator = _text(el, "CdtDbtInd")
    if indicator not in ("CRDT", "DBIT"):
        fail(where, None, "CdtDbtInd must be CRDT or DBIT", indicator)
    return 1 if indicator == "CRDT" else -1


def _status(entry) -> str:
    return _first(entry, ("Sts", "Cd"), ("Sts", "Prtry"), ("Sts",))


def _entry(entry, account: str, where: str, position: str,
           legacy_where: str) -> tuple[list[BankTransaction], Decimal, str]:
    """The entry's transactions, its signed effect on the booked balance, its currency.
    ``position`` (statement and entry number) makes a reference for an entry without one
    that is the same whatever the file is called; ``legacy_where`` is where arcli 0.1.0
    said the entry was (see ``legacy_reference``)."""
    amount_el = _find(entry, "Amt")
    if amount_el is None:
        fail(where, None, "entry without Amt")
    text = amount_el.text or ""
    if text.strip().startswith("-"):
        fail(where, None, "negative Amt: camt amounts carry no sign, CdtDbtInd gives the "
                          "direction", text)
    amount = unsigned_amount(text, f"{where}: Amt")
    currency = currency_of(amount_el.get("Ccy", ""), f"{where}: Amt Ccy")
    sign = _direction(entry, where)
    booked = _status(entry) in ("BOOK", "")
    reversal = _text(entry, "RvslInd").lower() in ("true", "1")
    details = [tx for dtls in _children(entry, "NtryDtls") for tx in _children(dtls, "TxDtls")]
    booking_text = _first(entry, ("BookgDt", "Dt"), ("BookgDt", "DtTm"),
                          ("ValDt", "Dt"), ("ValDt", "DtTm"))
    if not booking_text:
        fail(where, None, "entry without BookgDt or ValDt")
    booking = _iso(booking_text, where)
    value_text = _first(entry, ("ValDt", "Dt"), ("ValDt", "DtTm"))
    value = _iso(value_text, where) if value_text else None
    entry_ref = _first(entry, ("AcctSvcrRef",), ("NtryRef",))
    shares = _shares(details, amount, sign, currency, where)
    old_ref = legacy_reference(entry, amount, legacy_where)
    legacy = LegacyKey(old_ref, amount, position) if old_ref else None
    found = []
    for index, (tx, share, share_sign) in enumerate(shares, start=1):
        kind = _kind(share_sign, reversal, booked, share)
        ref = _reference(entry_ref, tx, index, len(shares)) or \
            f"{booking}-{amount}-{position}" + (f"/{index}" if len(shares) > 1 else "")
        payer, payer_account = _party(tx, share_sign)
        found.append(BankTransaction(
            bank_ref=ref, booking_date=booking, value_date=value, amount=share,
            currency=currency, credit=kind == CREDIT, payer_name=payer,
            payer_account=payer_account,
            remittance=_remittance(tx) or _text(entry, "AddtlNtryInf"), account=account,
            where=where if len(shares) == 1 else f"{where} transaction {index}", kind=kind,
            legacy=legacy))
    return found, (sign * amount if booked else Decimal(0)), currency


def _kind(sign: int, reversal: bool, booked: bool, amount: Decimal) -> str:
    if not booked:
        return PENDING
    if amount == 0:
        return ZERO
    if reversal:
        return REVERSED_DEBIT if sign > 0 else REVERSED_CREDIT
    return CREDIT if sign > 0 else DEBIT


def _shares(details: list, amount: Decimal, sign: int, currency: str,
            where: str) -> list[tuple[object, Decimal, int]]:
    """(TxDtls, amount, sign) of each transaction in the entry. One transaction (or none
    described) takes the entry's booked amount; the transactions of a batch take their
    own, which must add up to the entry's -- else the split is not known for certain."""
    if len(details) <= 1:
        return [(details[0] if details else None, amount, sign)]
    shares, total = [], Decimal(0)
    for index, tx in enumerate(details, start=1):
        place = f"{where} transaction {index}"
        amount_el = _found(tx, ("AmtDtls", "TxAmt", "Amt"), ("Amt",),
                           ("AmtDtls", "InstdAmt", "Amt"))
        if amount_el is None:
            fail(place, None, "a batch booking's transaction without an amount: the entry "
                              "cannot be split among its payers")
        text = amount_el.text or ""
        if text.strip().startswith("-"):
            fail(place, None, "negative Amt", text)
        share = unsigned_amount(text, f"{place}: Amt")
        if currency_of(amount_el.get("Ccy", ""), f"{place}: Amt Ccy") != currency:
            fail(place, None, f"transaction amount not in the entry's currency {currency}",
                 amount_el.get("Ccy", ""))
        share_sign = _direction(tx, place) if _find(tx, "CdtDbtInd") is not None else sign
        shares.append((tx, share, share_sign))
        total += share * share_sign
    if total != amount * sign:
        fail(where, None, f"the batch's transactions add up to {abs(total)} {currency}, "
                          f"the entry books {amount}")
    return shares


def _reference(entry_ref: str, tx, index: int, count: int) -> str:
    """The bank's reference for the transaction: the entry's (the account servicer's
    reference is unique; an entry reference is unique within its statement) for a single
    transaction, the transaction's own or the entry's with its number in a batch.
    The payer's end-to-end id is no reference: payers repeat it (an invoice number paid
    in instalments, ``NOTPROVIDED``), and a repeated reference reads as already posted."""
    tx_ref = _first(tx, ("Refs", "AcctSvcrRef")) if tx is not None else ""
    tx_ref = "" if placeholder(tx_ref) else tx_ref
    if count == 1:
        return entry_ref or tx_ref
    if tx_ref and tx_ref != entry_ref:
        return tx_ref
    return f"{entry_ref}/{index}" if entry_ref else ""


def legacy_reference(entry, amount: Decimal, legacy_where: str) -> str | None:
    """The bank reference arcli 0.1.0 gave an entry (for books posted before the
    per-format parsers): the entry's AcctSvcrRef or NtryRef, else its first transaction's
    AcctSvcrRef or EndToEndId, else booking date, amount and ``legacy_where`` (the file as
    named and the entry's number in its statement). That release posted a batch booking
    as one receipt of the whole entry under it. None without a BookgDt (it refused the
    file)."""
    booking = _first(entry, ("BookgDt", "Dt"), ("BookgDt", "DtTm"))[:10]
    if not booking:
        return None
    tx = _find(_find(entry, "NtryDtls"), "TxDtls")
    return (_first(entry, ("AcctSvcrRef",), ("NtryRef",))
            or _first(tx, ("Refs", "AcctSvcrRef"), ("Refs", "EndToEndId"))
            or f"{booking}-{amount}-{legacy_where}")


def _party(tx, sign: int) -> tuple[str, str]:
    """Name and account of the other side: the debtor of a credit, the creditor of a debit."""
    if tx is None:
        return "", ""
    parties = _find(tx, "RltdPties")
    who, account = ("Dbtr", "DbtrAcct") if sign > 0 else ("Cdtr", "CdtrAcct")
    name = _first(parties, (who, "Nm"), (who, "Pty", "Nm"), ("Ultmt" + who, "Nm"),
                  ("Ultmt" + who, "Pty", "Nm"))
    number = _first(parties, (account, "Id", "IBAN"), (account, "Id", "Othr", "Id"))
    return name, number


def _remittance(tx) -> str:
    if tx is None:
        return ""
    parts = []
    for rmt in _children(tx, "RmtInf"):
        parts += [(c.text or "").strip() for c in _children(rmt, "Ustrd")]
        for strd in _children(rmt, "Strd"):
            parts += [_text(doc, "Nb") for doc in _children(strd, "RfrdDocInf")]
            parts.append(_text(strd, "CdtrRefInf", "Ref"))
            parts += [(c.text or "").strip() for c in _children(strd, "AddtlRmtInf")]
    text = " ".join(p for p in parts if p)
    return text or _text(tx, "AddtlTxInf")


def _iso(text: str, where: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        fail(where, None, "invalid date", text)
