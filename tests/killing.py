"""Killing a real ``arcli`` process at a chosen stage, the way a host going down would.

The process runs the CLI with the test's small-file spill settings (``use_spill``, so a
small file takes the big-file paths), and the progress callback of one command module,
at the chosen stage, marks the moment and waits; the test then kills it (SIGKILL), or
interrupts it as Ctrl-C does (SIGINT to the whole process group). So the signal lands
exactly at that stage, not wherever a timer happens to fall.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from tests.conftest import ROOT, TODAY

LAUNCHER = """
import contextlib, importlib, sys, time
from pathlib import Path
from _pytest.monkeypatch import MonkeyPatch
from arcli.cli import main
from tests.foundation.test_first_load import use_spill

marker, module, stage = Path(sys.argv[1]), importlib.import_module(sys.argv[2]), sys.argv[3]
use_spill(MonkeyPatch())

@contextlib.contextmanager
def stopping(app, name, labels):
    def progress(at, done, total):
        if at == stage:
            marker.touch()
            time.sleep(300)
    yield progress

module.stage_progress = stopping
sys.argv = ["arcli", *sys.argv[4:]]
main()
"""


def killed_at(module: str, stage: str, args: list[str], folder: Path,
              sig: signal.Signals = signal.SIGKILL) -> tuple[int, str]:
    """Run ``arcli ARGS`` in ``folder`` (also its TMPDIR) and send ``sig`` to it (and its
    workers) when the command module ``module`` reports ``stage``; fails if it ends before
    getting there. Returns its exit status and what it wrote on stderr."""
    marker = folder / f"reached-{stage}"
    env = {**os.environ, "ARCLI_TODAY": TODAY, "TMPDIR": str(folder),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return killed_when(marker.exists, [sys.executable, "-c", LAUNCHER, str(marker), module,
                                       stage, *args], env, folder, sig)


def killed_when(ready: Callable[[], bool], command: list[str], env: dict, folder: Path,
                sig: signal.Signals = signal.SIGKILL) -> tuple[int, str]:
    """Run ``command`` and, as soon as ``ready()``, send ``sig`` to its process group (a
    host going down kills the workers too; Ctrl-C reaches them all). Fails if it ends
    first. Returns its exit status and what it wrote on stderr."""
    run = subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 120
    while not ready():
        assert run.poll() is None, run.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    os.killpg(run.pid, sig)
    _, stderr = run.communicate(timeout=120)
    return run.returncode, stderr.decode()
