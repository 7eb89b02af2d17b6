"""Conventions every command follows: global options anywhere, unknown ids are errors,
one date syntax, verify's verdict on files that are not signed PDFs."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from arcli.cli import cli
from tests.conftest import TODAY


def _leaf_commands(group, path=()):
    """Every runnable command path under the root, loaded the way the CLI loads them."""
    import click

    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        if isinstance(command, click.Group):
            yield from _leaf_commands(command, (*path, name))
        else:
            yield (*path, name), command


def test_every_command_takes_the_global_options():
    missing = [" ".join(path) for path, command in _leaf_commands(cli)
               if not {"--config", "--db", "-q"} <= {o for p in command.params for o in p.opts}]
    assert missing == []


def test_global_options_after_the_subcommand_at_any_depth(example_book, tmp_path):
    """The README's cron lines: `dunning run -q --csv`, `statements ... -q --csv`."""
    run = example_book("dunning", "run", "--dry-run", "-q", "--csv")
    assert run.exit_code == 0, run.output
    assert run.stderr == ""
    assert run.stdout.startswith("customer,name,currency,status")
    statements = example_book("statements", "--period", "last-month", "--jobs", "2",
                              "--no-sign", "--out", str(tmp_path / "st"), "-q", "--csv")
    assert statements.exit_code == 0, statements.output
    assert statements.stderr == ""
    # --db after the command name is the book used: an empty one has no C001
    empty = tmp_path / "empty.db"
    assert example_book("init", "--no-config", "--db", str(empty)).exit_code == 0
    other = example_book("aging", "--csv", "--db", str(empty))
    assert other.exit_code == 0 and other.stdout.splitlines()[1:] == []


@pytest.mark.parametrize("argv", [
    ("aging", "--customer", "C999"),
    ("aging", "--customer", "C001", "--customer", "C999", "--detail"),
    ("credit", "--customer", "C999"),
    ("dunning", "run", "--customer", "C999", "--dry-run"),
    ("dunning", "history", "--customer", "C999"),
    ("dunning", "preview", "C999"),
    ("dunning", "block", "C999", "--until", "2026-12-31", "--reason", "x"),
    ("promise", "add", "C999", "10.00", "--by", "2026-12-31"),
    ("promise", "list", "--customer", "C999"),
    ("statements", "--period", "2026-10", "--customer", "C999", "--no-sign"),
    ("reconcile", "status", "--customer", "C999"),
    ("reconcile", "explain", "NO-SUCH-DOC"),
    ("dispute", "open", "NO-SUCH-DOC", "--reason", "x"),
])
def test_unknown_customer_or_document_is_an_error(example_book, argv):
    result = example_book(*argv)
    assert result.exit_code == 1, result.output
    missing = "C999" if "C999" in argv else "NO-SUCH-DOC"
    assert result.stderr.startswith("arcli: error: unknown ")
    assert f"'{missing}': not in the book" in result.stderr
    assert result.stdout == ""


def test_unknown_language_is_an_error(example_book, tmp_path):
    result = example_book("statements", "--period", "2026-10", "--lang", "xx", "--no-sign",
                          "--out", str(tmp_path / "st"))
    assert result.exit_code == 1
    assert "unknown language 'xx'" in result.stderr
    assert not (tmp_path / "st").exists()
    chinese = example_book("statements", "--period", "2026-10", "--lang", "zh-Hant",
                           "--no-sign", "--customer", "C003", "--out", str(tmp_path / "zh"),
                           "--json")
    assert chinese.exit_code == 0, chinese.output


@pytest.mark.parametrize(("given", "expected"), [
    ("2026-10-31", dt.date(2026, 10, 31)), ("2026/10/31", dt.date(2026, 10, 31)),
    ("today", dt.date.fromisoformat(TODAY)),
    ("yesterday", dt.date.fromisoformat(TODAY) - dt.timedelta(days=1)),
    ("Yesterday", dt.date.fromisoformat(TODAY) - dt.timedelta(days=1)),
])
def test_dates_in_every_accepted_form(example_book, given, expected):
    as_given = example_book("aging", "--as-of", given, "--json")
    as_iso = example_book("aging", "--as-of", expected.isoformat(), "--json")
    assert as_given.exit_code == 0, as_given.output
    assert json.loads(as_given.stdout) == json.loads(as_iso.stdout)


@pytest.mark.parametrize("bad", ["2026-13-01", "31.10.2026", "2026/02/30", "tomorrow", ""])
def test_a_bad_date_lists_the_accepted_forms(example_book, bad):
    result = example_book("dunning", "block", "C001", "--until", bad, "--reason", "x")
    assert result.exit_code == 2
    assert "YYYY-MM-DD, YYYY/MM/DD, today or yesterday" in result.stderr


def test_verify_says_a_missing_file_cannot_be_read(example_book, tmp_path):
    """A missing file was reported as "not signed"."""
    result = example_book("verify", str(tmp_path / "nothere.pdf"), "--json")
    assert result.exit_code == 1
    [row] = json.loads(result.stdout)
    assert row["status"] == "unreadable"
    assert "No such file" in row["message"]


def test_verify_says_not_a_pdf_and_not_signed(example_book, tmp_path):
    text = tmp_path / "passwd"
    text.write_text("root:x:0:0:root:/root:/bin/bash\n")
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\n1 0 obj\n<<\n")
    result = example_book("verify", str(text), str(broken), "--json")
    assert result.exit_code == 1
    rows = json.loads(result.stdout)
    assert [(r["status"], r["signed"]) for r in rows] == [("not a PDF", False),
                                                            ("not a PDF", False)]
    assert rows[0]["message"] == "not a PDF"
    assert rows[1]["message"].startswith("not a readable PDF")
    unsigned = tmp_path / "st"
    made = example_book("statements", "--period", "2026-10", "--customer", "C003",
                        "--no-sign", "--out", str(unsigned), "-q")
    assert made.exit_code == 0, made.output
    plain = example_book("verify", str(next(unsigned.glob("*.pdf"))), "--json")
    assert plain.exit_code == 1
    assert [(r["status"], r["message"]) for r in json.loads(plain.stdout)] == \
        [("not signed", "not signed")]
