"""stderr carries arcli's own messages only, and with -q only its errors: checked on
real processes, where a library's warnings would show."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, ROOT


def _run(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items()
           if k not in ("ARCLI_DEBUG", "PYTHONWARNINGS", "ARCLI_DB", "ARCLI_CONFIG")}
    env["ARCLI_TODAY"] = "2026-11-22"
    return subprocess.run([sys.executable, "-m", "arcli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True)


@pytest.fixture
def book(tmp_path: Path) -> Path:
    """A folder with a signed example book, as scripts/demo.sh builds it."""
    shutil.copy(ROOT / "config.example.yaml", tmp_path / "arcli.yaml")
    for args in (("init",), ("import", "customers", str(EXAMPLES / "customers.csv")),
                 ("import", "ledger", str(EXAMPLES / "ledger.csv")),
                 ("signing", "init", "--out", "signing")):
        assert _run(tmp_path, *args).returncode == 0
    config = tmp_path / "arcli.yaml"
    config.write_text(config.read_text(encoding="utf-8").replace(
        "  pkcs12: null              # example: signing/arcli-test.p12",
        "  pkcs12: signing/arcli-test.p12\n  password_file: signing/arcli-test.password"),
        encoding="utf-8")
    return tmp_path


def _foreign(stderr: str) -> list[str]:
    """Lines on stderr that are not arcli's (its messages, their indented continuations,
    its summaries)."""
    own = ("arcli: ", "  ", "warning: ", "statements ", "dunning ", "dry run")
    return [line for line in stderr.splitlines() if not line.startswith(own)]


def test_no_library_warnings_on_stderr(book):
    made = _run(book, "statements", "--period", "2026-10", "--csv")
    assert made.returncode == 0, made.stderr
    assert _foreign(made.stderr) == []
    checked = _run(book, "verify", "/etc/hostname", "--csv")
    assert checked.returncode == 1
    assert checked.stderr == ""
    assert _foreign(_run(book, "dunning", "run", "--csv").stderr) == []


def test_quiet_leaves_only_errors(book):
    made = _run(book, "statements", "--period", "2026-10", "--csv", "-q")
    assert (made.returncode, made.stderr) == (0, "")
    signed = sorted(str(p) for p in (book / "statements").glob("*.pdf"))
    for args in (("dunning", "run", "--csv"), ("verify", *signed), ("aging", "--csv"),
                 ("credit", "--csv"), ("templates", "check", "--csv")):
        done = _run(book, *args, "-q")
        assert done.returncode in (0, 3), (args, done.stderr)
        assert done.stderr == "", (args, done.stderr)
    failed = _run(book, "aging", "--customer", "C999", "-q")
    assert (failed.returncode, failed.stderr) == (
        1, "arcli: error: unknown customer 'C999': not in the book\n")
