"""`arcli dunning run` over a large book: the issue-6 target is 1M documents with letters for
2,000 customers in <= 30 s.

Times three subprocess runs on one imported book, so the figures include start-up as a user
or cron sees it: ``--dry-run`` (selection, levels, interest: the set-based SQL part), a real
run writing the letters, and a rerun of the same date (idempotent: nothing new).

    python bench/bench_dunning.py --documents 1000000 --customers 10000 --letters 2000
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from arcli_process import ARCLI, compile_bytecode, upgrade_kept_book
from generate import generate

AS_OF = "2026-11-01"


def timed(args: list[str], env: dict) -> float:
    """Wall time of one arcli subprocess; output discarded (only the time matters here)."""
    start = time.perf_counter()
    subprocess.run(ARCLI + args, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def setup(work: Path, documents: int, customers: int) -> dict:
    """Generate and import the book; interest on, so the run computes it for every item."""
    config = work / "arcli.yaml"
    config.write_text("company:\n  name: Bench Co\ndunning:\n  interest:\n"
                      "    enabled: true\n    preset: contractual\n    rate: '8.00'\n",
                      encoding="utf-8")
    env = {**os.environ, "ARCLI_DB": str(work / "book.db"), "ARCLI_TODAY": AS_OF,
           "ARCLI_CONFIG": str(config)}
    if (work / "pristine.db").is_file():
        upgrade_kept_book(work / "pristine.db", env)
        return env
    cust, ledger = generate(work / "data", documents, customers)
    for args in (["-q", "init", "--no-config"], ["-q", "import", "customers", str(cust)],
                 ["-q", "import", "ledger", str(ledger)]):
        subprocess.run(ARCLI + args, env=env, check=True, stdout=subprocess.DEVNULL)
    shutil.copyfile(work / "book.db", work / "pristine.db")
    return env


LEVELS = [("Friendly reminder", 1, "reminder"), ("Firm demand", 30, "demand"),
          ("Final notice", 60, "final"), ("Legal hand-over", 90, "legal")]


def limit_letters(work: Path, env: dict, letters: int) -> None:
    """Set a minimum overdue amount so that only the ``letters`` largest debtors get one.

    The generated book leaves every customer with old overdue items; a real book has most
    customers current. "Dun only balances over X" is the usual policy that gets there, and
    the run still selects, ages and computes interest over the whole book.
    """
    shutil.copyfile(work / "pristine.db", work / "book.db")
    dry = subprocess.run([*ARCLI, "dunning", "run", "--as-of", AS_OF, "--dry-run", "--csv"],
                         env=env, check=True, capture_output=True, text=True).stdout
    overdue = sorted((Decimal(row["overdue"]) for row in csv.DictReader(io.StringIO(dry))
                      if row["overdue"]), reverse=True)
    if len(overdue) <= letters:
        return
    floor = (overdue[letters - 1] + overdue[letters]) / 2
    levels = "".join(f"    - {{name: {name}, days: {days}, template: {template}, "
                     f"interval_days: 14, min_amount: {{'*': '{floor:.2f}'}}}}\n"
                     for name, days, template in LEVELS)
    config = Path(env["ARCLI_CONFIG"])
    config.write_text(config.read_text(encoding="utf-8") + "  levels:\n" + levels,
                      encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--letters", type=int,
                        help="dun only the N largest overdue balances (a minimum amount)")
    parser.add_argument("--workdir", type=Path,
                        help="keep the generated book here and reuse it on later runs")
    args = parser.parse_args()
    compile_bytecode()
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
        measure(args.workdir, args)
        return
    with tempfile.TemporaryDirectory(prefix="arcli-bench-dunning-") as tmp:
        measure(Path(tmp), args)


def measure(work: Path, args: argparse.Namespace) -> None:
    """Dry run, real run and rerun on a pristine copy of the book."""
    start = time.perf_counter()
    env = setup(work, args.documents, args.customers)
    print(f"# setup (generate + import) {time.perf_counter() - start:.1f} s", flush=True)
    if args.letters:
        limit_letters(work, env, args.letters)
    for side in ("book.db-wal", "book.db-shm"):
        (work / side).unlink(missing_ok=True)
    shutil.copyfile(work / "pristine.db", work / "book.db")
    shutil.rmtree(work / "letters", ignore_errors=True)
    out = work / "letters"
    base = ["dunning", "run", "--as-of", AS_OF, "--no-sign", "--out", str(out)]
    print("what,documents,letters,seconds")
    dry = timed([*base, "--dry-run"], env)
    print(f"dry-run,{args.documents},0,{dry:.2f}", flush=True)
    real = timed([*base, "--jobs", str(args.jobs)], env)
    letters = len(list(out.glob("*.pdf")))
    print(f"run,{args.documents},{letters},{real:.2f}", flush=True)
    again = timed([*base, "--jobs", str(args.jobs)], env)
    print(f"rerun,{args.documents},{len(list(out.glob('*.pdf'))) - letters},{again:.2f}")


if __name__ == "__main__":
    main()
