#!/usr/bin/env bash
# Makes sure the toolchains `make bench` needs are present:
#   - python3 (the runner, bench/tools/bench.py)
#   - a cargo + rustc: rustup's (~/.cargo/bin) or Debian's (cargo, rustc);
#     either works, the Tokio peer is written for Debian's rustc 1.63
#   - Tokio 1.24 and its dependencies as Debian crates in
#     /usr/share/cargo/registry (librust-tokio-dev), which the peer is built
#     from offline (bench/peers/tokio/.cargo/config.toml)
# As root it installs what is missing with apt-get; otherwise it names what
# is missing and exits 1.
#   --quiet        say nothing when everything is there
#   --print-cargo  print the path of the cargo to use on the last line
set -euo pipefail
quiet=0; print_cargo=0
for a in "$@"; do
  case "$a" in
    --quiet) quiet=1 ;;
    --print-cargo) print_cargo=1 ;;
    *) echo "usage: $0 [--quiet] [--print-cargo]" >&2; exit 2 ;;
  esac
done
say() { [ "$quiet" = 1 ] || echo "bench-deps: $*" >&2; }

REGISTRY=/usr/share/cargo/registry

find_cargo() {
  if [ -n "${CARGO:-}" ] && [ -x "$(command -v "$CARGO" 2>/dev/null || true)" ]; then
    command -v "$CARGO"; return 0
  fi
  if command -v cargo >/dev/null 2>&1; then command -v cargo; return 0; fi
  for c in "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" /usr/bin/cargo; do
    if [ -x "$c" ]; then echo "$c"; return 0; fi
  done
  return 1
}

have_crate() { compgen -G "$REGISTRY/$1" >/dev/null; }

need=()
command -v python3 >/dev/null 2>&1 || need+=(python3)
cargo_bin=$(find_cargo || true)
[ -n "$cargo_bin" ] || need+=(cargo rustc)
# Tokio itself plus the crates behind the features the peers enable
# (rt, rt-multi-thread, time, sync, net, macros, process; fs and io-util
# for the file peer) and libc.
for c in "tokio-1.*" "tokio-macros-[0-9]*" "mio-0.8*" "socket2-0.4*" "num_cpus-1*" \
         "signal-hook-registry-1*" "bytes-1*" "memchr-2*" \
         "pin-project-lite-0.2*" "libc-0.2*"; do
  if ! have_crate "$c"; then need+=(librust-tokio-dev); break; fi
done

if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    say "missing: ${need[*]}"
    echo "bench-deps: run as root, or: apt-get install ${need[*]}" >&2
    exit 1
  fi
  say "installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
  cargo_bin=$(find_cargo || true)
  if [ -z "$cargo_bin" ]; then echo "bench-deps: cargo still missing after install" >&2; exit 1; fi
fi

say "cargo: $cargo_bin ($("$cargo_bin" --version 2>/dev/null || echo '?'))"
say "tokio crates: $(cd "$REGISTRY" && ls -d tokio-1.* | tr '\n' ' ')"
[ "$print_cargo" = 1 ] && echo "$cargo_bin"
exit 0
