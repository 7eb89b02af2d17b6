"""Statements and dunning letters per second, unsigned and signed, 1 and 2 processes.

    python bench/bench_documents.py --customers 1000 --documents 50000
    python bench/bench_documents.py --only statements --signed no --jobs 1 --workdir /tmp/b

Wall time is what a user sees; the CPU seconds of the child (user + system) are printed as
well because on a shared 2-core machine another process can steal wall time from a run.
``--workdir`` keeps the generated book between runs (set up once, reused when present);
every run starts from a pristine copy of the book, because dunning runs record letters.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from arcli_process import ARCLI, compile_bytecode, upgrade_kept_book
from generate import generate

COMMANDS = {"statements": ["statements", "--period", "2026-10"],
            "letters": ["dunning", "run", "--as-of", "2026-11-01"]}


def run(args: list[str], env: dict) -> tuple[float, float]:
    """(wall seconds, child CPU seconds) of one arcli run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(ARCLI + args, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def environment(work: Path) -> dict:
    return {**os.environ, "ARCLI_DB": str(work / "book.db"), "ARCLI_TODAY": "2026-11-01",
            "ARCLI_CONFIG": str(work / "arcli.yaml")}


def setup(work: Path, customers: int, documents: int) -> dict:
    env = environment(work)
    if (work / "pristine.db").is_file():
        upgrade_kept_book(work / "pristine.db", env)
        return env
    cust, ledger = generate(work / "data", documents, customers)
    config = work / "arcli.yaml"
    config.write_text("company:\n  name: Bench Co 基准有限公司\n", encoding="utf-8")
    for args in (["-q", "init", "--no-config"], ["-q", "import", "customers", str(cust)],
                 ["-q", "import", "ledger", str(ledger)]):
        subprocess.run(ARCLI + args, env=env, check=True, stdout=subprocess.DEVNULL)
    out = subprocess.run([*ARCLI, "signing", "init", "--out", str(work / "keys")], env=env,
                         check=True, capture_output=True, text=True).stdout
    (work / "signed.yaml").write_text(config.read_text(encoding="utf-8") + out,
                                      encoding="utf-8")
    shutil.copyfile(work / "book.db", work / "pristine.db")
    return env


def restore(work: Path) -> None:
    """Put the pristine book back (and drop SQLite side files of the previous run)."""
    for side in ("book.db-wal", "book.db-shm"):
        (work / side).unlink(missing_ok=True)
    shutil.copyfile(work / "pristine.db", work / "book.db")


def measure(work: Path, args: argparse.Namespace) -> None:
    env = setup(work, args.customers, args.documents)
    signed_env = {**env, "ARCLI_CONFIG": str(work / "signed.yaml")}
    print("what,signed,jobs,documents,seconds,per_second,cpu_seconds")
    for label in args.only:
        for signed in args.signed:
            run_env = signed_env if signed == "yes" else env
            for jobs in args.jobs:
                out = work / f"{label}-{signed}-{jobs}"
                extra = ["--out", str(out), "--jobs", str(jobs), "--force",
                         "--sign" if signed == "yes" else "--no-sign"]
                restore(work)
                seconds, cpu = run([*COMMANDS[label], *extra], run_env)
                count = len(list(out.glob("*.pdf")))
                print(f"{label},{signed},{jobs},{count},{seconds:.2f},"
                      f"{count / seconds:.1f},{cpu:.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--documents", type=int, default=50_000)
    parser.add_argument("--only", nargs="+", choices=list(COMMANDS), default=list(COMMANDS))
    parser.add_argument("--signed", nargs="+", choices=["no", "yes"], default=["no", "yes"])
    parser.add_argument("--jobs", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--workdir", type=Path,
                        help="keep the generated book here and reuse it on later runs")
    args = parser.parse_args()
    compile_bytecode()
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        measure(args.workdir, args)
        return
    with tempfile.TemporaryDirectory(prefix="arcli-bench-docs-") as tmp:
        measure(Path(tmp), args)


if __name__ == "__main__":
    main()
