"""``arcli config check``: every problem of the config file at once, before a month end."""

from __future__ import annotations

from collections.abc import Callable

import click

from arcli.cli.common import AppContext, example_company_warning, pass_app
from arcli.config import Config, ConfigView, key_problems, load_config
from arcli.errors import ConfigError


@click.group("config")
def config_group() -> None:
    """Check the configuration file."""


@config_group.command("check")
@pass_app
def check_command(app: AppContext) -> None:
    """Read the config file the way every command does and list each problem with file,
    line and key: unknown or duplicate keys, wrong types, values out of range, missing
    files and secrets. Exit 0 when there are none, 1 otherwise."""
    if app.config_path is None:
        app.info("no config file (arcli.yaml here or in a parent folder, "
                 "~/.config/arcli/arcli.yaml, --config, ARCLI_CONFIG): all defaults")
        return
    try:
        config = load_config(app.config_path, strict=False)
    except ConfigError as exc:  # unreadable, or not YAML
        click.echo(exc.message, err=True)
        raise click.exceptions.Exit(1) from None
    problems = config_problems(config)
    for problem in problems:
        click.echo(problem, err=True)
    try:
        warning = example_company_warning(config)
    except ConfigError:  # a company: that is not a mapping, already listed
        warning = None
    if warning:
        app.info(f"warning: {warning}")
    if problems:
        raise click.exceptions.Exit(1)
    app.info(f"{app.config_path}: ok")


def config_problems(config: Config) -> list[str]:
    """Every problem of ``config``: its keys, then what each feature's own reader says
    (each reader is the one source of its section's rules; a reader stops at its first
    problem). Anything but a ConfigError from a reader is a bug and propagates."""
    problems = key_problems(config)
    for read in _readers():
        try:
            read(config)
        except ConfigError as exc:
            problems.append(exc.message)
    return problems


def _readers() -> list[Callable[[Config], object]]:
    """The functions the commands read their config sections with."""
    from arcli.aging import aging_settings
    from arcli.cli.common import batch_jobs_from_config, render_options_from_config
    from arcli.credit import credit_policy
    from arcli.dunning.policy import dunning_policy
    from arcli.reconcile.bank import bank_settings
    from arcli.settings import book_settings
    from arcli.signing import signing_config
    from arcli.statements import company_from_config

    return [lambda c: c.get_str("database"), book_settings, aging_settings,
            company_from_config, _statements, signing_config, _smtp, dunning_policy,
            credit_policy, bank_settings, _collection_targets, _mappings,
            batch_jobs_from_config, render_options_from_config, _insight]


def _statements(config: ConfigView) -> None:
    from arcli.naming import STATEMENT_FIELDS, pattern_problem

    view = config.section("statements")
    if view.get_str("type", "activity") not in ("activity", "open-item"):
        raise view.error("type", "must be activity or open-item")
    view.get_int("reply_days", 14, minimum=0)
    view.get_str("out")
    problem = pattern_problem(view.get_str("filename", "statement-{customer}-{period}.pdf")
                              or "", STATEMENT_FIELDS)
    if problem:
        raise view.error("filename", problem)


def _smtp(config: ConfigView) -> None:
    """``smtp:`` as ``send`` reads it: the sender defaults to the company's email. A book
    that has no ``smtp:`` section sends no mail and needs no sender; a broken ``company:``
    is its own reader's problem, so the section is then checked without a sender."""
    from arcli.delivery.smtp import smtp_config
    from arcli.statements import company_from_config

    if config.raw("smtp") is None:
        return
    try:
        company = company_from_config(config)
    except ConfigError:
        smtp_config(config, sending=False)
        return
    smtp_config(config, company.name, company.email)


def _insight(config: ConfigView) -> None:
    """``aging.expected_curve``, ``provision:`` and ``fx:`` as kpi, provision and the
    pack read them."""
    from arcli.cli.insight_config import fx_table, provision_bands, recovery_curve, roll_buckets

    recovery_curve(config.section("aging"))
    provision_bands(config.section("provision"))
    roll_buckets(config.section("provision"))
    fx_table(config)


def _collection_targets(config: ConfigView) -> None:
    from arcli.collections_report import targets_for
    from arcli.errors import UsageError
    from arcli.periods import parse_period

    targets = config.section("collections").section("targets")
    for label in targets:
        try:
            period = parse_period(label, today=None)  # type: ignore[arg-type]
        except (UsageError, AttributeError):
            raise targets.error(label, "must be a month YYYY-MM") from None
        targets_for(config, period)


def _mappings(config: ConfigView) -> None:
    from arcli.importing.mapping import CUSTOMER_FIELDS, LEDGER_FIELDS, parse_mapping
    from arcli.reconcile.bankformats import BANK_FIELDS

    mappings = config.section("mappings")
    for name in mappings:
        errors = []
        for fields in (LEDGER_FIELDS, BANK_FIELDS, CUSTOMER_FIELDS):
            try:
                parse_mapping(mappings.section(name), name, fields)
                break
            except ConfigError as exc:
                errors.append(exc)
        else:
            raise errors[0]
