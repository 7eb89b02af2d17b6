"""The store: one SQL database (SQLite by default, PostgreSQL for teams) behind SQLAlchemy Core.

Everything that reads or writes the book goes through :class:`Store`, which hides the
differences between backends (URL handling, SQLite pragmas, schema version checks), so the
same queries run on both.
"""

from arcli.store.engine import SCHEMA_HEAD, Store, open_store, store_url

__all__ = ["SCHEMA_HEAD", "Store", "open_store", "store_url"]
