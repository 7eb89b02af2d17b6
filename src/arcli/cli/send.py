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
from arcli.output import Report

COLUMNS = ["customer", "kind", "file", "recipient", "status", "message_id", "attempts", "error"]


@click.command("send")
@click.argument("target", type=click.Path(exists=True), metavar="DIR|MANIFEST")
@click.option("--dry-run", is_flag=True, help="Show what would be sent; send nothing.")
@click.option("--kind", type=click.Choice(["statement", "letter"]), help="Only this kind.")
@click.option("--resend-interrupted", is_flag=True,
              help="Send again the documents whose sending an earlier run began but never "
                   "finished (check the mail server's log first).")
@shard_option
@output_options
@pass_app
def send(app: AppContext, target, dry_run, kind, resend_interrupted, shard, out) -> None:
    """Email each document of an output folder's manifest to its customer's address.

    Subject and body come from templates/email/<kind>.<language>.txt.j2. A document is
    claimed in the database before sending, so it is never sent twice, even by two hosts.
    A document whose sending was interrupted (the run died after claiming it) is listed
    as such and left alone unless --resend-interrupted. Exits 1 if any message failed,
    3 if any sending was found interrupted, else 0.
    """
    import hashlib

    from arcli.delivery.smtp import (
        Delivery,
        PermanentError,
        TransientError,
        build_message,
        claim,
        finish,
        manifest_rows,
        recipient_for,
        send_with_retries,
        smtp_config,
    )
    from arcli.render.templating import normalize_language, render_text
    from arcli.sharding import parse_shard
    from arcli.statements import company_from_config
    from arcli.store.locks import batch_lock

    folder, rows = manifest_rows(Path(target))
    cfg = None if dry_run else smtp_config(app.config)
    company = company_from_config(app.config)
    override = app.config.section("templates").get_path("path")
    owns = parse_shard(shard)
    results: list[Delivery] = []
    store = app.store
    with batch_lock(store, "send", owns):
        for row in rows:
            if (kind and row.get("kind") != kind) or (owns and not owns.owns(row["customer"])):
                continue
            path = folder / row["file"]
            with store.connect() as conn:
                recipient, language = recipient_for(conn, row["customer"])
            delivery = Delivery(row["customer"], row.get("kind", ""), row["file"], recipient,
                                "skipped")
            results.append(delivery)
            if not recipient:
                delivery.error = "customer has no email address"
                continue
            if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != \
                    row.get("sha256"):
                delivery.status, delivery.error = "failed", "file missing or changed since " \
                    "the manifest was written"
                continue
            if dry_run:
                delivery.status = "dry-run"
                continue
            with store.begin() as conn:
                unclaimed = claim(conn, row["sha256"], recipient, row["customer"],
                                  delivery.kind, row["file"],
                                  resend_interrupted=resend_interrupted)
            if unclaimed:
                delivery.status, delivery.error = unclaimed
                continue
            text = render_text(f"email/{delivery.kind}.{normalize_language(language)}.txt.j2",
                               {"customer": {"id": row["customer"], "name": recipient},
                                "company": company, "file": row["file"],
                                "period": row.get("period")}, override)
            subject_line, _, body = text.partition("\n")
            message = build_message(cfg, recipient=recipient,
                                    subject=subject_line.removeprefix("Subject:").strip(),
                                    body=body.lstrip("\n"), attachment=path,
                                    sha256=row["sha256"])
            delivery.message_id = message["Message-ID"]
            try:
                delivery.attempts = send_with_retries(cfg, message)
                delivery.status = "sent"
            except (TransientError, PermanentError) as exc:
                delivery.status, delivery.error = "failed", str(exc)
                delivery.attempts = cfg.retries + 1 if isinstance(exc, TransientError) else 1
            with store.begin() as conn:
                finish(conn, row["sha256"], recipient, delivery)
    emit(out, Report(COLUMNS, [vars(d) for d in results]))
    counts = {s: sum(1 for d in results if d.status == s) for s in
              ("sent", "already-sent", "interrupted", "skipped", "failed", "dry-run")}
    app.info("send: " + ", ".join(f"{v} {k}" for k, v in counts.items() if v))
    if counts["failed"]:
        raise click.exceptions.Exit(1)
    exit_found(counts["interrupted"] > 0)
