"""How the benchmarks run arcli: as a subprocess, with its bytecode compiled as installed.

A wheel or ``pip install`` writes arcli's bytecode once; an editable install in an
environment with ``PYTHONDONTWRITEBYTECODE`` set (some CI images and sandboxes) compiles
arcli's modules again on every run, ~10 ms for ``arcli aging`` and more for commands that
load the renderers. Benchmarks measure what an installed arcli costs, so they compile
first.
"""

from __future__ import annotations

import compileall
import subprocess
import sys
from pathlib import Path

ARCLI = [sys.executable, "-m", "arcli"]
PACKAGE = Path(__file__).resolve().parent.parent / "src" / "arcli"


def compile_bytecode() -> None:
    """Write arcli's ``__pycache__`` (what an installation does), quietly."""
    compileall.compile_dir(PACKAGE, quiet=1)


def upgrade_kept_book(book: Path, env: dict) -> None:
    """Bring a book kept in ``--workdir`` by an older arcli up to this one's schema
    (``arcli init`` upgrades in place; on a current book it changes nothing), so that a
    reused work directory measures the current code instead of failing on the schema."""
    subprocess.run([*ARCLI, "-q", "init", "--no-config"], env={**env, "ARCLI_DB": str(book)},
                   check=True, stdout=subprocess.DEVNULL)
