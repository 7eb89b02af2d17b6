"""Document file names: one file per document, templates of documented fields only."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

import pytest

from arcli.naming import (
    LETTER_FIELDS,
    STATEMENT_FIELDS,
    clashing_ids,
    document_name,
    name_key,
    pattern_problem,
)

CAFE = "caf\u00e9"
#: Ids that a file system takes for fewer files than there are customers. (The NFD
#: spelling of café is no second customer any more: an import normalises ids to NFC.
#: ``clashing_ids`` still tells the two apart, for books that hold both from before.)
COLLIDING = ["a/b", "a_b", CAFE, "AB", "ab", "C 1", "plain"]


@pytest.fixture
def colliding_book(arcli, tmp_path):
    """A book whose customers' ids collide as file names, each owing 100 EUR since July."""
    customers, ledger = tmp_path / "customers.csv", tmp_path / "ledger.csv"
    customers.write_text("id,name,currency,terms_days,address,email\n" + "".join(
        f'"{cid}",Customer {n},EUR,30,Street {n},c{n}@example.com\n'
        for n, cid in enumerate(COLLIDING)), encoding="utf-8")
    ledger.write_text("type,number,customer,date,due_date,amount,currency\n" + "".join(
        f'invoice,INV-{n},"{cid}",2026-07-01,,100.00,EUR\n'
        for n, cid in enumerate(COLLIDING)), encoding="utf-8")
    for kind, path in (("customers", customers), ("ledger", ledger)):
        result = arcli("import", kind, str(path), "--csv")
        assert result.exit_code == 0, result.output
    return arcli


def _embedded(path: Path, name: str) -> dict:
    from pypdf import PdfReader

    return json.loads(PdfReader(str(path)).attachments[name][0])


def _pdfs(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.pdf"))


def test_statements_of_customers_whose_ids_collide_get_a_file_each(colliding_book, tmp_path):
    out = tmp_path / "st"
    result = colliding_book("statements", "--period", "2026-10", "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert sorted(r["customer"] for r in rows) == sorted(COLLIDING)
    assert len({name_key(r["file"]) for r in rows}) == len(COLLIDING)
    assert len(_pdfs(out)) == len(COLLIDING)
    for row in rows:  # each file holds its own customer's statement, none overwritten
        assert _embedded(out / row["file"], "statement.json")["customer"]["id"] == row["customer"]
    # A customer whose id is already a clean file-name part keeps its plain name.
    by_customer = {r["customer"]: r["file"] for r in rows}
    assert by_customer["a_b"] == "statement-a_b-2026-10.pdf"
    assert by_customer["plain"] == "statement-plain-2026-10.pdf"
    assert by_customer[CAFE] == f"statement-{CAFE}-2026-10.pdf"

    # A rerun names every file the same and leaves it alone.
    rerun = colliding_book("statements", "--period", "2026-10", "--out", str(out), "--json")
    assert {(r["file"], r["status"]) for r in json.loads(rerun.stdout)} == {
        (f, "unchanged") for f in by_customer.values()}

    # One customer alone (--customer) is named as in the full run.
    again = colliding_book("statements", "--period", "2026-10", "--out", str(tmp_path / "one"),
                           "--customer", "ab", "--json")
    assert [r["file"] for r in json.loads(again.stdout)] == [by_customer["ab"]]


def _letters(book) -> list[tuple[str, str, str]]:
    from arcli.store import open_store

    store = open_store(book.db)
    try:
        with store.engine.connect() as conn:
            return [tuple(r) for r in conn.exec_driver_sql(
                "SELECT customer_id, file, sha256 FROM dunning_letters")]
    finally:
        store.dispose()


def test_letters_of_customers_whose_ids_collide_are_each_written_and_recorded(
        colliding_book, tmp_path):
    import hashlib

    out = tmp_path / "letters"
    result = colliding_book("dunning", "run", "--out", str(out), "--json")
    assert result.exit_code == 0, result.output
    recorded = _letters(colliding_book)
    assert sorted(c for c, _f, _s in recorded) == sorted(COLLIDING)
    assert len(_pdfs(out)) == len(recorded)
    for customer, file, sha256 in recorded:  # every recorded letter is its own file
        assert hashlib.sha256((out / file).read_bytes()).hexdigest() == sha256
        assert _embedded(out / file, "letter.json")["customer"] == customer


def test_letters_a_template_cannot_tell_apart_fail_and_are_not_recorded(arcli, tmp_path):
    """A customer with letters in two currencies and a template without {currency}: both
    letters would have one file, so neither is written or recorded."""
    customers, ledger = tmp_path / "customers.csv", tmp_path / "ledger.csv"
    customers.write_text("id,name,currency,terms_days,address\nK1,K One,EUR,30,Street\n"
                         "K2,K Two,EUR,30,Street\n", encoding="utf-8")
    ledger.write_text("type,number,customer,date,due_date,amount,currency\n"
                      "invoice,I1,K1,2026-07-01,,100.00,EUR\n"
                      "invoice,I2,K1,2026-07-01,,100.00,USD\n"
                      "invoice,I3,K2,2026-07-01,,100.00,EUR\n", encoding="utf-8")
    for kind, path in (("customers", customers), ("ledger", ledger)):
        assert arcli("import", kind, str(path), "--csv").exit_code == 0
    arcli.config = tmp_path / "arcli.yaml"
    arcli.config.write_text('dunning:\n  filename: "letter-{customer}-{date}.pdf"\n')
    out = tmp_path / "letters"
    result = arcli("dunning", "run", "--out", str(out), "--json")
    assert result.exit_code == 1
    rows = {(r["customer"], r["currency"]): r for r in json.loads(result.stdout)}
    assert rows[("K1", "EUR")]["status"] == rows[("K1", "USD")]["status"] == "failed"
    assert "file name" in rows[("K1", "EUR")]["reason"]
    assert rows[("K2", "EUR")]["status"] == "written"
    assert [c for c, _f, _s in _letters(arcli)] == ["K2"]
    assert [p.name for p in _pdfs(out)] == ["letter-K2-2026-11-22.pdf"]


BAD_TEMPLATES = [
    ("{customer.__class__}.pdf", "unknown field"),
    ("{customer[0]}-{period}.pdf", "unknown field"),
    ("{customer!r}.pdf", "not allowed"),
    ("{customer:.1}.pdf", "not allowed"),
    ("{customer:>200}.pdf", "not allowed"),
    ("{0}.pdf", "unknown field"),
    ("{}.pdf", "unknown field"),
    ("statement-{period}.pdf", "same file name"),
    ("../{customer}.pdf", "plain file name"),
    (".{customer}.pdf", "hidden"),
    ("{customer", "not a file-name template"),
]


@pytest.mark.parametrize(("template", "message"), BAD_TEMPLATES)
def test_statement_templates_use_only_their_documented_fields(example_book, tmp_path,
                                                             template, message):
    example_book.config = tmp_path / "arcli.yaml"
    example_book.config.write_text(f"statements:\n  filename: {json.dumps(template)}\n")
    out = tmp_path / "st"
    result = example_book("statements", "--period", "2026-10", "--out", str(out))
    assert result.exit_code == 2
    assert "line 2: statements.filename" in result.stderr and message in result.stderr
    assert not out.exists()  # refused before anything is written


@pytest.mark.parametrize(("template", "message"), [
    ("{customer.__class__}-{currency}.pdf", "unknown field"),
    ("{level:03}-{customer}.pdf", "not allowed"),
    ("letter-{currency}-{date}.pdf", "same file name"),
])
def test_letter_templates_use_only_their_documented_fields(example_book, tmp_path, template,
                                                           message):
    example_book.config = tmp_path / "arcli.yaml"
    example_book.config.write_text(f"dunning:\n  filename: {json.dumps(template)}\n")
    out = tmp_path / "letters"
    result = example_book("dunning", "run", "--out", str(out))
    assert result.exit_code == 2
    assert "dunning.filename" in result.stderr and message in result.stderr
    assert not out.exists()


def test_the_documented_default_templates_are_accepted():
    assert pattern_problem("statement-{customer}-{period}.pdf", STATEMENT_FIELDS) is None
    assert pattern_problem("letter-{customer}-{currency}-L{level}-{date}.pdf",
                           LETTER_FIELDS) is None


def test_names_of_a_books_ids_differ_on_a_case_insensitive_file_system():
    nfd = unicodedata.normalize("NFD", CAFE)  # a book from before imports normalised ids
    ids = [*COLLIDING, nfd, "Straße", "STRASSE", "ok.v2", "-x-", "x" * 90, "x" * 91]
    hashed = clashing_ids(ids)
    names = [document_name("s-{customer}.pdf", {"customer": cid}, hashed) for cid in ids]
    assert len({name_key(n) for n in names}) == len(ids)
    assert all(len(n) <= len("s-.pdf") + 80 for n in names)
    # Ids no other id clashes with keep their plain names; a lone clean id of a group too.
    assert {"plain", "ok.v2", "-x-", "a_b", CAFE, "C 1"}.isdisjoint(hashed)
    assert {"AB", "ab", "a/b", nfd, "Straße", "STRASSE", "x" * 90, "x" * 91} <= hashed
