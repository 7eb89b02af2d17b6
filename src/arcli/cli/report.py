"""``arcli report pack``: the month-end management pack as PDF or self-contained HTML."""

from __future__ import annotations

from pathlib import Path

import click

from arcli.cli.common import AppContext, pass_app


@click.group("report")
def report() -> None:
    """Management reports made of the other reports' figures."""


@report.command("pack")
@click.option("--period", default="last-month", show_default=True,
              metavar="YYYY-MM|last-month|this-month", help="The month (as of its last day).")
@click.option("--out", "out_path", required=True, metavar="FILE.pdf|FILE.html",
              help="Where to write the pack; the suffix chooses PDF or HTML.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Language of the headings.")
@pass_app
def pack_command(app: AppContext, period: str, out_path: str, lang: str) -> None:
    """Aging by bucket and its 12-month trend, top debtors, collection rate per
    salesperson against target, DSO trend, provision and its movement, customers on hold.
    """
    from arcli.fileio import atomic_write
    from arcli.periods import parse_period

    suffix = Path(out_path).suffix.lower()
    if suffix not in (".pdf", ".html", ".htm"):
        raise click.UsageError(f"--out must end in .pdf or .html, got {out_path!r}")
    chosen = parse_period(period, app.today).up_to(app.today)
    pack = gather(app, chosen)
    if suffix == ".pdf":
        from arcli.report_pack.pdf import render_pdf

        data = render_pdf(pack, lang, app.config.section("render").get_path("cjk_font"))
    else:
        from arcli.report_pack.html import render_html

        data = render_html(pack, lang).encode("utf-8")
    atomic_write(Path(out_path), data)
    app.info(f"wrote {out_path}")


def gather(app: AppContext, period):
    """Every section's figures from the commands that show them on their own."""
    from arcli.cli.provision import provision_figures
    from arcli.collections_report import collection_lines, targets_for
    from arcli.credit import credit_lines, credit_policy
    from arcli.insight.kpi import kpi_report
    from arcli.insight.provision import month_end_before
    from arcli.report_pack.data import (
        TREND_MONTHS,
        Pack,
        aging_part,
        provision_part,
        trend_part,
    )
    from arcli.statements import company_from_config

    targets = targets_for(app.config, period)
    policy = credit_policy(app.config)
    company = company_from_config(app.config).name or "arcli"
    with app.store.connect() as conn:
        labels, aging, top = aging_part(conn, period.end)
        dso_rows = list(kpi_report(conn, period, TREND_MONTHS, None).rows)
        trend = trend_part(conn, period, dso_rows)
        collections = collection_lines(conn, period, targets)
        provision, _ = provision_figures(app, conn, period.end)
        holds = [line for line in credit_lines(conn, period.end, policy)
                 if line.status == "hold"]
    return Pack(company, period, labels, aging, trend, top, collections,
                provision_part(provision.totals), (period.end, month_end_before(period.end)),
                holds)
