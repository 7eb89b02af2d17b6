"""Balance confirmations (the customer's signed reply slip) and the GL tie-out.

A confirmation file lists what customers confirmed (``customer,currency,as_of,balance
[,note]``); an optional items file lists their own open items
(``customer,currency,number,amount``). Each is compared with our balance and open items
as of the same date; the results are stored, so the next statement can say "balance
confirmed on ...". The GL tie-out compares the AR control account per currency with the
subledger and lists the documents that explain a difference.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import Connection, delete, insert, select

from arcli import money
from arcli.errors import InputError, InputProblem
from arcli.importing.encodings import DEFAULT_ENCODING
from arcli.importing.readers import detect_format, open_source, read_records
from arcli.ledger import balances, open_items
from arcli.output import Report
from arcli.store.schema import (
    confirmation_items,
    confirmations,
    customers,
    documents,
    import_batches,
)


def _rows(path: str, required: tuple[str, ...],
          encoding: str | None = None) -> list[tuple[int, dict]]:
    source = open_source(path)
    try:
        records = list(read_records(source, detect_format(source),
                                    encoding=encoding or DEFAULT_ENCODING))
    finally:
        source.cleanup()
    if records:
        missing = [c for c in required if c not in records[0][1]]
        if missing:
            raise InputError([InputProblem(path, 1, c, None, "required column missing")
                              for c in missing])
    return records


def _amount(path: str, line: int, field: str, text: str, currency: str) -> Decimal:
    try:
        value = money.parse_decimal(text, ".", ",")
        money.to_minor(value, currency)
        return value
    except money.MoneyError as exc:
        raise InputError([InputProblem(path, line, field, text, str(exc))]) from None


def _parse_confirmations(path: str, encoding: str | None):
    found = {}
    for line, r in _rows(path, ("customer", "currency", "as_of", "balance"), encoding):
        try:
            cur = money.check_currency(r["currency"])
            as_of = dt.date.fromisoformat(r["as_of"].strip())
        except (money.MoneyError, ValueError) as exc:
            raise InputError([InputProblem(path, line, None, None, str(exc))]) from None
        found[(r["customer"].strip(), cur)] = (
            as_of, _amount(path, line, "balance", r["balance"], cur), r.get("note") or None)
    return found


def _parse_items(path: str | None, encoding: str | None):
    items: dict[tuple, dict[str, Decimal]] = defaultdict(dict)
    if not path:
        return items
    for line, r in _rows(path, ("customer", "currency", "number", "amount"), encoding):
        cur = money.check_currency(r["currency"])
        items[(r["customer"].strip(), cur)][r["number"].strip()] = \
            _amount(path, line, "amount", r["amount"], cur)
    return items


def compare_confirmations(conn: Connection, path: str, items_path: str | None,
                          as_of_default: dt.date,
                          encoding: str | None = None) -> tuple[Report, bool]:
    """Compare, store and report; the flag says whether anything differs or is missing.
    ``encoding``: of both files (default UTF-8)."""
    theirs = _parse_confirmations(path, encoding)
    their_items = _parse_items(items_path, encoding)
    dates = {a for a, _, _ in theirs.values()} or {as_of_default}
    rows, found = [], False
    now = dt.datetime.now(dt.UTC)
    source = open_source(path)
    batch = conn.execute(insert(import_batches).values(
        kind="confirmations", file_name=source.name, sha256=source.sha256, imported_at=now,
        rows_read=len(theirs), rows_inserted=len(theirs), rows_unchanged=0, rows_replaced=0,
    )).inserted_primary_key[0]
    for as_of in sorted(dates):
        ours = balances(conn, as_of)
        our_items = defaultdict(dict)
        for i in open_items(conn, as_of):
            our_items[(i.customer_id, i.currency)][i.number] = i.open_amount
        keys = {k for k, v in ours.items() if v} | {k for k, v in theirs.items()
                                                     if v[0] == as_of}
        for key in sorted(keys):
            row, differs = _compare(key, as_of, ours, theirs, our_items, their_items)
            found |= differs
            rows.extend(row)
            if key in theirs and theirs[key][0] == as_of:
                _store(conn, key, as_of, theirs[key], ours.get(key, Decimal(0)),
                       row[0]["status"], their_items.get(key, {}), batch, now)
    return Report(["customer", "currency", "as_of", "level", "document", "ours", "theirs",
                   "difference", "status"], rows), found


def _compare(key, as_of, ours, theirs, our_items, their_items):
    cur = key[1]
    zero = money.from_minor(0, cur)
    mine = ours.get(key, zero)
    if key not in theirs or theirs[key][0] != as_of:
        return [{"customer": key[0], "currency": cur, "as_of": as_of, "level": "balance",
                 "document": "", "ours": mine, "theirs": None, "difference": None,
                 "status": "not returned"}], True
    theirs_balance = money.quantize(theirs[key][1], cur)
    status = "agreed" if theirs_balance == mine else "differs"
    rows = [{"customer": key[0], "currency": cur, "as_of": as_of, "level": "balance",
             "document": "", "ours": mine, "theirs": theirs_balance,
             "difference": mine - theirs_balance, "status": status}]
    if key in their_items:
        a, b = our_items.get(key, {}), their_items[key]
        for number in sorted(set(a) | set(b)):
            x, y = a.get(number), b.get(number)
            if x == y:
                continue
            state = ("missing on their side" if y is None else
                     "missing on our side" if x is None else "amount differs")
            rows.append({"customer": key[0], "currency": cur, "as_of": as_of, "level": "item",
                         "document": number, "ours": x, "theirs": y,
                         "difference": (x or zero) - (y or zero), "status": state})
    return rows, status != "agreed" or len(rows) > 1


def _store(conn, key, as_of, theirs, ours, status, items, batch, now) -> None:
    cur = key[1]
    if conn.execute(select(customers.c.id).where(customers.c.id == key[0])).first() is None:
        return
    conn.execute(delete(confirmations).where(confirmations.c.customer_id == key[0],
                                             confirmations.c.currency == cur,
                                             confirmations.c.as_of == as_of))
    conf_id = conn.execute(insert(confirmations).values(
        customer_id=key[0], currency=cur, as_of=as_of,
        balance_minor=money.to_minor(money.quantize(theirs[1], cur), cur),
        our_balance_minor=money.to_minor(ours, cur), status=status, note=theirs[2],
        batch_id=batch, recorded_at=now)).inserted_primary_key[0]
    if items:
        conn.execute(insert(confirmation_items), [
            {"confirmation_id": conf_id, "number": n,
             "amount_minor": money.to_minor(money.quantize(v, cur), cur)}
            for n, v in items.items()])


def gl_tieout(conn: Connection, path: str, as_of: dt.date,
              encoding: str | None = None) -> tuple[Report, bool]:
    """GL control balance per currency vs the subledger, with explaining documents."""
    gl = {}
    for line, r in _rows(path, ("currency", "balance"), encoding):
        cur = money.check_currency(r["currency"])
        gl[cur] = money.quantize(_amount(path, line, "balance", r["balance"], cur), cur)
    sub: dict[str, Decimal] = defaultdict(Decimal)
    for (_, cur), value in balances(conn, as_of).items():
        sub[cur] += value
    d = documents.c
    late = conn.execute(
        select(d.type, d.number, d.customer_id, d.currency, d.date, d.amount_minor, d.sign,
               import_batches.c.imported_at)
        .outerjoin(import_batches, import_batches.c.id == d.batch_id)
        .where((d.date > as_of) | (import_batches.c.imported_at > dt.datetime.combine(
            as_of + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)))
        .order_by(d.currency, d.date, d.number)).all()
    rows, found = [], False
    for cur in sorted(set(gl) | set(sub)):
        ours = money.quantize(sub.get(cur, Decimal(0)), cur)
        theirs = gl.get(cur)
        diff = None if theirs is None else ours - theirs
        found |= diff != 0
        rows.append({"currency": cur, "kind": "balance", "document": "", "date": as_of,
                     "subledger": ours, "gl": theirs, "difference": diff,
                     "note": "agrees" if diff == 0 else "differs" if diff is not None
                     else "no GL balance given"})
        for r in late:
            if r.currency != cur or diff == 0:
                continue
            why = "dated after the cut-off" if r.date > as_of else "imported after the cut-off"
            rows.append({"currency": cur, "kind": "explains", "document":
                         f"{r.type} {r.number} ({r.customer_id})", "date": r.date,
                         "subledger": money.from_minor(r.sign * r.amount_minor, cur),
                         "gl": None, "difference": None, "note": why})
    return Report(["currency", "kind", "document", "date", "subledger", "gl", "difference",
                   "note"], rows), found
