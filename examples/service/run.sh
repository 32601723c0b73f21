#!/usr/bin/env bash
# Runs the example service with one command: makes a self-signed
# certificate, starts a redis-server on a free port in a temporary
# directory, builds the service if needed, and serves HTTPS until Ctrl-C
# (a graceful shutdown), then stops redis and removes the directory.
#
#   examples/service/run.sh [--port 8443] [--threads N]      (or: make service)
#
# Environment: SERVICE_BUILD [build/release].
set -uo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
port=${SERVICE_PORT:-8443}; threads=1
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    *) echo "usage: $0 [--port N] [--threads N]" >&2; exit 2 ;;
  esac
done
svc_setup || exit 1
svc_build "${SERVICE_BUILD:-build/release}" || exit 1
cat <<MSG
service: redis-server on 127.0.0.1:$REDIS_PORT (in $SVC_TMP, removed at exit)
service: try, in another terminal:
  curl --cacert $SVC_CERT -X PUT -d '{"title":"milk","done":false}' https://localhost:$port/items/milk
  curl --cacert $SVC_CERT https://localhost:$port/items/milk
  curl --cacert $SVC_CERT https://localhost:$port/items
  curl --cacert $SVC_CERT -X DELETE https://localhost:$port/items/milk
  SERVICE_URL=https://localhost:$port examples/service/load.sh     # wrk over HTTPS
service: Ctrl-C stops it gracefully.
MSG
# In the foreground (not exec): Ctrl-C reaches the service, which shuts
# down; then the EXIT trap stops redis and removes the directory.
# The trap makes this script outlive the Ctrl-C that the service takes as
# its signal to stop, and report the service's own exit status.
trap : INT TERM
"$SVC_BIN" --cert "$SVC_CERT" --key "$SVC_KEY" --listen "127.0.0.1:$port" \
  --redis "127.0.0.1:$REDIS_PORT" --threads "$threads"
status=$?
exit $status
