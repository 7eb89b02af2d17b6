"""The compiled cash application walk (src/arcli/_cash.c) against the Python one.

``allocation.python_apply_cash`` is the reference: on generated histories both must make
the same allocations (credit, debit, amount, date, rule and note), in the same order, and
leave every document with the same open amount and closing date.
"""

from __future__ import annotations

import datetime as dt
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from arcli import allocation
from arcli.allocation import (
    BGB_367,
    PRINCIPAL_FIRST,
    Doc,
    ManualAllocation,
    apply_cash,
    python_apply_cash,
)

if allocation._cash is None:
    if os.environ.get("ARCLI_REQUIRE_ACCELERATOR"):  # the test command sets it
        pytest.fail("arcli._cash was not built: is a C compiler installed?")
    pytest.skip("arcli._cash is not built here (no C compiler)", allow_module_level=True)

START = dt.date(2026, 1, 1)
# Few distinct numbers and amounts, so references hit, numbers repeat and amounts tie.
_numbers = st.sampled_from(["A1", "A2", "B1", "b1", "Ä9", "10", "9", " A1", "A1 ", ""])
_documents = st.lists(st.tuples(
    st.sampled_from(["invoice", "invoice", "payment", "payment", "credit_note", "fee",
                     "interest"]),
    _numbers,
    st.integers(min_value=0, max_value=12),   # day
    st.integers(min_value=-3, max_value=20),  # due after the day (negative: before it)
    st.sampled_from([0, 1, 5, 10, 10, 25, 50, 99, 100, 250, -5, 2**40]),
    st.one_of(st.none(), _numbers),           # reference
), max_size=40)


def _docs(raw, first_id: int) -> list[Doc]:
    return [Doc(first_id + i, kind, number, START + dt.timedelta(days=day),
                START + dt.timedelta(days=day + due), amount, ref)
            for i, (kind, number, day, due, amount, ref) in enumerate(raw)]


def _shown(minor: int) -> str:
    return f"€{minor / 100:.2f}"


def _as_compared(outcome):
    return (outcome.allocations, list(outcome.open_minor.items()),
            list(outcome.closed_on.items()))


@given(_documents, st.sampled_from([PRINCIPAL_FIRST, BGB_367]),
       st.integers(min_value=-5, max_value=10**6), st.randoms())
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_compiled_walk_makes_the_python_walks_allocations_and_notes(raw, order, first_id, rnd):
    docs = _docs(raw, first_id)
    rnd.shuffle(docs)
    compiled = apply_cash(docs, settlement_order=order, fmt=_shown)
    python = python_apply_cash(docs, settlement_order=order, fmt=_shown)
    assert _as_compared(compiled) == _as_compared(python)
    assert all(type(a) is allocation.Allocation for a in compiled.allocations)


def test_a_typical_history_takes_the_compiled_walk_and_explains_each_rule():
    docs = [
        Doc(1, "invoice", "INV1", START, START + dt.timedelta(days=30), 10_000, None),
        Doc(2, "invoice", "INV2", START, START + dt.timedelta(days=10), 5_000, None),
        Doc(3, "fee", "FEE1", START, START + dt.timedelta(days=5), 700, None),
        Doc(4, "payment", "PAY1", START + dt.timedelta(days=3), START, 12_000, " INV1 "),
        Doc(5, "payment", "PAY2", START + dt.timedelta(days=4), START, 700, None),
        Doc(6, "payment", "PAY3", START + dt.timedelta(days=5), START, 900, "NOPE"),
    ]
    outcome = apply_cash(docs, settlement_order=PRINCIPAL_FIRST, fmt=_shown)
    assert [(a.credit_id, a.debit_id, a.amount_minor, a.rule, a.note)
            for a in outcome.allocations] == [
        (4, 1, 10_000, "reference", "reference 'INV1'"),
        (4, 2, 2_000, "oldest", "€20.00 left after the referenced INV1; oldest due first"),
        (5, 3, 700, "exact", "only open item equal to €7.00"),
        (6, 2, 900, "oldest", "reference 'NOPE' names no open item of this customer and "
                              "currency; no open item equals €9.00; oldest due first"),
    ]
    assert outcome.open_minor == {1: 0, 2: 2_100, 3: 0, 4: 0, 5: 0, 6: 0}
    assert outcome.closed_on[1] == START + dt.timedelta(days=3)
    assert outcome.closed_on[2] is None
    assert _as_compared(outcome) == _as_compared(
        python_apply_cash(docs, settlement_order=PRINCIPAL_FIRST, fmt=_shown))


def test_groups_with_manual_allocations_keep_the_python_walk(monkeypatch):
    docs = [Doc(1, "invoice", "I", START, START, 100, None),
            Doc(2, "payment", "P", START, START, 100, None)]
    monkeypatch.setattr(allocation, "_cash", None)
    expected = apply_cash(docs, [ManualAllocation(2, 1, 40)])
    monkeypatch.undo()
    assert _as_compared(apply_cash(docs, [ManualAllocation(2, 1, 40)])) == \
        _as_compared(expected)
    assert [a.rule for a in expected.allocations] == ["manual", "exact"]


def test_bad_input_raises_instead_of_guessing():
    bad_date = [Doc(1, "invoice", "I", "2026-01-01", START, 100, None)]
    with pytest.raises(TypeError):
        allocation._cash.walk(bad_date, {"invoice": 0}, str, allocation.Allocation)
    huge = [Doc(1, "invoice", "I", START, START, 2**70, None)]
    with pytest.raises(OverflowError):
        allocation._cash.walk(huge, {"invoice": 0}, str, allocation.Allocation)
    with pytest.raises(TypeError):
        allocation._cash.walk([], {}, str, dict)
