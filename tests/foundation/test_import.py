"""Ledger and customer import: mappings, formats, atomicity, idempotence, error messages."""

from __future__ import annotations

import gc
import hashlib
import json
import shutil
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, ROOT

HEADER = "type,number,customer,date,due_date,amount,currency,reference,description\n"


def db_content(db: str) -> str:
    """Digest of every table's rows: equal digests mean the data did not change."""
    from sqlalchemy import create_engine, inspect, text

    from arcli.store import store_url

    engine = create_engine(store_url(db))
    digest = hashlib.sha256()
    with engine.connect() as conn:
        for table in sorted(inspect(conn).get_table_names()):
            for row in conn.execute(text(f'SELECT * FROM "{table}" ORDER BY 1')):
                digest.update(repr(tuple(row)).encode())
    engine.dispose()
    return digest.hexdigest()


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_reimport_and_overlapping_file_add_nothing(example_book, tmp_path):
    before = db_content(example_book.db)
    again = example_book("import", "ledger", str(EXAMPLES / "ledger.csv"), "--json")
    assert again.exit_code == 0
    assert json.loads(again.stdout)[0]["inserted"] == 0
    assert db_content(example_book.db) == before
    lines = (EXAMPLES / "ledger.csv").read_text().splitlines()
    overlap = write(tmp_path, "overlap.csv", "\n".join([lines[0], *lines[3:6]]) +
                    "\ninvoice,INV-NEW-1,C003,2026-11-10,,100.00,EUR,,New\n")
    result = example_book("import", "ledger", overlap, "--json")
    assert json.loads(result.stdout)[0]["inserted"] == 1
    assert json.loads(result.stdout)[0]["unchanged"] == 3


@pytest.mark.parametrize(
    ("line", "field", "fragment"),
    [
        ("invoice,X1,C001,2026-13-01,,10.00,CNY,,", "date", "not a valid date"),
        ("invoice,X1,C001,2026-10-01,,10.001,CNY,,", "amount", "more than 2 decimal"),
        ("invoice,X1,C001,2026-10-01,,12,JPX,,", "currency", "ISO 4217"),
        ("invoice,X1,NOBODY,2026-10-01,,10.00,CNY,,", "customer", "unknown customer"),
        ("bill,X1,C001,2026-10-01,,10.00,CNY,,", "type", "must be one of"),
        ("invoice,X1,C001,2026-10-01,,-5,CNY,,", "amount", "must be positive"),
        ("invoice,X1,C001,2026-10-01,,0.00,CNY,,", "amount", "must be positive"),
        ("invoice,X1,C001,2026-10-01,,99999999999999999999.00,CNY,,", "amount", "too large"),
        ("invoice,X1,C001,2026-10-01,,1E30,CNY,,", "amount", "not a plain decimal number"),
        ("invoice,X1,C001,2026-10-01,,1" + "0" * 30 + ",CNY,,", "amount", "too large"),
        ("invoice,X1,C001,2026-10-01,2026-09-01,5,CNY,,", "due_date", "before the document"),
        ("invoice,,C001,2026-10-01,,5,CNY,,", "number", "missing"),
    ],
)
def test_bad_rows_are_rejected_with_file_line_field_and_nothing_changes(
        example_book, tmp_path, line, field, fragment):
    before = db_content(example_book.db)
    good = "invoice,OK-1,C001,2026-10-01,,10.00,CNY,,fine\n"
    path = write(tmp_path, "bad.csv", HEADER + good + line + "\n")
    result = example_book("import", "ledger", path)
    assert result.exit_code == 1
    assert f"bad.csv: line 3: {field}: " in result.stderr
    assert fragment in result.stderr
    assert "nothing was imported" in result.stderr
    assert db_content(example_book.db) == before


def test_all_errors_of_a_file_are_listed_at_once(example_book, tmp_path):
    body = "".join(f"invoice,E{i},C001,2026-10-0{i},,1.234,CNY,,\n" for i in range(1, 5))
    result = example_book("import", "ledger", write(tmp_path, "many.csv", HEADER + body))
    assert result.exit_code == 1
    assert [f"line {i}:" in result.stderr for i in range(2, 6)] == [True] * 4


def test_changed_document_is_a_conflict_unless_replace(example_book, tmp_path):
    changed = "invoice,INV-2026-0195,C003,2026-11-01,,12600.00,EUR,,Consulting November\n"
    path = write(tmp_path, "changed.csv", HEADER + changed)
    before = db_content(example_book.db)
    result = example_book("import", "ledger", path)
    assert result.exit_code == 1
    assert "amount_minor: 1250000 -> 1260000" in result.stderr
    assert db_content(example_book.db) == before
    replaced = example_book("import", "ledger", path, "--replace", "--json")
    assert replaced.exit_code == 0, replaced.output
    assert json.loads(replaced.stdout)[0]["replaced"] == 1
    aging = json.loads(example_book("aging", "--customer", "C003", "--json").stdout)
    assert aging[0]["total"] == "37600.00"
    from sqlalchemy import create_engine, text

    from arcli.store import store_url

    engine = create_engine(store_url(example_book.db))
    with engine.connect() as conn:
        history = conn.execute(text("SELECT old_content FROM document_history")).all()
    engine.dispose()
    assert json.loads(history[0][0])["amount_minor"] == 1250000


def test_same_number_twice_in_one_file_with_different_content(example_book, tmp_path):
    body = ("invoice,D1,C001,2026-10-01,,10.00,CNY,,\n"
            "invoice,D1,C001,2026-10-01,,10.00,CNY,,\n"
            "invoice,D1,C001,2026-10-01,,11.00,CNY,,\n")
    result = example_book("import", "ledger", write(tmp_path, "dup.csv", HEADER + body))
    assert result.exit_code == 1
    assert "line 4: number: invoice D1 appears again with different content" in result.stderr


def test_a_new_number_repeated_identically_is_stored_once(example_book, tmp_path):
    """Into a book that has documents: identical repeats are one document (the first
    line's), whether or not the file repeats other numbers too."""
    body = ("invoice,R1,C001,2026-10-01,,10.00,CNY,,first\n"
            "invoice,R2,C001,2026-10-02,,20.00,CNY,,\n"
            "invoice,R1,C001,2026-10-01,,10.00,CNY,,first\n")
    result = example_book("import", "ledger", write(tmp_path, "rep.csv", HEADER + body),
                          "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["inserted"] == 2
    assert json.loads(result.stdout)[0]["unchanged"] == 1
    lines = json.loads(example_book("aging", "--detail", "--customer", "C001", "--json").stdout)
    assert sorted(line["number"] for line in lines if line["number"] in ("R1", "R2")) \
        == ["R1", "R2"]


def test_dry_run_stores_nothing(example_book, tmp_path):
    before = db_content(example_book.db)
    path = write(tmp_path, "new.csv", HEADER + "invoice,DRY-1,C001,2026-10-01,,10.00,CNY,,\n")
    result = example_book("import", "ledger", path, "--dry-run", "--json")
    assert json.loads(result.stdout)[0]["inserted"] == 1
    assert db_content(example_book.db) == before


def test_create_customers_on_the_fly(example_book, tmp_path):
    path = write(tmp_path, "new.csv", HEADER + "invoice,NC-1,C999,2026-10-01,,10.00,EUR,,\n")
    assert example_book("import", "ledger", path).exit_code == 1
    assert example_book("import", "ledger", path, "--create-customers").exit_code == 0
    aging = json.loads(example_book("aging", "--customer", "C999", "--json").stdout)
    assert aging[0]["total"] == "10.00"


def test_due_date_defaults_to_customer_terms(example_book):
    rows = json.loads(example_book("aging", "--detail", "--customer", "C002", "--json").stdout)
    by_number = {r["number"]: r for r in rows}
    # C002 has 45-day terms: 2026-09-30 + 45 days.
    assert by_number["INV-2026-0166"]["due_date"] == "2026-11-14"


@pytest.mark.parametrize("extra", [[], ["--encoding", "gb18030"]], ids=["plain", "encoding"])
def test_a_foreign_export_without_its_mapping_names_the_configured_mappings(
        example_book, tmp_path, extra):
    """The Kingdee export read without --mapping said to try --encoding, which led to
    seven missing-column errors and no word of the mapping that reads it."""
    config = tmp_path / "arcli.yaml"
    shutil.copy(ROOT / "config.example.yaml", config)
    example_book.config = config
    result = example_book("import", "ledger", str(EXAMPLES / "kingdee-export.csv"), *extra)
    assert result.exit_code == 1
    assert "--mapping NAME (this config has: kingdee, bank-cn" in result.stderr
    assert result.stderr.rstrip().endswith("nothing was imported")
    bank = example_book("reconcile", "bank", str(EXAMPLES / "bank" / "bank-cn.csv"))
    assert bank.exit_code == 1 and "--mapping NAME" in bank.stderr


def test_kingdee_gb18030_export_imports_with_a_mapping_alone(example_book, tmp_path):
    config = tmp_path / "arcli.yaml"
    shutil.copy(ROOT / "config.example.yaml", config)
    example_book.config = config
    result = example_book("import", "ledger", str(EXAMPLES / "kingdee-export.csv"),
                          "--mapping", "kingdee", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["inserted"] == 4
    detail = json.loads(example_book("aging", "--detail", "--customer", "C002", "--json").stdout)
    by_number = {r["number"]: r for r in detail}
    assert by_number["XS-2026-1002"]["open_amount"] == "22000.00"  # 23,400.00 - 1,400.00
    assert "XS-2026-1001" not in {r["number"] for r in json.loads(
        example_book("aging", "--detail", "--customer", "C001", "--json").stdout)}


def test_a_file_in_another_encoding_names_the_line_and_the_option_that_reads_it(
        example_book, tmp_path):
    """A Chinese Windows export read as UTF-8 fails on its first Chinese byte: the error
    names the line and suggests --encoding gb18030, which then imports the same content
    as the UTF-8 file (re-importing that adds nothing)."""
    text = (HEADER + "invoice,GB-1,C001,2026-10-05,,100.00,CNY,PO-1,\n"
            "invoice,GB-2,C001,2026-10-06,,200.00,CNY,PO-2,电子元件一批\n")
    gbk = tmp_path / "gbk.csv"
    gbk.write_bytes(text.encode("gb18030"))
    before = db_content(example_book.db)
    failed = example_book("import", "ledger", str(gbk))
    assert failed.exit_code == 1 and db_content(example_book.db) == before
    assert "gbk.csv: line 3: not valid UTF-8 text" in failed.stderr
    assert "--encoding gb18030" in failed.stderr
    done = example_book("import", "ledger", str(gbk), "--encoding", "gb18030", "--json")
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)[0]["inserted"] == 2
    same = example_book("import", "ledger", write(tmp_path, "utf8.csv", text), "--json")
    assert json.loads(same.stdout)[0]["unchanged"] == 2  # the same text was stored

    western = tmp_path / "cp1252.csv"
    western.write_bytes((HEADER + "invoice,EU-1,C003,2026-10-05,,10.00,EUR,,Gehäuse\n"
                         ).encode("cp1252"))
    failed = example_book("import", "ledger", str(western))
    assert "line 2" in failed.stderr and "--encoding cp1252" in failed.stderr
    unknown = example_book("import", "ledger", str(western), "--encoding", "klingon")
    assert unknown.exit_code == 2 and "unknown text encoding" in unknown.output


def test_signed_amount_mapping_and_jsonl_and_stdin(example_book, tmp_path):
    config = tmp_path / "arcli.yaml"
    shutil.copy(ROOT / "config.example.yaml", config)
    example_book.config = config
    signed = "DocNo,Account,PostingDate,Amount,Ref\nS-1,C003,2026-11-02,500.00,\n" \
             "S-2,C003,2026-11-03,-500.00,S-1\n"
    result = example_book("import", "ledger", "-", "--mapping", "signed-amounts", "--json",
                          input=signed)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["inserted"] == 2
    jsonl = tmp_path / "docs.jsonl"
    jsonl.write_text(json.dumps({"type": "invoice", "number": "J-1", "customer": "C004",
                                 "date": "2026-11-01", "amount": 1.5, "currency": "USD"}) + "\n")
    assert example_book("import", "ledger", str(jsonl)).exit_code == 0


def test_xlsx_import(example_book, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(HEADER.strip().split(","))
    sheet.append(["invoice", "X-1", "C003", "2026-11-05", None, 99.9, "EUR", None, "xlsx"])
    path = tmp_path / "ledger.xlsx"
    book.save(path)
    result = example_book("import", "ledger", str(path), "--json")
    assert result.exit_code == 0, result.output
    detail = json.loads(example_book("aging", "--detail", "--customer", "C003", "--json").stdout)
    assert {"number": "X-1", "open_amount": "99.90"}.items() <= next(
        r for r in detail if r["number"] == "X-1").items()


def test_an_import_pauses_the_garbage_collector_and_gives_it_back(example_book, tmp_path,
                                                                    monkeypatch):
    """Imports run without the cyclic collector (their rows hold no cycles, and its passes
    over them cost a 1M import ~0.4 CPU-s); a process that imports as a library must get
    it back, after a failed import too, and one that had switched it off keeps it off."""
    import arcli.importing.ledger as ledger_module

    during: list[bool] = []
    original = ledger_module._import

    def watched(*args, **kwargs):
        during.append(gc.isenabled())
        return original(*args, **kwargs)

    monkeypatch.setattr(ledger_module, "_import", watched)
    good = write(tmp_path, "good.csv", HEADER + "invoice,GC-1,C001,2026-10-01,,10.00,CNY,,\n")
    bad = write(tmp_path, "bad.csv", HEADER + "invoice,GC-2,C001,2026-10-01,,-5,CNY,,\n")
    assert example_book("import", "ledger", good).exit_code == 0
    assert gc.isenabled()
    assert example_book("import", "ledger", bad).exit_code == 1
    assert gc.isenabled()
    assert during == [False, False]
    gc.disable()
    try:
        assert example_book("import", "ledger", good).exit_code == 0
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_progress_is_shown_on_a_terminal_only(monkeypatch):
    """A bar per counted stage and a line for one without steps, on a terminal's stderr;
    nothing at all on a pipe or a cron log, or with --quiet."""
    import io
    import sys
    import types

    from arcli.cli.common import stage_progress
    from arcli.progress import unreported

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    labels = {"reading": "reading", "indexing": "building indexes"}
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    with stage_progress(types.SimpleNamespace(quiet=False), "ledger.csv", labels) as shown:
        for done in (0, 600, 1000):
            shown("reading", done, 1000)
        shown("indexing", 0, 0)
    lines = screen.getvalue().replace("\r", "\n").splitlines()
    assert any("ledger.csv: reading" in line and "60%" in line for line in lines)
    assert any("ledger.csv: reading" in line and "100%" in line for line in lines)
    assert lines[-1] == "ledger.csv: building indexes..."
    with stage_progress(types.SimpleNamespace(quiet=True), "ledger.csv", labels) as shown:
        assert shown is unreported
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    with stage_progress(types.SimpleNamespace(quiet=False), "ledger.csv", labels) as shown:
        assert shown is unreported


def test_customer_errors_and_updates(arcli, tmp_path):
    bad = write(tmp_path, "c.csv", "id,name,credit_class,currency\nX1,Foo,Z,EUR\nX2,,A,EUR\n")
    result = arcli("import", "customers", bad)
    assert result.exit_code == 1
    assert "line 2: credit_class: must be A, B or C" in result.stderr
    assert "line 3: name: missing" in result.stderr
    good = write(tmp_path, "c2.csv", "id,name\nX1,Foo\n")
    assert arcli("import", "customers", good).exit_code == 0
    renamed = write(tmp_path, "c3.csv", "id,name\nX1,Foo Ltd\n")
    out = json.loads(arcli("import", "customers", renamed, "--json").stdout)[0]
    assert (out["inserted"], out["updated"]) == (0, 1)


def test_bulk_first_load_defers_indexes_with_identical_results(arcli, tmp_path, monkeypatch):
    from sqlalchemy import create_engine, inspect

    import arcli.importing.ledger as ledger_import
    from arcli.store import store_url
    from arcli.store.schema import metadata
    from tests.conftest import Arcli

    normal = Arcli(str(tmp_path / "normal.db"), tmp_path)
    for book in (normal, arcli):
        if book is normal:
            book("init", "--no-config")
        book("import", "customers", str(EXAMPLES / "customers.csv"))
    normal("import", "ledger", str(EXAMPLES / "ledger.csv"))
    monkeypatch.setattr(ledger_import, "BULK_LOAD_ROWS", 1)  # the example counts as bulk
    assert arcli("import", "ledger", str(EXAMPLES / "ledger.csv")).exit_code == 0
    for args in (("aging", "--json"), ("aging", "--detail", "--json"),
                 ("reconcile", "explain", "PAY-2026-0221", "--json")):
        assert arcli(*args).stdout == normal(*args).stdout
    engine = create_engine(store_url(arcli.db))
    with engine.connect() as conn:
        present = {ix["name"] for t in ("documents", "allocations")
                   for ix in inspect(conn).get_indexes(t)}
    engine.dispose()
    expected = {ix.name for t in ("documents", "allocations") for ix in metadata.tables[t].indexes}
    assert "ux_documents_number_type" in expected
    assert expected <= present


_HELD = ("invoice,H-1,C001,2026-10-01,,10.00,CNY,,held one\n"
         "invoice,H-2,C003,2026-10-02,2026-11-30,20.50,EUR,PO-9,\n"
         "payment,H-3,C001,2026-10-20,,10.00,CNY,H-1,\n")


def _then_nothing(book, tmp_path):
    return ()


def _then_replaced(book, tmp_path):
    path = write(tmp_path, "fix.csv", HEADER + "invoice,H-2,C003,2026-10-02,2026-11-30,"
                                              "21.50,EUR,PO-9,\n")
    assert book("import", "ledger", path, "--replace").exit_code == 0
    return ("--replace",)


def _then_conflict(book, tmp_path):
    _then_replaced(book, tmp_path)
    return ()


def _then_read_as_cp1252(book, tmp_path):
    return ("--encoding", "cp1252")  # other characters, so other content: a conflict


def _then_more(book, tmp_path):
    path = write(tmp_path, "more.csv", HEADER + "invoice,H-4,C001,2026-10-05,,5.00,CNY,,\n")
    assert book("import", "ledger", path).exit_code == 0
    return ()


@pytest.mark.parametrize(("body", "then", "held"), [
    (_HELD, _then_nothing, True),  # the usual rerun: nothing changed since
    (_HELD, _then_more, True),  # other files added documents since
    (_HELD, _then_replaced, False),  # a later file replaced one of its documents
    (_HELD, _then_conflict, False),  # ... and the rerun, without --replace, conflicts
    (_HELD.replace("held one", "已对账"), _then_read_as_cp1252, False),  # same bytes
    (_HELD + _HELD.splitlines(keepends=True)[0], _then_nothing, False),  # a line repeated
    ("invoice,INV-2026-0101,C001,2026-07-05,,128000.00,CNY,PO-7781,电子元件一批\n" + _HELD,
     _then_nothing, False),  # a row the book held before the file came
], ids=["unchanged", "others-added", "replaced-since", "conflict", "read-otherwise",
        "repeated-line",
        "partly-held-before"])
def test_a_rerun_of_a_held_file_answers_as_the_staged_path(example_book, tmp_path,
                                                           monkeypatch, body, then, held):
    """Re-importing a file whose earlier batch still holds all its rows unchanged is
    answered from a digest of the parsed rows (importing/reimport), without staging;
    whenever the book changed under those rows, or the batch never held them all, the
    staged path answers. Either way the output, exit code and book are what the staged
    path gives."""
    import arcli.importing.ledger as ledger

    path = write(tmp_path, "held.csv", HEADER + body)
    assert example_book("import", "ledger", path).exit_code == 0
    extra = then(example_book, tmp_path)
    before = db_content(example_book.db)
    check = ledger._held_unchanged
    monkeypatch.setattr(ledger, "_held_unchanged", lambda *args: False)
    staged = example_book("import", "ledger", path, "--json", "--dry-run", *extra)
    answers = []
    monkeypatch.setattr(ledger, "_held_unchanged",
                        lambda *args: answers.append(check(*args)) or answers[-1])
    quick = example_book("import", "ledger", path, "--json", "--dry-run", *extra)
    assert answers == [held]
    assert (quick.exit_code, quick.stderr) == (staged.exit_code, staged.stderr)
    assert _rows_but_batch(quick) == _rows_but_batch(staged)
    assert db_content(example_book.db) == before
    rerun = example_book("import", "ledger", path, "--json", *extra)
    assert rerun.exit_code == staged.exit_code and answers == [held, held]
    if held:
        row = json.loads(rerun.stdout)[0]
        lines = len(body.splitlines())
        assert (row["rows"], row["inserted"], row["replaced"], row["unchanged"]) == (
            lines, 0, 0, lines)
        assert "already imported as batch" in rerun.stderr
        assert db_content(example_book.db) == before


def _rows_but_batch(result) -> list[dict]:
    """The JSON rows of an import without the batch id: a rolled-back dry run still used
    up a PostgreSQL sequence value, so the next dry run would name the next id."""
    rows = json.loads(result.stdout) if result.stdout.strip() else []
    return [{k: v for k, v in row.items() if k != "batch"} for row in rows]


def test_a_rerun_of_a_held_file_read_another_way_fails_as_on_the_staged_path(
        example_book, tmp_path, monkeypatch):
    """The quick answer parses and validates the file as the staged path does: the same
    bytes read in another encoding are refused with the staged path's words."""
    import arcli.importing.ledger as ledger

    path = write(tmp_path, "held.csv", HEADER + _HELD)
    assert example_book("import", "ledger", path).exit_code == 0
    check = ledger._held_unchanged
    monkeypatch.setattr(ledger, "_held_unchanged", lambda *args: False)
    staged = example_book("import", "ledger", path, "--encoding", "utf-16-le")
    calls = []
    monkeypatch.setattr(ledger, "_held_unchanged",
                        lambda *args: calls.append(args) or check(*args))
    quick = example_book("import", "ledger", path, "--encoding", "utf-16-le")
    assert len(calls) == 1
    assert quick.exit_code == staged.exit_code == 1
    assert quick.stderr == staged.stderr and "not valid utf-16-le" in quick.stderr


def _cash_state(db: str, rerun: bool = False) -> tuple[list, list]:
    """Allocations (without ids) and every document's open amount and closing date; with
    ``rerun``, as a full cash application over the whole book gives them (rolled back)."""
    from sqlalchemy import text

    from arcli.allocation import PRINCIPAL_FIRST
    from arcli.cash_application import reapply
    from arcli.store import open_store

    store = open_store(db)
    with store.engine.connect() as conn, conn.begin() as trans:
        if rerun:
            reapply(conn, settlement_order=PRINCIPAL_FIRST)
        allocations = conn.execute(text(
            "SELECT customer_id, currency, credit_id, debit_id, amount_minor, effective_date,"
            " rule, note FROM allocations ORDER BY credit_id, debit_id, effective_date")).all()
        documents = conn.execute(text(
            "SELECT id, open_minor, closed_on FROM documents ORDER BY id")).all()
        trans.rollback()
    store.dispose()
    return [tuple(a) for a in allocations], [tuple(d) for d in documents]


def test_an_import_of_later_days_goes_on_from_the_open_amounts(example_book, tmp_path,
                                                               monkeypatch):
    """Documents dated after everything a customer has are cash-applied on from the
    stored open amounts (allocation.continue_cash), not by rerunning the customer's
    history; the book is the same as a full rerun over all documents makes it: a
    referenced old invoice settled, a carried overpayment settling a new invoice, a
    payment that finds nothing open carried on. A back-dated document in the same file
    makes its customer's history rerun."""
    import arcli.cash_application as cash

    body = ("invoice,LATE-1,C004,2026-12-02,,500.00,USD,,spare parts\n"  # meets the carried credit
            "payment,LATE-2,C001,2026-12-05,,20000.00,CNY,INV-2026-0190,part of an old invoice\n"
            "payment,LATE-3,C006,2026-12-07,,99999.00,EUR,,more than is open\n"
            "credit_note,LATE-4,C003,2026-12-08,,100.00,EUR,INV-NOPE,names nothing\n"
            "invoice,EARLY-1,C002,2026-01-15,,10.00,CNY,,back-dated\n")
    calls = []
    going_on = cash.continue_cash
    monkeypatch.setattr(cash, "continue_cash",
                        lambda held, docs, **kw: calls.append(docs[0].number)
                        or going_on(held, docs, **kw))
    result = example_book("import", "ledger", write(tmp_path, "late.csv", HEADER + body))
    assert result.exit_code == 0, result.output
    assert sorted(calls) == ["LATE-1", "LATE-2", "LATE-3", "LATE-4"]
    assert _cash_state(example_book.db) == _cash_state(example_book.db, rerun=True)
    allocations, _documents = _cash_state(example_book.db)
    notes = {a[7] for a in allocations}
    assert any("INV-2026-0190" in note for note in notes)


def test_a_full_disk_is_said_plainly_and_imports_nothing(arcli, tmp_path, monkeypatch):
    """SQLite's "database or disk is full" (here: the book may not grow past a few pages,
    which SQLite reports exactly as a full disk) names the disk and the temporary folder,
    exit 1, and leaves the book as it was."""
    if not arcli.is_sqlite:
        pytest.skip("SQLite's page limit stands in for the full disk")
    import sys

    from arcli.store import engine

    sys.path.insert(0, str(ROOT / "bench"))
    from generate import generate

    customers, ledger = generate(tmp_path / "data", 2000, 20, seed=2)
    assert arcli("import", "customers", str(customers)).exit_code == 0
    real = engine._sqlite_pragmas

    def no_room_to_grow(dbapi_connection, record):
        real(dbapi_connection, record)
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count={pages}")

    monkeypatch.setattr(engine, "_sqlite_pragmas", no_room_to_grow)
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    result = arcli("import", "ledger", str(ledger))
    assert result.exit_code == 1
    assert result.stderr.startswith("arcli: error: the disk is full (database or disk is full)")
    assert f"or in {tmp_path}, where a big import keeps" in result.stderr
    assert "internal error" not in result.stderr
    monkeypatch.setattr(engine, "_sqlite_pragmas", real)
    assert json.loads(arcli("aging", "--json").stdout) == []


def test_a_full_database_server_disk_is_said_plainly():
    from arcli.errors import full_disk_message

    class DiskFull(Exception):
        sqlstate = "53100"

    said = full_disk_message(DiskFull("could not extend file \"base/16384/2613\""))
    assert said.startswith("the database server's disk is full (could not extend file")
    assert full_disk_message(ValueError("database or disk is full")) is None
