"""Reading tabular input files (CSV, TSV, XLSX, JSON lines) as (line number, record) pairs.

Line numbers are the ones a person sees in an editor (the first line of a multi-line
quoted CSV record, the spreadsheet row), because every error message points there.
``-`` reads standard input; it is spooled to a temporary file first so it can be hashed
(import batches are identified by the SHA-256 of their bytes) and read once more.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import functools
import hashlib
import io
import json
import re
import shutil
import sys
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import AnyStr

from arcli.errors import InputError, InputProblem
from arcli.importing.encodings import DEFAULT_ENCODING, decode_failure, file_encoding

FORMATS = ("csv", "tsv", "xlsx", "jsonl")
_BY_SUFFIX = {".csv": "csv", ".txt": "csv", ".tsv": "tsv", ".tab": "tsv", ".xlsx": "xlsx",
              ".xlsm": "xlsx", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl"}

Record = dict[str, str]


@dataclass(frozen=True)
class SourceFile:
    """An input file on disk (stdin already spooled), with the name to show in messages."""

    name: str
    path: Path
    sha256: str
    temporary: bool = False

    def cleanup(self) -> None:
        if self.temporary:
            self.path.unlink(missing_ok=True)


def open_source(arg: str) -> SourceFile:
    """Locate (or spool, for ``-``) an input file and hash it."""
    if arg == "-":
        with tempfile.NamedTemporaryFile(prefix="arcli-stdin-", delete=False) as handle:
            shutil.copyfileobj(sys.stdin.buffer, handle)
        path, name, temporary = Path(handle.name), "<stdin>", True
    else:
        path, name, temporary = Path(arg), arg, False
        if not path.is_file():
            why = "is a folder, not a file" if path.is_dir() else "file not found"
            raise InputError([InputProblem(arg, None, None, None, why)])
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return SourceFile(name, path, digest.hexdigest(), temporary)


def detect_format(source: SourceFile, explicit: str | None = None) -> str:
    """The file format: explicit, else from the suffix, else sniffed from the first byte."""
    if explicit:
        return explicit
    fmt = _BY_SUFFIX.get(source.path.suffix.lower()) if not source.temporary else None
    if fmt:
        return fmt
    with source.path.open("rb") as stream:
        head = stream.read(4096).lstrip(codecs.BOM_UTF8).lstrip()
    if head.startswith(b"PK"):
        return "xlsx"
    if head.startswith(b"{"):
        return "jsonl"
    first_line = head.split(b"\n", 1)[0]
    return "tsv" if first_line.count(b"\t") > first_line.count(b",") else "csv"


def read_records(
    source: SourceFile,
    fmt: str,
    *,
    encoding: str = DEFAULT_ENCODING,
    delimiter: str | None = None,
    skip_rows: int = 0,
) -> Iterator[tuple[int, Record]]:
    """Yield (line number, {header: text}) for each data record of the file."""
    encoding = file_encoding(source.path, encoding)
    if fmt in ("csv", "tsv"):
        sep = delimiter or ("\t" if fmt == "tsv" else ",")
        yield from _read_delimited(source, sep, encoding, skip_rows)
    elif fmt == "xlsx":
        yield from _read_xlsx(source, skip_rows)
    elif fmt == "jsonl":
        yield from _read_jsonl(source, encoding)
    else:
        raise InputError([InputProblem(source.name, None, None, fmt, "unknown input format")])


def _problem(source: SourceFile, line: int | None, message: str, value: str | None = None):
    return InputError([InputProblem(source.name, line, None, value, message)])


def check_header(source: SourceFile, line: int, header: list[str]) -> list[str]:
    """The header's column names, refused if empty or repeated."""
    cleaned = [h.strip() for h in header]
    seen: set[str] = set()
    for name in cleaned:
        if name and name in seen:
            raise _problem(source, line, "duplicate column in header", name)
        seen.add(name)
    if not any(cleaned):
        raise _problem(source, line, "empty header line")
    return cleaned


def _read_delimited(source: SourceFile, sep: str, encoding: str, skip_rows: int):
    try:
        stream = source.path.open("r", encoding=encoding, newline="")
    except LookupError:
        raise _problem(source, None, "unknown text encoding", encoding) from None
    with stream:
        try:
            header_line, columns = read_header(source, stream, sep, skip_rows, lambda x: x)
            for block, first_line in cut_slices(stream, SLICE_SIZE, header_line + 1):
                for start, fields in slice_rows(source, block, sep, first_line):
                    record = record_of(source, start, fields, columns)
                    if record is not None:
                        yield start, record
        except UnicodeDecodeError:
            raise _problem(source, *decode_failure(source.path, encoding)) from None


def read_header(source: SourceFile, stream, sep: str, skip_rows: int,
                decode: Callable) -> tuple[int, list[str]]:
    """Skip the rows above the header and read it from a text or binary stream
    (``decode`` turns a line into text); returns (header line number, columns)."""
    for _ in range(skip_rows):
        stream.readline()
    line = skip_rows + 1
    text = decode(stream.readline()).rstrip("\r\n")
    _check_quotes(source, text, sep, line)
    try:
        header = next(csv.reader([text], delimiter=sep, strict=True), None)
    except csv.Error as exc:  # a lone carriage return inside the line
        raise _problem(source, line, f"malformed header line: {exc}") from None
    if not header:
        raise _problem(source, line, "file is empty (no header line)")
    return line, check_header(source, line, header)


#: Delimited files are read in slices of about this many bytes (or characters), each
#: ending where a record ends, in one process or, for a big file, in worker processes.
SLICE_SIZE = 2 << 20


def cut_slices(stream, size: int, first_line: int) -> Iterator[tuple[AnyStr, int]]:
    """(slice, its first line number) of consecutive slices of a text or binary stream,
    each ending at a line end outside quotes.

    A line end is outside quotes when the count of ``"`` before it is even: exact for
    files whose quotes :func:`slice_rows` accepts (every quoted field holds an even
    number of them). In a file with a stray quote the cut may fall inside a record, but
    the slice holding the first stray quote starts where a record starts, so it is
    found there, at the same line, wherever the cuts fall. Quotes are counted line by
    line as they are read (counting the growing slice again was quadratic).
    """
    quote, newline = ('"', "\n") if isinstance(stream, io.TextIOBase) else (b'"', b"\n")
    line = first_line
    while True:
        block = stream.read(size)
        if not block:
            return
        parts = [block, stream.readline()]
        quotes = block.count(quote) + parts[1].count(quote)
        while quotes % 2:  # inside a quoted field: read on until it closes
            more = stream.readline()
            if not more:
                break
            parts.append(more)
            quotes += more.count(quote)
        block = block[:0].join(parts)
        yield block, line
        line += block.count(newline)


def slice_rows(source: SourceFile, text: str, sep: str,
               first_line: int) -> Iterator[tuple[int, list[str]]]:
    """The rows of a slice that starts where a record starts, with their file lines.

    Quotes are checked first (RFC 4180: a quoted field starts and ends with a quote
    and doubles the quotes inside it; an unquoted field holds none). Python's ``csv``
    reads a stray quote as text and an unclosed one as the rest of the file, so one
    typo would swallow thousands of records or read them differently depending on where
    a big file was cut: the rows before the first bad quote are read, then the bad
    quote is an error naming the line where its field began.
    """
    bad = _first_bad_quote(text, sep)
    good = text if bad is None else text[:_record_start(text, bad)]
    reader = csv.reader(io.StringIO(good, newline=""), delimiter=sep, strict=True)
    try:
        yield from numbered_rows(reader, first_line - 1)
    except csv.Error as exc:  # what the quote check lets through (none known)
        raise _problem(source, first_line + good.count("\n", 0, reader.line_num),
                       f"malformed CSV: {exc}") from None
    if bad is not None:
        raise _quote_error(source, text, sep, first_line, bad)


def _check_quotes(source: SourceFile, text: str, sep: str, line: int) -> None:
    bad = _first_bad_quote(text, sep)
    if bad is not None:
        raise _quote_error(source, text, sep, line, bad)


@functools.cache
def _valid_quotes(sep: str) -> re.Pattern:
    """Text whose quotes are all where RFC 4180 allows them, from its start (possessive:
    the grammar has one reading, so the match never backtracks)."""
    s = re.escape(sep)
    field = r'"[^"]*+(?:""[^"]*+)*+"'
    return re.compile(rf'(?:[^"]++|(?:(?<=[{s}\r\n])|\A){field}(?=[{s}\r\n]|\Z))*+')


def _first_bad_quote(text: str, sep: str) -> int | None:
    """Where the first misplaced quote of ``text`` is, or None."""
    if '"' not in text:
        return None
    end = _valid_quotes(sep).match(text).end()
    return None if end == len(text) else end


def _record_start(text: str, bad: int) -> int:
    """Where the record holding position ``bad`` starts: after the last line end before
    it that is outside quotes (the text before ``bad`` is valid)."""
    end = text.rfind("\n", 0, bad)
    while end >= 0 and text.count('"', 0, end) % 2:
        end = text.rfind("\n", 0, end)
    return end + 1


def _quote_error(source: SourceFile, text: str, sep: str, first_line: int,
                 bad: int) -> InputError:
    """The error for the misplaced quote at ``bad``, on the line where its field began."""
    line = first_line + text.count("\n", 0, bad)
    if bad == 0 or text[bad - 1] in (sep, "\r", "\n"):
        return _problem(source, line, 'quoted field not closed: its closing quote is missing '
                        'or followed by text (inside quotes a quote is doubled: "5"" pipe")')
    return _problem(source, line, 'stray quote (") in an unquoted field: quote the whole '
                    'field and double the quote ("5"" pipe")')


def numbered_rows(reader, line_offset: int) -> Iterator[tuple[int, list[str]]]:
    """A ``csv.reader``'s rows with the file line each starts on (a quoted field may span
    lines, so the reader's own count after the previous row gives the start)."""
    last = reader.line_num
    for fields in reader:
        yield line_offset + last + 1, fields
        last = reader.line_num


def record_of(source: SourceFile, line: int, fields: list[str],
              columns: list[str]) -> Record | None:
    """A CSV row's fields by column name, stripped; None for a blank line (or one of only
    delimiters). A row with more non-empty fields than the header is refused."""
    if not "".join(fields).strip():
        return None
    width = len(columns)
    if len(fields) > width and any(f.strip() for f in fields[width:]):
        raise _problem(source, line, f"{len(fields)} fields, header has {width}")
    if len(fields) < width:  # a short row: its missing fields are empty, not absent
        fields = fields + [""] * (width - len(fields))
    return dict(zip(columns, map(str.strip, fields), strict=False))


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        # openpyxl gives doubles; their shortest repr is the decimal the user typed.
        return format(Decimal(repr(value)), "f")
    return str(value).strip()


#: Excel's own limit on a cell's text: a longer one was not typed into a spreadsheet.
MAX_CELL_CHARS = 32_767
#: A workbook part that unpacks to more than this many bytes at more than
#: :data:`_BOMB_RATIO` times its packed size is refused before it is parsed: spreadsheet
#: XML packs about ten times, a cell or comment of one repeated character a thousand
#: times -- and parsing its hundreds of megabytes took minutes.
_BOMB_BYTES, _BOMB_RATIO = 10 << 20, 100


def _read_xlsx(source: SourceFile, skip_rows: int):
    from openpyxl import load_workbook

    _check_xlsx_parts(source)
    try:
        book = load_workbook(source.path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a corrupt file
        raise _problem(source, None, f"not a readable XLSX workbook: {exc}") from None
    try:
        rows = book.worksheets[0].iter_rows(values_only=True)
        for _ in range(skip_rows):
            next(rows, None)
        header = next(rows, None)
        if header is None:
            raise _problem(source, skip_rows + 1, "sheet is empty (no header row)")
        columns = check_header(source, skip_rows + 1,
                               _cell_texts(source, skip_rows + 1, header, None))
        for offset, values in enumerate(rows, start=skip_rows + 2):
            texts = _cell_texts(source, offset, values, columns)
            if any(texts):
                yield offset, record_of(source, offset, texts, columns)
    finally:
        book.close()


def _check_xlsx_parts(source: SourceFile) -> None:
    try:
        with zipfile.ZipFile(source.path) as archive:
            parts = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise _problem(source, None, f"not a readable XLSX workbook: {exc}") from None
    for part in parts:
        if part.file_size > _BOMB_BYTES and part.file_size > _BOMB_RATIO * part.compress_size:
            raise _problem(source, None, f"{part.filename} unpacks to {part.file_size >> 20} MB "
                           f"from {part.compress_size >> 10} KB: a cell or comment far larger "
                           "than a spreadsheet holds; not read")


def _cell_texts(source: SourceFile, line: int, values, columns: list[str] | None) -> list[str]:
    """A row's cells as text; a TRUE/FALSE cell or one longer than Excel allows is an
    error (a boolean is no document number, amount or date)."""
    texts = []
    for index, value in enumerate(values):
        column = columns[index] if columns and index < len(columns) else None
        if isinstance(value, bool):
            raise InputError([InputProblem(source.name, line, column, str(value).upper(),
                                           "a TRUE/FALSE cell, where text, a number or a "
                                           "date is expected")])
        text = _cell_text(value)
        if len(text) > MAX_CELL_CHARS:
            raise InputError([InputProblem(source.name, line, column, text[:20] + "...",
                                           f"a cell of {len(text)} characters (Excel "
                                           f"holds at most {MAX_CELL_CHARS})")])
        texts.append(text)
    return texts


def _read_jsonl(source: SourceFile, encoding: str):
    try:
        yield from _jsonl_records(source, encoding)
    except UnicodeDecodeError:
        raise _problem(source, *decode_failure(source.path, encoding)) from None


class _JsonValueError(ValueError):
    """A JSON line that parses but that arcli does not read (told as it is)."""


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    """A JSON object, refused if a key repeats (which value was meant?)."""
    result = dict(pairs)
    if len(result) != len(pairs):
        seen: set[str] = set()
        repeated = next(k for k, _ in pairs if k in seen or seen.add(k))
        raise _JsonValueError(f"key {repeated!r} appears twice in one object")
    return result


def _no_constant(name: str):
    raise _JsonValueError(f"{name} is not a number arcli reads")


def _jsonl_records(source: SourceFile, encoding: str):
    """Records of a JSON lines file. Numbers are kept as written (``1e3`` stays ``1e3``,
    refused as an amount like the same text in a CSV file; a 5,000-digit number is no
    error of Python's integer conversion)."""
    with source.path.open("r", encoding=encoding) as stream:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line, object_pairs_hook=_unique_keys, parse_float=str,
                                 parse_int=str, parse_constant=_no_constant)
            except json.JSONDecodeError as exc:
                raise _problem(source, number, f"invalid JSON: {exc.msg}") from None
            except _JsonValueError as exc:
                raise _problem(source, number, f"invalid JSON: {exc}") from None
            except RecursionError:
                raise _problem(source, number, "invalid JSON: nested too deeply") from None
            if not isinstance(obj, dict):
                raise _problem(source, number, "each line must be a JSON object")
            yield number, {str(k): _json_text(source, number, str(k), v) for k, v in obj.items()}


def _json_text(source: SourceFile, line: int, key: str, value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    kind = {True: "true", False: "false"}.get(value) if isinstance(value, bool) else \
        "a nested object or list"
    raise InputError([InputProblem(source.name, line, key, None,
                                   f"{kind}, where a string or number is expected")])
