"""Dunning runs on a real book: levels, reruns, intervals, disputes, blocks, promises, PDFs."""

from __future__ import annotations

import json
import shutil
import subprocess
from decimal import Decimal

import pytest

from tests.conftest import ROOT


@pytest.fixture
def book(example_book, tmp_path):
    config = tmp_path / "arcli.yaml"
    shutil.copy(ROOT / "config.example.yaml", config)
    example_book.config = config
    return example_book


def run(book, day: str, *extra: str) -> dict:
    result = book("dunning", "run", "--as-of", day, "--out", str(book.cwd / "letters"),
                  "--json", *extra)
    assert result.exit_code == 0, result.output
    return {(r["customer"], r["currency"]): r for r in json.loads(result.stdout)}


def test_first_run_rerun_and_escalation(book):
    first = run(book, "2026-11-22")
    assert {k: v["level"] for k, v in first.items() if v["status"] == "written"} == {
        ("C001", "CNY"): 1, ("C002", "CNY"): 1, ("C003", "EUR"): 1, ("C005", "USD"): 1,
        ("C006", "EUR"): 1}
    # C002 owes 88,000 + 120,000 overdue (the Kingdee-style export is not in this book).
    assert first[("C002", "CNY")]["overdue"] == "208000.00"
    again = run(book, "2026-11-22")
    assert {v["status"] for v in again.values()} == {"skipped"}
    assert all("already generated" in v["reason"] for v in again.values())
    later = run(book, "2026-12-10")
    assert later[("C002", "CNY")]["level"] == 2  # one step, never a jump to level 4
    history = json.loads(book("dunning", "history", "--customer", "C002", "--json").stdout)
    assert [(h["as_of"], h["level"]) for h in history] == [("2026-12-10", 2), ("2026-11-22", 1)]


def test_interval_between_letters(book):
    run(book, "2026-11-22")
    soon = run(book, "2026-11-30")
    # Class C customer C002 already reaches level 2, but level 2 waits 14 days.
    assert soon[("C002", "CNY")]["status"] == "skipped"
    assert "interval not elapsed" in soon[("C002", "CNY")]["reason"]


def test_dry_run_records_nothing(book):
    result = book("dunning", "run", "--as-of", "2026-11-22", "--dry-run", "--json")
    assert result.exit_code == 0
    assert any(r["status"] == "letter" for r in json.loads(result.stdout))
    assert json.loads(book("dunning", "history", "--json").stdout) == []
    assert not (book.cwd / "letters").exists()


def test_disputed_items_and_blocks_are_excluded(book):
    assert book("dispute", "open", "INV-2026-0102", "--reason", "quality claim").exit_code == 0
    assert book("dunning", "block", "C003", "--until", "2026-12-31",
                "--reason", "negotiating").exit_code == 0
    result = run(book, "2026-11-22")
    assert result[("C002", "CNY")]["overdue"] == "120000.00"
    assert result[("C003", "EUR")]["status"] == "skipped"
    assert result[("C003", "EUR")]["reason"].startswith("blocked: negotiating")
    listed = json.loads(book("dispute", "list", "--json").stdout)
    assert [(d["number"], d["status"]) for d in listed] == [("INV-2026-0102", "open")]
    assert book("dunning", "unblock", "C003").exit_code == 0


def test_promise_pending_then_broken_escalates_and_is_named(book, tmp_path):
    assert book("promise", "add", "C006", "6760.00", "--by", "2026-11-30").exit_code == 0
    pending = run(book, "2026-11-22")
    assert pending[("C006", "EUR")]["status"] == "skipped"
    assert "promise pending" in pending[("C006", "EUR")]["reason"]
    promises = book("promise", "list", "--json", env={"ARCLI_TODAY": "2026-12-02"})
    assert promises.exit_code == 3
    assert json.loads(promises.stdout)[0]["status"] == "broken"
    broken = run(book, "2026-12-02")
    # Normally a first letter is level 1; the broken promise presses one level harder.
    assert broken[("C006", "EUR")]["level"] == 2
    pdf = book.cwd / "letters" / broken[("C006", "EUR")]["file"]
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "promised to pay EUR 6,760.00" in text and "not kept" in text


def test_promised_amounts_the_store_cannot_keep_are_usage_errors(book):
    for amount, why in (("6760.001", "decimal place"), ("1E30", "too large")):
        bad = book("promise", "add", "C006", amount, "--by", "2026-11-30")
        assert bad.exit_code == 2, bad.output
        assert "AMOUNT: " in bad.stderr and why in bad.stderr
    assert json.loads(book("promise", "list", "--json").stdout) == []


def test_kept_promise(book, tmp_path):
    book("promise", "add", "C003", "1000.00", "--by", "2026-11-30")
    path = tmp_path / "pay.csv"
    path.write_text("type,number,customer,date,due_date,amount,currency,reference,description\n"
                    "payment,PAY-KEPT,C003,2026-11-25,,1000.00,EUR,,\n")
    book("import", "ledger", str(path))
    rows = json.loads(book("promise", "list", "--json", env={"ARCLI_TODAY": "2026-12-01"}
                           ).stdout)
    assert rows[0]["status"] == "kept"


def _posting_charges(book, *edits: tuple[str, str]) -> None:
    """The example config with fees and interest posted to the ledger, a 5.00 EUR fee on
    the first level, and further (old, new) text edits."""
    text = book.config.read_text(encoding="utf-8")
    for old, new in (
            ("  post_charges: false", "  post_charges: true"),
            ("    - {name: Friendly reminder, days: 1, template: reminder, interval_days: 0}",
             '    - {name: Friendly reminder, days: 1, template: reminder, interval_days: 0,'
             ' fee: {EUR: "5.00"}}'),
            *edits):
        assert old in text, old
        text = text.replace(old, new)
    book.config.write_text(text, encoding="utf-8")


def test_interest_fees_and_posted_charges(book):
    _posting_charges(
        book,
        ("    enabled: false          # late-payment interest is off by default",
         "    enabled: true"),
        ("    rate: null ", '    rate: "12.00" '))
    result = run(book, "2026-11-22", "--customer", "C006")
    row = result[("C006", "EUR")]
    # INV-2026-0122 4,760.00 due 2026-07-04 and INV-2026-0163 2,000.00 due 2026-09-24,
    # interest from due + 3 grace days to 2026-11-22 at 12% act/365:
    # 4760 * .12 * 138 / 365 = 215.96; 2000 * .12 * 56 / 365 = 36.82
    assert row["interest"] == "252.78"
    assert row["fees"] == "5.00"
    assert Decimal(row["total_due"]) == Decimal("6760.00") + Decimal("252.78") + Decimal("5.00")
    aging = json.loads(book("aging", "--customer", "C006", "--as-of", "2026-11-22",
                            "--json").stdout)[0]
    assert aging["total"] == "7017.78"  # the charges are now on the ledger


def test_handover_list_after_legal_level(book):
    for day in ("2026-09-01", "2026-09-20", "2026-10-10", "2026-11-01"):
        run(book, day, "--customer", "C002")
    result = book("dunning", "handover", "--json")
    assert result.exit_code == 3
    rows = json.loads(result.stdout)
    assert {r["number"] for r in rows} >= {"INV-2026-0102"}
    assert rows[0]["letters_sent"].count(" L") == 4


def test_preview_writes_a_letter_without_recording(book, tmp_path):
    result = book("dunning", "preview", "C003", "--level", "3", "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    pdf = tmp_path / "preview-letter-C003-EUR-L3-2026-11-22.pdf"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "Final notice" in text and "stop all further deliveries" in text
    assert json.loads(book("dunning", "history", "--json").stdout) == []


def test_letters_are_signed_like_statements(book, tmp_path):
    """Same signing path as statements: pdfsig accepts the letter and sees the whole file."""
    assert book("signing", "init", "--out", str(tmp_path / "keys")).exit_code == 0
    text = book.config.read_text(encoding="utf-8").replace(
        "  pkcs12: null              # example: signing/arcli-test.p12",
        f"  pkcs12: {tmp_path / 'keys' / 'arcli-test.p12'}\n"
        f"  password_file: {tmp_path / 'keys' / 'arcli-test.password'}")
    book.config.write_text(text, encoding="utf-8")
    row = run(book, "2026-11-22", "--customer", "C003", "--sign")[("C003", "EUR")]
    pdf = book.cwd / "letters" / row["file"]
    check = subprocess.run(["pdfsig", str(pdf)], capture_output=True, text=True).stdout
    assert "Signature is Valid" in check and "Total document signed" in check


def test_planning_in_chunks_of_customers_decides_the_same(book, monkeypatch):
    """Open items and the payments behind interest are read per chunk of customers; the
    decisions, charges and their order must not depend on where the chunks are cut."""
    from arcli.dunning import run as dunning_run

    text = book.config.read_text(encoding="utf-8")
    text = text.replace("    enabled: false          # late-payment interest is off by default",
                        "    enabled: true")
    book.config.write_text(text.replace("    rate: null ", '    rate: "12.00" '),
                           encoding="utf-8")
    plans = {}
    for size in (1, 2, 250):
        monkeypatch.setattr(dunning_run._Planner, "CHUNK", size)
        result = book("dunning", "run", "--as-of", "2026-12-31", "--dry-run", "--json")
        assert result.exit_code == 0, result.output
        plans[size] = json.loads(result.stdout)
    assert plans[1] == plans[2] == plans[250]
    assert len({r["customer"] for r in plans[1]}) >= 5
    assert any(Decimal(r["interest"]) > 0 for r in plans[1])


def test_planning_tells_how_many_customers_it_has_looked_at(book, monkeypatch):
    """A terminal shows a bar while a run is planned (seconds on a big book): after each
    chunk, the customers looked at so far out of all of them."""
    import contextlib

    from sqlalchemy import text

    from arcli.cli import dunning as dunning_cli
    from arcli.dunning import run as dunning_run
    from arcli.store import open_store

    seen: list[tuple[str, int, int]] = []

    @contextlib.contextmanager
    def recorded(app, name, labels):
        yield lambda *step: seen.append(step)

    monkeypatch.setattr(dunning_cli, "stage_progress", recorded)
    monkeypatch.setattr(dunning_run._Planner, "CHUNK", 2)
    result = book("dunning", "run", "--as-of", "2026-12-31", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    store = open_store(book.db)
    with store.engine.connect() as conn:
        customers = conn.execute(text("SELECT COUNT(*) FROM customers")).scalar()
    store.dispose()
    assert customers > 2
    assert seen == [("planning", min(done, customers), customers)
                    for done in range(2, customers + 2, 2)]


def test_posted_charges_stay_settled_in_the_books_settlement_order(book, tmp_path):
    """With ``cash_application.settlement_order: costs-interest-principal`` (§367 BGB) a
    payment settles posted fees and interest before principal; a later run that posts
    more charges and reruns the customer's cash application (a document dated after them
    makes it rerun the whole history) keeps the book's order."""
    _posting_charges(
        book,
        ("  settlement_order: principal-first", "  settlement_order: costs-interest-principal"),
        ("    - {name: Firm demand, days: 30, template: demand, interval_days: 14}",
         '    - {name: Firm demand, days: 30, template: demand, interval_days: 14,'
         ' fee: {EUR: "10.00"}}'))
    run(book, "2026-11-22", "--customer", "C006")
    path = tmp_path / "pay.csv"
    path.write_text("type,number,customer,date,due_date,amount,currency,reference,description\n"
                    "payment,PAY-BGB,C006,2026-11-23,,300.00,EUR,,\n"
                    "invoice,FUT-1,C006,2027-01-05,,100.00,EUR,,dated later\n")
    assert book("import", "ledger", str(path)).exit_code == 0

    def open_types(day: str) -> list[tuple[str, str]]:
        rows = json.loads(book("aging", "--detail", "--customer", "C006", "--as-of", day,
                               "--json").stdout)
        return sorted((r["type"], r["date"]) for r in rows)

    assert ("fee", "2026-11-22") not in open_types("2026-11-30")  # costs first
    second = run(book, "2026-12-22", "--customer", "C006")
    assert (second[("C006", "EUR")]["level"], second[("C006", "EUR")]["fees"]) == (2, "10.00")
    after = open_types("2027-01-31")
    assert ("fee", "2026-11-22") not in after
    assert ("invoice", "2026-06-20") in after  # the oldest invoice still owes the rest


def _recorded(book, as_of: str) -> tuple[int, int]:
    """(letters, letter items) recorded for ``as_of``."""
    from arcli.store import open_store

    store = open_store(book.db)
    with store.engine.connect() as conn:
        counts = conn.exec_driver_sql(
            "SELECT COUNT(DISTINCT l.id), COUNT(i.id) FROM dunning_letters l "
            f"LEFT JOIN dunning_letter_items i ON i.letter_id = l.id WHERE l.as_of = '{as_of}'"
        ).one()
    store.dispose()
    return tuple(counts)


def test_a_forced_rerun_replaces_that_days_letters_and_keeps_the_others(book):
    run(book, "2026-11-22")
    first = run(book, "2026-12-10")
    before = _recorded(book, "2026-12-10"), _recorded(book, "2026-11-22")
    assert before[0][0] >= 1 and before[0][1] > before[0][0]
    forced = run(book, "2026-12-10", "--force")
    # made again as they were: not one level up from the letters they replace
    assert {k: v["level"] for k, v in forced.items() if v["status"] == "written"} == \
        {k: v["level"] for k, v in first.items() if v["status"] == "written"}
    assert (_recorded(book, "2026-12-10"), _recorded(book, "2026-11-22")) == before
    history = json.loads(book("dunning", "history", "--customer", "C002", "--json").stdout)
    assert [(h["as_of"], h["level"]) for h in history] == [("2026-12-10", 2), ("2026-11-22", 1)]
    again = run(book, "2026-12-10")
    assert {v["status"] for v in again.values()} == {"skipped"}


def test_a_letters_items_are_found_by_index_not_by_scanning_every_item(book):
    """A forced rerun deletes each replaced letter's items and every run reads the last
    letters' items: without the index each of those scanned the items of every letter
    the book ever recorded."""
    if not book.is_sqlite:
        pytest.skip("the plan is SQLite's (PostgreSQL plans by table statistics)")
    import sqlite3

    conn = sqlite3.connect(book.db)
    for sql in ("SELECT letter_id, document_id FROM dunning_letter_items "
                "WHERE letter_id IN (1, 2, 3)",
                "DELETE FROM dunning_letter_items WHERE letter_id IN "
                "(SELECT id FROM dunning_letters WHERE customer_id = 'C1')"):
        plan = " ".join(row[-1] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}"))
        assert "USING INDEX ix_dunning_letter_items_letter" in plan, plan
    conn.close()
