"""Money edge cases of a dunning run, on a real book through the CLI: interest against
payments dated after the run, promises judged as of the run date."""

from __future__ import annotations

import json

import pytest

LEDGER_HEADER = "type,number,customer,date,due_date,amount,currency,reference,description\n"
CUSTOMERS = ("id,name,email,language,currency,address,terms_days\n"
             'E1,Alpha GmbH,a@alpha.example,en,EUR,"Hauptstr. 1\n10115 Berlin",30\n'
             'E2,Beta GmbH,b@beta.example,en,EUR,"Hauptstr. 2\n10115 Berlin",30\n')


@pytest.fixture
def book(arcli, tmp_path):
    """Two customers with one EUR 10,000.00 invoice each, due 14 February 2026."""
    arcli.config = tmp_path / "arcli.yaml"
    arcli.config.write_text("dunning:\n  interest:\n    enabled: true\n    preset: eu\n",
                            encoding="utf-8")
    (tmp_path / "customers.csv").write_text(CUSTOMERS, encoding="utf-8")
    assert arcli("import", "customers", str(tmp_path / "customers.csv")).exit_code == 0
    import_rows(arcli, tmp_path, "invoices.csv",
                "invoice,INV-1,E1,2026-01-15,2026-02-14,10000.00,EUR,,\n"
                "invoice,INV-2,E2,2026-01-15,2026-02-14,10000.00,EUR,,\n")
    return arcli


def import_rows(book, tmp_path, name: str, rows: str) -> None:
    path = tmp_path / name
    path.write_text(LEDGER_HEADER + rows, encoding="utf-8")
    result = book("import", "ledger", str(path))
    assert result.exit_code == 0, result.output


def proposals(book, day: str, *extra: str) -> dict:
    result = book("dunning", "run", "--as-of", day, "--dry-run", "--json", *extra)
    assert result.exit_code == 0, result.output
    return {(r["customer"], r["currency"]): r for r in json.loads(result.stdout)}


def test_interest_ignores_payments_dated_after_the_run(book, tmp_path):
    import_rows(book, tmp_path, "paid.csv", "payment,PAY-2,E2,2026-12-01,,10000.00,EUR,INV-2,\n")
    run = proposals(book, "2026-10-31")
    # Due 14 Feb + 3 days' grace: 18 Feb to 31 Oct 2026 = 256 days at 2.15 + 8 = 10.15 %:
    # 10000 * 0.1015 * 256 / 365 = 711.89 each; the payment of 1 December is not made yet.
    assert run[("E1", "EUR")]["interest"] == run[("E2", "EUR")]["interest"] == "711.89"
    assert run[("E2", "EUR")]["overdue"] == "10000.00"


def promises_on(book, day: str) -> dict:
    result = book("promise", "list", "--as-of", day, "--json")
    assert result.exit_code in (0, 3), result.output
    return {r["customer"]: r for r in json.loads(result.stdout)}


def test_a_promise_is_judged_as_of_the_run_date(book, tmp_path):
    # Promised on 10 November to pay by 30 November; paid on 25 November.
    added = book("promise", "add", "E1", "10000.00", "--by", "2026-11-30",
                 env={"ARCLI_TODAY": "2026-11-10"})
    assert added.exit_code == 0, added.output
    import_rows(book, tmp_path, "pay.csv", "payment,PAY-1,E1,2026-11-25,,10000.00,EUR,INV-1,\n")
    # On 20 November the payment is not made yet: the promise is pending and holds the
    # letter back (not "kept" by a payment five days later).
    assert promises_on(book, "2026-11-20")["E1"]["status"] == "pending"
    assert promises_on(book, "2026-11-20")["E1"]["paid"] == "0.00"
    run = proposals(book, "2026-11-20")
    assert run[("E1", "EUR")]["status"] == "skipped"
    assert run[("E1", "EUR")]["reason"].startswith("promise pending")
    assert promises_on(book, "2026-12-01")["E1"]["status"] == "kept"
    # A promise made on 22 November does not hold back a run for 15 November.
    assert book("promise", "add", "E2", "500.00", "--by", "2026-11-30").exit_code == 0
    assert proposals(book, "2026-11-15")[("E2", "EUR")]["status"] == "letter"
    assert "E2" not in promises_on(book, "2026-11-15")


def test_an_earlier_promise_is_recorded_with_its_own_date(book, tmp_path):
    import_rows(book, tmp_path, "pay.csv", "payment,PAY-1,E1,2026-11-05,,4000.00,EUR,INV-1,\n")
    added = book("promise", "add", "E1", "10000.00", "--by", "2026-11-15",
                 "--date", "2026-11-01")
    assert added.exit_code == 0, added.output
    row = promises_on(book, "2026-11-22")["E1"]
    assert (row["promised_on"], row["paid"], row["status"]) == \
        ("2026-11-01", "4000.00", "partly kept")
    for args, message in ((("--by", "2026-11-15"), "in the past"),
                          (("--by", "2026-12-15", "--date", "2026-11-23"), "in the future"),
                          (("--by", "2026-10-15", "--date", "2026-11-01"), "before the promise")):
        bad = book("promise", "add", "E2", "1.00", *args)
        assert bad.exit_code == 2 and message in bad.stderr, bad.output


def test_rates_command_shows_the_tables_source_and_update_date(book):
    book.config.write_text("dunning:\n  interest:\n    enabled: true\n    preset: eu\n"
                           "    reference_rates:\n      2026-07-01: \"2.00\"\n",
                           encoding="utf-8")
    result = book("dunning", "rates", "--json")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    de = [r for r in rows if r["preset"] == "de"]
    assert {"from": "2026-01-01", "rate": "1.27"}.items() <= de[-1].items()
    assert "Bundesbank" in de[-1]["source"]
    assert any(r["preset"] == "cn" and r["rate"] == "3.00" for r in rows)
    eu = [(r["from"], r["rate"], r["origin"]) for r in rows if r["preset"] == "eu"]
    assert eu[-2:] == [("2026-01-01", "2.15", "shipped"), ("2026-07-01", "2.00", "config")]
    assert "last updated 20" in result.stderr


def test_a_customer_whose_only_overdue_item_is_disputed_is_listed_as_skipped(book):
    opened = book("dispute", "open", "INV-2", "--reason", "quality claim",
                  "--follow-up", "2026-12-15")
    assert opened.exit_code == 0, opened.output
    run = proposals(book, "2026-11-22")
    assert run[("E1", "EUR")]["status"] == "letter"
    assert run[("E2", "EUR")]["status"] == "skipped"
    assert run[("E2", "EUR")]["reason"] == \
        "disputed: INV-2 (quality claim; follow up on 2026-12-15)"
    later = proposals(book, "2026-12-20")
    assert later[("E2", "EUR")]["reason"].endswith("follow-up due since 2026-12-15)")
    listed = json.loads(book("dispute", "list", "--json").stdout)
    assert [(d["number"], d["follow_up"]) for d in listed] == [("INV-2", "2026-12-15")]
    # A written run lists the skipped customer in its manifest too.
    written = book("dunning", "run", "--as-of", "2026-11-22", "--out", "letters", "--json")
    assert written.exit_code == 0, written.output
    rows = json.loads((book.cwd / "letters" / "manifest.json").read_text(encoding="utf-8"))
    assert {(r["customer"], r["status"]) for r in rows} == {("E1", "written"),
                                                            ("E2", "skipped")}
