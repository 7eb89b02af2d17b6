#!/usr/bin/env bash
# Per-customer balances: arcli against hledger on the same generated ledger, one run.
#   bash bench/compare.sh [DOCUMENTS]     (default 1000000)
set -euo pipefail
cd "$(dirname "$0")/.."
docs=${1:-1000000}
if ! command -v hledger >/dev/null; then
  echo "hledger is not installed (Debian: apt-get install hledger): skipping the comparison"
  exit 0
fi
py=${PYTHON:-.venv/bin/python}
work=$(mktemp -d /tmp/arcli-compare-XXXX)
trap 'rm -rf "$work"' EXIT
"$py" bench/generate.py --documents "$docs" --out "$work/data" >/dev/null
# The same documents as an hledger journal: invoices debit the customer's receivable.
"$py" - "$work/data/ledger.csv" "$work/book.journal" <<'PY'
import csv, sys
with open(sys.argv[1]) as src, open(sys.argv[2], "w") as out:
    for r in csv.DictReader(src):
        sign = "" if r["type"] == "invoice" else "-"
        out.write(f"{r['date']} {r['type']} {r['number']}\n"
                  f"    assets:receivable:{r['customer']}  {sign}{r['amount']} {r['currency']}\n"
                  f"    revenue\n\n")
PY
.venv/bin/python -c "import sys; sys.path.insert(0, 'bench'); from arcli_process import compile_bytecode; compile_bytecode()"
# The generated files (~170 MB at 1M) reach the disk before anything is timed, as an
# export made earlier would have: otherwise the kernel writes them back during the import.
sync
export ARCLI_DB="$work/book.db" ARCLI_TODAY=2026-11-01
.venv/bin/arcli -q init --no-config
.venv/bin/arcli -q import customers "$work/data/customers.csv" >/dev/null
t0=$(date +%s.%N)
.venv/bin/arcli -q import ledger "$work/data/ledger.csv" >/dev/null
t1=$(date +%s.%N)
.venv/bin/arcli aging --csv > "$work/arcli.csv"
t2=$(date +%s.%N)
hledger -f "$work/book.journal" bal assets:receivable -O csv > "$work/hledger.csv"
t3=$(date +%s.%N)
python3 - "$t0" "$t1" "$t2" "$t3" "$docs" <<'PY'
import sys
t0, t1, t2, t3 = map(float, sys.argv[1:5])
imp, bal, hl = t1 - t0, t2 - t1, t3 - t2
print(f"documents={sys.argv[5]}")
print(f"arcli import (once, with cash application): {imp:.1f} s")
print(f"arcli per-customer balances (aging):       {bal:.2f} s")
print(f"hledger bal assets:receivable -O csv:      {hl:.1f} s")
print(f"hledger / arcli balances: {hl / bal:.0f}x;  hledger / (arcli import + balances): "
      f"{hl / (imp + bal):.1f}x")
PY
