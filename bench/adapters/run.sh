#!/usr/bin/env bash
# bench/adapters/run.sh: the adapters' rows, each against its peer where one
# exists, alternating, BENCH_ROUNDS (3) rounds; writes docs/benchmarks-adapters.md.
#   redis SET/GET: 50 clients with one command in flight each, through
#     weft-redis (bench_adapters) and through redis-benchmark (-c 50, no -P)
#   PostgreSQL: SELECT 1 in a loop on one connection, through weft-pq and
#     through pgbench (-c 1, the same query, simple protocol)
#   libcurl: 2000 GETs of 1000 bytes by 100 clients from an in-process
#     HTTP/1.1 responder (no peer)
# Servers are started by scripts/test-servers/ on 127.0.0.1 and stopped after.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
BUILD=${BENCH_BUILD_DIR:-build/release}
ROUNDS=${BENCH_ROUNDS:-3}
OUT=${BENCH_ADAPTERS_OUT:-docs/benchmarks-adapters.md}
bin=$BUILD/libs/bench_adapters
[ -x "$bin" ] || { echo "bench/adapters: $bin is missing (needs hiredis, libpq, libcurl: scripts/deps.sh)" >&2; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
rdir=$(mktemp -d /tmp/weft-bench-redis.XXXXXX); pdir=$(mktemp -d /tmp/weft-bench-pg.XXXXXX)
trap 'bash scripts/test-servers/redis.sh stop "$rdir"; bash scripts/test-servers/postgres.sh stop "$pdir"' EXIT
rport=$(free_port); bash scripts/test-servers/redis.sh start "$rdir" "$rport"
pport=$(free_port); bash scripts/test-servers/postgres.sh start "$pdir" "$pport"
conninfo="host=127.0.0.1 port=$pport user=weft dbname=weft"
printf 'SELECT 1;\n' > "$pdir/select1.sql"; chmod 644 "$pdir/select1.sql"

declare -A rows
add() { rows[$1]="${rows[$1]:-} $2"; }
for round in $(seq 1 "$ROUNDS"); do
  while read -r name val _; do add "weft_${name%:}" "$val"; done < <("$bin" redis "127.0.0.1:$rport" 50 100000)
  while IFS=, read -r test rps _; do
    case "$test" in *SET*) add peer_redis_set "${rps%.*}";; *GET*) add peer_redis_get "${rps%.*}";; esac
  done < <(redis-benchmark -h 127.0.0.1 -p "$rport" -c 50 -n 100000 -t set,get --csv 2>/dev/null | tr -d '"' | grep -E '^(SET|GET),')
  while IFS=, read -r test rps _; do
    case "$test" in *SET*) add peerp_redis_set "${rps%.*}";; *GET*) add peerp_redis_get "${rps%.*}";; esac
  done < <(redis-benchmark -h 127.0.0.1 -p "$rport" -c 1 -P 50 -n 100000 -t set,get --csv 2>/dev/null | tr -d '"' | grep -E '^(SET|GET),')
  while read -r name val _; do add "weft_${name%:}" "$val"; done < <("$bin" pq "$conninfo" 5)
  tps=$(pgbench -n -h 127.0.0.1 -p "$pport" -U weft -c 1 -T 5 -f "$pdir/select1.sql" weft 2>/dev/null |
        sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -n1)
  add peer_pq_select1 "${tps%.*}"
  while read -r name val _; do add "weft_${name%:}" "$val"; done < <("$bin" curl 100 2000)
done
median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "-"}'; }
runs() { echo "${rows[$1]:-}" | sed 's/^ //'; }
{
  echo "# Adapter benchmarks"
  echo
  echo "Written by \`bench/adapters/run.sh\` (part of \`make bench\`) on $(date -u +%Y-%m-%d), $(nproc) CPUs,"
  echo "runtime ${WEFT_TEST_RUNTIME:-current_thread}, $ROUNDS alternating rounds; the median, then every run."
  echo "Servers on 127.0.0.1 started by scripts/test-servers/. Operations per second, higher is better."
  echo
  echo "| row | weft adapter | peer | peer is | runs (weft / peer) |"
  echo "|---|---:|---:|---|---|"
  echo "| redis SET, 50 clients | $(runs weft_redis_set | median) | $(runs peer_redis_set | median) | redis-benchmark -c 50 | $(runs weft_redis_set) / $(runs peer_redis_set) |"
  echo "| redis GET, 50 clients | $(runs weft_redis_get | median) | $(runs peer_redis_get | median) | redis-benchmark -c 50 | $(runs weft_redis_get) / $(runs peer_redis_get) |"
  echo "| redis SET, 50 in flight | $(runs weft_redis_set | median) | $(runs peerp_redis_set | median) | redis-benchmark -c 1 -P 50 | $(runs weft_redis_set) / $(runs peerp_redis_set) |"
  echo "| redis GET, 50 in flight | $(runs weft_redis_get | median) | $(runs peerp_redis_get | median) | redis-benchmark -c 1 -P 50 | $(runs weft_redis_get) / $(runs peerp_redis_get) |"
  echo "| PostgreSQL SELECT 1, one connection | $(runs weft_pq_select1 | median) | $(runs peer_pq_select1 | median) | pgbench -c 1 | $(runs weft_pq_select1) / $(runs peer_pq_select1) |"
  echo "| libcurl GET 1 KB, 100 clients | $(runs weft_curl_get_1k | median) | - | (none) | $(runs weft_curl_get_1k) |"
  echo
  echo "The weft rows send from 50 tasks over one connection, each task with one command in"
  echo "flight: the adapter pipelines them. Two peers: redis-benchmark with 50 connections"
  echo "of one command in flight each (-c 50), and with one connection of 50 commands in"
  echo "flight (-c 1 -P 50, the closest to what the adapter does; redis-benchmark sends"
  echo "its 50 in batches, the adapter as the tasks produce them). The libcurl row's server"
  echo "runs in the same process and runtime as the transfers."
  echo
  echo "Measured on a machine shared with other builds: the lead re-measures on a quiet one."
} > "$OUT"
cat "$OUT"
