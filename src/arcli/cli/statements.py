"""``arcli statements``: one signed PDF statement per customer, in batch."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from arcli.cli.common import (
    DATE,
    LANGUAGE,
    AppContext,
    batch_jobs,
    customer_option,
    emit,
    jobs_option,
    output_options,
    pass_app,
    render_options,
    run_documents,
    shard_option,
    signing_choice,
)


@click.command("statements")
@click.option("--period", default="last-month", show_default=True,
              help="YYYY-MM, last-month or this-month.")
@click.option("--as-of", type=DATE, help="Cut-off date (default: the period's last day).")
@customer_option
@click.option("--type", "kind", type=click.Choice(["activity", "open-item"]), default=None,
              help="Activity statement (default) or open-item statement.")
@click.option("--lang", type=LANGUAGE,
              help="Language for every statement: en, zh_CN or zh_TW (default: each "
                   "customer's).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), default=None,
              help="Output folder (default: config statements.out or ./statements).")
@click.option("--sign/--no-sign", default=None,
              help="Cryptographically sign (default: when signing: is configured).")
@jobs_option
@click.option("--include-zero", is_flag=True,
              help="Also customers with nothing open and no activity.")
@click.option("--force", is_flag=True, help="Rewrite files even when their content is unchanged.")
@click.option("--dry-run", is_flag=True,
              help="List the statements that would be produced; write and record nothing. "
                   "Nothing is rendered, so files that would come out unchanged are listed "
                   "as 'would write' too.")
@shard_option
@output_options
@pass_app
def statements(app: AppContext, period, as_of, customer_ids, kind, lang, out_dir, sign, jobs,
               include_zero, force, dry_run, shard, out) -> None:
    """Generate statements for a period: one PDF per customer (a section per currency),
    with aging, remittance slip and balance-confirmation reply slip, plus manifest.csv/json.

    Reruns over unchanged data leave files byte-identical. Exits 1 if any customer failed.
    """
    from arcli.aging import aging_settings
    from arcli.batch import (
        BatchSummary,
        PipelineOptions,
        chunked,
        results_report,
        run_assembled,
        write_manifest,
    )
    from arcli.naming import STATEMENT_FIELDS, book_clashing_ids, pattern_problem
    from arcli.periods import parse_period
    from arcli.sharding import parse_shard
    from arcli.statements import (
        StatementRequest,
        company_from_config,
        slips_setting,
        statement_customers,
    )
    from arcli.store.locks import batch_lock

    cfg = app.config.section("statements")
    chosen = parse_period(period, app.today)
    end = as_of or chosen.up_to(app.today).end
    request = StatementRequest(
        period_label=chosen.label, start=chosen.start, end=end, issue_date=app.today,
        kind=kind or cfg.get_str("type", "activity"),
        language=lang,
        customer_ids=tuple(customer_ids), include_zero=include_zero,
        reply_days=cfg.get_int("reply_days", 14, minimum=0),
        buckets=aging_settings(app.config)[1],
    )
    pattern = cfg.get_str("filename", "statement-{customer}-{period}.pdf")
    problem = pattern_problem(pattern, STATEMENT_FIELDS)
    if problem:
        raise cfg.error("filename", problem)
    signing = signing_choice(app, sign)
    looks = dataclasses.replace(render_options(app), slips=slips_setting(app.config))
    options = PipelineOptions(
        out_dir=Path(out_dir or cfg.get_str("out", "statements")), signing=signing,
        render_options=looks, force=force, jobs=batch_jobs(app, jobs))
    owns = parse_shard(shard)
    store = app.store
    summary = BatchSummary()
    if dry_run:
        _dry_run(app, request, pattern, owns, out, options.out_dir)
        return
    with batch_lock(store, "statements", owns):
        with store.connect() as conn:
            covered = [cid for cid in statement_customers(conn, request)
                       if not owns or owns.owns(cid)]
            hashed = book_clashing_ids(conn)
        assemble = _assembler(store, request, company_from_config(app.config), pattern, hashed)
        results = run_documents(app, run_assembled(assemble, chunked(covered, options.jobs),
                                                   options), len(covered), "statements", summary)
        write_manifest(options.out_dir, results)
    app.info(f"statements {chosen.label} in {options.out_dir}: {summary}")
    emit(out, results_report(results))
    if summary.failed:
        raise click.exceptions.Exit(1)


def _assembler(store, request, company, pattern: str, hashed: frozenset[str]):
    """``assemble(chunk of customer ids)``: the chunk's statement jobs, and results for the
    customers without one. Runs where the chunk is rendered (a worker with ``--jobs``),
    on a store connection of that process. If reading the chunk fails, its customers are
    reported failed with the error and the batch goes on (exit 1 at the end)."""
    from arcli.batch import Job, failed, skipped
    from arcli.naming import document_name
    from arcli.statements import Skip, build_statements

    def assemble(chunk: list[str]):
        part = dataclasses.replace(request, customer_ids=tuple(chunk))
        reported = set()
        try:
            with store.connect() as conn:
                for item in build_statements(conn, part, company):
                    if isinstance(item, Skip):
                        reported.add(item.customer_id)
                        yield (failed if item.failed else skipped)(
                            item.customer_id, None, "statement", item.reason)
                        continue
                    cid = item.recipient.customer_id
                    reported.add(cid)
                    amounts = tuple((s.currency, s.closing_balance) for s in item.sections)
                    yield Job(cid, ",".join(s.currency for s in item.sections), "statement",
                              document_name(pattern, {"customer": cid,
                                                      "period": request.period_label}, hashed),
                              item, amounts)
        except Exception as exc:  # recorded per customer, as a render error is
            error = f"{type(exc).__name__}: {exc}"
            for cid in chunk:
                if cid not in reported:
                    yield failed(cid, None, "statement", error)

    return assemble


def _dry_run(app: AppContext, request, pattern: str, owns, out, out_dir: Path) -> None:
    """What the run would produce -- per customer the file, its currencies and closing
    balances, or why there is none -- from the same assembly as the run, with nothing
    rendered, written, locked or recorded."""
    from arcli.batch import Job, JobResult, results_report
    from arcli.naming import book_clashing_ids
    from arcli.statements import company_from_config, statement_customers

    with app.store.connect() as conn:
        covered = [cid for cid in statement_customers(conn, request)
                   if not owns or owns.owns(cid)]
        hashed = book_clashing_ids(conn)
    assemble = _assembler(app.store, request, company_from_config(app.config), pattern,
                          hashed)
    results = [JobResult(item.customer_id, item.currency, item.kind, "would write",
                         item.file_name, amounts=item.amounts) if isinstance(item, Job)
               else item for item in assemble(covered)]
    planned = sum(1 for r in results if r.status == "would write")
    app.info(f"dry run: {planned} statement(s) for {request.period_label} would be written "
             f"to {out_dir}; nothing written or recorded")
    emit(out, results_report(results))
