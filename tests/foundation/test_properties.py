"""Property tests: for random ledgers, every figure ties out and order never matters."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from decimal import Decimal
from pathlib import Path

from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from arcli.aging import AgingSpec, aging_rows
from arcli.allocation import Doc, apply_cash
from arcli.importing.ledger import LedgerImportOptions, import_ledger
from arcli.importing.mapping import NATIVE
from arcli.ledger import balances
from arcli.store import open_store
from arcli.store.schema import customers

BASE = dt.date(2026, 1, 1)

doc_strategy = st.tuples(
    st.sampled_from(["invoice", "invoice", "payment", "credit_note", "fee", "write_off"]),
    st.integers(min_value=0, max_value=60),  # day offset
    st.integers(min_value=1, max_value=50_000),  # amount in minor units
    st.booleans(),  # reference the first invoice?
    st.sampled_from(["A", "B"]),
    st.sampled_from(["EUR", "JPY"]),
)


def _docs(raw):
    docs = []
    for i, (kind, day, amount, use_ref, _cust, _cur) in enumerate(raw):
        date = BASE + dt.timedelta(days=day)
        due = date + dt.timedelta(days=(i * 7) % 45) if kind in ("invoice", "fee") else date
        docs.append(Doc(i + 1, kind, f"N{i:03d}", date, due, amount, "N000" if use_ref else None))
    return docs


@given(st.lists(doc_strategy, min_size=1, max_size=30), st.randoms())
@settings(max_examples=150, deadline=None)
def test_allocation_conserves_money_and_ignores_order(raw, rnd):
    docs = _docs(raw)
    out = apply_cash(docs)
    shuffled = list(docs)
    rnd.shuffle(shuffled)
    assert out.allocations == apply_cash(shuffled).allocations
    applied = defaultdict(int)
    for a in out.allocations:
        assert a.amount_minor > 0
        applied[a.credit_id] += a.amount_minor
        applied[a.debit_id] += a.amount_minor
    by_id = {d.id: d for d in docs}
    for doc_id, total in applied.items():
        assert total <= by_id[doc_id].amount_minor
    # Never both an open debit and unapplied credit left: credits always settle what is open.
    open_debit = sum(out.open_minor[d.id] for d in docs if d.is_debit)
    open_credit = sum(out.open_minor[d.id] for d in docs if not d.is_debit)
    assert open_debit == 0 or open_credit == 0
    assert open_debit - open_credit == sum(
        d.amount_minor * (1 if d.is_debit else -1) for d in docs)


@given(st.lists(doc_strategy, min_size=1, max_size=25),
       st.integers(min_value=0, max_value=70), st.integers(min_value=0, max_value=2**32))
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_aging_ties_to_ledger_balance_at_any_date_whatever_the_import_order(raw, day, seed):
    as_of = BASE + dt.timedelta(days=day)
    rows = []
    for i, (kind, offset, amount, use_ref, cust, cur) in enumerate(raw):
        scale = 100 if cur == "EUR" else 1
        date = BASE + dt.timedelta(days=offset)
        value = Decimal(amount) / scale
        rows.append(f"{kind},N{i:03d},{cust},{date},,{value},{cur},{'N000' if use_ref else ''},")
    results = []
    for order in range(2):
        lines = list(rows)
        random.Random(seed + order).shuffle(lines)
        results.append(_age_book(lines, as_of))
    assert results[0] == results[1]
    aging, ledger_balance = results[0]
    totals = {k: row[-1] for k, row in aging.items() if row[-1]}
    assert totals == {k: v for k, v in ledger_balance.items() if v}
    # A book cut off at the as-of date ages exactly like the full book aged back to that date.
    cut = [line for line in rows if line.split(",")[3] <= as_of.isoformat()]
    if cut:
        assert _age_book(cut, as_of)[0] == aging


def _age_book(lines, as_of):
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(str(Path(tmp) / "p.db"))
        store.upgrade()
        with store.begin() as conn:
            conn.execute(customers.insert(), [
                {"id": c, "name": c, "content_hash": "x", "terms_days": 30} for c in ("A", "B")])
        ledger = Path(tmp) / "l.csv"
        header = "type,number,customer,date,due_date,amount,currency,reference,description\n"
        ledger.write_text(header + "\n".join(lines) + "\n")
        import_ledger(store, str(ledger), LedgerImportOptions(mapping=NATIVE))
        with store.connect() as conn:
            spec = AgingSpec(as_of)
            aged = {}
            for r in aging_rows(conn, spec):
                assert sum(r.buckets.values()) + r.unapplied == r.total
                aged[(r.customer_id, r.currency)] = (*r.buckets.values(), r.unapplied, r.total)
            bal = balances(conn, as_of)
        store.dispose()
    return aged, bal


amount_texts = st.one_of(
    st.from_regex(r"\A[0-9]{1,7}(\.[0-9]{0,4})?\Z"),
    st.from_regex(r"\A[-+ (]?[0-9_.,eE٣²]{1,9}[) -]?\Z"),
    st.text(max_size=8),
)


@given(st.one_of(amount_texts, st.from_regex(r"\A[0-9]{14,20}(\.[0-9]{1,2})?\Z")),
       st.sampled_from(["EUR", "JPY", "BHD"]))
@example("1E1000000", "EUR")  # overflowed the decimal context (an internal error)
@example("1E-999999999", "EUR")  # underflowed to 0 minor units and was accepted
def test_plain_amount_fast_path_agrees_with_the_full_check(text, currency):
    """Amounts like ``1234.56`` skip Decimal: same minor units, or the same error."""
    from arcli.importing.mapping import Mapping
    from arcli.importing.validate import FieldProblem, LedgerValidator

    validator = LedgerValidator(Mapping(), {})

    def outcome(check):
        try:
            return check(text, currency)
        except FieldProblem as problem:
            return ("problem", problem.field, problem.value, problem.message)

    assert outcome(validator._amount) == outcome(validator._checked_amount)


@given(st.integers(min_value=-10**9, max_value=10**9), st.sampled_from(["EUR", "JPY", "BHD"]))
def test_amounts_far_beyond_the_limits_are_refused_never_rounded(power, currency):
    """1E<power>: stored exactly when it is a whole number of minor units within the
    limit, otherwise refused with a message -- never an overflow, never rounded to 0."""
    from decimal import Decimal

    from arcli import money

    amount = Decimal(f"1E{power}")
    places = money.exponent(currency)
    try:
        minor = money.to_minor(amount, currency)
    except money.MoneyError as exc:
        assert ("too large" in str(exc)) == (power + places > 14)
        assert ("decimal place" in str(exc)) == (power + places < 0)
        return
    assert 0 <= power + places <= 14 and minor == 10 ** (power + places)


def _mostly(usual: list, odd: list):
    """Usual values five times as likely as odd ones: enough valid records repeat their
    values for the quick check to answer, and enough odd ones test where it must not."""
    return st.sampled_from(usual * 5 + odd)


_field_values = {
    "type": _mostly(["invoice", "payment", "credit_note"],
                    [" Invoice ", "FEE", "inv", "", "bogus"]),
    "number": _mostly(["N1", "N2"], [" N3 ", "", "X" * 64, "X" * 65, "N\u200b1", "Ne\u0301",
                                     "N\x001", "N\u00e9"]),
    "customer": _mostly(["C001", "C002"], [" C001", "C003", "", "NOBODY", "C00\u200b1"]),
    "date": _mostly(["2026-01-31", "2026-02-01"],
                    [" 2026-02-01", "20260201", "2026/02/01", "01.02.2026", "", "2026-01-01",
                     "9999-12-31", "0001-01-01", "２０２６-01-31"]),
    "due_date": _mostly(["", "2026-03-01"], ["2026-01-01", "2026-02-01", "bad"]),
    "amount": _mostly(["12.34", "7"], [" 12.3 ", "0", "0.00", "-5", "1.234", "1E3",
                                       "99999999999999999", "1,000.00", "", "１２", "+5",
                                       "1_000", "12.340"]),
    "currency": _mostly(["EUR", ""], ["eur", " EUR", "JPY", "EURO"]),
    "reference": _mostly(["", "N1"], [" PO 7 ", "N\u200b1", "Ne\u0301", "P\x07"]),
    "description": _mostly(["", "goods"], [" spaced "]),
    "extra": _mostly([None], ["", "x"]),  # a field past the header's last column, or none
}
_records = st.lists(st.fixed_dictionaries(_field_values), min_size=10, max_size=60)


@given(_records, st.booleans(), st.sampled_from([None, "EUR"]),
       st.sampled_from(["native", "renamed", "no currency column", "due first"]))
@settings(max_examples=300, deadline=None)
def test_quick_check_gives_the_full_checks_rows(records, create, default_currency, layout):
    """The quick positional check (big files) accepts only what the full check accepts,
    with the same row; what it declines, the full check still handles. Records repeat
    values on purpose: the quick check answers from what earlier lines taught."""
    from arcli.errors import InputError
    from arcli.importing.mapping import LEDGER_FIELDS, Mapping
    from arcli.importing.readers import SourceFile, record_of
    from arcli.importing.validate import CustomerTerms, FieldProblem, LedgerValidator

    columns = {"renamed": {"amount": "Betrag", "customer": "Kunde"}}.get(layout, {})
    mapping = Mapping(columns=columns, types={"inv": "invoice"})
    header = [mapping.source_column(f) for f in LEDGER_FIELDS
              if not (layout == "no currency column" and f == "currency")]
    if layout == "due first":
        header.insert(0, header.pop(header.index("due_date")))
    customers = {"C001": CustomerTerms(14, "EUR"), "C002": CustomerTerms(None, None)}
    source = SourceFile("t.csv", Path("t.csv"), "")

    def validator():
        return LedgerValidator(mapping, customers, default_terms=45,
                               default_currency=default_currency, create_customers=create)

    def full(v, line, fields):
        try:
            record = record_of(source, line, fields, header)
            return v.row(line, mapping.to_native(record, LEDGER_FIELDS))
        except FieldProblem as problem:
            return (problem.field, problem.value, problem.message)
        except InputError as problem:
            return str(problem)

    plain, quick_one = validator(), validator()
    quick = quick_one.quick(header)
    assert quick is not None
    answered = 0
    for line, record in enumerate(records, start=2):
        fields = [record[next(f for f in LEDGER_FIELDS if mapping.source_column(f) == c)]
                  for c in header] + ([] if record["extra"] is None else [record["extra"]])
        expected = full(plain, line, fields)
        row = quick(line, fields)
        if row is None:
            assert full(quick_one, line, fields) == expected
        else:
            assert row == expected
            answered += 1
    event(f"quick check answered {'none' if not answered else 'some'}")


def test_quick_check_learns_from_the_full_check_and_declines_what_it_cannot_do():
    from arcli.importing.mapping import LEDGER_FIELDS, Mapping
    from arcli.importing.validate import CustomerTerms, LedgerValidator

    customers = {"C001": CustomerTerms(14, "EUR")}
    header = list(LEDGER_FIELDS)
    fields = ["invoice", "N1", "C001", "2026-02-01", "", "12.30", "", "", "goods"]
    validator = LedgerValidator(Mapping(), customers)
    quick = validator.quick(header)
    assert quick(2, fields) is None  # nothing seen yet: the full check runs
    expected = validator.row(2, dict(zip(header, fields, strict=True)))
    assert quick(2, fields) == expected
    assert expected.due_date == dt.date(2026, 2, 15) and expected.amount_minor == 1230
    assert quick(3, [*fields[:5], "12.301", *fields[6:]]) is None  # too precise for EUR
    assert LedgerValidator(Mapping(sign={"positive": "invoice"}), customers).quick(
        header) is None
    assert LedgerValidator(Mapping(thousands=","), customers).quick(header) is None
    assert validator.quick([f for f in header if f != "amount"]) is None


_hashes = st.lists(st.binary(min_size=16, max_size=16).map(bytes.hex), max_size=40)


@given(_hashes, st.randoms(), st.integers(min_value=0, max_value=40), st.data())
@settings(max_examples=200, deadline=None)
def test_content_digest_ignores_order_and_chunks_and_sees_any_changed_row(
        hashes, rnd, cut, data):
    """A re-import is answered from a digest only if its rows are the held documents
    (importing/reimport): the digest must not depend on the order of rows or how the
    parser chunked them, and must change when a row changes, goes or repeats."""
    from arcli.importing.reimport import ContentDigest

    whole = ContentDigest.of(hashes)
    shuffled = hashes[:]
    rnd.shuffle(shuffled)
    cut = min(cut, len(hashes))
    assert ContentDigest.of(shuffled[:cut]) + ContentDigest.of(shuffled[cut:]) == whole
    if hashes:
        index = data.draw(st.integers(min_value=0, max_value=len(hashes) - 1))
        other = data.draw(st.binary(min_size=16, max_size=16).map(bytes.hex)
                          .filter(lambda h: h != hashes[index]))
        changed = [*hashes[:index], other, *hashes[index + 1:]]
        assert ContentDigest.of(changed) != whole
        assert ContentDigest.of(hashes[:index] + hashes[index + 1:]) != whole
        assert ContentDigest.of([*hashes, hashes[index]]) != whole


_history_doc = st.tuples(
    st.sampled_from(["invoice", "invoice", "payment", "payment", "credit_note", "fee",
                     "interest"]),
    st.integers(min_value=0, max_value=40),  # day offset
    st.sampled_from([100, 250, 500, 1000, 1234, 5000]),  # few amounts: exact matches happen
    st.one_of(st.none(), st.integers(min_value=0, max_value=40)),  # reference: a number
    st.booleans(),  # share the number of the previous document (another type may)
)


def _history(raw) -> list[Doc]:
    docs, numbers = [], set()
    for i, (kind, day, amount, ref, share) in enumerate(raw):
        date = BASE + dt.timedelta(days=day)
        number = docs[-1].number if share and docs and (kind, docs[-1].number) not in numbers \
            else f"N{i:03d}"
        numbers.add((kind, number))
        due = date + dt.timedelta(days=(i * 11) % 40) if kind in ("invoice", "fee") else date
        docs.append(Doc(i + 1, kind, number, date, due, amount,
                        None if ref is None else f"N{ref:03d}"))
    return docs


@given(st.lists(_history_doc, min_size=1, max_size=40), st.integers(min_value=-1, max_value=40),
       st.sampled_from(["principal-first", "costs-interest-principal"]))
@settings(max_examples=400, deadline=None)
def test_cash_application_goes_on_from_the_open_amounts_as_if_rerun(raw, cut, order):
    """Documents dated after every held one: continuing from the held documents' open
    amounts gives what rerunning cash application over all of them gives (the same
    allocations after the held ones', in order and with the same notes; the same open
    amounts and closing dates), so an import adding later days need not rerun history."""
    from arcli.allocation import SETTLEMENT_ORDERS, continue_cash

    docs = _history(raw)
    settle = SETTLEMENT_ORDERS[order]
    held = [d for d in docs if (d.date - BASE).days <= cut]
    later = [d for d in docs if (d.date - BASE).days > cut]
    full = apply_cash(docs, settlement_order=settle)
    before = apply_cash(held, settlement_order=settle)
    after = continue_cash([(d, before.open_minor[d.id]) for d in held], later,
                          settlement_order=settle)
    assert full.allocations == before.allocations + after.allocations
    for d in later:
        assert (after.open_minor[d.id], after.closed_on[d.id]) == (
            full.open_minor[d.id], full.closed_on[d.id])
    for d in held:
        now = after if d.id in after.open_minor else before
        assert (now.open_minor[d.id], now.closed_on[d.id]) == (
            full.open_minor[d.id], full.closed_on[d.id])
    event("later allocations" if after.allocations else "none later")
