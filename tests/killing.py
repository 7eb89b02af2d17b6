"""Stopping a real ``arcli`` process at a chosen stage, the way the world stops it.

The process runs the CLI with the test's small-file spill settings (``use_spill``, so a
small file takes the big-file paths), and the progress callback of one command module,
at the chosen stage, marks the moment and waits. The test then kills it (SIGKILL: the
host going down), interrupts it as Ctrl-C does (SIGINT to the whole process group), or
does something to the world (ends its database session) and lets it go on. So the event
lands exactly at that stage, not wherever a timer happens to fall.
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

sys.path.insert(0, str(ROOT / "bench"))  # generate.py, the benchmarks' ledger generator

LAUNCHER = """
import contextlib, faulthandler, importlib, signal, sys, time
faulthandler.register(signal.SIGUSR1, all_threads=True)  # where it hangs, if it does
from pathlib import Path
from _pytest.monkeypatch import MonkeyPatch
from arcli.cli import main
from tests.foundation.test_first_load import use_spill

marker, module, stage = Path(sys.argv[1]), importlib.import_module(sys.argv[2]), sys.argv[3]
resume = marker.with_name("resume-" + marker.name)
use_spill(MonkeyPatch())

@contextlib.contextmanager
def pausing(app, name, labels):
    def progress(at, done, total):
        if at == stage and not marker.exists():
            marker.touch()
            deadline = time.monotonic() + 300
            while not resume.exists() and time.monotonic() < deadline:
                time.sleep(0.01)
    yield progress

module.stage_progress = pausing
sys.argv = ["arcli", *sys.argv[4:]]
main()
"""


def paused_at(module: str, stage: str, args: list[str], folder: Path) -> subprocess.Popen:
    """Start ``arcli ARGS`` in ``folder`` (also its TMPDIR); return once the command module
    ``module`` has reported ``stage`` and waits there (see :func:`resumed`)."""
    marker = folder / f"reached-{stage}"
    env = {**os.environ, "ARCLI_TODAY": TODAY, "TMPDIR": str(folder),
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    return started_until(marker.exists, [sys.executable, "-c", LAUNCHER, str(marker), module,
                                         stage, *args], env, folder)


def import_paused(arcli, folder: Path, seed: int,
                  stage: str = "loading") -> tuple[subprocess.Popen, Path, Path]:
    """A book holding the customers of a generated 3,000-document ledger, and a real
    import of that ledger paused at ``stage`` ("loading": its workers applying cash).
    Returns the run, its work folder (see :func:`resumed`) and the ledger."""
    from generate import generate

    customers, ledger = generate(folder / "data", 3000, 40, seed=seed)
    assert arcli("import", "customers", str(customers)).exit_code == 0
    work = folder / f"paused-{seed}"
    work.mkdir()
    run = paused_at("arcli.cli.importing", stage,
                    ["--db", arcli.db, "import", "ledger", str(ledger)], work)
    return run, work, ledger


def resumed(run: subprocess.Popen, folder: Path, stage: str) -> tuple[int, str]:
    """Let a run paused at ``stage`` go on; its exit status and stderr when it ends."""
    (folder / f"resume-reached-{stage}").touch()
    return finished(run)


def killed_at(module: str, stage: str, args: list[str], folder: Path,
              sig: signal.Signals = signal.SIGKILL) -> tuple[int, str]:
    """:func:`paused_at`, then ``sig`` to the run and its workers; (status, stderr)."""
    run = paused_at(module, stage, args, folder)
    os.killpg(run.pid, sig)
    return finished(run)


def killed_when(ready: Callable[[], bool], command: list[str], env: dict, folder: Path,
                sig: signal.Signals = signal.SIGKILL) -> tuple[int, str]:
    """Run ``command`` and, as soon as ``ready()``, send ``sig`` to its process group (a
    host going down kills the workers too; Ctrl-C reaches them all); (status, stderr)."""
    run = started_until(ready, command, env, folder)
    os.killpg(run.pid, sig)
    return finished(run)


def started_until(ready: Callable[[], bool], command: list[str], env: dict,
                  folder: Path) -> subprocess.Popen:
    """``command`` started in a process group of its own, once ``ready()``; fails if it
    ends first."""
    run = subprocess.Popen(command, cwd=folder, env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 120
    while not ready():
        assert run.poll() is None, run.stderr.read().decode()
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return run


def finished(run: subprocess.Popen, timeout: float = 60) -> tuple[int, str]:
    """Exit status and stderr of ``run`` once it has ended; fails, with the stacks of the
    launcher's processes, if it has not ended within ``timeout`` seconds."""
    try:
        _, stderr = run.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(run.pid, signal.SIGUSR1)
        time.sleep(1)
        os.killpg(run.pid, signal.SIGKILL)
        _, stderr = run.communicate()
        raise AssertionError("hung:\n" + stderr.decode()[-8000:]) from None
    return run.returncode, stderr.decode()
