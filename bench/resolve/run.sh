#!/usr/bin/env bash
# bench/resolve/run.sh: 1,000 concurrent name lookups on a current_thread
# runtime, three ways, alternating: weft with weft-ares (c-ares on the
# reactor), weft with its default resolver (getaddrinfo on at most 4
# blocking-pool threads), and Tokio's tokio::net::lookup_host (getaddrinfo
# on a spawn_blocking thread per lookup). The names are those of
# /etc/hosts, cycled over, so every lookup is answered from the file and no
# name server is asked. Writes docs/benchmarks-resolve.md.
#
# Environment:
#   BENCH_ROUNDS=5             processes per mode, alternating (order rotates)
#   RESOLVE_ROUNDS=20          timed rounds of 1,000 lookups in each process
#   RESOLVE_N=1000             lookups per round
#   RESOLVE_NAMES="a b"        the names (default: every name of /etc/hosts)
#   BENCH_BUILD_DIR=build/release   weft's CMake build (configured if absent)
#   BENCH_RESOLVE_OUT=docs/benchmarks-resolve.md
#   CARGO=..., RUSTC=...       as for bench/run.sh
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"
BUILD=${BENCH_BUILD_DIR:-build/release}
PEER_TARGET=build/peers/tokio
ROUNDS=${BENCH_ROUNDS:-5}
INNER=${RESOLVE_ROUNDS:-20}
N=${RESOLVE_N:-1000}
OUT=${BENCH_RESOLVE_OUT:-docs/benchmarks-resolve.md}
JOBS=${JOBS:-$(nproc)}

# The names: every name of /etc/hosts (comments dropped), once each.
if [ -n "${RESOLVE_NAMES:-}" ]; then
  read -r -a names <<<"$RESOLVE_NAMES"
else
  mapfile -t names < <(sed 's/#.*//' /etc/hosts | awk '{for (i = 2; i <= NF; i++) print $i}' | awk '!seen[$0]++')
fi
[ ${#names[@]} -gt 0 ] || { echo "bench/resolve: no names in /etc/hosts" >&2; exit 1; }

# 1. weft's program.
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release >/dev/null
fi
if grep -q '^WEFT_BUILD_BENCH:BOOL=OFF$' "$BUILD/CMakeCache.txt"; then
  cmake -S . -B "$BUILD" -DWEFT_BUILD_BENCH=ON >/dev/null
fi
echo "bench/resolve: building bench_resolve in $BUILD"
cmake --build "$BUILD" -j "$JOBS" --target bench_resolve >"$BUILD/bench-resolve-build.log" 2>&1 ||
  { tail -n 20 "$BUILD/bench-resolve-build.log" >&2; exit 1; }
weft_bin=$BUILD/bench/bench_resolve

# 2. The Tokio peer (offline, from Debian's crates; see scripts/bench-deps.sh).
CARGO=$(bash scripts/bench-deps.sh --quiet --print-cargo | tail -n1)
if [ -z "${RUSTC:-}" ] && [ -x "$(dirname "$CARGO")/rustc" ]; then
  export RUSTC="$(dirname "$CARGO")/rustc"
fi
echo "bench/resolve: building tokio_resolve with $CARGO"
rm -f bench/peers/tokio/Cargo.lock
(cd bench/peers/tokio && CARGO_TARGET_DIR="$ROOT/$PEER_TARGET" "$CARGO" build --release --offline --quiet --bin tokio_resolve)
tokio_bin=$PEER_TARGET/release/tokio_resolve

# 3. Run: the three modes alternate, the order rotating each round.
modes=(ares getaddrinfo tokio)
if ! "$weft_bin" ares --n 1 --rounds 1 "${names[@]}" >/dev/null 2>&1; then
  echo "bench/resolve: the ares mode does not run (weft-ares not built? c-ares: scripts/deps.sh)" >&2
  modes=(getaddrinfo tokio)
fi
raw=$(mktemp /tmp/weft-bench-resolve.XXXXXX)
trap 'rm -f "$raw"' EXIT
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench/resolve: ${#names[@]} names (${names[*]}), $N lookups, $ROUNDS x $INNER rounds per mode"
for r in $(seq 0 $((ROUNDS - 1))); do
  for k in $(seq 0 $((${#modes[@]} - 1))); do
    m=${modes[$(((r + k) % ${#modes[@]}))]}
    case "$m" in
      tokio) "$tokio_bin" --n "$N" --rounds "$INNER" "${names[@]}" >>"$raw" ;;
      *) "$weft_bin" "$m" --n "$N" --rounds "$INNER" "${names[@]}" >>"$raw" ;;
    esac
  done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

# 4. The page.
tokio_ver=$(sed -n 's/^name = "tokio"$/&/p;/^name = "tokio"$/{n;s/^version = "\(.*\)"$/\1/p}' bench/peers/tokio/Cargo.lock | tail -n1)
cc_ver=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
cc_ver="$("${cc_ver:-cc}" --version | head -n1)"
ares_ver=$(pkg-config --modversion libcares 2>/dev/null || echo '?')
python3 - "$raw" "$OUT" "$ROUNDS" "$INNER" "$N" "$(date -u '+%Y-%m-%d %H:%M UTC')" \
  "$(nproc)" "$(uname -sr)" "$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . 2>/dev/null || echo +dirty)" \
  "$cc_ver" "$tokio_ver" "$("$RUSTC" --version 2>/dev/null || rustc --version)" "$ares_ver" \
  "$load_before" "$load_after" "${names[*]}" <<'PY'
import statistics, sys
(raw, out, rounds, inner, n, date, ncpu, kernel, git, cc, tokio, rustc, ares,
 load_before, load_after, names) = sys.argv[1:]
rows = {}
for line in open(raw):
    f = line.split()
    if not f or f[0] != "RESULT":
        continue
    kv = dict(x.split("=", 1) for x in f[2:])
    rows.setdefault(f[1], []).append((int(kv["round"]), float(kv["secs"]), float(kv["cpu"]), int(kv["threads"])))
# The largest thread sample of each process (round 0 starts a process).
procs = {}
for name, r in rows.items():
    for x in r:
        if x[0] == 0:
            procs.setdefault(name, []).append(0)
        procs[name][-1] = max(procs[name][-1], x[3])
def stats(name):
    r = rows.get(name, [])
    if not r:
        return None
    return dict(wall=statistics.median(x[1] for x in r), cpu=statistics.median(x[2] for x in r),
                first=statistics.median(x[1] for x in r if x[0] == 0), threads=max(procs[name]),
                threads_lo=min(procs[name]),
                samples=len(r))
desc = {
    "resolve_ares": ("weft + weft-ares", "c-ares driven by the runtime's reactor; hosts-file names answered at start"),
    "resolve_getaddrinfo": ("weft, default resolver", "getaddrinfo on the blocking pool, at most 4 lookups running at once, the rest queued"),
    "resolve_tokio": ("Tokio `lookup_host`", "getaddrinfo on `spawn_blocking`, a pool thread per lookup (up to 512)"),
}
tk = stats("resolve_tokio")
ms = lambda s: "%.2f ms" % (s * 1e3)
lines = [
    "# Name lookups: 1,000 at once",
    "",
    "Written by `bench/resolve/run.sh` (part of `make bench`). One row of the toolkit's",
    "benchmark list: %s concurrent lookups against Tokio's thread-per-lookup path." % format(int(n), ","),
    "",
    "Each round spawns %s tasks on a current_thread runtime, task *i* looking up" % format(int(n), ","),
    "`NAME[i mod %d]:80`, and joins them in order; it is timed from the first spawn to the" % len(names.split()),
    "last join. The names are every name of this machine's `/etc/hosts` (`%s`)," % names,
    "so **every lookup is answered from the hosts file, without a DNS server**: the row",
    "measures the resolver machinery (queues, threads, wake-ups), not the network.",
    "",
    "| | |",
    "|---|---|",
    "| date | %s |" % date,
    "| machine | nproc %s, %s; load average %s before, %s after (it counts runnable threads: the peer's own pool threads too) |" % (ncpu, kernel, load_before, load_after),
    "| rounds | processes per mode: %s, the modes alternating (order rotating); timed rounds of %s lookups in each: %s; %s rounds per mode, medians shown |" % (rounds, format(int(n), ","), inner, int(rounds) * int(inner)),
    "| weft | git %s, %s, CMake Release; c-ares %s |" % (git, cc, ares),
    "| tokio | %s (Debian librust-tokio-dev, built offline), %s, release, lto=fat |" % (tokio or "?", rustc),
    "",
    "| mode | resolver | median wall | median CPU | first round wall | peak threads | wall / Tokio | CPU / Tokio |",
    "|---|---|--:|--:|--:|--:|--:|--:|",
]
for name in ("resolve_ares", "resolve_getaddrinfo", "resolve_tokio"):
    s = stats(name)
    label, how = desc[name]
    if s is None:
        lines.append("| %s | %s | not run | | | | | |" % (label, how))
        continue
    rw = "%.2f" % (s["wall"] / tk["wall"]) if tk else "–"
    rc = "%.2f" % (s["cpu"] / tk["cpu"]) if tk else "–"
    th = "%d" % s["threads"] if s["threads_lo"] == s["threads"] else "%d (%d–%d)" % (s["threads"], s["threads_lo"], s["threads"])
    lines.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
        label, how, ms(s["wall"]), ms(s["cpu"]), ms(s["first"]), th, rw, rc))
lines += [
    "",
    "- *CPU* is the process's user + system time over the round (`getrusage`, every thread).",
    "- *First round wall* is the median over processes of round 0, which includes starting",
    "  the pool threads; later rounds find them idle and reuse them.",
    "- *Peak threads* is the largest `Threads:` of `/proc/self/status` of the whole process,",
    "  main thread included, sampled after the 1st, 100th, 200th, … join of every round",
    "  (while the other lookups are in flight). Pool threads outlive a round on both sides,",
    "  so the count reached in one round is still there at the next sample. When the",
    "  processes of a mode differ, the range of their peaks follows in parentheses.",
    "- weft's getaddrinfo resolver runs at most 4 lookups at once; the pool may hold a few",
    "  more idle threads than that (a runner that has just finished its queue has not yet",
    "  gone back to the pool when the next lookup asks for one).",
    "- With weft-ares, names of the hosts file and `localhost` are answered when the lookup",
    "  starts, on the runtime thread, with no thread of its own. Names that need DNS go to",
    "  the name servers through the reactor; that case is not measured here.",
    "- No name server is asked in any mode: under `strace -f`, glibc's getaddrinfo (weft's",
    "  default resolver and Tokio) reads `/etc/hosts` and only tries nscd's Unix socket,",
    "  and c-ares reads `/etc/hosts`; none opens a socket to a name server.",
    "",
]
open(out, "w").write("\n".join(lines))
print("\n".join(l for l in lines if l.startswith("| ") and not l.startswith("| |") and "|--" not in l and "| date" not in l and "| machine" not in l and "| rounds" not in l and "| weft |" not in l and "| tokio |" not in l))
PY
echo "bench/resolve: wrote $OUT"
