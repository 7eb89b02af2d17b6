"""Is this customer id or document number in the book? One check for every command.

An id the book does not hold is a typo or the wrong book; answering it with an empty
report (or with an unrelated complaint about a currency) hides that. Every command that
takes a customer or a document asks here first, so the message and exit code (1) are the
same everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable

from arcli.errors import ArcliError
from arcli.store.reader import BookReader


class UnknownIdError(ArcliError):
    """A customer id or document number the book does not hold (exit 1)."""


_TABLES = {"customer": ("customers", "id"), "document": ("documents", "number")}


def missing(reader: BookReader, kind: str, values: Iterable[str]) -> list[str]:
    """Those of ``values`` (in their order, once each) the book holds no ``kind`` for."""
    table, column = _TABLES[kind]
    sql = f"SELECT 1 FROM {table} WHERE {column} = ? LIMIT 1"
    return [v for v in dict.fromkeys(values) if reader.scalar(sql, (v,)) is None]


def require_known(reader: BookReader, kind: str, values: Iterable[str]) -> None:
    """UnknownIdError naming every value of ``values`` the book does not hold.
    ``kind``: ``customer``, ``document`` or ``customer-or-document``."""
    if kind == "customer-or-document":
        absent = [v for v in missing(reader, "customer", values)
                  if missing(reader, "document", (v,))]
    else:
        absent = missing(reader, kind, values)
    if absent:
        what = kind.replace("-", " ")
        names = ", ".join(repr(v) for v in absent)
        raise UnknownIdError(f"unknown {what} {names}: not in the book"
                             + _posted_receipt_hint(reader, kind, absent))


def _posted_receipt_hint(reader: BookReader, kind: str, absent: list[str]) -> str:
    """A bank reference given for a document: the receipt is the payment ``BANK-<ref>``
    (``reconcile bank`` lists receipts by the bank's reference)."""
    if kind == "customer":
        return ""
    posted = [f"BANK-{v}" for v in absent if not missing(reader, "document", (f"BANK-{v}",))]
    if not posted:
        return ""
    return " (a bank receipt is booked as its payment: " + ", ".join(posted) + ")"
