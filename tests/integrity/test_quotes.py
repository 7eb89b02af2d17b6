"""Quotes in CSV/TSV files: a misplaced quote is an error naming the line where its field
began, and a big file (parsed in worker processes) reads exactly as a small one does."""

from __future__ import annotations

import time

import pytest

import arcli.importing.parsing as parsing
from arcli import forkpool
from tests.integrity.helpers import HEADER, dump, fresh_book, invoices, refused, write


@pytest.fixture
def workers(monkeypatch):
    """Every file counts as big: cut into slices of a few hundred bytes, parsed by two
    worker processes (the real parallel path)."""
    monkeypatch.setattr(parsing, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(parsing, "SLICE_BYTES", 300)
    monkeypatch.setattr(forkpool, "worker_count", lambda: 2)


def test_unclosed_quote_is_an_error_not_a_swallowed_file(tmp_path):
    lines = invoices(1000)
    lines[1] = lines[1].replace(",goods 1\n", ',"goods 1\n')  # row 2, file line 3
    path = write(tmp_path, "ledger.csv", HEADER + "".join(lines))
    stderr = refused(fresh_book(tmp_path), "import", "ledger", str(path))
    assert "ledger.csv: line 3:" in stderr and "quoted field not closed" in stderr


def test_stray_quote_is_an_error_naming_its_line(tmp_path):
    lines = invoices(20)
    lines[5] = lines[5].replace(",goods 5\n", ',5" pipe\n')
    path = write(tmp_path, "ledger.csv", HEADER + "".join(lines))
    stderr = refused(fresh_book(tmp_path), "import", "ledger", str(path))
    assert "ledger.csv: line 7:" in stderr and "stray quote" in stderr


def test_text_after_a_closing_quote_is_an_error(tmp_path):
    lines = invoices(20)
    lines[3] = lines[3].replace(",goods 3\n", ',"goods" 3\n')
    path = write(tmp_path, "ledger.csv", HEADER + "".join(lines))
    stderr = refused(fresh_book(tmp_path), "import", "ledger", str(path))
    assert "ledger.csv: line 5:" in stderr


def _inch_mark_file(tmp_path):
    """An inch mark in one row, a quoted multi-line description in the next rows."""
    lines = invoices(300)
    for n in range(0, 300, 7):
        lines[n] = lines[n].replace(f",goods {n}\n", f',"line one\nline ""two"" {n}"\n')
    lines[40] = lines[40].replace(",goods 40\n", ',steel pipe 5" wide\n')
    return write(tmp_path, "ledger.csv", HEADER + "".join(lines)), lines


def test_inch_mark_is_refused_alike_below_and_above_the_parallel_threshold(
        tmp_path, monkeypatch):
    path, lines = _inch_mark_file(tmp_path)
    text = path.read_text(encoding="utf-8")
    expected_line = text[:text.index(lines[40])].count("\n") + 1
    small = refused(fresh_book(tmp_path, "small"), "import", "ledger", str(path))
    monkeypatch.setattr(parsing, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(parsing, "SLICE_BYTES", 300)
    monkeypatch.setattr(forkpool, "worker_count", lambda: 2)
    big = refused(fresh_book(tmp_path, "big"), "import", "ledger", str(path))
    assert f"line {expected_line}:" in small and "stray quote" in small
    assert big == small


def test_multi_line_quoted_fields_read_alike_in_workers(tmp_path, monkeypatch):
    lines = invoices(300)
    for n in range(0, 300, 5):
        lines[n] = lines[n].replace(f",goods {n}\n", f',"5"" pipe\nsecond, line {n}"\n')
    path = write(tmp_path, "ledger.csv", HEADER + "".join(lines))
    small = fresh_book(tmp_path, "small")
    assert small("import", "ledger", str(path)).exit_code == 0
    monkeypatch.setattr(parsing, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(parsing, "SLICE_BYTES", 300)
    monkeypatch.setattr(forkpool, "worker_count", lambda: 2)
    big = fresh_book(tmp_path, "big")
    assert big("import", "ledger", str(path)).exit_code == 0
    assert dump(big) != [] and _documents(big) == _documents(small)
    assert '5" pipe\nsecond, line 0' in [row[-1] for row in _documents(big)]


def _documents(book):
    import sqlite3

    with sqlite3.connect(book.db) as conn:
        return sorted(conn.execute(
            "SELECT type, number, customer_id, date, amount_minor, currency, description "
            "FROM documents"))


def test_one_inch_mark_in_a_big_file_is_refused_quickly(tmp_path, monkeypatch):
    """Counting the quotes of a growing slice again for each line made one stray quote
    in a 3 MB file cost many seconds (minutes at 100 MB)."""
    lines = invoices(40_000)
    lines[3] = lines[3].replace(",goods 3\n", ',pipe 5" wide\n')
    path = write(tmp_path, "ledger.csv", HEADER + "".join(lines))
    monkeypatch.setattr(parsing, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(parsing, "SLICE_BYTES", 256 << 10)
    monkeypatch.setattr(forkpool, "worker_count", lambda: 2)
    started = time.monotonic()
    stderr = refused(fresh_book(tmp_path), "import", "ledger", str(path))
    assert "line 5:" in stderr
    assert time.monotonic() - started < 10


def test_customer_file_with_unclosed_quote_is_refused(tmp_path):
    path = write(tmp_path, "customers.csv",
                 'id,name,address\nK1,Alpha,"Main St 1\nK2,Beta,Side St 2\nK3,Gamma,x\n')
    stderr = refused(fresh_book(tmp_path), "import", "customers", str(path))
    assert "customers.csv: line 2:" in stderr


def test_tsv_stray_quote(tmp_path):
    text = HEADER.replace(",", "\t") + "".join(line.replace(",", "\t")
                                               for line in invoices(5))
    text = text.replace("goods 2", 'goods "2')
    stderr = refused(fresh_book(tmp_path), "import", "ledger",
                     str(write(tmp_path, "ledger.tsv", text)))
    assert "line 4:" in stderr and "stray quote" in stderr


def test_carriage_return_inside_the_header_is_an_error(tmp_path):
    """Found by the fuzz test: csv's own error escaped as an internal error."""
    path = write(tmp_path, "ledger.csv", HEADER.replace("date,", "da\rte,", 1)
                 + "".join(invoices(2)))
    assert "line 1:" in refused(fresh_book(tmp_path), "import", "ledger", str(path))


def test_a_byte_order_mark_at_a_slice_start_is_data_like_anywhere_else(tmp_path, workers):
    """Slices were decoded as utf-8-sig, which drops U+FEFF at the start of a slice only:
    a record starting with it was refused or accepted depending on where a cut fell."""
    lines = ["\ufeff" + line for line in invoices(40)]
    path = write(tmp_path, "ledger.csv", HEADER + "".join(lines))
    stderr = refused(fresh_book(tmp_path), "import", "ledger", str(path))
    assert [n for n in range(2, 42) if f"line {n}: type:" in stderr] == list(range(2, 42))
