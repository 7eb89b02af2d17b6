"""Batch locks: two cron hosts (or two overlapping cron runs) never run the same batch, or
the same shard of it, at once; different shards run side by side.

On PostgreSQL a session-level advisory lock (``pg_try_advisory_lock``) is held on its own
connection for the whole batch; it is released when the batch ends or the process dies.
On SQLite, where every writer is on one machine, a lock on the book file itself does the
same (:func:`arcli.fileio.locked_identity`: the file, however its path is spelt). A
PostgreSQL advisory lock belongs to the database it is taken in, whichever URL reached it.

Batches refuse to start while another holds their lock (:func:`batch_lock`); imports wait
for it instead (:func:`waiting_lock`): two hosts importing the same export one after the
other is what an idempotent import is for, while two imports interleaved on PostgreSQL
deadlocked (measured: a big first load drops and re-adds keys and indexes) or saw each
other half done.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import text

from arcli.errors import ArcliError
from arcli.fileio import locked_identity
from arcli.sharding import Shard
from arcli.store.engine import Store


class LockHeld(ArcliError):
    """Another arcli process holds the batch lock."""


def _key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextlib.contextmanager
def batch_lock(store: Store, name: str, shard: Shard | None = None) -> Iterator[None]:
    """Hold the named batch's lock for the block, or raise :class:`LockHeld` at once.

    A run of one shard (``--shard K/N``) holds the batch's lock shared and its shard's
    exclusively: N hosts run their shards side by side, while the same shard twice, or a
    whole run beside any shard, is refused.
    """
    def refuse(what: str) -> Callable[[], None]:
        def raise_held() -> None:
            raise LockHeld(f"another arcli is already running {what} on this book")
        return raise_held

    if shard is None:
        with _lock(store, name, when_held=refuse(name)):
            yield
        return
    label = f"{name} --shard {shard.index}/{shard.count}"
    with _lock(store, name, when_held=refuse(name), shared=True), \
            _lock(store, f"{name}-shard-{shard.index}-of-{shard.count}",
                  when_held=refuse(label)):
        yield


@contextlib.contextmanager
def waiting_lock(store: Store, name: str, on_wait: Callable[[], None]) -> Iterator[None]:
    """Hold the named lock for the block, waiting while another process holds it;
    ``on_wait`` is called once before waiting (to say so)."""
    with _lock(store, name, when_held=on_wait):
        yield


@contextlib.contextmanager
def _lock(store: Store, name: str, when_held: Callable[[], None],
          shared: bool = False) -> Iterator[None]:
    """The named lock (``shared`` or exclusive); if another holds it, ``when_held``
    either raises or returns, and then the lock is waited for."""
    if store.dialect == "postgresql":
        mode = "_shared" if shared else ""
        key = {"k": _key(name)}
        with store.engine.connect() as conn:
            got = conn.execute(text(f"SELECT pg_try_advisory_lock{mode}(:k)"), key).scalar()
            conn.commit()
            if not got:
                when_held()
                conn.execute(text(f"SELECT pg_advisory_lock{mode}(:k)"), key)
                conn.commit()
            try:
                yield
            except BaseException:
                # The block's error is what the user must see. If the session has gone
                # (a server restart, an interrupt), the lock went with it.
                with contextlib.suppress(Exception):
                    _unlock(conn, mode, key)
                raise
            _unlock(conn, mode, key)
        return
    database = store.engine.url.database or ":memory:"
    if database == ":memory:":
        yield
        return
    with locked_identity(Path(database), name, shared=shared, when_held=when_held):
        yield


def _unlock(conn, mode: str, key: dict) -> None:
    conn.execute(text(f"SELECT pg_advisory_unlock{mode}(:k)"), key)
    conn.commit()
