"""Level thresholds, class shifts, and interest against hand-computed examples."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from arcli.config import Config
from arcli.dunning.interest import (
    InterestPolicy,
    RateTableError,
    compensation,
    interest_policy,
    item_interest,
)
from arcli.dunning.policy import DEFAULT_LEVELS, Policy, dunning_policy, item_level, next_level
from arcli.errors import ConfigError

D = Decimal


@pytest.mark.parametrize(("days", "level"),
                         [(-3, 0), (0, 0), (1, 1), (29, 1), (30, 2), (59, 2), (60, 3), (89, 3),
                          (90, 4), (400, 4)])
def test_level_thresholds(days, level):
    assert item_level(DEFAULT_LEVELS, days) == level


def test_class_shifts_looser_for_a_tighter_for_c():
    policy = Policy()
    assert item_level(policy.levels_for("A"), 43) == 1
    assert item_level(policy.levels_for("A"), 44) == 2
    assert item_level(policy.levels_for("B"), 30) == 2
    assert item_level(policy.levels_for("C"), 23) == 2
    assert item_level(policy.levels_for("C"), 22) == 1


def test_letters_never_skip_a_level_unless_configured():
    assert next_level(4, 0, False, 4) == 1
    assert next_level(4, 2, False, 4) == 3
    assert next_level(2, 3, False, 4) == 2
    assert next_level(4, 0, True, 4) == 4


def test_policy_config_errors_name_line_and_key(tmp_path):
    import yaml

    from arcli.config import load_config

    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump({"dunning": {"levels": [
        {"name": "one", "days": 10}, {"name": "two", "days": 5}]}}))
    with pytest.raises(ConfigError, match=r"line \d+: dunning.levels\[1\].days: must be larger"):
        dunning_policy(load_config(path))
    path.write_text("dunning:\n  levels:\n    - {name: x, days: -1}\n")
    with pytest.raises(ConfigError, match=r"line 3: dunning.levels\[0\].days"):
        dunning_policy(load_config(path))


def test_separate_policy_for_a_class():
    config = Config({"dunning": {"classes": {"C": {"levels": [
        {"name": "Demand", "days": 1, "template": "demand"},
        {"name": "Final", "days": 15, "template": "final"}]}}}}, "<test>")
    policy = dunning_policy(config)
    assert [lv.template for lv in policy.levels_for("C")] == ["demand", "final"]
    assert len(policy.levels_for("A")) == 4


def policy_for(preset: str, **extra) -> InterestPolicy:
    return interest_policy(Config({"enabled": True, "preset": preset, **extra}, "<test>"))


def test_contractual_rate_act_365():
    # 1,000.00 at 8% for 30 days: 1000 * 0.08 * 30 / 365 = 6.5753... -> 6.58
    policy = policy_for("contractual", rate="8")
    assert item_interest(policy, "EUR", dt.date(2026, 1, 31), dt.date(2026, 3, 2),
                         D("1000.00")) == D("6.58")


def test_german_bgb_288_splits_at_the_base_rate_change():
    # 10,000.00; base rate 2.27% to 30 June 2025, 1.27% from 1 July; margin 9 points.
    # 16 days at 11.27% = 49.4027..., 14 days at 10.27% = 39.3918... -> 88.79
    policy = policy_for("de")
    assert item_interest(policy, "EUR", dt.date(2025, 6, 15), dt.date(2025, 7, 15),
                         D("10000.00")) == D("88.79")
    assert compensation(policy, "EUR", D("10000.00")) == D("40.00")
    assert compensation(policy, "USD", D("10000.00")) == D("0.00")


def test_eu_directive_splits_at_the_half_year():
    # ECB MRO 4.25% (H2 2024) and 3.15% (H1 2025), plus 8 points, on 5,000.00:
    # 31 days at 12.25% = 52.0205..., 30 days at 11.15% = 45.8219... -> 97.84
    policy = policy_for("eu")
    assert item_interest(policy, "EUR", dt.date(2024, 12, 1), dt.date(2025, 1, 31),
                         D("5000.00")) == D("97.84")


def test_uk_late_payment_act_rate_and_fixed_sums():
    # BoE 4.75% on 31 Dec 2024 + 8 = 12.75%; 2,500.00 for 60 days = 52.3972... -> 52.40
    policy = policy_for("uk")
    assert item_interest(policy, "GBP", dt.date(2025, 3, 1), dt.date(2025, 4, 30),
                         D("2500.00")) == D("52.40")
    assert [compensation(policy, "GBP", D(x)) for x in ("999.99", "2500", "10000")] == \
        [D("40.00"), D("70.00"), D("100.00")]


def test_partial_payment_reduces_the_base_from_its_date_act_360():
    # 1,000 at 10% act/360: 10 days on 1,000 (2.7777...) + 20 days on 600 (3.3333...) = 6.11
    policy = policy_for("contractual", rate="10", basis="act/360")
    assert item_interest(policy, "EUR", dt.date(2026, 1, 1), dt.date(2026, 1, 31),
                         D("600.00"), [(dt.date(2026, 1, 11), D("400.00"))]) == D("6.11")


def test_act_act_uses_each_years_length():
    # 10 days of 2023 over 365 (2.7397...) + 10 days of 2024 over 366 (2.7322...) = 5.47
    policy = policy_for("contractual", rate="10", basis="act/act")
    assert item_interest(policy, "EUR", dt.date(2023, 12, 22), dt.date(2024, 1, 11),
                         D("1000.00")) == D("5.47")


def test_user_extends_the_rate_table_and_gaps_are_errors():
    policy = policy_for("eu", reference_rates={"2026-01-01": "2.00"})
    # 2026: 10 points; 1,000 for 73 days: 1000 * 0.10 * 73 / 365 = 20.00
    assert item_interest(policy, "EUR", dt.date(2026, 1, 1), dt.date(2026, 3, 15),
                         D("1000.00")) == D("20.00")
    with pytest.raises(RateTableError, match="reference_rates"):
        item_interest(policy, "EUR", dt.date(2020, 1, 1), dt.date(2020, 2, 1), D("1.00"))
