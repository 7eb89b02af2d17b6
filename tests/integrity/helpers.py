"""Books and files for the input-integrity tests: a SQLite book with the example
customers, a dump of every table to compare before and after a refused import."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.conftest import EXAMPLES, Arcli

HEADER = "type,number,customer,date,due_date,amount,currency,reference,description\n"


def fresh_book(tmp_path: Path, name: str = "book") -> Arcli:
    """An initialised SQLite book holding the example customers."""
    book = Arcli(str(tmp_path / f"{name}.db"), tmp_path)
    assert book("init", "--no-config").exit_code == 0
    assert book("import", "customers", str(EXAMPLES / "customers.csv")).exit_code == 0
    return book


def dump(book: Arcli) -> list[str]:
    """Every table's rows (SQL text), to show that a refused import changed nothing."""
    with sqlite3.connect(book.db) as conn:
        return list(conn.iterdump())


def invoices(count: int, start: int = 0) -> list[str]:
    """Plain native invoice lines for the example customers."""
    return [f"invoice,HX-{n:05d},C00{1 + n % 3},2026-0{1 + n % 9}-1{n % 10},,"
            f"{100 + n % 900}.25,CNY,PO-{n},goods {n}\n" for n in range(start, start + count)]


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def refused(book: Arcli, *args: str) -> str:
    """Run an import that must be refused: exit 1, no traceback, the book unchanged.
    Returns stderr."""
    before = dump(book)
    result = book(*args)
    assert result.exit_code == 1, (result.exit_code, result.output)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    assert dump(book) == before
    return result.stderr
