"""Atomic file output and file-name safety.

Cron jobs get killed, disks fill up: a reader must see either the old file or the whole
new one, never half of it. Every file arcli writes goes through :func:`atomic_write`
(temporary file in the same folder, fsync, rename).
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import re
import struct
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import IO

_UNSAFE = re.compile(r"[^\w.\-]+", re.UNICODE)
_TEMPORARY = ".tmp"  # suffix of atomic_output's temporary files


def atomic_write(path: str | os.PathLike, data: bytes | str, *, encoding: str = "utf-8",
                 mode: int | None = None) -> Path:
    """Write ``data`` to ``path`` so that readers never observe a partial file (``mode``:
    see :func:`atomic_output`)."""
    payload = data.encode(encoding) if isinstance(data, str) else data
    with atomic_output(path, mode=mode) as handle:
        handle.write(payload)
    return Path(path)


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike, *, encoding: str | None = None,
                  mode: int | None = None) -> Iterator[IO]:
    """A stream that becomes ``path`` when the block ends without an exception.

    Binary, or text in ``encoding`` (newlines written as given). The data goes to a
    temporary file beside the target, is fsynced and renamed over it; on any error the
    temporary file is removed and the target is untouched. The file gets ``mode``, by
    default what the user's umask gives a new file (:func:`new_file_mode`).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = _temporary_beside(target)
    try:
        os.fchmod(fd, new_file_mode() if mode is None else mode)
        with os.fdopen(fd, "w" if encoding else "wb", encoding=encoding,
                       newline="" if encoding else None) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, target)
    except BaseException:
        _remove(tmp_name)
        raise


class StagedFiles:
    """Files written now under temporary names, made durable and put in place together.

    A batch of ten thousand documents spent a journal commit on each file's ``fsync``:
    0.35 ms a file on this project's VM, and several milliseconds on a spinning disk or a
    network volume. :meth:`commit` first syncs the whole filesystem once (``syncfs``,
    Linux), so the ``fsync`` each file still gets finds nothing left to write (0.23 ms
    a file here) and still reports that file's own error; then the files are renamed
    into place and their folders synced, so the names are durable too. A file is never
    seen half-written: it appears under its name only after its data is on disk.
    """

    def __init__(self):
        self._staged: list[tuple[int, str, Path]] = []  # open fd, temporary name, target
        self._mode = new_file_mode()

    def __len__(self) -> int:
        return len(self._staged)

    def stage(self, path: str | os.PathLike, data: bytes) -> None:
        """Write ``data`` to a temporary file beside ``path`` (removed again on error)."""
        target = Path(path)
        fd, tmp_name = _temporary_beside(target)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fchmod(fd, self._mode)
        except BaseException:
            _discard(fd, tmp_name)
            raise
        self._staged.append((fd, tmp_name, target))

    def commit(self) -> dict[Path, OSError]:
        """Make every staged file durable and rename it into place; returns the files that
        failed (their temporary files removed), by target path."""
        staged, self._staged = self._staged, []
        if staged:
            _sync_filesystem(staged[0][0])
        failed: dict[Path, OSError] = {}
        folders = set()
        for index, (fd, tmp_name, target) in enumerate(staged):
            try:
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
                os.replace(tmp_name, target)
                folders.add(target.parent)
            except OSError as exc:
                failed[target] = exc
                _remove(tmp_name)
            except BaseException:
                _remove(tmp_name)
                for fd_left, tmp_left, _target in staged[index + 1:]:
                    _discard(fd_left, tmp_left)
                raise
        for folder in folders:
            _sync_folder(folder)
        return failed

    def discard(self) -> None:
        """Remove every staged file that was not committed (an error or interrupt)."""
        staged, self._staged = self._staged, []
        for fd, tmp_name, _target in staged:
            _discard(fd, tmp_name)


def new_file_mode() -> int:
    """The mode ``open()`` gives a new file under the user's umask (``0o666 & ~umask``).

    Temporary files are made ``0600`` whatever the umask; a document put in place as such
    would be unreadable to the group a team shares its folder with (umask 002), and
    forcing ``0644`` instead made statements world-readable for a user who asked for
    ``077``. Linux tells the umask without changing it; elsewhere it is set and put back.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    umask = os.umask(0o077)
    os.umask(umask)
    return 0o666 & ~umask


def _temporary_beside(target: Path) -> tuple[int, str]:
    """A new temporary file beside ``target`` (open fd, name), named
    ``.NAME.xxxxxxxx.tmp`` as :func:`remove_leftovers` recognises it."""
    return tempfile.mkstemp(prefix=f".{target.name}.", suffix=_TEMPORARY, dir=target.parent)


def _discard(fd: int, tmp_name: str) -> None:
    """Close a staged file's descriptor and remove the file."""
    with contextlib.suppress(OSError):
        os.close(fd)
    _remove(tmp_name)


def _remove(tmp_name: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp_name)


def _sync_filesystem(fd: int) -> None:
    """``syncfs`` on the filesystem of ``fd`` where the C library has it; a speed-up only:
    the caller fsyncs each file after it, so a failure here changes nothing."""
    syncfs = _syncfs()
    if syncfs is not None:
        syncfs(fd)


@functools.cache
def _syncfs():
    import ctypes

    try:
        return ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None


def _sync_folder(folder: Path) -> None:
    """fsync a folder, so the renames in it survive a power cut (where the OS allows)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems cannot sync a folder; the files themselves are synced
    finally:
        os.close(fd)


def move_aside(path: Path, subfolder: str) -> Path | None:
    """Move the file ``path`` into ``subfolder`` beside it by one rename, and return
    where it went (None when there is no such file).

    A rename within a folder tree is atomic: a reader finds the file in one place or the
    other, never half or in both, and its bytes stay those that were recorded. A file
    already there keeps its name (the moved one is numbered); the caller holds the lock
    of these documents, so nobody else moves or writes them meanwhile.
    """
    if not path.is_file():
        return None
    aside = path.parent / subfolder
    aside.mkdir(exist_ok=True)
    target, number = aside / path.name, 1
    while target.exists():
        number += 1
        target = aside / f"{path.stem}.{number}{path.suffix}"
    os.rename(path, target)
    _sync_folder(aside)
    _sync_folder(path.parent)
    return target


def remove_leftovers(folder: Path, names: Iterable[str]) -> int:
    """Remove the temporary files that writers of ``names`` in ``folder`` left behind.

    A process killed between creating its temporary file and renaming it (cron's host
    going down, the OOM killer) leaves ``.NAME.xxxxxxxx.tmp`` beside ``NAME``; nothing
    else ever removes it. Only the caller knows that no live process is writing those
    names (a batch holds the lock of its customers), so only their leftovers go.
    Returns how many were removed.
    """
    wanted, removed = set(names), 0
    with os.scandir(folder) as entries:
        for entry in entries:
            if _temporary_target(entry.name) in wanted:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(entry.path)
                    removed += 1
    return removed


def _temporary_target(name: str) -> str | None:
    """``NAME`` for a temporary file name ``.NAME.xxxxxxxx.tmp`` (:func:`_temporary_beside`)."""
    if not (name.startswith(".") and name.endswith(_TEMPORARY)):
        return None
    target, dot, random_part = name[1:-len(_TEMPORARY)].rpartition(".")
    return target if dot and target and random_part else None


@contextlib.contextmanager
def locked_file(path: Path, *, shared: bool = False,
                when_held: Callable[[], None] = lambda: None) -> Iterator[None]:
    """An ``flock`` on ``path`` (created if missing) for the block, exclusive or ``shared``.

    If another process holds it, ``when_held`` runs first: it raises to give up, or
    returns, and then the lock is waited for. The kernel drops the lock with its holder,
    so a killed process never leaves one behind.
    """
    import fcntl

    mode = fcntl.LOCK_SH if shared else fcntl.LOCK_EX
    with path.open("a") as handle:
        try:
            fcntl.flock(handle, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            when_held()
            fcntl.flock(handle, mode)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


#: Where :func:`locked_identity` locks its bytes: far past SQLite's own locks, which sit
#: at 1 GiB of the book file (``PENDING_BYTE``), and past any book's size.
_LOCK_BYTES = 1 << 42


@contextlib.contextmanager
def locked_identity(path: Path, name: str, *, shared: bool = False,
                    when_held: Callable[[], None] = lambda: None) -> Iterator[None]:
    """The lock ``name`` of the file at ``path`` itself, for the block (as :func:`locked_file`).

    A lock file beside the path as it was spelt let two runs through a symlink, a relative
    and an absolute path, or a hard link each take "their" lock and run at once on one
    book. So the lock is held on the file: on Linux a byte of it, one per lock name, with
    an open-file-description lock (``F_OFD_SETLK``: the kernel keys it by device and inode,
    drops it with its holder, and, unlike a POSIX lock, does not lose it when SQLite closes
    another descriptor of the file). Elsewhere, or where the file cannot be opened for
    writing, an ``flock`` on a lock file beside the file's real path (symlinks and
    spellings agree; hard links do not).
    """
    import fcntl

    ofd = getattr(fcntl, "F_OFD_SETLK", None)
    try:
        fd = os.open(path, os.O_RDWR | getattr(os, "O_CLOEXEC", 0)) if ofd else -1
    except OSError:
        fd = -1
    if fd < 0:
        with locked_file(Path(f"{os.path.realpath(path)}.{name}.lock"), shared=shared,
                         when_held=when_held):
            yield
        return
    try:
        import hashlib  # here: the quick reports that import this module take no lock

        offset = _LOCK_BYTES + int.from_bytes(hashlib.sha256(name.encode()).digest()[:4], "big")
        kind = fcntl.F_RDLCK if shared else fcntl.F_WRLCK
        try:
            _byte_lock(fd, fcntl.F_OFD_SETLK, kind, offset)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            when_held()
            _byte_lock(fd, fcntl.F_OFD_SETLKW, kind, offset)
        yield
    finally:
        os.close(fd)  # releases the lock


def _byte_lock(fd: int, command: int, kind: int, offset: int) -> None:
    """``fcntl(fd, command, struct flock)`` on one byte at ``offset`` (OFD locks: no pid)."""
    import fcntl

    fcntl.fcntl(fd, command, struct.pack("hhqqi", kind, os.SEEK_SET, offset, 1, 0))


def safe_filename_part(text: str, max_length: int = 80) -> str:
    """Make a customer id or similar usable inside a file name on any system.

    Keeps letters (including CJK), digits, dot, dash and underscore; everything else,
    including path separators, becomes ``_``. Leading dots are removed so a value can never
    produce a hidden file or ``..``.
    """
    norm = unicodedata.normalize("NFC", text).strip()
    cleaned = _UNSAFE.sub("_", norm).lstrip(".")
    return (cleaned or "_")[:max_length]
