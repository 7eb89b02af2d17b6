"""cron's worst case: the host dies while a dunning run is writing its letters.

The run is a real ``arcli`` process killed with SIGKILL part way through; its rerun must
finish the job with exactly one letter per customer, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from arcli.fileio import remove_leftovers
from tests.conftest import TODAY, Arcli
from tests.killing import killed_when

CUSTOMERS = 150
FIRST_FILES = 10  # letters on disk when the run is killed


def _overdue_book(db_url: str, folder: Path) -> Arcli:
    """A book with one invoice long overdue for each of CUSTOMERS customers."""
    customers = folder / "customers.csv"
    customers.write_text("id,name,address,language,currency,terms_days\n" + "".join(
        f"K{i:04d},Customer {i} Ltd,{i} Market Street,en,EUR,30\n" for i in range(CUSTOMERS)),
        encoding="utf-8")
    ledger = folder / "ledger.csv"
    ledger.write_text(
        "type,number,customer,date,due_date,amount,currency,reference,description\n"
        + "".join(f"invoice,INV{i:05d},K{i:04d},2026-08-{1 + i % 28:02d},,{100 + i}.50,EUR,,\n"
                  for i in range(CUSTOMERS)), encoding="utf-8")
    book = Arcli(db_url, folder)
    for args in (("init", "--no-config"), ("import", "customers", str(customers)),
                 ("import", "ledger", str(ledger))):
        assert book(*args).exit_code == 0
    return book


def _run(db_url: str, out: Path) -> list[str]:
    return [sys.executable, "-m", "arcli", "--db", db_url, "-q", "dunning", "run",
            "--as-of", TODAY, "--out", str(out), "--jobs", "1", "--json"]


def test_a_run_killed_while_writing_is_finished_by_its_rerun_with_one_letter_each(
        db_url, tmp_path):
    book = _overdue_book(db_url, tmp_path)
    out = tmp_path / "letters"
    env = {**os.environ, "ARCLI_TODAY": TODAY}
    killed_when(lambda: len(list(out.glob("*.pdf"))) >= FIRST_FILES, _run(db_url, out), env,
                tmp_path)

    left = sorted(p.name for p in out.glob("*.pdf"))
    assert FIRST_FILES <= len(left) < CUSTOMERS
    for pdf in out.glob("*.pdf"):  # a final name only ever holds a whole file
        assert pdf.read_bytes().rstrip().endswith(b"%%EOF"), pdf.name
    assert not (out / "manifest.json").exists()
    assert json.loads(book("dunning", "history", "--json").stdout) == []  # nothing recorded
    # What a kill between creating a temporary file and renaming it leaves behind.
    stale = out / f".{left[0]}.k1ll3d00.tmp"
    stale.write_bytes(b"%PDF-1.4 half a letter")

    rerun = subprocess.run(_run(db_url, out), env=env, capture_output=True, text=True,
                           timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    rows = json.loads(rerun.stdout)
    assert len(rows) == CUSTOMERS and {r["status"] for r in rows} == {"written"}
    files = sorted(p.name for p in out.glob("*.pdf"))
    assert files == sorted(r["file"] for r in rows) and len(set(files)) == CUSTOMERS
    assert set(left) <= set(files)  # the killed run's letters were written again, same names
    history = json.loads(book("dunning", "history", "--json").stdout)
    assert sorted(h["customer"] for h in history) == [f"K{i:04d}" for i in range(CUSTOMERS)]
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert sorted(r["file"] for r in manifest) == files
    assert not stale.exists() and not list(out.glob(".*.tmp"))

    again = subprocess.run(_run(db_url, out), env=env, capture_output=True, text=True,
                           timeout=300)
    assert again.returncode == 0, again.stderr
    assert {r["status"] for r in json.loads(again.stdout)} == {"skipped"}
    assert sorted(p.name for p in out.glob("*.pdf")) == files


def test_only_the_named_files_leftovers_are_removed(tmp_path):
    names = ["letter-A.pdf", "letter-B.pdf"]
    for name in [*names, ".letter-A.pdf.abcd1234.tmp", ".letter-B.pdf.x_9.tmp",
                 ".letter-C.pdf.abcd1234.tmp", ".letter-A.pdf.tmp", "letter-A.pdf.1.tmp",
                 ".letter-A.pdf.abcd1234.tmp.bak"]:
        (tmp_path / name).write_bytes(b"x")
    assert remove_leftovers(tmp_path, names) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        ".letter-A.pdf.abcd1234.tmp.bak", ".letter-A.pdf.tmp", ".letter-C.pdf.abcd1234.tmp",
        "letter-A.pdf", "letter-A.pdf.1.tmp", "letter-B.pdf"]
