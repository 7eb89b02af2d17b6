"""Statements and dunning letters per second, unsigned and signed, 1 and 2 processes.

    python bench/bench_documents.py --customers 1000 --documents 50000
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


def run(args: list[str], env: dict) -> float:
    start = time.perf_counter()
    subprocess.run(ARCLI + args, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def setup(work: Path, customers: int, documents: int) -> dict:
    cust, ledger = generate(work / "data", documents, customers)
    config = work / "arcli.yaml"
    env = {**os.environ, "ARCLI_DB": str(work / "book.db"), "ARCLI_TODAY": "2026-11-01",
           "ARCLI_CONFIG": str(config)}
    config.write_text("company:\n  name: Bench Co 基准有限公司\n", encoding="utf-8")
    for args in (["-q", "init", "--no-config"], ["-q", "import", "customers", str(cust)],
                 ["-q", "import", "ledger", str(ledger)]):
        subprocess.run(ARCLI + args, env=env, check=True, stdout=subprocess.DEVNULL)
    out = subprocess.run([*ARCLI, "signing", "init", "--out", str(work / "keys")], env=env,
                         check=True, capture_output=True, text=True).stdout
    (work / "signed.yaml").write_text(config.read_text(encoding="utf-8") + out,
                                      encoding="utf-8")
    return env


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--documents", type=int, default=50_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="arcli-bench-docs-") as tmp:
        work = Path(tmp)
        env = setup(work, args.customers, args.documents)
        signed_env = {**env, "ARCLI_CONFIG": str(work / "signed.yaml")}
        print("what,signed,jobs,documents,seconds,per_second")
        for label, cmd in (("statements", ["statements", "--period", "2026-10"]),
                           ("letters", ["dunning", "run", "--as-of", "2026-11-01"])):
            for signed, run_env in (("no", env), ("yes", signed_env)):
                for jobs in (1, 2):
                    out = work / f"{label}-{signed}-{jobs}"
                    extra = ["--out", str(out), "--jobs", str(jobs),
                             "--sign" if signed == "yes" else "--no-sign"]
                    if label == "letters":
                        extra.append("--force")
                    seconds = run([*cmd, *extra], run_env)
                    count = len(list(out.glob("*.pdf")))
                    print(f"{label},{signed},{jobs},{count},{seconds:.2f},"
                          f"{count / seconds:.1f}", flush=True)


if __name__ == "__main__":
    main()
