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

FORMATS = ("table", "csv", "tsv", "json", "jsonl")
_SUFFIX_FORMATS = {".csv": "csv", ".tsv": "tsv", ".json": "json", ".jsonl": "jsonl",
                   ".ndjson": "jsonl", ".txt": "table"}


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


def machine_value(value: Any) -> Any:
    """Exact JSON-safe value: Decimal -> plain string, date -> ISO string."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
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


def write_report(report: Report, stream: IO[str], fmt: str, *, headers: bool = True,
                 include_totals: bool = False) -> None:
    """Render ``report`` to ``stream``. Table output always shows totals."""
    if fmt == "table":
        _write_table(report, stream, headers)
    elif fmt in ("csv", "tsv"):
        writer = csv.writer(stream, delimiter="," if fmt == "csv" else "\t",
                            lineterminator="\n")
        if headers:
            writer.writerow(report.columns)
        for row in _rows(report, include_totals):
            writer.writerow([_csv_value(row.get(c)) for c in report.columns])
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
