#!/usr/bin/env bash
# test.sh SERVICE_BINARY: the example service against a real redis-server
# (started here by scripts/test-servers/redis.sh), exercised with curl over
# HTTPS that verifies the service's certificate: create, read, replace,
# list, delete, 404s, refused bodies and ids (400), 405, what Redis holds,
# and graceful shutdown on SIGINT — a request in flight finishes, new
# connections are refused, the exit status is 0 — a grace period that
# runs out, and a second SIGINT that cuts the grace period short. On the multi_thread runtime (WEFT_TEST_RUNTIME) with 2 workers.
set -uo pipefail
bin=${1:?usage: test.sh SERVICE_BINARY}
. "$(dirname "${BASH_SOURCE[0]}")/env.sh"
SVC_BIN=$bin
threads=1
[ "${WEFT_TEST_RUNTIME:-current_thread}" = multi_thread ] && threads=2
fails=0
fail() { echo "FAILED: $*" >&2; fails=$((fails + 1)); }
command -v curl >/dev/null || { echo "FAILED: curl is missing (scripts/deps.sh as root)" >&2; exit 1; }
command -v redis-cli >/dev/null || { echo "FAILED: redis-cli is missing (redis-server's package)" >&2; exit 1; }
svc_setup || { echo "FAILED: could not set up (above)" >&2; exit 1; }
svc_start --threads "$threads" --grace-ms 30000 || { echo "FAILED: the service did not start" >&2; exit 1; }
base=https://localhost:$SVC_PORT

# req METHOD PATH [BODY]: sets STATUS and BODY (curl verifies the certificate).
req() {
  local out args=(-sS --max-time 20 --cacert "$SVC_CERT" -X "$1" -w '\n%{http_code}')
  [ $# -ge 3 ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
  out=$(curl "${args[@]}" "$base$2" 2>&1) || { STATUS=curl-error; BODY=$out; return; }
  STATUS=${out##*$'\n'}
  BODY=${out%$'\n'*}
  BODY=${BODY%$'\n'} # the error bodies end in a newline
}
expect() { # WHAT STATUS [BODY]
  [ "$STATUS" = "$2" ] || { fail "$1: status $STATUS, expected $2 (body: $BODY)"; return; }
  [ $# -lt 3 ] || [ "$BODY" = "$3" ] || fail "$1: body '$BODY', expected '$3'"
}

item='{"title":"milk","done":false}'
req PUT /items/milk "$item";            expect "create" 201 "$item"
req GET /items/milk;                    expect "read" 200 "$item"
stored=$(redis-cli -p "$REDIS_PORT" HGET weft-service:items milk)
[ "$stored" = "$item" ] || fail "redis holds '$stored', expected '$item'"
item2='{"title":"milk","done":true,"tags":["dairy"],"n":-1.5e3,"s":"caf\u00e9 ✓"}'
req PUT /items/milk "$item2";           expect "replace" 200 "$item2"
req GET /items/milk;                    expect "read the replacement" 200 "$item2"
req PUT /items/eggs '{"title":"eggs"}'; expect "create another" 201
redis-cli -p "$REDIS_PORT" HSET weft-service:items 'odd"field' '{}' other 'not json' >/dev/null
req GET /items
expect "list" 200
case "$BODY" in *'"milk":'*'"eggs":'*|*'"eggs":'*'"milk":'*) ;; *) fail "list: $BODY";; esac
case "$BODY" in *odd*|*'not json'*) fail "list shows what the service did not store: $BODY";; esac
req DELETE /items/milk;                 expect "delete" 204 ""
req GET /items/milk;                    expect "read a deleted item" 404 '{"error":"not found"}'
req DELETE /items/milk;                 expect "delete twice" 404
req GET /items/nothing-here;            expect "read a missing item" 404
req GET /nowhere;                       expect "unknown path" 404
for bad in 'not json' '[1,2]' '{"title":' '{"a":1,}' '{"a":01}' '{"a":"\x"}' '' '{} {}'; do
  req PUT /items/bad "$bad";            expect "refuse body '$bad'" 400
done
req PUT /items/bad $'{"a":"\xc3\x28"}'; expect "refuse bad UTF-8" 400
req GET /items/bad;                     expect "a refused body stored nothing" 404
req GET '/items/a%20b';                 expect "refuse a bad id" 400
req POST /items/milk '{}';              expect "POST" 405
big=$(head -c 70000 /dev/zero | tr '\0' 'x')
req PUT /items/big "{\"x\":\"$big\"}";  expect "refuse a body over 64 KiB" 413
req GET /health;                        expect "health" 200

# Graceful shutdown. A request is in flight — its handler has started
# reading the body: the service said 100 Continue — when SIGINT comes.
# tls_client NAME: openssl s_client to the service as a coprocess; its
# pipes are kept in NAME_in / NAME_out (bash forgets SC's when it exits).
tls_client() {
  coproc SC { openssl s_client -quiet -connect "127.0.0.1:$SVC_PORT" -servername localhost 2>/dev/null; }
  exec {sc_out}<&"${SC[0]}" {sc_in}>&"${SC[1]}"
  eval "$1_out=$sc_out $1_in=$sc_in $1_pid=$SC_PID"
}
# wait_100 FD: reads until the 100 Continue line (and the empty line after it).
wait_100() {
  local line
  while IFS= read -r -t 20 line <&"$1"; do
    case "$line" in "HTTP/1.1 100"*) IFS= read -r -t 5 line <&"$1"; return 0;; esac
  done
  return 1
}
tls_client late
printf 'PUT /items/late HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 15\r\nExpect: 100-continue\r\n\r\n' >&"$late_in"
got100=0
wait_100 "$late_out" && got100=1
[ $got100 = 1 ] || fail "no 100 Continue for the request in flight"
kill -INT "$SVC_PID"
refused=0
for _ in $(seq 1 200); do # the listener closes at once; poll until it has
  if ! curl -s --max-time 5 --cacert "$SVC_CERT" -o /dev/null "$base/health"; then refused=1; break; fi
  sleep 0.05
done
[ $refused = 1 ] || fail "new connections are still served after SIGINT"
kill -0 "$SVC_PID" 2>/dev/null || fail "the service did not wait for the request in flight"
printf '{"title":"ok"}\n' >&"$late_in" # the body: 15 bytes
answer=$(timeout 20 cat <&"$late_out" | tr -d '\r')
exec {late_in}>&- {late_out}<&-
case "$answer" in "HTTP/1.1 201"*) ;; *) fail "the request in flight got: $answer";; esac
grep -qi '^connection: close' <<< "$answer" || fail "the last answer did not say Connection: close"
st=0; wait "$SVC_PID" || st=$?; SVC_PID=
[ $st = 0 ] || fail "exit status after SIGINT: $st ($(cat "$SVC_TMP/service.err"))"
grep -q 'stopped after' "$SVC_TMP/service.out" || fail "no closing line: $(cat "$SVC_TMP/service.out")"
[ "$(redis-cli -p "$REDIS_PORT" HGET weft-service:items late)" = '{"title":"ok"}' ] ||
  fail "the request that finished during the shutdown was not stored"

# A grace period that runs out: the request in flight never gets its
# body; the service cancels it after 300 ms and still exits 0.
svc_start --threads "$threads" --grace-ms 300 || fail "the service did not start again"
tls_client never
printf 'PUT /items/never HTTP/1.1\r\nHost: localhost\r\nContent-Length: 15\r\nExpect: 100-continue\r\n\r\n' >&"$never_in"
got100=0
wait_100 "$never_out" && got100=1
[ $got100 = 1 ] || fail "no 100 Continue for the request that never ends"
st=0; svc_stop || st=$?
[ $st = 0 ] || fail "exit status after the grace period ran out: $st"
grep -q 'grace period ran out' "$SVC_TMP/service.err" || fail "no word about the cancelled request: $(cat "$SVC_TMP/service.err")"
kill "$never_pid" 2>/dev/null
exec {never_in}>&- {never_out}<&-

# A second SIGINT during the grace period cancels what is left at once.
svc_start --threads "$threads" --grace-ms 60000 || fail "the service did not start a third time"
tls_client stuck
printf 'PUT /items/stuck HTTP/1.1\r\nHost: localhost\r\nContent-Length: 15\r\nExpect: 100-continue\r\n\r\n' >&"$stuck_in"
wait_100 "$stuck_out" || fail "no 100 Continue for the stuck request"
kill -INT "$SVC_PID"
for _ in $(seq 1 200); do grep -q 'stopping' "$SVC_TMP/service.out" && break; sleep 0.05; done
grep -q 'stopping' "$SVC_TMP/service.out" || fail "the first SIGINT did not start the shutdown"
st=0; svc_stop || st=$? # the second SIGINT; waits for the exit (not the 60 s grace)
[ $st = 0 ] || fail "exit status after a second SIGINT: $st"
grep -q 'second signal' "$SVC_TMP/service.err" || fail "no word about the second signal: $(cat "$SVC_TMP/service.err")"
kill "$stuck_pid" 2>/dev/null
exec {stuck_in}>&- {stuck_out}<&-

# Bad arguments and an unreadable certificate.
"$SVC_BIN" --cert /nonexistent --key /nonexistent >/dev/null 2>&1; st=$?
[ $st = 1 ] || fail "a missing certificate: status $st, expected 1"
"$SVC_BIN" --bogus 1 >/dev/null 2>&1; st=$?
[ $st = 2 ] || fail "bad arguments: status $st, expected 2"

# examples/https_hello, the same HTTPS plumbing in a small program: the
# certificate verifies, TLS 1.3 with the one suite asked for, SIGTERM ends it.
hello=$(dirname "$SVC_BIN")/../https_hello
if [ -x "$hello" ]; then
  hp=$(svc_free_port)
  "$hello" --port "$hp" --cert "$SVC_CERT" --key "$SVC_KEY" --tls13-ciphers TLS_AES_128_GCM_SHA256 \
    > "$SVC_TMP/hello.out" 2>&1 &
  hpid=$!
  for _ in $(seq 1 200); do grep -q listening "$SVC_TMP/hello.out" && break; sleep 0.05; done
  out=$(curl -sS --max-time 20 --cacert "$SVC_CERT" -w ' %{http_code}' "https://localhost:$hp/json" 2>&1)
  [ "$out" = '{"message":"Hello, World!"} 200' ] || fail "https_hello answered: $out (it said: $(cat "$SVC_TMP/hello.out"))"
  cipher=$(echo | openssl s_client -connect "127.0.0.1:$hp" 2>/dev/null | grep -o 'TLSv1.3, Cipher is [A-Z0-9_]*')
  [ "$cipher" = "TLSv1.3, Cipher is TLS_AES_128_GCM_SHA256" ] || fail "https_hello negotiated: $cipher"
  kill -TERM "$hpid"; st=0; wait "$hpid" || st=$?
  [ $st = 0 ] || fail "https_hello exit status after SIGTERM: $st"
else
  fail "examples/https_hello is not built ($hello)"
fi

[ $fails = 0 ] || { echo "test_service: $fails checks failed" >&2; exit 1; }
echo "test_service: every check passed ($threads thread(s))"
