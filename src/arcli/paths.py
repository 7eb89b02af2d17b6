"""Where the shipped templates and example config live: the source tree, or the data files
a wheel installs under ``<prefix>/share/arcli``."""

from __future__ import annotations

import sys
from pathlib import Path

_SOURCE_ROOT = Path(__file__).resolve().parents[2]
_INSTALLED = Path(sys.prefix) / "share" / "arcli"


def shipped(name: str) -> Path:
    """The shipped file or folder ``name`` (e.g. ``templates``), wherever it was installed."""
    for base in (_SOURCE_ROOT, _INSTALLED):
        candidate = base / name
        if candidate.exists():
            return candidate
    return _SOURCE_ROOT / name
