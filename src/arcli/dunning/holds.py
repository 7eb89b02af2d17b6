"""What holds dunning back: disputes, blocks and promises to pay.

Disputed items are set aside, never dunned and never charged interest, and are marked on
statements. A block stops letters for a customer or one document until a date. A promise
to pay suppresses letters until its date; afterwards it is *kept* when payments since the
promise cover it, *partly kept* when some arrived, *broken* when none did -- and a broken
or partly kept promise makes the next run press one level harder. A promise is judged as
of a date: payments dated after it do not count yet, and a promise made after it does not
exist yet (a run for the end of October is not held back by a promise made in November).
"""

from __future__ import annotations

import datetime as dt
import getpass
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Connection, func, insert, or_, select, update

from arcli import money
from arcli.errors import UsageError
from arcli.store.schema import blocks, customers, disputes, documents, promises


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def find_document(conn: Connection, number: str) -> tuple[int, str, str]:
    """(id, type, customer) of the document with this number; UsageError if none/ambiguous."""
    rows = conn.execute(select(documents.c.id, documents.c.type, documents.c.customer_id)
                        .where(documents.c.number == number)).all()
    if not rows:
        raise UsageError(f"no document numbered {number!r}")
    if len(rows) > 1:
        kinds = ", ".join(r.type for r in rows)
        raise UsageError(f"{number!r} names several documents ({kinds})")
    return rows[0].id, rows[0].type, rows[0].customer_id


def require_customer(conn: Connection, customer_id: str) -> None:
    if conn.execute(select(customers.c.id).where(customers.c.id == customer_id)).first() is None:
        raise UsageError(f"unknown customer {customer_id!r}")


# -- disputes -------------------------------------------------------------------------------
def open_dispute(conn: Connection, number: str, reason: str,
                 follow_up: dt.date | None = None) -> int:
    """Set a document aside; ``follow_up`` is when to chase the dispute next."""
    doc_id, _, _ = find_document(conn, number)
    if conn.execute(select(disputes.c.id).where(disputes.c.document_id == doc_id,
                                                disputes.c.closed_at.is_(None))).first():
        raise UsageError(f"{number} is already disputed")
    return conn.execute(insert(disputes).values(document_id=doc_id, reason=reason,
                                                follow_up=follow_up, opened_at=_now(),
                                                opened_by=_user())
                        ).inserted_primary_key[0]


def close_dispute(conn: Connection, number: str, note: str | None = None) -> None:
    doc_id, _, _ = find_document(conn, number)
    done = conn.execute(update(disputes).where(disputes.c.document_id == doc_id,
                                               disputes.c.closed_at.is_(None))
                        .values(closed_at=_now(), closed_by=_user(), close_note=note))
    if not done.rowcount:
        raise UsageError(f"{number} has no open dispute")


@dataclass(frozen=True)
class OpenDispute:
    number: str
    reason: str
    follow_up: dt.date | None

    def describe(self, as_of: dt.date) -> str:
        """The reason a run gives for setting this item aside."""
        if self.follow_up is None:
            return f"{self.number} ({self.reason})"
        when = "follow-up due since" if self.follow_up < as_of else "follow up on"
        return f"{self.number} ({self.reason}; {when} {self.follow_up.isoformat()})"


def open_disputes(conn: Connection) -> dict[int, OpenDispute]:
    """Open disputes by document id."""
    rows = conn.execute(select(disputes.c.document_id, documents.c.number, disputes.c.reason,
                               disputes.c.follow_up)
                        .join(documents, documents.c.id == disputes.c.document_id)
                        .where(disputes.c.closed_at.is_(None)))
    return {r.document_id: OpenDispute(r.number, r.reason, r.follow_up) for r in rows}


def dispute_rows(conn: Connection, include_closed: bool = False) -> list[dict]:
    d = documents.c
    query = (select(disputes, d.number, d.type, d.customer_id, d.currency, d.amount_minor)
             .join(documents, d.id == disputes.c.document_id).order_by(disputes.c.id))
    if not include_closed:
        query = query.where(disputes.c.closed_at.is_(None))
    return [{"number": r.number, "type": r.type, "customer": r.customer_id,
             "currency": r.currency, "amount": money.from_minor(r.amount_minor, r.currency),
             "reason": r.reason, "follow_up": r.follow_up, "opened_at": r.opened_at,
             "opened_by": r.opened_by,
             "closed_at": r.closed_at, "status": "closed" if r.closed_at else "open"}
            for r in conn.execute(query)]


# -- blocks ---------------------------------------------------------------------------------
def add_block(conn: Connection, target: str, until: dt.date, reason: str) -> str:
    """Block a customer (by id) or a document (by number); returns what was blocked."""
    is_customer = conn.execute(select(customers.c.id).where(customers.c.id == target)).first()
    values = {"until": until, "reason": reason, "created_at": _now(), "created_by": _user()}
    if is_customer:
        values["customer_id"] = target
        label = f"customer {target}"
    else:
        values["document_id"], doc_type, _ = find_document(conn, target)
        label = f"{doc_type} {target}"
    conn.execute(insert(blocks).values(**values))
    return label


def remove_block(conn: Connection, target: str) -> int:
    doc_ids = select(documents.c.id).where(documents.c.number == target)
    done = conn.execute(update(blocks).where(
        blocks.c.removed_at.is_(None),
        or_(blocks.c.customer_id == target, blocks.c.document_id.in_(doc_ids)),
    ).values(removed_at=_now()))
    if not done.rowcount:
        raise UsageError(f"no active block on {target!r}")
    return done.rowcount


def active_blocks(conn: Connection, as_of: dt.date) -> tuple[dict[str, str], set[int]]:
    """Blocked customers (id -> reason) and blocked document ids, as of a date."""
    rows = conn.execute(select(blocks.c.customer_id, blocks.c.document_id, blocks.c.reason,
                               blocks.c.until)
                        .where(blocks.c.removed_at.is_(None), blocks.c.until >= as_of))
    by_customer, by_document = {}, set()
    for r in rows:
        if r.customer_id:
            by_customer[r.customer_id] = f"{r.reason} (until {r.until.isoformat()})"
        if r.document_id:
            by_document.add(r.document_id)
    return by_customer, by_document


# -- promises -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Promise:
    id: int
    customer_id: str
    currency: str
    amount: Decimal
    promised_on: dt.date
    due_by: dt.date
    note: str | None
    paid: Decimal  # payments dated from the promise to its due date and the as-of date

    def status(self, as_of: dt.date) -> str:
        """pending until its date; then kept, partly kept or broken."""
        if as_of <= self.due_by and self.paid < self.amount:
            return "pending"
        if self.paid >= self.amount:
            return "kept"
        return "partly kept" if self.paid > 0 else "broken"


def add_promise(conn: Connection, customer_id: str, amount: Decimal, currency: str,
                due_by: dt.date, today: dt.date, note: str | None,
                promised_on: dt.date | None = None) -> int:
    """Record a promise made on ``promised_on`` (default today: one taken on the phone
    last week is entered with its own date, so payments since then count for it)."""
    require_customer(conn, customer_id)
    if amount <= 0:
        raise UsageError("the promised amount must be positive")
    made = promised_on or today
    if made > today:
        raise UsageError(f"--date {made.isoformat()} is in the future")
    if promised_on is None and due_by < today:
        raise UsageError("--by must not be in the past (give --date for an earlier promise)")
    if due_by < made:
        raise UsageError(f"--by {due_by.isoformat()} is before the promise was made "
                         f"({made.isoformat()})")
    minor = money.given_to_minor(amount, currency, "AMOUNT")
    return conn.execute(insert(promises).values(
        customer_id=customer_id, currency=currency, amount_minor=minor, promised_on=made,
        due_by=due_by, note=note, created_at=_now(), created_by=_user(),
    )).inserted_primary_key[0]


def load_promises(conn: Connection, as_of: dt.date, customer_ids=None) -> list[Promise]:
    """Promises made on or before ``as_of``, with the payments dated up to it."""
    p, d = promises.c, documents.c
    paid = (select(func.coalesce(func.sum(d.amount_minor), 0))
            .where(d.customer_id == p.customer_id, d.currency == p.currency,
                   d.type == "payment", d.date >= p.promised_on, d.date <= p.due_by,
                   d.date <= as_of)
            .scalar_subquery())
    query = select(promises, paid.label("paid_minor")).where(
        p.cancelled_at.is_(None), p.promised_on <= as_of).order_by(p.customer_id, p.due_by,
                                                                   p.id)
    if customer_ids:
        query = query.where(p.customer_id.in_(list(customer_ids)))
    return [Promise(r.id, r.customer_id, r.currency, money.from_minor(r.amount_minor, r.currency),
                    r.promised_on, r.due_by, r.note, money.from_minor(r.paid_minor, r.currency))
            for r in conn.execute(query)]


def promise_effects(conn: Connection, as_of: dt.date, since: dict[tuple, dt.date]
                    ) -> tuple[dict[tuple, Promise], dict[tuple, Promise]]:
    """Pending promises (suppress letters) and broken/partly kept ones not yet acted on.

    ``since`` gives, per (customer, currency), the date of the last letter: a broken
    promise escalates only the first letter after its due date.
    """
    pending, broken = {}, {}
    for promise in load_promises(conn, as_of):
        key = (promise.customer_id, promise.currency)
        state = promise.status(as_of)
        if state == "pending":
            pending[key] = promise
        elif state in ("broken", "partly kept"):
            last = since.get(key)
            if last is None or last <= promise.due_by:
                broken[key] = promise
    return pending, broken

