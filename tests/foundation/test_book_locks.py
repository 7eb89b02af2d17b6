"""Batch locks belong to the book, not to how its path or URL is spelt."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from arcli.store import open_store
from arcli.store.locks import LockHeld, batch_lock
from tests.conftest import PG_ADMIN_URL, TODAY, Arcli


def _spellings(book: Path, tmp_path: Path) -> dict[str, str]:
    """Other ways to name the SQLite file ``book``: a symlink, a path with ``..`` and a
    relative path (from ``tmp_path``), a hard link in another folder."""
    (tmp_path / "link").mkdir()
    (tmp_path / "link" / "book.db").symlink_to(book)
    (tmp_path / "other").mkdir()
    os.link(book, tmp_path / "other" / "same.db")
    return {"symlink": str(tmp_path / "link" / "book.db"),
            "dotdot": str(tmp_path / "other" / ".." / book.relative_to(tmp_path)),
            "relative": os.path.relpath(book, tmp_path),
            "hard link": str(tmp_path / "other" / "same.db")}


@pytest.mark.parametrize("spelling", ["symlink", "dotdot", "relative", "hard link"])
def test_a_batch_lock_holds_however_the_book_path_is_spelt(tmp_path, spelling, monkeypatch):
    book = tmp_path / "books" / "book.db"
    book.parent.mkdir()
    store = open_store(str(book))
    store.upgrade()
    monkeypatch.chdir(tmp_path)
    other = open_store(_spellings(book, tmp_path)[spelling])
    with batch_lock(store, "dunning"):
        with pytest.raises(LockHeld, match="already running dunning"), \
                batch_lock(other, "dunning"):
            pass
        with batch_lock(other, "statements"):  # another batch still runs beside it
            pass
    with batch_lock(other, "dunning"):  # released with its holder
        pass
    store.dispose()
    other.dispose()


def test_a_second_dunning_run_through_a_symlink_is_refused_and_writes_nothing(
        example_book, tmp_path):
    """A real second process, started while the first holds the book's dunning lock."""
    if not example_book.is_sqlite:
        pytest.skip("paths are SQLite's")
    link = tmp_path / "via-link.db"
    link.symlink_to(Path(example_book.db).resolve())
    holder = open_store(example_book.db)
    env = {**os.environ, "ARCLI_TODAY": TODAY}
    with batch_lock(holder, "dunning"):
        second = subprocess.run(
            [sys.executable, "-m", "arcli", "--db", str(link), "dunning", "run", "--out",
             str(tmp_path / "letters")], cwd=tmp_path, env=env, capture_output=True,
            text=True, timeout=120)
    holder.dispose()
    assert second.returncode == 1, second.stderr
    assert "already running dunning on this book" in second.stderr
    assert not (tmp_path / "letters").exists()
    history = Arcli(str(link), tmp_path)("dunning", "history", "--json")
    assert history.stdout.strip() in ("", "[]")


@pytest.mark.skipif(not PG_ADMIN_URL, reason="no PostgreSQL (set ARCLI_TEST_PG_URL)")
def test_a_postgresql_lock_belongs_to_the_database_not_to_the_urls_spelling(db_url, store):
    if "://" not in db_url:
        pytest.skip("PostgreSQL only")
    base, _, query = db_url.partition("?")
    rest = base.split("://", 1)[1]
    respelt = f"postgresql+psycopg://{rest}" + (  # driver named, parameters the other way
        "?" + "&".join(reversed(query.split("&"))) if query else "")
    other = open_store(respelt)
    server_default = open_store(base.rsplit("/", 1)[0] + "/postgres" +
                                (f"?{query}" if query else ""))
    with batch_lock(store, "statements"):
        with pytest.raises(LockHeld), batch_lock(other, "statements"):
            pass
        with batch_lock(server_default, "statements"):  # another book on the same server
            pass
    other.dispose()
    server_default.dispose()


def test_the_lock_of_a_killed_holder_is_gone(tmp_path):
    """The kernel drops a dead process's lock: the next run needs no cleaning up."""
    book = tmp_path / "book.db"
    store = open_store(str(book))
    store.upgrade()
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from arcli.store import open_store\n"
         "from arcli.store.locks import batch_lock\n"
         f"with batch_lock(open_store({str(book)!r}), 'statements'):\n"
         "    print('held', flush=True); time.sleep(60)\n"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(LockHeld), batch_lock(store, "statements"):
            pass
    finally:
        holder.kill()
        holder.wait()
    deadline = time.monotonic() + 10
    while True:
        try:
            with batch_lock(store, "statements"):
                break
        except LockHeld:
            assert time.monotonic() < deadline
            time.sleep(0.1)
    store.dispose()
