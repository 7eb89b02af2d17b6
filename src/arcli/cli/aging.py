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
@click.option("--expected", is_flag=True,
              help="Add the expected recovery per bucket and in total (collectability "
                   "curve by days overdue, `aging.expected_curve` in the config).")
@output_options
@pass_app
def aging_command(app: AppContext, as_of, basis, buckets, customer_ids, currency, detail,
                  summary, expected, out) -> None:
    """Open amounts per customer and currency by days overdue.

    Columns: customer,name,currency,current,1-30,31-60,61-90,91+,unapplied,total (bucket
    labels follow --buckets; on document basis the first is 0-30). unapplied is unapplied
    credit (negative); total = buckets + unapplied = the customer's balance.

    With --expected: expected_<bucket>... and expected_total (each bucket's exact sum of
    open amount x share, rounded half up once; totals are sums of the figures shown).
    With --detail: recovery_share and expected per open item.
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
    if expected:
        from arcli.cli.insight_config import recovery_curve

        curve = recovery_curve(app.config.section("aging"))
        _aging_expected(app, spec, curve, customer_ids, currency, detail, out)
        return
    with app.reader() as reader:
        if detail:  # rows are read as they are written: emit while the reader is open
            emit(out, aging_detail(reader, spec, customer_ids or None, currency))
            return
        rows = aging_rows(reader, spec, customer_ids or None, currency)
    emit(out, aging_report(rows, spec))


def _aging_expected(app: AppContext, spec, curve, customer_ids, currency, detail, out) -> None:
    """``aging --expected``: the summary or detail with the expected recovery."""
    from arcli.aging import aging_rows
    from arcli.insight.recovery import expected_by_bucket, expected_detail, expected_report
    from arcli.ledger import iter_open_items

    with app.reader() as reader:
        items = iter_open_items(reader, spec.as_of, customer_ids or None, currency)
        if detail:
            emit(out, expected_detail(items, spec, curve))
            return
        expected = expected_by_bucket(items, spec, curve)
        rows = aging_rows(reader, spec, customer_ids or None, currency)
    emit(out, expected_report(rows, expected, spec))
