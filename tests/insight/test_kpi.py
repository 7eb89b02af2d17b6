"""``arcli kpi`` on a hand-computed book: every formula of the README's worked example."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

HEADER = "type,number,customer,date,due_date,amount,currency,reference,description\n"


@pytest.fixture
def book(arcli, tmp_path):
    """K1 (Ann), October 2026, 31 days: opening 1200 (A 1000 due 10-10, D 200 due 07-01);
    October: B 3100 due 11-04, C 500 due 10-11, credit note 100 on C, A paid.
    Sales: September 1000 (A), October 3500. K2 (Bob) only an old USD invoice."""
    (tmp_path / "c.csv").write_text("id,name,salesperson,credit_class\n"
                                    "K1,Eins,Ann,A\nK2,Zwei,Bob,B\n")
    (tmp_path / "l.csv").write_text(HEADER + (
        "invoice,D,K1,2026-06-01,2026-07-01,200.00,EUR,,\n"
        "invoice,A,K1,2026-09-10,2026-10-10,1000.00,EUR,,\n"
        "invoice,C,K1,2026-10-01,2026-10-11,500.00,EUR,,\n"
        "invoice,B,K1,2026-10-05,2026-11-04,3100.00,EUR,,\n"
        "payment,P,K1,2026-10-20,,1000.00,EUR,A,\n"
        "credit_note,CN,K1,2026-10-25,,100.00,EUR,C,\n"
        "invoice,U,K2,2026-08-01,2026-08-31,50.00,USD,,\n"))
    for kind, name in (("customers", "c.csv"), ("ledger", "l.csv")):
        result = arcli("import", kind, str(tmp_path / name), "--csv")
        assert result.exit_code == 0, result.output
    return arcli


def _rows(result) -> list[dict]:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_october_hand_computed(book):
    rows = _rows(book("kpi", "--period", "2026-10", "--json"))
    eur = next(r for r in rows if r["currency"] == "EUR")
    assert {k: eur[k] for k in ("opening", "credit_sales", "closing", "current", "overdue",
                                "over_90")} == {
        "opening": "1200.00", "credit_sales": "3500.00", "closing": "3700.00",
        "current": "3100.00", "overdue": "600.00", "over_90": "200.00"}
    assert eur["dso"] == "32.8"            # 3700 / 3500 x 31 = 32.77
    assert eur["dso_countback"] == "37.0"  # 3500 of October (31 days) + 200/1000 x 30
    assert eur["best_dso"] == "27.5"       # 3100 / 3500 x 31 = 27.46
    assert eur["add"] == "5.3"             # 600 / 3500 x 31 = 5.31
    assert eur["cei_pct"] == "62.5"        # (1200 + 3500 - 3700) / (1200 + 3500 - 3100)
    assert eur["overdue_pct"] == "16.2"    # 600 / 3700
    assert eur["over_90_pct"] == "5.4"     # 200 / 3700
    usd = next(r for r in rows if r["currency"] == "USD")
    # no sales in October: DSO undefined, count-back finds the 50.00 in August
    assert (usd["dso"], usd["cei_pct"], usd["overdue_pct"]) == (None, "0.0", "100.0")
    assert usd["dso_countback"] == "92.0"  # October 31 + September 30 + August: 50/50 x 31


def test_figures_tie_to_the_aging(book):
    rows = _rows(book("kpi", "--period", "2026-10", "--months", "2", "--json"))
    for row in rows:
        end = "2026-10-31" if row["period"] == "2026-10" else "2026-09-30"
        aging = json.loads(book("aging", "--as-of", end, "--json", "--totals",
                                "--currency", row["currency"]).stdout)
        total = next(r for r in aging if r["customer"] == "TOTAL")
        assert row["closing"] == total["total"]
        assert row["current"] == total["current"]
        assert row["over_90"] == total["91+"]
        debits = Decimal(total["total"]) - Decimal(total["unapplied"])
        assert Decimal(row["overdue"]) == debits - Decimal(total["current"])


def test_trend_months_and_grouping(book):
    rows = _rows(book("kpi", "--period", "2026-10", "--months", "3", "--by", "salesperson",
                      "--json"))
    assert [(r["period"], r["salesperson"], r["currency"]) for r in rows] == [
        ("2026-08", "Ann", "EUR"), ("2026-09", "Ann", "EUR"), ("2026-10", "Ann", "EUR"),
        ("2026-08", "Bob", "USD"), ("2026-09", "Bob", "USD"), ("2026-10", "Bob", "USD")]
    september = rows[1]
    # September: opening 200, sales 1000, closing 1200, A not yet due
    assert (september["dso"], september["best_dso"], september["cei_pct"]) == \
        ("36.0", "30.0", "0.0")


@pytest.mark.parametrize("fmt", ["table", "csv", "tsv", "json", "jsonl"])
def test_every_format(book, fmt):
    result = book("kpi", "--period", "2026-10", "--by", "class", "--format", fmt)
    assert result.exit_code == 0, result.output
    assert "32.8" in result.stdout and "62.5" in result.stdout


def test_bad_period_is_a_usage_error(book):
    result = book("kpi", "--period", "2026-13")
    assert result.exit_code == 2
    assert "period must be YYYY-MM" in result.stderr


def test_the_running_month_ends_today_and_a_month_not_begun_is_refused(book, tmp_path):
    """``this-month`` (today 2026-11-22) aged the book to 11-30: B, due 11-04, read as
    overdue against today's aging where it is 18 days late, and 2027-05 made everything
    91+ days. The kpi and the pack now stop at today."""
    (tmp_path / "nov.csv").write_text(HEADER + "invoice,E,K1,2026-11-01,2026-11-25,400.00,EUR,,\n")
    assert book("import", "ledger", str(tmp_path / "nov.csv")).exit_code == 0  # due 11-25
    [eur] = [r for r in _rows(book("kpi", "--period", "this-month", "--json"))
             if r["currency"] == "EUR"]
    aging = json.loads(book("aging", "--json", "--totals", "--currency", "EUR").stdout)
    total = next(r for r in aging if r["customer"] == "TOTAL")
    assert (eur["closing"], eur["current"], eur["over_90"]) == \
        (total["total"], total["current"], total["91+"])
    pack = tmp_path / "p.html"
    assert book("report", "pack", "--period", "this-month", "--out", str(pack)).exit_code == 0
    assert "2026-11-22" in pack.read_text(encoding="utf-8")
    for command in (["kpi"], ["report", "pack", "--out", str(tmp_path / "f.pdf")]):
        future = book(*command, "--period", "2027-05")
        assert future.exit_code == 2
        assert "2027-05 has not begun" in future.stderr


FX = ("fx:\n  base: EUR\n  rates:\n    USD:\n      - {from: 2026-01-01, rate: '0.9'}\n"
      "      - {from: 2026-10-15, rate: '0.8'}\n")


def test_company_currency_rows_from_the_dated_fx_table(book, tmp_path):
    config = tmp_path / "fx.yaml"
    config.write_text(FX)
    book.config = config
    rows = _rows(book("kpi", "--period", "2026-10", "--base", "--json"))
    assert [(r["currency"], r["converted"]) for r in rows] == \
        [("EUR", False), ("USD", False), ("EUR", True)]
    both = rows[2]
    # USD 50.00: opening at 0.9 (2026-09-30) = 45.00, closing at 0.8 (2026-10-31) = 40.00
    assert {k: both[k] for k in ("opening", "credit_sales", "closing", "current", "overdue",
                                 "over_90")} == {
        "opening": "1245.00", "credit_sales": "3500.00", "closing": "3740.00",
        "current": "3100.00", "overdue": "640.00", "over_90": "200.00"}
    assert both["dso"] == "33.1"             # 3740 / 3500 x 31 = 33.13
    assert both["dso_countback"] == "38.2"   # 31 + 240 / 1000 x 30
    assert both["cei_pct"] == "61.1"         # 1005 / 1645
    assert rows[0] == {**_rows(book("kpi", "--period", "2026-10", "--json"))[0],
                       "converted": False}


@pytest.mark.parametrize(("fx", "message"), [
    (FX.replace("2026-01-01", "2026-10-01"),
     "fx.rates has no USD rate dated on or before 2026-09-30"),
    (FX.replace("'0.9'", "0.9"), "fx.rates.USD[0].rate: write rates in quotes"),
    (FX.replace("base: EUR", "base: XXY"), "fx.base"),
    ("", "--base needs an `fx:` section"),
])
def test_fx_problems_are_usage_errors(book, tmp_path, fx, message):
    config = tmp_path / "fx.yaml"
    config.write_text(fx or "aging: {}\n")
    book.config = config
    result = book("kpi", "--period", "2026-10", "--base")
    assert result.exit_code == 2
    assert message in result.stderr
