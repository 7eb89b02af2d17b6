"""Bank statements in: no file loses, invents or misbooks money (issue 24).

The corpus (``corpus/``) holds hand-written variants of real bank layouts -- SWIFT
envelopes, several statements per file, German and SWIFT-style :86:, MT942, camt.052/053/054
of versions 2 to 8, batch bookings, OFX 1.x in Windows-1252 and OFX 2.x -- each read to the
exact transactions in its ``.json``. The rest drives ``arcli reconcile bank`` as a user
would, with ordinary and hostile files.
"""

from __future__ import annotations

import dataclasses
import json
import sqlite3
from pathlib import Path

import pytest

from arcli.errors import InputError
from arcli.reconcile.bankformats import read_statement
from tests.conftest import EXAMPLES, Arcli

CORPUS = Path(__file__).parent / "corpus"
STATEMENTS = sorted(p for p in CORPUS.iterdir() if p.suffix != ".json")


def _as_json(path: Path) -> list[dict]:
    rows = []
    for tx in read_statement(path, None):
        row = dataclasses.asdict(tx)
        # How 0.1.0 keyed it is checked against that release's own parser
        # (test_upgrade_rerun.py); it may name the file, wherever the corpus lies.
        del row["legacy"]
        row["where"] = row["where"].split(": ", 1)[1]
        for key in ("booking_date", "value_date", "amount"):
            row[key] = None if row[key] is None else str(row[key])
        rows.append(row)
    return rows


@pytest.mark.parametrize("path", STATEMENTS, ids=[p.name for p in STATEMENTS])
def test_the_corpus_reads_to_its_exact_transactions(path):
    expected = json.loads(path.with_name(path.name + ".json").read_text(encoding="utf-8"))
    assert _as_json(path) == expected


@pytest.mark.parametrize("version", ["02", "03", "04", "05", "06", "07", "08"])
def test_camt053_versions_2_to_8_read_alike(tmp_path, version):
    """The entry layout is shared; version 6 wrapped Sts in Cd, version 8 the parties in
    Pty -- both are in the corpus, and every namespace reads the same transactions."""
    source = CORPUS / "camt053-v02-batch-balances.xml"
    copy = tmp_path / f"v{version}.xml"
    copy.write_text(source.read_text(encoding="utf-8").replace(
        "camt.053.001.02", f"camt.053.001.{version}"), encoding="utf-8")
    assert [dataclasses.replace(t, where="") for t in read_statement(copy, None)] == \
        [dataclasses.replace(t, where="") for t in read_statement(source, None)]


def test_the_corpus_covers_the_variants_it_claims():
    """A guard on the corpus itself: the layouts the issue lists are all in it."""
    raw = {p.name: p.read_bytes() for p in STATEMENTS}
    assert any(b"{1:F01" in b and b"-}" in b for b in raw.values())  # SWIFT envelope
    assert any(b.count(b":20:") > 1 for b in raw.values())  # several statements
    assert any(b":34F:" in b for b in raw.values())  # MT942
    assert any(b"\r\n" in b for b in raw.values()) and any(not b.endswith(b"\n")
                                                           for b in raw.values())
    assert any(b"\r" in b and b"\n" not in b for b in raw.values())  # old Mac line ends
    assert any(b.startswith(b"ABNANL2A") for b in raw.values())  # a bank's own header
    assert any(b"1000,N" in b for b in raw.values())  # amount without decimals
    assert any(b"?32" in b for b in raw.values()) and any(b"/ORDP/" in b for b in raw.values())
    for version in (b"camt.053.001.02", b"camt.053.001.08", b"camt.052.001.06",
                    b"camt.054.001.04"):
        assert any(version in b for b in raw.values())
    assert any(b"CHARSET:1252" in b for b in raw.values())
    assert any(b"<?OFX" in b for b in raw.values())


# -- as a user ---------------------------------------------------------------------------------
def _aging(book: Arcli, customer: str) -> dict:
    return json.loads(book("aging", "--customer", customer, "--json").stdout)[0]


def test_a_negative_camt_amount_is_refused_and_never_raises_a_balance(bank_book, tmp_path):
    """It was posted as a payment of -12,500.00 and raised C003's balance by 12,500."""
    bad = tmp_path / "neg.xml"
    bad.write_text((EXAMPLES / "bank" / "camt053.xml").read_text(encoding="utf-8").replace(
        '<Amt Ccy="EUR">12500.00</Amt>', '<Amt Ccy="EUR">-12500.00</Amt>'), encoding="utf-8")
    before = _aging(bank_book, "C003")
    result = bank_book("reconcile", "bank", str(bad), "--apply", "--json")
    assert result.exit_code == 1
    assert f"{bad}: statement 2026-11-06-001 entry 1: negative Amt" in result.stderr
    assert _aging(bank_book, "C003") == before


def _mt940(lines: str, opening: str = "C261105EUR0,00", closing: str = "") -> str:
    return (":20:T1\n:25:DE89370400440532013000\n:28C:1/1\n"
            f":60F:{opening}\n{lines}:62F:{closing}\n-\n")


def test_debits_and_reversals_naming_an_invoice_are_listed_never_posted(bank_book, tmp_path):
    """MT940 marks D, RC (reversal of a credit) and RD (reversal of a debit: a refund,
    money in but no customer's payment -- it was posted as one) all name C003's invoice."""
    sta = tmp_path / "marks.sta"
    sta.write_text(_mt940(
        ":61:261106D12500,00NTRFNONREF//D-1\n:86:/REMI/INV-2026-0177\n"
        ":61:261106RC12500,00NTRFNONREF//RC-1\n:86:/REMI/INV-2026-0177\n"
        ":61:261106RD12500,00NTRFNONREF//RD-1\n:86:/REMI/INV-2026-0177\n",
        closing="D261106EUR12500,00"))
    before = _aging(bank_book, "C003")
    result = bank_book("reconcile", "bank", str(sta), "--apply", "--json")
    assert result.exit_code == 0, result.stderr
    rows = {r["bank_ref"]: r for r in json.loads(result.stdout)}
    assert {ref: r["status"] for ref, r in rows.items()} == {
        "D-1": "ignored", "RC-1": "ignored", "RD-1": "ignored"}
    assert rows["RD-1"]["reason"].startswith("reversal of a debit")
    assert rows["RC-1"]["reason"].startswith("reversal of a credit")
    assert _aging(bank_book, "C003") == before


def test_receipts_without_a_bank_reference_are_each_posted_once(bank_book, tmp_path):
    """Two NONREF lines were one reference "NONREF": the second read as already posted
    (its money lost) or, posted in the same run, broke the unique bank reference."""
    sta = tmp_path / "nonref.sta"
    sta.write_text(_mt940(":61:261106C12500,00NTRFNONREF\n:86:/REMI/INV-2026-0177\n"
                          ":61:261106C12500,00NTRFNONREF\n:86:/REMI/INV-2026-0158\n",
                          closing="C261106EUR25000,00"))
    first = bank_book("reconcile", "bank", str(sta), "--apply", "--json")
    assert first.exit_code == 0, first.stderr
    assert [r["status"] for r in json.loads(first.stdout)] == ["posted", "posted"]
    assert _aging(bank_book, "C003")["total"] == "12500.00"  # 37,500 less two receipts
    again = bank_book("reconcile", "bank", str(sta), "--apply", "--json")
    assert [r["status"] for r in json.loads(again.stdout)] == ["already posted"] * 2
    assert _aging(bank_book, "C003")["total"] == "12500.00"


def test_every_payment_of_a_batch_booking_is_posted(bank_book):
    """The batch of 15,000.00 was read as its first payment only, for the whole amount:
    C003 was credited 15,000.00 and C006's payment lost."""
    result = bank_book("reconcile", "bank", str(CORPUS / "camt053-v02-batch-balances.xml"),
                  "--apply", "--json")
    rows = {r["bank_ref"]: r for r in json.loads(result.stdout)}
    assert (rows["B-20261110-77-1"]["status"], rows["B-20261110-77-1"]["amount"],
            rows["B-20261110-77-1"]["customer"]) == ("posted", "12500.00", "C003")
    assert rows["B-20261110-77-2"]["payer"] == "Mueller und Soehne GmbH"
    assert rows["B-20261110-77/3"]["status"] == "unmatched"
    assert rows["B-20261110-79"]["status"] == "ignored"  # a reversal naming INV-2026-0177
    assert _aging(bank_book, "C003")["total"] == "25000.00"


def test_the_ofx_payer_account_and_charset_are_read(bank_book):
    """The payer account (BANKACCTTO) was always empty, the account the file's first
    ACCTID, and a Windows-1252 name read as UTF-8 replacement characters."""
    (credit, debit, usd) = read_statement(CORPUS / "ofx1-cp1252-two-statements.ofx", None)
    assert credit.payer_account == "FR1420041010050500013M02606"
    assert credit.payer_name == "Société Lumière & Fils"
    assert usd.account == "FR7630004000031234567890999" and usd.currency == "USD"
    assert not debit.credit


_CAMT_EMPTY = ('<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:'
               'camt.053.001.04"><BkToCstmrStmt><GrpHdr><MsgId>1</MsgId></GrpHdr>'
               '</BkToCstmrStmt></Document>')
_REFUSED = {
    "text.txt": ("hello, this is not a bank statement\n", "no transactions"),
    "scan.pdf": ("%PDF-1.4\n1 0 obj << >> endobj\n", "not a bank statement"),
    "empty.xml": (_CAMT_EMPTY, "holds no statement"),
    "cut.sta": (_mt940(":61:261106C100,NTRFNONREF//X1\n", closing="C261106EUR100,")
                .split(":62F:")[0], "cut short"),
    "typo.sta": (_mt940(":6l:261106C100,NTRFNONREF//X1\n", closing="C261106EUR100,"),
                 "line 5: not an MT940 line"),
    "sum.sta": (_mt940(":61:261106C100,NTRFNONREF//X1\n", closing="C261106EUR1000,"),
                "does not add up"),
    "cur.xml": ((EXAMPLES / "bank" / "camt053.xml").read_text(encoding="utf-8").replace(
        'Ccy="EUR">1995', 'Ccy="EUX">1995'), "unknown ISO 4217 currency code 'EUX'"),
    "enc.xml": ((EXAMPLES / "bank" / "camt053.xml").read_text(encoding="utf-8").replace(
        'encoding="UTF-8"', 'encoding="X-NO-SUCH"'), "unknown encoding"),
    "cut.ofx": ((EXAMPLES / "bank" / "statement.ofx").read_text(encoding="utf-8")
                .split("</BANKTRANLIST>")[0], "cut short"),
    "typo.ofx": ((EXAMPLES / "bank" / "statement.ofx").read_text(encoding="utf-8")
                 .replace("<STMTTRN><TRNTYPE>DEBIT", "<STMTTRX><TRNTYPE>DEBIT"),
                 "</STMTTRN> closes nothing open"),
    "sign.ofx": ((EXAMPLES / "bank" / "statement.ofx").read_text(encoding="utf-8")
                 .replace("-30.00", "30.00"), "TRNTYPE DEBIT with a positive amount"),
    "charset.ofx": ((EXAMPLES / "bank" / "statement.ofx").read_text(encoding="utf-8")
                    .replace("ENCODING:UTF-8", "ENCODING:USASCII")
                    .replace("CHARSET:NONE", "CHARSET:KLINGON"), "unknown OFX CHARSET"),
    "batch.xml": ((CORPUS / "camt053-v02-batch-balances.xml").read_text(encoding="utf-8")
                  .replace('<TxAmt><Amt Ccy="EUR">1995.00</Amt></TxAmt>',
                           '<TxAmt><Amt Ccy="EUR">1990.00</Amt></TxAmt>'), "add up to"),
    "mt942.sta": ((CORPUS / "mt942-interim.sta").read_text(encoding="utf-8")
                  .replace(":90C:1EUR2500,00", ":90C:2EUR2600,00"), ":90C: says 2 entries"),
    # A statement repeated (its receipts would post twice) or missing (never posted).
    "repeat.sta": ((lambda t: t.split("-}", 1)[0] + "-}\n" + t)(
        (CORPUS / "mt940-nl-swift-envelope.sta").read_text(encoding="utf-8")),
        "a statement repeated or missing"),
    "gap.sta": (_mt940(":61:261106C100,NTRFNONREF//X1\n", closing="C261106EUR100,")
                + _mt940(":61:261108C5,NTRFNONREF//X2\n", opening="C261107EUR90,",
                         closing="C261108EUR95,"), "a statement repeated or missing"),
    "mixed.xml": ((CORPUS / "camt053-v02-batch-balances.xml").read_text(encoding="utf-8")
                  .replace('<Amt Ccy="EUR">12.50</Amt>', '<Amt Ccy="USD">12.50</Amt>'),
                  "entries in EUR, USD"),
    "twice.ofx": ((lambda t: t.replace(t.splitlines()[16], t.splitlines()[16] + "\n"
                                       + t.splitlines()[16]))(
        (EXAMPLES / "bank" / "statement.ofx").read_text(encoding="utf-8")),
        "the same booking again under the same reference"),
}


def _tables(db: str) -> dict:
    """Every row of every table: the bank_book, for "nothing changed"."""
    with sqlite3.connect(db) as conn:
        names = [r[0] for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")]
        return {n: sorted(map(repr, conn.execute(f'SELECT * FROM "{n}"'))) for n in names}


def _book_state(book: Arcli):
    """Every table on SQLite; the aging (every balance) on PostgreSQL."""
    return _tables(book.db) if book.is_sqlite else book("aging", "--json").stdout


@pytest.mark.parametrize("name", sorted(_REFUSED))
def test_a_file_that_is_no_readable_statement_is_an_error_naming_it(bank_book, tmp_path, name):
    text, message = _REFUSED[name]
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    before = _book_state(bank_book)
    result = bank_book("reconcile", "bank", str(path), "--apply")
    assert result.exit_code == 1, result.output
    assert str(path) in result.stderr and message in result.stderr
    assert "internal error" not in result.stderr
    assert _book_state(bank_book) == before


def test_the_same_booking_in_an_mt942_and_the_days_mt940_is_posted_once(bank_book, tmp_path):
    """The interim report posts a receipt; the statement of the day lists it again (with
    its amount written 2500, instead of 2500,00) and must not post it twice."""
    interim = tmp_path / "interim.sta"
    interim.write_text(":20:I1\n:25:DE89370400440532013000\n:28C:1/1\n:34F:EURD0,\n"
                       ":61:261106C12500,00NTRFNONREF\n:86:/REMI/INV-2026-0177\n-\n")
    day = tmp_path / "day.sta"
    day.write_text(_mt940(":61:261106C12500,NTRFNONREF\n:86:/REMI/INV-2026-0177\n",
                          closing="C261106EUR12500,"))
    assert bank_book("reconcile", "bank", str(interim), "--apply").exit_code == 0
    statuses = json.loads(bank_book("reconcile", "bank", str(day), "--apply", "--json").stdout)
    assert [r["status"] for r in statuses] == ["already posted"]
    assert _aging(bank_book, "C003")["total"] == "25000.00"


def test_refused_bank_files_raise_input_errors_only(tmp_path):
    """The parsers themselves, without the CLI: every case above is an InputError."""
    for name, (text, _) in _REFUSED.items():
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        with pytest.raises(InputError):
            read_statement(path, None)


def test_control_characters_in_bank_text_never_reach_the_report(tmp_path):
    """An escape sequence in a :86: field was printed to the user's terminal as it was."""
    sta = tmp_path / "esc.sta"
    sta.write_bytes(_mt940(":61:261106C100,NTRFNONREF//X1\n", closing="C261106EUR100,")
                    .replace(":62F:", ":86:/NAME/ACME\x1b[2J\x00/REMI/INV-1\x1b]0;x\x07\n:62F:")
                    .encode())
    (tx,) = read_statement(sta, None)
    assert (tx.payer_name, tx.remittance) == ("ACME [2J", "INV-1 ]0;x")


def test_posting_refuses_anything_but_a_receipt_whatever_the_match_says(bank_book):
    """The posting step itself (not only the matcher) keeps debits, reversals and pending
    entries out of the book: a match made for one by any rule posts nothing."""
    import datetime as dt
    from decimal import Decimal

    from arcli.importing.readers import open_source
    from arcli.reconcile.bank import BankSettings, apply_matches, build_matcher
    from arcli.reconcile.bankformats.common import DEBIT, PENDING, REVERSED_DEBIT
    from arcli.settings import BookSettings
    from arcli.store import open_store

    store = open_store(bank_book.db)
    before = _book_state(bank_book)
    settings = BankSettings({})
    try:
        with store.begin() as conn:
            matcher = build_matcher(conn, dt.date(2026, 11, 22), settings)
            (candidate,) = matcher.by_number["INV-2026-0177"]
            matches = []
            for index, kind in enumerate((DEBIT, REVERSED_DEBIT, PENDING)):
                tx = dataclasses.replace(
                    read_statement(EXAMPLES / "bank" / "camt053.xml", None)[0],
                    bank_ref=f"NOT-A-RECEIPT-{index}", credit=False, kind=kind)
                match = matcher.match(tx)
                match.customer_id, match.confidence = "C003", 95
                match.invoices = [(candidate, Decimal("12500.00"))]
                matches.append(match)
            source = open_source(str(EXAMPLES / "bank" / "camt053.xml"))
            order = BookSettings().settlement_order
            assert apply_matches(conn, source, matches, settings, settlement_order=order) == {}
    finally:
        store.dispose()
    assert _book_state(bank_book) == before


def test_a_space_before_the_mt940_amount_reads(tmp_path):
    """Some banks write ``C 100,00``; it was "unreadable :61: statement line"."""
    sta = tmp_path / "space.sta"
    sta.write_text(_mt940(":61:261106C 100,00NTRFNONREF//S1\n", closing="C261106EUR100,"))
    (tx,) = read_statement(sta, None)
    assert (tx.bank_ref, str(tx.amount), tx.credit) == ("S1", "100.00", True)
