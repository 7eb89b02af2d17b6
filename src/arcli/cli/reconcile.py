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
from arcli.errors import UsageError


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


def _bank_options(func):
    """The options that say how to read a bank statement (bank, accept)."""
    for option in reversed((
            click.argument("file", type=click.Path(exists=True, dir_okay=False)),
            click.option("--bank-format", "--input-format", "bank_format",
                         type=click.Choice(["camt053", "mt940", "ofx", "csv"]),
                         help="Statement format (default: detected). Not to be confused "
                              "with the output --format."),
            click.option("--mapping", metavar="NAME", help="Config mapping for a CSV statement."),
            click.option("--as-of", type=DATE, help="Match against items open at this date."),
            encoding_option)):
        func = option(func)
    return func


def _read_bank(app: AppContext, file, bank_format, mapping, encoding):
    """The statement's transactions and the bank settings."""
    from arcli.cli.common import mapping_hint
    from arcli.importing.mapping import mapping_from_config
    from arcli.reconcile.bank import bank_settings
    from arcli.reconcile.bankformats import BANK_FIELDS, read_statement

    chosen = (mapping_from_config(app.config, mapping, BANK_FIELDS, encoding)
              if mapping or encoding else None)
    with mapping_hint(app, mapping):
        transactions = read_statement(Path(file), bank_format, chosen)
    return transactions, bank_settings(app.config)


@reconcile.command("bank")
@_bank_options
@click.option("--apply", "apply_", is_flag=True,
              help="Post matched receipts as payments (idempotent by bank reference).")
@output_options
@pass_app
def bank_command(app: AppContext, file, bank_format, mapping, apply_, as_of, encoding,
                 out) -> None:
    """Match bank receipts (camt.053, MT940, OFX, CSV) to customers and invoices by
    remittance text, payer account or name, then amount; with --apply post them.
    A receipt short by bank charges within the tolerance is posted with a suggested
    write-off (`reconcile write-off --suggested` posts it); a low-confidence match is
    posted with `reconcile accept`. Exits 3 when unmatched receipts remain."""
    from arcli.reconcile.bank import (
        apply_matches,
        as_posted,
        bank_report,
        build_matcher,
        source_for,
    )
    from arcli.settings import book_settings

    transactions, settings = _read_bank(app, file, bank_format, mapping, encoding)
    with app.store.begin() as conn:
        matcher = build_matcher(conn, as_of or app.today, settings)
        matches = [matcher.match(tx) for tx in transactions]
        shown = as_posted(conn, matches)  # as the book holds them before this run posts
        status = {}
        if apply_:
            source = source_for(Path(file))
            order = book_settings(app.config).settlement_order
            status = apply_matches(conn, source, matches, settings, settlement_order=order)
        else:
            from arcli.reconcile.bank import posted_earlier, posted_statuses

            status = posted_statuses(posted_earlier(conn, transactions))
    report = bank_report(shown, status, settings.min_confidence)
    emit(out, report)
    exit_found(any(r["status"] in ("unmatched", "low confidence") for r in report.rows))


@reconcile.command("accept")
@_bank_options
@click.argument("bank_ref")
@output_options
@pass_app
def accept_command(app: AppContext, file, bank_format, mapping, as_of, encoding, bank_ref,
                   out) -> None:
    """Post the match `reconcile bank` proposed for BANK_REF in FILE although its
    confidence is below reconcile.min_confidence (you checked it). Idempotent: a
    receipt already posted is reported as such."""
    import dataclasses

    from arcli.reconcile.bank import (
        apply_matches,
        bank_report,
        build_matcher,
        posted_match,
        source_for,
    )
    from arcli.reconcile.writeoff import bank_line
    from arcli.settings import book_settings

    transactions, settings = _read_bank(app, file, bank_format, mapping, encoding)
    tx = bank_line(transactions, bank_ref)
    with app.store.begin() as conn:
        earlier = posted_match(conn, tx)
        if earlier is not None:  # not matched again: its invoices are settled by now
            emit(out, bank_report([earlier], {bank_ref: "already posted"}, 0))
            app.info(f"{bank_ref}: already posted to {earlier.customer_id}")
            return
        match = build_matcher(conn, as_of or app.today, settings).match(tx)
        if not match.matched:
            raise UsageError(f"{bank_ref} matched nothing to accept: {match.reason}")
        accepted = dataclasses.replace(settings, min_confidence=0)
        status = apply_matches(conn, source_for(Path(file)), [match], accepted,
                               settlement_order=book_settings(app.config).settlement_order)
    emit(out, bank_report([match], status, settings.min_confidence))
    app.info(f"{bank_ref}: {status.get(bank_ref, 'not posted')} to {match.customer_id}")


@reconcile.command("write-off")
@click.argument("document", required=False)
@click.option("--amount", help="Amount to write off (default: all that is open on it).")
@click.option("--reason", help="Why (kept with the write-off); required with DOCUMENT.")
@click.option("--customer", "customer_id", metavar="ID",
              help="The customer DOCUMENT must belong to (a check).")
@click.option("--date", "day", type=DATE, help="Date of the write-off (default today).")
@click.option("--suggested", is_flag=True,
              help="Post the write-offs bank matching suggested for posted receipts.")
@output_options
@pass_app
def write_off_command(app: AppContext, document, amount, reason, customer_id, day, suggested,
                      out) -> None:
    """Write off a small difference as a `write_off` document pinned to the invoice:
    DOCUMENT (--amount, --reason), or with --suggested the bank charges that
    `reconcile bank --apply` found within the tolerance. Limited per currency by
    reconcile.write_off_limit (else reconcile.tolerance). Exits 3 when a suggested
    write-off could not be posted."""
    from arcli.money import MoneyError, parse_decimal
    from arcli.output import Report
    from arcli.reconcile.writeoff import (
        COLUMNS,
        post_suggested,
        write_off_document,
        write_off_limits,
    )
    from arcli.settings import book_settings

    if suggested == bool(document):
        raise UsageError("give either DOCUMENT (with --reason) or --suggested")
    if document and not reason:
        raise UsageError("--reason is required: say why it is written off")
    try:
        value = parse_decimal(amount) if amount else None
    except MoneyError as exc:
        raise UsageError(f"--amount: {exc}") from None
    limits = write_off_limits(app.config)
    order = book_settings(app.config).settlement_order
    with app.store.begin() as conn:
        if suggested:
            report = post_suggested(conn, limits, settlement_order=order)
        else:
            report = Report(COLUMNS, [write_off_document(
                conn, document, value, reason, day or app.today, limits,
                customer_id=customer_id, settlement_order=order)])
    emit(out, report)
    exit_found(any(str(r["status"]).startswith("not posted") for r in report.rows))
