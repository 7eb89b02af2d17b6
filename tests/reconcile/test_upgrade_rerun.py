"""A statement posted by arcli 0.1.0 and read again after the upgrade posts nothing twice.

The previous release (commit fd6094f) keyed some transactions differently: an MT940 line
without a bank reference by the payer's reference, a camt entry without one by the
end-to-end id, a camt batch booking as one receipt of the whole entry. The book here is
made and posted by that release itself (its source taken from git), then upgraded and
given the same statements again, grown by the rest of the day as a cron reads them.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, ROOT, TODAY, Arcli

PREVIOUS_RELEASE = "fd6094f"

MT940_HEAD = """:20:STMT261106
:25:DE89370400440532013000
:28C:00311/001
:60F:C261105EUR0,00
"""
MT940_LINES = [
    # No bank reference: 0.1.0 keyed these by the payer's reference, NONREF and an invoice.
    ":61:2611061106C1000,00NTRFNONREF\n"
    ":86:/NAME/Northwind Trading Ltd/REMI/INV-2026-0195\n",
    ":61:2611061106C2000,00NTRFINV-2026-0122\n"
    ":86:/NAME/Mueller und Soehne GmbH/REMI/INV-2026-0122\n",
]
#: Later the same day: another payer's NONREF receipt of the same amount (0.1.0 would
#: have taken it for the first).
MT940_LATER = [
    ":61:2611061106C1000,00NTRFNONREF\n"
    ":86:/NAME/Mueller und Soehne GmbH/REMI/INV-2026-0163\n",
]

CAMT_ENTRY = """<Ntry><Amt Ccy="EUR">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>
<BookgDt><Dt>2026-11-06</Dt></BookgDt>{ref}<NtryDtls>{details}</NtryDtls></Ntry>"""
CAMT_TX = """<TxDtls>{amount}<Refs><EndToEndId>{e2e}</EndToEndId></Refs>
<RltdPties><Dbtr><Nm>{payer}</Nm></Dbtr></RltdPties><RmtInf><Ustrd>{text}</Ustrd></RmtInf>
</TxDtls>"""
CAMT_ENTRIES = [
    # No AcctSvcrRef or NtryRef: 0.1.0 keyed it by the payer's end-to-end id.
    CAMT_ENTRY.format(amount="500.00", ref="", details=CAMT_TX.format(
        amount="", e2e="E2E-77", payer="Mueller und Soehne GmbH", text="INV-2026-0163")),
    # A batch booking: 0.1.0 posted one receipt of 1500.00 under the entry's reference.
    CAMT_ENTRY.format(amount="1500.00", ref="<AcctSvcrRef>BATCH-1</AcctSvcrRef>", details="".join(
        CAMT_TX.format(amount=f'<Amt Ccy="EUR">{amount}</Amt>', e2e=e2e, payer=payer,
                       text=text)
        for amount, e2e, payer, text in (
            ("1000.00", "B-1", "Northwind Trading Ltd", "INV-2026-0195"),
            ("300.00", "B-2", "Mueller und Soehne GmbH", "INV-2026-0122"),
            ("200.00", "B-3", "Mueller und Soehne GmbH", "INV-2026-0122")))),
]
CAMT_LATER = [
    CAMT_ENTRY.format(amount="250.00", ref="", details=CAMT_TX.format(
        amount="", e2e="E2E-77", payer="Mueller und Soehne GmbH", text="INV-2026-0122")),
]


def _mt940(lines: list[str]) -> str:
    total = sum(Decimal(re.search(r"C(\d+,\d\d)", line).group(1).replace(",", "."))
                for line in lines)
    return MT940_HEAD + "".join(lines) + f":62F:C261106EUR{total:.2f}\n-\n".replace(".", ",")


def _camt(entries: list[str]) -> str:
    total = sum(Decimal(re.search(r"<Amt Ccy=\"EUR\">([\d.]+)<", e).group(1))
                for e in entries)
    balance = """<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>
<Amt Ccy="EUR">{amount:.2f}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>2026-11-06</Dt></Dt></Bal>"""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"><BkToCstmrStmt>
<GrpHdr><MsgId>M1</MsgId><CreDtTm>2026-11-06T18:00:00</CreDtTm></GrpHdr><Stmt><Id>S1</Id>
<Acct><Id><IBAN>DE89370400440532013000</IBAN></Id></Acct>
{balance.format(code="OPBD", amount=0)}{balance.format(code="CLBD", amount=total)}
{"".join(entries)}</Stmt></BkToCstmrStmt></Document>
"""


@pytest.fixture(scope="module")
def previous_release(tmp_path_factory) -> Path:
    """The source of arcli 0.1.0, from the repository's history."""
    target = tmp_path_factory.mktemp("arcli-0.1.0")
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar",
                              PREVIOUS_RELEASE, "src/arcli"], capture_output=True)
    if archive.returncode != 0:
        pytest.skip(f"no git history with {PREVIOUS_RELEASE}: {archive.stderr.decode()}")
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target / "src"


def _old_arcli(source: Path, db: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(source), "ARCLI_TODAY": TODAY}
    return subprocess.run([sys.executable, "-m", "arcli", "--db", str(db), *args],
                          cwd=db.parent, env=env, capture_output=True, text=True)


def _payments(db: Path) -> dict[str, tuple[str, int]]:
    with sqlite3.connect(db) as conn:
        return {number: (customer, amount) for number, customer, amount in conn.execute(
            "SELECT number, customer_id, amount_minor FROM documents WHERE type = 'payment'")}


def _balances(db: Path) -> dict[tuple[str, str], int]:
    with sqlite3.connect(db) as conn:
        return {(c, cur): total for c, cur, total in conn.execute(
            "SELECT customer_id, currency, SUM(sign * amount_minor) FROM documents "
            "GROUP BY customer_id, currency")}


def _statuses(result) -> dict[str, str]:
    return {r["bank_ref"]: r["status"] for r in json.loads(result.stdout)}


@pytest.fixture
def upgraded_book(previous_release: Path, tmp_path: Path) -> tuple[Arcli, Path]:
    """A book made by 0.1.0, the MT940 and camt statements posted by it, then upgraded."""
    db = tmp_path / "book.db"
    steps = [("init", "--no-config"),
             ("import", "customers", str(EXAMPLES / "customers.csv"), "--csv"),
             ("import", "ledger", str(EXAMPLES / "ledger.csv"), "--csv")]
    for name, text in (("day.sta", _mt940(MT940_LINES)), ("day.xml", _camt(CAMT_ENTRIES))):
        (tmp_path / name).write_text(text, encoding="utf-8")
        steps.append(("reconcile", "bank", str(tmp_path / name), "--apply", "--format", "json"))
    for step in steps:
        result = _old_arcli(previous_release, db, *step)
        assert result.returncode == 0, result.stderr
    book = Arcli(str(db), tmp_path)
    assert book("init", "--no-config").exit_code == 0
    return book, db


def test_the_previous_release_posted_what_the_rerun_must_recognise(upgraded_book):
    """The premise: 0.1.0 posted under the old keys, the batch as one receipt."""
    _, db = upgraded_book
    with sqlite3.connect(db) as conn:
        stored = {ref: amount for ref, amount in conn.execute(
            "SELECT bank_ref, amount_minor FROM bank_transactions")}
    assert stored == {"NONREF": 100000, "INV-2026-0122": 200000, "E2E-77": 50000,
                      "BATCH-1": 150000}


#: What the rerun reports: each receipt already posted, under the reference 0.1.0 gave it.
LEGACY_STATUSES = {
    "day.sta": {"20261106/C1000": "already posted as NONREF",
                "INV-2026-0122/20261106/C2000": "already posted as INV-2026-0122"},
    "day.xml": {"2026-11-06-500.00-S1-1": "already posted as E2E-77",
                **{f"BATCH-1/{n}": "already posted as BATCH-1" for n in (1, 2, 3)}},
}


@pytest.mark.parametrize(("name", "grown"), [
    ("day.sta", _mt940(MT940_LINES + MT940_LATER)),
    ("day.xml", _camt(CAMT_ENTRIES + CAMT_LATER)),
])
def test_a_rerun_after_the_upgrade_posts_only_what_is_new(upgraded_book, name, grown):
    book, db = upgraded_book
    path = db.parent / name
    before_payments, before_balances = _payments(db), _balances(db)
    same = book("reconcile", "bank", str(path), "--apply", "--json")
    assert same.exit_code == 0, same.output
    assert _statuses(same) == LEGACY_STATUSES[name]
    assert (_payments(db), _balances(db)) == (before_payments, before_balances)
    # A dry run says the same.
    assert _statuses(book("reconcile", "bank", str(path), "--json")) == LEGACY_STATUSES[name]

    path.write_text(grown, encoding="utf-8")  # the day's statement, read again at night
    again = book("reconcile", "bank", str(path), "--apply", "--json")
    assert again.exit_code == 0, again.output
    statuses = _statuses(again)
    assert sorted(statuses.values()).count("posted") == 1, statuses
    new = {k: v for k, v in _payments(db).items() if k not in before_payments}
    assert list(new.values()) == [("C006", 100000 if name == "day.sta" else 25000)]
    after = _balances(db)
    assert after[("C006", "EUR")] == before_balances[("C006", "EUR")] - \
        next(iter(new.values()))[1]
    assert {k: v for k, v in after.items() if k != ("C006", "EUR")} == \
        {k: v for k, v in before_balances.items() if k != ("C006", "EUR")}
    third = book("reconcile", "bank", str(path), "--apply", "--json")
    assert all(s.startswith("already posted") for s in _statuses(third).values())
    assert _payments(db).keys() == before_payments.keys() | new.keys()


def test_the_same_payer_reference_on_another_day_is_a_new_receipt(upgraded_book):
    book, db = upgraded_book
    later = db.parent / "next-day.sta"
    later.write_text(_mt940([MT940_LINES[0]]).replace("261106", "261107").replace(
        "1106C", "1107C"), encoding="utf-8")
    before = _payments(db)
    result = book("reconcile", "bank", str(later), "--apply", "--json")
    assert result.exit_code == 0, result.output
    assert list(_statuses(result).values()) == ["posted"]
    assert len(_payments(db)) == len(before) + 1


def test_receipts_under_one_payer_reference_are_all_posted_on_a_new_book(bank_book):
    day = Path(bank_book.cwd) / "day.sta"
    day.write_text(_mt940(MT940_LINES + MT940_LATER).replace(
        "NTRFINV-2026-0122", "NTRFNONREF"), encoding="utf-8")
    result = bank_book("reconcile", "bank", str(day), "--apply", "--json")
    assert result.exit_code == 0, result.output
    assert list(_statuses(result).values()) == ["posted"] * 3


CORPUS = Path(__file__).parent / "corpus"


@pytest.mark.parametrize("path", sorted(p for p in CORPUS.iterdir()
                                        if p.suffix in (".sta", ".xml")), ids=lambda p: p.name)
def test_the_legacy_key_is_what_the_previous_release_read(previous_release, path):
    """Each booking's ``legacy`` key is the reference and amount 0.1.0's own parser gave
    it (loaded from that release's file), in file order; the parts of a camt batch share
    one. A file that release refused has nothing to compare (it posted nothing)."""
    import importlib.util

    from arcli.errors import InputError
    from arcli.reconcile.bankformats import read_statement

    spec = importlib.util.spec_from_file_location(
        "arcli_0_1_0_bankformats", previous_release / "arcli/reconcile/bankformats.py")
    old = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = old  # its dataclass looks its module up
    try:
        spec.loader.exec_module(old)
    finally:
        del sys.modules[spec.name]
    try:
        then = old.read_statement(path, None)
    except (InputError, ValueError) as exc:
        pytest.skip(f"0.1.0 refused it: {exc}")
    keys: dict[str, tuple[str, object]] = {}
    for tx in read_statement(path, None):
        assert tx.legacy is not None
        keys.setdefault(tx.legacy.booking, (tx.legacy.ref, tx.legacy.amount))
    assert list(keys.values()) == [(tx.bank_ref, tx.amount) for tx in then]
