"""Atomic file output and file-name safety.

Cron jobs get killed, disks fill up: a reader must see either the old file or the whole
new one, never half of it. Every file arcli writes goes through :func:`atomic_write`
(temporary file in the same folder, fsync, rename).
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import unicodedata
from pathlib import Path

_UNSAFE = re.compile(r"[^\w.\-]+", re.UNICODE)


def atomic_write(path: str | os.PathLike, data: bytes | str, *, encoding: str = "utf-8") -> Path:
    """Write ``data`` to ``path`` so that readers never observe a partial file."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode(encoding) if isinstance(data, str) else data
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp_name, 0o644)
        os.replace(tmp_name, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise
    return target


def safe_filename_part(text: str, max_length: int = 80) -> str:
    """Make a customer id or similar usable inside a file name on any system.

    Keeps letters (including CJK), digits, dot, dash and underscore; everything else,
    including path separators, becomes ``_``. Leading dots are removed so a value can never
    produce a hidden file or ``..``.
    """
    norm = unicodedata.normalize("NFC", text).strip()
    cleaned = _UNSAFE.sub("_", norm).lstrip(".")
    return (cleaned or "_")[:max_length]
