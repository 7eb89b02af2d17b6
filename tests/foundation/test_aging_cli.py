"""Aging buckets at their edges, output formats and the CLI contract (exit codes, streams)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arcli.aging import AgingSpec
from tests.conftest import ROOT

AS_OF = dt.date(2026, 11, 22)
HEADER = "type,number,customer,date,due_date,amount,currency,reference,description\n"


@pytest.mark.parametrize(
    ("days_overdue", "bucket"),
    [(-5, "current"), (0, "current"), (1, "1-30"), (30, "1-30"), (31, "31-60"),
     (60, "31-60"), (61, "61-90"), (90, "61-90"), (91, "91+"), (400, "91+")],
)
def test_bucket_edges_in_sql_and_python_agree(arcli, tmp_path, days_overdue, bucket):
    due = AS_OF - dt.timedelta(days=days_overdue)
    path = tmp_path / "l.csv"
    path.write_text("id,name\nK1,K\n")
    arcli("import", "customers", str(path))
    date = min(due, AS_OF)
    path.write_text(HEADER + f"invoice,E1,K1,{date},{due},10.00,EUR,,\n")
    assert arcli("import", "ledger", str(path)).exit_code == 0
    row = json.loads(arcli("aging", "--as-of", str(AS_OF), "--json").stdout)[0]
    assert row[bucket] == "10.00"
    assert [k for k in ("current", "1-30", "31-60", "61-90", "91+") if row[k] != "0.00"] == \
        [bucket]
    assert AgingSpec(AS_OF).label_for(date, due) == bucket


def test_document_basis_labels_and_custom_buckets():
    assert AgingSpec(AS_OF, "document").labels == ["0-30", "31-60", "61-90", "91+"]
    assert AgingSpec(AS_OF, "due", (15, 45)).labels == ["current", "1-15", "16-45", "46+"]
    assert AgingSpec(AS_OF, "document", (30,)).label_for(AS_OF, AS_OF) == "0-30"


def test_csv_columns_are_stable_and_exact(example_book):
    result = example_book("aging", "--csv")
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["customer", "name", "currency", "current", "1-30", "31-60",
                             "61-90", "91+", "unapplied", "total"]
    acme = next(r for r in rows if r["customer"] == "C004")
    assert (acme["unapplied"], acme["total"]) == ("-800.00", "-800.00")
    assert all(r["customer"] != "TOTAL" for r in rows)
    with_totals = list(csv.DictReader(io.StringIO(example_book("aging", "--csv",
                                                               "--totals").stdout)))
    assert [r["currency"] for r in with_totals if r["customer"] == "TOTAL"] == \
        ["CNY", "EUR", "USD"]


def test_back_dated_aging_shows_invoices_paid_later(example_book):
    rows = json.loads(example_book("aging", "--as-of", "2026-08-19", "--customer", "C001",
                                   "--detail", "--json").stdout)
    assert {r["number"] for r in rows} == {"INV-2026-0101", "INV-2026-0117"}
    now = json.loads(example_book("aging", "--customer", "C001", "--detail", "--json").stdout)
    assert "INV-2026-0101" not in {r["number"] for r in now}


def test_json_has_no_floats_and_tsv_jsonl_work(example_book):
    text = example_book("aging", "--json").stdout
    for row in json.loads(text):
        assert all(not isinstance(v, float) for v in row.values())
    tsv = example_book("aging", "--tsv", "--no-headers").stdout.splitlines()
    assert tsv[0].split("\t")[0] == "C001"
    lines = example_book("aging", "--nl").stdout.splitlines()
    assert json.loads(lines[0])["customer"] == "C001"


def test_output_file_format_follows_suffix(example_book, tmp_path):
    target = tmp_path / "aging.json"
    result = example_book("aging", "-o", str(target))
    assert result.exit_code == 0 and result.stdout == ""
    assert json.loads(target.read_text())[0]["customer"] == "C001"


def test_usage_errors_exit_2(example_book):
    assert example_book("aging", "--as-of", "31.10.2026").exit_code == 2
    assert example_book("aging", "--currency", "XXQ").exit_code == 2
    assert example_book("aging", "--buckets", "60,30").exit_code == 2


def test_bad_config_names_file_line_and_key(example_book, tmp_path):
    config = tmp_path / "bad.yaml"
    config.write_text("aging:\n  basis: due\ndefaults:\n  terms_days: -3\n")
    example_book.config = config
    result = example_book("import", "ledger", str(ROOT / "examples" / "ledger.csv"))
    assert result.exit_code == 2
    assert "bad.yaml: line 4: defaults.terms_days: must be a non-negative integer" in \
        result.stderr


def test_missing_schema_is_a_clear_error(tmp_path):
    from tests.conftest import Arcli

    runner = Arcli(str(tmp_path / "empty.db"), tmp_path)
    result = runner("aging")
    assert result.exit_code == 1
    assert "run `arcli init` first" in result.stderr


def test_real_subprocess_end_to_end(tmp_path):
    env = {**os.environ, "ARCLI_TODAY": "2026-11-22", "ARCLI_DB": str(tmp_path / "s.db")}
    env.pop("ARCLI_DEBUG", None)

    def run(*args, stdin=None):
        return subprocess.run([sys.executable, "-m", "arcli", *args], cwd=tmp_path, env=env,
                              input=stdin, capture_output=True, text=True, timeout=60)

    assert run("init").returncode == 0
    assert (tmp_path / "arcli.yaml").is_file()
    assert run("import", "customers", str(ROOT / "examples" / "customers.csv")).returncode == 0
    ledger = (ROOT / "examples" / "ledger.csv").read_text(encoding="utf-8")
    imported = run("import", "ledger", "-", stdin=ledger)
    assert imported.returncode == 0, imported.stderr
    aging = run("aging", "--currency", "EUR", "--json")
    assert aging.returncode == 0 and aging.stderr == ""
    assert {r["customer"] for r in json.loads(aging.stdout)} == {"C003", "C005", "C006"}
    bad = run("import", "ledger", "/nonexistent.csv")
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "/nonexistent.csv: file not found" in bad.stderr
    folder = run("import", "ledger", str(tmp_path))
    assert folder.returncode == 1 and f"{tmp_path}: is a folder, not a file" in folder.stderr


def test_old_schema_is_refused_then_upgraded_by_init(arcli):
    """A book at schema 0001 is refused by reports (fast path too) until `arcli init`."""
    from alembic import command
    from alembic.config import Config as AlembicConfig
    from sqlalchemy import inspect

    from arcli.store import SCHEMA_HEAD, open_store
    from arcli.store.engine import _MIGRATIONS

    store = open_store(arcli.db)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(_MIGRATIONS))
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0001")
    for args in (("aging",), ("aging", "--detail"), ("import", "customers",
                                                     str(ROOT / "examples" / "customers.csv"))):
        result = arcli(*args)
        assert result.exit_code == 1
        assert f"is at schema 0001, this arcli needs {SCHEMA_HEAD}" in result.stderr
    assert arcli("init", "--no-config").exit_code == 0
    with store.engine.connect() as conn:
        columns = {ix["name"]: ix["column_names"] for ix in inspect(conn).get_indexes("documents")}
        assert columns["ix_documents_open"][:3] == ["customer_id", "currency", "closed_on"]
        assert "ix_allocations_effective" in {
            ix["name"] for ix in inspect(conn).get_indexes("allocations")}
    store.dispose()
    assert arcli("aging").exit_code == 0


def test_quick_reports_do_not_import_sqlalchemy(example_book):
    """`aging` runs on a plain DB-API connection: SQLAlchemy's import alone costs ~0.15 s."""
    code = ("import sys; from arcli.cli import main; sys.argv = ['arcli', '--db', "
            f"{example_book.db!r}, 'aging', '--detail', '--csv'];\n"
            "try:\n    main()\nexcept SystemExit:\n    pass\n"
            "print('SQLALCHEMY' if 'sqlalchemy' in sys.modules else 'PLAIN', file=sys.stderr)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={**os.environ, "ARCLI_TODAY": "2026-11-22"}, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "INV-2026-" in done.stdout
    assert done.stderr.strip().endswith("PLAIN")


json_values = st.one_of(st.none(), st.booleans(), st.integers(), st.text(),
                        st.lists(st.text(), max_size=2), st.dictionaries(st.text(), st.text(),
                                                                         max_size=2))


@given(st.lists(st.dictionaries(st.text(min_size=1), json_values, max_size=4), max_size=4))
def test_streamed_json_array_is_what_json_dump_writes(objects):
    from arcli.output import _write_json_array

    streamed = io.StringIO()
    _write_json_array(iter(objects), streamed)
    assert streamed.getvalue() == json.dumps(objects, ensure_ascii=False, indent=2) + "\n"


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json", "jsonl", "table"])
def test_detail_streams_to_stdout_and_files_alike(example_book, tmp_path, fmt):
    """--detail rows are read as they are written; a file gets the same bytes, atomically."""
    shown = example_book("aging", "--detail", "--format", fmt)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.count("C00") >= 10
    target = tmp_path / f"detail.{fmt}"
    written = example_book("aging", "--detail", "--format", fmt, "-o", str(target))
    assert written.exit_code == 0, written.output
    assert target.read_text(encoding="utf-8") == shown.stdout
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temp left


class _Watched(io.StringIO):
    """A stream that records how many rows had been produced at each write."""

    def __init__(self, produced: list):
        super().__init__()
        self.produced, self.writes = produced, []

    def write(self, text):
        self.writes.append((len(self.produced), text))
        return super().write(text)


def test_lazy_report_rows_are_written_as_they_come():
    from arcli.output import Report, write_report

    produced: list[int] = []

    def rows():
        for i in range(3):
            produced.append(i)
            yield {"n": i}

    for fmt in ("csv", "jsonl", "json"):
        produced.clear()
        stream = _Watched(produced)
        write_report(Report(["n"], rows()), stream, fmt)
        assert produced == [0, 1, 2]
        # row 0 was on its way out before row 2 existed
        assert any(count < 3 and "0" in text for count, text in stream.writes), fmt


@pytest.mark.parametrize("fmt", ["--tsv", "--nl"])
def test_a_reader_that_stops_early_gets_no_traceback(arcli, tmp_path, fmt):
    """`arcli aging --detail | head -1`: arcli stops quietly with exit 0. The streamed
    rows' cursor used to be closed after its connection, and Python printed the error
    ("Exception ignored in ... Cannot operate on a closed database") on stderr."""
    lines = [f"invoice,N{n:05d},C{n % 7},2026-01-{1 + n % 28:02d},,{n + 1}.00,EUR,,"
             for n in range(4000)]
    customers = tmp_path / "c.csv"
    customers.write_text("id,name\n" + "".join(f"C{n},Customer {n}\n" for n in range(7)))
    ledger = tmp_path / "l.csv"
    ledger.write_text(HEADER + "\n".join(lines) + "\n")
    assert arcli("import", "customers", str(customers)).exit_code == 0
    assert arcli("import", "ledger", str(ledger)).exit_code == 0
    env = {**os.environ, "ARCLI_TODAY": "2026-11-22", "ARCLI_DB": arcli.db}
    process = subprocess.Popen([sys.executable, "-m", "arcli", "aging", "--detail", fmt],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                               cwd=tmp_path)
    first = process.stdout.readline()
    process.stdout.close()  # the reader goes away with ~4,000 rows still to come
    stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == 0
    assert first and stderr == ""
