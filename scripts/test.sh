#!/usr/bin/env bash
# The whole test suite: system packages, lint, then pytest on SQLite and PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/system-deps.sh --with-postgres
VENV=${VENV:-.venv}
"$VENV/bin/ruff" check src tests bench
# the compiled cash application must have been built here (gcc is installed above)
export ARCLI_REQUIRE_ACCELERATOR=1
pg_started=""
if [ -z "${ARCLI_TEST_PG_URL:-}" ] && [ -f scripts/pg.sh ]; then
  if url=$(bash scripts/pg.sh start); then
    export ARCLI_TEST_PG_URL="$url"
    pg_started=1
  else
    echo "PostgreSQL server not available: running the suite on SQLite only" >&2
  fi
fi
cleanup() { [ -n "$pg_started" ] && bash scripts/pg.sh stop || true; }
trap cleanup EXIT
"$VENV/bin/python" -m pytest -n 2 -p no:cacheprovider "$@"
