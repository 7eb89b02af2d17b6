"""Mappings: how another system's export (Kingdee, Yonyou, SAP, QuickBooks...) maps to arcli.

A mapping is pure configuration (``mappings: NAME:`` in the config file), so supporting a
new ERP export never needs code: encoding, delimiter, rows to skip above the header, date
format, decimal and thousands separators, which source column feeds which arcli field,
how source type and currency values translate, and -- for exports with one signed amount column --
which sign means which document type.
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass, field, replace

from arcli.config import ConfigView
from arcli.errors import UsageError
from arcli.importing.encodings import DEFAULT_ENCODING, known_encoding

LEDGER_FIELDS = ("type", "number", "customer", "date", "due_date", "amount", "currency",
                 "reference", "description")
CUSTOMER_FIELDS = ("id", "name", "email", "language", "currency", "address", "credit_limit",
                   "terms_days", "credit_class", "salesperson", "contact")
_SIGN_KEYS = ("positive", "negative")


@dataclass(frozen=True)
class Mapping:
    """How to read one kind of foreign export. The default instance reads native files."""

    name: str = "native"
    encoding: str = DEFAULT_ENCODING
    delimiter: str | None = None
    skip_rows: int = 0
    date_format: str | None = None  # strftime; None means ISO 8601
    decimal: str = "."
    thousands: str = ""
    columns: dict[str, str] = field(default_factory=dict)  # arcli field -> source header
    types: dict[str, str] = field(default_factory=dict)  # source value -> arcli type
    sign: dict[str, str] = field(default_factory=dict)  # positive/negative -> arcli type
    currencies: dict[str, str] = field(default_factory=dict)  # source value -> ISO code
    format: str | None = None  # csv tsv xlsx jsonl; None = detect

    def source_column(self, arcli_field: str) -> str:
        return self.columns.get(arcli_field, arcli_field)

    def to_native(self, record: dict[str, str], fields: tuple[str, ...]) -> dict[str, str]:
        """Pick and rename the record's values to arcli field names."""
        get = record.get
        return {name: get(source, "") for name, source in self._pairs(fields)}

    def _pairs(self, fields: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
        cache = self.__dict__.setdefault("_pair_cache", {})
        if fields not in cache:
            cache[fields] = tuple((f, self.source_column(f)) for f in fields)
        return cache[fields]

    def missing_columns(self, header: list[str], required: tuple[str, ...]) -> list[str]:
        return [self.source_column(f) for f in required if self.source_column(f) not in header]

    def column_problems(self, header: list[str], fields: tuple[str, ...],
                        required: tuple[str, ...]) -> list[tuple[str, str]]:
        """(column, message) for each required column missing from ``header`` and, in a
        native file, each column arcli does not know.

        Why: a misspelt column (``curency``) was dropped, and its values replaced by a
        default without a word -- a USD invoice booked in the customer's CNY. A mapped
        export has columns of its own that the mapping leaves out on purpose, so only a
        missing column is an error there; either way the message names the header name
        that looks like the one expected.
        """
        wanted = [self.source_column(f) for f in fields]
        unknown = [name for name in header if name and name not in wanted]
        problems = []
        for column in self.missing_columns(header, required):
            near = difflib.get_close_matches(column, unknown, n=1, cutoff=0.6)
            hint = f" (is {near[0]!r} meant to be it?)" if near else ""
            problems.append((column, f"required column missing from header{hint}"))
        if not self.columns:
            for name in unknown:
                near = difflib.get_close_matches(name.lower(), wanted, n=1, cutoff=0.6)
                hint = f"did you mean {near[0]!r}? " if near else ""
                problems.append((name, f"unknown column ({hint}columns: {', '.join(wanted)})"))
        return problems

    def parse_date(self, text: str) -> dt.date:
        """Parse a date as the mapping says; ISO dates are always accepted too."""
        value = text.strip()
        if self.date_format:
            try:
                return dt.datetime.strptime(value, self.date_format).date()
            except ValueError:
                pass
        return dt.date.fromisoformat(value)

    def doc_type(self, raw_type: str) -> str:
        value = raw_type.strip()
        return self.types.get(value, value).strip().lower()


NATIVE = Mapping()


def _str_dict(view: ConfigView, key: str, allowed: tuple[str, ...] | None = None) -> dict:
    raw = view.raw(key) or {}
    if not isinstance(raw, dict):
        raise view.error(key, "must be a mapping")
    result = {}
    for k, v in raw.items():
        if allowed is not None and k not in allowed:
            raise view.section(key).error(k, f"unknown key; expected one of {', '.join(allowed)}")
        result[str(k)] = str(v)
    return result


def parse_mapping(view: ConfigView, name: str, fields: tuple[str, ...]) -> Mapping:
    """Build a :class:`Mapping` from its config section, validating every key."""
    known = {"encoding", "delimiter", "skip_rows", "date_format", "decimal", "thousands",
             "columns", "types", "sign", "currencies", "format"}
    for key in view:
        if key not in known:
            expected = ", ".join(sorted(known))
            raise view.error(key, f"unknown mapping key; expected one of {expected}")
    encoding = view.get_str("encoding", DEFAULT_ENCODING) or DEFAULT_ENCODING
    if not known_encoding(encoding):
        raise view.error("encoding", f"unknown text encoding {encoding!r}")
    delimiter = view.get_str("delimiter")
    if delimiter is not None:
        delimiter = {"\\t": "\t", "tab": "\t"}.get(delimiter, delimiter)
        if len(delimiter) != 1:
            raise view.error("delimiter", "must be one character (or 'tab')")
    fmt = view.get_str("format")
    if fmt is not None and fmt not in ("csv", "tsv", "xlsx", "jsonl"):
        raise view.error("format", "must be one of csv, tsv, xlsx, jsonl")
    return Mapping(
        name=name,
        encoding=encoding,
        delimiter=delimiter,
        skip_rows=view.get_int("skip_rows", 0, minimum=0) or 0,
        date_format=view.get_str("date_format"),
        decimal=view.get_str("decimal", ".") or ".",
        thousands=view.get_str("thousands", "") or "",
        columns=_str_dict(view, "columns", fields),
        types=_str_dict(view, "types"),
        sign=_str_dict(view, "sign", _SIGN_KEYS),
        currencies=_str_dict(view, "currencies"),
        format=fmt,
    )


def mapping_from_config(config: ConfigView, name: str | None, fields: tuple[str, ...],
                        encoding: str | None = None) -> Mapping:
    """The mapping called ``name`` from ``mappings:`` in the config, or the native one;
    ``encoding`` (``--encoding``) overrides the one it reads files in."""
    chosen = NATIVE
    if name:
        mappings = config.section("mappings")
        if name not in mappings:
            known = ", ".join(mappings.keys()) or "none defined"
            raise UsageError(f"unknown mapping {name!r} (config mappings: {known})")
        chosen = parse_mapping(mappings.section(name), name, fields)
    return replace(chosen, encoding=encoding) if encoding else chosen
