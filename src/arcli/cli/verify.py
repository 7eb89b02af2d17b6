"""``arcli verify``: check the signatures of generated PDFs."""

from __future__ import annotations

from pathlib import Path

import click

from arcli.cli.common import AppContext, emit, output_options, pass_app
from arcli.output import Report


@click.command("verify")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--trust", "trust", multiple=True, type=click.Path(exists=True, dir_okay=False),
              help="PEM certificate to trust as a root (repeatable; default: the signing "
                   "certificate's .pem from the config, if any).")
@output_options
@pass_app
def verify(app: AppContext, files, trust, out) -> None:
    """Verify each FILE's signature: intact, valid, covering the whole file, signer, time.

    status is ok, "unreadable" (missing, no permission), "not a PDF", "not signed" or bad
    (altered, invalid, not covering the whole file). Exits 1 if any file is not ok. An
    untrusted signer is reported in the `trusted` column but is not an error (pass --trust
    to check the chain).
    """
    from arcli.signing import verify_pdf

    roots = [Path(t) for t in trust] or _default_roots(app)
    results = [verify_pdf(Path(f), roots) for f in files]
    report = Report(
        ["file", "status", "signed", "intact", "covers_whole_file", "trusted", "signer",
         "signing_time", "message"],
        [{"file": r.file, "status": _status(r), "signed": r.signed,
          "intact": r.intact, "covers_whole_file": r.covers_whole_file, "trusted": r.trusted,
          "signer": r.signer, "signing_time": r.signing_time, "message": r.message}
         for r in results])
    emit(out, report)
    if not all(r.ok for r in results):
        raise click.exceptions.Exit(1)


def _status(result) -> str:
    if result.ok:
        return "ok"
    if not result.readable:
        return "unreadable"
    if not result.is_pdf:
        return "not a PDF"
    return "bad" if result.signed else "not signed"


def _default_roots(app: AppContext) -> list[Path]:
    p12 = app.config.section("signing").get_path("pkcs12")
    pem = p12.with_suffix(".pem") if p12 else None
    return [pem] if pem and pem.is_file() else []
