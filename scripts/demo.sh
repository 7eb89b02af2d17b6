#!/usr/bin/env bash
# The main job end to end on the sample data, in ./demo (embedded SQLite, no server):
# import, aging, signed statements, verification, bank reconciliation, dunning letters.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh
ARCLI="$PWD/.venv/bin/arcli"
rm -rf demo && mkdir demo && cd demo
# The sample book is dated 2026; pin "today" so the demo reads the same any day.
export ARCLI_TODAY=${ARCLI_TODAY:-2026-11-22}
step() {  # run one arcli command; exit code 3 means "ran fine, found something"
  printf '\n\033[1m$ arcli %s\033[0m\n' "$*" >&2
  local code=0
  "$ARCLI" "$@" || code=$?
  [ "$code" -eq 0 ] || [ "$code" -eq 3 ] || exit "$code"
}

step init
step import customers ../examples/customers.csv --table
step import ledger ../examples/ledger.csv --table
step import ledger ../examples/kingdee-export.csv --mapping kingdee --table
step import ledger ../examples/ledger.csv --table            # a rerun adds nothing
step aging --table
step aging --detail --customer C002 --table
step credit --table
step collections --period 2026-10 --table

# A self-signed test certificate, so the statements are cryptographically signed.
step signing init > signing.yaml
sed -i 's|^  pkcs12: null .*$|  pkcs12: signing/arcli-test.p12\n  password_file: signing/arcli-test.password|' arcli.yaml
step statements --period 2026-10 --table
step verify statements/*.pdf --table
step statements --period 2026-10 --table                     # rerun: files unchanged

sed -i 's|^  tolerance: {} .*$|  tolerance: {EUR: "5.00"}|' arcli.yaml
step reconcile bank ../examples/bank/camt053.xml --apply --table
step reconcile bank ../examples/bank/bank-cn.csv --mapping bank-cn --apply --table
step dunning run --table
step dunning run --table                                     # rerun: nothing new
step templates check --table
printf '\nDone: see demo/statements/ and demo/letters/ (PDFs and manifests).\n' >&2
