"""``arcli init``: create or upgrade the database schema, and write a starter config."""

from __future__ import annotations

from pathlib import Path

import click

from arcli.cli.common import AppContext, pass_app
from arcli.config import DEFAULT_CONFIG_NAME
from arcli.fileio import atomic_write
from arcli.paths import shipped

_EXAMPLE = shipped("config.example.yaml")


def _starter_config() -> str:
    """The fully commented example config when available (source checkout), else a stub."""
    if _EXAMPLE.is_file():
        return _EXAMPLE.read_text(encoding="utf-8")
    return "# arcli configuration: every key is optional. See config.example.yaml.\n"


@click.command("init")
@click.option("--no-config", is_flag=True, help="Do not write ./arcli.yaml.")
@pass_app
def init_command(app: AppContext, no_config: bool) -> None:
    """Create the database schema (idempotent; upgrades older databases) and, if no
    config file exists, write one from the commented example: at the path --config or
    ARCLI_CONFIG names, else ./arcli.yaml."""
    named = app.config_path
    if not no_config and (named is None or not Path(named).exists()):
        # Written first: the store's location may come from it, and a config named but
        # missing is an error for every other command (a typo must not run on defaults).
        target = named or DEFAULT_CONFIG_NAME
        atomic_write(target, _starter_config())
        app.set_option("config_path", target)
        app.info(f"wrote {target}")
    store = app.open_store(check=False)
    before, after = store.upgrade()
    if before == after:
        app.info(f"database {store.display_url} is up to date (schema {after})")
    elif before is None:
        app.info(f"created database {store.display_url} (schema {after})")
    else:
        app.info(f"upgraded database {store.display_url} from schema {before} to {after}")
