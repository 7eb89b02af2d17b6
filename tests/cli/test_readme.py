"""The README's shell examples, run as they are written, so the README cannot drift.

Every ```console block (``$ arcli ...`` lines, each followed by what it prints) and every
arcli line of a ```sh block runs in bash, with `arcli` on PATH, in a folder ``work/``
beside a link to ``examples/`` (the README's ``../examples/...`` paths), on a copy of the
month-end book that scripts/demo.sh builds: customers, ledger and the Kingdee export
imported, a signing certificate and a bank tolerance configured, and -- what the README
takes for granted -- an SMTP server (aiosmtpd on 127.0.0.1) and a `mail` command.

Checked: the exit code (0, or 3 "ran fine, found something"; 1 or 2 where the README shows
``arcli: error:``), and the printed lines (stdout and stderr as they interleave) wherever
the README shows them: line by line, ``...`` alone standing for any lines and a line
ending in ``...`` for any line that starts with the text before it. ``warning:`` lines
are left out (the book uses the example company, which documents warn about).

What the test cannot take as written is listed below, each with its reason: blocks that
need another starting folder (SETUPS), paths outside the test folder (PATHS), files the
README's examples name without shipping them (FILES). Discovery is generic: a new block
anywhere in the README is run too.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT, TODAY

README = ROOT / "README.md"
BIN = Path(sys.executable).parent

#: Blocks whose first command needs a folder other than the month-end book (matched by
#: the start of that command): `arcli init` starts from nothing; the import examples from
#: a book that holds the customers only.
SETUPS = {
    "arcli init": "empty",
    "arcli import ledger ../examples/ledger.csv": "customers",
    "arcli import ledger ../examples/kingdee-export.csv": "customers",
    # the config already names the certificate `arcli signing init` is about to make
    # (the lines it prints, pasted in)
    "arcli signing init": "unsigned",
}

#: Paths of the README's cron example that lie outside a test folder, and what stands in
#: for them (relative to the test's root folder): the day's ledger export is the example
#: ledger again.
PATHS = {"/exports/": "exports/"}

#: Files the README's examples name without shipping them.
FILES = {
    "bad.csv": HEADER if (HEADER := "type,number,customer,date,due_date,amount,currency,"
                                    "reference,description\n") else "",
}
FILES["bad.csv"] += ("invoice,X-0,C001,2026-10-01,2026-10-31,10.00,CNY,,\n"
                     "invoice,X-1,C001,2026-10-01,2026-10-31,10.001,CNY,,\n"
                     "invoice,X-2,NOBODY,2026-10-01,2026-10-31,10.00,CNY,,\n")


@dataclass
class Step:
    command: str
    shown: list[str]  # the lines the README shows it printing (may be empty)


@dataclass
class Block:
    where: str  # "README.md:LINE (section)"
    kind: str  # console | sh
    steps: list[Step]
    script: str = ""  # an sh block's whole text


def readme_blocks(text: str) -> list[Block]:
    """Every console block, and every sh block with arcli lines, in README order."""
    blocks = []
    section = ""
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("#"):
            section = line.lstrip("# ").strip()
        fence = re.fullmatch(r"```(console|sh|shell|bash)\s*", line)
        if not fence:
            index += 1
            continue
        start = index + 1
        end = next(i for i in range(start, len(lines)) if lines[i].startswith("```"))
        body = lines[start:end]
        steps = _console_steps(body) if fence.group(1) == "console" else [
            Step(b.strip(), []) for b in body if re.match(r"\s*arcli\b", b)]
        if steps:
            blocks.append(Block(f"README.md:{start} ({section})", fence.group(1), steps,
                                "\n".join(body) + "\n"))
        index = end + 1
    return blocks


def _console_steps(body: list[str]) -> list[Step]:
    steps: list[Step] = []
    for line in body:
        if line.startswith("$ "):
            steps.append(Step(line[2:].strip(), []))
        elif steps:
            steps[-1].shown.append(line.rstrip())
    for step in steps:
        while step.shown and not step.shown[-1]:
            step.shown.pop()
    return steps


BLOCKS = readme_blocks(README.read_text(encoding="utf-8"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def smtp_port():
    """A real SMTP server for `arcli send` (accepts everything, keeps nothing)."""
    from aiosmtpd.controller import Controller

    class Accept:
        async def handle_DATA(self, server, session, envelope):
            return "250 OK"

    port = _free_port()
    controller = Controller(Accept(), hostname="127.0.0.1", port=port)
    controller.start()
    yield port
    controller.stop()


def _env(root: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("ARCLI_DB", "ARCLI_CONFIG", "ARCLI_DEBUG", "PYTHONWARNINGS")}
    env.update(ARCLI_TODAY=TODAY, XDG_CONFIG_HOME=str(root / "xdg"), LC_ALL="C.UTF-8",
               PATH=f"{root / 'bin'}{os.pathsep}{BIN}{os.pathsep}{env.get('PATH', '')}")
    return env


def _arcli(work: Path, *args: str) -> None:
    done = subprocess.run(["arcli", *args], cwd=work, env=_env(work.parent),
                          capture_output=True, text=True)
    assert done.returncode == 0, (args, done.stderr)


def _prepare_root(root: Path) -> Path:
    (root / "work").mkdir(parents=True)
    (root / "examples").symlink_to(ROOT / "examples")
    (root / "bin").mkdir()
    mail = root / "bin" / "mail"  # the cron example mails the holds list
    mail.write_text("#!/bin/sh\ncat > \"$(dirname \"$0\")/../mailed.txt\"\n")
    mail.chmod(0o755)
    exports = root / "exports"  # PATHS: the day's export, as `date +%F` names it
    exports.mkdir()
    shutil.copy(ROOT / "examples" / "ledger.csv",
                exports / f"ledger-{dt.date.today().isoformat()}.csv")
    for name, content in FILES.items():
        (root / "work" / name).write_text(content, encoding="utf-8")
    return root / "work"


@pytest.fixture(scope="module")
def books(tmp_path_factory, smtp_port) -> dict[str, Path]:
    """The starting folders, built once: empty, customers only, the month-end book."""
    made = {}
    for state in ("empty", "customers", "unsigned", "book"):
        work = _prepare_root(tmp_path_factory.mktemp(state))
        if state != "empty":
            _arcli(work, "init")
            _arcli(work, "import", "customers", "../examples/customers.csv")
        if state in ("unsigned", "book"):
            _arcli(work, "import", "ledger", "../examples/ledger.csv")
            _arcli(work, "import", "ledger", "../examples/kingdee-export.csv",
                   "--mapping", "kingdee")
            if state == "book":
                _arcli(work, "signing", "init")
            config = yaml.safe_load((work / "arcli.yaml").read_text(encoding="utf-8"))
            config["signing"].update(pkcs12="signing/arcli-test.p12",
                                     password_file="signing/arcli-test.password")
            config["reconcile"]["tolerance"] = {"EUR": "5.00"}
            config["smtp"].update(host="127.0.0.1", port=smtp_port, security="none")
            (work / "arcli.yaml").write_text(yaml.safe_dump(config, allow_unicode=True),
                                             encoding="utf-8")
        made[state] = work
    return made


def _setup_for(block: Block) -> str:
    first = block.steps[0].command
    return next((state for start, state in SETUPS.items() if first.startswith(start)),
                "book")


def matches(shown: list[str], actual: list[str]) -> bool:
    """``shown`` (the README's lines, ``...`` for any lines) against ``actual``."""
    if not shown:
        return not actual
    head, rest = shown[0], shown[1:]
    if head.strip() == "...":
        return any(matches(rest, actual[i:]) for i in range(len(actual) + 1))
    if not actual:
        return False
    line = actual[0].rstrip()
    same = line.startswith(head[:-3]) if head.endswith("...") else line == head
    return same and matches(rest, actual[1:])


@pytest.mark.parametrize("block", BLOCKS, ids=[b.where for b in BLOCKS])
def test_readme_example_runs_as_written(block, books, tmp_path):
    work = tmp_path / "case" / "work"
    shutil.copytree(books[_setup_for(block)].parent, work.parent, symlinks=True)
    for step in block.steps:
        command = step.command
        for path, stand_in in PATHS.items():
            command = command.replace(path, f"{work.parent}/{stand_in}")
        done = subprocess.run(["bash", "-c", command], cwd=work, env=_env(work.parent),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        printed = [line for line in done.stdout.splitlines()
                   if not line.startswith("warning: ")]
        where = f"{block.where}: $ {step.command}\n" + done.stdout
        if any(line.startswith("arcli: error:") for line in step.shown):
            assert done.returncode in (1, 2), where
        else:
            assert done.returncode in (0, 3), where
        if step.shown:
            assert matches(step.shown, printed), (
                where + "\n--- the README shows ---\n" + "\n".join(step.shown))


SCRIPTS = [b for b in BLOCKS if b.kind == "sh"]


@pytest.mark.parametrize("block", SCRIPTS, ids=[b.where for b in SCRIPTS])
def test_readme_script_runs_whole_and_quietly(block, books, tmp_path):
    """An sh block is a script (the cron month end): run whole, as cron would, it ends
    with 0 in a good month and prints nothing, since cron mails whatever is printed and
    reads any other end as a failure. Its last line once made every month without credit
    holds end with 1."""
    work = tmp_path / "case" / "work"
    shutil.copytree(books[_setup_for(block)].parent, work.parent, symlinks=True)
    script = block.script
    for path, stand_in in PATHS.items():
        script = script.replace(path, f"{work.parent}/{stand_in}")
    done = subprocess.run(["bash", "-c", script], cwd=work, env=_env(work.parent),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    printed = [line for line in done.stdout.splitlines() if not line.startswith("warning: ")]
    assert (done.returncode, printed) == (0, []), f"{block.where}\n{done.stdout}"


def test_the_readme_has_examples_to_run():
    kinds = {b.kind for b in BLOCKS}
    assert {"console", "sh"} <= kinds and len(BLOCKS) >= 8
