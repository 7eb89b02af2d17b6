"""What every report command writes: real spreadsheets, CSV for Excel, inert cells, and
a file suffix arcli cannot write refused before the command does anything."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zipfile
from decimal import Decimal

import pytest

HEADER = "type,number,customer,date,due_date,amount,currency,reference,description\n"


def test_xlsx_holds_numbers_with_their_decimals_and_dates(example_book, tmp_path):
    from openpyxl import load_workbook

    target = tmp_path / "open-items.xlsx"
    result = example_book("aging", "--detail", "-o", str(target))
    assert result.exit_code == 0, result.output
    sheet = load_workbook(target).active
    rows = list(sheet.iter_rows(values_only=False))
    header = [c.value for c in rows[0]]
    assert header[:3] == ["customer", "name", "currency"]
    as_csv = list(csv.DictReader(io.StringIO(example_book("aging", "--detail",
                                                          "--csv").stdout)))
    assert len(rows) - 1 == len(as_csv)
    amount, date = header.index("open_amount"), header.index("due_date")
    for cells, expected in zip(rows[1:], as_csv, strict=True):
        assert cells[amount].data_type == "n"
        assert cells[amount].number_format == "#,##0.00"
        assert Decimal(str(cells[amount].value)) == Decimal(expected["open_amount"])
        assert cells[date].is_date
        assert cells[date].value.date() == dt.date.fromisoformat(expected["due_date"])
    # the exact decimal text is what the file holds (no float rounding on the way)
    xml = zipfile.ZipFile(target).read("xl/worksheets/sheet1.xml").decode()
    assert "<v>26400.50</v>" in xml or "<v>26400.5</v>" in xml


def test_xlsx_keeps_a_zero_decimal_currency_and_text_that_looks_like_a_formula(
        arcli, tmp_path):
    from openpyxl import load_workbook

    customers = tmp_path / "c.csv"
    customers.write_text('id,name\nK1,"=HYPERLINK(""http://evil"")"\n')
    assert arcli("import", "customers", str(customers)).exit_code == 0
    ledger = tmp_path / "l.csv"
    ledger.write_text(HEADER + "invoice,J1,K1,2026-10-01,2026-10-31,1500,JPY,,\n"
                      "payment,P1,K1,2026-10-02,,2000,JPY,,\n")
    assert arcli("import", "ledger", str(ledger)).exit_code == 0
    target = tmp_path / "aging.xlsx"
    assert arcli("aging", "-o", str(target)).exit_code == 0
    sheet = load_workbook(target).active
    header = [c.value for c in sheet[1]]
    row = sheet[2]
    name = row[header.index("name")]
    assert name.data_type == "s" and name.value == '=HYPERLINK("http://evil")'
    unapplied = row[header.index("unapplied")]
    assert unapplied.value == -500 and unapplied.number_format == "#,##0"


def test_csv_with_bom_and_inert_formulas_keeps_amounts_numeric(arcli, tmp_path):
    customers = tmp_path / "c.csv"
    customers.write_text("id,name\nK1,=1+2\nK2,@SUM(A1)\nK3,-minus\nK4,+plus\n")
    assert arcli("import", "customers", str(customers)).exit_code == 0
    ledger = tmp_path / "l.csv"
    ledger.write_text(HEADER + "payment,P1,K1,2026-10-02,,800.00,EUR,,\n"
                      "invoice,I2,K2,2026-10-01,2026-10-31,5.00,EUR,,\n"
                      "invoice,I3,K3,2026-10-01,2026-10-31,5.00,EUR,,\n"
                      "invoice,I4,K4,2026-10-01,2026-10-31,5.00,EUR,,\n")
    assert arcli("import", "ledger", str(ledger)).exit_code == 0
    result = arcli("aging", "--csv", "--bom", "--escape-formulas")
    assert result.exit_code == 0, result.output
    data = result.stdout_bytes
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert [r["name"] for r in rows] == ["'=1+2", "'@SUM(A1)", "'-minus", "'+plus"]
    assert rows[0]["unapplied"] == "-800.00"
    plain = list(csv.DictReader(io.StringIO(arcli("aging", "--csv").stdout)))
    assert plain[0]["name"] == "=1+2"  # without the option, data is written as it is


@pytest.mark.parametrize("name", ["report.pdf", "report.xls", "report.docx"])
def test_a_suffix_arcli_cannot_write_is_refused_first(example_book, tmp_path, name):
    result = example_book("dunning", "run", "-o", str(tmp_path / name))
    assert result.exit_code == 2
    assert "cannot write" in result.stderr
    assert not (tmp_path / name).exists()
    assert not (example_book.cwd / "letters").exists()  # nothing was done
    assert example_book("dunning", "run", "--csv", "-o",
                        str(tmp_path / "fine.out")).exit_code == 0
