"""The first import into an empty book takes its own path; it must agree with the general one.

The first load applies cash before writing documents; later imports insert and then rerun
cash application over the touched groups. Both must end in exactly the same open amounts,
closing dates and allocations, whatever the mix of partial, unreferenced and repeated lines.
"""

from __future__ import annotations

import json
import sys

import pytest
from sqlalchemy import text

import arcli.importing.first_load as first_load
from arcli.cash_application import reapply
from arcli.store import open_store
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
from generate import generate


def book_state(db: str) -> tuple[list, list]:
    """Documents' derived state and the allocations, keyed by document content, not id.

    Values as text, so a PostgreSQL book (dates as dates) compares with a SQLite one.
    """
    store = open_store(db)
    with store.engine.connect() as conn:
        docs = sorted(tuple(map(str, r)) for r in conn.execute(text(
            "SELECT type, number, open_minor, closed_on FROM documents")))
        allocs = sorted(tuple(map(str, r)) for r in conn.execute(text(
            "SELECT c.number, d.number, a.amount_minor, a.effective_date, a.rule, a.note "
            "FROM allocations a JOIN documents c ON c.id = a.credit_id "
            "JOIN documents d ON d.id = a.debit_id")))
    store.dispose()
    return docs, allocs


@pytest.fixture(params=[10_000, 100])
def apply_mode(request, monkeypatch):
    """The first load's batches of groups: one batch for the sample, or many small ones."""
    monkeypatch.setattr(first_load, "_TASK_ROWS", request.param)
    return request.param


def test_first_load_equals_a_full_reapply(arcli, tmp_path, apply_mode):
    customers, ledger = generate(tmp_path / "data", 3000, 40, seed=7)
    lines = ledger.read_text(encoding="utf-8").splitlines(keepends=True)
    repeated = tmp_path / "repeated.csv"  # identical repeats are allowed and skipped
    repeated.write_text("".join([*lines, *lines[1:200]]), encoding="utf-8")
    assert arcli("import", "customers", str(customers)).exit_code == 0
    result = arcli("import", "ledger", str(repeated), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["inserted"] == 3000
    assert json.loads(result.stdout)[0]["unchanged"] == 199
    first = book_state(arcli.db)
    assert len(first[1]) > 500  # the sample really exercises cash application
    store = open_store(arcli.db)
    with store.engine.begin() as conn:
        reapply(conn, None)
    store.dispose()
    assert book_state(arcli.db) == first


def test_first_load_then_more_equals_one_load(arcli, tmp_path):
    from tests.conftest import Arcli

    customers, ledger = generate(tmp_path / "data", 2000, 25, seed=11)
    header, *rows = ledger.read_text(encoding="utf-8").splitlines(keepends=True)
    halves = []
    for index, part in enumerate((rows[:1100], rows[1100:])):
        path = tmp_path / f"part{index}.csv"
        path.write_text(header + "".join(part), encoding="utf-8")
        halves.append(path)
    assert arcli("import", "customers", str(customers)).exit_code == 0
    for path in halves:
        assert arcli("import", "ledger", str(path)).exit_code == 0
    whole = Arcli(str(tmp_path / "whole.db"), tmp_path)
    whole("init", "--no-config")
    whole("import", "customers", str(customers))
    assert whole("import", "ledger", str(ledger)).exit_code == 0
    assert book_state(arcli.db) == book_state(whole.db)
    assert arcli("aging", "--json").stdout == whole("aging", "--json").stdout


def test_ids_of_one_customer_are_contiguous(arcli, tmp_path, apply_mode):
    customers, ledger = generate(tmp_path / "data", 1000, 10, seed=3)
    arcli("import", "customers", str(customers))
    arcli("import", "ledger", str(ledger))
    store = open_store(arcli.db)
    with store.engine.connect() as conn:
        spans = conn.execute(text(
            "SELECT customer_id, MIN(id), MAX(id), COUNT(*) FROM documents "
            "GROUP BY customer_id")).all()
    store.dispose()
    assert all(high - low + 1 == count for _, low, high, count in spans)
