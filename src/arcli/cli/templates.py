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
    """Render each statement, letter (every dunning level's template) and email template
    in every language against sample data. Exits 1 on any error or missing translation."""
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
    rows = [_checked(name, lang, lambda r=render: r().pages) for name, lang, render in cases]
    rows += [_checked(f"email/{kind}", lang, lambda kind=kind, lang=lang: _email(kind, lang,
                                                                                 options))
             for kind in ("statement", "letter") for lang in LANGUAGES]
    emit(out, Report(["template", "language", "status", "pages", "message"], rows))
    if any(r["status"] != "ok" for r in rows):
        raise click.exceptions.Exit(1)


def _checked(name: str, lang: str, render) -> dict:
    """One template's row: ok with its pages, or missing/error with the message."""
    try:
        pages = render()
        return {"template": name, "language": lang, "status": "ok", "pages": pages,
                "message": ""}
    except Exception as exc:
        message = str(exc)
        status = "missing" if "not found" in message else "error"
        return {"template": name, "language": lang, "status": status, "pages": None,
                "message": message}


def _email(kind: str, lang: str, options) -> None:
    """Render an email template as ``arcli send`` does; a TemplateError if it is not a
    message (no pages: an email has none)."""
    from arcli.render.samples import check_email, sample_email_context
    from arcli.render.templating import TemplateError, render_text

    name = f"email/{kind}.{lang}.txt.j2"
    problem = check_email(render_text(name, sample_email_context(kind), options.template_dir))
    if problem:
        raise TemplateError(f"{name}: {problem}")
