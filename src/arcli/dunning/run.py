"""A dunning run: who gets which letter, with what charges, recorded once.

For each customer and currency: overdue items (past due date + grace) that are neither
disputed nor blocked are grouped into ONE letter at the highest level any of them reached
(lower-level items are listed too), never more than one step above the previous letter
unless the policy allows skipping. A broken promise pushes one level up at once. Letters
are skipped -- and listed with the reason -- when the customer is blocked, a promise is
pending, the level's interval since the previous letter has not elapsed, nothing changed
since it, the overdue amount is below the level's minimum, or there is no address.

Rerunning the same as-of date makes nothing new: letters are recorded per customer,
currency and as-of date, and a recorded letter is not made again unless forced. A forced
rerun decides every letter of its date in its scope again: one no longer due (paid,
disputed, blocked, ...) is withdrawn -- its record kept, marked with when and why, out of
escalation and of sending -- unless it was already mailed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Connection, delete, func, insert, select, update

from arcli import money
from arcli.cash_application import last_document_id, reapply
from arcli.dunning.holds import active_blocks, open_disputes, promise_effects
from arcli.dunning.interest import compensation, item_interest
from arcli.dunning.policy import Level, Policy, item_level, level_reason, next_level
from arcli.ledger import OpenItem, iter_open_items
from arcli.progress import Progress, unreported
from arcli.render.model import (
    Company,
    LetterCharge,
    LetterData,
    LetterItem,
    PreviousLetter,
    Recipient,
)
from arcli.store.schema import (
    OPEN_SENTINEL,
    allocations,
    customers,
    deliveries,
    documents,
    dunning_letter_items,
    dunning_letters,
    dunning_runs,
)

Group = tuple[str, str]


@dataclass
class Proposal:
    """The decision for one customer and currency."""

    customer_id: str
    name: str
    currency: str
    status: str  # letter | skipped
    reason: str = ""
    level: int = 0
    level_name: str = ""
    overdue: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    interest: Decimal = Decimal(0)
    total_due: Decimal = Decimal(0)
    file: str = ""
    letter: LetterData | None = None
    item_ids: list[int] = field(default_factory=list)
    item_levels: dict[int, tuple[int, int, Decimal, Decimal]] = field(default_factory=dict)


@dataclass(frozen=True)
class LastLetter:
    as_of: dt.date
    level: int
    item_ids: frozenset[int]


@dataclass(frozen=True)
class RunRequest:
    as_of: dt.date
    customer_ids: tuple[str, ...] = ()
    force: bool = False
    preview: bool = False  # preview: ignore intervals and what was already sent
    preview_level: int | None = None  # preview at this level


def _history(conn: Connection, replacing: dt.date | None = None
             ) -> tuple[dict[Group, LastLetter], dict[Group, list]]:
    """Last letter (with its items) and all letters (date, level) per customer and currency,
    leaving out those of the date ``replacing`` (a forced rerun's date: its letters are
    made again as they were, not one level up from themselves).

    Only the last letters' items are read: a book keeps every letter it ever sent, and
    reading all their items made each run slower than the one before.
    """
    query = select(dunning_letters.c.id, dunning_letters.c.customer_id,
                   dunning_letters.c.currency, dunning_letters.c.as_of, dunning_letters.c.level
                   ).where(dunning_letters.c.withdrawn_at.is_(None))  # never escalate from one
    if replacing is not None:
        query = query.where(dunning_letters.c.as_of != replacing)
    letters = conn.execute(query.order_by(dunning_letters.c.as_of, dunning_letters.c.id)).all()
    latest, every = {}, defaultdict(list)
    for row in letters:
        key = (row.customer_id, row.currency)
        latest[key] = row
        every[key].append(PreviousLetter(row.as_of, row.level))
    items = _items_of(conn, [row.id for row in latest.values()])
    last = {key: LastLetter(row.as_of, row.level, frozenset(items[row.id]))
            for key, row in latest.items()}
    return last, every


#: Letter ids per query for their items (well below every backend's parameter limit).
_IDS_PER_QUERY = 500


def _items_of(conn: Connection, letter_ids: list[int]) -> dict[int, list[int]]:
    """The documents each of these letters listed (by ``ix_dunning_letter_items_letter``)."""
    items: dict[int, list[int]] = defaultdict(list)
    for start in range(0, len(letter_ids), _IDS_PER_QUERY):
        chunk = letter_ids[start:start + _IDS_PER_QUERY]
        for letter_id, doc_id in conn.execute(
                select(dunning_letter_items.c.letter_id, dunning_letter_items.c.document_id)
                .where(dunning_letter_items.c.letter_id.in_(chunk))):
            items[letter_id].append(doc_id)
    return items


def _payments_after(conn: Connection, customer_ids: Sequence[str],
                    wanted: set[int]) -> dict[int, list]:
    """(date, amount) applied to each debit in ``wanted`` (documents of these customers),
    for interest on the real outstanding base. One indexed query per chunk of customers."""
    query = (select(allocations.c.debit_id, allocations.c.effective_date,
                    allocations.c.amount_minor, documents.c.currency)
             .join(documents, documents.c.id == allocations.c.debit_id)
             .where(documents.c.customer_id.in_(list(customer_ids))))
    found: dict[int, list] = defaultdict(list)
    for r in conn.execute(query):
        if r.debit_id in wanted:
            found[r.debit_id].append((r.effective_date,
                                      money.from_minor(r.amount_minor, r.currency)))
    return found


def _customers(conn: Connection, ids) -> dict[str, object]:
    query = select(customers)
    if ids:
        query = query.where(customers.c.id.in_(list(ids)))
    return {c.id: c for c in conn.execute(query)}


class _Planner:
    """Decides one customer+currency at a time.

    Small tables (customers, disputes, blocks, letter history, promises) are loaded up
    front; open items and the payments behind their interest are read per chunk of
    customers, so memory follows the chunk and the letters, not the size of the book
    (a million documents: ~725 MB when every open item was loaded at once).
    """

    CHUNK = 250  # customers per read

    def __init__(self, conn: Connection, policy: Policy, req: RunRequest, company: Company):
        self.conn, self.policy, self.req, self.company = conn, policy, req, company
        self.customers = _customers(conn, list(req.customer_ids) or None)
        self.disputed = open_disputes(conn)
        self.blocked_customers, self.blocked_docs = active_blocks(conn, req.as_of)
        self.last, self.every = _history(
            conn, req.as_of if req.force and not req.preview else None)
        self.pending, self.broken = promise_effects(
            conn, req.as_of, {k: v.as_of for k, v in self.last.items()})
        self.payments: dict[int, list] = {}

    def plan(self, progress: Progress) -> list[Proposal]:
        ids = sorted(self.customers)
        proposals = []
        for start in range(0, len(ids), self.CHUNK):
            groups, disputed = self._overdue(ids[start:start + self.CHUNK])
            decided = {key: self.decide(key, items) for key, items in groups.items()}
            decided.update({key: self._all_disputed(key, items)
                            for key, items in disputed.items() if key not in groups})
            proposals += [decided[key] for key in sorted(decided)]
            progress("planning", min(start + self.CHUNK, len(ids)), len(ids))
        return proposals

    def _overdue(self, chunk: list[str]
                 ) -> tuple[dict[Group, list[OpenItem]], dict[Group, list[OpenItem]]]:
        """Overdue (past grace), undisputed, unblocked items of these customers, grouped,
        and the disputed overdue ones apart; loads the payments their interest needs."""
        groups: dict[Group, list[OpenItem]] = defaultdict(list)
        disputed: dict[Group, list[OpenItem]] = defaultdict(list)
        cutoff = self.req.as_of - dt.timedelta(days=self.policy.grace_days)
        for item in iter_open_items(self.conn, self.req.as_of, chunk):
            if item.open_amount > 0 and item.due_date < cutoff \
                    and item.document_id not in self.blocked_docs:
                key = (item.customer_id, item.currency)
                (disputed if item.document_id in self.disputed else groups)[key].append(item)
        if self.policy.interest.enabled and groups:
            wanted = {i.document_id for items in groups.values() for i in items}
            self.payments = _payments_after(self.conn, chunk, wanted)
        return groups, disputed

    def _all_disputed(self, key: Group, items: list[OpenItem]) -> Proposal:
        """A customer whose only overdue items are disputed is listed as skipped, with the
        disputes and their follow-up dates, instead of silently missing from the run."""
        described = "; ".join(self.disputed[i.document_id].describe(self.req.as_of)
                              for i in sorted(items, key=lambda i: i.number))
        return Proposal(key[0], self.customers[key[0]].name, key[1], "skipped",
                        reason=f"disputed: {described}")

    def decide(self, key: Group, items: list[OpenItem]) -> Proposal:
        cust = self.customers[key[0]]
        proposal = Proposal(key[0], cust.name, key[1], "skipped")
        levels = self.policy.levels_for(cust.credit_class)
        graced = [(i, (self.req.as_of - i.due_date).days - self.policy.grace_days)
                  for i in items]
        reached = {i.document_id: item_level(levels, days) for i, days in graced}
        last = self.last.get(key)
        previous = last.level if last else 0
        target = max(reached.values(), default=0)
        broken = self.broken.get(key)
        if self.req.preview_level:
            level = min(self.req.preview_level, self.policy.max_level)
            why = f"preview at level {level}"
        else:
            if target == 0:
                proposal.reason = "not overdue enough for a letter"
                return proposal
            level = next_level(target, previous, self.policy.allow_skip, self.policy.max_level,
                               self.policy.first_letter == "by-age")
            if broken:  # press one level harder, at once
                level = min(max(level, previous) + 1, self.policy.max_level)
            reason = self._hold_reason(key, cust, last, level, levels[level - 1],
                                       {i.document_id for i in items}, bool(broken))
            if reason:
                proposal.reason = reason
                return proposal
            why = level_reason(level, target, (last.level, last.as_of.isoformat())
                               if last else None, self.policy, bool(broken))
        proposal.reason = why
        listed = [(i, d) for i, d in graced if reached[i.document_id] > 0] or graced
        return self._letter(proposal, cust, levels[level - 1], listed, reached, last, broken)

    def _hold_reason(self, key, cust, last: LastLetter | None, level: int, lv: Level,
                     item_ids: set[int], broken: bool) -> str:
        if key[0] in self.blocked_customers:
            return f"blocked: {self.blocked_customers[key[0]]}"
        if key in self.pending:
            p = self.pending[key]
            return f"promise pending: {p.amount} by {p.due_by.isoformat()}"
        if self.req.preview:
            return "" if (cust.address or "").strip() else "no address"
        if last and last.as_of == self.req.as_of and not self.req.force:
            return f"already generated for {self.req.as_of.isoformat()}"
        if last and last.as_of != self.req.as_of and not broken:
            if (self.req.as_of - last.as_of).days < lv.interval_days:
                return (f"interval not elapsed: last letter {last.as_of.isoformat()}, "
                        f"level {level} waits {lv.interval_days} days")
            if level <= last.level and item_ids <= last.item_ids:
                return f"no change since the letter of {last.as_of.isoformat()}"
        if not (cust.address or "").strip():
            return "no address"
        return ""

    def _letter(self, proposal: Proposal, cust, lv: Level, listed, reached, last, broken):
        cur, as_of, pol = proposal.currency, self.req.as_of, self.policy
        zero = money.quantize(Decimal(0), cur)
        overdue = sum((i.open_amount for i, _ in listed), zero)
        if overdue < lv.minimum(cur) and not self.req.preview_level:
            proposal.reason = f"below minimum: {overdue} < {lv.minimum(cur)} {cur}"
            return proposal
        letter_items, interest_total, comp_total = [], zero, zero
        earlier = last.item_ids if last else frozenset()
        for item, days in listed:
            interest = zero
            if pol.interest.enabled and item.type == "invoice":
                start = item.due_date + dt.timedelta(days=pol.grace_days)
                if pol.post_charges and last and item.document_id in earlier:
                    start = max(start, last.as_of)
                payments = [(d, a) for d, a in self.payments.get(item.document_id, [])
                            if d > start]
                interest = item_interest(pol.interest, cur, start, as_of, item.open_amount,
                                         payments)
                if item.document_id not in earlier:
                    comp_total += compensation(pol.interest, cur, item.amount)
            interest_total += interest
            letter_items.append(LetterItem(item.number, item.date, item.due_date,
                                           max(days + pol.grace_days, 0), item.open_amount,
                                           reached[item.document_id], interest,
                                           item.reference, item.description))
            proposal.item_levels[item.document_id] = (reached[item.document_id],
                                                      days + pol.grace_days, item.open_amount,
                                                      interest)
        fee = lv.fee_for(cur)
        charges = tuple(c for c in (LetterCharge("fee", fee),
                                    LetterCharge("compensation", comp_total)) if c.amount)
        total = overdue + interest_total + sum((c.amount for c in charges), zero)
        proposal.status, proposal.level, proposal.level_name = "letter", lv.number, lv.name
        proposal.overdue, proposal.fees = overdue, fee + comp_total
        proposal.interest, proposal.total_due = interest_total, total
        proposal.item_ids = [i.document_id for i, _ in listed]
        address = tuple(x.strip() for x in (cust.address or "").splitlines() if x.strip())
        proposal.letter = LetterData(
            level=lv.number, level_name=lv.name, template=lv.template,
            language=cust.language or "en", currency=cur, as_of=as_of,
            pay_by=as_of + dt.timedelta(days=pol.pay_within_days), company=self.company,
            recipient=Recipient(cust.id, cust.name, address, cust.contact, cust.email),
            items=tuple(letter_items), overdue_total=overdue, charges=charges,
            interest_total=interest_total, total_due=total,
            previous_letters=tuple(self.every.get((cust.id, cur), ())),
            broken_promise=(broken.due_by, broken.amount) if broken else None,
            contact=cust.salesperson, stop_supply=lv.stop_supply,
        )
        return proposal


def plan_run(conn: Connection, policy: Policy, req: RunRequest, company: Company,
             progress: Progress = unreported) -> list[Proposal]:
    """Decide every letter of a run (reads only). ``progress`` (see :mod:`arcli.progress`):
    "planning" counts the customers looked at."""
    return _Planner(conn, policy, req, company).plan(progress)


@dataclass(frozen=True)
class Withdrawal:
    """A letter of a forced rerun's date that the rerun does not make again."""

    letter_id: int
    customer_id: str
    name: str
    currency: str
    file: str
    sha256: str
    reason: str  # why it is no longer due
    sent_at: dt.datetime | None  # mailed already: it stands, the customer has it


#: Why a letter is no longer due when its customer and currency have no overdue item left.
NOTHING_OVERDUE = "nothing overdue any more (paid, credited or blocked)"


def withdrawals(conn: Connection, req: RunRequest, proposals: Sequence[Proposal],
                owned: Callable[[str], bool] = lambda customer_id: True) -> list[Withdrawal]:
    """The letters recorded for a forced rerun's date, in its scope (``req.customer_ids``,
    and the customers ``owned`` by its shard), for which it decided no letter.

    Outside the scope nothing was decided again, so nothing there is withdrawn.
    """
    if not req.force or req.preview:
        return []
    decided = {(p.customer_id, p.currency): p for p in proposals}
    d = dunning_letters.c
    rows = conn.execute(select(d.id, d.customer_id, customers.c.name, d.currency, d.file,
                               d.sha256)
                        .join(customers, customers.c.id == d.customer_id)
                        .where(d.as_of == req.as_of, d.withdrawn_at.is_(None))
                        .order_by(d.customer_id, d.currency)).all()
    found = []
    for row in rows:
        p = decided.get((row.customer_id, row.currency))
        if (req.customer_ids and row.customer_id not in req.customer_ids) \
                or not owned(row.customer_id) or (p and p.status == "letter"):
            continue
        found.append(Withdrawal(row.id, row.customer_id, row.name, row.currency, row.file or "",
                                row.sha256 or "", p.reason if p else NOTHING_OVERDUE,
                                _sent_at(conn, row.sha256)))
    return found


def _sent_at(conn: Connection, sha256: str | None) -> dt.datetime | None:
    """When `arcli send` mailed the document of this hash (None: never)."""
    if not sha256:
        return None
    return conn.execute(select(func.min(deliveries.c.sent_at)).where(
        deliveries.c.document_sha256 == sha256, deliveries.c.status == "sent")).scalar()


def record_run(conn: Connection, req: RunRequest, proposals: Sequence[Proposal],
               written: dict[Group, tuple[str, str]], policy: Policy, *,
               settlement_order: Sequence[str],
               withdrawn: Sequence[Withdrawal] = ()) -> int:
    """Record the run and its letters (those whose file exists); mark the ``withdrawn``
    letters that were never mailed; post charges if configured, and apply cash to them in
    the book's ``settlement_order``.

    Returns the run id. ``written`` maps (customer, currency) to (file, sha256).
    """
    now = dt.datetime.now(dt.UTC)
    letters = [p for p in proposals if p.status == "letter" and
               (p.customer_id, p.currency) in written]
    run_id = conn.execute(insert(dunning_runs).values(
        as_of=req.as_of, run_at=now, options=json.dumps({"force": req.force}),
        letters=len(letters))).inserted_primary_key[0]
    touched = set()
    held_up_to = last_document_id(conn)
    _mark_withdrawn(conn, [w for w in withdrawn if w.sent_at is None], now)
    # a letter made for a date replaces that date's record: always a withdrawn one
    replaced = _letters_on(conn, req.as_of, withdrawn_only=not req.force)
    for p in letters:
        key = (p.customer_id, p.currency)
        if key in replaced:
            _forget(conn, key, req.as_of)
        file_name, sha = written[key]
        cur = p.currency
        letter_id = conn.execute(insert(dunning_letters).values(
            run_id=run_id, customer_id=p.customer_id, currency=cur, level=p.level,
            as_of=req.as_of, file=file_name, sha256=sha,
            overdue_minor=money.to_minor(p.overdue, cur), fees_minor=money.to_minor(p.fees, cur),
            interest_minor=money.to_minor(p.interest, cur),
            total_minor=money.to_minor(p.total_due, cur), created_at=now,
        )).inserted_primary_key[0]
        conn.execute(insert(dunning_letter_items), [
            {"letter_id": letter_id, "document_id": doc_id, "level": lvl, "days_overdue": days,
             "open_minor": money.to_minor(amount, cur),
             "interest_minor": money.to_minor(interest, cur)}
            for doc_id, (lvl, days, amount, interest) in p.item_levels.items()])
        if policy.post_charges and _post_charges(conn, p, req.as_of):
            touched.add(key)
    if touched:
        reapply(conn, touched, settlement_order=settlement_order, added_after=held_up_to)
    return run_id


def _mark_withdrawn(conn: Connection, withdrawn: Sequence[Withdrawal],
                    now: dt.datetime) -> None:
    for w in withdrawn:
        conn.execute(update(dunning_letters).where(dunning_letters.c.id == w.letter_id)
                     .values(withdrawn_at=now, withdrawn_reason=w.reason))


def _letters_on(conn: Connection, as_of: dt.date, withdrawn_only: bool = False) -> set[Group]:
    """The customers and currencies with a letter (a withdrawn one) recorded for ``as_of``."""
    query = select(dunning_letters.c.customer_id, dunning_letters.c.currency) \
        .where(dunning_letters.c.as_of == as_of)
    if withdrawn_only:
        query = query.where(dunning_letters.c.withdrawn_at.is_not(None))
    return {(customer_id, currency) for customer_id, currency in conn.execute(query)}


def _forget(conn: Connection, key: Group, as_of: dt.date) -> None:
    old = select(dunning_letters.c.id).where(dunning_letters.c.customer_id == key[0],
                                             dunning_letters.c.currency == key[1],
                                             dunning_letters.c.as_of == as_of)
    conn.execute(delete(dunning_letter_items).where(dunning_letter_items.c.letter_id.in_(old)))
    conn.execute(delete(dunning_letters).where(dunning_letters.c.id.in_(old)))


def _post_charges(conn: Connection, p: Proposal, as_of: dt.date) -> bool:
    """Fees and interest become ledger documents, so they stay claimable on their own."""
    number = p.letter.document_number
    rows = []
    for doc_type, amount, label in (("fee", p.fees, "dunning fee and compensation"),
                                    ("interest", p.interest, "late-payment interest")):
        if amount <= 0:
            continue
        exists = conn.execute(select(documents.c.id).where(
            documents.c.type == doc_type, documents.c.number == number)).first()
        if exists:
            continue
        minor = money.to_minor(amount, p.currency)
        rows.append({"type": doc_type, "number": number, "customer_id": p.customer_id,
                     "date": as_of, "due_date": as_of, "amount_minor": minor, "sign": 1,
                     "currency": p.currency, "reference": number,
                     "description": f"{label} (letter level {p.level})",
                     "content_hash": f"dunning:{number}:{doc_type}:{minor}",
                     "open_minor": minor, "closed_on": OPEN_SENTINEL})
    if rows:
        conn.execute(insert(documents), rows)
    return bool(rows)
