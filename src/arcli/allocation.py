"""Cash application: which payment or credit note settles which invoice, deterministically.

For one customer and currency, credits (payments, credit notes) are applied in order of
(date, number), walking forward through time. On each date the debits (invoices, fees,
interest) dated that day become open first, then pinned manual allocations that take
effect that day are applied, then every credit with something left -- older carried
credits first, then that day's credits -- goes through the rules:

1. ``reference``: its reference names a debit of the same customer and currency: apply up
   to that debit's open amount; the rest goes on to rule 3.
2. ``exact``: no reference applied, nothing of the credit applied yet, and exactly one open
   debit's open amount equals the whole credit: apply it there.
3. ``oldest``: apply what remains to open debits, oldest due date first (ties: date, then
   number), in the configured settlement order of principal, costs and interest.
4. What is still left is unapplied credit, carried forward and retried when new debits
   arrive (a prepayment settles the invoice that comes after it).

Because only documents dated on or before a day influence that day, the allocations the
full book makes with ``effective_date <= D`` are exactly the allocations a book cut off at
D would make. That is what lets a back-dated aging use stored allocations, and it makes
the result independent of import order: it depends only on the set of documents.

Manual allocations (``arcli reconcile apply``) are pinned: their amounts are reserved on
both documents from the start, so automatic rules only see what is left.
"""

from __future__ import annotations

import datetime as dt
import heapq
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from operator import attrgetter
from typing import NamedTuple

try:  # the walk compiled (src/arcli/_cash.c); without a C compiler, the Python walk below
    from arcli import _cash
except ImportError:  # pragma: no cover - depends on the installation
    _cash = None

DEBIT_TYPES = ("invoice", "fee", "interest")
CREDIT_TYPES = ("payment", "credit_note", "write_off")
DOCUMENT_TYPES = DEBIT_TYPES + CREDIT_TYPES
_DEBITS = frozenset(DEBIT_TYPES)

#: Which settlement class each debit type belongs to.
SETTLEMENT_CLASS = {"invoice": "principal", "fee": "costs", "interest": "interest"}
PRINCIPAL_FIRST = ("principal", "costs", "interest")
BGB_367 = ("costs", "interest", "principal")
SETTLEMENT_ORDERS = {"principal-first": PRINCIPAL_FIRST, "costs-interest-principal": BGB_367}


def sign_of(doc_type: str) -> int:
    """+1 for documents the customer owes (debits), -1 for credits."""
    return 1 if doc_type in DEBIT_TYPES else -1


class Doc(NamedTuple):
    """The facts about one document that cash application needs.

    A named tuple: a first load builds one per document, and a frozen dataclass sets
    each field through ``object.__setattr__`` (three times the cost).
    """

    id: int
    type: str
    number: str
    date: dt.date
    due_date: dt.date
    amount_minor: int
    reference: str | None = None

    @property
    def is_debit(self) -> bool:
        return self.type in _DEBITS


@dataclass(frozen=True)
class ManualAllocation:
    credit_id: int
    debit_id: int
    amount_minor: int


class Allocation(NamedTuple):
    """One application of (part of) a credit to a debit, and the rule that made it."""

    credit_id: int
    debit_id: int
    amount_minor: int
    effective_date: dt.date
    rule: str
    note: str = ""


@dataclass
class Outcome:
    """Allocations made, and each document's final open amount and closing date."""

    allocations: list[Allocation] = field(default_factory=list)
    open_minor: dict[int, int] = field(default_factory=dict)
    closed_on: dict[int, dt.date | None] = field(default_factory=dict)


@cache
def _debit_ranks(order: tuple[str, ...]) -> dict[str, int]:
    """Each debit type's place in the settlement order."""
    rank = {cls: i for i, cls in enumerate(order)}
    return {t: rank[SETTLEMENT_CLASS[t]] for t in DEBIT_TYPES}


class _Ledger:
    """Mutable state of one customer+currency while walking through time."""

    def __init__(self, order: Sequence[str], fmt: Callable[[int], str]):
        self.rank = _debit_ranks(tuple(order))  # by debit type
        self.fmt = fmt
        self.available: dict[int, int] = {}  # open debit id -> amount left for auto rules
        self.heap: list[tuple] = []  # (rank, due, date, number, id) of open debits
        self.by_amount: dict[int, set[int]] = defaultdict(set)
        self.debits_by_number: dict[str, Doc] = {}
        self.carried: list[tuple[Doc, int, bool]] = []  # (credit, remaining, untouched)
        self.outcome = Outcome()

    # -- open debits ------------------------------------------------------------------
    def open_debit(self, doc: Doc, reserved: int) -> None:
        self.debits_by_number.setdefault(doc.number, doc)
        left = doc.amount_minor - reserved
        if left <= 0:
            return
        self.available[doc.id] = left
        self.by_amount[left].add(doc.id)
        heapq.heappush(self.heap,
                       (self.rank[doc.type], doc.due_date, doc.date, doc.number, doc.id))

    def _take(self, debit_id: int, amount: int) -> None:
        left = self.available[debit_id]
        self.by_amount[left].discard(debit_id)
        left -= amount
        if left:
            self.available[debit_id] = left
            self.by_amount[left].add(debit_id)
        else:
            del self.available[debit_id]

    def apply(self, credit: Doc, debit_id: int, amount: int, day: dt.date, rule: str,
              note: str) -> None:
        self._take(debit_id, amount)
        self.outcome.allocations.append(Allocation(credit.id, debit_id, amount, day, rule, note))

    def oldest_open(self) -> int | None:
        while self.heap and self.heap[0][-1] not in self.available:
            heapq.heappop(self.heap)
        return self.heap[0][-1] if self.heap else None

    # -- the rules ------------------------------------------------------------------
    def settle_day(self, day: dt.date, fresh: list[tuple[Doc, int, bool]],
                   retry_carried: bool) -> None:
        """Settle the day's new credits, and the carried ones too when new debits opened
        (nothing else could change what a carried credit settles); what is left of
        either is carried on."""
        queue = self.carried + fresh if retry_carried else fresh
        still = [] if retry_carried else self.carried
        for credit, remaining, untouched in queue:
            if remaining <= 0:
                continue
            left = self.settle(credit, remaining, untouched, day)
            if left:
                still.append((credit, left, untouched and left == remaining))
        self.carried = still

    def settle(self, credit: Doc, remaining: int, untouched: bool, day: dt.date) -> int:
        """Apply rules 1-3 to a credit with ``remaining`` left; returns what is still left."""
        why: list[str] = []
        ref = (credit.reference or "").strip()
        target = self.debits_by_number.get(ref) if ref else None
        if ref and target is None:
            why.append(f"reference {ref!r} names no open item of this customer and currency")
        elif target is not None and target.id not in self.available:
            why.append(f"referenced {target.number} is already settled")
        elif target is not None:
            amount = min(remaining, self.available[target.id])
            self.apply(credit, target.id, amount, day, "reference", f"reference {ref!r}")
            remaining -= amount
            untouched = False
            if remaining:
                why.append(f"{self.fmt(remaining)} left after the referenced {target.number}")
        if not remaining:
            return 0
        if untouched:
            matches = self.by_amount.get(remaining, set())
            if len(matches) == 1:
                (debit_id,) = matches
                note = "; ".join([*why, f"only open item equal to {self.fmt(remaining)}"])
                self.apply(credit, debit_id, remaining, day, "exact", note)
                return 0
            why.append(
                f"{len(matches)} open items equal {self.fmt(remaining)}"
                if matches else f"no open item equals {self.fmt(remaining)}"
            )
        while remaining:
            debit_id = self.oldest_open()
            if debit_id is None:
                break
            amount = min(remaining, self.available[debit_id])
            self.apply(credit, debit_id, amount, day, "oldest",
                       "; ".join([*why, "oldest due first"]))
            remaining -= amount
        return remaining


def _capped(manual: Sequence[ManualAllocation], by_id: dict[int, Doc]) -> list[ManualAllocation]:
    """Manual allocations limited to what both documents can carry.

    They are checked when made, but a later ``--replace`` can shrink a document; the pinned
    amount then shrinks with it rather than producing a negative open amount.
    """
    room = {doc_id: doc.amount_minor for doc_id, doc in by_id.items()}
    kept = []
    for m in sorted(manual, key=lambda m: (m.credit_id, m.debit_id)):
        if m.credit_id not in by_id or m.debit_id not in by_id:
            continue
        amount = min(m.amount_minor, room[m.credit_id], room[m.debit_id])
        if amount > 0:
            room[m.credit_id] -= amount
            room[m.debit_id] -= amount
            kept.append(ManualAllocation(m.credit_id, m.debit_id, amount))
    return kept


def _reservations(manual: Iterable[ManualAllocation]) -> tuple[dict[int, int], dict[int, int]]:
    by_credit: dict[int, int] = defaultdict(int)
    by_debit: dict[int, int] = defaultdict(int)
    for m in manual:
        by_credit[m.credit_id] += m.amount_minor
        by_debit[m.debit_id] += m.amount_minor
    return by_credit, by_debit


def _final_state(docs: Sequence[Doc], outcome: Outcome) -> None:
    """Fill each document's open amount and the date it reached zero.

    Allocations are made walking forward through time, so their effective dates never
    decrease: a document's last allocation is its latest.
    """
    applied: dict[int, int] = {}
    last_day: dict[int, dt.date] = {}
    get = applied.get
    for a in outcome.allocations:
        applied[a.credit_id] = get(a.credit_id, 0) + a.amount_minor
        applied[a.debit_id] = get(a.debit_id, 0) + a.amount_minor
        last_day[a.credit_id] = last_day[a.debit_id] = a.effective_date
    open_minor, closed_on = outcome.open_minor, outcome.closed_on
    for doc in docs:
        left = doc.amount_minor - get(doc.id, 0)
        open_minor[doc.id] = left
        closed_on[doc.id] = last_day.get(doc.id, doc.date) if left == 0 else None


_NUMBER_ORDER = attrgetter("number", "id")


def _in_number_order(docs: list[Doc]) -> list[Doc]:
    """A day's documents by number (then id), sorted in place: most days have one."""
    if len(docs) > 1:
        docs.sort(key=_NUMBER_ORDER)
    return docs


def apply_cash(
    docs: Sequence[Doc],
    manual: Sequence[ManualAllocation] = (),
    *,
    settlement_order: Sequence[str] = PRINCIPAL_FIRST,
    fmt: Callable[[int], str] = str,
) -> Outcome:
    """Run cash application for the documents of ONE customer and currency.

    ``fmt`` renders minor units for the explanation notes. The result depends only on the
    set of documents and manual allocations, never on their order in ``docs``.

    Groups without manual allocations take the compiled walk when it is installed (the
    same rules and notes, seven times quicker; tested against :func:`python_apply_cash`).
    """
    if not manual and _cash is not None:
        allocations, open_minor, closed_on = _cash.walk(
            docs, _debit_ranks(tuple(settlement_order)), fmt, Allocation)
        return Outcome(allocations, open_minor, closed_on)
    return python_apply_cash(docs, manual, settlement_order=settlement_order, fmt=fmt)


def python_apply_cash(
    docs: Sequence[Doc],
    manual: Sequence[ManualAllocation] = (),
    *,
    settlement_order: Sequence[str] = PRINCIPAL_FIRST,
    fmt: Callable[[int], str] = str,
) -> Outcome:
    """:func:`apply_cash` in Python: the reference the compiled walk is held to, and the
    path for groups with manual allocations."""
    manual_on: dict[dt.date, list[ManualAllocation]] = defaultdict(list)
    reserved_credit: dict[int, int] = {}
    reserved_debit: dict[int, int] = {}
    if manual:  # a first load has none: skip the bookkeeping (~10% of its cash application)
        by_id = {d.id: d for d in docs}
        manual = _capped(manual, by_id)
        reserved_credit, reserved_debit = _reservations(manual)
        for m in manual:
            manual_on[max(by_id[m.credit_id].date, by_id[m.debit_id].date)].append(m)
    state = _Ledger(settlement_order, fmt)
    _walk(state, docs, manual_on, reserved_credit, reserved_debit)
    _final_state(docs, state.outcome)
    return state.outcome


def continue_cash(
    held: Sequence[tuple[Doc, int]],
    docs: Sequence[Doc],
    *,
    settlement_order: Sequence[str] = PRINCIPAL_FIRST,
    fmt: Callable[[int], str] = str,
) -> Outcome:
    """Cash application of ``docs``, all dated after every document of ``held``, going on
    from where :func:`apply_cash` left ``held`` (each with the open amount it left it),
    for a group without manual allocations.

    Why: an import that adds a day of documents to thousands of customers reran cash
    application over each customer's whole history. Walking forward through time, what
    the past hands to a later day is entirely in the open amounts: the open debits (with
    what is left of each), the credits carried with something left, in (date, number)
    order as they were met, and "untouched" exactly when nothing of a credit was applied;
    plus every debit's number, which references are looked up by. So the returned
    outcome is :func:`apply_cash` of ``held`` and ``docs`` together, restricted to what
    the later days change: their allocations, and the open amount and closing date of
    ``docs`` and of the held documents those allocations reach (tested against
    :func:`apply_cash` with generated histories).
    """
    state = _Ledger(settlement_order, fmt)
    opening = {}
    for doc, open_minor in sorted(held, key=_met_order):
        opening[doc.id] = open_minor
        if doc.type in _DEBITS:
            state.open_debit(doc, doc.amount_minor - open_minor)
        elif open_minor > 0:
            state.carried.append((doc, open_minor, open_minor == doc.amount_minor))
    _walk(state, docs, {}, {}, {})
    outcome = state.outcome
    _final_state(docs, outcome)
    applied: dict[int, int] = {}
    last_day: dict[int, dt.date] = {}
    for a in outcome.allocations:
        for doc_id in (a.credit_id, a.debit_id):
            if doc_id in opening:
                applied[doc_id] = applied.get(doc_id, 0) + a.amount_minor
                last_day[doc_id] = a.effective_date
    for doc_id, amount in applied.items():
        left = opening[doc_id] - amount
        outcome.open_minor[doc_id] = left
        outcome.closed_on[doc_id] = last_day[doc_id] if left == 0 else None
    return outcome


def _met_order(held: tuple[Doc, int]) -> tuple:
    """The order a walk through time meets documents in: by day, then number."""
    doc = held[0]
    return doc.date, doc.number, doc.id


def _walk(state: _Ledger, docs: Sequence[Doc], manual_on: dict[dt.date, list],
          reserved_credit: dict[int, int], reserved_debit: dict[int, int]) -> None:
    """Walk the documents' days in order: each day's debits open, its manual allocations
    apply, then its credits (and the carried ones, when debits opened) are settled."""
    debits_on: dict[dt.date, list[Doc]] = defaultdict(list)
    credits_on: dict[dt.date, list[Doc]] = defaultdict(list)
    for d in docs:
        (debits_on if d.type in _DEBITS else credits_on)[d.date].append(d)

    for day in sorted(debits_on.keys() | credits_on.keys() | manual_on.keys()):
        new_debits = debits_on.get(day)
        if new_debits:
            for debit in _in_number_order(new_debits):
                state.open_debit(debit, reserved_debit.get(debit.id, 0))
        if manual_on:
            for m in sorted(manual_on.get(day, ()), key=lambda m: (m.credit_id, m.debit_id)):
                state.outcome.allocations.append(Allocation(
                    m.credit_id, m.debit_id, m.amount_minor, day, "manual", "pinned by hand"))
        todays = credits_on.get(day)
        if todays or (new_debits and state.carried):
            fresh = [(c, c.amount_minor - reserved_credit.get(c.id, 0), True)
                     for c in _in_number_order(todays or [])]
            state.settle_day(day, fresh, retry_carried=bool(new_debits))
