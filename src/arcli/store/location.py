"""Where a book lives: ``--db`` (a path or a URL) as a database URL, and how to show it.

Plain string work, without SQLAlchemy, so that both the engine and the quick read-only
path (:mod:`arcli.store.reader`) understand ``--db`` the same way.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

#: How long a SQLite connection -- the engine's, or a quick report's -- waits for another
#: process holding the book (a writer, a big first load) before "the book is busy".
BUSY_TIMEOUT_MS = 30_000


def store_url(path_or_url: str) -> str:
    """Turn ``--db`` into a SQLAlchemy URL: a plain path means a SQLite file."""
    if "://" in path_or_url:
        if path_or_url.startswith("postgresql://"):
            # psycopg 3 is the maintained driver; SQLAlchemy defaults to psycopg2.
            return "postgresql+psycopg://" + path_or_url[len("postgresql://"):]
        return path_or_url
    return f"sqlite:///{Path(path_or_url).expanduser()}"


def masked(url: str) -> str:
    """The URL with any password replaced by ``***``, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    netloc = f"{parts.username or ''}:***@{host}"
    return urlunsplit(parts._replace(netloc=netloc))
