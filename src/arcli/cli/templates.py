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
    cases += _email_cases(options.template_dir, LANGUAGES)
    rows = [_checked(name, lang, lambda r=render: r().pages) for name, lang, render in cases]
    emit(out, Report(["template", "language", "status", "pages", "message"], rows))
    if any(r["status"] != "ok" for r in rows):
        raise click.exceptions.Exit(1)


class _EmailChecked:
    pages = None


def _email_cases(template_dir, languages) -> list:
    """``email/<kind>`` in each language, worded from the samples' JSON copies (as
    ``send`` words them from the documents')."""
    import json

    from arcli.delivery.outbox import Customer, email_wording, figures_of
    from arcli.render.letter import letter_attachment
    from arcli.render.samples import sample_letter, sample_statement
    from arcli.render.statement import statement_json_bytes

    def check(kind: str, lang: str):
        data = sample_statement(lang) if kind == "statement" else sample_letter("reminder", lang)
        copy = (statement_json_bytes if kind == "statement" else letter_attachment)(data)
        who = data.recipient
        customer = Customer(who.customer_id, who.name, "", lang, who.contact, None)
        email_wording(kind, customer, who.contact or who.name, data.company, f"{kind}.pdf",
                      figures_of(json.loads(copy)), template_dir)
        return _EmailChecked()

    return [(f"email/{kind}", lang, lambda k=kind, lang=lang: check(k, lang))
            for kind in ("statement", "letter") for lang in languages]


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
