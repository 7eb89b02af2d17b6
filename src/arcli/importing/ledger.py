"""Importing a ledger file: atomic (one transaction), idempotent, traceable.

The file is streamed into a temporary staging table, so a million rows never sit in
Python at once; conflicts and duplicates are then found with set-based SQL. Either every
row lands (with its batch and line number) and cash application is rerun for the
customer+currency groups it touched, or nothing does. A big first load into an empty
SQLite book skips the staging table: its rows are spilled to files by customer range
(:mod:`~arcli.importing.spill`), cash-applied range by range in worker processes, and
repeated numbers are caught while loading.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import getpass
import json
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import (
    ColumnElement,
    Connection,
    Date,
    Integer,
    Table,
    func,
    insert,
    literal,
    select,
)
from sqlalchemy.exc import IntegrityError

from arcli import heap
from arcli.allocation import PRINCIPAL_FIRST
from arcli.cash_application import last_document_id, reapply
from arcli.errors import InputError, InputProblem, StoreError
from arcli.importing.batches import find_batch, record_batch
from arcli.importing.first_load import (
    FirstLoad,
    load_first,
    load_first_spilled,
    repeated_numbers,
)
from arcli.importing.mapping import LEDGER_FIELDS, Mapping
from arcli.importing.parsing import (
    PARALLEL_MIN_BYTES,
    STAGE_COLUMNS,
    ParsedChunk,
    RowMaker,
    parse_ledger,
)
from arcli.importing.readers import SourceFile, open_source
from arcli.importing.reimport import ContentDigest, held_digest
from arcli.importing.spill import CustomerRanges, Spill
from arcli.importing.staging import index_staging, staging_table
from arcli.importing.validate import CustomerTerms, LedgerValidator
from arcli.progress import Progress, unreported
from arcli.store import Store
from arcli.store.bulk import date_param, insert_rows
from arcli.store.bulk_load import BulkLoadSettings, bulk_load_settings, missing_customers
from arcli.store.engine import begin_writing
from arcli.store.indexes import deferred_indexes
from arcli.store.schema import (
    OPEN_SENTINEL,
    customers,
    document_history,
    documents,
    import_batches,
)

MAX_PROBLEMS = 50
BULK_LOAD_ROWS = 50_000  # first loads at least this big build secondary indexes afterwards
SPILL_MIN_BYTES = PARALLEL_MIN_BYTES  # first loads from files this big skip the staging table
SPILL_RANGE_BYTES = 1 << 20
_COMPARED = ("customer_id", "date", "due_date", "amount_minor", "currency", "reference",
             "description")


@dataclass
class ImportResult:
    """What an import did (or, with --dry-run, would do)."""

    file: str
    sha256: str
    rows_read: int = 0
    inserted: int = 0
    unchanged: int = 0
    replaced: int = 0
    customers_created: int = 0
    batch_id: int | None = None
    dry_run: bool = False
    previous_batch: int | None = None
    groups: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class LedgerImportOptions:
    mapping: Mapping
    create_customers: bool = False
    replace: bool = False
    dry_run: bool = False
    default_terms: int = 30
    default_currency: str | None = None
    settlement_order: tuple[str, ...] = PRINCIPAL_FIRST


class _ProblemList:
    """Collects problems up to a limit, so one run reports (nearly) everything wrong."""

    def __init__(self, source: SourceFile):
        self.source = source
        self.items: list[InputProblem] = []
        self.truncated = False

    def add(self, line: int | None, field_name: str | None, value: str | None, message: str):
        if len(self.items) >= MAX_PROBLEMS:
            self.truncated = True
            return
        column = field_name
        self.items.append(InputProblem(self.source.name, line, column, value, message))

    def raise_if_any(self) -> None:
        if self.items:
            raise InputError(self.items, self.truncated)


def import_ledger(store: Store, file_arg: str, options: LedgerImportOptions,
                  progress: Progress = unreported) -> ImportResult:
    """Import one ledger file; raises :class:`InputError` (and stores nothing) if it is bad.

    ``progress`` is told how far the import has got (see :mod:`arcli.progress`): a
    million rows take seconds, and someone at a terminal wants to see them move. Its
    stages, in order: "checking" (a rerun of a file imported before, compared with what
    that import stored) and "reading" count bytes of the file, or records with total 0
    where the byte count is unknown (a file read in one process); "loading" counts the
    customer ranges of a big first load, or has no steps; "indexing" has none."""
    source = open_source(file_arg)
    try:
        with store.engine.connect() as conn, bulk_load_settings(conn) as bulk:
            trans = conn.begin()
            try:
                with heap.collector_paused():
                    result = _import(conn, source, options, bulk, progress)
            except BaseException:
                trans.rollback()
                raise
            if options.dry_run:
                trans.rollback()
            else:
                trans.commit()
            return result
    finally:
        source.cleanup()


def _import(conn: Connection, source: SourceFile, options: LedgerImportOptions,
            bulk: BulkLoadSettings, progress: Progress) -> ImportResult:
    result = ImportResult(source.name, source.sha256, dry_run=options.dry_run)
    problems = _ProblemList(source)
    validator = LedgerValidator(
        options.mapping, _customer_terms(conn), default_terms=options.default_terms,
        default_currency=options.default_currency, create_customers=options.create_customers,
    )
    result.previous_batch = find_batch(conn, "ledger", source.sha256)
    ranges = _spill_ranges(conn, source, options, validator)
    if ranges is not None and not options.dry_run:
        bulk.switch_on()  # before the transaction begins: SQLite switches only outside one
    begin_writing(conn)
    if result.previous_batch is not None and _held_unchanged(
            conn, source, options, validator, result, problems, progress):
        return result
    if ranges is not None:
        with Spill(ranges) as spill:
            # ISO text for dates whatever the backend: spill files carry only text,
            # and SQLite and PostgreSQL's COPY both take it
            maker = RowMaker(options.mapping, validator, dt.date.isoformat, spill)
            _parse(source, maker, result, problems, lambda chunk: _spilled(spill, chunk),
                   functools.partial(progress, "reading"))
            batch_id, groups = _first_load(
                conn, source, options, result, problems, progress, deferred=True,
                load=lambda batch: load_first_spilled(
                    conn, spill, batch, options.settlement_order,
                    on_range=functools.partial(progress, "loading"),
                    part_files=bulk.part_files))
    else:
        maker = RowMaker(options.mapping, validator, date_param(conn))
        batch_id, groups = _load_staged(conn, source, maker, options, result, problems,
                                        progress)
    if batch_id is not None:
        _finish_batch(conn, batch_id, result)
    result.batch_id = batch_id
    result.groups = groups
    return result


def _held_unchanged(conn: Connection, source: SourceFile, options: LedgerImportOptions,
                    validator: LedgerValidator, result: ImportResult,
                    problems: _ProblemList, progress: Progress) -> bool:
    """True, with ``result`` filled in, when the file's rows are exactly the documents its
    earlier batch wrote and still holds: the re-import changes nothing (see
    :mod:`~arcli.importing.reimport`). Bad rows raise as on the staged path."""
    held = held_digest(conn, result.previous_batch)
    if held is None:
        return False
    maker = RowMaker(options.mapping, validator, date_param(conn), digest_only=True)
    probe = ImportResult(result.file, result.sha256)
    digests: list[ContentDigest] = []
    _parse(source, maker, probe, problems, lambda chunk: digests.append(chunk.digest),
           functools.partial(progress, "checking"))
    if sum(digests, ContentDigest()) != held:
        return False
    result.rows_read = result.unchanged = probe.rows_read
    return True


def _spill_ranges(conn: Connection, source: SourceFile, options: LedgerImportOptions,
                  validator: LedgerValidator) -> CustomerRanges | None:
    """Customer ranges for a big first load (see :mod:`~.spill`), else None.

    ``--create-customers`` keeps the staging table (customers are created from it). On
    PostgreSQL the spilled load hands out ids in Python's order of customer ids, which
    its collation may not share; that only decides where a customer's documents sit.
    """
    size = source.path.stat().st_size
    if options.create_customers or size < SPILL_MIN_BYTES or not _book_is_empty(conn):
        return None
    # about 1 MB of the file per range: what a worker sorts and applies, and what comes
    # back, stays the same size however big the file
    return CustomerRanges.of(validator.customers, ranges=max(16, -(-size // SPILL_RANGE_BYTES)))


def _spilled(spill: Spill, chunk: ParsedChunk) -> None:
    if chunk.spilled is not None:
        spill.add(chunk.spilled)


def _parse(source: SourceFile, maker: RowMaker, result: ImportResult, problems: _ProblemList,
           sink: Callable[[ParsedChunk], None], progress: Callable[[int, int], None]) -> None:
    """Parse and validate the whole file, handing good chunks to ``sink``; raises
    :class:`InputError` with every problem found (up to the limit). ``progress(done,
    total)`` after each chunk: bytes of the file where chunks know theirs, else records
    read with total 0."""
    def check(columns: list[str], line: int) -> None:
        _check_columns(maker.validator, columns, problems, line)
        problems.raise_if_any()

    total, done = source.path.stat().st_size, 0
    with contextlib.closing(parse_ledger(source, maker, check)) as chunks:  # stops workers
        for chunk in chunks:
            if chunk.fatal:
                raise InputError(chunk.fatal)
            result.rows_read += chunk.read
            for problem in chunk.problems:
                problems.add(*problem)
            if not problems.items:  # after the first problem, only more problems matter
                sink(chunk)
            done += chunk.size
            if chunk.size:
                progress(min(done, total), total)
            else:  # read in one process: records, total unknown
                progress(result.rows_read, 0)
    problems.raise_if_any()
    if done:
        progress(total, total)  # the header, which no chunk counts


def _load_staged(conn: Connection, source: SourceFile, maker: RowMaker,
                 options: LedgerImportOptions, result: ImportResult, problems: _ProblemList,
                 progress: Progress):
    """Through the staging table: duplicates and conflicts found with SQL, then loaded."""
    stage = staging_table(conn)
    _parse(source, maker, result, problems,
           lambda chunk: insert_rows(conn, stage.name, STAGE_COLUMNS, chunk.rows),
           functools.partial(progress, "reading"))
    progress("loading", 0, 0)
    index_staging(conn, stage)
    repeats = _check_duplicates_in_file(conn, stage, problems)
    conflicts = _conflicts(conn, stage, problems, report=not options.replace)
    problems.raise_if_any()
    if options.create_customers:
        result.customers_created = _create_missing_customers(conn, stage)
    if _book_is_empty(conn):
        loaded = _first_load(
            conn, source, options, result, problems, progress,
            deferred=result.rows_read >= BULK_LOAD_ROWS,
            load=lambda batch: load_first(conn, stage, batch, options.settlement_order))
    else:
        loaded = _load_more(conn, source, stage, options, result, conflicts, repeats)
    stage.drop(conn)
    return loaded


def _first_load(conn: Connection, source: SourceFile, options: LedgerImportOptions,
                result: ImportResult, problems: _ProblemList, progress: Progress,
                deferred: bool, load: Callable[[int], FirstLoad]):
    """Into an empty book: documents written once, with cash application already done.

    Rows not checked for repeated numbers beforehand (a spilled load) are checked on the
    way: a number repeated with other content within a customer's group is noted while
    loading, one repeated across groups makes the unique index fail when it is built at
    the end. Either way the problems are reported as the staging check reports them, and
    the transaction rolls back.
    """
    if not result.rows_read:
        return None, []
    batch_id = record_batch(conn, "ledger", source, result.rows_read,
                            mapping=options.mapping.name, user=_user())
    loaded = None
    try:
        with deferred_indexes(conn, deferred, ("documents", "allocations"), unique_too=True,
                              foreign_keys=True):
            loaded = load(batch_id)
            if any(differs for *_lines, differs in loaded.repeats.values()):
                _raise_repeated(conn, loaded, problems)
            _check_customers(conn, loaded)
            if deferred:
                progress("indexing", 0, 0)
    except IntegrityError as exc:
        if loaded is not None:
            _raise_repeated(conn, loaded, problems)
        # Not a repeated number: a row lost what it refers to (a customer removed by
        # another program while the import ran).
        detail = " ".join(str(exc.orig).split())
        raise StoreError(f"the book changed while the import ran ({detail}); "
                         "nothing was imported") from None
    result.inserted = loaded.documents
    result.unchanged = result.rows_read - loaded.documents
    return batch_id, sorted(loaded.groups)


def _check_customers(conn: Connection, loaded: FirstLoad) -> None:
    """Every customer of the load is in the book: what the foreign key checks row by row,
    checked once (a bulk load on SQLite does without the row-by-row check)."""
    gone = missing_customers(conn, (customer for customer, _currency in loaded.groups))
    if gone:
        raise StoreError(f"customers removed from the book while the import ran: "
                         f"{', '.join(gone[:10])}; nothing was imported")


def _raise_repeated(conn: Connection, loaded: FirstLoad, problems: _ProblemList) -> None:
    """Raise the numbers repeated with different content, if there are any."""
    for doc_type, number, first, last in repeated_numbers(conn, loaded, MAX_PROBLEMS):
        problems.add(last, "number", number,
                     f"{doc_type} {number} appears again with different content (first at line "
                     f"{first})")
    problems.raise_if_any()


def _load_more(conn: Connection, source: SourceFile, stage: Table,
               options: LedgerImportOptions, result: ImportResult, conflicts: list,
               repeats: bool):
    """Into a book with documents: insert new ones, replace changed ones, reapply groups.

    ``repeats``: whether the file holds some type+number more than once.
    """
    new = _new_condition(stage, first_lines_only=repeats)
    new_lines, new_groups = _new_rows(conn, stage, new)
    held_up_to = last_document_id(conn)
    batch_id = None
    if new_lines or conflicts:
        batch_id = record_batch(conn, "ledger", source, result.rows_read,
                                mapping=options.mapping.name, user=_user())
        _insert_new(conn, stage, batch_id, new)
        result.inserted = new_lines  # INSERT..SELECT rowcount is -1 on some drivers
    replaced_groups: set[tuple[str, str]] = set()
    if conflicts:
        result.replaced, replaced_groups = _replace(conn, stage, conflicts, batch_id)
    result.unchanged = result.rows_read - result.inserted - result.replaced
    groups = sorted(new_groups | replaced_groups)
    reapply(conn, groups, settlement_order=options.settlement_order, added_after=held_up_to,
            changed=replaced_groups)
    return batch_id, groups


def _book_is_empty(conn: Connection) -> bool:
    return conn.execute(select(documents.c.id).limit(1)).first() is None


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _customer_terms(conn: Connection) -> dict[str, CustomerTerms]:
    rows = conn.execute(select(customers.c.id, customers.c.terms_days, customers.c.currency))
    return {r.id: CustomerTerms(r.terms_days, r.currency) for r in rows}


def _check_columns(validator: LedgerValidator, header: list[str], problems: _ProblemList,
                   line: int) -> None:
    """The header names the columns a ledger needs, and only columns arcli reads.

    The currency column is required unless a default is given explicitly (the mapping
    maps an empty currency, or the config's ``defaults: currency:``): a customer's own
    currency is no default for a file whose currency column went missing."""
    mapping = validator.mapping
    required = ["number", "customer", "date", "amount"]
    if not mapping.sign:
        required.append("type")
    if not (mapping.currencies.get("") or validator.default_currency):
        required.append("currency")
    for column, message in mapping.column_problems(header, LEDGER_FIELDS, tuple(required)):
        problems.add(line, column, None, message)


def _check_duplicates_in_file(conn: Connection, stage: Table, problems: _ProblemList) -> bool:
    """The same number twice in one file is fine if identical, an error if it differs.

    Returns whether any number appears twice at all: most files repeat none, and then
    finding new rows need not look for each number's first line (~0.6 s at 1M rows).
    """
    s = stage.c
    repeated = conn.execute(
        select(s.type, s.number, func.min(s.line_no), func.max(s.line_no),
               func.count(func.distinct(s.content_hash)))
        .group_by(s.type, s.number)
        .having(func.count() > 1)
    )
    any_repeat = False
    for doc_type, number, first, last, versions in repeated:
        any_repeat = True
        if versions > 1:
            problems.add(last, "number", number,
                         f"{doc_type} {number} appears again with different content (first "
                         f"at line {first})")
        if problems.truncated:  # the import fails; further repeats change nothing
            break
    return any_repeat


def _conflicts(conn: Connection, stage: Table, problems: _ProblemList, report: bool) -> list:
    """Documents already stored under the same type+number with different content."""
    s, d = stage.c, documents.c
    rows = conn.execute(
        select(s.line_no, s.type, s.number, d.id,
               *[getattr(s, c).label(f"new_{c}") for c in _COMPARED],
               *[getattr(d, c).label(f"old_{c}") for c in _COMPARED])
        .join(documents, (d.type == s.type) & (d.number == s.number))
        .where(d.content_hash != s.content_hash)
        .order_by(s.line_no)
    ).all()
    if report:
        for row in rows:
            diffs = [f"{c}: {getattr(row, 'old_' + c)!s} -> {getattr(row, 'new_' + c)!s}"
                     for c in _COMPARED if getattr(row, "old_" + c) != getattr(row, "new_" + c)]
            problems.add(row.line_no, "number", row.number,
                         f"{row.type} already imported with different content ("
                         f"{'; '.join(diffs) or 'description/reference formatting'}); "
                         "use --replace to accept the new version")
    return rows


def _create_missing_customers(conn: Connection, stage: Table) -> int:
    s = stage.c
    missing = conn.execute(
        select(s.customer_id, func.min(s.currency), func.min(s.line_no))
        .where(~s.customer_id.in_(select(customers.c.id)))
        .group_by(s.customer_id)
    ).all()
    now = dt.datetime.now(dt.UTC)
    if missing:
        conn.execute(insert(customers), [
            {"id": cid, "name": cid, "currency": cur, "content_hash": "", "line_no": line,
             "updated_at": now}
            for cid, cur, line in missing
        ])
    return len(missing)


def _new_condition(stage: Table, first_lines_only: bool) -> ColumnElement[bool]:
    """Staged rows to insert: the (first) line of each type+number not stored yet."""
    s, d = stage.c, documents.c
    stored = select(d.id).where((d.type == s.type) & (d.number == s.number)).exists()
    if not first_lines_only:
        return ~stored
    first_lines = select(func.min(s.line_no)).group_by(s.type, s.number)
    return s.line_no.in_(first_lines) & ~stored


def _new_rows(conn: Connection, stage: Table,
              new: ColumnElement[bool]) -> tuple[int, set[tuple[str, str]]]:
    s = stage.c
    counts = conn.execute(
        select(s.customer_id, s.currency, func.count()).where(new)
        .group_by(s.customer_id, s.currency)
    ).all()
    return sum(c for _, _, c in counts), {(cid, cur) for cid, cur, _ in counts}


def _insert_new(conn: Connection, stage: Table, batch_id: int,
                new: ColumnElement[bool]) -> None:
    s = stage.c
    cols = ["type", "number", "customer_id", "date", "due_date", "amount_minor", "sign",
            "currency", "reference", "description", "content_hash", "line_no", "open_minor",
            "closed_on", "batch_id"]
    new_rows = select(
        s.type, s.number, s.customer_id, s.date, s.due_date, s.amount_minor, s.sign,
        s.currency, s.reference, s.description, s.content_hash, s.line_no, s.amount_minor,
        literal(OPEN_SENTINEL, Date), literal(batch_id, Integer),
    ).where(new)
    conn.execute(insert(documents).from_select(cols, new_rows))


def _replace(conn: Connection, stage: Table, conflicts: list, batch_id: int):
    """Overwrite conflicting documents in place (keeping ids), recording the old content."""
    now = dt.datetime.now(dt.UTC)
    groups: set[tuple[str, str]] = set()
    for row in conflicts:
        old = {c: _jsonable(getattr(row, "old_" + c)) for c in _COMPARED}
        conn.execute(insert(document_history).values(
            document_id=row.id, batch_id=batch_id, replaced_at=now,
            old_content=json.dumps(old, sort_keys=True, ensure_ascii=False)))
        staged = conn.execute(select(stage).where(stage.c.line_no == row.line_no)).one()
        conn.execute(documents.update().where(documents.c.id == row.id).values(
            customer_id=staged.customer_id, date=staged.date, due_date=staged.due_date,
            amount_minor=staged.amount_minor, currency=staged.currency,
            reference=staged.reference, description=staged.description,
            content_hash=staged.content_hash, batch_id=batch_id, line_no=staged.line_no))
        groups.add((row.old_customer_id, row.old_currency))
        groups.add((staged.customer_id, staged.currency))
    return len(conflicts), groups


def _jsonable(value):
    return value.isoformat() if isinstance(value, dt.date) else value


def _finish_batch(conn: Connection, batch_id: int, result: ImportResult) -> None:
    conn.execute(import_batches.update().where(import_batches.c.id == batch_id).values(
        rows_inserted=result.inserted, rows_unchanged=result.unchanged,
        rows_replaced=result.replaced))

