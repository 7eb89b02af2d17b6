"""``arcli provision``: aging-rates and roll-rate provisions on hand-computed books."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest

HEADER = "type,number,customer,date,due_date,amount,currency,reference,description\n"
AS_OF = "2026-11-30"


def _load(arcli, tmp_path, customers: str, ledger: str) -> None:
    for kind, text in (("customers", customers), ("ledger", HEADER + ledger)):
        path = tmp_path / f"{kind}.csv"
        path.write_text(text, encoding="utf-8")
        result = arcli("import", kind, str(path), "--csv")
        assert result.exit_code == 0, result.output


@pytest.fixture
def band_book(arcli, tmp_path):
    """Ages from the document date on 2026-11-30 (and on 2026-10-31, the month end before):
    I1 182 days (152), I2 547, I6/I7 517 (487), I3 1415 (1385), I4 over five years;
    I5 is dated in November; P1 pays 400.00 of I1 on 2026-11-20; K2 holds an unapplied
    payment."""
    _load(arcli, tmp_path, "id,name\nK1,Eins\nK2,Zwei\n", (
        "invoice,I1,K1,2026-06-01,2026-07-01,1000.00,EUR,,\n"
        "invoice,I2,K1,2025-06-01,2025-07-01,333.33,EUR,,\n"
        "invoice,I6,K1,2025-07-01,2025-07-31,0.05,EUR,,\n"
        "invoice,I7,K1,2025-07-01,2025-07-31,0.05,EUR,,\n"
        "invoice,I3,K1,2023-01-15,2023-02-15,100.00,EUR,,\n"
        "invoice,I4,K1,2020-01-01,2020-01-31,80.00,EUR,,\n"
        "invoice,I5,K1,2026-11-10,2026-12-10,200.00,EUR,,\n"
        "payment,P1,K1,2026-11-20,,400.00,EUR,I1,\n"
        "payment,P2,K2,2026-11-01,,70.00,EUR,,\n"))
    return arcli


def _by_band(result) -> dict[str, dict]:
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    return {r["band"]: r for r in rows}


def test_aging_rates_hand_computed_with_movement(band_book):
    rows = _by_band(band_book("provision", "--as-of", AS_OF, "--json", "--totals"))
    assert {band: (r["balance"], r["rate"], r["provision"]) for band, r in rows.items()} == {
        "0-365": ("800.00", "0.050000", "40.00"),          # I1 600 + I5 200
        "366-730": ("333.43", "0.100000", "33.34"),        # 33.343, one rounding per band
        "731-1095": ("0.00", "0.300000", "0.00"),
        "1096-1460": ("100.00", "0.500000", "50.00"),
        "1461-1825": ("0.00", "0.800000", "0.00"),
        "1826+": ("80.00", "1.000000", "80.00"),
        "TOTAL": ("1313.43", None, "203.34"),
    }
    total = rows["TOTAL"]
    # at 2026-10-31: I1 still 1000.00 (paid later), I5 not yet dated
    assert (total["previous_as_of"], total["previous_balance"], total["previous_provision"]) \
        == ("2026-10-31", "1513.43", "213.34")
    assert total["change"] == "-10.00"
    assert rows["0-365"]["previous_provision"] == "50.00"


def test_balances_tie_to_the_aging(band_book):
    rows = _by_band(band_book("provision", "--as-of", AS_OF, "--json", "--totals"))
    aging = json.loads(band_book("aging", "--as-of", AS_OF, "--basis", "document",
                                 "--buckets", "365,730,1095,1460,1825", "--json",
                                 "--totals").stdout)
    total = next(r for r in aging if r["customer"] == "TOTAL")
    # provision balances are the aging's open debits: total less unapplied credit
    assert Decimal(rows["TOTAL"]["balance"]) == \
        Decimal(total["total"]) - Decimal(total["unapplied"])
    for band in ("0-365", "366-730", "1096-1460", "1826+"):
        assert rows[band]["balance"] == total[band]


def test_own_bands_from_config(band_book, tmp_path):
    config = tmp_path / "arcli.yaml"
    config.write_text("provision:\n  bands:\n    - {up_to: 365, rate: '0%'}\n"
                      "    - {rate: '50%'}\n")
    band_book.config = config
    rows = _by_band(band_book("provision", "--as-of", AS_OF, "--json", "--totals"))
    assert list(rows) == ["0-365", "366+", "TOTAL"]
    assert (rows["366+"]["balance"], rows["366+"]["provision"]) == ("513.43", "256.72")


@pytest.mark.parametrize(("bands", "message"), [
    ("    - {up_to: 365, rate: 0.05}\n    - {rate: '1'}\n",
     "line 3: provision.bands[0].rate: write shares in quotes"),
    ("    - {up_to: 365, rate: '5%'}\n    - {up_to: 100, rate: '1'}\n    - {rate: '1'}\n",
     "line 4: provision.bands[1].up_to: band limits must increase"),
    ("    - {up_to: 365, rate: '5%'}\n    - {up_to: 730, rate: '1'}\n",
     "provision.bands[1].up_to: the last band must have no upper limit"),
    ("    - {up_to: 365, rat: '5%'}\n", "provision.bands[0].rat: unknown key"),
])
def test_bad_bands_are_located_errors(band_book, tmp_path, bands, message):
    config = tmp_path / "arcli.yaml"
    config.write_text("provision:\n  bands:\n" + bands)
    band_book.config = config
    result = band_book("provision", "--as-of", AS_OF)
    assert result.exit_code == 2  # a config error is a usage error
    assert message in result.stderr
    assert "Traceback" not in result.output


@pytest.fixture
def roll_book(arcli, tmp_path):
    """Month-end agings (buckets current, 1-30, 31-60, 61+):
    2026-08-31: 1-30 200 | 09-30: current 1000, 1-30 400, 31-60 200 |
    10-31: current 900, 1-30 1000, 61+ 200 | 11-30: 1-30 300, 31-60 500, 61+ 200."""
    _load(arcli, tmp_path, "id,name\nK1,Eins\n", (
        "invoice,X1,K1,2026-09-01,2026-10-15,1000.00,EUR,,\n"
        "invoice,X2,K1,2026-09-10,2026-09-20,400.00,EUR,,\n"
        "invoice,X3,K1,2026-10-20,2026-11-10,300.00,EUR,,\n"
        "invoice,X4,K1,2026-07-01,2026-08-20,200.00,EUR,,\n"
        "invoice,X5,K1,2026-10-25,2026-11-20,600.00,EUR,,\n"
        "payment,P2,K1,2026-10-05,,400.00,EUR,X2,\n"
        "payment,P1,K1,2026-11-10,,500.00,EUR,X1,\n"
        "payment,P5,K1,2026-11-25,,600.00,EUR,X5,\n"))
    config = tmp_path / "arcli.yaml"
    config.write_text("provision:\n  method: roll-rate\n  roll_buckets: [30, 60]\n"
                      "  months: 2\n")
    arcli.config = config
    return arcli


def test_roll_rate_matrix_hand_computed(roll_book):
    result = roll_book("provision", "--as-of", AS_OF, "--show-matrix", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["bucket"]: r for r in json.loads(result.stdout)}
    # current: (1000 + 300) / (1000 + 900); 1-30: (0 + 500) / (400 + 1000);
    # 31-60: 200 / 200 in the one month it held anything; 61+ is taken as lost
    assert {b: (r["exposed"], r["rolled"], r["months_used"], r["roll_rate"],
                r["loss_rate"]) for b, r in rows.items()} == {
        "current": ("1900.00", "1300.00", 2, "0.684211", "0.244361"),   # 13/19, 65/266
        "1-30": ("1400.00", "500.00", 2, "0.357143", "0.357143"),       # 5/14
        "31-60": ("200.00", "200.00", 1, "1.000000", "1.000000"),
        "61+": (None, None, None, "1.000000", "1.000000"),
    }


def test_roll_rate_provision_and_movement(roll_book):
    rows = _by_band(roll_book("provision", "--as-of", AS_OF, "--json", "--totals"))
    assert {b: (r["balance"], r["provision"]) for b, r in rows.items()} == {
        "current": ("0.00", "0.00"),
        "1-30": ("300.00", "107.14"),          # 300 x 5/14 = 107.142857...
        "31-60": ("500.00", "500.00"),
        "61+": ("200.00", "200.00"),
        "TOTAL": ("1000.00", "807.14"),
    }
    # at 2026-10-31 from the months up to it: current and 1-30 lose 1/3
    # (1-30: 200 of 200 in September, 0 of 400 in October)
    assert {b: r["previous_provision"] for b, r in rows.items()} == {
        "current": "300.00", "1-30": "333.33", "31-60": "0.00", "61+": "200.00",
        "TOTAL": "833.33"}
    assert rows["TOTAL"]["change"] == "-26.19"


def test_show_matrix_needs_roll_rate(band_book):
    result = band_book("provision", "--show-matrix")
    assert result.exit_code == 2
    assert "--method roll-rate" in result.stderr


@pytest.mark.parametrize("fmt", ["table", "csv", "tsv", "json", "jsonl"])
@pytest.mark.parametrize("method", ["aging-rates", "roll-rate"])
def test_every_format(band_book, fmt, method):
    result = band_book("provision", "--as-of", AS_OF, "--method", method, "--format", fmt,
                       "--totals")
    assert result.exit_code == 0, result.output
    assert "1,313.43" in result.stdout if fmt == "table" else "1313.43" in result.stdout
    if fmt == "csv":
        rows = list(csv.DictReader(io.StringIO(result.stdout)))
        body = [r for r in rows if r["band"] != "TOTAL"]
        total = next(r for r in rows if r["band"] == "TOTAL")
        for column in ("balance", "provision", "previous_provision", "change"):
            assert sum(Decimal(r[column]) for r in body) == Decimal(total[column])


def test_the_example_configs_documented_defaults_are_the_defaults(band_book, tmp_path):
    """Uncommenting the provision and expected_curve lines of config.example.yaml changes
    nothing: what it documents is what runs without it."""
    from tests.conftest import ROOT

    lines = (ROOT / "config.example.yaml").read_text(encoding="utf-8").splitlines()
    start = lines.index("# provision:")
    block = []
    for line in lines[start:]:
        if not line.startswith("#"):
            break
        block.append(line[2:].split("  #")[0].rstrip())
    curve = [line for line in lines if "expected_curve:" in line or "[366, '20%']" in line]
    config = tmp_path / "documented.yaml"
    config.write_text("aging:\n" + "\n".join(c.replace("  # ", "  ", 1) for c in curve)
                      + "\n" + "\n".join(block) + "\n", encoding="utf-8")
    plain = {m: band_book("provision", "--as-of", AS_OF, "--method", m, "--json").stdout
             for m in ("aging-rates", "roll-rate")}
    expected = band_book("aging", "--as-of", AS_OF, "--expected", "--json").stdout
    band_book.config = config
    for method, text in plain.items():
        result = band_book("provision", "--as-of", AS_OF, "--method", method, "--json")
        assert result.exit_code == 0, result.output
        assert result.stdout == text
    result = band_book("aging", "--as-of", AS_OF, "--expected", "--json")
    assert result.exit_code == 0, result.output
    assert result.stdout == expected


@pytest.mark.parametrize("fmt", ["table", "csv", "tsv", "json", "jsonl"])
def test_matrix_in_every_format(roll_book, fmt):
    result = roll_book("provision", "--as-of", AS_OF, "--show-matrix", "--format", fmt)
    assert result.exit_code == 0, result.output
    assert "0.357143" in result.stdout
    assert ("1,400.00" if fmt == "table" else "1400.00") in result.stdout
