"""Running cash application against the store, one customer+currency group at a time.

:mod:`arcli.allocation` decides; this module loads the documents of the affected groups,
streams them group by group (so a million-document book never sits in memory at once),
replaces the groups' derived allocations, and writes back each document's open amount and
closing date only where they changed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import groupby

from sqlalchemy import Connection, and_, delete, select
from sqlalchemy.sql import bindparam

from arcli import money
from arcli.allocation import PRINCIPAL_FIRST, Doc, ManualAllocation, apply_cash
from arcli.store.bulk import date_param, date_value, execute_many, insert_rows, placeholder
from arcli.store.schema import OPEN_SENTINEL, allocations, documents, manual_allocations

Group = tuple[str, str]  # (customer_id, currency)
_CHUNK = 500

_DOC_SQL = ("SELECT id, customer_id, currency, type, number, date, due_date, amount_minor, "
            "reference, open_minor, closed_on FROM documents")


def _chunks(items: Sequence, size: int = _CHUNK) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _rows_for(conn: Connection, groups: Sequence[Group] | None) -> Iterator[tuple]:
    """Documents of the groups (all when None) as plain tuples, each group contiguous.

    Raw SQL: on a million-row book, ORM-level row processing would cost more than the
    allocation itself.
    """
    order = " ORDER BY customer_id, currency, id"
    if groups is None:
        yield from conn.exec_driver_sql(_DOC_SQL + order)
        return
    mark = placeholder(conn)
    for chunk in _chunks(sorted(groups)):
        where = " OR ".join([f"(customer_id = {mark} AND currency = {mark})"] * len(chunk))
        params = tuple(value for group in chunk for value in group)
        yield from conn.exec_driver_sql(f"{_DOC_SQL} WHERE {where}{order}", params)


def _manual_for(conn: Connection, groups: Sequence[Group] | None) -> dict[Group, list]:
    query = (
        select(manual_allocations.c.credit_id, manual_allocations.c.debit_id,
               manual_allocations.c.amount_minor, documents.c.customer_id, documents.c.currency)
        .join(documents, documents.c.id == manual_allocations.c.credit_id)
    )
    wanted = set(groups) if groups is not None else None
    found: dict[Group, list] = {}
    for row in conn.execute(query):
        group = (row.customer_id, row.currency)
        if wanted is None or group in wanted:
            found.setdefault(group, []).append(
                ManualAllocation(row.credit_id, row.debit_id, row.amount_minor)
            )
    return found


def reapply(
    conn: Connection,
    groups: Iterable[Group] | None = None,
    *,
    settlement_order: Sequence[str] = PRINCIPAL_FIRST,
) -> int:
    """Recompute allocations of the given groups (every group when None).

    Returns the number of allocations written. Runs inside the caller's transaction, so an
    import and its cash application commit or roll back together.
    """
    group_list = None if groups is None else sorted(set(groups))
    if group_list == []:
        return 0
    manual = _manual_for(conn, group_list)
    _delete_allocations(conn, group_list)
    written = 0
    alloc_rows: list[tuple] = []
    doc_updates: list[tuple] = []
    as_date, to_param = date_value(conn), date_param(conn)
    sentinel = to_param(OPEN_SENTINEL)
    for group, rows in groupby(_rows_for(conn, group_list), key=lambda r: (r[1], r[2])):
        rows = list(rows)
        docs = [Doc(r[0], r[3], r[4], as_date(r[5]), as_date(r[6]), r[7], r[8]) for r in rows]
        outcome = apply_cash(docs, manual.get(group, ()), settlement_order=settlement_order,
                             fmt=note_formatter(group[1]))
        for a in outcome.allocations:
            alloc_rows.append((group[0], group[1], a.credit_id, a.debit_id, a.amount_minor,
                               to_param(a.effective_date), a.rule, a.note))
        for r in rows:
            open_minor = outcome.open_minor[r[0]]
            closed = outcome.closed_on[r[0]]
            closed_on = to_param(closed) if closed else sentinel
            if open_minor != r[9] or closed_on != r[10]:
                doc_updates.append((open_minor, closed_on, r[0]))
        if len(alloc_rows) >= 20_000 or len(doc_updates) >= 20_000:
            written += _flush(conn, alloc_rows, doc_updates)
    written += _flush(conn, alloc_rows, doc_updates)
    return written


def note_formatter(currency: str) -> Callable[[int], str]:
    """How allocation notes show amounts: plain decimals in the group's currency."""
    return lambda minor: money.plain(money.from_minor(minor, currency))


def _delete_allocations(conn: Connection, groups: Sequence[Group] | None) -> None:
    if groups is None:
        conn.execute(delete(allocations))
        return
    stmt = delete(allocations).where(and_(
        allocations.c.customer_id == bindparam("b_customer"),
        allocations.c.currency == bindparam("b_currency"),
    ))
    conn.execute(stmt, [{"b_customer": c, "b_currency": cur} for c, cur in groups])


ALLOCATION_COLUMNS = ("customer_id", "currency", "credit_id", "debit_id", "amount_minor",
                       "effective_date", "rule", "note")
_UPDATE_DOC = "UPDATE documents SET open_minor = ?, closed_on = ? WHERE id = ?"


def _flush(conn: Connection, alloc_rows: list[tuple], doc_updates: list[tuple]) -> int:
    count = len(alloc_rows)
    insert_rows(conn, "allocations", ALLOCATION_COLUMNS, alloc_rows)
    alloc_rows.clear()
    execute_many(conn, _UPDATE_DOC, doc_updates)
    doc_updates.clear()
    return count
