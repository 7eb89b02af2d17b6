"""Validating one ledger record into a document, or into precise problems.

Every check names the field and value, so the error message can point at file, line and
column. Amounts must be exact in the currency's minor unit: ``12.345 EUR`` is rejected,
never rounded, because a silently rounded cent is a figure that will not tie out later.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import NamedTuple

from arcli import money
from arcli.allocation import CREDIT_TYPES, DOCUMENT_TYPES, sign_of
from arcli.importing.mapping import LEDGER_FIELDS, Mapping

#: Longest document number or customer id (the store's columns are VARCHAR(64)).
MAX_KEY_LENGTH = 64

#: A record by position (a CSV row's fields) to its row, or None: see LedgerValidator.quick.
QuickCheck = Callable[[int, list[str]], "LedgerRow | None"]


@dataclass(frozen=True)
class CustomerTerms:
    """What validation needs to know about a customer."""

    terms_days: int | None
    currency: str | None


class LedgerRow(NamedTuple):
    """A validated document, ready for the store.

    A named tuple rather than a frozen dataclass: one is built per record, and a frozen
    dataclass sets each of its eleven fields through ``object.__setattr__``.
    """

    line: int
    type: str
    number: str
    customer: str
    date: dt.date
    due_date: dt.date
    amount_minor: int
    currency: str
    reference: str
    description: str
    content_hash: str

    @property
    def sign(self) -> int:
        return sign_of(self.type)


class FieldProblem(Exception):
    """One invalid field of one record."""

    def __init__(self, field: str, value: str, message: str):
        super().__init__(message)
        self.field, self.value, self.message = field, value, message


def content_hash(fields: dict[str, str]) -> str:
    """Identity of a record's content, to tell a re-import from a changed record."""
    return hash_values(*(f"{k}={fields[k]}" for k in sorted(fields)))


def hash_values(*values: str) -> str:
    """A compact content digest (BLAKE2b-128; identity, not security)."""
    return hashlib.blake2b("\x1f".join(values).encode("utf-8"), digest_size=16).hexdigest()


class LedgerValidator:
    """Turns native-field records into :class:`LedgerRow` using a mapping and customer terms."""

    def __init__(self, mapping: Mapping, customers: dict[str, CustomerTerms], *,
                 default_terms: int = 30, default_currency: str | None = None,
                 create_customers: bool = False):
        self.mapping = mapping
        self.customers = customers
        self.default_terms = default_terms
        self.default_currency = default_currency
        self.create_customers = create_customers
        # Dates and currency codes repeat across a ledger: parse each distinct text once,
        # and compute each date's ISO text and due date once.
        self._dates: dict[str, dt.date] = {}
        self._iso: dict[dt.date, str] = {}
        self._due_dates: dict[tuple[dt.date, int], dt.date] = {}
        self._currencies: dict[str, str] = {}
        # One string object per customer id: rows then share it, and marshalled rows (a big
        # first load's spill and results) hold it once per file instead of once per row.
        self._customer_ids: dict[str, str] = {}  # as written -> checked, normalised id
        self._shared_ids: dict[str, str] = {}
        self._plain_amounts = mapping.decimal == "." and not mapping.thousands
        self._types: dict[str, str] = {}  # type as written -> arcli type, once it was valid
        self._checked_codes: dict[str, str] = {}  # code -> the valid code it stands for

    def row(self, line: int, rec: dict[str, str]) -> LedgerRow:
        """Validate; raises :class:`FieldProblem` for the first bad field found."""
        doc_type, amount_text = self._type_and_amount(rec)
        number = _required(rec, "number")
        customer = self._customer(rec)
        terms = self.customers.get(customer)
        if terms is None and not self.create_customers:
            raise FieldProblem("customer", customer,
                               "unknown customer (import customers first, or --create-customers)")
        currency = self._currency(rec, terms)
        date = self._date(rec, "date")
        due_given = bool(rec.get("due_date", "").strip())
        due = self._due_date(rec, doc_type, date, terms, due_given)
        amount = self._amount(amount_text, currency)
        reference = rec.get("reference", "")
        if reference and not plain_key(reference):
            reference = checked_text("reference", reference, lines=True)
        description = rec.get("description", "")
        digest = hash_values(doc_type, number, customer, self._iso_text(date),
                             self._iso_text(due) if due_given else "", str(amount), currency,
                             reference, description)
        return LedgerRow(line, doc_type, number, customer, date, due, amount, currency,
                         reference, description, digest)

    def _customer(self, rec: dict[str, str]) -> str:
        """The record's customer id, checked and normalised, as the one string object
        every row of that customer shares (marshalled rows -- a big first load's spill
        and results -- then hold it once per file instead of once per row)."""
        given = rec.get("customer", "").strip()
        known = self._customer_ids.get(given)
        if known is None:
            known = _required(rec, "customer")
            known = self._customer_ids[given] = self._shared_ids.setdefault(known, known)
        return known

    def _type_and_amount(self, rec: dict[str, str]) -> tuple[str, str]:
        amount_text = rec.get("amount", "").strip()
        raw_type = rec.get("type", "").strip()
        if not raw_type and self.mapping.sign:
            is_negative = amount_text.startswith(("-", "(")) or amount_text.endswith("-")
            doc_type = self.mapping.sign.get("negative" if is_negative else "positive", "")
            amount_text = amount_text.strip("()-+ ")
        else:
            doc_type = self.mapping.doc_type(raw_type)
        known = _TYPES.get(doc_type)
        if known is None:
            raise FieldProblem("type", raw_type,
                               f"must be one of {', '.join(DOCUMENT_TYPES)} (or map it)")
        if raw_type:
            self._types[raw_type] = known
        return known, amount_text

    def _currency(self, rec: dict[str, str], terms: CustomerTerms | None) -> str:
        given = rec.get("currency", "").strip()
        known = self._currencies.get(given)
        if known:
            return known
        code = self._check_currency(given, terms)
        if given:
            self._currencies[given] = code
        return code

    def _check_currency(self, given: str, terms: CustomerTerms | None) -> str:
        code = self.mapping.currencies.get(given, given) or (terms and terms.currency) \
            or self.default_currency or ""
        if not code:
            raise FieldProblem("currency", "", "missing (and no customer or default currency)")
        try:
            checked = money.check_currency(code)
        except money.MoneyError:
            raise FieldProblem("currency", code, "not an ISO 4217 currency code") from None
        self._checked_codes[code] = checked
        return checked

    def _date(self, rec: dict[str, str], name: str) -> dt.date:
        text = rec.get(name, "").strip()
        known = self._dates.get(text)
        if known is not None:
            return known
        if not text:
            raise FieldProblem(name, "", "missing")
        try:
            if not text.isascii():  # strptime and fromisoformat read other digits too
                raise ValueError(text)
            day = self.mapping.parse_date(text)
        except ValueError:
            expected = self.mapping.date_format or "YYYY-MM-DD"
            raise FieldProblem(name, text, f"not a valid date (expected {expected})") from None
        if not FIRST_DAY <= day <= LAST_DAY:
            raise FieldProblem(name, text, f"out of range (a date from {FIRST_DAY.year} "
                                           f"to {LAST_DAY.year} is expected)")
        self._dates[text] = day
        return day

    def _iso_text(self, day: dt.date) -> str:
        text = self._iso.get(day)
        if text is None:
            text = self._iso[day] = day.isoformat()
        return text

    def _due_date(self, rec, doc_type: str, date: dt.date, terms: CustomerTerms | None,
                  given: bool) -> dt.date:
        if given:
            due = self._date(rec, "due_date")
            if due < date:
                raise FieldProblem("due_date", rec["due_date"], "is before the document date")
            return due
        if sign_of(doc_type) < 0:
            return date
        days = terms.terms_days if terms and terms.terms_days is not None else self.default_terms
        due = self._due_dates.get((date, days))
        if due is None:
            try:
                due = date + dt.timedelta(days=days)
            except OverflowError:  # terms of millions of days, stored before they were checked
                raise FieldProblem("date", self._iso_text(date),
                                   f"with the customer's {days} days' terms the due date "
                                   "is beyond the calendar") from None
            self._due_dates[date, days] = due
        return due

    def _amount(self, text: str, currency: str) -> int:
        minor = _plain_minor(text, money.exponent(currency)) if self._plain_amounts else None
        if minor and minor <= money.MAX_MINOR:
            return minor
        return self._checked_amount(text, currency)

    def _checked_amount(self, text: str, currency: str) -> int:
        try:
            value = plain_decimal(text, self.mapping.decimal, self.mapping.thousands)
        except money.MoneyError as exc:
            raise FieldProblem("amount", text, str(exc)) from None
        if value <= 0:
            raise FieldProblem("amount", text, "must be positive (the type gives the side)")
        places = money.exponent(currency)
        if -value.as_tuple().exponent > places:  # 12.340 EUR too: the export is not in EUR
            raise FieldProblem("amount", text, f"more than {places} decimal place(s), the "
                                               f"most {currency} has")
        try:
            return money.to_minor(value, currency)
        except money.MoneyError as exc:
            raise FieldProblem("amount", text, str(exc)) from None

    def quick(self, columns: Sequence[str]) -> QuickCheck | None:
        """The common record's check by field position, for a file with these columns.

        Why: :meth:`row` costs ~4 µs a record, and a million-document import spends most
        of its parsing there -- in dictionary look-ups by field name and the many small
        checks that make its problems precise. Most records of a big export are ordinary,
        and their type spelling, customer, currency and dates have been seen (and checked)
        on an earlier line. The returned function handles exactly those: a record whose
        fields are all known or plainly valid gets its :class:`LedgerRow` at about half
        the cost. Anything else -- a first sighting, a missing or odd value, an amount
        with a sign, separators or too many decimals, a due date before the date --
        returns None, and the caller runs :meth:`row` on the record, which gives the same
        row or the precise problem (and learns the new values). Both paths give the same
        rows (tested with generated records).

        None when the file cannot take this path: a signed amount column (``sign:`` in the
        mapping), amounts with separators, or a required column missing.
        """
        mapping = self.mapping
        if mapping.sign or not self._plain_amounts:
            return None
        sources = {name: mapping.source_column(name) for name in LEDGER_FIELDS}
        if any(columns.count(source) > 1 for source in sources.values()):
            return None  # by name the last of them counts: leave that to the full path
        position = {name: columns.index(source) if source in columns else None
                    for name, source in sources.items()}
        required = ("type", "number", "customer", "date", "amount")
        if any(position[name] is None for name in required):
            return None
        return _quick_check(self, len(columns), position)


def _quick_check(v: LedgerValidator, width: int, position: dict[str, int | None]) -> QuickCheck:
    """The closure behind :meth:`LedgerValidator.quick` (its values bound as locals)."""
    i_type, i_number, i_customer, i_date, i_amount = (
        position["type"], position["number"], position["customer"], position["date"],
        position["amount"])
    i_due, i_currency, i_reference, i_description = (
        position["due_date"], position["currency"], position["reference"],
        position["description"])
    types, customer_ids, customers, currencies = v._types, v._customer_ids, v.customers, \
        v._currencies
    dates, iso, due_dates = v._dates, v._iso, v._due_dates
    create, default_terms, max_minor = v.create_customers, v.default_terms, money.MAX_MINOR
    checked_codes, mapped_empty = v._checked_codes, v.mapping.currencies.get("", "")
    default_currency, places = v.default_currency, {}
    credit_types = frozenset(CREDIT_TYPES)

    def check(line: int, fields: list[str]) -> LedgerRow | None:
        if len(fields) != width:
            return None
        doc_type = types.get(fields[i_type].strip())
        number = fields[i_number].strip()
        customer = customer_ids.get(fields[i_customer].strip())
        date = dates.get(fields[i_date].strip())
        if doc_type is None or customer is None or date is None or not number \
                or len(number) > MAX_KEY_LENGTH or not plain_key(number):
            return None
        terms = customers.get(customer)
        if terms is None and not create:
            return None
        given = fields[i_currency].strip() if i_currency is not None else ""
        currency = currencies.get(given) if given else checked_codes.get(
            mapped_empty or (terms and terms.currency) or default_currency or "")
        if currency is None:
            return None
        due_text = fields[i_due].strip() if i_due is not None else ""
        if due_text:
            due = dates.get(due_text)
            if due is None or due < date:
                return None
            due_iso = iso.get(due)
        elif doc_type in credit_types:
            due, due_iso = date, ""
        else:
            days = terms.terms_days if terms and terms.terms_days is not None \
                else default_terms
            due, due_iso = due_dates.get((date, days)), ""
        exponent = places.get(currency)
        if exponent is None:
            exponent = places[currency] = money.exponent(currency)
        amount = _plain_minor(fields[i_amount].strip(), exponent)
        date_iso = iso.get(date)
        if due is None or due_iso is None or not amount or amount > max_minor \
                or date_iso is None:
            return None
        reference = fields[i_reference].strip() if i_reference is not None else ""
        if reference and not plain_key(reference):
            return None
        description = fields[i_description].strip() if i_description is not None else ""
        digest = hash_values(doc_type, number, customer, date_iso, due_iso, str(amount),
                             currency, reference, description)
        return LedgerRow(line, doc_type, number, customer, date, due, amount, currency,
                         reference, description, digest)

    return check


#: The document types, each as the one string object every row shares.
_TYPES = {doc_type: doc_type for doc_type in DOCUMENT_TYPES}


def _plain_minor(text: str, places: int) -> int | None:
    """Minor units of a plain ``1234.56`` with at most ``places`` decimals, else None.

    Most amounts look like that; parsing them with string operations takes 0.43 µs
    against 0.74 µs through Decimal. Anything else (signs, exponents, separators, too many
    decimals) goes through the full check, which gives the same value or the error.
    """
    whole, dot, fraction = text.partition(".")
    if len(whole) > 18 or not (whole.isascii() and whole.isdigit()):
        return None
    if not dot:
        return int(whole) * 10 ** places
    if not (fraction.isascii() and fraction.isdigit()) or len(fraction) > places:
        return None
    return int(whole) * 10 ** places + int(fraction) * 10 ** (places - len(fraction))


def _required(rec: dict[str, str], name: str) -> str:
    value = rec.get(name, "").strip()
    if not value:
        raise FieldProblem(name, "", "missing")
    return value if plain_key(value) and len(value) <= MAX_KEY_LENGTH \
        else checked_key(name, value)


#: Dates a document may carry: what aging, statements and interest can count with (and
#: far from the ends of Python's calendar, where a due date 30 days on does not exist).
FIRST_DAY, LAST_DAY = dt.date(1900, 1, 1), dt.date(2199, 12, 31)

#: Characters no identifier may hold: controls, line breaks, format characters (zero-width
#: spaces and joiners, bidi overrides, the BOM), surrogates, private-use and unassigned
#: code points -- and any space but the plain one. Two ids that differ only in these
#: look the same to a person and are different documents or customers to the book.
_HIDDEN = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp", "Zs"})


def plain_key(text: str) -> bool:
    """Whether an id is plain printable ASCII (most are): nothing to normalise or refuse.
    The full check and the quick positional check both start here."""
    return text.isascii() and text.isprintable()


def checked_key(name: str, text: str) -> str:
    """A document number or customer id in Unicode's composed form (NFC: the two
    spellings of ``é`` are one id), refused if it holds a character a person cannot see
    or tell apart (:data:`_HIDDEN`), or is longer than the store keeps."""
    value = unicodedata.normalize("NFC", text.strip())
    hidden = [ch for ch in value if ch != " " and unicodedata.category(ch) in _HIDDEN]
    if hidden:
        raise FieldProblem(name, value, f"holds an invisible or control character "
                           f"({_char_name(hidden[0])}); ids must be plain visible text")
    if len(value) > MAX_KEY_LENGTH:
        raise FieldProblem(name, value, f"longer than {MAX_KEY_LENGTH} characters")
    return value


def checked_text(name: str, text: str, lines: bool = False) -> str:
    """A name or address in NFC, refused if it holds control characters (line breaks
    only where ``lines``: an address may have several)."""
    value = unicodedata.normalize("NFC", text)
    allowed = "\n" if lines else ""
    bad = [ch for ch in value if ch not in allowed and unicodedata.category(ch) in ("Cc",
                                                                                 "Zl", "Zp")]
    if bad:
        raise FieldProblem(name, value, f"holds a control character "
                           f"({_char_name(bad[0])})")
    return value


def _char_name(ch: str) -> str:
    name = unicodedata.name(ch, "")
    return f"U+{ord(ch):04X} {name}" if name else f"U+{ord(ch):04X}"


def plain_decimal(text: str, decimal: str = ".", thousands: str = "") -> Decimal:
    """An amount written as a plain decimal: ASCII digits, at most one ``decimal``
    separator, ``thousands`` separators (only if given) between groups of three digits.

    Why not ``Decimal(text)``: it reads ``1e3``, ``1_000``, ``+5``, full-width and
    Arabic-Indic digits -- none of which an export means as an amount, and each a way
    for a typo to be booked as money. Raises :class:`money.MoneyError`.
    """
    raw = text.strip()
    if not raw:
        raise money.MoneyError("missing")
    if raw[0] in "-(" or raw[-1] == "-":
        raise money.MoneyError("must be positive, without a sign (a document's type gives "
                               "its side)")
    whole, point, fraction = raw.partition(decimal)
    if thousands and thousands in whole:
        groups = whole.split(thousands)
        if not 1 <= len(groups[0]) <= 3 or any(len(g) != 3 for g in groups[1:]):
            raise money.MoneyError(f"not a plain decimal number ({thousands!r} must "
                                   "separate groups of three digits)")
        whole = "".join(groups)
    if not _digits(whole) or (point and not _digits(fraction)):
        rule = f"ASCII digits with at most one {decimal!r}"
        if thousands:
            rule += f" and {thousands!r} between thousands"
        raise money.MoneyError(f"not a plain decimal number ({rule}, like 1234{decimal}56)")
    if len(whole) > _MAX_DIGITS:
        raise money.MoneyError(f"too large ({len(whole)} digits before the decimal separator)")
    return Decimal(f"{whole}.{fraction}" if point else whole)


_MAX_DIGITS = len(str(money.MAX_MINOR))


def _digits(text: str) -> bool:
    return text.isascii() and text.isdigit()
