#!/usr/bin/env bash
# redis.sh start DIR PORT: starts redis-server on 127.0.0.1:PORT with its
#   files in DIR (no persistence), as an unprivileged user; waits until it
#   answers PING; writes DIR/pid. Exit 0 when it answers, 1 with the reason.
# redis.sh stop DIR: stops it (SIGTERM, then SIGKILL) and removes DIR.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/common.sh"
cmd=${1:-}; dir=${2:-}
[ -n "$dir" ] || die "usage: redis.sh start DIR PORT | stop DIR"
case "$cmd" in
start)
  port=${3:?port}
  command -v redis-server >/dev/null || die "redis-server is not installed (apt-get install redis-server, or scripts/deps.sh as root)"
  user=$(server_user weft-test)
  mkdir -p "$dir"
  give "$dir" "$user"
  # Foreground in the background, so that the pid is the server's own.
  as_user "$user"
  "${AS_USER[@]}" redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" \
    --save '' --appendonly no --daemonize no --protected-mode no \
    --logfile "$dir/redis.log" --unixsocket '' >/dev/null 2>&1 </dev/null &
  pid=$!
  echo "$pid" > "$dir/pid"
  for _ in $(seq 1 200); do
    if ! kill -0 "$pid" 2>/dev/null; then
      die "redis-server exited at start: $(tail -n 3 "$dir/redis.log" 2>/dev/null)"
    fi
    if redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null | grep -q PONG; then exit 0; fi
    sleep 0.05
  done
  kill -9 "$pid" 2>/dev/null || true
  die "redis-server on port $port did not answer within 10 s"
  ;;
stop)
  if [ -f "$dir/pid" ]; then
    pid=$(cat "$dir/pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "$dir"
  ;;
*) die "usage: redis.sh start DIR PORT | stop DIR" ;;
esac
