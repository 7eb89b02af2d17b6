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

import contextlib
import datetime as dt
import functools
import marshal
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import chain, groupby
from operator import itemgetter
from pathlib import Path

from sqlalchemy import Connection, Table

from arcli import forkpool
from arcli.allocation import Doc, apply_cash
from arcli.cash_application import ALLOCATION_COLUMNS, note_formatter
from arcli.importing.parsing import STAGE_COLUMNS
from arcli.importing.spill import Group, Pieces, Spill, grouped_range
from arcli.store.bulk import (
    insert_rows,
    move_id_sequence,
    stream_rows,
)
from arcli.store.part_files import PartFile, PartFiles
from arcli.store.schema import OPEN_SENTINEL

DOCUMENT_COLUMNS = ("id", "type", "number", "customer_id", "date", "due_date", "amount_minor",
                    "sign", "currency", "reference", "description", "content_hash", "line_no",
                    "batch_id", "open_minor", "closed_on")
_FLUSH_ROWS = 20_000
_TASK_ROWS = 10_000
_STAGED = (f"SELECT {', '.join(STAGE_COLUMNS)} FROM {{table}} "
           "ORDER BY customer_id, currency, line_no")


@dataclass
class FirstLoad:
    """What the first load wrote, and the repeated type+numbers it met on the way.

    ``repeats`` maps a type+number seen more than once within a customer+currency group
    to (first line, last line, whether the contents differed); only the first line is
    written. A number repeated across groups necessarily differs in content: the unique
    index finds those (see :func:`repeated_numbers`).
    """

    documents: int = 0
    allocations: int = 0
    groups: set[Group] = field(default_factory=set)
    repeats: dict[tuple[str, str], tuple[int, int, bool]] = field(default_factory=dict)


@dataclass(frozen=True)
class _Job:
    """What cash application needs besides the rows.

    ``dates_as_text``: dates go out as ISO text (SQLite stores them so; ``COPY`` into
    PostgreSQL takes text too, and marshalled results can only carry text).
    ``explicit_ids``: document rows carry their id. Not on SQLite: into an empty table
    SQLite numbers rows 1, 2, 3... in insertion order, which is the order ids are handed
    out in, so passing them would only cost a rebuilt tuple per row (0.75 s of the main
    process for 1M documents). PostgreSQL's sequence may have moved on (and another
    session may draw from it), so there ids are explicit.
    """

    batch_id: int
    settlement_order: tuple[str, ...]
    dates_as_text: bool
    explicit_ids: bool

    def param(self, day: dt.date):
        return _iso_text(day) if self.dates_as_text else day


@functools.cache
def _iso_text(day: dt.date) -> str:
    """A date as SQLite stores it; one string per distinct date, shared by the rows that
    carry it (the results sent back from the range workers hold it once)."""
    return day.isoformat()


@functools.cache
def _as_date(value: object) -> dt.date:
    """A staged date (ISO text on SQLite) as a date; each distinct value parsed once."""
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def load_first(conn: Connection, stage: Table, batch_id: int,
               settlement_order: Sequence[str]) -> FirstLoad:
    """Insert every staged document (first line of each type+number) into the empty book.

    Cash application runs here, batch by batch of whole groups, on rows read back from the
    staging table in customer order.
    """
    result = FirstLoad()
    sqlite = conn.dialect.name == "sqlite"
    job = _Job(batch_id, tuple(settlement_order), dates_as_text=sqlite, explicit_ids=not sqlite)
    writer = _Writer(conn, job.explicit_ids)
    staged = stream_rows(conn, _STAGED.format(table=stage.name))
    for start, groups in _tasks(groupby(staged, key=itemgetter(2, 7)), result):
        documents, allocations = _apply(job, start, groups)
        writer.add(documents, allocations)
    return _finish(conn, writer, result)


def load_first_spilled(conn: Connection, spill: Spill, batch_id: int,
                       settlement_order: Sequence[str],
                       on_range: Callable[[int, int], None] | None = None,
                       part_files: PartFiles | None = None) -> FirstLoad:
    """Insert every spilled document into the empty book, range by range.

    Worker processes read, group and cash-apply the customer ranges with ids counted from
    1 (:func:`_apply_range`); this process inserts the documents range by range, so
    SQLite numbers them as the staged path does (on PostgreSQL their ids are moved by the
    documents of the ranges before), and moves the ids in the allocations likewise.
    Only the results cross the process boundary: the rows reach the workers through the
    spilled slices. (Shipping the staged rows to workers through pipes was measured
    slower: 34.6 s against 30.9 s for 1M documents.) On SQLite, given ``part_files``,
    the results come as files SQLite copies (see :mod:`arcli.store.part_files`); else
    marshalled, inserted here. ``on_range(done, total)`` as ranges are stored.
    """
    explicit_ids = conn.dialect.name != "sqlite"
    job = _RangeJob(_Job(batch_id, tuple(settlement_order), dates_as_text=True,
                         explicit_ids=explicit_ids), spill.pieces(), spill.folder)
    if part_files is not None and not explicit_ids:
        return _load_part_files(conn, job, part_files, on_range)
    result = FirstLoad()
    writer = _Writer(conn, explicit_ids)
    next_id = 1
    ranges = forkpool.ordered_map(_apply_range, range(len(job.pieces)), job)
    with contextlib.closing(ranges):  # stops the workers if this ends early
        for index, (rows, part) in enumerate(ranges):
            documents, allocations = marshal.loads(rows)
            offset = next_id - 1
            if explicit_ids:
                documents = [(doc_id + offset, *rest) for doc_id, *rest in documents]
            writer.add(documents, [(cust, cur, credit + offset, debit + offset, *rest)
                                   for cust, cur, credit, debit, *rest in allocations])
            next_id += len(documents)
            _merge(result, part)
            if on_range is not None:
                on_range(index + 1, len(job.pieces))
    return _finish(conn, writer, result)


@dataclass(frozen=True)
class _RangeJob:
    """What a range worker needs (inherited through fork)."""

    job: _Job
    pieces: tuple[Pieces, ...]  # one entry per customer range
    folder: Path  # where part files go (removed with the spill)


def _apply_range(index: int) -> tuple[bytes, FirstLoad]:
    """In a worker: one customer range grouped and cash-applied, ids counted from 1.

    The document and allocation rows go back marshalled (text, integers and None only):
    half the cost of pickling them, which multiprocessing would do otherwise.
    """
    job: _RangeJob = forkpool.job()
    part = FirstLoad()
    documents: list[tuple] = []
    allocations: list[tuple] = []
    for start, groups in _tasks(grouped_range(job.pieces[index]), part):
        docs, allocs = _apply(job.job, start, groups)
        documents += docs
        allocations += allocs
    return marshal.dumps((documents, allocations)), part


def _load_part_files(conn: Connection, job: _RangeJob, part_files: PartFiles,
                     on_range: Callable[[int, int], None] | None) -> FirstLoad:
    """The SQLite load through part files: each worker writes a block of consecutive
    ranges into a file of its own, copied into the book in block order."""
    result = FirstLoad()
    blocks = _blocks(len(job.pieces), part_files.room())
    offset = 0
    files = forkpool.ordered_map(_apply_block, blocks, job)
    with contextlib.closing(files):  # stops the workers if this ends early
        for (_first, end), (path, documents, allocations, part) in zip(blocks, files, strict=True):
            part_files.copy(path, "documents", DOCUMENT_COLUMNS[1:])
            part_files.copy(path, "allocations", ALLOCATION_COLUMNS, _MOVED_IDS, (offset,) * 2)
            offset += documents
            result.documents += documents
            result.allocations += allocations
            _merge(result, part)
            if on_range is not None:
                on_range(end, len(job.pieces))
    move_id_sequence(conn, "documents")
    return result


_MOVED_IDS = tuple(f"{column} + ?" if column in ("credit_id", "debit_id") else column
                   for column in ALLOCATION_COLUMNS)


def _blocks(ranges: int, files: int) -> list[tuple[int, int]]:
    """``ranges`` cut into at most ``files`` blocks of consecutive ranges, as even as can be."""
    count = max(1, min(ranges, files))
    cuts = [ranges * i // count for i in range(count + 1)]
    return [(cuts[i], cuts[i + 1]) for i in range(count) if cuts[i] < cuts[i + 1]]


def _apply_block(block: tuple[int, int]) -> tuple[str, int, int, FirstLoad]:
    """In a worker: ranges [first, end) grouped, cash-applied (ids counted from 1) and
    written to a part file; returns it with its document and allocation counts."""
    job: _RangeJob = forkpool.job()
    first, end = block
    part = FirstLoad()
    path = job.folder / f"ranges-{first}-{end}.db"
    groups = chain.from_iterable(grouped_range(job.pieces[i]) for i in range(first, end))
    tables = {"documents": DOCUMENT_COLUMNS[1:], "allocations": ALLOCATION_COLUMNS}
    with PartFile(path, tables) as out:
        for start, batch in _tasks(groups, part):
            documents, allocations = _apply(job.job, start, batch)
            out.add("documents", documents)
            out.add("allocations", allocations)
    return str(path), out.rows["documents"], out.rows["allocations"], part


def _merge(result: FirstLoad, part: FirstLoad) -> None:
    result.groups |= part.groups
    result.repeats.update(part.repeats)


def _finish(conn: Connection, writer: _Writer, result: FirstLoad) -> FirstLoad:
    writer.flush()
    move_id_sequence(conn, "documents")
    result.documents, result.allocations = writer.documents_written, writer.allocations_written
    return result


def _tasks(groups: Iterable[tuple[Group, Iterable[tuple]]],
           result: FirstLoad) -> Iterator[tuple[int, list]]:
    """Batches of whole groups (given in order, rows in line order), each batch with the
    first id of its documents.

    Ids are handed out here, in group order, so they do not depend on the workers.
    """
    next_id, batch, size, start = 1, [], 0, 1
    for group, rows in groups:
        kept = _first_of_each_key(rows, result.repeats)
        batch.append((group, kept))
        result.groups.add(group)
        next_id += len(kept)
        size += len(kept)
        if size >= _TASK_ROWS:
            yield start, batch
            batch, size, start = [], 0, next_id
    if batch:
        yield start, batch


def _apply(job: _Job, next_id: int, groups: list) -> tuple[list[tuple], list[tuple]]:
    """Cash application over a batch of groups: their document rows and allocation rows."""
    sentinel = job.param(OPEN_SENTINEL)
    documents: list[tuple] = []
    allocations: list[tuple] = []
    make_doc, batch_id, param = Doc._make, job.batch_id, job.param
    for group, kept in groups:
        docs = [make_doc((doc_id, r[0], r[1], _as_date(r[3]), _as_date(r[4]), r[5], r[8]))
                for doc_id, r in enumerate(kept, next_id)]
        outcome = apply_cash(docs, settlement_order=job.settlement_order,
                             fmt=note_formatter(group[1]))
        open_minor, closed_on = outcome.open_minor, outcome.closed_on
        for doc_id, r in enumerate(kept, next_id):
            closed = closed_on[doc_id]
            row = (*r, batch_id, open_minor[doc_id], param(closed) if closed else sentinel)
            documents.append((doc_id, *row) if job.explicit_ids else row)
        allocations.extend(
            (group[0], group[1], a.credit_id, a.debit_id, a.amount_minor,
             job.param(a.effective_date), a.rule, a.note) for a in outcome.allocations)
        next_id += len(docs)
    return documents, allocations


def _first_of_each_key(rows: Iterable[tuple],
                       repeats: dict[tuple[str, str], tuple[int, int, bool]]) -> list[tuple]:
    """The first line of each type+number; later lines are noted in ``repeats``.

    Most groups repeat no number: checking that with a set of numbers costs a third of
    looking for the first line of each.
    """
    rows = rows if isinstance(rows, list) else list(rows)
    if len({r[1] for r in rows}) == len(rows):
        return rows
    first: dict[tuple[str, str], tuple] = {}
    kept = []
    for r in rows:
        key = (r[0], r[1])
        seen = first.get(key)
        if seen is None:
            first[key] = r
            kept.append(r)
            continue
        differs = repeats[key][2] if key in repeats else False
        repeats[key] = (seen[11], r[11], differs or r[10] != seen[10])
    return kept


def repeated_numbers(conn: Connection, loaded: FirstLoad,
                     limit: int) -> list[tuple[str, str, int, int]]:
    """(type, number, first line, last line) of numbers the file gives different contents.

    Within a group they were noted while loading; across groups they are stored twice
    (which is what made the unique index fail): ask the documents. The lines are the first
    and last of all lines with that number, as the staging table's check reports them.
    """
    found = {key: (low, high) for key, (low, high, differs) in loaded.repeats.items()
             if differs}
    rows = conn.exec_driver_sql(
        "SELECT type, number, MIN(line_no), MAX(line_no) FROM documents "
        "GROUP BY type, number HAVING COUNT(*) > 1")
    for doc_type, number, low, high in rows:
        noted = loaded.repeats.get((doc_type, number))
        lines = [low, high, *(noted[:2] if noted else ())]
        found[(doc_type, number)] = (min(lines), max(lines))
    return [(t, n, low, high) for (t, n), (low, high) in sorted(found.items())][:limit]


class _Writer:
    """Buffers document and allocation rows and writes them in large batches."""

    def __init__(self, conn: Connection, explicit_ids: bool):
        self.conn = conn
        self.columns = DOCUMENT_COLUMNS if explicit_ids else DOCUMENT_COLUMNS[1:]
        self.documents: list[tuple] = []
        self.allocations: list[tuple] = []
        self.documents_written = 0
        self.allocations_written = 0

    def add(self, documents: list[tuple], allocations: list[tuple]) -> None:
        self.documents += documents
        self.allocations += allocations
        if len(self.documents) >= _FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        # Documents first: allocations reference them.
        insert_rows(self.conn, "documents", self.columns, self.documents)
        insert_rows(self.conn, "allocations", ALLOCATION_COLUMNS, self.allocations)
        self.documents_written += len(self.documents)
        self.allocations_written += len(self.allocations)
        self.documents.clear()
        self.allocations.clear()
