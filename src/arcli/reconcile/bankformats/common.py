"""What every bank statement parser shares: the transaction type, located errors, exact
amounts, decoding, and the checks that keep a file from losing or inventing money.

A parser reads one format into :class:`BankTransaction` values and raises
:class:`~arcli.errors.InputError` for anything it cannot read for certain: a statement
that is cut short, does not add up from its opening to its closing balance, or holds a
line the parser does not know, is refused as a whole, because a skipped line is a
receipt never posted and a misread one is money booked to the wrong customer.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from itertools import pairwise

from arcli import money
from arcli.errors import InputError, InputProblem

#: What a transaction is, beside a receipt: shown as the reason it is not posted.
CREDIT = "credit"
DEBIT = "debit (money out)"
REVERSED_CREDIT = "reversal of a credit (money out)"
REVERSED_DEBIT = "reversal of a debit (a refund, not a customer's payment)"
PENDING = "not booked yet (pending)"
ZERO = "zero amount"


@dataclass(frozen=True)
class LegacyKey:
    """How arcli 0.1.0 (the single-module parser of commit fd6094f) posted a transaction,
    for books posted before the per-format parsers: its bank reference then, the amount
    it posted (a camt batch booking was one receipt of the whole entry) and which booking
    of the file it came from (the parts of one batch share it).

    Why kept: posting is idempotent by bank reference, and some references changed (an
    MT940 line without a bank reference, a camt entry without one, a camt batch split),
    so a statement posted by that release and read again now would be posted twice.
    """

    ref: str
    amount: Decimal
    booking: str


@dataclass(frozen=True)
class BankTransaction:
    bank_ref: str
    booking_date: dt.date
    value_date: dt.date | None
    amount: Decimal  # positive (zero only for a zero booking, never a receipt)
    currency: str
    credit: bool  # a customer's receipt: booked money in, not a reversal
    payer_name: str  # the counterparty: the payer of a credit, the payee of a debit
    payer_account: str
    remittance: str
    account: str
    where: str  # "file: line N" / "file: statement S entry N"
    kind: str = ""  # why it is not a receipt (DEBIT, REVERSED_CREDIT, ...); CREDIT if it is
    legacy: LegacyKey | None = None  # how arcli 0.1.0 posted it; None: it could not read it

    @property
    def nature(self) -> str:
        """What the transaction is, for a report: receipts and the rest alike."""
        return self.kind or (CREDIT if self.credit else DEBIT)


def fail(where: str, line: int | None, message: str, value: str | None = None):
    """Refuse the file: ``where`` names it (and the element), ``line`` the line if known."""
    raise InputError([InputProblem(where, line, None, value, message)])


def currency_of(code: str, where: str, line: int | None = None) -> str:
    """The ISO 4217 code, or a located error (a misspelt code is bad input, not a bug)."""
    try:
        return money.check_currency(code)
    except money.MoneyError as exc:
        fail(where, line, str(exc))


_AMOUNT = {
    ".": re.compile(r"\d+(?:\.\d*)?|\.\d+"),
    ",": re.compile(r"\d+,\d*"),  # MT940: the comma is mandatory, decimals are not
}


def unsigned_amount(text: str, where: str, line: int | None = None, *,
                    decimal_sep: str = ".") -> Decimal:
    """An unsigned amount written with one decimal separator and no thousands separator,
    as camt (point), MT940 (comma) and OFX write them; anything else is refused, never
    guessed."""
    raw = text.strip()
    if len(raw) > 40:  # camt allows 18 digits, MT940 15: no amount, and no use echoing it
        fail(where, line, "invalid amount (too long)", raw[:40] + "…")
    if not _AMOUNT[decimal_sep].fullmatch(raw) or not raw.isascii():
        fail(where, line, "invalid amount", text)
    return Decimal(raw.replace(",", "."))


def signed_amount(text: str, where: str, line: int | None = None) -> Decimal:
    """An amount that may carry a sign (OFX ``TRNAMT``): ``-30.00``, ``+41800.00``, ``12,50``
    (OFX allows a decimal comma)."""
    raw = text.strip()
    sign = -1 if raw.startswith("-") else 1
    body = raw[1:] if raw[:1] in ("+", "-") else raw
    if "," in body and "." not in body:
        body = body.replace(",", ".")
    return sign * unsigned_amount(body, where, line)


def decode(data: bytes, encoding: str, where: str) -> str:
    """``data`` as text in ``encoding``, or an error naming the line that does not decode."""
    try:
        return data.decode(encoding)
    except LookupError:
        fail(where, None, "unknown text encoding", encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        fail(where, line, f"not valid {encoding} text (at byte {exc.start}); "
                          "give its encoding with --encoding NAME")


def decode_guessing(data: bytes, encoding: str | None, where: str) -> str:
    """Text of a format that names no encoding (MT940): the one given, else UTF-8, else
    Latin-1 -- the SWIFT character set is ASCII, and German banks write umlauts in one of
    those two."""
    if encoding:
        return decode(data, encoding, where)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def check_balance(where: str, line: int | None, opening: Decimal, movements: Decimal,
                  closing: Decimal, currency: str) -> None:
    """Opening balance plus the booked entries must give the closing balance: the one
    check that shows a statement lost, gained or misread a line."""
    if opening + movements != closing:
        fail(where, line,
             f"the statement does not add up: opening balance {opening} {currency} and its "
             f"entries {movements:+} give {opening + movements}, but its closing balance is "
             f"{closing} (a line lost, added or misread)")


@dataclass(frozen=True)
class Balances:
    """A statement's opening and closing balance, signed, for the chain check."""

    account: str
    currency: str
    opened: dt.date
    opening: Decimal
    closing: Decimal
    where: str
    line: int | None


def check_chain(statements: list[Balances]) -> None:
    """Each statement of an account opens with the balance the one before it closed
    with: a statement repeated in the file (its receipts posted twice) or one missing
    (its receipts never posted) breaks the chain. Ordered by opening date, as files
    list statements either way round."""
    chains: dict[tuple[str, str], list[Balances]] = {}
    for stmt in statements:
        chains.setdefault((stmt.account, stmt.currency), []).append(stmt)
    for chain in chains.values():
        ordered = sorted(chain, key=lambda s: s.opened)
        for before, after in pairwise(ordered):
            if after.opening != before.closing:
                fail(after.where, after.line,
                     f"opens with {after.opening} {after.currency}, but the statement before "
                     f"it of account {after.account} ({before.where}) closed with "
                     f"{before.closing}: a statement repeated or missing")


def settled(found: list[BankTransaction], *, balanced: bool) -> list[BankTransaction]:
    """The transactions with amounts at the currency's minor unit and bank references
    unique within the file.

    Why unique: posting is idempotent by bank reference, so a second booking under a
    reference already seen in the file would be reported "already posted" and its money
    lost. A repeated reference gets ``#2``, ``#3`` in file order (the same on every rerun).
    In a ``balanced`` format (MT940, camt) the balances have shown both bookings are real;
    elsewhere (OFX, CSV) the same reference on the same booking twice is an export that
    repeated a line, and refused rather than posted twice.
    """
    problems, seen, result = [], {}, []
    for tx in found:
        try:
            amount = money.from_minor(money.to_minor(tx.amount, tx.currency), tx.currency)
        except money.MoneyError as exc:
            problems.append(InputProblem(tx.where, None, "amount", None, str(exc)))
            continue
        earlier = seen.setdefault(tx.bank_ref, [])
        if not balanced and any(_same_booking(tx, other) for other in earlier):
            problems.append(InputProblem(tx.where, None, None, tx.bank_ref,
                                         "the same booking again under the same reference "
                                         f"(first at {earlier[0].where}): a repeated line?"))
        earlier.append(tx)
        ref = tx.bank_ref if len(earlier) == 1 else f"{tx.bank_ref}#{len(earlier)}"
        result.append(_replace(tx, amount=amount, bank_ref=_plain(ref),
                               payer_name=_plain(tx.payer_name),
                               payer_account=_plain(tx.payer_account),
                               remittance=_plain(tx.remittance), account=_plain(tx.account)))
    if problems:
        raise InputError(problems[:50], truncated=len(problems) > 50)
    return result


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]+")


def _plain(text: str) -> str:
    """Bank text without control characters: none belongs in a name or a remittance,
    and an escape sequence would reach the user's terminal in the report."""
    return _CONTROL.sub(" ", text).strip()


def _same_booking(one: BankTransaction, other: BankTransaction) -> bool:
    return (one.booking_date, one.amount, one.currency, one.credit, one.payer_name,
            one.payer_account, one.remittance) == (
        other.booking_date, other.amount, other.currency, other.credit, other.payer_name,
        other.payer_account, other.remittance)


def _replace(tx: BankTransaction, **changes) -> BankTransaction:
    from dataclasses import replace

    return replace(tx, **changes)


def placeholder(ref: str) -> bool:
    """Whether a reference is a placeholder banks write when there is none."""
    return ref.strip().upper().replace(" ", "") in ("", "NONREF", "NOTPROVIDED", "NOREF",
                                                    "NONE", "N/A")
