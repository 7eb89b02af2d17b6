"""Reconciliation: bank formats and matching, manual application, confirmations, GL."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arcli.errors import InputError
from arcli.reconcile.bankformats import parse_camt053, parse_mt940, parse_ofx
from arcli.reconcile.matching import Candidate, Matcher
from tests.conftest import EXAMPLES

BANK = EXAMPLES / "bank"


@pytest.fixture
def book(bank_book):
    return bank_book


def test_camt053_fields():
    txs = parse_camt053(BANK / "camt053.xml")
    assert [t.bank_ref for t in txs][:2] == ["CAMT-20261105-0001", "CAMT-20261105-0002"]
    first = txs[0]
    assert (first.amount, first.currency, first.credit) == (Decimal("12500.00"), "EUR", True)
    assert first.payer_account == "IE29AIBK93115212345678"
    assert "INV-2026-0177" in first.remittance
    assert txs[3].credit is False


def test_camt053_refuses_entity_expansion(tmp_path):
    evil = tmp_path / "evil.xml"
    evil.write_text('<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaa">'
                    '<!ENTITY b "&a;&a;&a;">]><Document><BkToCstmrStmt>&b;</BkToCstmrStmt>'
                    '</Document>')
    with pytest.raises(InputError, match="safe"):
        parse_camt053(evil)


def test_mt940_and_ofx_fields():
    mt = parse_mt940(BANK / "mt940.sta")
    assert [(t.amount, t.currency, t.bank_ref) for t in mt] == [
        (Decimal("14350.75"), "USD", "MT-20261106-01"), (Decimal("4800.00"), "USD",
                                                         "MT-20261106-02")]
    assert mt[0].payer_name == "TAIPEI PRECISION MACHINERY CO"
    assert mt[0].booking_date == dt.date(2026, 11, 6)
    ofx = parse_ofx(BANK / "statement.ofx")
    assert [(t.amount, t.credit, t.currency) for t in ofx] == [
        (Decimal("41800.00"), True, "CNY"), (Decimal("30.00"), False, "CNY")]
    assert ofx[0].payer_name == "上海华东电子有限公司"


def test_ofx_xml_v2(tmp_path):
    path = tmp_path / "v2.ofx"
    path.write_text('<?xml version="1.0"?><?OFX OFXHEADER="200" VERSION="220"?><OFX>'
                    "<BANKMSGSRSV1><STMTTRNRS><STMTRS><CURDEF>EUR</CURDEF><BANKTRANLIST>"
                    "<STMTTRN><TRNTYPE>CREDIT</TRNTYPE><DTPOSTED>20261101120000</DTPOSTED>"
                    "<TRNAMT>10.50</TRNAMT><FITID>X1</FITID><NAME>A</NAME></STMTTRN>"
                    "</BANKTRANLIST></STMTRS></STMTTRNRS></BANKMSGSRSV1></OFX>")
    (tx,) = parse_ofx(path)
    assert (tx.bank_ref, tx.amount, tx.booking_date) == ("X1", Decimal("10.50"),
                                                         dt.date(2026, 11, 1))


def _tx(**kw):
    from arcli.reconcile.bankformats import BankTransaction

    base = dict(bank_ref="R", booking_date=dt.date(2026, 11, 1), value_date=None,
                amount=Decimal("100.00"), currency="EUR", credit=True, payer_name="",
                payer_account="", remittance="", account="", where="t")
    return BankTransaction(**{**base, **kw})


def test_matching_rules_in_order():
    cands = [Candidate(1, "INV-1", "A", "EUR", Decimal("100.00"), "2026-01-01"),
             Candidate(2, "INV-2", "A", "EUR", Decimal("50.00"), "2026-02-01"),
             Candidate(3, "INV-3", "B", "EUR", Decimal("70.00"), "2026-01-15")]
    matcher = Matcher(cands, {"Alpha GmbH": "A", "Beta Ltd": "B"}, {"DE00 1234": "B"},
                      {"EUR": Decimal("2.00")})
    by_ref = matcher.match(_tx(remittance="pay inv-1 and INV-2", amount=Decimal("150.00")))
    assert (by_ref.customer_id, by_ref.confidence) == ("A", 95)
    assert [(c.number, a) for c, a in by_ref.invoices] == [("INV-1", Decimal("100.00")),
                                                          ("INV-2", Decimal("50.00"))]
    short = matcher.match(_tx(remittance="INV-3", amount=Decimal("68.50")))
    assert short.write_off == Decimal("1.50") and short.confidence == 95
    by_account = matcher.match(_tx(payer_account="de001234", amount=Decimal("70.00")))
    assert (by_account.customer_id, by_account.confidence) == ("B", 75)
    by_name = matcher.match(_tx(payer_name="ALPHA gmbh.", amount=Decimal("50.00")))
    assert (by_name.customer_id, by_name.confidence) == ("A", 60)
    by_amount = matcher.match(_tx(amount=Decimal("70.00")))
    assert (by_amount.customer_id, by_amount.confidence) == ("B", 40)
    assert not matcher.match(_tx(amount=Decimal("1.00"))).matched


def test_bank_apply_posts_once_and_learns_the_payer(book):
    first = book("reconcile", "bank", str(BANK / "camt053.xml"), "--apply", "--json")
    assert first.exit_code == 3  # the unknown payer stays unmatched
    rows = {r["bank_ref"]: r for r in json.loads(first.stdout)}
    assert rows["CAMT-20261105-0001"]["status"] == "posted"
    assert rows["CAMT-20261105-0002"]["write_off"] == "5.00"
    assert rows["CAMT-20261106-0003"]["status"] == "unmatched"
    detail = json.loads(book("aging", "--detail", "--customer", "C003", "--json").stdout)
    assert "INV-2026-0177" not in {r["number"] for r in detail}
    again = json.loads(book("reconcile", "bank", str(BANK / "camt053.xml"), "--apply",
                            "--json").stdout)
    assert {r["bank_ref"]: r["status"] for r in again}["CAMT-20261105-0001"] == \
        "already posted"
    c003 = json.loads(book("aging", "--customer", "C003", "--json").stdout)[0]
    assert c003["total"] == "25000.00"  # 37,500 - 12,500, posted once


@pytest.mark.parametrize("apply_", [True, False], ids=["apply", "dry"])
def test_a_rerun_shows_receipts_as_they_were_posted(book, apply_):
    """A receipt posted earlier is reported with the customer, invoices, confidence and
    reason it was posted with: matched afresh, its settled invoice is gone and the report
    named another invoice of the customer at a lower confidence."""
    first = {r["bank_ref"]: r for r in json.loads(book(
        "reconcile", "bank", str(BANK / "camt053.xml"), "--apply", "--json").stdout)}
    again = {r["bank_ref"]: r for r in json.loads(book(
        "reconcile", "bank", str(BANK / "camt053.xml"), *(["--apply"] if apply_ else []),
        "--json").stdout)}
    for ref in ("CAMT-20261105-0001", "CAMT-20261105-0002"):
        posted, shown = first[ref], again[ref]
        assert shown["status"] == "already posted"
        assert (shown["customer"], shown["invoices"], shown["confidence"],
                shown["write_off"]) == (posted["customer"], posted["invoices"],
                                        posted["confidence"], posted["write_off"])
        assert shown["reason"] == "posted earlier: " + posted["reason"]
    assert again["CAMT-20261105-0001"]["invoices"] == "INV-2026-0177:12500.00"


def test_explain_given_a_bank_reference_names_its_payment(book):
    book("reconcile", "bank", str(BANK / "camt053.xml"), "--apply", "--json")
    result = book("reconcile", "explain", "CAMT-20261105-0001")
    assert result.exit_code == 1
    assert "BANK-CAMT-20261105-0001" in result.stderr
    assert book("reconcile", "explain", "BANK-CAMT-20261105-0001").exit_code == 0


def test_apply_unapply_explain_and_over_allocation(book):
    # PAY-2026-0233 (30,000) referenced INV-2026-0117; pin 10,000 of it to INV-2026-0150.
    before = book("aging", "--json", "--as-of", "2026-11-22").stdout
    ok = book("reconcile", "apply", "PAY-2026-0233", "INV-2026-0150", "--amount", "10000")
    assert ok.exit_code == 0, ok.output
    trace = json.loads(book("reconcile", "explain", "PAY-2026-0233", "--json").stdout)
    assert [(t["with"], t["amount"], t["rule"]) for t in trace[:2]] == [
        ("invoice INV-2026-0150", "10000.00", "manual"),
        ("invoice INV-2026-0117", "20000.00", "reference")]
    too_much = book("reconcile", "apply", "PAY-2026-0233", "INV-2026-0150", "--amount", "30001")
    assert too_much.exit_code == 2 and "over-allocation" in too_much.stderr
    for amount, why in (("1.001", "decimal place"), ("1E30", "too large")):
        bad = book("reconcile", "apply", "PAY-2026-0233", "INV-2026-0150", "--amount", amount)
        assert bad.exit_code == 2 and "--amount: " in bad.stderr and why in bad.stderr
    book("import", "ledger", str(EXAMPLES / "ledger.csv"))  # survives re-import
    assert json.loads(book("reconcile", "explain", "PAY-2026-0233", "--json").stdout)[0][
        "rule"] == "manual"
    assert book("reconcile", "unapply", "PAY-2026-0233").exit_code == 0
    assert book("aging", "--json", "--as-of", "2026-11-22").stdout == before


def test_status_lists_unapplied_credit_with_suggestion(book):
    result = book("reconcile", "status", "--json")
    assert result.exit_code == 3
    rows = json.loads(result.stdout)
    acme = next(r for r in rows if r["customer"] == "C004")
    assert (acme["issue"], acme["amount"]) == ("unapplied credit", "800.00")
    assert any(r["issue"] == "partly paid" and r["document"] == "INV-2026-0117" for r in rows)


def test_confirmations_round_trip_with_item_difference(book, tmp_path):
    conf = tmp_path / "conf.csv"
    conf.write_text("customer,currency,as_of,balance,note\n"
                    "C003,EUR,2026-10-31,25000.00,signed\n"
                    "C006,EUR,2026-10-31,6380.00,we took a discount\n")
    items = tmp_path / "items.csv"
    items.write_text("customer,currency,number,amount\nC006,EUR,INV-2026-0122,4760.00\n"
                     "C006,EUR,INV-2026-0163,1620.00\n")
    result = book("reconcile", "confirmations", str(conf), "--items", str(items), "--json")
    assert result.exit_code == 3
    rows = json.loads(result.stdout)
    status = {(r["customer"], r["level"], r["document"]): r for r in rows}
    assert status[("C003", "balance", "")]["status"] == "agreed"
    c006 = status[("C006", "balance", "")]
    assert (c006["status"], c006["difference"]) == ("differs", "380.00")
    item = status[("C006", "item", "INV-2026-0163")]
    assert (item["status"], item["ours"], item["theirs"]) == ("amount differs", "2000.00",
                                                              "1620.00")
    assert status[("C001", "balance", "")]["status"] == "not returned"
    # Stored: the next statement says the balance was confirmed.
    out = tmp_path / "st"
    book("statements", "--period", "2026-11", "--customer", "C003", "--out", str(out))
    from pypdf import PdfReader

    data = json.loads(PdfReader(str(next(out.glob("*.pdf")))).attachments["statement.json"][0])
    assert data["sections"][0]["confirmed_on"] == "2026-10-31"


def test_gl_tieout_lists_explaining_documents(book, tmp_path):
    # Subledger at 2026-10-31: EUR 25,000 (C003) + 3,000 (C005) + 6,760 (C006) = 34,760;
    # CNY 141,450.50 + 208,000 = 349,450.50; USD -800 + 19,150.75 = 18,350.75.
    gl = tmp_path / "gl.csv"
    gl.write_text("currency,balance\nEUR,22260.00\nUSD,18350.75\nCNY,349450.50\n")
    result = book("reconcile", "gl", str(gl), "--as-of", "2026-10-31", "--json")
    assert result.exit_code == 3
    rows = json.loads(result.stdout)
    balance = {r["currency"]: r for r in rows if r["kind"] == "balance"}
    assert (balance["EUR"]["subledger"], balance["EUR"]["difference"]) == ("34760.00",
                                                                          "12500.00")
    assert balance["CNY"]["difference"] == "0.00" and balance["USD"]["difference"] == "0.00"
    explains = {r["document"]: r["note"] for r in rows if r["kind"] == "explains"}
    assert explains["invoice INV-2026-0195 (C003)"] == "dated after the cut-off"
    assert all(r["currency"] == "EUR" for r in rows if r["kind"] == "explains")
    agreed = tmp_path / "ok.csv"
    agreed.write_text("currency,balance\nEUR,34760.00\nUSD,18350.75\nCNY,349450.50\n")
    assert book("reconcile", "gl", str(agreed), "--as-of", "2026-10-31").exit_code == 0


@given(st.integers(min_value=1, max_value=28_000_00))
@settings(max_examples=15, deadline=None, suppress_health_check=[
    HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
def test_apply_then_unapply_restores_aging(tmp_path_factory, minor):
    from tests.conftest import Arcli

    folder = tmp_path_factory.mktemp("prop")
    runner = Arcli(str(folder / "b.db"), folder)
    runner("init", "--no-config")
    runner("import", "customers", str(EXAMPLES / "customers.csv"))
    runner("import", "ledger", str(EXAMPLES / "ledger.csv"))
    before = runner("aging", "--json", "--as-of", "2026-11-22").stdout
    amount = f"{Decimal(minor) / 100:.2f}"
    applied = runner("reconcile", "apply", "PAY-2026-0233", "INV-2026-0190",
                     "--amount", amount)
    assert applied.exit_code == 0, applied.output
    assert runner("reconcile", "unapply", "PAY-2026-0233", "INV-2026-0190").exit_code == 0
    assert runner("aging", "--json", "--as-of", "2026-11-22").stdout == before
    shutil.rmtree(folder)


def test_bank_csv_errors_name_the_line(book, tmp_path):
    bad = tmp_path / "b.csv"
    bad.write_text("交易日期,金额,币种,对方户名,对方账号,摘要,流水号\n2026/13/01,1,人民币,x,y,z,R1\n",
                   encoding="utf-8")
    result = book("reconcile", "bank", str(bad), "--mapping", "bank-cn")
    assert result.exit_code == 1
    assert f"{bad}: line 2" in result.stderr
    assert Path(bad).exists()


def test_bank_amounts_the_store_cannot_keep_are_input_errors(book, tmp_path):
    """Too many decimals or beyond the largest amount: named per line, nothing posted."""
    bad = tmp_path / "b.csv"
    bad.write_text("交易日期,金额,币种,对方户名,对方账号,摘要,流水号\n"
                   "2026/11/08,\"88,000,000,000,000,000.00\",人民币,x,y,INV-2026-0102,R1\n"
                   "2026/11/08,500.001,人民币,x,y,z,R2\n", encoding="utf-8")
    before = book("aging", "--json").stdout
    result = book("reconcile", "bank", str(bad), "--mapping", "bank-cn", "--apply")
    assert result.exit_code == 1
    assert f"{bad}: line 2: amount: " in result.stderr and "too large" in result.stderr
    assert f"{bad}: line 3: amount: " in result.stderr and "decimal place" in result.stderr
    assert "internal error" not in result.stderr
    assert book("aging", "--json").stdout == before


def test_camt053_later_schema_versions_read_the_same(tmp_path):
    """The sample is .001.02; .001.08 keeps the entry layout, so only the namespace differs."""
    text = (BANK / "camt053.xml").read_text(encoding="utf-8")
    newer = tmp_path / "camt08.xml"
    newer.write_text(text.replace("camt.053.001.02", "camt.053.001.08"), encoding="utf-8")
    assert parse_camt053(newer) == [
        dataclasses.replace(t, where=t.where.replace(str(BANK / "camt053.xml"), str(newer)))
        for t in parse_camt053(BANK / "camt053.xml")]


def test_mt940_year_boundary_and_bad_line(tmp_path):
    sta = tmp_path / "s.sta"
    sta.write_text(":20:X\n:25:AC1\n:60F:C261231EUR0,00\n"
                   ":61:2612310102C10,00NTRFNONREF//R1\n:86:/REMI/INV-1\n"
                   ":61:26123X C5,00NTRF\n")
    with pytest.raises(InputError, match=r"s\.sta: line 6"):
        parse_mt940(sta)
    sta.write_text(sta.read_text().rsplit(":61:26123X", 1)[0] + ":62F:C270102EUR10,00\n")
    (tx,) = parse_mt940(sta)
    assert (tx.value_date, tx.booking_date) == (dt.date(2026, 12, 31), dt.date(2027, 1, 2))
    assert tx.remittance == "INV-1"


def test_bank_csv_mapping_proposes_matches(book):
    result = book("reconcile", "bank", str(BANK / "bank-cn.csv"), "--mapping", "bank-cn",
                  "--json")
    assert result.exit_code == 3  # the private transfer stays unmatched
    rows = {r["bank_ref"]: r for r in json.loads(result.stdout)}
    hit = rows["CN20261108001"]
    # examples/ledger.csv: INV-2026-0102 is C002's open CNY 88,000.00 invoice.
    assert (hit["customer"], hit["currency"], hit["invoices"], hit["status"]) == (
        "C002", "CNY", "INV-2026-0102:88000.00", "matched")
    assert rows["CN20261108002"]["status"] == "unmatched"


def test_a_bank_export_in_gb18030_reads_with_encoding(book, tmp_path):
    """Chinese online banking exports are often GB18030: the error names the line and
    the option, and --encoding reads it as the UTF-8 sample is read."""
    gbk = tmp_path / "bank-gbk.csv"
    gbk.write_bytes((BANK / "bank-cn.csv").read_text(encoding="utf-8").encode("gb18030"))
    failed = book("reconcile", "bank", str(gbk), "--mapping", "bank-cn")
    assert failed.exit_code == 1
    assert f"{gbk}: line 1: not valid UTF-8 text" in failed.stderr
    assert "--encoding gb18030" in failed.stderr
    read = book("reconcile", "bank", str(gbk), "--mapping", "bank-cn", "--encoding",
                "gb18030", "--json")
    sample = book("reconcile", "bank", str(BANK / "bank-cn.csv"), "--mapping", "bank-cn",
                  "--json")
    assert read.exit_code == sample.exit_code == 3
    assert read.stdout == sample.stdout


def test_confirmation_replies_and_gl_files_take_an_encoding(book, tmp_path):
    """Replies typed up in Chinese Excel come back as GB18030: --encoding reads them."""
    conf = tmp_path / "conf.csv"
    conf.write_bytes("customer,currency,as_of,balance,note\n"
                     "C002,CNY,2026-10-31,208000.00,已盖章确认\n".encode("gb18030"))
    failed = book("reconcile", "confirmations", str(conf))
    assert failed.exit_code == 1 and "line 2" in failed.stderr
    assert "--encoding gb18030" in failed.stderr
    read = book("reconcile", "confirmations", str(conf), "--encoding", "gb18030", "--json")
    rows = {r["customer"]: r for r in json.loads(read.stdout) if r["level"] == "balance"}
    assert rows["C002"]["status"] == "agreed" and rows["C002"]["theirs"] == "208000.00"
    from sqlalchemy import select

    from arcli.store import open_store
    from arcli.store.schema import confirmations

    with open_store(book.db).connect() as conn:
        notes = set(conn.execute(select(confirmations.c.note)).scalars())
    assert "已盖章确认" in notes  # decoded, not mojibake
    gl = tmp_path / "gl.csv"
    gl.write_bytes("currency,balance,说明\nCNY,349450.50,应收账款\n".encode("gb18030"))
    assert book("reconcile", "gl", str(gl), "--as-of", "2026-10-31").exit_code == 1
    tied = book("reconcile", "gl", str(gl), "--as-of", "2026-10-31", "--encoding", "gb18030")
    assert tied.exit_code in (0, 3), tied.output  # read; EUR/USD missing from this GL


def test_bank_postings_rerun_cash_application_in_the_books_settlement_order(book, tmp_path):
    """Posting a bank receipt reruns its customer's cash application in the configured
    order: with costs-interest-principal (§367 BGB) an earlier unreferenced payment keeps
    settling the customer's fee before any invoice."""
    config = book.config
    config.write_text(config.read_text(encoding="utf-8").replace(
        "  settlement_order: principal-first", "  settlement_order: costs-interest-principal"),
        encoding="utf-8")
    path = tmp_path / "fee.csv"
    path.write_text("type,number,customer,date,due_date,amount,currency,reference,description\n"
                    "fee,FEE-1,C003,2026-11-02,,50.00,EUR,,collection costs\n"
                    "payment,PAY-FEE,C003,2026-11-03,,60.00,EUR,,\n", encoding="utf-8")
    assert book("import", "ledger", str(path)).exit_code == 0

    def open_numbers() -> set[str]:
        rows = json.loads(book("aging", "--detail", "--customer", "C003", "--json").stdout)
        return {r["number"] for r in rows}

    assert "FEE-1" not in open_numbers()
    posted = book("reconcile", "bank", str(BANK / "camt053.xml"), "--apply", "--json")
    assert {r["bank_ref"]: r["status"] for r in json.loads(posted.stdout)}[
        "CAMT-20261105-0001"] == "posted"
    assert "FEE-1" not in open_numbers()
