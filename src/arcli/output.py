"""The one output module: any report as table, CSV, TSV, JSON or JSON lines.

Core functions return a :class:`Report` of plain values (str, int, Decimal, date, bool,
None); only this module decides how they look. Machine formats carry exact values --
Decimals as plain strings, dates in ISO 8601, never floats -- under stable column names, so
scripts can rely on them. The table is for people: amounts with thousands separators and
right-aligned, and per-currency totals at the end.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import IO, Any

FORMATS = ("table", "csv", "tsv", "json", "jsonl", "xlsx")
#: Formats written as bytes (a file, or stdout's byte stream), not text.
BINARY_FORMATS = ("xlsx",)
_SUFFIX_FORMATS = {".csv": "csv", ".tsv": "tsv", ".json": "json", ".jsonl": "jsonl",
                   ".ndjson": "jsonl", ".txt": "table", ".xlsx": "xlsx"}
#: A text cell starting with one of these is a formula to a spreadsheet (OWASP's list).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass
class Report:
    """Rows of plain values under fixed columns, plus optional total rows.

    ``rows`` may be an iterator (a whole book's open items): the machine formats write
    each row as it comes, so memory stays flat; only the table collects them first.
    """

    columns: list[str]
    rows: Iterable[dict[str, Any]]
    totals: list[dict[str, Any]] = field(default_factory=list)


def format_for_path(path: str | None) -> str | None:
    """The format implied by an output file's suffix (``-o aging.json``)."""
    if not path or path == "-":
        return None
    for suffix, fmt in _SUFFIX_FORMATS.items():
        if path.lower().endswith(suffix):
            return fmt
    return None


def writable_suffixes() -> list[str]:
    """The file suffixes ``-o`` understands, for messages."""
    return list(_SUFFIX_FORMATS)


def neutralised(value: str) -> str:
    """``value`` made inert for a spreadsheet: a text cell that starts like a formula
    (``=``, ``+``, ``-``, ``@``, tab, CR) gets a leading apostrophe, which Excel and
    LibreOffice show as text. Only text cells: amounts are Decimals and stay numbers."""
    return "'" + value if value.startswith(_FORMULA_STARTS) else value


def machine_value(value: Any) -> Any:
    """Exact JSON-safe value: Decimal -> plain string, date -> ISO string."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def _csv_value(value: Any, escape_formulas: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if escape_formulas and isinstance(value, str):
        return neutralised(value)
    return str(machine_value(value))


def _table_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:,f}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(machine_value(value))


def _rows(report: Report, include_totals: bool) -> Iterator[dict[str, Any]]:
    return itertools.chain(report.rows, report.totals if include_totals else ())


def write_report(report: Report, stream: IO, fmt: str, *, headers: bool = True,
                 include_totals: bool = False, bom: bool = False,
                 escape_formulas: bool = False) -> None:
    """Render ``report`` to ``stream`` (a byte stream for :data:`BINARY_FORMATS`).
    Table output always shows totals. ``bom`` starts CSV/TSV with a UTF-8 byte-order mark
    (Excel on Chinese Windows reads the file as UTF-8 only then); ``escape_formulas``
    makes their text cells inert (:func:`neutralised`)."""
    if fmt == "table":
        _write_table(report, stream, headers)
    elif fmt == "xlsx":
        _write_xlsx(report, stream, headers, include_totals)
    elif fmt in ("csv", "tsv"):
        if bom:
            stream.write("\ufeff")
        writer = csv.writer(stream, delimiter="," if fmt == "csv" else "\t",
                            lineterminator="\n")
        if headers:
            writer.writerow(report.columns)
        for row in _rows(report, include_totals):
            writer.writerow([_csv_value(row.get(c), escape_formulas) for c in report.columns])
    elif fmt == "json":
        _write_json_array((_machine_row(report.columns, r)
                           for r in _rows(report, include_totals)), stream)
    elif fmt == "jsonl":
        for row in _rows(report, include_totals):
            stream.write(json.dumps(_machine_row(report.columns, row), ensure_ascii=False))
            stream.write("\n")
    else:
        raise ValueError(f"unknown format {fmt!r}")


def _write_json_array(objects: Iterable[dict[str, Any]], stream: IO[str]) -> None:
    """What ``json.dump(list(objects), stream, indent=2)`` writes, one object at a time."""
    opened = False
    for obj in objects:
        stream.write(",\n" if opened else "[\n")
        text = json.dumps(obj, ensure_ascii=False, indent=2)
        # indent by splitting on "\n" only: the JSON may hold U+0085 or U+2028 raw,
        # which str.splitlines (and so textwrap) would take for line ends
        stream.write("\n".join("  " + line for line in text.split("\n")))
        opened = True
    stream.write("\n]\n" if opened else "[]\n")


def _machine_row(columns: Iterable[str], row: dict[str, Any]) -> dict[str, Any]:
    return {c: machine_value(row.get(c)) for c in columns}


def _is_numeric_column(report: Report, column: str) -> bool:
    values = [r.get(column) for r in itertools.chain(report.rows, report.totals)
              if r.get(column) is not None]
    return bool(values) and all(
        isinstance(v, (Decimal, int)) and not isinstance(v, bool) for v in values
    )


def _write_table(report: Report, stream: IO[str], headers: bool) -> None:
    from tabulate import tabulate

    report = Report(report.columns, list(report.rows), report.totals)  # aligned: needs all
    align = ["right" if _is_numeric_column(report, c) else "left" for c in report.columns]
    body = [[_table_value(r.get(c)) for c in report.columns] for r in report.rows]
    if report.totals:
        if body:
            body.append(["" for _ in report.columns])
        body.extend([_table_value(r.get(c)) for c in report.columns] for r in report.totals)
    if not body:
        if headers:
            stream.write("(no rows)\n")
        return
    text = tabulate(body, headers=report.columns if headers else (), tablefmt="simple",
                    colalign=align, disable_numparse=True)
    stream.write(text + "\n")


def _write_xlsx(report: Report, stream: IO[bytes], headers: bool,
                include_totals: bool) -> None:
    """A real spreadsheet: amounts as numbers shown with their own decimals (a Decimal
    quantized to its currency's minor unit: ``#,##0.00`` for EUR, ``#,##0`` for JPY),
    dates as dates, text always as text (never a formula), rows streamed (write-only)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet("report")
    if headers:
        sheet.append([_xlsx_cell(sheet, c) for c in report.columns])
    for row in _rows(report, include_totals):
        sheet.append([_xlsx_cell(sheet, row.get(c)) for c in report.columns])
    book.save(stream)


def _xlsx_cell(sheet, value: Any):
    from openpyxl.cell import WriteOnlyCell

    if isinstance(value, bool):
        value = "yes" if value else "no"
    elif isinstance(value, dt.datetime) and value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)  # Excel has no zones
    cell = WriteOnlyCell(sheet, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # "=..." stays text: openpyxl would store it as a formula
    elif isinstance(value, Decimal):
        places = max(0, -value.as_tuple().exponent) if value.is_finite() else 0
        cell.number_format = "#,##0" + ("." + "0" * places if places else "")
    elif isinstance(value, dt.datetime):
        cell.number_format = "yyyy-mm-dd hh:mm:ss"
    elif isinstance(value, dt.date):
        cell.number_format = "yyyy-mm-dd"
    return cell
