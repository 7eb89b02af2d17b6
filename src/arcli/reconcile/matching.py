"""Matching bank receipts to customers and invoices, with a confidence and a reason.

Rules, strongest first:

1. invoice numbers found in the remittance text (confidence 95 when the amount equals what
   they have open, 85 otherwise);
2. the payer's account (IBAN), known from customer records or learned from earlier matches
   (75 with an exact open amount, 65 otherwise);
3. the payer's name against customer names and learned names (60 / 50);
4. the amount alone, when exactly one open invoice in that currency has it (40).

A receipt short of the matched open total by no more than the tolerance (bank charges) is a
full payment with a suggested write-off of the difference.
"""

from __future__ import annotations

import re
import unicodedata
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from arcli.reconcile.bankformats import BankTransaction


@dataclass(frozen=True)
class Candidate:
    """An open debit a receipt could pay."""

    document_id: int
    number: str
    customer_id: str
    currency: str
    open_amount: Decimal
    due_date: object


@dataclass
class Match:
    transaction: BankTransaction
    customer_id: str | None = None
    invoices: list[tuple[Candidate, Decimal]] = field(default_factory=list)
    confidence: int = 0
    reason: str = "no match"
    write_off: Decimal = Decimal(0)

    @property
    def matched(self) -> bool:
        return self.customer_id is not None


def normalize_name(text: str) -> str:
    """Case-, width- and punctuation-insensitive form of a company name."""
    folded = unicodedata.normalize("NFKC", text or "").casefold()
    folded = re.sub(r"\b(ltd|limited|inc|gmbh|co|llc|plc|corp|company|有限公司|股份有限公司)\b",
                    " ", folded)
    return re.sub(r"[\W_]+", "", folded)


def normalize_account(text: str) -> str:
    return re.sub(r"\s+", "", text or "").upper()


_TOKEN = re.compile(r"[A-Za-z0-9][A-Za-z0-9\-/_.]*[A-Za-z0-9]")


class Matcher:
    """Holds the open items and payer keys; matches one receipt at a time."""

    def __init__(self, candidates: list[Candidate], names: dict[str, str],
                 accounts: dict[str, str], tolerance: dict[str, Decimal]):
        self.by_number: dict[str, list[Candidate]] = defaultdict(list)
        self.by_customer: dict[tuple, list[Candidate]] = defaultdict(list)
        self.by_amount: dict[tuple, list[Candidate]] = defaultdict(list)
        for c in candidates:
            self.by_number[c.number.upper()].append(c)
            self.by_customer[(c.customer_id, c.currency)].append(c)
            self.by_amount[(c.currency, c.open_amount)].append(c)
        self.names = {normalize_name(n): cid for n, cid in names.items() if normalize_name(n)}
        self.accounts = {normalize_account(a): cid for a, cid in accounts.items()}
        self.tolerance = tolerance

    def match(self, tx: BankTransaction) -> Match:
        result = Match(tx)
        if not tx.credit:
            result.reason = f"{tx.nature}: not a receipt"
            return result
        for rule in (self._by_reference, self._by_account, self._by_name, self._by_amount):
            if rule(tx, result):
                return result
        result.reason = "no match: " + self._why_unmatched(tx)
        return result

    def _why_unmatched(self, tx: BankTransaction) -> str:
        """Why each rule passed over the receipt, so the user knows what to add or fix."""
        named = {c.customer_id for token in _TOKEN.findall(tx.remittance or "")
                 for c in self.by_number.get(token.upper(), []) if c.currency == tx.currency}
        reference = ("remittance names open items of several customers" if len(named) > 1
                     else "no open invoice number in the remittance")
        account = "payer account not known" if tx.payer_account else "no payer account"
        name = "payer name not known" if tx.payer_name else "no payer name"
        count = len(self.by_amount.get((tx.currency, tx.amount), []))
        amount = (f"{count} open items of {tx.amount} {tx.currency}" if count
                  else f"no open item of {tx.amount} {tx.currency}")
        return "; ".join((reference, account, name, amount))

    def _settle(self, result: Match, customer: str, items: list[Candidate], confidence: int,
                reason: str) -> bool:
        """Spread the receipt over items in order; note a write-off within tolerance."""
        tx = result.transaction
        left = tx.amount
        for item in sorted(items, key=lambda c: (str(c.due_date), c.number)):
            if left <= 0:
                break
            take = min(left, item.open_amount)
            result.invoices.append((item, take))
            left -= take
        open_total = sum((c.open_amount for c in items), Decimal(0))
        short = open_total - tx.amount
        if 0 < short <= self.tolerance.get(tx.currency, Decimal(0)):
            result.write_off = short
            reason += f"; {short} short, within tolerance: suggest write-off (bank charges)"
        result.customer_id, result.confidence, result.reason = customer, confidence, reason
        return True

    def _by_reference(self, tx: BankTransaction, result: Match) -> bool:
        named: list[Candidate] = []
        for token in _TOKEN.findall(tx.remittance or ""):
            for cand in self.by_number.get(token.upper(), []):
                if cand.currency == tx.currency and cand not in named:
                    named.append(cand)
        customers = {c.customer_id for c in named}
        if len(customers) != 1:
            return False
        total = sum((c.open_amount for c in named), Decimal(0))
        exact = total == tx.amount or 0 <= total - tx.amount <= \
            self.tolerance.get(tx.currency, Decimal(0))
        numbers = ", ".join(c.number for c in named)
        return self._settle(result, customers.pop(), named, 95 if exact else 85,
                            f"remittance names {numbers}")

    def _customer_items(self, customer: str, tx: BankTransaction) -> tuple[list, bool]:
        items = self.by_customer.get((customer, tx.currency), [])
        exact = [c for c in items if c.open_amount == tx.amount]
        return (exact[:1], True) if len(exact) == 1 else (items, False)

    def _by_payer(self, tx: BankTransaction, result: Match, customer: str | None,
                  known: str, scores: tuple[int, int]) -> bool:
        """Match through a known payer key (account or name) of one customer."""
        if customer is None:
            return False
        items, exact = self._customer_items(customer, tx)
        detail = ("; one open item of exactly this amount" if exact else
                  "; applied oldest first")
        return self._settle(result, customer, items, scores[0] if exact else scores[1],
                            f"{known} belongs to {customer}{detail}")

    def _by_account(self, tx: BankTransaction, result: Match) -> bool:
        customer = self.accounts.get(normalize_account(tx.payer_account)) \
            if tx.payer_account else None
        return self._by_payer(tx, result, customer, f"payer account {tx.payer_account}",
                              (75, 65))

    def _by_name(self, tx: BankTransaction, result: Match) -> bool:
        customer = self.names.get(normalize_name(tx.payer_name)) if tx.payer_name else None
        return self._by_payer(tx, result, customer, f"payer name {tx.payer_name!r}", (60, 50))

    def _by_amount(self, tx: BankTransaction, result: Match) -> bool:
        same = self.by_amount.get((tx.currency, tx.amount), [])
        if len(same) != 1:
            return False
        return self._settle(result, same[0].customer_id, same, 40,
                            f"only open item of {tx.amount} {tx.currency} is {same[0].number}")
