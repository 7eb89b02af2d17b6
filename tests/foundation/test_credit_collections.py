"""Credit control statuses and collection rates, checked against hand-worked figures."""

from __future__ import annotations

import json
from decimal import Decimal


def by_key(rows, *keys):
    return {tuple(r[k] for k in keys): r for r in rows}


def test_credit_status_limits_and_hold_exit_code(example_book):
    result = example_book("credit", "--json")
    assert result.exit_code == 3  # somebody is on hold
    rows = by_key(json.loads(result.stdout), "customer", "currency")
    c002 = rows[("C002", "CNY")]
    # 88,000 + 120,000 + 22,000 (Kingdee-free example) = 208,000 > 200,000 limit.
    assert (c002["balance"], c002["available"], c002["status"]) == \
        ("208000.00", "-8000.00", "hold")
    assert "over credit limit" in c002["reasons"]
    c003 = rows[("C003", "EUR")]
    assert (c003["status"], c003["utilization_pct"]) == ("ok", "75.0")
    # C004 paid INV-2026-0111 (15,000, due 2026-07-31) on 2026-08-15: 15 days late; the
    # 2,200 invoice was settled before its due date: (15*15000 + 0*2200) / 17200 = 13.1.
    assert rows[("C004", "USD")]["avg_days_late"] == "13.1"
    # C005 has no limit in EUR (its limit is in USD): reported, not converted.
    assert rows[("C005", "EUR")]["credit_limit"] is None


def test_credit_filters_and_ok_exit(example_book):
    result = example_book("credit", "--customer", "C003", "--json")
    assert result.exit_code == 0
    assert [r["customer"] for r in json.loads(result.stdout)] == ["C003"]


def test_collections_tie_out_and_rate(example_book, tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text('collections:\n  targets:\n    "2026-10":\n      "林志明":\n'
                      '        USD: "10000.00"\n')
    example_book.config = config
    rows = json.loads(example_book("collections", "--period", "2026-10", "--json").stdout)
    for r in rows:
        opening, invoiced, credited, collected, closing = (
            Decimal(r[k]) for k in ("opening", "invoiced", "credited", "collected", "closing"))
        assert opening + invoiced - credited - collected == closing
    lin = by_key(rows, "salesperson", "currency")[("林志明", "USD")]
    # Opening 2026-09-30: 9,800 + 14,350.75 = 24,150.75; collected 5,000 in October.
    assert (lin["opening"], lin["collected"]) == ("24150.75", "5000.00")
    assert lin["collection_rate_pct"] == "20.7"  # 5000 / 24150.75
    assert (lin["target"], lin["achievement_pct"]) == ("10000.00", "50.0")
