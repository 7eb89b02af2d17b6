"""``arcli credit`` and ``arcli collections``: credit control and collection performance."""

from __future__ import annotations

import click

from arcli.cli.common import (
    DATE,
    AppContext,
    customer_option,
    emit,
    exit_found,
    output_options,
    pass_app,
)


@click.command("credit")
@click.option("--as-of", type=DATE, help="Evaluate as of this date (default today).")
@customer_option
@click.option("--status", "statuses", multiple=True, type=click.Choice(["ok", "warn", "hold"]),
              help="Only lines with this status (repeatable).")
@output_options
@pass_app
def credit_command(app: AppContext, as_of, customer_ids, statuses, out) -> None:
    """Credit control: balance against limit, overdue, payment behaviour, suggested class
    (A good / B normal / C risky) and status ok / warn / hold.

    Exits 3 when any customer is on hold (over limit or debt too old), so a shipping
    script can stop deliveries.
    """
    from arcli.credit import credit_lines, credit_policy, credit_report

    policy = credit_policy(app.config)
    with app.store.connect() as conn:
        lines = credit_lines(conn, as_of or app.today, policy, customer_ids or None)
    if statuses:
        lines = [ln for ln in lines if ln.status in statuses]
    emit(out, credit_report(lines))
    exit_found(any(ln.status == "hold" for ln in lines))


@click.command("collections")
@click.option("--period", default="last-month", show_default=True,
              help="YYYY-MM, this-month or last-month.")
@output_options
@pass_app
def collections_command(app: AppContext, period: str, out) -> None:
    """Collection rate per salesperson and currency for a month, against the targets in
    config `collections.targets`.

    collection_rate_pct = collected / (opening + invoiced - credited).
    """
    from arcli.collections_report import collection_lines, collections_report, targets_for
    from arcli.periods import parse_period

    chosen = parse_period(period, app.today)
    targets = targets_for(app.config, chosen)
    with app.store.connect() as conn:
        lines = collection_lines(conn, chosen, targets)
    emit(out, collections_report(lines, chosen))
