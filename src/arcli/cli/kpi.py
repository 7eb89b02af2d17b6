"""``arcli kpi``: DSO, CEI, ADD and overdue shares per month and currency."""

from __future__ import annotations

import click

from arcli.cli.common import AppContext, emit, output_options, pass_app


@click.command("kpi")
@click.option("--period", default="last-month", show_default=True,
              metavar="YYYY-MM|last-month|this-month", help="The (last) month.")
@click.option("--months", type=click.IntRange(1, 120), default=1, show_default=True,
              help="Months up to --period, one row each (a trend).")
@click.option("--by", type=click.Choice(["salesperson", "class", "customer"]), default=None,
              help="One row per salesperson, credit class or customer as well.")
@output_options
@pass_app
def kpi_command(app: AppContext, period, months, by, out) -> None:
    """Receivables KPIs per month and currency (amounts never added across currencies).

    Columns: period,[salesperson|class|customer,]currency,opening,credit_sales,closing,
    current,overdue,over_90,dso,dso_countback,best_dso,add,cei_pct,overdue_pct,
    over_90_pct. Formulas in the README (`arcli kpi`).
    """
    from arcli.insight.kpi import kpi_report
    from arcli.periods import parse_period

    last = parse_period(period, app.today)
    with app.store.connect() as conn:  # the month's movements are a SQLAlchemy query
        report = kpi_report(conn, last, months, by)
    emit(out, report)
