"""Shared fixtures: real database files, the example book, and a CLI runner.

``book_url`` is the database the test works on. By default it is a fresh SQLite file; when
a PostgreSQL server is available (``ARCLI_TEST_PG_URL``, or the throwaway cluster the test
command starts) the same tests also run against a fresh PostgreSQL database.
"""

from __future__ import annotations

import os
import shlex
import uuid
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


PG_ADMIN_URL = os.environ.get("ARCLI_TEST_PG_URL")
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    not PG_ADMIN_URL, reason="no PostgreSQL (set ARCLI_TEST_PG_URL or install the server)"))]


def _pg_database_url(admin_url: str, name: str) -> str:
    base, _, query = admin_url.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


@pytest.fixture(params=BACKENDS)
def db_url(request, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a new database on the test server."""
    if request.param == "sqlite":
        yield str(tmp_path / "book.db")
        return
    from sqlalchemy import create_engine, text

    from arcli.store import store_url

    name = f"arcli_t_{uuid.uuid4().hex[:16]}"
    admin = create_engine(store_url(PG_ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield _pg_database_url(PG_ADMIN_URL, name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    """An initialised, empty book (SQLite file or PostgreSQL database)."""
    s = open_store(db_url)
    s.upgrade()
    yield s
    s.dispose()


@dataclass
class Arcli:
    """Runs the real CLI in-process against one database and working folder."""

    db: str
    cwd: Path
    config: Path | None = None

    @property
    def is_sqlite(self) -> bool:
        return "://" not in self.db

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
def arcli(tmp_path: Path, db_url: str) -> Iterator[Arcli]:
    """The CLI on an initialised empty book (no config file)."""
    runner = Arcli(db_url, tmp_path)
    result = runner("init", "--no-config")
    assert result.exit_code == 0, result.output
    yield runner
    from arcli.store import open_store as _open

    _open(db_url).dispose()


@pytest.fixture
def example_book(arcli: Arcli) -> Arcli:
    """The CLI on a book holding the examples/ customers and ledger."""
    for kind, name in (("customers", "customers.csv"), ("ledger", "ledger.csv")):
        result = arcli("import", kind, str(EXAMPLES / name), "--csv")
        assert result.exit_code == 0, result.output
    return arcli


@pytest.fixture
def disk_full_when_syncing(monkeypatch):
    """``install(marker)``: from then on, syncing a file whose path holds ``marker``
    fails as a full disk does (ENOSPC); other files sync as usual."""
    import errno

    import arcli.fileio

    real_fsync = os.fsync

    def install(marker: str) -> None:
        def fsync(fd):
            if marker in os.readlink(f"/proc/self/fd/{fd}"):
                raise OSError(errno.ENOSPC, "No space left on device")
            return real_fsync(fd)

        monkeypatch.setattr(arcli.fileio.os, "fsync", fsync)

    return install
