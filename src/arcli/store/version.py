"""The schema version this arcli expects, and the message when a book is at another.

Kept apart from the SQLAlchemy engine so that quick read-only commands can check the
version over a plain DB-API connection without importing SQLAlchemy (about 0.15 s).
"""

from __future__ import annotations

from arcli.errors import StoreError

#: The Alembic revision this code expects; ``arcli init`` upgrades older databases to it.
SCHEMA_HEAD = "0007"


def check_version(version: str | None, display_url: str) -> None:
    """Refuse a database that has no arcli schema or is at another schema version."""
    if version is None:
        raise StoreError(f"{display_url} has no arcli schema: run `arcli init` first")
    if version != SCHEMA_HEAD:
        raise StoreError(f"{display_url} is at schema {version}, this arcli needs "
                         f"{SCHEMA_HEAD}: run `arcli init` to upgrade it")
