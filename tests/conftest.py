"""Shared fixtures: real database files, the example book, and a CLI runner.

``book_url`` is the database the test works on. By default it is a fresh SQLite file; when
a PostgreSQL server is available (``ARCLI_TEST_PG_URL``, or the throwaway cluster the test
command starts) the same tests also run against a fresh PostgreSQL database.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from arcli.cli import cli
from arcli.store import Store, open_store

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
TODAY = "2026-11-22"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "book.db"


@pytest.fixture
def store(db_path: Path) -> Iterator[Store]:
    """An initialised, empty book in a real SQLite file."""
    s = open_store(str(db_path))
    s.upgrade()
    yield s
    s.dispose()


@dataclass
class Arcli:
    """Runs the real CLI in-process against one database and working folder."""

    db: str
    cwd: Path
    config: Path | None = None

    def __call__(self, *args: str, input: str | bytes | None = None,
                 env: dict[str, str] | None = None) -> Result:
        argv = ["--db", self.db]
        if self.config is not None:
            argv += ["--config", str(self.config)]
        if len(args) == 1 and " " in args[0]:
            args = tuple(shlex.split(args[0]))
        full_env = {"ARCLI_TODAY": TODAY, **(env or {})}
        runner = CliRunner()
        old = os.getcwd()
        os.chdir(self.cwd)
        try:
            return runner.invoke(cli, [*argv, *args], input=input, env=full_env,
                                 catch_exceptions=False)
        finally:
            os.chdir(old)


@pytest.fixture
def arcli(tmp_path: Path, db_path: Path) -> Arcli:
    """The CLI on an initialised empty book (no config file)."""
    runner = Arcli(str(db_path), tmp_path)
    result = runner("init", "--no-config")
    assert result.exit_code == 0, result.output
    return runner


@pytest.fixture
def example_book(arcli: Arcli) -> Arcli:
    """The CLI on a book holding the examples/ customers and ledger."""
    for kind, name in (("customers", "customers.csv"), ("ledger", "ledger.csv")):
        result = arcli("import", kind, str(EXAMPLES / name), "--csv")
        assert result.exit_code == 0, result.output
    return arcli
