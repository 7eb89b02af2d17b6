"""``aging --expected``: expected recovery from the collectability curve, tied to the aging."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from fractions import Fraction

import pytest

from arcli.insight.recovery import DEFAULT_CURVE
from arcli.insight.shares import Curve, parse_share
from tests.insight.books import AS_OF, invoice, load, payment

CUSTOMERS = "id,name\nK1,Kunde Eins\nK2,Kunde Zwei\nK3,Kunde Drei\n"


@pytest.fixture
def book(arcli, tmp_path):
    """K1: one invoice per stretch of the curve; K2: two tiny invoices whose bucket sum
    rounds differently from their separate roundings; K3: an unapplied payment."""
    load(arcli, tmp_path, CUSTOMERS, [
        invoice("A", "K1", -8, "100.00"),     # not due yet: 100%        -> 100.00
        invoice("B", "K1", 80, "200.00"),     # 80 days: 100%..80% -> 90% -> 180.00
        invoice("C", "K1", 140, "300.00"),    # 140: 80%..50% -> 65%     -> 195.00
        invoice("D", "K1", 200, "10.00"),     # 200: 50% - 15% x 20/185  -> 4.837837...
        invoice("E", "K1", 400, "50.00"),     # 1-2 years: 20%           -> 10.00
        invoice("F", "K1", 800, "1000.00"),   # over 2 years: 13.6%      -> 136.00
        payment("P", "K3", AS_OF, "30.00"),  # unapplied credit: not weighted
        invoice("G", "K2", 80, "0.03"),       # 0.027
        invoice("H", "K2", 80, "0.03"),       # 0.027: bucket 0.054 -> 0.05
    ])
    return arcli


def test_default_curve_points_and_interpolation():
    assert DEFAULT_CURVE.share(0) == 1
    assert DEFAULT_CURVE.share(60) == 1
    assert DEFAULT_CURVE.share(80) == Fraction(9, 10)
    assert DEFAULT_CURVE.share(100) == Fraction(8, 10)
    assert DEFAULT_CURVE.share(180) == Fraction(1, 2)
    assert DEFAULT_CURVE.share(365) == Fraction(35, 100)
    assert DEFAULT_CURVE.share(366) == DEFAULT_CURVE.share(730) == Fraction(1, 5)
    assert DEFAULT_CURVE.share(731) == DEFAULT_CURVE.share(5000) == Fraction(136, 1000)


def test_summary_per_bucket_and_total_hand_computed(book):
    rows = json.loads(book("aging", "--as-of", str(AS_OF), "--expected", "--json").stdout)
    k1 = next(r for r in rows if r["customer"] == "K1")
    assert (k1["current"], k1["61-90"], k1["91+"]) == ("100.00", "200.00", "1360.00")
    assert k1["expected_current"] == "100.00"
    assert k1["expected_1-30"] == "0.00"
    assert k1["expected_61-90"] == "180.00"
    assert k1["expected_91+"] == "345.84"          # 195 + 4.837837... + 10 + 136
    assert k1["expected_total"] == "625.84"
    k2 = next(r for r in rows if r["customer"] == "K2")
    assert (k2["expected_61-90"], k2["expected_total"]) == ("0.05", "0.05")
    k3 = next(r for r in rows if r["customer"] == "K3")
    assert (k3["unapplied"], k3["expected_total"]) == ("-30.00", "0.00")


def test_currency_totals_are_sums_of_the_rows_shown(book):
    text = book("aging", "--as-of", str(AS_OF), "--expected", "--csv", "--totals").stdout
    rows = list(csv.DictReader(io.StringIO(text)))
    total = next(r for r in rows if r["customer"] == "TOTAL")
    body = [r for r in rows if r["customer"] != "TOTAL"]
    for column in [c for c in total if c.startswith("expected_")]:
        assert Decimal(total[column]) == sum(Decimal(r[column]) for r in body)
    assert total["expected_total"] == "625.89"
    # and the aging part of the report is the plain aging, unchanged
    plain = list(csv.DictReader(io.StringIO(
        book("aging", "--as-of", str(AS_OF), "--csv", "--totals").stdout)))
    assert [{k: r[k] for k in plain[0]} for r in rows] == plain


def test_detail_share_and_expected_per_item(book):
    rows = json.loads(book("aging", "--as-of", str(AS_OF), "--expected", "--detail",
                           "--json").stdout)
    by_number = {r["number"]: r for r in rows}
    assert (by_number["B"]["recovery_share"], by_number["B"]["expected"]) == \
        ("0.900000", "180.00")
    assert (by_number["D"]["recovery_share"], by_number["D"]["expected"]) == \
        ("0.483784", "4.84")
    assert by_number["G"]["expected"] == "0.03"     # each item rounded alone
    assert (by_number["P"]["bucket"], by_number["P"]["expected"]) == ("unapplied", None)


@pytest.mark.parametrize("fmt", ["table", "csv", "tsv", "json", "jsonl"])
def test_every_format(book, fmt):
    result = book("aging", "--as-of", str(AS_OF), "--expected", "--format", fmt)
    assert result.exit_code == 0, result.output
    assert "345.84" in result.stdout
    assert "625.84" in result.stdout


def test_configured_curve(book, tmp_path):
    config = tmp_path / "arcli.yaml"
    config.write_text("aging:\n  expected_curve:\n    - [0, '100%']\n    - [100, '0']\n")
    book.config = config
    rows = json.loads(book("aging", "--as-of", str(AS_OF), "--expected", "--json").stdout)
    k1 = next(r for r in rows if r["customer"] == "K1")
    # B: 80 days -> 20% of 200; C..F beyond 100 days -> 0
    assert (k1["expected_61-90"], k1["expected_91+"], k1["expected_total"]) == \
        ("40.00", "0.00", "140.00")


@pytest.mark.parametrize(("curve", "message"), [
    ("    - [0, 0.8]\n", "line 3: aging.expected_curve[0]: write shares in quotes"),
    ("    - [0, '1']\n    - [0, '50%']\n", "line 4: aging.expected_curve[1]: days must "
     "increase"),
    ("    - [10, '120%']\n", "aging.expected_curve[0]: '120%' is not between"),
    ("    - [x, '1']\n", "aging.expected_curve[0]: 'x' is not a number of days"),
    ("    - 5\n", "aging.expected_curve[0]: each point is a pair"),
])
def test_bad_curve_is_a_located_error(book, tmp_path, curve, message):
    config = tmp_path / "arcli.yaml"
    config.write_text("aging:\n  expected_curve:\n" + curve)
    book.config = config
    result = book("aging", "--expected")
    assert result.exit_code == 2  # a config error is a usage error
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_share_parsing():
    assert parse_share("80%") == Fraction(4, 5)
    assert parse_share("0.136") == Fraction(136, 1000)
    assert parse_share(1) == 1
    with pytest.raises(ValueError):
        parse_share("nan")
    with pytest.raises(ValueError):
        Curve(()).share(1)


def test_minor_units_of_each_currency(arcli, tmp_path):
    """JPY has no minor unit, BHD three: each bucket sum is rounded to its own."""
    load(arcli, tmp_path, "id,name\nJ,Nihon\n", [
        invoice("J1", "J", 80, "1001", "JPY"),      # x 90% = 900.9 -> 901
        invoice("B1", "J", 80, "1.001", "BHD"),     # x 90% = 0.9009 -> 0.901
    ])
    rows = json.loads(arcli("aging", "--as-of", str(AS_OF), "--expected", "--json").stdout)
    figures = {r["currency"]: r["expected_61-90"] for r in rows}
    assert figures == {"JPY": "901", "BHD": "0.901"}


def test_document_basis_buckets_still_weigh_by_days_overdue(book):
    """Buckets follow --basis; the curve always reads days overdue (B: 80 days -> 90%)."""
    rows = json.loads(book("aging", "--as-of", str(AS_OF), "--basis", "document",
                           "--buckets", "100,1000", "--expected", "--json").stdout)
    k1 = next(r for r in rows if r["customer"] == "K1")
    # 0-100 by document date: A (100%) and B (80 days overdue: 90%)
    assert (k1["0-100"], k1["expected_0-100"]) == ("300.00", "280.00")
    assert k1["expected_total"] == "625.84"
