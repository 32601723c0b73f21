#!/usr/bin/env bash
# Makes sure what the build and tests need is installed. As root it installs
# what is missing from Debian's packages; otherwise it names what is missing.
# --quiet: say nothing when everything is there. --bench: also the peers'
# toolchains (cargo and Tokio's crates, Go, libuv, wrk).
set -euo pipefail
quiet=0; bench=0
for a in "$@"; do
  case "$a" in --quiet) quiet=1 ;; --bench) bench=1 ;; esac
done

need=()
have_cmd() { command -v "$1" >/dev/null 2>&1; }
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

have_cmd cmake || need+=(cmake)
have_cmd pkg-config || need+=(pkg-config)
have_pkg libcmocka-dev || need+=(libcmocka-dev)
have_cmd spin || need+=(spin)
have_pkg liburing-dev || need+=(liburing-dev)
have_cmd doxygen || need+=(doxygen)
# weft-ares (libs/ares): the c-ares resolver
have_pkg libc-ares-dev || need+=(libc-ares-dev)
# weft-tls (libs/tls): OpenSSL 3's headers; its tests start openssl and curl
have_pkg libssl-dev || need+=(libssl-dev)
have_cmd openssl || need+=(openssl)
have_cmd curl || need+=(curl)
# libweft-http's tests: libFuzzer (clang), real clients and a real server
have_cmd clang || need+=(clang)
have_cmd wrk || need+=(wrk)
have_cmd nginx || need+=(nginx-light)
# The adapters (libs/): the client libraries they build against, and the
# servers their tests start (scripts/test-servers/).
have_pkg libhiredis-dev || need+=(libhiredis-dev)
have_pkg libpq-dev || need+=(libpq-dev)
have_pkg libcurl4-openssl-dev || need+=(libcurl4-openssl-dev)
have_cmd redis-server || need+=(redis-server)
ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || need+=(postgresql)
if [ "$bench" = 1 ]; then
  have_pkg libuv1-dev || need+=(libuv1-dev)
  have_cmd go || need+=(golang-go)
  have_cmd strace || need+=(strace)
  have_pkg librust-tokio-dev || need+=(librust-tokio-dev)
  have_cmd cargo || need+=(cargo)
  have_cmd h2o || need+=(h2o)
  have_pkg librust-hyper-dev || need+=(librust-hyper-dev)
fi

if [ ${#need[@]} -eq 0 ]; then
  [ "$quiet" = 1 ] || echo "deps: everything is installed"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "deps: missing: ${need[*]}" >&2
  echo "deps: run as root, or: apt-get install ${need[*]}" >&2
  exit 1
fi
echo "deps: installing ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${need[@]}" >/dev/null
echo "deps: done"
