"""The migrations build exactly the schema the code declares, on every backend.

Books are created by running the Alembic migrations, while queries and bulk loads are
written against ``store/schema.py``; an index declared in one and not the other would go
unnoticed until a query ran slowly or a bulk load rebuilt the wrong index.
"""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from arcli.store.schema import metadata


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
