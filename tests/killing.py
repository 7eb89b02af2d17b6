"""Killing a real ``arcli`` process at a chosen stage, the way a host going down would.

The process runs the CLI with the test's small-file spill settings (``use_spill``, so a
small file takes the big-file paths), and the progress callback of one command module,
at the chosen stage, marks the moment and waits; the test then kills it with SIGKILL.
So the kill lands exactly at that stage, not wherever a timer happens to fall.
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


def killed_at(module: str, stage: str, args: list[str], folder: Path) -> None:
    """Run ``arcli ARGS`` in ``folder`` (also its TMPDIR) and SIGKILL it when the command
    module ``module`` reports ``stage``; fails if it ends before getting there."""
    marker = folder / f"reached-{stage}"
    env = {**os.environ, "ARCLI_TODAY": TODAY, "TMPDIR": str(folder),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    killed_when(marker.exists, [sys.executable, "-c", LAUNCHER, str(marker), module, stage,
                                *args], env, folder)


def killed_when(ready: Callable[[], bool], command: list[str], env: dict,
                folder: Path) -> None:
    """Run ``command`` and SIGKILL it as soon as ``ready()``; fails if it ends first."""
    run = subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while not ready():
        assert run.poll() is None, run.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    run.send_signal(signal.SIGKILL)
    run.wait()
    run.stderr.close()
