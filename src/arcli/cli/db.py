"""``arcli db``: moving a book between SQLite and PostgreSQL."""

from __future__ import annotations

import click

from arcli.cli.common import AppContext, emit, output_options, pass_app, stage_progress
from arcli.output import Report

#: What a terminal shows for each stage of a copy (see ``store.copy.copy_book``).
_COPY_STAGES = {"copying": "copying rows", "indexing": "building indexes",
                "checking": "comparing balances"}


@click.group("db")
def db() -> None:
    """Database maintenance."""


@db.command("copy")
@click.argument("source", metavar="SRC")
@click.argument("target", metavar="DST")
@output_options
@pass_app
def copy_command(app: AppContext, source, target, out) -> None:
    """Copy the whole book from SRC to the empty database DST (paths or URLs), then
    check row counts per table and every customer's balance per currency. Example:
    arcli db copy arcli.db postgresql://ar@dbhost/ar"""
    from arcli.store import open_store
    from arcli.store.copy import copy_book

    src, dst = open_store(source), open_store(target)
    try:
        with stage_progress(app, "db copy", _COPY_STAGES) as progress:
            counts, balances = copy_book(src, dst, progress)
    finally:
        src.dispose()
        dst.dispose()
    emit(out, Report(["table", "source_rows", "target_rows", "status"],
                     [{"table": c.table, "source_rows": c.source, "target_rows": c.target,
                       "status": "ok" if c.ok else "differs"} for c in counts]))
    app.info(f"copied to {dst.display_url}: row counts equal, {balances} customer balances "
             "equal")
