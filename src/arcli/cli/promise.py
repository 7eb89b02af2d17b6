"""``arcli promise``: customers' promises to pay, and whether they were kept."""

from __future__ import annotations

import click

from arcli.cli.common import (
    CURRENCY,
    DATE,
    AppContext,
    customer_argument,
    customer_option,
    emit,
    exit_found,
    output_options,
    pass_app,
)
from arcli.output import Report


@click.group("promise")
def promise() -> None:
    """Track promises to pay: pending ones hold letters back, broken ones escalate."""


@promise.command("add")
@customer_argument()
@click.argument("amount")
@click.option("--by", "due_by", type=DATE, required=True, help="Date the customer will pay by.")
@click.option("--currency", type=CURRENCY, help="Default: the customer's currency.")
@click.option("--note")
@click.option("--date", "promised_on", type=DATE,
              help="When the promise was made (default today); payments from it count.")
@pass_app
def add_command(app: AppContext, customer, amount, due_by, currency, note, promised_on) -> None:
    """Record that CUSTOMER promised to pay AMOUNT by a date."""
    from sqlalchemy import select

    from arcli.dunning.holds import add_promise
    from arcli.errors import UsageError
    from arcli.money import MoneyError, parse_decimal
    from arcli.store.schema import customers

    try:
        value = parse_decimal(amount)
    except MoneyError as exc:
        raise UsageError(f"AMOUNT: {exc}") from None
    with app.store.begin() as conn:
        cur = currency or conn.execute(select(customers.c.currency)
                                       .where(customers.c.id == customer)).scalar()
        if not cur:
            raise UsageError("--currency is needed (the customer has no default currency)")
        add_promise(conn, customer, value, cur, due_by, app.today, note, promised_on)
    made = f" (made {promised_on.isoformat()})" if promised_on else ""
    app.info(f"promise recorded: {customer} {cur} {value} by {due_by.isoformat()}{made}")


@promise.command("list")
@customer_option
@click.option("--as-of", type=DATE, help="Judge them as of this date (default today).")
@output_options
@pass_app
def list_command(app: AppContext, customer_ids, as_of, out) -> None:
    """Promises with their status: pending, kept, partly kept or broken, as of a date
    (payments dated later do not count). Exits 3 when any is broken or partly kept."""
    from arcli.dunning.holds import load_promises

    day = as_of or app.today
    with app.store.connect() as conn:
        found = load_promises(conn, day, customer_ids or None)
    rows = [{"customer": p.customer_id, "currency": p.currency, "amount": p.amount,
             "promised_on": p.promised_on, "due_by": p.due_by, "paid": p.paid,
             "status": p.status(day), "note": p.note} for p in found]
    emit(out, Report(["customer", "currency", "amount", "promised_on", "due_by", "paid",
                      "status", "note"], rows))
    exit_found(any(r["status"] in ("broken", "partly kept") for r in rows))
