"""``arcli dunning``: escalating reminder letters, their history, blocks, legal hand-over."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from arcli.cli.common import (
    DATE,
    AppContext,
    batch_jobs,
    customer_argument,
    customer_option,
    document_argument,
    emit,
    exit_found,
    jobs_option,
    output_options,
    pass_app,
    render_options,
    run_documents,
    shard_option,
    signing_choice,
    stage_progress,
)
from arcli.output import Report

PROPOSAL_COLUMNS = ["customer", "name", "currency", "status", "level", "level_name", "overdue",
                    "fees", "interest", "total_due", "file", "reason"]


@click.group("dunning")
def dunning() -> None:
    """Reminder letters from a friendly reminder to legal hand-over."""


def _proposal_row(p, file: str = "", status: str | None = None) -> dict:
    return {"customer": p.customer_id, "name": p.name, "currency": p.currency,
            "status": status or p.status, "level": p.level or None,
            "level_name": p.level_name, "overdue": p.overdue if p.level else None,
            "fees": p.fees if p.level else None, "interest": p.interest if p.level else None,
            "total_due": p.total_due if p.level else None, "file": file, "reason": p.reason}


def _with_withdrawals(rows: list[dict], withdrawing, gone: dict) -> list[dict]:
    """The run's rows with each letter it withdraws (``gone``: their results, by customer
    and currency; empty in a dry run) or cannot withdraw because it was sent already:
    instead of the customer's skipped row, or added where the customer had none."""
    found = {}
    for w in withdrawing:
        key = (w.customer_id, w.currency)
        if w.sent_at is not None:
            status, file = "already-sent", w.file
            reason = (f"no longer due: {w.reason}; but already sent on "
                      f"{w.sent_at:%Y-%m-%d %H:%M}, cannot be withdrawn")
        else:
            status = "withdrawn"
            file = gone[key].file if key in gone else w.file
            reason = gone[key].reason if key in gone else w.reason
        found[key] = {"customer": w.customer_id, "name": w.name, "currency": w.currency,
                      "status": status,
                      "file": file, "reason": reason}
    merged = []
    for row in rows:
        extra = found.pop((row["customer"], row["currency"]), None)
        merged.append({**row, **extra} if extra else row)
    merged += [{c: row.get(c) for c in PROPOSAL_COLUMNS} for row in found.values()]
    return merged


def _context(app: AppContext):
    from arcli.dunning.policy import dunning_policy
    from arcli.statements import company_from_config

    return dunning_policy(app.config), company_from_config(app.config)


def _letter_name(policy, proposal, as_of, hashed: frozenset[str]) -> str:
    """The file name of a proposal's letter (``dunning.filename``)."""
    from arcli.naming import document_name

    return document_name(policy.filename, {
        "customer": proposal.customer_id, "currency": proposal.currency,
        "level": proposal.level, "date": as_of.isoformat()}, hashed)


@dunning.command("run")
@click.option("--as-of", type=DATE, help="Run date (default today).")
@customer_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False),
              help="Output folder (default: config dunning.out or ./letters).")
@click.option("--dry-run", is_flag=True, help="Show the proposal; write and record nothing.")
@click.option("--sign/--no-sign", default=None, help="Sign letters (default: if configured).")
@click.option("--force", is_flag=True,
              help="Decide this date's letters again: remake them, withdraw those no "
                   "longer due.")
@jobs_option
@shard_option
@output_options
@pass_app
def run_command(app: AppContext, as_of, customer_ids, out_dir, dry_run, sign, force, jobs,
                shard, out) -> None:
    """Decide and write this run's letters, one per customer and currency, and record them.

    Prints the proposal (customer, currency, level, overdue, fees, interest, total due,
    file); skipped customers are listed with the reason. Rerunning the same --as-of makes
    nothing new. --force decides the date's letters in its scope (--customer, --shard)
    again: a letter no longer due is withdrawn (status withdrawn, with the reason; its
    file moved into withdrawn/, never sent) unless it was already sent. Exit 0 when done,
    1 if a letter failed.
    """
    from arcli.batch import (
        BatchSummary,
        Job,
        PipelineOptions,
        run_batch,
        skipped,
        withdrawn,
        write_manifest,
    )
    from arcli.dunning.interest import stale_table_warning
    from arcli.dunning.run import RunRequest, plan_run, record_run, withdrawals
    from arcli.naming import book_clashing_ids
    from arcli.settings import book_settings
    from arcli.sharding import parse_shard
    from arcli.store.locks import batch_lock

    policy, company = _context(app)
    req = RunRequest(as_of or app.today, tuple(customer_ids), force)
    warning = stale_table_warning(policy.interest, req.as_of)
    if warning:
        app.info(f"warning: {warning}")
    owns = parse_shard(shard)
    store = app.store
    with batch_lock(store, "dunning", owns):
        planning = stage_progress(app, "dunning", {"planning": "planning"})
        with store.connect() as conn, planning as progress:
            proposals = [p for p in plan_run(conn, policy, req, company, progress)
                         if not owns or owns.owns(p.customer_id)]
            withdrawing = withdrawals(conn, req, proposals,
                                      owns.owns if owns else lambda customer_id: True)
            hashed = book_clashing_ids(conn)
        letters = [p for p in proposals if p.status == "letter"]
        if dry_run:
            emit(out, Report(PROPOSAL_COLUMNS, _with_withdrawals(
                [_proposal_row(p) for p in proposals], withdrawing, {})))
            app.info(f"dry run: {len(letters)} letter(s) proposed, nothing written or recorded")
            return
        options = PipelineOptions(
            out_dir=Path(out_dir or policy.out), signing=signing_choice(app, sign),
            render_options=render_options(app), force=force, jobs=batch_jobs(app, jobs))
        jobs_list = [Job(p.customer_id, p.currency, "letter",
                         _letter_name(policy, p, req.as_of, hashed), p.letter,
                         ((p.currency, p.total_due),)) for p in letters]
        summary = BatchSummary()
        results = run_documents(app, run_batch(jobs_list, options), len(jobs_list), "letters",
                                summary)
        files = {(r.customer_id, r.currency): r for r in results}
        written = {key: (r.file, r.sha256) for key, r in files.items()
                   if r.status in ("written", "unchanged")}

        gone = {(w.customer_id, w.currency): withdrawn(
            options.out_dir, w.customer_id, w.currency, "letter", w.file, w.sha256, w.reason)
            for w in withdrawing if w.sent_at is None}
        for p in proposals:
            if p.status != "letter" and (p.customer_id, p.currency) not in gone:
                results.append(skipped(p.customer_id, p.currency, "letter", p.reason))
                summary.add(results[-1])
        for result in gone.values():
            results.append(result)
            summary.add(result)
        write_manifest(options.out_dir, results)
        with store.begin() as conn:
            record_run(conn, req, proposals, written, policy,
                       settlement_order=book_settings(app.config).settlement_order,
                       withdrawn=withdrawing)
    rows = []
    for p in proposals:
        result = files.get((p.customer_id, p.currency))
        status = result.status if result else p.status
        row = _proposal_row(p, result.file if result else "", status)
        if result and result.error:
            row["reason"] = result.error
        rows.append(row)
    emit(out, Report(PROPOSAL_COLUMNS, _with_withdrawals(rows, withdrawing, gone)))
    for w in withdrawing:
        if w.sent_at is not None:
            app.info(f"warning: {w.customer_id} {w.currency}: the letter of "
                     f"{req.as_of.isoformat()} is no longer due ({w.reason}) but was sent on "
                     f"{w.sent_at:%Y-%m-%d %H:%M}: it cannot be withdrawn")
    app.info(f"dunning {req.as_of.isoformat()} in {options.out_dir}: {summary}")
    if summary.failed:
        raise click.exceptions.Exit(1)


@dunning.command("preview")
@customer_argument()
@click.option("--level", type=click.IntRange(1, 9), help="Force this level.")
@click.option("--currency", help="Only this currency (default: every currency overdue).")
@click.option("--as-of", type=DATE)
@click.option("-o", "--output", "output_dir", type=click.Path(file_okay=False), default=".",
              show_default=True, help="Folder for the preview PDF(s).")
@pass_app
def preview_command(app: AppContext, customer, level, currency, as_of, output_dir) -> None:
    """Write the letter the next run would send to CUSTOMER, recording nothing."""
    from arcli.dunning.run import RunRequest, plan_run
    from arcli.fileio import atomic_write
    from arcli.naming import book_clashing_ids
    from arcli.render.letter import render_letter

    policy, company = _context(app)
    req = RunRequest(as_of or app.today, (customer,), preview=True, preview_level=level)
    with app.store.connect() as conn:
        proposals = [p for p in plan_run(conn, policy, req, company)
                     if not currency or p.currency == currency.upper()]
        hashed = book_clashing_ids(conn)
    if not proposals:
        raise click.UsageError(f"{customer} has nothing overdue to remind of")
    for p in proposals:
        if p.status != "letter":
            app.info(f"{p.customer_id} {p.currency}: no letter: {p.reason}")
            continue
        name = "preview-" + _letter_name(policy, p, req.as_of, hashed)
        rendered = render_letter(dataclasses.replace(p.letter, draft=True), render_options(app))
        atomic_write(Path(output_dir) / name, rendered.pdf)
        click.echo(str(Path(output_dir) / name))


@dunning.command("history")
@customer_option
@output_options
@pass_app
def history_command(app: AppContext, customer_ids, out) -> None:
    """Letters sent, newest first."""
    from arcli.dunning.reports import history_report

    with app.store.connect() as conn:
        emit(out, history_report(conn, customer_ids))


@dunning.command("handover")
@customer_option
@output_options
@pass_app
def handover_command(app: AppContext, customer_ids, out) -> None:
    """Legal hand-over cases: every open item and the letters already sent, one row per
    item, for the lawyer or collection agency. Exits 3 when there are cases."""
    from arcli.dunning.policy import dunning_policy
    from arcli.dunning.reports import handover_report

    policy = dunning_policy(app.config)
    with app.store.connect() as conn:
        report = handover_report(conn, app.today, policy.max_level, customer_ids)
    emit(out, report)
    exit_found(bool(report.rows))


@dunning.command("rates")
@output_options
@pass_app
def rates_command(app: AppContext, out) -> None:
    """The reference rates behind interest (ECB, Bundesbank, Bank of England, China's
    1-year LPR): the shipped tables with their source and when they were last updated,
    and the rates your config adds (dunning.interest.reference_rates)."""
    from arcli.dunning.interest import shipped_rates
    from arcli.dunning.reports import rates_report

    policy, _ = _context(app)
    emit(out, rates_report(policy.interest))
    app.info(f"shipped rate tables last updated {shipped_rates()['updated']}; notes: "
             + "; ".join(f"{key}: {t['note']}" for key, t in shipped_rates()["tables"].items()
                         if t.get("note")))


@dunning.command("block")
@document_argument("target", metavar="CUSTOMER|DOCUMENT", or_customer=True)
@click.option("--until", type=DATE, required=True)
@click.option("--reason", required=True)
@pass_app
def block_command(app: AppContext, target, until, reason) -> None:
    """Stop letters for a customer (by id) or one document (by number) until a date."""
    from arcli.dunning.holds import add_block

    with app.store.begin() as conn:
        label = add_block(conn, target, until, reason)
    app.info(f"blocked {label} until {until.isoformat()}")


@dunning.command("unblock")
@document_argument("target", metavar="CUSTOMER|DOCUMENT", or_customer=True)
@pass_app
def unblock_command(app: AppContext, target) -> None:
    """Lift the blocks on a customer or document."""
    from arcli.dunning.holds import remove_block

    with app.store.begin() as conn:
        count = remove_block(conn, target)
    app.info(f"removed {count} block(s) on {target}")
