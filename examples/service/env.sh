# Shared by run.sh, load.sh and test.sh (sourced): a temporary directory
# with a self-signed certificate, a redis-server in it on a free port
# (scripts/test-servers/redis.sh: as an unprivileged user when we are
# root), the service built if needed, and everything stopped at exit.
#
#   svc_setup            sets SVC_TMP, SVC_CERT, SVC_KEY, REDIS_PORT; traps EXIT to clean up
#   svc_build [BUILD]    builds the service (build/release by default); sets SVC_BIN
#   svc_start ARGS...    starts the service in the background on a free port; sets SVC_PID, SVC_PORT
#   svc_stop             SIGINT, then waits for it; returns its exit status
SVC_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SVC_TMP=; SVC_PID=; REDIS_DIR=

svc_log() { echo "service: $*" >&2; }

svc_cleanup() {
  [ -n "$SVC_PID" ] && kill -KILL "$SVC_PID" 2>/dev/null
  [ -n "$REDIS_DIR" ] && bash "$SVC_ROOT/scripts/test-servers/redis.sh" stop "$REDIS_DIR" >/dev/null 2>&1
  [ -n "$SVC_TMP" ] && rm -rf "$SVC_TMP"
  SVC_PID=; REDIS_DIR=; SVC_TMP=
}

# A port nobody listens on now (another program may take it before we
# bind it: the callers try again).
svc_free_port() {
  local p
  for _ in $(seq 1 50); do
    # below the kernel's ephemeral range (32768 and up by default), where
    # the outgoing connections of tests running alongside take their ports
    p=$((20000 + RANDOM % 12000))
    if ! (exec 3<> "/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  return 1
}

svc_setup() {
  trap svc_cleanup EXIT
  trap 'exit 130' INT TERM
  command -v openssl >/dev/null || { svc_log "openssl is missing (scripts/deps.sh as root installs it)"; return 1; }
  SVC_TMP=$(mktemp -d /tmp/weft-service.XXXXXX)
  SVC_CERT=$SVC_TMP/cert.pem; SVC_KEY=$SVC_TMP/key.pem
  # A self-signed certificate for localhost and 127.0.0.1, made now, good for a day.
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$SVC_KEY" -out "$SVC_CERT" >/dev/null 2>&1 || { svc_log "openssl could not make a certificate"; return 1; }
  local why
  for _ in 1 2 3 4; do
    REDIS_PORT=$(svc_free_port) || break
    # A directory of its own: SVC_TMP (with the key) is ours alone, and
    # redis-server may run as another user.
    REDIS_DIR=$(mktemp -d /tmp/weft-service-redis.XXXXXX)
    if why=$(bash "$SVC_ROOT/scripts/test-servers/redis.sh" start "$REDIS_DIR" "$REDIS_PORT" 2>&1); then
      return 0
    fi
    bash "$SVC_ROOT/scripts/test-servers/redis.sh" stop "$REDIS_DIR" >/dev/null 2>&1
    REDIS_DIR=
  done
  svc_log "could not start redis-server: ${why:-no free port}"
  return 1
}

svc_build() {
  local build=${1:-build/release}
  SVC_BIN=$SVC_ROOT/$build/examples/service/service
  if [ ! -f "$SVC_ROOT/$build/.configured" ]; then
    make -C "$SVC_ROOT" "$build/.configured" >&2 || return 1
  fi
  cmake --build "$SVC_ROOT/$build" --target service -j "$(nproc)" >"$SVC_TMP/build.log" 2>&1 ||
    { cat "$SVC_TMP/build.log" >&2; svc_log "the build failed"; return 1; }
  [ -x "$SVC_BIN" ] || { svc_log "not built: $SVC_BIN (is libhiredis-dev installed? scripts/deps.sh)"; return 1; }
}

# svc_start [ARGS...]: the service on 127.0.0.1, a port of the kernel's
# choice (read back from what it prints), in the background.
svc_start() {
  : > "$SVC_TMP/service.out"
  "$SVC_BIN" --cert "$SVC_CERT" --key "$SVC_KEY" --listen 127.0.0.1:0 \
    --redis "127.0.0.1:$REDIS_PORT" "$@" > "$SVC_TMP/service.out" 2> "$SVC_TMP/service.err" &
  SVC_PID=$!
  for _ in $(seq 1 400); do
    SVC_PORT=$(sed -n 's/.*(port \([0-9]*\)).*/\1/p' "$SVC_TMP/service.out")
    [ -n "$SVC_PORT" ] && return 0
    kill -0 "$SVC_PID" 2>/dev/null || break
    sleep 0.05
  done
  svc_log "the service did not start: $(cat "$SVC_TMP/service.err")"
  return 1
}

svc_stop() {
  local st=0
  kill -INT "$SVC_PID" 2>/dev/null
  wait "$SVC_PID" || st=$?
  SVC_PID=
  return $st
}
