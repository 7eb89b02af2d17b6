"""``arcli init``: create or upgrade the database schema, and write a starter config."""

from __future__ import annotations

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
    config file exists, write ./arcli.yaml from the commented example."""
    store = app.open_store(check=False)
    before, after = store.upgrade()
    if before == after:
        app.info(f"database {store.display_url} is up to date (schema {after})")
    elif before is None:
        app.info(f"created database {store.display_url} (schema {after})")
    else:
        app.info(f"upgraded database {store.display_url} from schema {before} to {after}")
    if not no_config and app.config_path is None:
        atomic_write(DEFAULT_CONFIG_NAME, _starter_config())
        app.info(f"wrote {DEFAULT_CONFIG_NAME}")
