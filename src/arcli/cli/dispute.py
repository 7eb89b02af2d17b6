"""``arcli dispute``: set disputed items aside (no letters, no interest; marked on statements)."""

from __future__ import annotations

import click

from arcli.cli.common import (
    DATE,
    AppContext,
    document_argument,
    emit,
    output_options,
    pass_app,
)
from arcli.output import Report


@click.group("dispute")
def dispute() -> None:
    """Open, close and list disputes on documents."""


@dispute.command("open")
@document_argument()
@click.option("--reason", required=True)
@click.option("--follow-up", "follow_up", type=DATE, help="When to chase it next.")
@pass_app
def open_command(app: AppContext, document, reason, follow_up) -> None:
    """Mark DOCUMENT (a document number) as disputed."""
    from arcli.dunning.holds import open_dispute

    with app.store.begin() as conn:
        open_dispute(conn, document, reason, follow_up)
    app.info(f"{document} is disputed: excluded from letters and interest")


@dispute.command("close")
@document_argument()
@click.option("--note", help="How it was resolved.")
@pass_app
def close_command(app: AppContext, document, note) -> None:
    """Close the open dispute on DOCUMENT."""
    from arcli.dunning.holds import close_dispute

    with app.store.begin() as conn:
        close_dispute(conn, document, note)
    app.info(f"dispute on {document} closed")


@dispute.command("list")
@click.option("--all", "include_closed", is_flag=True, help="Include closed disputes.")
@output_options
@pass_app
def list_command(app: AppContext, include_closed, out) -> None:
    """Disputed documents."""
    from arcli.dunning.holds import dispute_rows

    with app.store.connect() as conn:
        rows = dispute_rows(conn, include_closed)
    emit(out, Report(["number", "type", "customer", "currency", "amount", "status", "reason",
                      "follow_up", "opened_at", "opened_by", "closed_at"], rows))
