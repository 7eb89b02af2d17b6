"""Dunning history and legal hand-over lists."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from decimal import Decimal

from sqlalchemy import Connection, func, select

from arcli import money
from arcli.ledger import open_items
from arcli.output import Report
from arcli.store.schema import customers, dunning_letters


def history_report(conn: Connection, customer_ids=()) -> Report:
    """Every letter recorded; a withdrawn one (a forced rerun found it no longer due) with
    status withdrawn and the reason."""
    d = dunning_letters.c
    query = (select(dunning_letters, customers.c.name)
             .join(customers, customers.c.id == d.customer_id)
             .order_by(d.as_of.desc(), d.customer_id, d.currency))
    if customer_ids:
        query = query.where(d.customer_id.in_(list(customer_ids)))
    rows = [{"as_of": r.as_of, "customer": r.customer_id, "name": r.name,
             "currency": r.currency, "level": r.level,
             "overdue": money.from_minor(r.overdue_minor, r.currency),
             "fees": money.from_minor(r.fees_minor, r.currency),
             "interest": money.from_minor(r.interest_minor, r.currency),
             "total_due": money.from_minor(r.total_minor, r.currency), "file": r.file,
             "sha256": r.sha256,
             "status": "withdrawn" if r.withdrawn_at is not None else "issued",
             "withdrawn_reason": r.withdrawn_reason} for r in conn.execute(query)]
    return Report(["as_of", "customer", "name", "currency", "level", "overdue", "fees",
                   "interest", "total_due", "file", "sha256", "status", "withdrawn_reason"],
                  rows)


def handover_report(conn: Connection, as_of: dt.date, legal_level: int,
                    customer_ids=()) -> Report:
    """Customers whose latest letter reached the legal level: their open debts in full."""
    d = dunning_letters.c
    standing = d.withdrawn_at.is_(None)  # a withdrawn letter was never sent
    latest = (select(d.customer_id, d.currency, func.max(d.as_of).label("as_of"))
              .where(standing).group_by(d.customer_id, d.currency).subquery())
    cases = conn.execute(select(d.customer_id, d.currency, d.level)
                         .join(latest, (latest.c.customer_id == d.customer_id)
                               & (latest.c.currency == d.currency)
                               & (latest.c.as_of == d.as_of)))
    legal = {(r.customer_id, r.currency) for r in cases if r.level >= legal_level}
    if customer_ids:
        legal = {k for k in legal if k[0] in customer_ids}
    letters: dict[tuple, list[str]] = defaultdict(list)
    for r in conn.execute(select(d.customer_id, d.currency, d.as_of, d.level, d.file)
                          .where(standing).order_by(d.as_of)):
        letters[(r.customer_id, r.currency)].append(f"{r.as_of.isoformat()} L{r.level} "
                                                    f"{r.file or ''}".strip())
    rows = []
    ids = sorted({c for c, _ in legal})
    for item in open_items(conn, as_of, ids) if ids else []:
        key = (item.customer_id, item.currency)
        if key not in legal or item.open_amount <= 0:
            continue
        rows.append({"customer": item.customer_id, "name": item.customer_name,
                     "currency": item.currency, "type": item.type, "number": item.number,
                     "date": item.date, "due_date": item.due_date,
                     "days_overdue": item.days_overdue(as_of), "amount": item.amount,
                     "open_amount": item.open_amount,
                     "letters_sent": "; ".join(letters[key])})
    return Report(["customer", "name", "currency", "type", "number", "date", "due_date",
                   "days_overdue", "amount", "open_amount", "letters_sent"], rows)


def rates_report(policy) -> Report:
    """The reference rates each preset uses (shipped, and your own from the config), with
    the margin, the table's source and when it was checked: the figures behind every
    interest charge, so an accountant can compare them with the official notice."""
    from arcli.dunning.interest import PRESETS, shipped_rates

    tables = shipped_rates()["tables"]
    rows = []
    for preset in PRESETS.values():
        if not preset.table_key:
            continue
        table = tables[preset.table_key]
        shipped = {dt.date.fromisoformat(d): Decimal(r) for d, r in table["rates"]}
        # The configured preset's table in force: shipped rates plus reference_rates.
        in_force = dict(policy.rates) if policy.preset == preset.name else shipped
        for day, rate in sorted(in_force.items()):
            rows.append({"preset": preset.name, "from": day, "rate": rate,
                         "margin": preset.margin,
                         "origin": "shipped" if shipped.get(day) == rate else "config",
                         "checked": table["checked"], "source": table["source"]})
    return Report(["preset", "from", "rate", "margin", "origin", "checked", "source"], rows)
