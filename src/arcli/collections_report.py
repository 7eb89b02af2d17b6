"""Collection performance per salesperson: what was collectable, what came in, vs target.

Management watches the collection rate: money collected in the month divided by what was
collectable in it (the opening balance plus the month's invoices, less its credit notes),
and collections against the month's target. Figures come from the same balance queries as
every other report, so opening + invoiced - credited - collected = closing, always.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import Connection, func, select

from arcli import money
from arcli.config import ConfigView
from arcli.ledger import balances
from arcli.output import Report
from arcli.periods import Period
from arcli.store.schema import customers, documents

UNASSIGNED = "(unassigned)"


@dataclass
class CollectionLine:
    salesperson: str
    currency: str
    opening: Decimal
    invoiced: Decimal
    credited: Decimal
    collected: Decimal
    closing: Decimal
    target: Decimal | None = None

    @property
    def collectable(self) -> Decimal:
        return self.opening + self.invoiced - self.credited

    @property
    def rate(self) -> Decimal | None:
        if self.collectable <= 0:
            return None
        return (self.collected * 100 / self.collectable).quantize(Decimal("0.1"))

    @property
    def achievement(self) -> Decimal | None:
        if not self.target:
            return None
        return (self.collected * 100 / self.target).quantize(Decimal("0.1"))


def targets_for(config: ConfigView, period: Period) -> dict[tuple[str, str], Decimal]:
    """Targets from ``collections.targets."YYYY-MM".<salesperson>.<CUR>``."""
    month = config.section("collections").section("targets").section(period.label)
    found = {}
    for person in month:
        per_currency = month.section(person)
        for cur in per_currency:
            value = per_currency.get_decimal(cur)
            try:
                code = money.check_currency(cur)
            except money.MoneyError as exc:
                raise per_currency.error(cur, str(exc)) from None
            found[(person, code)] = money.quantize(value, code)
    return found


def movements(conn: Connection, period: Period) -> dict[tuple, dict[str, int]]:
    """Amounts (minor units) per (customer, currency) and document type dated in the period."""
    d = documents.c
    rows = conn.execute(
        select(d.customer_id, d.currency, d.type, func.sum(d.amount_minor))
        .where(d.date >= period.start, d.date <= period.end)
        .group_by(d.customer_id, d.currency, d.type)
    )
    moves: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for cid, cur, doc_type, total in rows:
        moves[(cid, cur)][doc_type] += total
    return moves


def invoiced_minor(moves: dict[str, int]) -> int:
    """What a period's movements invoiced: invoices, fees and interest charged."""
    return moves.get("invoice", 0) + moves.get("fee", 0) + moves.get("interest", 0)


def credited_minor(moves: dict[str, int]) -> int:
    """What a period's movements took back with credit notes."""
    return moves.get("credit_note", 0)


def collection_lines(conn: Connection, period: Period,
                     targets: dict[tuple[str, str], Decimal]) -> list[CollectionLine]:
    owner = {cid: sp or UNASSIGNED
             for cid, sp in conn.execute(select(customers.c.id, customers.c.salesperson))}
    opening = balances(conn, period.start - dt.timedelta(days=1))
    closing = balances(conn, period.end)
    moves = movements(conn, period)
    lines: dict[tuple[str, str], CollectionLine] = {}
    for cid, cur in sorted(set(opening) | set(closing) | set(moves)):
        key = (owner.get(cid, UNASSIGNED), cur)
        zero = money.from_minor(0, cur)
        line = lines.setdefault(key, CollectionLine(key[0], cur, zero, zero, zero, zero, zero))
        m = moves.get((cid, cur), {})
        line.opening += opening.get((cid, cur), zero)
        line.closing += closing.get((cid, cur), zero)
        line.invoiced += money.from_minor(invoiced_minor(m), cur)
        line.credited += money.from_minor(credited_minor(m), cur)
        line.collected += money.from_minor(m.get("payment", 0), cur)
    for key, target in targets.items():
        zero = money.from_minor(0, key[1])
        lines.setdefault(key, CollectionLine(key[0], key[1], zero, zero, zero, zero, zero))
        lines[key].target = target
    return [lines[k] for k in sorted(lines)]


def collections_report(lines: list[CollectionLine], period: Period) -> Report:
    columns = ["period", "salesperson", "currency", "opening", "invoiced", "credited",
               "collectable", "collected", "closing", "collection_rate_pct", "target",
               "achievement_pct"]
    rows = [{
        "period": period.label, "salesperson": ln.salesperson, "currency": ln.currency,
        "opening": ln.opening, "invoiced": ln.invoiced, "credited": ln.credited,
        "collectable": ln.collectable, "collected": ln.collected, "closing": ln.closing,
        "collection_rate_pct": ln.rate, "target": ln.target, "achievement_pct": ln.achievement,
    } for ln in lines]
    return Report(columns, rows)
