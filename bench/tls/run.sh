#!/usr/bin/env bash
# TLS echo benchmark: weft's TLS echo server (bench/tls/weft_tls_echo.c, on
# weft-tls) against a Tokio current_thread TLS echo server on tokio-openssl
# (bench/peers/tokio_tls_echo), both on the system's OpenSSL 3, the same
# certificate (EC P-256) and one cipher suite (TLS 1.3, AES-128-GCM: the
# load generator offers no other), driven by one load generator that uses
# plain OpenSSL and epoll (bench/tls/loadgen_tls.c).
#
# For each row (connections x message size) and each of TLS_ROUNDS rounds it
# runs both servers in turn, the order alternating from round to round:
# start the server, run the load generator (handshakes, warm-up, then
# TLS_SECS measured; it reads the server's CPU time from /proc at the edges
# of the measured interval), stop the server. Writes docs/benchmarks-tls.md
# (TLS_OUT) and the raw lines to build/bench-tls/results.txt.
#
# Environment (defaults in brackets):
#   TLS_ROUNDS [5]  TLS_SECS [3]  TLS_WARMUP [0.5]
#   TLS_CONNS ["1 50"]  TLS_SIZES ["64 16384"]  TLS_SERVERS ["weft tokio"]
#   TLS_SUITE [TLS_AES_128_GCM_SHA256]  TLS_LOAD_THREADS [1]
#   WEFT_TLS_ECHO [build/release/libs/tls/weft_tls_echo]
#   TLS_OUT [docs/benchmarks-tls.md]  TLS_BUILD_DIR [build/bench-tls]
#   TLS_REPORT_ONLY=1   rewrite the report from the last raw results
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
ROUNDS=${TLS_ROUNDS:-5}
SECS=${TLS_SECS:-3}
WARMUP=${TLS_WARMUP:-0.5}
CONNS=${TLS_CONNS:-"1 50"}
SIZES=${TLS_SIZES:-"64 16384"}
SERVERS=${TLS_SERVERS:-"weft tokio"}
SUITE=${TLS_SUITE:-TLS_AES_128_GCM_SHA256}
LOAD_THREADS=${TLS_LOAD_THREADS:-1}
WEFT_BIN=${WEFT_TLS_ECHO:-$ROOT/build/release/libs/tls/weft_tls_echo}
OUT=${TLS_OUT:-$ROOT/docs/benchmarks-tls.md}
BUILD=${TLS_BUILD_DIR:-$ROOT/build/bench-tls}
JOBS=${JOBS:-2}
log() { echo "bench-tls: $*" >&2; }
mkdir -p "$BUILD"
RES=$BUILD/results.txt

# ---- dependencies and builds --------------------------------------------------
if [ "${TLS_REPORT_ONLY:-0}" != 1 ]; then
  need=()
  dpkg-query -W -f='${Status}' libssl-dev 2>/dev/null | grep -q 'install ok installed' || need+=(libssl-dev)
  command -v openssl >/dev/null || need+=(openssl)
  dpkg-query -W -f='${Status}' librust-tokio-openssl-dev 2>/dev/null | grep -q 'install ok installed' ||
    need+=(librust-tokio-openssl-dev)
  [ -d "${HOME:-/root}/.cargo/bin" ] && PATH="$PATH:${HOME:-/root}/.cargo/bin"
  command -v cargo >/dev/null || need+=(cargo)
  if [ ${#need[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then
      log "installing ${need[*]}"
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; }
    else
      log "missing: ${need[*]} (run as root, or apt-get install them)"; exit 1
    fi
  fi
  cc -O2 -g -Wall -Wextra -o "$BUILD/loadgen_tls" bench/tls/loadgen_tls.c -pthread -lssl -lcrypto ||
    { log "cannot build the load generator"; exit 1; }
  if [ ! -x "$WEFT_BIN" ]; then
    [ -f build/release/CMakeCache.txt ] || cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build build/release -j "$JOBS" --target weft_tls_echo >/dev/null || { log "cannot build weft_tls_echo"; exit 1; }
  fi
  rm -f bench/peers/tokio_tls_echo/Cargo.lock
  (cd bench/peers/tokio_tls_echo && CARGO_TARGET_DIR="$BUILD/tokio-target" cargo build --release --offline -j "$JOBS") \
    > "$BUILD/tokio.build.log" 2>&1 || { log "the Tokio peer did not build (see $BUILD/tokio.build.log)"; exit 1; }
  # The certificate both servers present: made here, the same for both.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost" -keyout "$BUILD/key.pem" -out "$BUILD/cert.pem" 2>/dev/null ||
    { log "cannot make the certificate"; exit 1; }
fi
declare -A BIN=([weft]=$WEFT_BIN [tokio]=$BUILD/tokio-target/release/tokio_tls_echo)

# ---- runs ---------------------------------------------------------------------------
SRV_PID=
start_server() {
  local out=$BUILD/server.out
  : > "$out"
  "${BIN[$1]}" --cert "$BUILD/cert.pem" --key "$BUILD/key.pem" --port 0 > "$out" 2> "$BUILD/server.err" &
  SRV_PID=$!
  for _ in $(seq 100); do
    if grep -q '^listening on' "$out"; then SRV_PORT=$(awk '/^listening on/ {print $3; exit}' "$out"); return 0; fi
    kill -0 $SRV_PID 2>/dev/null || break
    sleep 0.05
  done
  log "$1 did not start: $(head -c 300 "$BUILD/server.err")"
  return 1
}
stop_server() {
  [ -n "$SRV_PID" ] || return 0
  kill -TERM $SRV_PID 2>/dev/null
  wait $SRV_PID 2>/dev/null
  SRV_PID=
}
trap 'stop_server; exit 130' INT TERM

if [ "${TLS_REPORT_ONLY:-0}" != 1 ]; then
  : > "$RES"
  read -r -a LIST <<< "$SERVERS"
  for conns in $CONNS; do
    for size in $SIZES; do
      for ((r = 0; r < ROUNDS; r++)); do
        for ((k = 0; k < ${#LIST[@]}; k++)); do
          s=${LIST[$(((k + r) % ${#LIST[@]}))]}
          start_server "$s" || { echo "FAIL $s $conns $size $r start" >> "$RES"; continue; }
          line=$("$BUILD/loadgen_tls" --port "$SRV_PORT" --conns "$conns" --size "$size" --secs "$SECS" \
                   --warmup "$WARMUP" --threads "$LOAD_THREADS" --server-pid "$SRV_PID" \
                   --cafile "$BUILD/cert.pem" --suite "$SUITE" 2> "$BUILD/loadgen.err")
          stop_server
          if [ -z "$line" ]; then
            echo "FAIL $s $conns $size $r loadgen" >> "$RES"
            log "$s conns=$conns size=$size: $(head -c 300 "$BUILD/loadgen.err")"
            continue
          fi
          echo "RES $s $conns $size $r $line" >> "$RES"
          log "$s $line"
        done
      done
    done
  done
fi

# ---- report ---------------------------------------------------------------------------
python3 - "$RES" "$OUT" "$ROUNDS" "$SECS" "$SUITE" <<'PY'
import re, statistics, sys, datetime, platform, os
res, out, rounds, secs, suite = sys.argv[1:6]
rows = {}
for line in open(res):
    p = line.split()
    if not p or p[0] != 'RES':
        continue
    srv, conns, size = p[1], int(p[2]), int(p[3])
    kv = dict(x.split('=', 1) for x in p[6:] if '=' in x)
    rows.setdefault((conns, size), {}).setdefault(srv, []).append(kv)
def med(v, k):
    return statistics.median(float(x[k]) for x in v)
lines = ["## TLS echo (weft-tls vs Tokio + tokio-openssl)", "",
         f"One TLS echo server per run, current_thread, on this machine's OpenSSL 3 "
         f"({os.popen('openssl version').read().strip()}), TLS 1.3 with {suite} only, an EC P-256 "
         f"certificate; a closed-loop load generator on plain OpenSSL + epoll (one message in flight per "
         f"connection, every byte checked). Medians of {rounds} alternating rounds of {secs} s each "
         f"(after a warm-up). msgs/s: echoed messages per second; MB/s: payload echoed; CPU: the server's "
         f"user+system time over the measured interval. Generated by `bench/tls/run.sh` on "
         f"{datetime.date.today()}, {os.cpu_count()} cores.", "",
         "| conns | size | server | msgs/s | MB/s | p50 µs | p99 µs | server CPU % | server CPU µs/msg | weft / Tokio msgs/s |",
         "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
for (conns, size) in sorted(rows):
    r = rows[(conns, size)]
    ratio = ''
    if 'weft' in r and 'tokio' in r:
        ratio = f"{med(r['weft'], 'msgs_per_sec') / med(r['tokio'], 'msgs_per_sec'):.2f}"
    for srv in ('weft', 'tokio'):
        if srv not in r:
            continue
        v = r[srv]
        per_msg = statistics.median(float(x['server_cpu_pct']) * 1e4 / max(float(x['msgs_per_sec']), 1) for x in v)
        lines.append(f"| {conns} | {size} | {srv} ({len(v)} runs) | {med(v, 'msgs_per_sec'):,.0f} | "
                     f"{med(v, 'mb_per_sec'):.1f} | {med(v, 'p50_us'):.0f} | {med(v, 'p99_us'):.0f} | "
                     f"{med(v, 'server_cpu_pct'):.0f} | {per_msg:.1f} | {ratio if srv == 'weft' else ''} |")
lines += ["", "Raw lines: `build/bench-tls/results.txt`. The load generator does the same TLS work per "
          "message as the server (it encrypts and decrypts every message too) and shares the two cores "
          "with it: when the server's CPU is well below 100 %, the load generator is what limits msgs/s, "
          "and the server's CPU time per message is the column that compares the two servers.", ""]
open(out, 'w').write('\n'.join(lines))
print('\n'.join(lines))
PY
