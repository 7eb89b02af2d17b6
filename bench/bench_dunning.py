"""`arcli dunning run` over a large book: the issue-6 target is 1M documents with letters for
2,000 customers in <= 30 s.

Times three subprocess runs on one imported book, so the figures include start-up as a user
or cron sees it: ``--dry-run`` (selection, levels, interest: the set-based SQL part), a real
run writing the letters, and a rerun of the same date (idempotent: nothing new).

    python bench/bench_dunning.py --documents 1000000 --customers 2000 --jobs 2
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from generate import generate

ARCLI = [sys.executable, "-m", "arcli"]
AS_OF = "2026-11-01"


def timed(args: list[str], env: dict) -> float:
    """Wall time of one arcli subprocess; output discarded (only the time matters here)."""
    start = time.perf_counter()
    subprocess.run(ARCLI + args, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def setup(work: Path, documents: int, customers: int) -> dict:
    """Generate and import the book; interest on, so the run computes it for every item."""
    cust, ledger = generate(work / "data", documents, customers)
    config = work / "arcli.yaml"
    config.write_text("company:\n  name: Bench Co\ndunning:\n  interest:\n"
                      "    enabled: true\n    preset: contractual\n    rate: '8.00'\n",
                      encoding="utf-8")
    env = {**os.environ, "ARCLI_DB": str(work / "book.db"), "ARCLI_TODAY": AS_OF,
           "ARCLI_CONFIG": str(config)}
    for args in (["-q", "init", "--no-config"], ["-q", "import", "customers", str(cust)],
                 ["-q", "import", "ledger", str(ledger)]):
        subprocess.run(ARCLI + args, env=env, check=True, stdout=subprocess.DEVNULL)
    return env


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--documents", type=int, default=1_000_000)
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="arcli-bench-dunning-") as tmp:
        work = Path(tmp)
        start = time.perf_counter()
        env = setup(work, args.documents, args.customers)
        print(f"# setup (generate + import) {time.perf_counter() - start:.1f} s", flush=True)
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
