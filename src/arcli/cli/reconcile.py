"""``arcli reconcile``: cash application by hand, confirmations, GL tie-out, bank statements.

Exit codes: 0 when everything reconciles, 3 when differences or unmatched lines remain,
1 on errors.
"""

from __future__ import annotations

from pathlib import Path

import click

from arcli.cli.common import (
    DATE,
    AppContext,
    customer_option,
    document_argument,
    emit,
    encoding_option,
    exit_found,
    output_options,
    pass_app,
)


@click.group("reconcile")
def reconcile() -> None:
    """Make open items, customer confirmations, the GL and the bank agree."""


@reconcile.command("status")
@customer_option
@click.option("--as-of", type=DATE)
@output_options
@pass_app
def status_command(app: AppContext, customer_ids, as_of, out) -> None:
    """Unapplied credits, partly paid invoices and payments whose reference matched
    nothing, each with a suggestion. Exits 3 when there is anything to look at."""
    from arcli.reconcile.manual import status

    with app.store.connect() as conn:
        report = status(conn, as_of or app.today, list(customer_ids) or None)
    emit(out, report)
    exit_found(bool(report.rows))


@reconcile.command("apply")
@document_argument("payment")
@document_argument("invoice")
@click.option("--amount", help="Amount to pin (default: as much as both can take).")
@pass_app
def apply_command(app: AppContext, payment, invoice, amount) -> None:
    """Pin PAYMENT (or a credit note) to INVOICE; it takes precedence over the automatic
    rules and survives re-imports."""
    from arcli.errors import UsageError
    from arcli.money import MoneyError, parse_decimal
    from arcli.reconcile.manual import apply_manual
    from arcli.settings import book_settings

    try:
        value = parse_decimal(amount) if amount else None
    except MoneyError as exc:
        raise UsageError(f"--amount: {exc}") from None
    with app.store.begin() as conn:
        pinned = apply_manual(conn, payment, invoice, value, book_settings(app.config))
    app.info(f"pinned {pinned} of {payment} to {invoice}")


@reconcile.command("unapply")
@document_argument("payment")
@document_argument("invoice", required=False)
@pass_app
def unapply_command(app: AppContext, payment, invoice) -> None:
    """Remove PAYMENT's manual allocations (to INVOICE only, if given)."""
    from arcli.reconcile.manual import unapply_manual
    from arcli.settings import book_settings

    with app.store.begin() as conn:
        count = unapply_manual(conn, payment, invoice, book_settings(app.config))
    app.info(f"removed {count} manual allocation(s) of {payment}")


@reconcile.command("explain")
@document_argument()
@output_options
@pass_app
def explain_command(app: AppContext, document, out) -> None:
    """The allocation trace of an invoice or payment: amounts, rules and why."""
    from arcli.reconcile.manual import explain

    with app.store.connect() as conn:
        emit(out, explain(conn, document))


@reconcile.command("confirmations")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--items", "items_file", type=click.Path(exists=True, dir_okay=False),
              help="The customers' own open items: customer,currency,number,amount.")
@click.option("--as-of", type=DATE, help="For customers not in FILE (default today).")
@encoding_option
@output_options
@pass_app
def confirmations_command(app: AppContext, file, items_file, as_of, encoding, out) -> None:
    """Compare confirmed balances (customer,currency,as_of,balance[,note]) with ours:
    agreed / differs / not returned, and item-level differences. Stored for statements.
    Exits 3 when anything differs or was not returned."""
    from arcli.reconcile.confirmations import compare_confirmations

    with app.store.begin() as conn:
        report, found = compare_confirmations(conn, file, items_file, as_of or app.today,
                                              encoding)
    emit(out, report)
    exit_found(found)


@reconcile.command("gl")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--as-of", type=DATE, required=True, help="The GL cut-off date.")
@encoding_option
@output_options
@pass_app
def gl_command(app: AppContext, file, as_of, encoding, out) -> None:
    """Tie the AR subledger to the GL control account (FILE: currency,balance) and list
    the documents dated or imported after the cut-off. Exits 3 on a difference."""
    from arcli.reconcile.confirmations import gl_tieout

    with app.store.connect() as conn:
        report, found = gl_tieout(conn, file, as_of, encoding)
    emit(out, report)
    exit_found(found)


@reconcile.command("bank")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--bank-format", "--input-format", "bank_format",
              type=click.Choice(["camt053", "mt940", "ofx", "csv"]),
              help="Statement format (default: detected). Not to be confused with the "
                   "output --format.")
@click.option("--mapping", metavar="NAME", help="Config mapping for a CSV statement.")
@click.option("--apply", "apply_", is_flag=True,
              help="Post matched receipts as payments (idempotent by bank reference).")
@click.option("--as-of", type=DATE, help="Match against items open at this date.")
@encoding_option
@output_options
@pass_app
def bank_command(app: AppContext, file, bank_format, mapping, apply_, as_of, encoding,
                 out) -> None:
    """Match bank receipts (camt.053, MT940, OFX, CSV) to customers and invoices by
    remittance text, payer account or name, then amount; with --apply post them.
    Exits 3 when unmatched receipts remain."""
    from arcli.importing.mapping import mapping_from_config
    from arcli.reconcile.bank import (
        apply_matches,
        bank_report,
        bank_settings,
        build_matcher,
        source_for,
    )
    from arcli.reconcile.bankformats import BANK_FIELDS, read_statement
    from arcli.settings import book_settings

    settings = bank_settings(app.config)
    chosen = (mapping_from_config(app.config, mapping, BANK_FIELDS, encoding)
              if mapping or encoding else None)
    transactions = read_statement(Path(file), bank_format, chosen)
    with app.store.begin() as conn:
        matcher = build_matcher(conn, as_of or app.today, settings)
        matches = [matcher.match(tx) for tx in transactions]
        status = {}
        if apply_:
            source = source_for(Path(file))
            order = book_settings(app.config).settlement_order
            status = apply_matches(conn, source, matches, settings, settlement_order=order)
        else:
            from arcli.reconcile.bank import posted_refs

            status = {ref: "already posted" for ref in
                      posted_refs(conn, [t.bank_ref for t in transactions])}
    report = bank_report(matches, status, settings.min_confidence)
    emit(out, report)
    exit_found(any(r["status"] in ("unmatched", "low confidence") for r in report.rows))
