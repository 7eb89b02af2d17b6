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
@click.option("--base", is_flag=True,
              help="Also rows in the company currency (config fx: base and dated rates), "
                   "every currency converted at its month-end rate (converted: yes).")
@output_options
@pass_app
def kpi_command(app: AppContext, period, months, by, base, out) -> None:
    """Receivables KPIs per month and currency (amounts never added across currencies).

    Columns: period,[salesperson|class|customer,]currency,opening,credit_sales,closing,
    current,overdue,over_90,dso,dso_countback,best_dso,add,cei_pct,overdue_pct,
    over_90_pct. Formulas in the README (`arcli kpi`).
    """
    from arcli.insight.kpi import kpi_report
    from arcli.periods import parse_period

    last = parse_period(period, app.today).up_to(app.today)
    fx = None
    if base:
        from arcli.cli.insight_config import fx_table

        fx = fx_table(app.config)
        if fx is None:
            raise click.UsageError("--base needs an `fx:` section in the config "
                                   "(base: EUR, rates: {USD: [{from: 2026-01-01, "
                                   "rate: '0.92'}]})")
    with app.store.connect() as conn:  # the month's movements are a SQLAlchemy query
        report = kpi_report(conn, last, months, by, fx)
    emit(out, report)
