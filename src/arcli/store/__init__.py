"""The store: one SQL database (SQLite by default, PostgreSQL for teams) behind SQLAlchemy Core.

Everything that writes the book goes through :class:`Store`, which hides the differences
between backends (URL handling, SQLite pragmas, schema version checks), so the same
queries run on both. The names below are loaded on first use: quick read-only commands
use :mod:`arcli.store.reader` and never pay for importing SQLAlchemy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from arcli.store.engine import Store, open_store, store_url
    from arcli.store.version import SCHEMA_HEAD

__all__ = ["SCHEMA_HEAD", "Store", "open_store", "store_url"]

_HOME = {"SCHEMA_HEAD": "arcli.store.version", "Store": "arcli.store.engine",
         "open_store": "arcli.store.engine", "store_url": "arcli.store.engine"}


def __getattr__(name: str):
    if name in _HOME:
        return getattr(importlib.import_module(_HOME[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
