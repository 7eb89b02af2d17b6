"""``arcli import customers|ledger``: atomic, idempotent imports with precise errors."""

from __future__ import annotations

from pathlib import Path

import click

from arcli.cli.common import (
    AppContext,
    emit,
    encoding_option,
    mapping_hint,
    output_options,
    pass_app,
    stage_progress,
)
from arcli.output import Report


@click.group("import")
def import_group() -> None:
    """Import customers or ledger documents (CSV, TSV, XLSX, JSON lines; '-' = stdin)."""


def _one_import_at_a_time(app: AppContext):
    """Imports into one book run one after the other (see ``store/locks``)."""
    from arcli.store.locks import waiting_lock

    return waiting_lock(app.store, "import", on_wait=lambda: app.info(
        "another import into this book is running: waiting for it to finish"))


#: What a terminal shows for each stage of a ledger import (see ``importing.ledger.Progress``).
#: Short, so that name, label, bar and time fit an 80-column terminal.
_LEDGER_STAGES = {"checking": "comparing", "reading": "reading", "loading": "loading",
                  "indexing": "building indexes"}


def _short_name(file: str) -> str:
    """The file's name as a progress bar shows it: no folders, at most 24 characters."""
    name = "stdin" if file == "-" else Path(file).name
    return name if len(name) <= 24 else f"{name[:23]}…"


def _summary(result, kind: str) -> Report:
    counts = {"customers": ("inserted", "updated", "unchanged"),
              "ledger": ("inserted", "replaced", "unchanged")}[kind]
    row = {"file": result.file, "sha256": result.sha256, "rows": result.rows_read,
           **{c: getattr(result, c) for c in counts},
           "batch": result.batch_id, "dry_run": result.dry_run}
    return Report(["file", "sha256", "rows", *counts, "batch", "dry_run"], [row])


@import_group.command("customers")
@click.argument("file")
@click.option("--mapping", metavar="NAME", help="A mapping from the config's `mappings:`.")
@click.option("--dry-run", is_flag=True, help="Validate and report; store nothing.")
@encoding_option
@output_options
@pass_app
def import_customers_command(app: AppContext, file: str, mapping: str | None, dry_run: bool,
                             encoding: str | None, out) -> None:
    """Import or update customers from FILE.

    Native columns: id,name,email,language,currency,address,credit_limit,terms_days,
    credit_class,salesperson,contact (only id and name are required).
    """
    from arcli.importing.customers import import_customers
    from arcli.importing.mapping import CUSTOMER_FIELDS, mapping_from_config

    chosen = mapping_from_config(app.config, mapping, CUSTOMER_FIELDS, encoding)
    with mapping_hint(app, mapping), _one_import_at_a_time(app):
        result = import_customers(app.store, file, chosen, dry_run=dry_run)
    verb = "would import" if dry_run else "imported"
    app.info(f"{result.file}: {verb} {result.inserted} new, {result.updated} updated, "
             f"{result.unchanged} unchanged customer(s)")
    emit(out, _summary(result, "customers"))


@import_group.command("ledger")
@click.argument("file")
@click.option("--mapping", metavar="NAME", help="A mapping from the config's `mappings:`.")
@click.option("--dry-run", is_flag=True, help="Validate and report; store nothing.")
@click.option("--create-customers", is_flag=True,
              help="Create unknown customers (named by their id) instead of rejecting rows.")
@click.option("--replace", is_flag=True,
              help="Accept documents that return with different content (old version kept "
                   "in the history).")
@encoding_option
@output_options
@pass_app
def import_ledger_command(app: AppContext, file: str, mapping: str | None, dry_run: bool,
                          create_customers: bool, replace: bool, encoding: str | None,
                          out) -> None:
    """Import ledger documents from FILE; cash application reruns for what changed.

    Native columns: type,number,customer,date,due_date,amount,currency,reference,description
    with type invoice|credit_note|payment|fee|interest and a positive amount. An empty
    due_date means date + the customer's terms (else the configured default, 30 days).
    Re-importing a file adds nothing; all errors are listed and nothing is imported.
    """
    from arcli.importing.ledger import LedgerImportOptions, import_ledger
    from arcli.importing.mapping import LEDGER_FIELDS, mapping_from_config
    from arcli.settings import book_settings

    book = book_settings(app.config)
    options = LedgerImportOptions(
        mapping=mapping_from_config(app.config, mapping, LEDGER_FIELDS, encoding),
        create_customers=create_customers, replace=replace, dry_run=dry_run,
        default_terms=book.default_terms, default_currency=book.default_currency,
        settlement_order=book.settlement_order,
    )
    stages = stage_progress(app, _short_name(file), _LEDGER_STAGES)
    with mapping_hint(app, mapping), _one_import_at_a_time(app), stages as progress:
        result = import_ledger(app.store, file, options, progress)
    verb = "would import" if dry_run else "imported"
    note = ""
    if not result.inserted and not result.replaced and result.previous_batch:
        note = f" (already imported as batch {result.previous_batch})"
    app.info(f"{result.file}: {verb} {result.inserted} new, {result.replaced} replaced, "
             f"{result.unchanged} unchanged document(s){note}")
    emit(out, _summary(result, "ledger"))
