"""Running cash application against the store, one customer+currency group at a time.

:mod:`arcli.allocation` decides; this module loads the documents of the affected groups,
streams them group by group (so a million-document book never sits in memory at once),
replaces the groups' derived allocations, and writes back each document's open amount and
closing date only where they changed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from itertools import groupby

from sqlalchemy import Connection, and_, delete, select, tuple_, update
from sqlalchemy.sql import bindparam

from arcli import money
from arcli.allocation import PRINCIPAL_FIRST, Doc, ManualAllocation, apply_cash
from arcli.store.schema import OPEN_SENTINEL, allocations, documents, manual_allocations

Group = tuple[str, str]  # (customer_id, currency)
_CHUNK = 500

_DOC_COLUMNS = (
    documents.c.id, documents.c.customer_id, documents.c.currency, documents.c.type,
    documents.c.number, documents.c.date, documents.c.due_date, documents.c.amount_minor,
    documents.c.reference, documents.c.open_minor, documents.c.closed_on,
)


def _chunks(items: Sequence, size: int = _CHUNK) -> Iterator[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _rows_for(conn: Connection, groups: Sequence[Group] | None) -> Iterator:
    """Documents of the groups (all when None), ordered so that each group is contiguous."""
    order = (documents.c.customer_id, documents.c.currency)
    if groups is None:
        yield from conn.execute(select(*_DOC_COLUMNS).order_by(*order))
        return
    for chunk in _chunks(sorted(groups)):
        key = tuple_(documents.c.customer_id, documents.c.currency)
        yield from conn.execute(select(*_DOC_COLUMNS).where(key.in_(chunk)).order_by(*order))


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
    alloc_rows: list[dict] = []
    doc_updates: list[dict] = []
    for group, rows in groupby(_rows_for(conn, group_list), key=lambda r: (r[1], r[2])):
        rows = list(rows)
        fmt = _formatter(group[1])
        docs = [Doc(r.id, r.type, r.number, r.date, r.due_date, r.amount_minor, r.reference)
                for r in rows]
        outcome = apply_cash(docs, manual.get(group, ()), settlement_order=settlement_order,
                             fmt=fmt)
        for a in outcome.allocations:
            alloc_rows.append({
                "customer_id": group[0], "currency": group[1], "credit_id": a.credit_id,
                "debit_id": a.debit_id, "amount_minor": a.amount_minor,
                "effective_date": a.effective_date, "rule": a.rule, "note": a.note,
            })
        for r in rows:
            open_minor = outcome.open_minor[r.id]
            closed_on = outcome.closed_on[r.id] or OPEN_SENTINEL
            if open_minor != r.open_minor or closed_on != r.closed_on:
                doc_updates.append({"b_id": r.id, "b_open": open_minor, "b_closed": closed_on})
        if len(alloc_rows) >= 20_000 or len(doc_updates) >= 20_000:
            written += _flush(conn, alloc_rows, doc_updates)
    written += _flush(conn, alloc_rows, doc_updates)
    return written


def _formatter(currency: str):
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


_UPDATE_DOC = (
    update(documents)
    .where(documents.c.id == bindparam("b_id"))
    .values(open_minor=bindparam("b_open"), closed_on=bindparam("b_closed"))
)


def _flush(conn: Connection, alloc_rows: list[dict], doc_updates: list[dict]) -> int:
    count = len(alloc_rows)
    if alloc_rows:
        conn.execute(allocations.insert(), alloc_rows)
        alloc_rows.clear()
    if doc_updates:
        conn.execute(_UPDATE_DOC, doc_updates)
        doc_updates.clear()
    return count
