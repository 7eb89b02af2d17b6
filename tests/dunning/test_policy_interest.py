"""Level thresholds, class shifts, and interest against hand-computed examples."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from arcli.config import Config
from arcli.dunning.interest import (
    PRESETS,
    InterestPolicy,
    RateTableError,
    compensation,
    interest_policy,
    item_interest,
    shipped_rates,
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
    # 16-30 June: 15 days at 11.27% = 46.3150...; 1-15 July: 15 days at 10.27% = 42.2054...
    # -> 88.52 (1 July itself at the new rate)
    policy = policy_for("de")
    assert item_interest(policy, "EUR", dt.date(2025, 6, 15), dt.date(2025, 7, 15),
                         D("10000.00")) == D("88.52")
    assert compensation(policy, "EUR", D("10000.00")) == D("40.00")
    assert compensation(policy, "USD", D("10000.00")) == D("0.00")


def test_eu_directive_splits_at_the_half_year():
    # ECB MRO 4.25% (H2 2024) and 3.15% (H1 2025), plus 8 points, on 5,000.00:
    # 2-31 Dec: 30 days at 12.25% = 50.3424...; 1-31 Jan: 31 days at 11.15% = 47.3493...
    # -> 97.69
    policy = policy_for("eu")
    assert item_interest(policy, "EUR", dt.date(2024, 12, 1), dt.date(2025, 1, 31),
                         D("5000.00")) == D("97.69")


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
    # 23-31 Dec: 9 days of 2023 over 365 (2.4657...) + 1-11 Jan: 11 days of 2024 over 366
    # (3.0054...) = 5.47
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


def test_a_new_rate_is_charged_from_its_effective_day():
    # §247 BGB: the base rate changes ON 1 July. 1 July 2025 alone, 10,000.00 at
    # 1.27 + 9 = 10.27%: 10000 * 0.1027 / 365 = 2.8136... -> 2.81 (not 11.27%: 3.09).
    policy = policy_for("de")
    assert item_interest(policy, "EUR", dt.date(2025, 6, 30), dt.date(2025, 7, 1),
                         D("10000.00")) == D("2.81")
    # 30 June alone is still at the old rate: 10000 * 0.1127 / 365 = 3.0876... -> 3.09
    assert item_interest(policy, "EUR", dt.date(2025, 6, 29), dt.date(2025, 6, 30),
                         D("10000.00")) == D("3.09")


def test_payments_dated_after_the_end_do_not_raise_the_base():
    # 1,000.00 open on 31 January at 10% for 30 days = 8.2191... -> 8.22; a payment of
    # 1,000.00 on 10 February is not part of January's base.
    policy = policy_for("contractual", rate="10")
    later = [(dt.date(2026, 2, 10), D("1000.00"))]
    assert item_interest(policy, "EUR", dt.date(2026, 1, 1), dt.date(2026, 1, 31),
                         D("1000.00"), later) == D("8.22")


_TABLE_DAYS = st.dates(dt.date(2023, 1, 2), dt.date(2026, 12, 31))


@given(day=_TABLE_DAYS, preset=st.sampled_from(["eu", "de", "uk"]))
def test_any_single_day_is_charged_at_the_rate_in_force_that_day(day, preset):
    # On 36,500.00 act/365 one day's interest is the annual rate in percent as an amount.
    policy = policy_for(preset)
    table = [(dt.date.fromisoformat(d), D(r)) for d, r in PRESETS[preset].table]
    in_force = [r for d, r in table if d <= day][-1] + PRESETS[preset].margin
    assert item_interest(policy, "EUR", day - dt.timedelta(days=1), day,
                         D("36500.00")) == in_force.quantize(D("0.01"))


@given(start=_TABLE_DAYS, days=st.integers(1, 400), later=st.lists(
    st.tuples(st.integers(1, 60), st.decimals("0.01", "99999.99", places=2)), max_size=3))
def test_payments_after_the_end_never_change_the_interest(start, days, later):
    policy = policy_for("eu")
    end = start + dt.timedelta(days=days)
    after = [(end + dt.timedelta(days=n), amount) for n, amount in later]
    assert item_interest(policy, "EUR", start, end, D("5000.00"), after) == \
        item_interest(policy, "EUR", start, end, D("5000.00"))


def test_shipped_tables_say_where_they_come_from_and_when_they_were_updated():
    data = shipped_rates()
    dt.date.fromisoformat(data["updated"])
    for key in ("ecb_mro", "bundesbank_base", "boe_base", "cn_lpr_1y"):
        table = data["tables"][key]
        assert table["source"] and table["checked"]
        dates = [dt.date.fromisoformat(d) for d, _ in table["rates"]]
        assert dates == sorted(dates)
    # Bundesbank, 1 January 2026: unchanged at 1.27 % (MRO 2.15 % on 22 December 2025).
    assert data["tables"]["bundesbank_base"]["rates"][-1] == ["2026-01-01", "1.27"]
    assert data["tables"]["ecb_mro"]["rates"][-1] == ["2026-01-01", "2.15"]


def test_china_contract_rate_comes_first():
    # 100,000.00 at the contract's 6% for 30 days: 100000 * 0.06 * 30 / 365 = 493.15
    policy = policy_for("cn", rate="6", sme=True)
    assert item_interest(policy, "CNY", dt.date(2026, 3, 1), dt.date(2026, 3, 31),
                         D("100000.00")) == D("493.15")
    assert compensation(policy, "CNY", D("100000.00")) == D("0.00")


def test_china_sme_rule_is_half_a_per_mille_a_day():
    # 保障中小企业款项支付条例 (2025) art. 17: no agreed rate -> 0.05 % a day.
    # 100,000.00 for 30 days: 100000 * 0.0005 * 30 = 1,500.00; in a leap year too.
    policy = policy_for("cn", sme=True)
    assert item_interest(policy, "CNY", dt.date(2026, 3, 1), dt.date(2026, 3, 31),
                         D("100000.00")) == D("1500.00")
    assert item_interest(policy, "CNY", dt.date(2028, 2, 1), dt.date(2028, 3, 2),
                         D("100000.00")) == D("1500.00")
    with pytest.raises(ConfigError, match="basis"):
        policy_for("cn", sme=True, basis="act/360")


def test_china_lpr_in_force_at_default_plus_markup_is_kept():
    # Default from 2 October 2024: 1-year LPR 3.35% (from 22 July 2024) * 1.3 = 4.355%,
    # kept through the LPR cuts of 21 October 2024 and 20 May 2025 (法释〔2012〕8号 art. 18:
    # the LPR "at the time of the breach"). 100,000.00 for 272 days: 3,245.3698... -> 3,245.37
    policy = policy_for("cn")
    assert item_interest(policy, "CNY", dt.date(2024, 10, 1), dt.date(2025, 6, 30),
                         D("100000.00")) == D("3245.37")
    # Default from 21 May 2025: 3.00% * 1.5 = 4.5% with lpr_markup 50; 60 days: 739.73
    policy = policy_for("cn", lpr_markup="50")
    assert item_interest(policy, "CNY", dt.date(2025, 5, 20), dt.date(2025, 7, 19),
                         D("100000.00")) == D("739.73")
    with pytest.raises(RateTableError, match="reference_rates"):
        item_interest(policy, "CNY", dt.date(2022, 1, 1), dt.date(2022, 2, 1), D("1.00"))
