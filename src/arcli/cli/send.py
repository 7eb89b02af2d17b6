"""``arcli send``: email generated statements and letters, never twice."""

from __future__ import annotations

from pathlib import Path

import click

from arcli.cli.common import (
    AppContext,
    emit,
    exit_found,
    output_options,
    pass_app,
    shard_option,
)
from arcli.errors import ArcliError
from arcli.output import Report

COLUMNS = ["customer", "kind", "file", "recipient", "cc", "status", "reason", "message_id",
           "attempts", "error"]
STATUSES = ("sent", "partly-sent", "already-sent", "interrupted", "skipped", "failed",
            "dry-run", "withdrawn")


@click.command("send")
@click.argument("target", type=click.Path(exists=True), metavar="DIR|MANIFEST")
@click.option("--dry-run", is_flag=True,
              help="Check and show what would be sent (addresses, files); send nothing.")
@click.option("--kind", type=click.Choice(["statement", "letter"]), help="Only this kind.")
@click.option("--resend-interrupted", is_flag=True,
              help="Send again the documents whose sending an earlier run began but never "
                   "finished (check the mail server's log first).")
@shard_option
@output_options
@pass_app
def send(app: AppContext, target, dry_run, kind, resend_interrupted, shard, out) -> None:
    """Email each document of an output folder's manifest to its customer's address.

    DIR|MANIFEST is the output folder or its manifest.json; a manifest.csv is read
    through the manifest.json beside it while both list the same files. Subject and
    body come from templates/email/<kind>.<language>.txt.j2, naming the company as the
    customer's documents do (company.by_language). A document is
    claimed in the database before sending, so it is never sent twice, even by two hosts.
    A document whose sending was interrupted (the run died after claiming it) is listed
    as such and left alone unless --resend-interrupted. A withdrawn letter (see `dunning
    run --force`) is listed as withdrawn and never sent. A document that cannot be sent
    (bad address, file outside the folder or changed) fails alone; a mail server that
    cannot be used stops the run. The reason column says why a document was not sent
    (already sent, skipped); error, only what went wrong. Exits 1 if any message failed,
    3 if any sending was found interrupted, else 0.
    """
    from arcli.delivery.outbox import SendOptions, manifest_rows, send_documents
    from arcli.delivery.smtp import Mailer, ServerError, smtp_config
    from arcli.sharding import parse_shard
    from arcli.statements import company_from_config
    from arcli.store.locks import batch_lock

    folder, rows = manifest_rows(Path(target))
    company = company_from_config(app.config)
    cfg = smtp_config(app.config, company.name, company.email, sending=not dry_run)
    options = SendOptions(cfg, company,
                          app.config.section("templates").get_path("path"), dry_run,
                          resend_interrupted)
    owns = parse_shard(shard)
    rows = [r for r in rows if (not kind or r.get("kind") == kind)
            and (not owns or owns.owns(str(r["customer"])))]
    results, stopped = [], None
    with batch_lock(app.store, "send", owns), Mailer(options.cfg) as mailer:
        try:
            results.extend(send_documents(app.store, folder, rows, options, mailer))
        except ServerError as exc:
            stopped = exc
    emit(out, Report(COLUMNS, [d.row() for d in results]))
    counts = {s: sum(1 for d in results if d.status == s) for s in STATUSES}
    app.info("send: " + ", ".join(f"{v} {k}" for k, v in counts.items() if v))
    if stopped:
        raise ArcliError(f"{stopped}; stopped, {len(rows) - len(results)} more document(s) "
                         "not tried")
    if counts["failed"] or counts["partly-sent"]:
        raise click.exceptions.Exit(1)
    exit_found(counts["interrupted"] > 0)
