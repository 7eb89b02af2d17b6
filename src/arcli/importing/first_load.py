"""The first import into an empty book: each document written once, already applied.

An incremental import inserts documents and then reruns cash application over their
groups, which reads them back and rewrites the open amount of most of them. Into an empty
book that work is pure overhead: nothing stored can take part, so the staged rows are read
in customer, currency, line order, cash application runs on each group before anything is
written, and documents go in with their final open amount and closing date next to their
allocations. Ids are handed out in that order, so each customer's documents sit together
on disk, which later per-customer reads (statements, ``aging --detail``, dunning) profit
from. Within a group ids still rise with the line number, the order the incremental path
gives them, so both paths reach the same allocations (tested).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter

from sqlalchemy import Connection, Table

from arcli.allocation import Doc, apply_cash
from arcli.cash_application import ALLOCATION_COLUMNS, note_formatter
from arcli.store.bulk import date_param, date_value, insert_rows, move_id_sequence
from arcli.store.schema import OPEN_SENTINEL

Group = tuple[str, str]

DOCUMENT_COLUMNS = ("id", "type", "number", "customer_id", "date", "due_date", "amount_minor",
                    "sign", "currency", "reference", "description", "content_hash", "line_no",
                    "batch_id", "open_minor", "closed_on")
_FLUSH_ROWS = 20_000
_STAGED = ("SELECT type, number, customer_id, date, due_date, amount_minor, sign, currency, "
           "reference, description, content_hash, line_no FROM {table} "
           "ORDER BY customer_id, currency, line_no")


@dataclass
class FirstLoad:
    """What the first load wrote."""

    documents: int = 0
    allocations: int = 0
    groups: set[Group] = field(default_factory=set)


class _DateCache:
    """Stored date values (ISO text on SQLite) to ``date`` objects, each distinct one once."""

    def __init__(self, conn: Connection):
        self._convert = date_value(conn)
        self._seen: dict[object, dt.date] = {}

    def __call__(self, value: object) -> dt.date:
        found = self._seen.get(value)
        if found is None:
            found = self._seen[value] = self._convert(value)
        return found


def load_first(conn: Connection, stage: Table, batch_id: int,
               settlement_order: Sequence[str]) -> FirstLoad:
    """Insert every staged document (first line of each type+number) into the empty book."""
    result = FirstLoad()
    writer = _Writer(conn)
    as_date, to_param = _DateCache(conn), date_param(conn)
    sentinel = to_param(OPEN_SENTINEL)
    next_id = 1
    staged = conn.exec_driver_sql(_STAGED.format(table=stage.name))
    for group, rows in groupby(staged, key=itemgetter(2, 7)):
        kept = _first_of_each_key(rows)
        docs = [Doc(next_id + i, r[0], r[1], as_date(r[3]), as_date(r[4]), r[5], r[8])
                for i, r in enumerate(kept)]
        outcome = apply_cash(docs, settlement_order=settlement_order,
                             fmt=note_formatter(group[1]))
        for doc, r in zip(docs, kept, strict=True):
            closed = outcome.closed_on[doc.id]
            writer.documents.append((doc.id, *r, batch_id, outcome.open_minor[doc.id],
                                     to_param(closed) if closed else sentinel))
        writer.allocations.extend(
            (group[0], group[1], a.credit_id, a.debit_id, a.amount_minor,
             to_param(a.effective_date), a.rule, a.note) for a in outcome.allocations)
        next_id += len(docs)
        result.groups.add(group)
        writer.flush_if_full()
    writer.flush()
    move_id_sequence(conn, "documents")
    result.documents, result.allocations = writer.documents_written, writer.allocations_written
    return result


def _first_of_each_key(rows: Iterator[tuple]) -> list[tuple]:
    """Drop later lines repeating a type+number (identical ones: differing ones were refused)."""
    seen: set[tuple[str, str]] = set()
    kept = []
    for r in rows:
        key = (r[0], r[1])
        if key not in seen:
            seen.add(key)
            kept.append(r)
    return kept


class _Writer:
    """Buffers document and allocation rows and writes them in large batches."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self.documents: list[tuple] = []
        self.allocations: list[tuple] = []
        self.documents_written = 0
        self.allocations_written = 0

    def flush_if_full(self) -> None:
        if len(self.documents) >= _FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        # Documents first: allocations reference them.
        insert_rows(self.conn, "documents", DOCUMENT_COLUMNS, self.documents)
        insert_rows(self.conn, "allocations", ALLOCATION_COLUMNS, self.allocations)
        self.documents_written += len(self.documents)
        self.allocations_written += len(self.allocations)
        self.documents.clear()
        self.allocations.clear()
