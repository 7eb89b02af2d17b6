"""Opening a database and keeping its schema at the version this arcli expects."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, inspect, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from arcli.errors import StoreError

#: The Alembic revision this code expects; ``arcli init`` upgrades older databases to it.
SCHEMA_HEAD = "0002"

_MIGRATIONS = Path(__file__).with_name("migrations")


def store_url(path_or_url: str) -> str:
    """Turn ``--db`` into a SQLAlchemy URL: a plain path means a SQLite file."""
    if "://" in path_or_url:
        if path_or_url.startswith("postgresql://"):
            # psycopg 3 is the maintained driver; SQLAlchemy defaults to psycopg2.
            return "postgresql+psycopg://" + path_or_url[len("postgresql://"):]
        return path_or_url
    return f"sqlite:///{Path(path_or_url).expanduser()}"


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """WAL lets a report read while cron writes; foreign keys are off by default in SQLite."""
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    # The 2 MB default page cache thrashes once a book's indexes outgrow it (imports turn
    # super-linear); 64 MB keeps a million-document book's hot pages in memory.
    cursor.execute("PRAGMA cache_size=-65536")
    cursor.close()


class Store:
    """A handle on one book (database). Cheap to create; connects on first use."""

    def __init__(self, url: str):
        self.url = url
        self._engine: Engine | None = None

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = self._make_engine()
        return self._engine

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``: for the few statements that differ."""
        return self.engine.dialect.name

    def _make_engine(self) -> Engine:
        try:
            engine = create_engine(self.url, future=True)
        except (SQLAlchemyError, ImportError) as exc:
            raise StoreError(f"cannot open database {self.display_url}: {exc}") from None
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        return engine

    @property
    def display_url(self) -> str:
        """The URL with any password masked, for messages."""
        try:
            from sqlalchemy.engine import make_url

            return make_url(self.url).render_as_string(hide_password=True)
        except SQLAlchemyError:
            return self.url

    @contextlib.contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back on any exception."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except OperationalError as exc:
            raise StoreError(f"database error on {self.display_url}: {exc.orig}") from None

    @contextlib.contextmanager
    def connect(self) -> Iterator[Connection]:
        """A connection for reading (no implicit commit)."""
        try:
            with self.engine.connect() as conn:
                yield conn
        except OperationalError as exc:
            raise StoreError(f"database error on {self.display_url}: {exc.orig}") from None

    # -- schema -------------------------------------------------------------------
    def schema_version(self) -> str | None:
        """The Alembic revision of the database, or None for an empty database."""
        try:
            with self.engine.connect() as conn:
                if not inspect(conn).has_table("alembic_version"):
                    return None
                return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except OperationalError as exc:
            raise StoreError(f"cannot open database {self.display_url}: {exc.orig}") from None

    def check_schema(self) -> None:
        """Refuse to work on a database that is missing or at another schema version."""
        version = self.schema_version()
        if version is None:
            raise StoreError(
                f"{self.display_url} has no arcli schema: run `arcli init` first"
            )
        if version != SCHEMA_HEAD:
            raise StoreError(
                f"{self.display_url} is at schema {version}, this arcli needs {SCHEMA_HEAD}: "
                "run `arcli init` to upgrade it"
            )

    def upgrade(self) -> tuple[str | None, str]:
        """Create or migrate the schema to :data:`SCHEMA_HEAD`; idempotent."""
        from alembic import command
        from alembic.config import Config as AlembicConfig

        before = self.schema_version()
        cfg = AlembicConfig()
        cfg.set_main_option("script_location", str(_MIGRATIONS))
        with self.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        return before, SCHEMA_HEAD

    def dispose(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def open_store(path_or_url: str) -> Store:
    """A :class:`Store` for ``--db`` (path or URL). Does not connect yet."""
    return Store(store_url(path_or_url))
