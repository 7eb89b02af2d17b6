"""Bank statements exported as CSV/TSV/XLSX, read through a mapping (``mappings:`` in the
config): one signed amount per line, negative for money out."""

from __future__ import annotations

from pathlib import Path

from arcli import money
from arcli.errors import InputError, InputProblem
from arcli.reconcile.bankformats.common import CREDIT, DEBIT, ZERO, BankTransaction, fail

BANK_FIELDS = ("bank_ref", "date", "value_date", "amount", "currency", "payer_name",
               "payer_account", "remittance")
#: Without these a line is no booking; a file whose header lacks them is no bank statement.
_REQUIRED = ("date", "amount", "currency")


def parse_csv(path: Path, mapping) -> list[BankTransaction]:
    from arcli.importing.readers import detect_format, open_source, read_records

    source = open_source(str(path))
    found, problems = [], []
    fmt = detect_format(source, mapping.format)
    records = read_records(source, fmt, encoding=mapping.encoding,
                           delimiter=mapping.delimiter, skip_rows=mapping.skip_rows)
    for line, raw in records:
        if not found and not problems:
            _check_columns(path, line, list(raw), mapping)
        rec = mapping.to_native(raw, BANK_FIELDS)
        try:
            amount = money.parse_decimal(rec["amount"], mapping.decimal, mapping.thousands)
            day = mapping.parse_date(rec["date"])
            value_day = mapping.parse_date(rec["value_date"]) if rec["value_date"] else None
            cur = money.check_currency(mapping.currencies.get(rec["currency"], rec["currency"]))
        except (money.MoneyError, ValueError) as exc:
            problems.append(InputProblem(str(path), line, None, None, str(exc)))
            continue
        kind = ZERO if amount == 0 else CREDIT if amount > 0 else DEBIT
        found.append(BankTransaction(rec["bank_ref"] or f"{day}-{amount}-{line}", day,
                                     value_day, abs(amount), cur, kind == CREDIT,
                                     rec["payer_name"], rec["payer_account"], rec["remittance"],
                                     "", f"{path}: line {line}", kind))
    if problems:
        raise InputError(problems[:50], truncated=len(problems) > 50)
    if not found:
        fail(str(path), None, "no transactions: not a bank statement in the layout of the "
                              f"mapping {mapping.name!r}, or an empty export")
    return found


def _check_columns(path: Path, line: int, header: list[str], mapping) -> None:
    missing = mapping.missing_columns(header, _REQUIRED)
    if missing:
        fail(str(path), line, f"not a bank statement in the layout of the mapping "
                              f"{mapping.name!r}: no column {', '.join(missing)}")
