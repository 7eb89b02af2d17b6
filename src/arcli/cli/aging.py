"""``arcli aging``: the aging table, summary or open-item detail."""

from __future__ import annotations

import click

from arcli.cli.common import (
    CURRENCY,
    DATE,
    AppContext,
    customer_option,
    emit,
    output_options,
    pass_app,
)


@click.command("aging")
@click.option("--as-of", type=DATE, help="Age as of this date (default today).")
@click.option("--basis", type=click.Choice(["due", "document"]), default=None,
              help="Count age from the due date (default) or the document date.")
@click.option("--buckets", metavar="30,60,90", help="Bucket upper bounds in days.")
@customer_option
@click.option("--currency", type=CURRENCY, help="Only this currency.")
@click.option("--detail", is_flag=True, help="List the open items instead of the summary.")
@click.option("--summary", is_flag=True, help="The per-customer summary (the default).")
@output_options
@pass_app
def aging_command(app: AppContext, as_of, basis, buckets, customer_ids, currency, detail,
                  summary, out) -> None:
    """Open amounts per customer and currency by days overdue.

    Columns: customer,name,currency,current,1-30,31-60,61-90,91+,unapplied,total (bucket
    labels follow --buckets; on document basis the first is 0-30). unapplied is unapplied
    credit (negative); total = buckets + unapplied = the customer's balance.
    """
    from arcli.aging import (
        AgingSpec,
        aging_detail,
        aging_report,
        aging_rows,
        aging_settings,
        parse_buckets,
    )

    if detail and summary:
        raise click.UsageError("--detail and --summary exclude each other")
    configured_basis, configured_buckets = aging_settings(app.config)
    spec = AgingSpec(
        as_of=as_of or app.today,
        basis=basis or configured_basis,
        buckets=parse_buckets(buckets) if buckets else configured_buckets,
    )
    with app.reader() as reader:
        if detail:  # rows are read as they are written: emit while the reader is open
            emit(out, aging_detail(reader, spec, customer_ids or None, currency))
            return
        rows = aging_rows(reader, spec, customer_ids or None, currency)
    emit(out, aging_report(rows, spec))
