"""Cash application rules, one at a time, with hand-worked expectations."""

from __future__ import annotations

import datetime as dt

from arcli.allocation import BGB_367, Doc, ManualAllocation, apply_cash

D = dt.date


def inv(id_, number, date, amount, due=None, type_="invoice"):
    return Doc(id_, type_, number, date, due or date + dt.timedelta(days=30), amount)


def pay(id_, number, date, amount, ref=None, type_="payment"):
    return Doc(id_, type_, number, date, date, amount, ref)


def allocs(outcome):
    return [(a.credit_id, a.debit_id, a.amount_minor, a.rule) for a in outcome.allocations]


def test_reference_wins_over_oldest_and_remainder_goes_oldest_first():
    docs = [inv(1, "I1", D(2026, 1, 1), 100), inv(2, "I2", D(2026, 2, 1), 100),
            inv(3, "I3", D(2026, 3, 1), 100), pay(9, "P1", D(2026, 3, 5), 150, ref="I3")]
    out = apply_cash(docs)
    assert allocs(out) == [(9, 3, 100, "reference"), (9, 1, 50, "oldest")]
    assert out.open_minor == {1: 50, 2: 100, 3: 0, 9: 0}
    assert out.closed_on[3] == D(2026, 3, 5) and out.closed_on[1] is None


def test_exact_amount_match_when_no_reference():
    docs = [inv(1, "I1", D(2026, 1, 1), 100), inv(2, "I2", D(2026, 1, 2), 70),
            pay(9, "P1", D(2026, 2, 1), 70)]
    assert allocs(apply_cash(docs)) == [(9, 2, 70, "exact")]


def test_exact_rule_skipped_when_two_items_match_then_oldest_due_first():
    docs = [inv(1, "I1", D(2026, 1, 5), 70), inv(2, "I2", D(2026, 1, 1), 70),
            pay(9, "P1", D(2026, 2, 1), 70)]
    out = apply_cash(docs)
    assert allocs(out) == [(9, 2, 70, "oldest")]
    assert "2 open items equal" in out.allocations[0].note


def test_wrong_reference_falls_through_to_exact_then_oldest():
    docs = [inv(1, "I1", D(2026, 1, 1), 100), inv(2, "I2", D(2026, 1, 2), 40),
            pay(9, "P1", D(2026, 2, 1), 40, ref="NOPE")]
    out = apply_cash(docs)
    assert allocs(out) == [(9, 2, 40, "exact")]
    assert "names no open item" in out.allocations[0].note


def test_oldest_due_ties_break_on_date_then_number():
    due = D(2026, 3, 1)
    docs = [inv(1, "I-B", D(2026, 1, 1), 50, due), inv(2, "I-A", D(2026, 1, 1), 50, due),
            inv(3, "I-0", D(2026, 1, 2), 50, due), pay(9, "P1", D(2026, 2, 1), 120)]
    out = apply_cash(docs)
    assert [(a.debit_id, a.amount_minor) for a in out.allocations] == [(2, 50), (1, 50), (3, 20)]


def test_prepayment_settles_the_invoice_that_arrives_later():
    docs = [pay(9, "P1", D(2026, 1, 1), 100), inv(1, "I1", D(2026, 1, 10), 100)]
    out = apply_cash(docs)
    assert allocs(out) == [(9, 1, 100, "exact")]
    assert out.allocations[0].effective_date == D(2026, 1, 10)


def test_overpayment_leaves_unapplied_credit_then_applies_to_next_invoice():
    docs = [inv(1, "I1", D(2026, 1, 1), 100), pay(9, "P1", D(2026, 1, 20), 130, ref="I1"),
            inv(2, "I2", D(2026, 2, 1), 50)]
    out = apply_cash(docs)
    assert allocs(out) == [(9, 1, 100, "reference"), (9, 2, 30, "oldest")]
    assert out.open_minor[2] == 20 and out.open_minor[9] == 0


def test_payment_does_not_reach_invoices_dated_after_it_while_others_are_open():
    """A payment applies to what existed on its date; later invoices never jump the queue."""
    docs = [inv(1, "I1", D(2026, 1, 1), 100, due=D(2026, 3, 1)),
            inv(2, "I2", D(2026, 1, 15), 100, due=D(2026, 1, 20)),
            pay(9, "P1", D(2026, 1, 10), 100)]
    assert allocs(apply_cash(docs)) == [(9, 1, 100, "exact")]


def test_credit_note_with_reference_and_settlement_order_bgb():
    docs = [inv(1, "I1", D(2026, 1, 1), 100), inv(2, "F1", D(2026, 2, 1), 10, type_="fee"),
            inv(3, "Z1", D(2026, 2, 1), 5, type_="interest"),
            pay(9, "P1", D(2026, 3, 1), 12)]
    principal_first = apply_cash(docs)
    assert [(a.debit_id, a.amount_minor) for a in principal_first.allocations] == [(1, 12)]
    bgb = apply_cash(docs, settlement_order=BGB_367)
    assert [(a.debit_id, a.amount_minor) for a in bgb.allocations] == [(2, 10), (3, 2)]


def test_manual_allocation_is_reserved_before_automatic_rules():
    docs = [inv(1, "I1", D(2026, 1, 1), 100), inv(2, "I2", D(2026, 1, 5), 100),
            pay(8, "P0", D(2026, 1, 10), 100), pay(9, "P1", D(2026, 2, 1), 100)]
    out = apply_cash(docs, [ManualAllocation(9, 1, 100)])
    assert (9, 1, 100, "manual") in allocs(out)
    # P0 cannot take I1 (reserved for P1), so it goes to I2.
    assert (8, 2, 100, "exact") in allocs(out)
    assert out.open_minor == {1: 0, 2: 0, 8: 0, 9: 0}


def test_result_independent_of_input_order():
    docs = [inv(1, "I1", D(2026, 1, 1), 100), inv(2, "I2", D(2026, 1, 2), 70),
            pay(9, "P1", D(2026, 2, 1), 120), pay(10, "P0", D(2026, 2, 1), 30, ref="I2")]
    assert allocs(apply_cash(docs)) == allocs(apply_cash(list(reversed(docs))))


def test_manual_allocation_larger_than_a_shrunk_document_is_capped():
    docs = [inv(1, "I1", D(2026, 1, 1), 60), pay(9, "P1", D(2026, 2, 1), 100)]
    out = apply_cash(docs, [ManualAllocation(9, 1, 100)])
    assert allocs(out) == [(9, 1, 60, "manual")]
    assert out.open_minor == {1: 0, 9: 40}
