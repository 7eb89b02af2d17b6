"""Importing customers: validated, atomic, idempotent upserts by customer id.

Unlike documents, customer master data legitimately changes (a new address, a new credit
limit), so a changed row updates the customer; an identical row changes nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import Connection, insert, select, update

from arcli import money
from arcli.errors import InputError, InputProblem
from arcli.importing.batches import record_batch
from arcli.importing.mapping import CUSTOMER_FIELDS, Mapping
from arcli.importing.readers import SourceFile, detect_format, open_source, read_records
from arcli.importing.validate import (
    MAX_KEY_LENGTH,
    FieldProblem,
    checked_key,
    checked_text,
    content_hash,
    plain_decimal,
    plain_key,
)
from arcli.store import Store
from arcli.store.engine import begin_writing
from arcli.store.schema import customers

CREDIT_CLASSES = ("A", "B", "C")
MAX_TERMS_DAYS = 3650  # ten years: more is a typo, and a due date past the calendar
#: Free text of a customer: NFC, without control characters (an address may have lines).
_TEXT_FIELDS = ("name", "address", "salesperson", "contact", "email", "language")
MAX_PROBLEMS = 50


@dataclass
class CustomerImportResult:
    file: str
    sha256: str
    rows_read: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    batch_id: int | None = None
    dry_run: bool = False


def _clean(line: int, rec: dict[str, str]) -> dict:
    """Validate one native customer record into column values."""
    out: dict = {k: (rec.get(k) or "").strip() or None for k in CUSTOMER_FIELDS}
    if not out["id"]:
        raise FieldProblem("id", "", "missing")
    if not plain_key(out["id"]) or len(out["id"]) > MAX_KEY_LENGTH:
        out["id"] = checked_key("id", out["id"])  # the ledger's customer ids are read so too
    if not out["name"]:
        raise FieldProblem("name", "", "missing")
    for name in _TEXT_FIELDS:
        if out[name] and not plain_key(out[name]):
            out[name] = checked_text(name, out[name], lines=name == "address")
    if out["currency"]:
        try:
            out["currency"] = money.check_currency(out["currency"])
        except money.MoneyError:
            raise FieldProblem("currency", out["currency"], "not an ISO 4217 code") from None
    if out["terms_days"]:
        days = out["terms_days"]
        if not (days.isascii() and days.isdigit()) or len(days) > 6 \
                or int(days) > MAX_TERMS_DAYS:
            raise FieldProblem("terms_days", days, f"must be a whole number of days "
                                                   f"(0 to {MAX_TERMS_DAYS})")
        out["terms_days"] = int(days)
    if out["credit_limit"]:
        try:
            limit = plain_decimal(out["credit_limit"], ".", ",")
        except money.MoneyError as exc:
            raise FieldProblem("credit_limit", out["credit_limit"], str(exc)) from None
        out["credit_limit"] = money.plain(limit)
    if out["credit_class"]:
        out["credit_class"] = out["credit_class"].upper()
        if out["credit_class"] not in CREDIT_CLASSES:
            raise FieldProblem("credit_class", out["credit_class"], "must be A, B or C")
    if out["email"] and "@" not in out["email"]:
        raise FieldProblem("email", out["email"], "not an email address")
    out["content_hash"] = content_hash({k: str(out[k] or "") for k in CUSTOMER_FIELDS})
    out["line_no"] = line
    return out


def import_customers(store: Store, file_arg: str, mapping: Mapping,
                     dry_run: bool = False) -> CustomerImportResult:
    source = open_source(file_arg)
    try:
        with store.engine.connect() as conn:
            trans = conn.begin()
            try:
                begin_writing(conn)
                result = _import(conn, source, mapping, dry_run)
            except BaseException:
                trans.rollback()
                raise
            (trans.rollback if dry_run else trans.commit)()
            return result
    finally:
        source.cleanup()


def _parse(source: SourceFile, mapping: Mapping) -> tuple[list[dict], int]:
    problems: list[InputProblem] = []
    rows: dict[str, dict] = {}
    read = 0
    fmt = detect_format(source, mapping.format)
    for line, raw in read_records(source, fmt, encoding=mapping.encoding,
                                  delimiter=mapping.delimiter, skip_rows=mapping.skip_rows):
        if read == 0:
            for column, message in mapping.column_problems(list(raw), CUSTOMER_FIELDS,
                                                           ("id", "name")):
                problems.append(InputProblem(source.name, max(line - 1, 1), column, None,
                                             message))
            if problems:
                raise InputError(problems)
        read += 1
        try:
            row = _clean(line, mapping.to_native(raw, CUSTOMER_FIELDS))
        except FieldProblem as bad:
            if len(problems) < MAX_PROBLEMS:
                problems.append(InputProblem(source.name, line, mapping.source_column(bad.field),
                                             bad.value, bad.message))
            continue
        earlier = rows.get(row["id"])
        if earlier and earlier["content_hash"] != row["content_hash"]:
            problems.append(InputProblem(source.name, line, "id", row["id"],
                                         f"appears again with different content (first at "
                                         f"line {earlier['line_no']})"))
        rows.setdefault(row["id"], row)
    if problems:
        raise InputError(problems, len(problems) >= MAX_PROBLEMS)
    return list(rows.values()), read


def _import(conn: Connection, source: SourceFile, mapping: Mapping,
            dry_run: bool) -> CustomerImportResult:
    result = CustomerImportResult(source.name, source.sha256, dry_run=dry_run)
    rows, result.rows_read = _parse(source, mapping)
    stored = {r[0]: r[1] for r in conn.execute(select(customers.c.id, customers.c.content_hash))}
    new = [r for r in rows if r["id"] not in stored]
    changed = [r for r in rows if r["id"] in stored and stored[r["id"]] != r["content_hash"]]
    result.inserted, result.updated = len(new), len(changed)
    result.unchanged = len(rows) - len(new) - len(changed)
    if not new and not changed:
        return result
    batch_id = record_batch(conn, "customers", source, result.rows_read, mapping=mapping.name)
    now = dt.datetime.now(dt.UTC)
    for r in new + changed:
        r.update(batch_id=batch_id, updated_at=now)
    if new:
        conn.execute(insert(customers), new)
    for r in changed:
        values = {k: v for k, v in r.items() if k != "id"}
        conn.execute(update(customers).where(customers.c.id == r["id"]).values(**values))
    result.batch_id = batch_id
    return result
