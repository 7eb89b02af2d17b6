"""Running cash application against the store, one customer+currency group at a time.

:mod:`arcli.allocation` decides; this module loads the documents of the affected groups,
streams them group by group (so a million-document book never sits in memory at once),
replaces the groups' derived allocations -- or, for a group that only gained documents
dated after all its others, adds the new days' allocations to the ones it has -- and
writes back each document's open amount and closing date only where they changed.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from itertools import groupby

from sqlalchemy import Connection, and_, delete, func, select
from sqlalchemy.sql import bindparam

from arcli import money
from arcli.allocation import (
    Doc,
    ManualAllocation,
    Outcome,
    apply_cash,
    continue_cash,
)
from arcli.store.bulk import (
    date_param,
    date_value,
    execute_many,
    insert_rows,
    placeholder,
    stream_rows,
)
from arcli.store.reader import fetched
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

    Raw SQL on the driver's cursor: on a million-row book, ORM-level row processing would
    cost more than the allocation itself, and SQLAlchemy's row-by-row fetching took a third
    of a day's import (10,000 invoices into the 1M book read back 637,000 rows of the
    groups they touched).
    """
    order = " ORDER BY customer_id, currency, id"
    if groups is None:
        yield from stream_rows(conn, _DOC_SQL + order)
        return
    mark = placeholder(conn)
    driver = conn.connection.driver_connection
    for chunk in _chunks(sorted(groups)):
        where = " OR ".join([f"(customer_id = {mark} AND currency = {mark})"] * len(chunk))
        params = tuple(value for group in chunk for value in group)
        yield from fetched(driver.cursor(), f"{_DOC_SQL} WHERE {where}{order}", params)


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
    settlement_order: Sequence[str],
    added_after: int | None = None,
    changed: Collection[Group] = (),
) -> int:
    """Recompute allocations of the given groups (every group when None), in the book's
    ``settlement_order`` (no default: a caller that forgot it would silently rerun the
    customers it touches in another order than the config's).

    ``added_after``: documents with a higher id were just added, and the others are as
    cash application left them, except in the ``changed`` groups. A group whose added
    documents are all dated after its other ones (a day's import, mostly) then goes on
    from its open amounts (:func:`~arcli.allocation.continue_cash`) instead of redoing
    its history: its earlier allocations stay, the new ones are added.

    Returns the number of allocations written. Runs inside the caller's transaction, so an
    import and its cash application commit or roll back together.
    """
    group_list = None if groups is None else sorted(set(groups))
    if group_list == []:
        return 0
    manual = _manual_for(conn, group_list)
    going_on = set() if added_after is None or group_list is None else {
        g for g in group_list if g not in changed and g not in manual}
    _delete_allocations(conn, None if group_list is None else
                        [g for g in group_list if g not in going_on])
    writes = _Writes(conn)
    as_date, to_param = date_value(conn), date_param(conn)
    sentinel = to_param(OPEN_SENTINEL)
    for group, rows in groupby(_rows_for(conn, group_list), key=lambda r: (r[1], r[2])):
        rows = list(rows)
        docs = [Doc(r[0], r[3], r[4], as_date(r[5]), as_date(r[6]), r[7], r[8]) for r in rows]
        fmt = note_formatter(group[1])
        outcome = None
        if group in going_on:
            outcome = _continued(docs, rows, added_after, settlement_order, fmt)
            if outcome is None:  # redone after all: its allocations go before the new ones
                writes.replaced.append(group)
        if outcome is None:
            outcome = apply_cash(docs, manual.get(group, ()), settlement_order=settlement_order,
                                 fmt=fmt)
        for a in outcome.allocations:
            writes.allocations.append((group[0], group[1], a.credit_id, a.debit_id,
                                       a.amount_minor, to_param(a.effective_date), a.rule,
                                       a.note))
        for r in rows:
            open_minor = outcome.open_minor.get(r[0])
            if open_minor is None:  # a held document the new days did not reach
                continue
            closed = outcome.closed_on[r[0]]
            closed_on = to_param(closed) if closed else sentinel
            if open_minor != r[9] or closed_on != r[10]:
                writes.documents.append((open_minor, closed_on, r[0]))
        if len(writes.allocations) >= 20_000 or len(writes.documents) >= 20_000:
            writes.flush()
    return writes.flush()


def last_document_id(conn: Connection) -> int | None:
    """The highest document id now: taken before adding documents, it is the
    ``added_after`` that lets :func:`reapply` tell the added ones from those it holds."""
    return conn.execute(select(func.max(documents.c.id))).scalar()


def _continued(docs: list[Doc], rows: list[tuple], added_after: int,
               settlement_order: Sequence[str], fmt: Callable[[int], str]) -> Outcome | None:
    """The group's outcome going on from its held documents' open amounts, or None when
    some added document is dated on or before a held one (then history is redone)."""
    held = [(doc, row[9]) for doc, row in zip(docs, rows, strict=True) if doc.id <= added_after]
    added = [doc for doc in docs if doc.id > added_after]
    if not held or not added or min(d.date for d in added) <= max(d.date for d, _ in held):
        return None
    return continue_cash(held, added, settlement_order=settlement_order, fmt=fmt)


def note_formatter(currency: str) -> Callable[[int], str]:
    """How allocation notes show amounts: plain decimals in the group's currency."""
    return lambda minor: money.plain(money.from_minor(minor, currency))


def _delete_allocations(conn: Connection, groups: Sequence[Group] | None) -> None:
    if groups is None:
        conn.execute(delete(allocations))
        return
    if not groups:
        return
    stmt = delete(allocations).where(and_(
        allocations.c.customer_id == bindparam("b_customer"),
        allocations.c.currency == bindparam("b_currency"),
    ))
    conn.execute(stmt, [{"b_customer": c, "b_currency": cur} for c, cur in groups])


ALLOCATION_COLUMNS = ("customer_id", "currency", "credit_id", "debit_id", "amount_minor",
                       "effective_date", "rule", "note")
_UPDATE_DOC = "UPDATE documents SET open_minor = ?, closed_on = ? WHERE id = ?"


class _Writes:
    """Allocation rows, document updates and groups whose allocations are replaced,
    written in batches: a replaced group's old allocations are deleted just before the
    first batch that holds its new ones."""

    def __init__(self, conn: Connection):
        self.conn = conn
        self.allocations: list[tuple] = []
        self.documents: list[tuple] = []
        self.replaced: list[Group] = []
        self.written = 0

    def flush(self) -> int:
        """Write what is pending; returns the number of allocations written in all."""
        if self.replaced:
            _delete_allocations(self.conn, self.replaced)
            self.replaced.clear()
        self.written += len(self.allocations)
        insert_rows(self.conn, "allocations", ALLOCATION_COLUMNS, self.allocations)
        self.allocations.clear()
        execute_many(self.conn, _UPDATE_DOC, self.documents)
        self.documents.clear()
        return self.written
