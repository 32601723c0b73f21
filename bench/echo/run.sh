#!/usr/bin/env bash
# Echo benchmark: weft's echo server against Tokio (current_thread), libuv, Go
# (GOMAXPROCS=1) and a minimal hand-written epoll loop (the floor), all driven
# by one load generator that does not use weft (bench/echo/loadgen.c); and
# weft's fiber-style echo server (examples/fiber_echo_server.c) against its
# coroutine-style one.
#
# For each row (connections × message size) and each of ECHO_ROUNDS rounds it
# runs every server in turn (the order rotates from round to round): start
# the server, run the load generator (warm-up, then ECHO_SECS measured),
# which also reads the server's utime+stime from /proc/PID/stat at the edges
# of the measured interval, stop the server. Then a shorter pass per server
# and row counts the server's syscalls per echoed message (perf stat on the
# raw_syscalls:sys_enter and syscalls:sys_enter_NAME tracepoints, windowed to
# the measured interval; strace -c -f over the whole run when perf cannot). Writes a markdown section to
# docs/benchmarks-echo.md (ECHO_OUT), and the raw lines to
# build/bench-echo/results.txt.
#
# Environment (defaults in brackets):
#   WEFT_ECHO_SERVER   weft's echo server [build/release/examples/echo_server];
#                      when it does not exist its rows say "not built"
#   WEFT_FIBER_ECHO_SERVER  the fiber-style one ("weft_fiber")
#                      [the fiber_echo_server next to WEFT_ECHO_SERVER]
#   ECHO_WEFT_ARGS     extra arguments for it, e.g. "--backend epoll" []
#   ECHO_ROUNDS [3]  ECHO_SECS [3]  ECHO_WARMUP [0.5]  (seconds)
#   ECHO_CONNS ["1 100 1000"]  ECHO_SIZES ["64 4096"]
#   ECHO_SERVERS ["weft weft_fiber tokio libuv go floor"]
#   ECHO_LOAD_THREADS [1]      load-generator threads
#   ECHO_SYSCALL_SECS [1.5]    measured seconds of the syscall pass (0: skip)
#   ECHO_SYSCALL_TOOL [perf when it can count tracepoints, else strace] or none
#   ECHO_OUT [docs/benchmarks-echo.md]   ECHO_BUILD_DIR [build/bench-echo]
#   ECHO_PORT_BASE [a port in 20000-31999]
#   ECHO_REPORT_ONLY=1         rewrite the report from the last raw results
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
ROUNDS=${ECHO_ROUNDS:-3}
SECS=${ECHO_SECS:-3}
WARMUP=${ECHO_WARMUP:-0.5}
CONNS=${ECHO_CONNS:-"1 100 1000"}
SIZES=${ECHO_SIZES:-"64 4096"}
SERVERS=${ECHO_SERVERS:-"weft weft_fiber tokio libuv go floor"}
LOAD_THREADS=${ECHO_LOAD_THREADS:-1}
SC_SECS=${ECHO_SYSCALL_SECS:-1.5}
OUT=${ECHO_OUT:-$ROOT/docs/benchmarks-echo.md}
BUILD=${ECHO_BUILD_DIR:-$ROOT/build/bench-echo}
WEFT_BIN=${WEFT_ECHO_SERVER:-$ROOT/build/release/examples/echo_server}
WEFT_FIBER_BIN=${WEFT_FIBER_ECHO_SERVER:-$(dirname "$WEFT_BIN")/fiber_echo_server}
WEFT_ARGS=${ECHO_WEFT_ARGS:-}
PORT=${ECHO_PORT_BASE:-$((20000 + ($$ * 7) % 11000))}
JOBS=${JOBS:-2}

log() { echo "bench-echo: $*" >&2; }
mkdir -p "$BUILD" "$(dirname "$OUT")"
RES=$BUILD/results.txt
REPORT_ONLY=${ECHO_REPORT_ONLY:-0}
[ "$REPORT_ONLY" = 1 ] || : > "$RES"
started=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- dependencies and builds ------------------------------------------------

bash "$ROOT/scripts/bench-echo-deps.sh" --quiet ||
  log "some dependencies are missing; the servers that need them will say \"not built\""
[ -d "${HOME:-/root}/.cargo/bin" ] && PATH="$PATH:${HOME:-/root}/.cargo/bin"
GO=$(command -v go || { [ -x /usr/lib/go/bin/go ] && echo /usr/lib/go/bin/go; } || true)
CC=${CC:-cc}
CFLAGS="-O2 -g -Wall -Wextra"

declare -A BIN NOTE
build_c() {  # name source extra-flags...
  local name=$1 src=$2; shift 2
  if $CC $CFLAGS -o "$BUILD/$name" "$src" "$@" 2> "$BUILD/$name.build.log"; then
    echo "$BUILD/$name"
  else
    log "$name: build failed (see $BUILD/$name.build.log)"; return 1
  fi
}

LOADGEN=$(build_c loadgen bench/echo/loadgen.c -pthread) || { log "cannot build the load generator"; exit 1; }
BIN[floor]=$(build_c floor_epoll bench/echo/floor_epoll.c) || NOTE[floor]="not built"
if pkg-config --exists libuv 2>/dev/null; then
  BIN[libuv]=$(build_c libuv_echo bench/peers/libuv_echo/libuv_echo.c $(pkg-config --cflags --libs libuv)) ||
    NOTE[libuv]="not built"
else
  NOTE[libuv]="not built (no libuv1-dev)"
fi
if [ -n "$GO" ]; then
  if (cd bench/peers/go_echo && GOTOOLCHAIN=local GOPROXY=off GOFLAGS= GO111MODULE=on \
        GOCACHE="$BUILD/go-cache" GOPATH="$BUILD/go-path" "$GO" build -o "$BUILD/go_echo" .) > "$BUILD/go_echo.build.log" 2>&1; then
    BIN[go]=$BUILD/go_echo
  else
    NOTE[go]="not built"; log "go_echo: build failed (see $BUILD/go_echo.build.log)"
  fi
else
  NOTE[go]="not built (no Go)"
fi
if command -v cargo > /dev/null; then
  log "building the Tokio peer (cargo, offline)"
  # The lock is regenerated from the one local registry: a lock written by a
  # newer cargo does not parse with Debian's.
  rm -f bench/peers/tokio_echo/Cargo.lock
  if (cd bench/peers/tokio_echo && CARGO_TARGET_DIR="$BUILD/tokio-target" \
        cargo build --release --offline -j "$JOBS") > "$BUILD/tokio_echo.build.log" 2>&1; then
    BIN[tokio]=$BUILD/tokio-target/release/tokio_echo
  else
    NOTE[tokio]="not built"; log "tokio_echo: build failed (see $BUILD/tokio_echo.build.log)"
  fi
else
  NOTE[tokio]="not built (no cargo)"
fi
if [ -x "$WEFT_BIN" ]; then
  BIN[weft]=$WEFT_BIN
else
  NOTE[weft]="not built"
  log "weft: $WEFT_BIN does not exist (build it, or set WEFT_ECHO_SERVER); measuring the peers only"
fi
if [ -x "$WEFT_FIBER_BIN" ]; then
  BIN[weft_fiber]=$WEFT_FIBER_BIN
else
  NOTE[weft_fiber]="not built"
fi
for s in $SERVERS; do
  case $s in weft|weft_fiber|tokio|libuv|go|floor) ;; *) log "unknown server $s"; exit 1 ;; esac
done

# ---- servers ----------------------------------------------------------------

SRV_PID=
SRV_PORT=
# start_server NAME [wrapper...]: starts it on a fresh port and waits for
# "listening on PORT". Sets SRV_PID (of the process started: the server, or
# the wrapper) and SRV_PORT.
start_server() {
  local name=$1; shift
  local try out=$BUILD/server.out
  for try in 1 2 3; do
    PORT=$((PORT + 1)); [ $PORT -ge 32000 ] && PORT=20000
    : > "$out"
    local args=(--port $PORT)
    case $name in weft|weft_fiber) args+=($WEFT_ARGS) ;; esac
    if [ "$name" = go ]; then
      GOMAXPROCS=1 "$@" "${BIN[$name]}" "${args[@]}" > "$out" 2> "$BUILD/server.err" &
    else
      "$@" "${BIN[$name]}" "${args[@]}" > "$out" 2> "$BUILD/server.err" &
    fi
    SRV_PID=$!
    local i
    for i in $(seq 100); do
      if grep -q '^listening on' "$out" 2>/dev/null; then
        SRV_PORT=$(awk '/^listening on/ {print $3; exit}' "$out")
        return 0
      fi
      kill -0 $SRV_PID 2>/dev/null || break
      sleep 0.05
    done
    stop_server
    log "$name did not start on port $PORT: $(head -c 300 "$BUILD/server.err")"
  done
  return 1
}

stop_server() {
  [ -n "$SRV_PID" ] || return 0
  # Under a wrapper (perf stat, strace), stop the server itself: the wrapper
  # then reports its counts and exits.
  local kids
  kids=$(cat /proc/$SRV_PID/task/*/children 2>/dev/null)
  [ -n "$kids" ] && kill -TERM $kids 2>/dev/null
  [ -n "$kids" ] || kill -TERM $SRV_PID 2>/dev/null
  local i
  for i in $(seq 40); do kill -0 $SRV_PID 2>/dev/null || break; sleep 0.05; done
  kill -KILL $SRV_PID 2>/dev/null
  wait $SRV_PID 2>/dev/null
  SRV_PID=
}
trap 'stop_server; exit 130' INT TERM

field() { sed -n "s/.*[[:space:]]$1=\\([^[:space:]]*\\).*/\\1/p"; }

# ---- throughput, latency, CPU -------------------------------------------------

read -r -a SRV_LIST <<< "$SERVERS"
NS=${#SRV_LIST[@]}
[ "$REPORT_ONLY" = 1 ] && CONNS_RUN= || CONNS_RUN=$CONNS
for conns in $CONNS_RUN; do
  for size in $SIZES; do
    for ((r = 0; r < ROUNDS; r++)); do
      for ((k = 0; k < NS; k++)); do
        s=${SRV_LIST[$(((k + r) % NS))]}
        [ -n "${BIN[$s]:-}" ] || continue
        if ! start_server "$s"; then
          echo "FAIL $s $conns $size $r start" >> "$RES"; continue
        fi
        line=$("$LOADGEN" --port "$SRV_PORT" --conns "$conns" --size "$size" --secs "$SECS" \
                 --warmup "$WARMUP" --threads "$LOAD_THREADS" --server-pid "$SRV_PID" 2> "$BUILD/loadgen.err")
        rc=$?
        stop_server
        if [ -z "$line" ]; then
          echo "FAIL $s $conns $size $r loadgen-rc=$rc" >> "$RES"
          log "$s conns=$conns size=$size: load generator failed: $(head -c 300 "$BUILD/loadgen.err")"
          continue
        fi
        echo "RES $s $conns $size $r $line" >> "$RES"
        log "$s $line"
      done
    done
  done
done

# ---- syscalls per message -----------------------------------------------------

SC_TOOL=${ECHO_SYSCALL_TOOL:-}
if [ -z "$SC_TOOL" ] && [ "$SC_SECS" = 0 ]; then SC_TOOL=none; fi
if [ -z "$SC_TOOL" ]; then
  SC_TOOL=none
  if perf stat -x, -e 'syscalls:sys_enter_read' -o /dev/null -- true > /dev/null 2>&1; then
    SC_TOOL=perf
  elif command -v strace > /dev/null; then
    SC_TOOL=strace
  fi
fi
if [ "$SC_TOOL" = perf ]; then
  # Counting all ~360 syscalls:sys_enter_* tracepoints costs perf ~15 s to set
  # up; count every syscall with raw_syscalls:sys_enter and name the usual ones.
  PERF_EVENTS=raw_syscalls:sys_enter
  tp=/sys/kernel/tracing/events/syscalls
  [ -d $tp ] || tp=/sys/kernel/debug/tracing/events/syscalls
  for sc in read write readv writev recvfrom sendto recvmsg sendmsg epoll_wait epoll_pwait epoll_pwait2 \
            epoll_ctl poll ppoll select pselect6 io_uring_enter futex nanosleep clock_nanosleep sched_yield \
            accept accept4 close getpid gettid tgkill rt_sigprocmask mmap munmap madvise eventfd2 timerfd_settime; do
    [ -d $tp/sys_enter_$sc ] && PERF_EVENTS=$PERF_EVENTS,syscalls:sys_enter_$sc
  done
fi
if [ "$SC_TOOL" != none ] && [ -n "$CONNS_RUN" ]; then
  log "syscall pass with $SC_TOOL"
  for conns in $CONNS_RUN; do
    for size in $SIZES; do
      for s in "${SRV_LIST[@]}"; do
        [ -n "${BIN[$s]:-}" ] || continue
        cnt=$BUILD/syscalls.$s.$conns.$size.txt
        rm -f "$cnt" "$BUILD/ctl" "$BUILD/ack"
        if [ $SC_TOOL = perf ]; then
          # The server runs under perf stat (its threads and children inherit
          # the counters) with the events disabled; the load generator enables
          # them for the measured interval only. perf loses its counts when its
          # workload dies of a signal, so the workload is a shell that stops
          # the server on SIGTERM and exits normally.
          mkfifo "$BUILD/ctl" "$BUILD/ack"
          start_server "$s" perf stat -D -1 --control "fifo:$BUILD/ctl,$BUILD/ack" -x, -o "$cnt" -e "$PERF_EVENTS" -- \
            sh -c 'trap "kill \$p 2>/dev/null; wait \$p; exit 0" TERM INT; "$@" & p=$!; wait $p' sh ||
            { echo "SYSFAIL $s $conns $size start" >> "$RES"; continue; }
          line=$("$LOADGEN" --port "$SRV_PORT" --conns "$conns" --size "$size" --secs "$SC_SECS" \
                   --warmup "$WARMUP" --threads "$LOAD_THREADS" --perf-ctl "$BUILD/ctl,$BUILD/ack" 2> "$BUILD/loadgen.err")
          stop_server
          msgs=$(echo "$line" | field msgs)
          # raw_syscalls:sys_enter counts every syscall; the named ones say which.
          counts=$(awk -F, '$1 ~ /^[0-9]+$/ && $3 == "raw_syscalls:sys_enter" { total = $1 }
                   $1 ~ /^[0-9]+$/ && $3 ~ /^syscalls:sys_enter_/ && $1 > 0 {
                     sub("syscalls:sys_enter_", "", $3); print $3, $1; named += $1 }
                   END { if (total > named) print "(other)", total - named }' "$cnt" 2>/dev/null)
        else
          start_server "$s" strace -c -f -o "$cnt" -- || { echo "SYSFAIL $s $conns $size start" >> "$RES"; continue; }
          line=$("$LOADGEN" --port "$SRV_PORT" --conns "$conns" --size "$size" --secs "$SC_SECS" \
                   --warmup "$WARMUP" --threads "$LOAD_THREADS" 2> "$BUILD/loadgen.err")
          stop_server
          msgs=$(echo "$line" | field msgs_total)
          # strace -c rows: % time, seconds, usecs/call, calls, [errors,] syscall
          counts=$(awk '$NF != "total" && $(NF-1) ~ /^[0-9]+$/ && NF >= 5 { print $NF, $4 }' "$cnt" 2>/dev/null)
        fi
        if [ -z "$msgs" ] || [ "$msgs" = 0 ] || [ -z "$counts" ]; then
          echo "SYSFAIL $s $conns $size count" >> "$RES"; log "$s: syscall count failed"; continue
        fi
        echo "SYS $s $conns $size $msgs $(echo "$counts" | tr '\n' ' ')" >> "$RES"
      done
    done
  done
fi
rm -f "$BUILD/ctl" "$BUILD/ack"

# ---- report -----------------------------------------------------------------

if [ "$REPORT_ONLY" != 1 ]; then
  { echo "META load_start $load_start"; echo "META load_end $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "META elapsed $(( $(date +%s) - started ))"; echo "META date $(date -u '+%Y-%m-%d %H:%M UTC')"; } >> "$RES"
fi
meta() { awk -v k="$1" '$1 == "META" && $2 == k { $1 = ""; $2 = ""; sub(/^  /, ""); v = $0 } END { print v }' "$RES"; }

ver() { "$@" 2>&1 | head -n1; }
tokio_ver=$(ls -d /usr/share/cargo/registry/tokio-1.* 2>/dev/null | sed 's|.*/tokio-||' | sort -V | tail -n1)
{
  echo "## Echo server: throughput, latency, CPU and syscalls per message"
  echo
  echo "Generated by \`bench/echo/run.sh\` on $(meta date) in $(meta elapsed) s."
  echo
  echo "| machine | |"
  echo "|---|---|"
  echo "| CPUs (nproc) | $(nproc) × $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo) |"
  echo "| kernel | $(uname -sr) |"
  echo "| load average (1, 5, 15 min) | at the start $(meta load_start); at the end $(meta load_end) |"
  echo "| C compiler | $(ver $CC --version) |"
  echo "| Tokio | ${tokio_ver:-?} (Debian crates), $(ver rustc --version 2>/dev/null || echo rustc ?), \`current_thread\` |"
  echo "| libuv | $(pkg-config --modversion libuv 2>/dev/null || echo ?) |"
  echo "| Go | $([ -n "$GO" ] && ver "$GO" version || echo ?), GOMAXPROCS=1 |"
  echo "| weft | ${BIN[weft]:-${NOTE[weft]}} $WEFT_ARGS |"
  echo "| weft fibers | ${BIN[weft_fiber]:-${NOTE[weft_fiber]}} $WEFT_ARGS |"
  echo "| syscall counter | $SC_TOOL |"
  echo "| settings | ${ROUNDS} rounds × ${SECS} s measured after ${WARMUP} s warm-up; load generator: ${LOAD_THREADS} thread(s) |"
  echo
  awk -v servers="$SERVERS" -v conns_list="$CONNS" -v sizes_list="$SIZES" \
      -v note_weft="${NOTE[weft]:-}" -v note_tokio="${NOTE[tokio]:-}" -v note_libuv="${NOTE[libuv]:-}" \
      -v note_weft_fiber="${NOTE[weft_fiber]:-}" \
      -v note_go="${NOTE[go]:-}" -v note_floor="${NOTE[floor]:-}" '
    function kv(line, key,   m) {
      if (match(line, " " key "=[^ ]*")) return substr(line, RSTART + length(key) + 2, RLENGTH - length(key) - 2)
      return ""
    }
    function median(key,   n, i, j, t, a) {
      n = cnt[key]; if (n == 0) return ""
      for (i = 1; i <= n; i++) a[i] = val[key, i] + 0
      for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
      return (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
    }
    function range(key,   n, i, lo, hi) {
      n = cnt[key]; if (n < 2) return ""
      lo = hi = val[key, 1] + 0
      for (i = 2; i <= n; i++) { if (val[key, i] + 0 < lo) lo = val[key, i] + 0; if (val[key, i] + 0 > hi) hi = val[key, i] + 0 }
      return sprintf("%.0f–%.0f", lo, hi)
    }
    function add(key, v) { if (v == "") return; cnt[key]++; val[key, cnt[key]] = v }
    function fmt_int(v) { return v == "" ? "–" : sprintf("%.0f", v) }
    function fmt1(v) { return v == "" ? "–" : sprintf("%.1f", v) }
    function fmt2(v) { return v == "" ? "–" : sprintf("%.2f", v) }
    function ratio(a, b) { return (a == "" || b == "" || b == 0) ? "–" : sprintf("%.2f×", a / b) }
    function sizename(s) { return s >= 1024 && s % 1024 == 0 ? (s / 1024) " KiB" : s " B" }
    $1 == "RES" {
      k = $2 SUBSEP $3 SUBSEP $4
      add(k SUBSEP "mps", kv($0, "msgs_per_sec")); add(k SUBSEP "p50", kv($0, "p50_us"))
      add(k SUBSEP "p99", kv($0, "p99_us")); add(k SUBSEP "cpu", kv($0, "server_cpu_us_per_msg"))
      add(k SUBSEP "spct", kv($0, "server_cpu_pct")); add(k SUBSEP "lpct", kv($0, "loadgen_cpu_pct"))
      errs[k] += kv($0, "errors"); runs[k]++
    }
    $1 == "FAIL" { fails[$2 SUBSEP $3 SUBSEP $4]++ }
    $1 == "SYS" {
      k = $2 SUBSEP $3 SUBSEP $4; msgs = $5; tot = 0; det = ""
      n = 0
      for (i = 6; i < NF; i += 2) { n++; nm[n] = $i; c[n] = $(i + 1); tot += $(i + 1) }
      # top entries by count
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (c[j] > c[i]) { t = c[i]; c[i] = c[j]; c[j] = t; t = nm[i]; nm[i] = nm[j]; nm[j] = t }
      for (i = 1; i <= n && i <= 5; i++) if (c[i] / msgs >= 0.005) det = det (det == "" ? "" : ", ") nm[i] " " sprintf("%.2f", c[i] / msgs)
      rest = 0; for (i = 6; i <= n; i++) rest += c[i]
      if (rest / msgs >= 0.005) det = det ", other " sprintf("%.2f", rest / msgs)
      sys_tot[k] = tot / msgs; sys_det[k] = det
    }
    END {
      ns = split(servers, S, " "); nc = split(conns_list, C, " "); nz = split(sizes_list, Z, " ")
      note["weft"] = note_weft; note["tokio"] = note_tokio; note["libuv"] = note_libuv
      note["go"] = note_go; note["floor"] = note_floor; note["weft_fiber"] = note_weft_fiber
      label["weft"] = "weft"; label["tokio"] = "Tokio current_thread"; label["libuv"] = "libuv"
      label["weft_fiber"] = "weft fibers"
      label["go"] = "Go (GOMAXPROCS=1)"; label["floor"] = "floor (epoll loop)"
      print "### Throughput, latency and server CPU (median of the rounds)"
      print ""
      print "| conns | size | server | msgs/s | msgs/s min–max | p50 µs | p99 µs | server CPU µs/msg | server CPU % | loadgen CPU % |"
      print "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|"
      for (ci = 1; ci <= nc; ci++) for (zi = 1; zi <= nz; zi++) for (si = 1; si <= ns; si++) {
        s = S[si]; k = s SUBSEP C[ci] SUBSEP Z[zi]
        if (!runs[k]) {
          why = note[s] != "" ? note[s] : (fails[k] ? "failed" : "not run")
          printf "| %s | %s | %s | %s | | | | | | |\n", C[ci], sizename(Z[zi]), label[s], why
          continue
        }
        e = errs[k] ? sprintf(" (%d errors)", errs[k]) : ""
        f = fails[k] ? sprintf(" (%d of %d runs failed)", fails[k], fails[k] + runs[k]) : ""
        printf "| %s | %s | %s | %s%s%s | %s | %s | %s | %s | %s | %s |\n", C[ci], sizename(Z[zi]), label[s],
          fmt_int(median(k SUBSEP "mps")), e, f, range(k SUBSEP "mps"), fmt1(median(k SUBSEP "p50")), fmt1(median(k SUBSEP "p99")),
          fmt2(median(k SUBSEP "cpu")), fmt_int(median(k SUBSEP "spct")), fmt_int(median(k SUBSEP "lpct"))
      }
      print ""
      print "### weft against the peers"
      print ""
      print "Throughput ratio weft/peer (above 1.00× is weft faster), p99 ratio (below 1.00× is weft better) and"
      print "server CPU per message weft/floor (target: at most 1.05×)."
      print ""
      print "| conns | size | msgs/s weft/Tokio | msgs/s weft/libuv | msgs/s weft/Go | p99 weft/Tokio | p99 weft/libuv | CPU/msg weft/floor |"
      print "|---:|---:|---:|---:|---:|---:|---:|---:|"
      for (ci = 1; ci <= nc; ci++) for (zi = 1; zi <= nz; zi++) {
        kw = "weft" SUBSEP C[ci] SUBSEP Z[zi]
        if (!runs[kw]) {
          printf "| %s | %s | %s | | | | | |\n", C[ci], sizename(Z[zi]), note_weft != "" ? note_weft : "no result"
          continue
        }
        kt = "tokio" SUBSEP C[ci] SUBSEP Z[zi]; kl = "libuv" SUBSEP C[ci] SUBSEP Z[zi]
        kg = "go" SUBSEP C[ci] SUBSEP Z[zi]; kf = "floor" SUBSEP C[ci] SUBSEP Z[zi]
        printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", C[ci], sizename(Z[zi]),
          ratio(median(kw SUBSEP "mps"), median(kt SUBSEP "mps")), ratio(median(kw SUBSEP "mps"), median(kl SUBSEP "mps")),
          ratio(median(kw SUBSEP "mps"), median(kg SUBSEP "mps")),
          ratio(median(kw SUBSEP "p99"), median(kt SUBSEP "p99")), ratio(median(kw SUBSEP "p99"), median(kl SUBSEP "p99")),
          ratio(median(kw SUBSEP "cpu"), median(kf SUBSEP "cpu"))
      }
      print ""
      print "### weft fibers against weft coroutines"
      print ""
      print "examples/fiber_echo_server.c (a fiber per connection, blocking-style calls) against"
      print "examples/echo_server.c (a coroutine task per connection), same runtime and futures:"
      print "ratios fiber/coroutine; server CPU per message target: at most 1.05×."
      print ""
      print "| conns | size | msgs/s | p50 | p99 | server CPU/msg |"
      print "|---:|---:|---:|---:|---:|---:|"
      for (ci = 1; ci <= nc; ci++) for (zi = 1; zi <= nz; zi++) {
        kf = "weft_fiber" SUBSEP C[ci] SUBSEP Z[zi]; kc = "weft" SUBSEP C[ci] SUBSEP Z[zi]
        if (!runs[kf] || !runs[kc]) { printf "| %s | %s | no result | | | |\n", C[ci], sizename(Z[zi]); continue }
        printf "| %s | %s | %s | %s | %s | %s |\n", C[ci], sizename(Z[zi]),
          ratio(median(kf SUBSEP "mps"), median(kc SUBSEP "mps")), ratio(median(kf SUBSEP "p50"), median(kc SUBSEP "p50")),
          ratio(median(kf SUBSEP "p99"), median(kc SUBSEP "p99")), ratio(median(kf SUBSEP "cpu"), median(kc SUBSEP "cpu"))
      }
      print ""
      print "### Syscalls per echoed message"
      print ""
      print "One run per server and row. The floor for a readiness-based server is one read and one write per"
      print "message, plus its share of one epoll_wait per batch of ready connections."
      print ""
      printf "| conns | size |"; for (si = 1; si <= ns; si++) printf " %s |", label[S[si]]; print ""
      printf "|---:|---:|"; for (si = 1; si <= ns; si++) printf "---:|"; print ""
      for (ci = 1; ci <= nc; ci++) for (zi = 1; zi <= nz; zi++) {
        printf "| %s | %s |", C[ci], sizename(Z[zi])
        for (si = 1; si <= ns; si++) {
          k = S[si] SUBSEP C[ci] SUBSEP Z[zi]
          printf " %s |", (k in sys_tot) ? sprintf("%.2f", sys_tot[k]) : (note[S[si]] != "" ? note[S[si]] : "–")
        }
        print ""
      }
      print ""
      print "Which syscalls, per message (the five most frequent, then the rest):"
      print ""
      print "| conns | size | server | syscalls per message |"
      print "|---:|---:|---|---|"
      for (ci = 1; ci <= nc; ci++) for (zi = 1; zi <= nz; zi++) for (si = 1; si <= ns; si++) {
        k = S[si] SUBSEP C[ci] SUBSEP Z[zi]
        if (k in sys_tot) printf "| %s | %s | %s | %s |\n", C[ci], sizename(Z[zi]), label[S[si]], sys_det[k]
      }
    }' "$RES"
  cat <<EOF

### Method

- **Load generator** (\`bench/echo/loadgen.c\`): plain C, pthreads + level-triggered epoll, no weft.
  Every connection keeps exactly one message in flight (closed loop): write the message, read until
  all of it came back, compare every byte, record the round trip (\`clock_gettime(CLOCK_MONOTONIC)\`)
  in a log-linear histogram (under 1.6 % relative error), send the next one. Connections are opened
  before the clock starts; ${WARMUP} s of warm-up are not recorded; a message counts when its echo
  completes inside the measured window. Loopback (127.0.0.1), client sockets with TCP_NODELAY.
- **Alternation**: for every row and round, the servers run one after another in one run, the order
  rotating from round to round; each server is started fresh for each measurement. The tables give the
  median over ${ROUNDS} rounds of each column separately.
- **Server CPU per message**: the server's utime+stime (all its threads) from \`/proc/PID/stat\`, read
  by the load generator at the start and the end of the measured interval, divided by the messages
  counted in it. The resolution is one clock tick (10 ms), under 1 % of a 3 s interval at full load.
- **Syscalls per message**: a separate, shorter run (${SC_SECS} s measured) per server and row.
  With perf, the server runs under \`perf stat\` counting \`raw_syscalls:sys_enter\` (every syscall)
  and \`syscalls:sys_enter_NAME\` for about thirty usual ones (the rest is "(other)"), in all its
  threads, only between the load generator's "enable" and "disable" at the edges of the measured interval, divided
  by the messages counted in it. With strace (\`strace -c -f\`, when perf cannot count tracepoints) the
  count covers the whole run, accepts included, divided by every message echoed, and the tracing
  slows the server, which changes how many connections one epoll_wait finds ready.
- **Servers**: all single-threaded, listening on 127.0.0.1. weft: \`examples/echo_server\` with its
  defaults (\`ECHO_WEFT_ARGS\`: ${WEFT_ARGS:-none}). The peers and the floor read into 64 KiB buffers. Tokio: the classic echo (\`TcpListener\` accept loop, \`tokio::spawn\` per connection, \`read\` into
  a per-connection buffer, \`write_all\`) on a \`current_thread\` runtime, release build with LTO.
  libuv: \`uv_read_start\` with a per-connection 64 KiB buffer handed out by the alloc callback and
  \`uv_try_write\` of what was read (falling back to \`uv_write\` of a copy, with reading stopped, after a
  short write); no malloc per message (libuv's example echo mallocs a buffer per read and a request per
  write). Go: goroutine per connection, read/write loop, GOMAXPROCS=1 (the Go runtime keeps a few
  threads of its own; Go sets TCP_NODELAY on accepted sockets). floor: \`bench/echo/floor_epoll.c\`,
  one level-triggered epoll loop, exactly one \`read\` and one \`write\` per message.

### Reading these numbers on a 2-core machine

The load generator uses one thread by default, so the load generator and the server each have about
one core. With one connection the exchange is a ping-pong: each side sleeps while the other works, and
throughput is set by the wake-up latency of both sides, not by either one's CPU. From 100 connections
on, both processes are busy; when the load generator's CPU column approaches 100 %, it sets the pace
and the servers' throughput figures converge (they measure the client), while the server's CPU per
message still tells the servers apart: that column, and the syscalls per message, are the ones to
compare there. A server that is cheaper per message shows it as a lower server CPU % at the same rate.
With N connections in a closed loop, the mean round trip is N / throughput (Little's law): at 100
and 1,000 connections the p50 mostly restates the throughput, and it includes the time an echo
waits in the socket until the one-thread load generator gets to it; the p99 against the p50 shows how
evenly the server serves its connections. With one connection the latency is the real round trip.
Other work on the machine (builds, other benchmarks) takes cores from both sides; the load average
above says how busy the machine was. Ratios between servers measured in the same run hold better than
absolute numbers, which drift from run to run; still, the min–max column shows how far apart the rounds
of one server land, and a ratio closer to 1.00× than that spread is noise. More load threads
(ECHO_LOAD_THREADS=2) take the second core from the server, so they are unlikely to help on 2 cores.
EOF
} > "$OUT.tmp" && mv "$OUT.tmp" "$OUT"
log "wrote $OUT (raw results in $RES) in $(( $(date +%s) - started )) s"
