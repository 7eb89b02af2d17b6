"""Big files are parsed in worker processes; the outcome must not depend on it."""

from __future__ import annotations

import json

import pytest

import arcli.importing.parsing as parsing
from arcli import forkpool
from tests.conftest import EXAMPLES, Arcli
from tests.foundation.test_first_load import book_state

HEADER = "type,number,customer,date,due_date,amount,currency,reference,description\n"


def ledger_lines(count: int) -> list[str]:
    """Invoices and payments; every 7th description spans lines inside quotes."""
    lines = []
    for n in range(count):
        customer = f"C00{1 + n % 3}"
        text = f'"line one\nline ""two"" of {n}"' if n % 7 == 0 else f"goods {n}"
        if n % 4 == 3:
            lines.append(f"payment,P{n:05d},{customer},2026-0{1 + n % 9}-1{n % 10},,"
                         f"{10 + n % 50}.00,EUR,I{n - 3:05d},{text}\n")
        else:
            lines.append(f"invoice,I{n:05d},{customer},2026-0{1 + n % 9}-1{n % 10},,"
                         f"{20 + n % 90}.50,EUR,,{text}\n")
    return lines


@pytest.fixture
def small_slices(monkeypatch):
    """Every file counts as big and is cut into many slices of a few hundred bytes."""
    monkeypatch.setattr(parsing, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(parsing, "SLICE_BYTES", 300)
    monkeypatch.setattr(forkpool, "worker_count", lambda: 2)


def fresh_book(tmp_path, name: str) -> Arcli:
    book = Arcli(str(tmp_path / f"{name}.db"), tmp_path)
    book("init", "--no-config")
    book("import", "customers", str(EXAMPLES / "customers.csv"))
    return book


def test_parallel_parse_gives_the_same_book(tmp_path, monkeypatch):
    path = tmp_path / "ledger.csv"
    path.write_text(HEADER + "".join(ledger_lines(400)), encoding="utf-8")
    plain = fresh_book(tmp_path, "plain")
    assert plain("import", "ledger", str(path)).exit_code == 0
    monkeypatch.setattr(parsing, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(parsing, "SLICE_BYTES", 300)
    monkeypatch.setattr(forkpool, "worker_count", lambda: 2)
    slices = []
    cut = parsing.cut_slices
    monkeypatch.setattr(parsing, "cut_slices",
                        lambda *a: (slices.append(s) or s for s in cut(*a)))
    sliced = fresh_book(tmp_path, "sliced")
    result = sliced("import", "ledger", str(path), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["inserted"] == 400
    assert len(slices) > 50 and b"".join(s[0] for s in slices) == path.read_bytes()[
        len(HEADER):]
    assert book_state(sliced.db) == book_state(plain.db)
    assert sliced("aging", "--detail", "--json").stdout == plain("aging", "--detail",
                                                                 "--json").stdout


def test_parallel_parse_reports_the_same_lines(tmp_path, small_slices):
    lines = ledger_lines(300)
    lines[10] = lines[10].replace(",EUR,", ",EURO,")
    lines[150] = lines[150].replace("2026-", "2026/")
    lines[299] = lines[299].replace(",C00", ",NOBODY")
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + "".join(lines), encoding="utf-8")
    text = path.read_text(encoding="utf-8")
    expected = []
    for index in (10, 150, 299):  # the file line where each bad record starts
        expected.append(text[:text.index(lines[index])].count("\n") + 1)
    book = fresh_book(tmp_path, "bad")
    result = book("import", "ledger", str(path))
    assert result.exit_code == 1
    found = [int(part.split("line ")[1].split(":")[0])
             for part in result.stderr.splitlines() if ": line " in part]
    assert found == expected
    assert book("aging", "--json").stdout.strip() == "[]"  # nothing was imported


def test_parallel_parse_bad_encoding_names_the_byte(tmp_path, small_slices):
    data = (HEADER + "".join(ledger_lines(100))).encode("utf-8")
    broken = data[:2000] + b"\xff" + data[2000:]
    path = tmp_path / "broken.csv"
    path.write_bytes(broken)
    result = fresh_book(tmp_path, "enc")("import", "ledger", str(path))
    assert result.exit_code == 1
    assert "at byte 2000" in result.stderr
    line = data[:2000].count(b"\n") + 1
    assert f"broken.csv: line {line}:" in result.stderr
