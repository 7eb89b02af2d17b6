"""Small hand-computed books built through the real CLI import of small CSV files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

AS_OF = dt.date(2026, 11, 22)
LEDGER_HEADER = "type,number,customer,date,due_date,amount,currency,reference,description\n"


def overdue(days: int) -> dt.date:
    """The due date that is ``days`` overdue on AS_OF."""
    return AS_OF - dt.timedelta(days=days)


def load(arcli, tmp_path: Path, customers: str, ledger_lines: list[str]) -> None:
    """Import ``customers`` (CSV text) and the ledger lines through the CLI; both must pass."""
    cpath, lpath = tmp_path / "customers.csv", tmp_path / "ledger.csv"
    cpath.write_text(customers, encoding="utf-8")
    lpath.write_text(LEDGER_HEADER + "".join(line + "\n" for line in ledger_lines),
                     encoding="utf-8")
    for kind, path in (("customers", cpath), ("ledger", lpath)):
        result = arcli("import", kind, str(path), "--csv")
        assert result.exit_code == 0, result.output


def invoice(number: str, customer: str, days_overdue: int, amount: str,
            currency: str = "EUR", date: dt.date | None = None) -> str:
    due = overdue(days_overdue)
    return f"invoice,{number},{customer},{date or min(due, AS_OF)},{due},{amount},{currency},,"


def payment(number: str, customer: str, day: dt.date, amount: str, currency: str = "EUR",
            reference: str = "") -> str:
    return f"payment,{number},{customer},{day},,{amount},{currency},{reference},"
