"""The migrations build exactly the schema the code declares, on every backend.

Books are created by running the Alembic migrations, while queries and bulk loads are
written against ``store/schema.py``; an index declared in one and not the other would go
unnoticed until a query ran slowly or a bulk load rebuilt the wrong index. A book file
that is damaged, or no database at all, is named as such by every command.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from arcli.store.schema import metadata
from tests.conftest import EXAMPLES


def schema_differences(store) -> list:
    """Tables, columns, indexes and foreign keys the book lacks or has beyond the code's."""
    with store.engine.connect() as conn:
        diffs = compare_metadata(MigrationContext.configure(conn), metadata)
    # Type and default details differ between backends by design; structure must not.
    return [d for d in diffs if isinstance(d, tuple) and d[0] in (
        "add_table", "remove_table", "add_column", "remove_column", "add_index",
        "remove_index", "add_fk", "remove_fk")]


def test_migrated_book_has_the_declared_tables_columns_and_indexes(store):
    assert schema_differences(store) == []


def test_documents_are_found_by_number_through_the_unique_index(store):
    with store.engine.connect() as conn:
        from sqlalchemy import inspect
        indexes = {ix["name"]: ix for ix in inspect(conn).get_indexes("documents")}
    unique = indexes["ux_documents_number_type"]
    assert unique["column_names"] == ["number", "type"] and unique["unique"]
    assert "ix_documents_number" not in indexes


@pytest.mark.parametrize("damage", ["truncated", "not a database"])
def test_a_damaged_book_file_is_named_as_such_by_every_kind_of_command(example_book, damage):
    """Reports, imports and batches on a SQLite file that is cut short or is no database
    at all: a plain message and exit 1, never an internal error."""
    if not example_book.is_sqlite:
        pytest.skip("a damaged database file is SQLite's")
    from arcli.store import open_store

    open_store(example_book.db).dispose()
    book = Path(example_book.db)
    if damage == "truncated":
        book.write_bytes(book.read_bytes()[:20_000])
        said = ("damaged", "malformed")
    else:
        book.write_bytes(bytes(range(256)) * 40)
        said = ("not a SQLite database", "not a database")
    for args in (("aging",), ("import", "ledger", str(EXAMPLES / "ledger.csv")),
                 ("statements", "--period", "2026-10", "--out", "st"),
                 ("dunning", "run", "--out", "letters")):
        result = example_book(*args)
        assert result.exit_code == 1, (args, result.output)
        assert "internal error" not in result.stderr, args
        assert any(words in result.stderr for words in said), (args, result.stderr)
