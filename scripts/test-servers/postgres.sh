#!/usr/bin/env bash
# postgres.sh start DIR PORT: makes a PostgreSQL cluster in DIR/data
#   (initdb, trust authentication, user `weft`, database `weft`) and starts
#   it on 127.0.0.1:PORT with its Unix socket in DIR, as the `postgres`
#   user when run as root; waits until it accepts connections; writes
#   DIR/pid (the postmaster's). Exit 0 when it is ready, 1 with the reason.
# postgres.sh stop DIR: stops it (immediate shutdown) and removes DIR.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
cmd=${1:-}; dir=${2:-}
[ -n "$dir" ] || die "usage: postgres.sh start DIR PORT | stop DIR"
bin=
for v in 17 16 15 14 13; do
  [ -x "/usr/lib/postgresql/$v/bin/pg_ctl" ] && { bin=/usr/lib/postgresql/$v/bin; break; }
done
case "$cmd" in
start)
  port=${3:?port}
  [ -n "$bin" ] || die "PostgreSQL's server is not installed (apt-get install postgresql, or scripts/deps.sh as root)"
  user=postgres
  [ "$(id -u)" = 0 ] || user=$(id -un)
  [ "$(id -u)" != 0 ] || id -u postgres >/dev/null 2>&1 || die "no postgres user (the postgresql package makes it)"
  mkdir -p "$dir"
  chmod 755 "$dir"
  give "$dir" "$user"
  run_as "$user" "$bin/initdb" -D "$dir/data" -U weft --auth=trust --no-sync -E UTF8 \
    --locale=C >"$dir/initdb.log" 2>&1 || die "initdb failed: $(tail -n 5 "$dir/initdb.log")"
  run_as "$user" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" \
    start >"$dir/pg_ctl.log" 2>&1 || die "pg_ctl start failed: $(tail -n 5 "$dir/server.log" 2>/dev/null)"
  head -n 1 "$dir/data/postmaster.pid" > "$dir/pid"
  run_as "$user" "$bin/createdb" -h 127.0.0.1 -p "$port" -U weft weft >"$dir/createdb.log" 2>&1 \
    || die "createdb failed: $(cat "$dir/createdb.log")"
  ;;
stop)
  if [ -f "$dir/data/postmaster.pid" ] && [ -n "$bin" ]; then
    user=postgres
    [ "$(id -u)" = 0 ] || user=$(id -un)
    run_as "$user" "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop >/dev/null 2>&1 || true
  fi
  if [ -f "$dir/pid" ]; then
    pid=$(cat "$dir/pid")
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
  ;;
*) die "usage: postgres.sh start DIR PORT | stop DIR" ;;
esac
