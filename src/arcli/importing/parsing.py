"""Turning a ledger file into rows for the staging table, in worker processes when it is big.

Reading, checking and hashing a record costs about 9 microseconds of Python; on a million
documents that was the largest single part of an import. A big CSV/TSV file is therefore
cut into slices of about 2 MB at line ends and worker processes (:mod:`arcli.forkpool`)
parse and validate slices while this process writes the previous results into the staging
table. Results come back in file order, so problems are reported in line order and the
outcome does not depend on the number of workers.

A slice never ends inside a quoted field (see :func:`~arcli.importing.readers.cut_slices`;
a misplaced quote is an error). A smaller file is cut and parsed the same way, in this
process, so the two give the same rows and the same errors. Files in encodings where a
newline or a quote byte can occur inside a multi-byte character (UTF-16, UTF-32) are read
as text in this process, as are spreadsheets and JSON lines.
"""

from __future__ import annotations

import codecs
import datetime as dt
import functools
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from arcli import forkpool
from arcli.allocation import DOCUMENT_TYPES, sign_of
from arcli.errors import InputError, InputProblem
from arcli.importing.encodings import decode_failure, file_encoding
from arcli.importing.mapping import LEDGER_FIELDS, Mapping
from arcli.importing.readers import (
    SLICE_SIZE,
    SourceFile,
    cut_slices,
    detect_format,
    read_header,
    read_records,
    record_of,
    slice_rows,
)
from arcli.importing.reimport import ContentDigest
from arcli.importing.spill import Spill, SpilledSlice
from arcli.importing.validate import FieldProblem, LedgerRow, LedgerValidator

SLICE_BYTES = SLICE_SIZE
#: Below this, starting workers costs more than it saves. ARCLI_PARALLEL_MIN_BYTES (for
#: tests and trials only) lowers it, so small files take the worker path.
PARALLEL_MIN_BYTES = int(os.environ.get("ARCLI_PARALLEL_MIN_BYTES") or 16 << 20)
_ROWS_PER_CHUNK = 5000
_PROBE = '\n",\t'

Problem = tuple[int | None, str | None, str | None, str]  # line, column, value, message
HeaderCheck = Callable[[list[str], int], None]


@dataclass
class ParsedChunk:
    """Staging rows of consecutive records, and the problems found among them.

    In a big first load the rows are spilled to disk by customer range where they were
    parsed, and only ``spilled`` (where they went) comes back.
    """

    rows: list[tuple] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    read: int = 0
    size: int = 0  # bytes of the file it covers (parallel path; 0 where unknown)
    fatal: list[InputProblem] | None = None  # a problem that stops reading (as a list: picklable)
    spilled: SpilledSlice | None = None
    digest: ContentDigest | None = None


@dataclass(frozen=True)
class RowMaker:
    """Validates native-field records into staging tuples (dates as the store takes them)."""

    mapping: Mapping
    validator: LedgerValidator
    as_date: Callable
    spill: Spill | None = None  # spill rows by customer range (big first load)
    digest_only: bool = False  # keep only the rows' ContentDigest (a re-import's check)
    _dates: dict[dt.date, object] = field(default_factory=dict, init=False, repr=False)

    def add(self, chunk: ParsedChunk, line: int, raw: dict[str, str]) -> None:
        chunk.read += 1
        # Without renamed columns the record already has arcli's field names (the
        # validator reads them with .get(field, "")): copying it cost ~0.5 µs a record.
        native = raw if not self.mapping.columns else self.mapping.to_native(raw, LEDGER_FIELDS)
        try:
            row = self.validator.row(line, native)
        except FieldProblem as bad:
            chunk.problems.append((line, self.mapping.source_column(bad.field), bad.value,
                                   bad.message))
            return
        chunk.rows.append(self._stage_values(row))

    def add_checked(self, chunk: ParsedChunk, row: LedgerRow) -> None:
        """A record the validator's quick check accepted (see ``LedgerValidator.quick``)."""
        chunk.read += 1
        chunk.rows.append(self._stage_values(row))

    def finish(self, chunk: ParsedChunk) -> ParsedChunk:
        """The chunk as it leaves the parser: rows spilled by customer range, or summed
        into their digest, if asked."""
        if self.digest_only:
            chunk.digest = ContentDigest.of(row[_HASH] for row in chunk.rows)
            chunk.rows = []
        elif self.spill is not None and chunk.rows:
            chunk.spilled, chunk.rows = self.spill.write(chunk.rows), []
        return chunk

    def _stage_values(self, row: LedgerRow) -> tuple:
        """Values in :data:`STAGE_COLUMNS` order (unpacked once: 0.65 → 0.4 µs a row)."""
        line, doc_type, number, customer, date, due, amount, currency, reference, \
            description, digest = row
        dates = self._dates
        return (doc_type, number, customer, dates.get(date) or self._date_value(date),
                dates.get(due) or self._date_value(due), amount, _SIGNS[doc_type],
                currency, reference or None, description or None, digest, line)

    def _date_value(self, day: dt.date) -> object:
        """A date as the store takes it, converted once per distinct date (rows share the
        value, which also keeps pickled rows small)."""
        value = self._dates.get(day)
        if value is None:
            value = self._dates[day] = self.as_date(day)
        return value


_SIGNS = {doc_type: sign_of(doc_type) for doc_type in DOCUMENT_TYPES}

#: What a staged row holds, in order (the first load reads rows back in this order).
STAGE_COLUMNS = ("type", "number", "customer_id", "date", "due_date", "amount_minor", "sign",
                 "currency", "reference", "description", "content_hash", "line_no")
_HASH = STAGE_COLUMNS.index("content_hash")


def parse_ledger(source: SourceFile, maker: RowMaker,
                 check: HeaderCheck) -> Iterator[ParsedChunk]:
    """Staging rows of the whole file in file order, chunk by chunk.

    A CSV/TSV file in an encoding that can be cut at line ends is read slice by slice
    with the same code whether the slices are parsed here or, for a big file, in worker
    processes: what a file imports as cannot depend on its size."""
    mapping = maker.mapping
    fmt = detect_format(source, mapping.format)
    if fmt in ("csv", "tsv") and _cuttable(file_encoding(source.path, mapping.encoding)):
        yield from _sliced(source, fmt, maker, check)
    else:
        yield from _sequential(source, fmt, maker, check)


def _cuttable(encoding: str) -> bool:
    """Whether line ends and quotes are single bytes of their own in ``encoding``."""
    try:
        probe = _PROBE.encode(encoding)
    except (LookupError, UnicodeError):
        return False
    return probe.removeprefix(codecs.BOM_UTF8) == _PROBE.encode("ascii")


def _parallel(source: SourceFile) -> bool:
    return source.path.stat().st_size >= PARALLEL_MIN_BYTES and forkpool.worker_count() >= 2


def _sequential(source: SourceFile, fmt: str, maker: RowMaker,
                check: HeaderCheck) -> Iterator[ParsedChunk]:
    mapping = maker.mapping
    records = read_records(source, fmt, encoding=mapping.encoding,
                           delimiter=mapping.delimiter, skip_rows=mapping.skip_rows)
    chunk = ParsedChunk()
    checked: list[str] | None = None
    for line, raw in records:
        columns = list(raw)
        if columns != checked:  # once for a file with a header; each new key set of JSON
            check(columns, line if fmt == "jsonl" else max(line - 1, 1))
            checked = columns
        maker.add(chunk, line, raw)
        if chunk.read >= _ROWS_PER_CHUNK:
            yield maker.finish(chunk)
            chunk = ParsedChunk()
    yield maker.finish(chunk)


# -- slices of a delimited file ----------------------------------------------------------

@dataclass(frozen=True)
class _Job:
    """What every slice needs; inherited by workers through fork, never pickled."""

    source: SourceFile
    maker: RowMaker
    columns: list[str]
    encoding: str
    delimiter: str


def _sliced(source: SourceFile, fmt: str, maker: RowMaker,
            check: HeaderCheck) -> Iterator[ParsedChunk]:
    mapping = maker.mapping
    delimiter = mapping.delimiter or ("\t" if fmt == "tsv" else ",")
    with source.path.open("rb") as stream:
        header_line, columns = read_header(source, stream, delimiter, mapping.skip_rows,
                                           functools.partial(_decoded, source,
                                                             mapping.encoding))
        check(columns, header_line)
        # The byte order mark went with the header: a slice that starts with U+FEFF holds
        # it as data (utf-8-sig would drop it there, and only where a slice happens to start)
        encoding = "utf-8" if codecs.lookup(mapping.encoding).name == "utf-8-sig" \
            else mapping.encoding
        job = _Job(source, maker, columns, encoding, delimiter)
        slices = cut_slices(stream, SLICE_BYTES, header_line + 1)
        if _parallel(source):
            yield from forkpool.ordered_map(_parse_slice, slices, job)
        else:
            for block, first_line in slices:
                yield _parse_block(job, block, first_line)


def _decoded(source: SourceFile, encoding: str, raw: bytes) -> str:
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError:
        raise _problem(source, *decode_failure(source.path, encoding)) from None


def _parse_slice(task: tuple[bytes, int]) -> ParsedChunk:
    """In a worker: one slice's records, validated."""
    return _parse_block(forkpool.job(), *task)


def _parse_block(job: _Job, block: bytes, first_line: int) -> ParsedChunk:
    """One slice's records, validated (in a worker, or here for a smaller file)."""
    chunk = ParsedChunk(size=len(block))
    try:
        text = block.decode(job.encoding)
    except UnicodeDecodeError:
        chunk.fatal = _problem(job.source, *decode_failure(job.source.path, job.encoding)
                               ).problems
        return chunk
    try:
        _read_slice(job, slice_rows(job.source, text, job.delimiter, first_line), chunk)
    except InputError as exc:
        chunk.fatal = exc.problems
    return job.maker.finish(chunk)


def _read_slice(job: _Job, rows: Iterator[tuple[int, list[str]]], chunk: ParsedChunk) -> None:
    """A slice's records into ``chunk``: the validator's quick check first, by position,
    and the full path (records by column name, blank lines skipped) for what it leaves."""
    maker, source, columns = job.maker, job.source, job.columns
    quick = maker.validator.quick(columns)
    for line, fields in rows:
        row = quick(line, fields) if quick is not None else None
        if row is not None:
            maker.add_checked(chunk, row)
            continue
        record = record_of(source, line, fields, columns)
        if record is not None:
            maker.add(chunk, line, record)


def _problem(source: SourceFile, line: int | None, message: str) -> InputError:
    return InputError([InputProblem(source.name, line, None, None, message)])
