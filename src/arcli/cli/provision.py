"""``arcli provision``: the bad-debt provision per currency and the entry to book."""

from __future__ import annotations

import click

from arcli.cli.common import DATE, AppContext, emit, output_options, pass_app


@click.command("provision")
@click.option("--as-of", type=DATE, help="Provision as of this date (default today).")
@click.option("--method", type=click.Choice(["aging-rates", "roll-rate"]), default=None,
              help="Rates per age band (default; provision.bands) or roll rates from the "
                   "book's own month-end agings.")
@click.option("--basis", type=click.Choice(["document", "due"]), default=None,
              help="aging-rates: age from the document date (default) or the due date.")
@click.option("--months", type=click.IntRange(1, 120), default=None,
              help="roll-rate: months of history (default provision.months, else 12).")
@click.option("--show-matrix", is_flag=True,
              help="roll-rate: show the provision matrix (roll and loss rates per bucket, "
                   "the sums and months they come from) instead of the provision.")
@output_options
@pass_app
def provision_command(app: AppContext, as_of, method, basis, months, show_matrix,
                      out) -> None:
    """Bad-debt provision per currency and age band, against the previous month end.

    Columns: as_of,previous_as_of,currency,band,rate,balance,provision,previous_balance,
    previous_provision,change. balance is the aging's open debits in the band (unapplied
    credit is not provided against); provision = balance x rate rounded half up once per
    band; change = provision - previous_provision is the entry to book. Totals per
    currency (band TOTAL) are sums of the rows.
    """
    if show_matrix and (method or app.config.section("provision").get_str(
            "method", "aging-rates")) != "roll-rate":
        raise click.UsageError("--show-matrix needs --method roll-rate")
    with app.reader() as reader:
        report, matrix = provision_figures(app, reader, as_of or app.today, method, basis,
                                           months)
    emit(out, matrix if show_matrix else report)


def provision_figures(app: AppContext, conn, as_of, method=None, basis=None, months=None):
    """The provision report (and, for roll rates, the matrix report, else None) as the
    config and the options ask; shared with ``report pack``."""
    from arcli.cli.insight_config import provision_bands, roll_buckets
    from arcli.insight import provision as prov

    section = app.config.section("provision")
    method = method or section.get_str("method", "aging-rates")
    if method not in prov.METHODS:
        raise section.error("method", f"must be one of {', '.join(prov.METHODS)}")
    previous = prov.month_end_before(as_of)
    matrix = None
    if method == "aging-rates":
        basis = basis or section.get_str("basis", "document")
        if basis not in ("document", "due"):
            raise section.error("basis", "must be document or due")
        bands = provision_bands(section)
        labels = prov.band_spec(as_of, bands, basis).labels
        lines = prov.aging_rate_lines(conn, as_of, bands, basis)
        before = prov.aging_rate_lines(conn, previous, bands, basis)
    else:
        buckets = roll_buckets(section)
        months = months or section.get_int("months", prov.DEFAULT_MONTHS, minimum=1)
        lines, rolls = prov.roll_rate_lines(conn, as_of, buckets, months)
        matrix = prov.matrix_report(as_of, rolls)
        before, _ = prov.roll_rate_lines(conn, previous, buckets, months)
        labels = prov.AgingSpec(as_of, "due", buckets).labels
    return prov.provision_report(as_of, previous, labels, lines, before), matrix
