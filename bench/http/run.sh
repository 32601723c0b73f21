#!/usr/bin/env bash
# HTTP benchmark, TechEmpower style: plaintext (keep-alive, 16 requests
# pipelined per write, wrk -s pipeline.lua) and JSON (keep-alive, one
# request at a time), weft's examples/http_hello against hyper 0.14 on a
# current_thread Tokio runtime (Debian's crates, built offline), nginx and
# h2o (Debian's packages, one worker, configured for the same answers);
# and HTTPS (the JSON request over TLS 1.3 with TLS_AES_128_GCM_SHA256,
# keep-alive), weft's examples/https_hello (libweft-http over weft-tls)
# against nginx, both with the same certificate (made here, P-256) and the
# same single cipher suite.
# One core each: the server is pinned to CPU 0 and wrk to CPU 1 (taskset);
# the servers take turns round by round (the order rotates). Writes
# docs/benchmarks-http.md (HTTP_OUT) and the raw lines to
# build/bench-http/results.txt.
#
# Environment (defaults in brackets):
#   HTTP_ROUNDS [3]  HTTP_SECS [5]  HTTP_WARMUP [1]   (seconds)
#   HTTP_CONNS [64]           connections per test
#   HTTP_PIPELINE [16]        plaintext pipelining depth
#   HTTP_SERVERS ["weft hyper nginx h2o"]
#   HTTP_TESTS ["plaintext json https"]
#   HTTPS_SERVERS ["weft nginx"]  the servers of the https test
#   HTTP_SERVER_CPU [0]  HTTP_LOAD_CPU [1]
#   WEFT_HTTP_SERVER [build/release/examples/http_hello]
#   WEFT_HTTPS_SERVER [build/release/examples/https_hello]
#   HTTP_OUT [docs/benchmarks-http.md]  HTTP_BUILD_DIR [build/bench-http]
#   HTTP_QUIET [0.15]         before each run, wait (up to HTTP_QUIET_WAIT=20 s) until the
#                             machine's CPU use is below this fraction (0: don't wait);
#                             the report counts the runs that started on a busy machine
#   HTTP_CALLGRIND [1]        also count the server's instructions per request under
#                             valgrind --tool=callgrind (user space; one run per server
#                             and test, HTTP_CALLGRIND_SECS [3] s): a figure the machine's
#                             other load does not change
#   HTTP_REPORT_ONLY=1        rewrite the report from the last raw results
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
ROUNDS=${HTTP_ROUNDS:-3}
SECS=${HTTP_SECS:-5}
WARMUP=${HTTP_WARMUP:-1}
CONNS=${HTTP_CONNS:-64}
DEPTH=${HTTP_PIPELINE:-16}
SERVERS=${HTTP_SERVERS:-"weft hyper nginx h2o"}
TESTS=${HTTP_TESTS:-"plaintext json https"}
HTTPS_SERVERS=${HTTPS_SERVERS:-"weft nginx"}
TLS_SUITE=TLS_AES_128_GCM_SHA256
SCPU=${HTTP_SERVER_CPU:-0}
LCPU=${HTTP_LOAD_CPU:-1}
OUT=${HTTP_OUT:-$ROOT/docs/benchmarks-http.md}
BUILD=${HTTP_BUILD_DIR:-$ROOT/build/bench-http}
WEFT_BIN=${WEFT_HTTP_SERVER:-$ROOT/build/release/examples/http_hello}
WEFT_TLS_BIN=${WEFT_HTTPS_SERVER:-$ROOT/build/release/examples/https_hello}
PORT=${HTTP_PORT_BASE:-$((20000 + ($$ * 13) % 11000))}
REPORT_ONLY=${HTTP_REPORT_ONLY:-0}

log() { echo "bench-http: $*" >&2; }
mkdir -p "$BUILD" "$(dirname "$OUT")"
RES=$BUILD/results.txt
[ "$REPORT_ONLY" = 1 ] || : > "$RES"

# ---- builds and configurations ------------------------------------------------------

bash "$ROOT/scripts/deps.sh" --bench --quiet || log "some dependencies are missing; their servers will say so"
declare -A NOTE
command -v wrk > /dev/null || { log "wrk is missing (apt-get install wrk)"; exit 1; }
command -v taskset > /dev/null || { log "taskset is missing (util-linux)"; exit 1; }
[ -x "$WEFT_BIN" ] || NOTE[weft]="not built ($WEFT_BIN)"
[ -d "${HOME:-/root}/.cargo/bin" ] && PATH="$PATH:${HOME:-/root}/.cargo/bin"
HYPER_BIN=$BUILD/hyper-target/release/hyper_http
if [ "$REPORT_ONLY" != 1 ] && command -v cargo > /dev/null; then
  log "building the hyper peer (cargo, offline)"
  rm -f bench/peers/hyper_http/Cargo.lock
  (cd bench/peers/hyper_http && CARGO_TARGET_DIR="$BUILD/hyper-target" cargo build --release --offline) \
    > "$BUILD/hyper.build.log" 2>&1 || { NOTE[hyper]="not built"; log "hyper: see $BUILD/hyper.build.log"; }
fi
[ -x "$HYPER_BIN" ] || NOTE[hyper]=${NOTE[hyper]:-"not built (no cargo)"}
command -v nginx > /dev/null || NOTE[nginx]="not installed"
command -v h2o > /dev/null || NOTE[h2o]="not installed"

CONF=$BUILD/conf
mkdir -p "$CONF/www"
printf 'Hello, World!' > "$CONF/www/plaintext.txt"
printf '{"message":"Hello, World!"}' > "$CONF/www/json.json"
# The https test's certificate, shared by every server: P-256, self-signed.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=localhost -keyout "$CONF/key.pem" -out "$CONF/cert.pem" > /dev/null 2>&1 ||
  log "openssl could not make the certificate: the https test will fail"
[[ " $TESTS " == *" https "* ]] && [ ! -x "$WEFT_TLS_BIN" ] && NOTE[weft-https]="not built ($WEFT_TLS_BIN)"

# servers_for TEST: the servers that take part in TEST.
servers_for() {
  local s
  for s in $SERVERS; do
    [ "$1" != https ] || [[ " $HTTPS_SERVERS " == *" $s "* ]] && echo "$s"
  done
}

nginx_conf() { # port [tls]
  local listen="listen 127.0.0.1:$1 backlog=4096;"
  [ "${2:-}" = tls ] && listen="listen 127.0.0.1:$1 ssl backlog=4096;
    ssl_certificate $CONF/cert.pem; ssl_certificate_key $CONF/key.pem;
    ssl_protocols TLSv1.3; ssl_conf_command Ciphersuites $TLS_SUITE;"
  cat > "$CONF/nginx.conf" <<EOF
daemon off; master_process off; worker_processes 1; pid $CONF/nginx.pid;
error_log $CONF/nginx.err;
events { worker_connections 4096; use epoll; multi_accept on; }
http {
  access_log off; keepalive_requests 100000000; keepalive_timeout 65;
  client_body_temp_path $CONF; proxy_temp_path $CONF; fastcgi_temp_path $CONF;
  uwsgi_temp_path $CONF; scgi_temp_path $CONF;
  server {
    $listen
    location = /plaintext { default_type text/plain; return 200 "Hello, World!"; }
    location = /json { default_type application/json; return 200 '{"message":"Hello, World!"}'; }
  }
}
EOF
}

# h2o has no "return" directive: its static-file handler (the fastest path
# it has without a C program of its own) serves the same bytes.
h2o_conf() { # port
  # Started as root, h2o switches to nobody unless told otherwise; then
  # callgrind_control cannot reach it under valgrind (it hangs).
  local user=
  [ "$(id -u)" = 0 ] && user="user: root"
  cat > "$CONF/h2o.conf" <<EOF
$user
listen:
  host: 127.0.0.1
  port: $1
num-threads: 1
pid-file: $CONF/h2o.pid
error-log: $CONF/h2o.err
http1-request-timeout: 60
hosts:
  default:
    paths:
      /plaintext:
        file.file: $CONF/www/plaintext.txt
        file.etag: OFF
      /json:
        file.file: $CONF/www/json.json
        file.etag: OFF
EOF
}

# ---- servers ---------------------------------------------------------------------------

# server_cmd NAME TEST: sets CMD, the command line of server NAME for TEST
# (writing its configuration for PORT).
server_cmd() {
  case $1/$2 in
    weft/https) CMD=("$WEFT_TLS_BIN" --port $PORT --cert "$CONF/cert.pem" --key "$CONF/key.pem" --tls13-ciphers "$TLS_SUITE") ;;
    weft/*) CMD=("$WEFT_BIN" --port $PORT) ;;
    hyper/*) CMD=("$HYPER_BIN" --port $PORT) ;;
    nginx/https) nginx_conf $PORT tls; CMD=(nginx -p "$CONF" -c "$CONF/nginx.conf") ;;
    nginx/*) nginx_conf $PORT; CMD=(nginx -p "$CONF" -c "$CONF/nginx.conf") ;;
    h2o/*) h2o_conf $PORT; CMD=(h2o -c "$CONF/h2o.conf") ;;
  esac
}
scheme() { [ "$1" = https ] && echo https || echo http; }

SRV_PID=
start_server() { # name test -> SRV_PID, PORT
  local name=$1 test=$2
  PORT=$((PORT + 1)); [ $PORT -ge 32000 ] && PORT=20000
  server_cmd "$name" "$test"
  taskset -c "$SCPU" "${CMD[@]}" > "$BUILD/server.out" 2> "$BUILD/server.err" &
  SRV_PID=$!
  local i
  for i in $(seq 100); do
    if curl -sk --max-time 5 -o /dev/null "$(scheme "$test")://127.0.0.1:$PORT/plaintext" 2> /dev/null; then return 0; fi
    kill -0 $SRV_PID 2> /dev/null || break
    sleep 0.05
  done
  log "$name did not start: $(head -c 300 "$BUILD/server.err")"
  stop_server
  return 1
}

stop_server() {
  [ -n "$SRV_PID" ] || return 0
  kill -TERM $SRV_PID 2> /dev/null
  local i
  for i in $(seq 40); do kill -0 $SRV_PID 2> /dev/null || break; sleep 0.05; done
  kill -KILL $SRV_PID 2> /dev/null
  wait $SRV_PID 2> /dev/null
  SRV_PID=
}
trap 'stop_server; exit 130' INT TERM

# Waits until the machine is quiet (other helpers, builds): the fraction of
# CPU time not idle over half a second below HTTP_QUIET. Prints "busy" if
# it gave up waiting.
QUIET=${HTTP_QUIET:-0.15}
QUIET_WAIT=${HTTP_QUIET_WAIT:-20}
wait_quiet() {
  [ "$QUIET" = 0 ] && return 0
  local deadline=$((SECONDS + QUIET_WAIT))
  while :; do
    local a b
    a=$(awk '/^cpu / {print $2+$3+$4+$7+$8, $5+$6}' /proc/stat)
    sleep 0.5
    b=$(awk '/^cpu / {print $2+$3+$4+$7+$8, $5+$6}' /proc/stat)
    if awk -v a="$a" -v b="$b" -v q="$QUIET" 'BEGIN {split(a, x, " "); split(b, y, " ");
        busy = y[1] - x[1]; idle = y[2] - x[2]; exit !(busy / (busy + idle + 1e-9) < q)}'; then
      return 0
    fi
    [ $SECONDS -ge $deadline ] && { echo busy; return 0; }
  done
}

# CPU seconds (user + system) the server used, from /proc/PID/stat.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2> /dev/null || echo 0; }

run_wrk() { # test -> requests/s (prints the wrk line)
  local test=$1 secs=$2 script=()
  [ "$test" = plaintext ] && script=(-s "$ROOT/bench/http/pipeline.lua")
  local path=$test
  [ "$test" = https ] && path=json
  local args=(-t1 -c"$CONNS" -d"${secs}s" --latency "${script[@]}" "$(scheme "$test")://127.0.0.1:$PORT/$path")
  [ "$test" = plaintext ] && args+=(-- "$DEPTH")
  taskset -c "$LCPU" wrk "${args[@]}" 2>&1
}

# ---- measuring ---------------------------------------------------------------------------

if [ "$REPORT_ONLY" != 1 ]; then
  for test in $TESTS; do
    mapfile -t SRV_LIST < <(servers_for "$test")
    NS=${#SRV_LIST[@]}
    for ((r = 0; r < ROUNDS; r++)); do
      for ((k = 0; k < NS; k++)); do
        s=${SRV_LIST[$(((k + r) % NS))]}
        [ -z "${NOTE[$s]:-}" ] || continue
        [ "$test/$s" != https/weft ] || [ -z "${NOTE[weft-https]:-}" ] || continue
        busy=$(wait_quiet)
        start_server "$s" "$test" || { echo "FAIL $s $test $r start" >> "$RES"; continue; }
        run_wrk "$test" "$WARMUP" > /dev/null
        t0=$(cpu_ticks $SRV_PID)
        out=$(run_wrk "$test" "$SECS")
        t1=$(cpu_ticks $SRV_PID)
        stop_server
        rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
        p50=$(echo "$out" | awk '$1 == "50%" {print $2}')
        p99=$(echo "$out" | awk '$1 == "99%" {print $2}')
        errs=$(echo "$out" | grep -E 'Socket errors|Non-2xx' | tr '\n' ' ')
        cpu=$(awk -v a="$t0" -v b="$t1" -v s="$SECS" 'BEGIN {printf "%.2f", (b - a) / 100 / s}')
        echo "RUN $s $test $r rps=${rps:-0} p50=${p50:-?} p99=${p99:-?} cpu=$cpu busy=${busy:-0} errs=\"${errs}\"" >> "$RES"
        log "$test round $r: $s ${rps:-0} req/s (server CPU $cpu) ${errs}"
      done
    done
  done
fi

# ---- instructions per request, under callgrind --------------------------------------------

CG=${HTTP_CALLGRIND:-1}
CG_SECS=${HTTP_CALLGRIND_SECS:-3}
command -v valgrind > /dev/null && command -v callgrind_control > /dev/null || CG=0
if [ "$REPORT_ONLY" != 1 ] && [ "$CG" = 1 ]; then
  for test in $TESTS; do
    for s in $(servers_for "$test"); do
      [ -z "${NOTE[$s]:-}" ] || continue
      [ "$test/$s" != https/weft ] || [ -z "${NOTE[weft-https]:-}" ] || continue
      rm -f "$BUILD"/cg.out*
      PORT=$((PORT + 1)); [ $PORT -ge 32000 ] && PORT=20000
      server_cmd "$s" "$test"
      valgrind --tool=callgrind --callgrind-out-file="$BUILD/cg.out" "${CMD[@]}" \
        > "$BUILD/server.out" 2> "$BUILD/server.err" &
      SRV_PID=$!
      up=0
      for i in $(seq 200); do
        curl -sk --max-time 5 -o /dev/null "$(scheme "$test")://127.0.0.1:$PORT/plaintext" 2> /dev/null && { up=1; break; }
        sleep 0.1
      done
      if [ $up = 1 ]; then
        timeout 30 callgrind_control -z $SRV_PID > /dev/null 2>&1
        script=()
        [ "$test" = plaintext ] && script=(-s "$ROOT/bench/http/pipeline.lua")
        extra=()
        [ "$test" = plaintext ] && extra=(-- "$DEPTH")
        path=$test
        [ "$test" = https ] && path=json
        n=$(wrk -t1 -c16 -d"${CG_SECS}s" "${script[@]}" "$(scheme "$test")://127.0.0.1:$PORT/$path" "${extra[@]}" 2>&1 |
            awk '/requests in/ {print $1}')
        timeout 30 callgrind_control -d $SRV_PID > /dev/null 2>&1
        ir=$(cat "$BUILD"/cg.out.* 2> /dev/null | awk '/^summary:/ {s += $2} END {printf "%.0f", s}')
        ipr=$(awk -v i="${ir:-0}" -v n="${n:-0}" 'BEGIN {printf "%.0f", (n > 0) ? i / n : 0}')
        echo "IPR $s $test ipr=$ipr requests=${n:-0}" >> "$RES"
        log "$test under callgrind: $s ${ipr} instructions per request (${n:-0} requests)"
      else
        log "$s did not start under valgrind"
      fi
      stop_server
    done
  done
fi

# ---- the report ----------------------------------------------------------------------------

python3 - "$RES" "$OUT" "$SERVERS" "$TESTS" "$ROUNDS" "$SECS" "$CONNS" "$DEPTH" "$HTTPS_SERVERS" "$TLS_SUITE" <<'PY'
import re, statistics, sys, datetime, platform, subprocess
res, out, servers, tests, rounds, secs, conns, depth, https_servers, suite = sys.argv[1:]
servers = servers.split(); tests = tests.split(); https_servers = https_servers.split()
def servers_for(t):
    return [s for s in servers if t != "https" or s in https_servers]
runs = {}
iprs = {}
busy_runs = [0]
for line in open(res):
    m = re.match(r'IPR (\S+) (\S+) ipr=(\S+)', line)
    if m:
        iprs[(m.group(1), m.group(2))] = float(m.group(3))
        continue
    m = re.match(r'RUN (\S+) (\S+) (\d+) rps=(\S+) p50=(\S+) p99=(\S+) cpu=(\S+) busy=(\S+) errs="(.*)"', line)
    if not m: continue
    s, t, r, rps, p50, p99, cpu, b, errs = m.groups()
    if b == "busy": busy_runs[0] += 1
    runs.setdefault((s, t), []).append((float(rps), p50, p99, float(cpu), errs.strip()))
def med(xs): return statistics.median(xs) if xs else 0
lines = []
lines.append("# HTTP benchmarks: weft against hyper, nginx and h2o; HTTPS against nginx\n")
lines.append("Written by `bench/http/run.sh` (`make bench`), %s. TechEmpower-style tests on "
             "loopback, each server on one core (`taskset -c 0`), wrk on the other (`taskset -c 1`, "
             "one thread), %s connections, %s rounds of %s s per server and test, the servers "
             "taking turns (the order rotates each round). The number is the median of the rounds; "
             "the ratio is weft's median over the peer's.\n" % (datetime.date.today(), conns, rounds, secs))
lines.append("- **plaintext**: `GET /plaintext`, keep-alive, %s requests pipelined per write "
             "(`wrk -s bench/http/pipeline.lua -- %s`), answer `Hello, World!` as text/plain." % (depth, depth))
lines.append("- **json**: `GET /json`, keep-alive, one request at a time, answer "
             "`{\"message\":\"Hello, World!\"}` as application/json.")
if "https" in tests:
    lines.append("- **https**: `GET /json` as in *json*, over TLS 1.3 with %s only, the same "
                 "self-signed P-256 certificate for every server; keep-alive, so the handshakes "
                 "(one per connection) are a small part of the work and the records' encryption "
                 "is most of it. weft: `examples/https_hello` (libweft-http over a weft-tls "
                 "stream, through the server's stream factory); nginx: the same `return 200` "
                 "behind `listen ssl`, `ssl_protocols TLSv1.3`, `ssl_conf_command Ciphersuites`. "
                 "Both use the system's OpenSSL %s." % (suite, subprocess.run(
                     ["sh", "-c", "openssl version | cut -d' ' -f2"], capture_output=True,
                     text=True).stdout.strip() or "3"))
lines.append("- weft: `examples/http_hello` (current_thread runtime, a plain-function handler). "
             "hyper: 0.14 on Tokio current_thread (`bench/peers/hyper_http`, pipeline_flush on). "
             "nginx: one worker, `return 200`. h2o: one thread, its static-file handler "
             "(h2o has no `return`; the body bytes are the same, its head carries a few more fields).\n")
lines.append("| test | server | requests/s | weft/peer | requests per server CPU-second | weft/peer | instructions per request (callgrind) | peer/weft | p50 | p99 | server CPU (cores) | errors |")
lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|")
def eff(xs):
    return med([x[0] / x[3] for x in xs if x[3] > 0])
for t in tests:
    wx = runs.get(("weft", t), [])
    weft = med([x[0] for x in wx]); weft_eff = eff(wx); weft_ipr = iprs.get(("weft", t), 0)
    for s in servers_for(t):
        xs = runs.get((s, t), [])
        if not xs:
            lines.append("| %s | %s | not run | | | | | | | | | |" % (t, s)); continue
        m = med([x[0] for x in xs]); e = eff(xs); i = iprs.get((s, t), 0)
        mid = sorted(xs, key=lambda x: x[0])[len(xs) // 2]
        ratio = "" if s == "weft" or m == 0 else "%.2f" % (weft / m)
        eratio = "" if s == "weft" or e == 0 else "%.2f" % (weft_eff / e)
        iratio = "" if s == "weft" or not weft_ipr or not i else "%.2f" % (i / weft_ipr)
        errs = "; ".join(sorted(set(x[4] for x in xs if x[4]))) or "none"
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %.2f | %s |" % (
            t, s, "{:,.0f}".format(m), ratio, "{:,.0f}".format(e), eratio,
            "{:,.0f}".format(i) if i else "n/a", iratio, mid[1], mid[2],
            med([x[3] for x in xs]), errs))
nruns = sum(len(v) for v in runs.values())
lines.append("")
lines.append("%d of %d runs started on a busy machine (other programs using more than the "
             "quiet threshold of the CPU after the wait)." % (busy_runs[0], nruns))
lines.append("")
lines.append("Every round, for every server: " + ", ".join(
    "%s/%s %s" % (s, t, " ".join("{:,.0f}".format(x[0]) for x in runs.get((s, t), [])))
    for t in tests for s in servers_for(t) if runs.get((s, t))) + ".\n")
try:
    cpu = subprocess.run(["sh", "-c", "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"],
                         capture_output=True, text=True).stdout.strip()
except Exception:
    cpu = "?"
lines.append("Machine: %s, %s, kernel %s.\n" % (cpu, "2 cores" , platform.release()))
open(out + ".table", "w").write("\n".join(lines) + "\n")
PY
# Keep what was written by hand below the generated table (notes, analysis).
if [ -f "$OUT" ] && grep -q '^<!-- notes -->' "$OUT"; then
  { cat "$OUT.table"; sed -n '/^<!-- notes -->/,$p' "$OUT"; } > "$OUT.new" && mv "$OUT.new" "$OUT"
else
  mv "$OUT.table" "$OUT"
fi
rm -f "$OUT.table"
log "wrote ${OUT#$ROOT/}"
