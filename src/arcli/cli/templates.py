"""``arcli templates check``: render every template in every language against sample data."""

from __future__ import annotations

import click

from arcli.cli.common import AppContext, emit, output_options, pass_app, render_options
from arcli.output import Report


@click.group("templates")
def templates() -> None:
    """Statement, letter and email templates."""


@templates.command("check")
@output_options
@pass_app
def check(app: AppContext, out) -> None:
    """Render each statement and letter template (every dunning level's template) in every
    language against sample data. Exits 1 on any error or missing translation."""
    from arcli.dunning.policy import dunning_policy
    from arcli.render.letter import render_letter
    from arcli.render.samples import sample_letter, sample_statement
    from arcli.render.statement import render_statement
    from arcli.render.templating import LANGUAGES

    options = render_options(app)
    cases = [("statement", lang, lambda lang=lang: render_statement(sample_statement(lang),
                                                                    options))
             for lang in LANGUAGES]
    for level in dunning_policy(app.config).levels:
        for lang in LANGUAGES:
            cases.append((f"letters/{level.template}", lang,
                          lambda t=level.template, lang=lang, n=level.number:
                          render_letter(sample_letter(t, lang, n), options)))
    rows = []
    for name, lang, render in cases:
        try:
            pages = render().pages
            rows.append({"template": name, "language": lang, "status": "ok", "pages": pages,
                         "message": ""})
        except Exception as exc:
            message = str(exc)
            status = "missing" if "not found" in message else "error"
            rows.append({"template": name, "language": lang, "status": status, "pages": None,
                         "message": message})
    emit(out, Report(["template", "language", "status", "pages", "message"], rows))
    if any(r["status"] != "ok" for r in rows):
        raise click.exceptions.Exit(1)
