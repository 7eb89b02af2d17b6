#!/usr/bin/env bash
# The main job end to end on the sample data, in ./demo (embedded SQLite, no server).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
ARCLI="$PWD/.venv/bin/arcli"
rm -rf demo && mkdir demo && cd demo
# The sample book is dated 2026; pin "today" so the demo reads the same any day.
export ARCLI_TODAY=${ARCLI_TODAY:-2026-11-22}
step() { printf '\n\033[1m$ arcli %s\033[0m\n' "$*" >&2; "$ARCLI" "$@"; }

step init
step import customers ../examples/customers.csv --table
step import ledger ../examples/ledger.csv --table
step import ledger ../examples/kingdee-export.csv --mapping kingdee --table
step import ledger ../examples/ledger.csv --table   # a rerun adds nothing
step aging --table
step aging --detail --customer C002 --table
