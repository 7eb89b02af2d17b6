"""A partial run (--customer, --shard, --jobs) keeps every other row of manifest.csv and
manifest.json: every customer, every currency of a statement, skipped ones too."""

from __future__ import annotations

import csv
import json

import pytest


def manifest(folder) -> list[tuple]:
    rows = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    with open(folder / "manifest.csv", encoding="utf-8", newline="") as handle:
        as_csv = list(csv.DictReader(handle))
    assert [(r["customer"], r["currency"], r["file"]) for r in as_csv] == \
        [(r["customer"], r["currency"], r["file"]) for r in rows]
    return sorted((r["customer"], r["currency"], r["status"] != "skipped") for r in rows)


def statements(book, out, *extra: str) -> None:
    result = book("statements", "--period", "2026-10", "--out", str(out), "--json", *extra)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("partial", [("--customer", "C003"), ("--customer", "C005"),
                                     ("--customer", "C003", "--jobs", "2"),
                                     ("--shard", "1/2"), ("--shard", "2/2", "--jobs", "2")])
def test_a_partial_statement_run_keeps_the_other_rows(example_book, tmp_path, partial):
    out = tmp_path / "statements"
    statements(example_book, out)
    full = manifest(out)
    # C005 has EUR and USD on one statement: two rows of one file.
    assert ("C005", "EUR", True) in full and ("C005", "USD", True) in full
    statements(example_book, out, *partial, "--force")
    assert manifest(out) == full


def test_shards_into_one_folder_make_the_whole_manifest(example_book, tmp_path):
    whole, shared = tmp_path / "whole", tmp_path / "shared"
    statements(example_book, whole)
    statements(example_book, shared, "--shard", "1/2")
    statements(example_book, shared, "--shard", "2/2", "--jobs", "2")
    assert manifest(shared) == manifest(whole)


def test_a_partial_dunning_run_keeps_the_other_rows(example_book, tmp_path):
    out = tmp_path / "letters"

    def run(*extra: str) -> None:
        result = example_book("dunning", "run", "--as-of", "2026-11-22", "--out", str(out),
                              "--json", *extra)
        assert result.exit_code == 0, result.output

    # C004 has nothing overdue enough: a skipped row of its own, without a file.
    assert example_book("dunning", "block", "C003", "--until", "2026-12-31",
                        "--reason", "talks").exit_code == 0
    run()
    full = manifest(out)
    assert ("C003", "EUR", False) in full
    run("--customer", "C002", "--force")
    assert manifest(out) == full
    run("--shard", "1/2", "--force")
    run("--shard", "2/2", "--force", "--jobs", "2")
    assert manifest(out) == full
