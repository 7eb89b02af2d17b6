"""Time `arcli import ledger`, `arcli aging` and `aging --detail` on generated books.

Each step runs as a real subprocess (the command a user runs), timed by wall clock, with
peak memory (max RSS) from the kernel's accounting of the child.

    python bench/bench_import_aging.py --sizes 100000 1000000 3000000
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
from arcli_process import ARCLI, compile_bytecode
from generate import generate


def timed(args: list[str], env: dict) -> tuple[float, float]:
    """(seconds, peak MB) of one arcli subprocess (its own max RSS, via wait4)."""
    start = time.perf_counter()
    child = subprocess.Popen(ARCLI + args, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"arcli {' '.join(args)} failed with exit code {child.returncode}")
    return seconds, usage.ru_maxrss / 1024


def bench(size: int, work: Path, db: str | None) -> dict:
    data = work / f"data-{size}"
    customers = max(10, min(10_000, size // 100))
    cust, ledger = generate(data, size, customers)
    os.sync()  # the generated files on disk before anything is timed (see compare.sh)
    env = {**os.environ, "ARCLI_DB": db or str(work / f"book-{size}.db"),
           "ARCLI_TODAY": "2026-11-01"}
    subprocess.run([*ARCLI, "-q", "init", "--no-config"], env=env, check=True)
    subprocess.run([*ARCLI, "-q", "import", "customers", str(cust)], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    results = {"documents": size, "customers": customers}
    results["import_s"], results["import_mb"] = timed(["-q", "import", "ledger", str(ledger)],
                                                      env)
    results["aging_s"], results["aging_mb"] = timed(["aging", "--csv"], env)
    results["detail_s"], _ = timed(["aging", "--detail", "--customer", "K000042", "--csv"], env)
    results["reimport_s"], _ = timed(["-q", "import", "ledger", str(ledger)], env)
    return results


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--db", help="a PostgreSQL URL to use instead of a SQLite file")
    args = parser.parse_args()
    compile_bytecode()
    with tempfile.TemporaryDirectory(prefix="arcli-bench-") as tmp:
        print("documents,customers,import_s,import_peak_mb,aging_s,aging_peak_mb,"
              "detail_one_customer_s,reimport_s")
        for size in args.sizes:
            r = bench(size, Path(tmp), args.db)
            print(f"{r['documents']},{r['customers']},{r['import_s']:.2f},{r['import_mb']:.0f},"
                  f"{r['aging_s']:.2f},{r['aging_mb']:.0f},{r['detail_s']:.3f},"
                  f"{r['reimport_s']:.2f}", flush=True)


if __name__ == "__main__":
    main()
