#!/usr/bin/env bash
# A load test of the example service with wrk over HTTPS: four GETs for
# each PUT over 100 items (load.lua), keep-alive. Against a running
# service (SERVICE_URL=https://localhost:8443, as run.sh prints), or
# without one it starts its own (certificate, redis-server, build: as
# run.sh) and stops it afterwards.
#
#   examples/service/load.sh
#   SERVICE_URL=https://localhost:8443 examples/service/load.sh
#
# Environment: LOAD_SECS [10], LOAD_CONNS [64], LOAD_WRK_THREADS [1],
# SERVICE_THREADS [1] (for a service it starts), SERVICE_BUILD [build/release].
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/env.sh"
command -v wrk >/dev/null || { echo "load.sh: wrk is missing (apt-get install wrk)" >&2; exit 1; }
command -v curl >/dev/null || { echo "load.sh: curl is missing" >&2; exit 1; }
url=${SERVICE_URL:-}
if [ -z "$url" ]; then
  svc_setup || exit 1
  svc_build "${SERVICE_BUILD:-build/release}" || exit 1
  svc_start --threads "${SERVICE_THREADS:-1}" || exit 1
  url=https://localhost:$SVC_PORT
  echo "load.sh: started the service at $url (redis on port $REDIS_PORT)"
fi
# Every id exists before the reads (one curl, one connection).
urls=()
for i in $(seq 0 99); do urls+=("$url/items/$i"); done
curl -sSk -X PUT -H 'Content-Type: application/json' -d '{"title":"first"}' "${urls[@]}" >/dev/null ||
  { echo "load.sh: could not store the items at $url" >&2; exit 1; }
echo "load.sh: wrk -t${LOAD_WRK_THREADS:-1} -c${LOAD_CONNS:-64} -d${LOAD_SECS:-10}s over HTTPS, 80% GET, 20% PUT"
wrk -t"${LOAD_WRK_THREADS:-1}" -c"${LOAD_CONNS:-64}" -d"${LOAD_SECS:-10}s" --latency -s "$here/load.lua" "$url"
status=$?
if [ -n "$SVC_PID" ]; then
  svc_stop || { echo "load.sh: the service exited with status $?" >&2; status=1; }
  cat "$SVC_TMP/service.out"
fi
exit $status
