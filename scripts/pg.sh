#!/usr/bin/env bash
# Start or stop a throwaway PostgreSQL cluster for the test suite.
#   scripts/pg.sh start   -> prints the admin URL (postgresql://arcli@/postgres?host=...&port=...)
#   scripts/pg.sh stop
# Uses Debian's server binaries; as root the cluster runs as the `postgres` user.
set -euo pipefail
dir=${ARCLI_PG_DIR:-/tmp/arcli-test-pg}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] && [ -x "$bin/initdb" ] || { echo "no PostgreSQL server binaries" >&2; exit 1; }
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
case "${1:-}" in
  start)
    if [ -f "$dir/port" ] && as_owner "$bin/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      port=$(cat "$dir/port")
    else
      rm -rf "$dir"; mkdir -p "$dir"
      [ "$(id -u)" -eq 0 ] && chown postgres "$dir"
      port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
      as_owner "$bin/initdb" -D "$dir/data" -A trust -U arcli -E UTF8 --locale=C.UTF-8 >/dev/null
      as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -o \
        "-p $port -k $dir -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" start >/dev/null
      echo "$port" > "$dir/port"
    fi
    echo "postgresql://arcli@/postgres?host=$dir&port=$port"
    ;;
  stop)
    [ -d "$dir/data" ] && as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
