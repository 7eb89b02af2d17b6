"""Write-offs and accepted matches: the bank's small differences posted as write_off
documents, write-offs by hand within a limit, low-confidence matches accepted by hand --
and aging still ties to the ledger and the statement afterwards."""

from __future__ import annotations

import json

import pytest

from tests.conftest import EXAMPLES, ROOT

BANK = EXAMPLES / "bank"
OFX = """OFXHEADER:100
DATA:OFXSGML
VERSION:102
SECURITY:NONE
ENCODING:UTF-8
CHARSET:NONE
COMPRESSION:NONE
OLDFILEUID:NONE
NEWFILEUID:NONE

<OFX>
<BANKMSGSRSV1><STMTTRNRS><TRNUID>1<STATUS><CODE>0<SEVERITY>INFO</STATUS>
<STMTRS><CURDEF>EUR
<BANKACCTFROM><BANKID>DEUTDEFF<ACCTID>DE00123<ACCTTYPE>CHECKING</BANKACCTFROM>
<BANKTRANLIST><DTSTART>20261101<DTEND>20261120
{line}
</BANKTRANLIST>
</STMTRS></STMTTRNRS></BANKMSGSRSV1>
</OFX>
""".format(line="<STMTTRN><TRNTYPE>CREDIT<DTPOSTED>20261118<TRNAMT>2000.00<FITID>OFX-LOW-1"
              "<NAME>Treuhand AG<MEMO>Zahlung</STMTTRN>")


@pytest.fixture
def book(example_book, tmp_path):
    config = tmp_path / "arcli.yaml"
    text = (ROOT / "config.example.yaml").read_text(encoding="utf-8")
    text = text.replace("  tolerance: {}  ", '  tolerance: {EUR: "5.00"}  ')
    text = text.replace("  write_off_limit: {}  ", '  write_off_limit: {EUR: "50.00"}  ')
    config.write_text(text, encoding="utf-8")
    example_book.config = config
    return example_book


def c006_total(book) -> str:
    (row,) = json.loads(book("aging", "--customer", "C006", "--json").stdout)
    return row["total"]


def statement_closing(book, customer: str) -> str:
    out = book.cwd / "st"
    result = book("statements", "--period", "2026-11", "--customer", customer, "--out",
                  str(out), "--json", "--force")
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.stdout)
    return row["closing_balance"]


def test_suggested_bank_write_off_settles_the_invoice_and_ties_out(book):
    applied = book("reconcile", "bank", str(BANK / "camt053.xml"), "--apply", "--json")
    assert applied.exit_code == 3, applied.output
    # C006: 4,760.00 + 2,380.00 - 380.00 credit note - 1,995.00 received = 4,765.00, of
    # which 5.00 bank charges on INV-2026-0163 (open 2,000.00, paid 1,995.00).
    assert c006_total(book) == "4765.00"
    posted = book("reconcile", "write-off", "--suggested", "--json")
    assert posted.exit_code == 0, posted.output
    assert [(r["number"], r["invoice"], r["amount"], r["status"])
            for r in json.loads(posted.stdout)] == \
        [("WO-CAMT-20261105-0002", "INV-2026-0163", "5.00", "posted")]
    again = json.loads(book("reconcile", "write-off", "--suggested", "--json").stdout)
    assert [r["status"] for r in again] == ["already posted"]
    # aging total = ledger balance = statement closing balance after the write-off
    assert c006_total(book) == statement_closing(book, "C006") == "4760.00"
    detail = json.loads(book("aging", "--detail", "--customer", "C006", "--json").stdout)
    assert "INV-2026-0163" not in {r["number"] for r in detail}
    trace = json.loads(book("reconcile", "explain", "INV-2026-0163", "--json").stdout)
    assert ("write_off WO-CAMT-20261105-0002", "5.00") in {(r["with"], r["amount"])
                                                          for r in trace}


def test_a_write_off_by_hand_needs_a_reason_and_stays_within_the_limit(book):
    def write_off(*args: str):
        return book("reconcile", "write-off", *args, "--json")

    refused = {
        ("INV-2026-0122", "--amount", "60.00", "--reason", "x"): "above the limit of 50.00",
        ("INV-2026-0122", "--amount", "20.00"): "--reason",
        ("INV-2026-0122", "--amount", "20.00", "--reason", "x", "--customer", "C003"):
            "belongs to C006",
        ("INV-2026-0122", "--amount", "20.00", "--reason", "x", "--customer", "C999"):
            "unknown customer",
        ("INV-NOPE", "--amount", "1.00", "--reason", "x"): "no document",
        ("CN-2026-0011", "--amount", "1.00", "--reason", "x"): "only an invoice",
        ("INV-2026-0122", "--amount", "20.001", "--reason", "x"): "--amount",
        ("INV-2026-0117", "--amount", "1.00", "--reason", "x"): "write_off_limit.CNY",
        ("--suggested", "INV-2026-0122"): "either",
    }
    for args, message in refused.items():
        result = write_off(*args)
        assert result.exit_code == 2 and message in result.stderr, (args, result.output)
    assert c006_total(book) == "6760.00"  # nothing changed
    first = write_off("INV-2026-0122", "--amount", "20.00", "--reason", "rounding agreed",
                      "--customer", "C006", "--date", "2026-11-20")
    assert first.exit_code == 0, first.output
    second = write_off("INV-2026-0122", "--amount", "10.00", "--reason", "second")
    assert [r["number"] for r in json.loads(first.stdout) + json.loads(second.stdout)] == \
        ["WO-INV-2026-0122", "WO-INV-2026-0122-2"]
    # 6,760.00 - 20.00 - 10.00
    assert c006_total(book) == statement_closing(book, "C006") == "6730.00"


def test_a_low_confidence_match_is_accepted_by_hand(book, tmp_path):
    statement = tmp_path / "low.ofx"
    statement.write_text(OFX, encoding="utf-8")
    proposed = book("reconcile", "bank", str(statement), "--apply", "--json")
    assert proposed.exit_code == 3
    (row,) = json.loads(proposed.stdout)
    # The amount alone points at INV-2026-0163 (2,380.00 - 380.00 credit note): 40 < 50.
    assert (row["status"], row["confidence"], row["invoices"]) == \
        ("low confidence", 40, "INV-2026-0163:2000.00")
    assert c006_total(book) == "6760.00"
    accepted = book("reconcile", "accept", str(statement), "OFX-LOW-1", "--json")
    assert accepted.exit_code == 0, accepted.output
    assert json.loads(accepted.stdout)[0]["status"] == "posted"
    assert c006_total(book) == statement_closing(book, "C006") == "4760.00"
    again = book("reconcile", "accept", str(statement), "OFX-LOW-1", "--json")
    assert json.loads(again.stdout)[0]["status"] == "already posted"
    assert c006_total(book) == "4760.00"
    missing = book("reconcile", "accept", str(statement), "NOPE")
    assert missing.exit_code == 2 and "no transaction 'NOPE'" in missing.stderr
