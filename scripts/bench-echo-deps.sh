#!/usr/bin/env bash
# Installs what the echo benchmark (bench/echo/run.sh) needs, from Debian's
# packages: a C compiler, libuv (libuv1-dev) for the libuv peer, Go
# (golang-go) for the Go peer, strace for the syscall count, and, when no
# cargo is on PATH, Debian's cargo. Tokio's crates always come from Debian
# (librust-tokio-dev puts them under /usr/share/cargo/registry), so the Tokio
# peer builds offline with whichever cargo is found.
# As root it installs what is missing; otherwise it names what is missing and
# fails. --quiet: say nothing when everything is there.
set -euo pipefail
quiet=0
for a in "$@"; do case "$a" in --quiet) quiet=1 ;; esac; done

have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# A rustup cargo may live outside PATH on some machines.
[ -d "${HOME:-/root}/.cargo/bin" ] && PATH="$PATH:${HOME:-/root}/.cargo/bin"

need=()
have_cmd cc || need+=(gcc)
have_pkg libuv1-dev || need+=(libuv1-dev)
have_pkg pkg-config || have_cmd pkg-config || need+=(pkg-config)
have_cmd go || [ -x /usr/lib/go/bin/go ] || need+=(golang-go)
have_cmd strace || need+=(strace)
have_pkg librust-tokio-dev || need+=(librust-tokio-dev)
have_cmd cargo || need+=(cargo)

if [ ${#need[@]} -eq 0 ]; then
  [ "$quiet" = 1 ] || echo "bench-echo-deps: everything is installed"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "bench-echo-deps: missing: ${need[*]}" >&2
  echo "bench-echo-deps: run as root, or: apt-get install ${need[*]}" >&2
  exit 1
fi
echo "bench-echo-deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
echo "bench-echo-deps: done"
