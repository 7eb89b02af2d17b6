"""Values arcli cannot read exactly are refused (file, line, field), never booked."""

from __future__ import annotations

import json
import sqlite3

import pytest

from tests.integrity.helpers import HEADER, fresh_book, refused, write


def _ledger(tmp_path, line: str, name: str = "ledger.csv"):
    return write(tmp_path, name, HEADER + "invoice,OK-1,C001,2026-01-05,,10.00,CNY,,\n" + line)


@pytest.mark.parametrize("amount", ["1e3", "1E2", "5e-2", "1_000", "+5", "１２３", "١٢٣",
                                    "9" * 5000, "12.345", "12.340", "NaN", "Infinity", ".5",
                                    "1 000"])
def test_amount_that_is_not_a_plain_decimal_is_refused(tmp_path, amount):
    path = _ledger(tmp_path, f"invoice,X-1,C001,2026-01-05,,{amount},CNY,,\n")
    stderr = refused(fresh_book(tmp_path), "import", "ledger", str(path))
    assert "line 3: amount:" in stderr


def test_thousands_separators_only_where_a_mapping_says(tmp_path):
    book = fresh_book(tmp_path)
    path = _ledger(tmp_path, 'invoice,X-1,C001,2026-01-05,,"1,234.50",CNY,,\n')
    assert "line 3: amount:" in refused(book, "import", "ledger", str(path))
    book.config = write(tmp_path, "arcli.yaml", "mappings:\n  grouped:\n    thousands: ','\n")
    assert book("import", "ledger", str(path), "--mapping", "grouped").exit_code == 0
    bad = _ledger(tmp_path, 'invoice,X-2,C001,2026-01-05,,"1,23,4.50",CNY,,\n', "bad.csv")
    assert "line 3: amount:" in refused(book, "import", "ledger", str(bad), "--mapping",
                                        "grouped")
    with sqlite3.connect(book.db) as conn:
        assert conn.execute("SELECT amount_minor FROM documents WHERE number = 'X-1'"
                            ).fetchone() == (123450,)


@pytest.mark.parametrize("date", ["9999-12-31", "0001-01-01", "1899-12-31", "2200-01-01",
                                  "２０２６-01-05"])
def test_date_out_of_range_is_refused(tmp_path, date):
    path = _ledger(tmp_path, f"invoice,X-1,C001,{date},,10.00,CNY,,\n")
    stderr = refused(fresh_book(tmp_path), "import", "ledger", str(path))
    assert "line 3: date:" in stderr


def test_due_date_out_of_range_is_refused(tmp_path):
    path = _ledger(tmp_path, "invoice,X-1,C001,2026-01-05,9999-12-31,10.00,CNY,,\n")
    assert "line 3: due_date:" in refused(fresh_book(tmp_path), "import", "ledger", str(path))


@pytest.mark.parametrize("number", ["HX-\u200b1", "HX-\x001", "HX-\x1b1", "HX-\u202e1",
                                    "HX-\ufeff1", "HX\u00a01", "HX-\u20601"])
def test_document_number_with_hidden_characters_is_refused(tmp_path, number):
    path = _ledger(tmp_path, f"invoice,{number},C001,2026-01-05,,10.00,CNY,,\n")
    stderr = refused(fresh_book(tmp_path), "import", "ledger", str(path))
    assert "line 3: number:" in stderr and "invisible or control character" in stderr


def test_number_with_a_line_break_is_refused(tmp_path):
    path = _ledger(tmp_path, 'invoice,"HX-\n1",C001,2026-01-05,,10.00,CNY,,\n')
    assert "line 3: number:" in refused(fresh_book(tmp_path), "import", "ledger", str(path))


def test_the_two_forms_of_e_acute_are_one_document(tmp_path):
    book = fresh_book(tmp_path)
    composed, decomposed = "F\u00e9-1", "Fe\u0301-1"
    first = _ledger(tmp_path, f"invoice,{composed},C001,2026-01-05,,10.00,CNY,,\n", "a.csv")
    assert book("import", "ledger", str(first)).exit_code == 0
    again = _ledger(tmp_path, f"invoice,{decomposed},C001,2026-01-05,,99.00,CNY,,\n", "b.csv")
    stderr = refused(book, "import", "ledger", str(again))
    assert "already imported with different content" in stderr
    with sqlite3.connect(book.db) as conn:
        assert conn.execute("SELECT count(*) FROM documents WHERE number LIKE 'F%'"
                            ).fetchone() == (1,)


def test_customer_ids_are_normalised_and_checked(tmp_path):
    book = fresh_book(tmp_path)
    customers = write(tmp_path, "customers.csv", "id,name,address\n"
                      "K\u00e9,Caf\u00e9 One,\"Rue 1\nParis\"\n")
    assert book("import", "customers", str(customers)).exit_code == 0
    same = write(tmp_path, "same.csv", "id,name,address\nKe\u0301,Caf\u00e9 One,\"Rue 1\nParis\"\n")
    result = book("import", "customers", str(same), "--json")
    assert result.exit_code == 0 and json.loads(result.stdout)[0]["unchanged"] == 1
    ledger = _ledger(tmp_path, "invoice,X-9,Ke\u0301,2026-01-05,,10.00,EUR,,\n")
    assert book("import", "ledger", str(ledger)).exit_code == 0
    for bad, field in (("K\u200b1,Name", "id"), ("K2,Na\x07me", "name"), ("K3\x00,Name", "id")):
        path = write(tmp_path, "bad.csv", f"id,name\n{bad}\n")
        assert f"line 2: {field}:" in refused(book, "import", "customers", str(path))


@pytest.mark.parametrize("value", ["١٢", "12.5", "99999999999999", "-1"])
def test_customer_terms_days_must_be_plain_and_bounded(tmp_path, value):
    path = write(tmp_path, "customers.csv", f"id,name,terms_days\nK1,Alpha,{value}\n")
    assert "terms_days" in refused(fresh_book(tmp_path), "import", "customers", str(path))


@pytest.mark.parametrize(("line", "fragment"), [
    ('{"type": "invoice", "number": "J-1", "customer": "C001", "date": "2026-01-05", '
     '"amount": 1e3, "currency": "CNY"}', "amount"),
    ('{"type": "invoice", "number": "J-1", "customer": "C001", "date": "2026-01-05", '
     '"amount": 1' + "0" * 5000 + ', "currency": "CNY"}', "amount"),
    ('{"type": "invoice", "number": "J-1", "number": "J-2", "customer": "C001", '
     '"date": "2026-01-05", "amount": "1.00", "currency": "CNY"}', "appears twice"),
    ('{"type": "invoice", "number": true, "customer": "C001", "date": "2026-01-05", '
     '"amount": "1.00", "currency": "CNY"}', "true"),
    ('{"type": "invoice", "number": "J-1", "customer": "C001", "date": "2026-01-05", '
     '"amount": NaN, "currency": "CNY"}', "NaN"),
    ('{"a": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested too deeply"),
])
def test_jsonl_lines_arcli_cannot_read_exactly_are_refused(tmp_path, line, fragment):
    path = write(tmp_path, "ledger.jsonl", line + "\n")
    stderr = refused(fresh_book(tmp_path), "import", "ledger", str(path))
    assert "ledger.jsonl: line 1:" in stderr and fragment in stderr


def test_xlsx_boolean_cell_is_not_a_document_number(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(HEADER.strip().split(","))
    book.active.append(["invoice", True, "C001", "2026-01-05", None, "10.00", "CNY"])
    book.save(tmp_path / "ledger.xlsx")
    stderr = refused(fresh_book(tmp_path), "import", "ledger", str(tmp_path / "ledger.xlsx"))
    assert "line 2: number:" in stderr and "TRUE/FALSE" in stderr


def _xlsx_with_description(tmp_path, size: int):
    """A workbook whose description cell holds ``size`` characters (written into the
    sheet's XML: openpyxl itself cuts what it writes at Excel's limit)."""
    import zipfile

    from openpyxl import Workbook

    book = Workbook()
    book.active.append(HEADER.strip().split(","))
    book.active.append(["invoice", "X-1", "C001", "2026-01-05", None, "10.00", "CNY", None,
                        "SMALL"])
    book.save(tmp_path / "small.xlsx")
    path = tmp_path / "ledger.xlsx"
    with zipfile.ZipFile(tmp_path / "small.xlsx") as src, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"SMALL", b"x" * size)
            out.writestr(info.filename, data)
    return path


def test_xlsx_with_a_huge_packed_cell_is_refused_before_it_is_parsed(tmp_path):
    import time

    path = _xlsx_with_description(tmp_path, 60 << 20)
    started = time.monotonic()
    stderr = refused(fresh_book(tmp_path), "import", "ledger", str(path))
    assert "unpacks to" in stderr and time.monotonic() - started < 10


def test_xlsx_cell_longer_than_excel_allows_is_refused(tmp_path):
    path = _xlsx_with_description(tmp_path, 40_000)
    stderr = refused(fresh_book(tmp_path), "import", "ledger", str(path))
    assert "line 2: description:" in stderr


def test_utf16_file_with_a_bom_is_read(tmp_path):
    book = fresh_book(tmp_path)
    text = HEADER + "invoice,U-1,C001,2026-01-05,,10.00,CNY,,货物\n"
    path = write(tmp_path, "ledger.csv", text.encode("utf-16"))
    result = book("import", "ledger", str(path), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["inserted"] == 1


def test_utf16_named_when_read_in_another_encoding(tmp_path):
    text = HEADER + "invoice,U-1,C001,2026-01-05,,10.00,CNY,,货物\n"
    path = write(tmp_path, "ledger.csv", text.encode("utf-16"))
    stderr = refused(fresh_book(tmp_path), "import", "ledger", str(path), "--encoding",
                     "gb18030")
    assert "--encoding utf-16" in stderr


def test_big5_file_gets_big5_suggested(tmp_path):
    text = HEADER + "invoice,B-1,C001,2026-01-05,,10.00,CNY,,台灣精密機械零件\n"
    path = write(tmp_path, "ledger.csv", text.encode("big5"))
    stderr = refused(fresh_book(tmp_path), "import", "ledger", str(path))
    assert "--encoding big5" in stderr and "cp1252" not in stderr
