"""Headers: required columns present, an unknown (misspelt) column an error with a hint."""

from __future__ import annotations

import json

import pytest

from tests.integrity.helpers import fresh_book, refused, write


@pytest.mark.parametrize(("header", "bad", "meant"), [
    ("type,number,customer,date,amount,curency", "curency", "currency"),
    ("type,number,customer,date,amount,currency,refrence", "refrence", "reference"),
    ("type,number,customer,date,amount,currency,due date", "due date", "due_date"),
])
def test_misspelt_ledger_column_is_an_error_with_a_hint(tmp_path, header, bad, meant):
    values = "invoice,X-1,C001,2026-01-05,100.00,USD" + ",R" * (header.count(",") - 5)
    path = write(tmp_path, "ledger.csv", f"{header}\n{values}\n")
    stderr = refused(fresh_book(tmp_path), "import", "ledger", str(path))
    assert f"line 1: {bad}: unknown column (did you mean '{meant}'?" in stderr


def test_currency_column_is_required_without_an_explicit_default(tmp_path):
    book = fresh_book(tmp_path)
    path = write(tmp_path, "ledger.csv",
                 "type,number,customer,date,amount\ninvoice,X-1,C001,2026-01-05,100.00\n")
    stderr = refused(book, "import", "ledger", str(path))
    assert "line 1: currency: required column missing from header" in stderr
    config = write(tmp_path, "arcli.yaml", "defaults:\n  currency: CNY\n")
    book.config = config
    result = book("import", "ledger", str(path), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["inserted"] == 1


def test_jsonl_unknown_key_is_an_error(tmp_path):
    record = {"type": "invoice", "number": "J-1", "customer": "C001", "date": "2026-01-05",
              "amount": "10.00", "curency": "USD"}
    path = write(tmp_path, "ledger.jsonl", json.dumps(record) + "\n")
    stderr = refused(fresh_book(tmp_path), "import", "ledger", str(path))
    assert "line 1: curency: unknown column (did you mean 'currency'?" in stderr


def test_misspelt_customer_column_is_an_error(tmp_path):
    path = write(tmp_path, "customers.csv", "id,name,adress,curency\nK1,Alpha,Main St,USD\n")
    stderr = refused(fresh_book(tmp_path), "import", "customers", str(path))
    assert "adress: unknown column (did you mean 'address'?" in stderr
    assert "curency: unknown column (did you mean 'currency'?" in stderr


def test_header_only_file_with_a_misspelt_column_is_refused(tmp_path):
    path = write(tmp_path, "ledger.csv", "type,number,customer,date,amount,curency\n")
    refused(fresh_book(tmp_path), "import", "ledger", str(path))
