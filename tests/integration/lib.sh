# lib.sh: the integration test harness, sourced by every tests/integration/test_*.sh.
#
# Each test file starts its own stack (front server + spawn-fcgi + master +
# workers) on a free loopback port with a temporary VAR_DIR, and an EXIT trap
# stops it by PID whatever happens. Assertions count into PASSED/FAILED; the
# file ends with `finish`, which prints "N passed, N failed" and sets the exit
# code. Helpers:
#
#   stack_start [lighttpd|caddy] [workers]   sets BASE, VAR, ADMIN_KEY
#   http METHOD PATH [curl args...]          sets STATUS, BODY, HDRS (files too)
#   ok NAME  / fail NAME DETAIL              record a result
#   expect_status NAME CODE                  compare $STATUS
#   expect_json NAME JQ_EXPR EXPECTED        compare a JSON field of $BODY
#   new_tenant NAME                          sets TENANT_ID, TENANT_KEY
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD=${BUILD:-build}
export BUILD
PASSED=0
FAILED=0
TEST_NAME=$(basename "$0" .sh)
TMP=$(mktemp -d "/tmp/cartograph-${TEST_NAME}.XXXXXX")
STACKS=()

cleanup() {
  local v
  for v in "${STACKS[@]:-}"; do
    [ -n "$v" ] && "$ROOT/scripts/stack.sh" stop "$v" >/dev/null 2>&1
  done
  if [ "${KEEP_TMP:-0}" = 1 ] || [ "$FAILED" -gt 0 ]; then
    echo "  (artifacts kept in $TMP)"
  else
    rm -rf "$TMP"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 - <<'PY'
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()
PY
}

stack_start() { # [front] [workers] [var]
  local front=${1:-lighttpd} workers=${2:-2}
  VAR=${3:-$TMP/var-$front-$RANDOM}
  PORT=$(free_port)
  BASE="http://127.0.0.1:$PORT"
  export CARTOGRAPH_ADMIN_KEY=${CARTOGRAPH_ADMIN_KEY:-cga_test_admin_key_$(date +%s%N)}
  ADMIN_KEY=$CARTOGRAPH_ADMIN_KEY
  STACKS+=("$VAR")
  if ! "$ROOT/scripts/stack.sh" start "$VAR" "$PORT" "$workers" "$front"; then
    fail "stack_start($front)" "stack did not start"
    finish
  fi
}

stack_stop() { "$ROOT/scripts/stack.sh" stop "${1:-$VAR}"; }

# Request worker pids among the master's children (the housekeeper is "cartograph-hk").
worker_pids() {
  ps -o pid=,comm= --ppid "$(cat "$VAR/run/master.pid")" | awk '$2 == "cartograph" {print $1}' | sort -n
}
housekeeper_pid() {
  ps -o pid=,comm= --ppid "$(cat "$VAR/run/master.pid")" | awk '$2 == "cartograph-hk" {print $1}'
}

http() { # METHOD PATH [curl args...]
  local method=$1 path=$2; shift 2
  HDRS=$TMP/last.headers
  BODYF=$TMP/last.body
  STATUS=$(curl -sS -o "$BODYF" -D "$HDRS" -w '%{http_code}' -X "$method" \
    --max-time "${HTTP_TIMEOUT:-30}" "$@" "$BASE$path" 2>"$TMP/last.curlerr") || STATUS=000
  BODY=$(cat "$BODYF")
}

header() { # NAME -> value of that response header (last one)
  grep -i "^$1:" "$HDRS" | tail -n1 | cut -d: -f2- | sed 's/^ *//; s/\r$//'
}

ok() { PASSED=$((PASSED + 1)); echo "  ok   $1"; }
fail() {
  FAILED=$((FAILED + 1)); echo "  FAIL $1: ${2:-}"
  [ -n "${BODY:-}" ] && echo "       last body: ${BODY:0:400}"
  return 0
}

expect_status() { # NAME CODE
  if [ "$STATUS" = "$2" ]; then ok "$1"; else fail "$1" "status $STATUS, expected $2"; fi
}

json() { # EXPR [file] -> value printed by python (None -> null)
  python3 -c '
import json, sys
d = json.load(open(sys.argv[2]))
v = eval(sys.argv[1], {"d": d})
print(json.dumps(v) if not isinstance(v, str) else v)' "$1" "${2:-$BODYF}" 2>/dev/null
}

expect_json() { # NAME EXPR EXPECTED  (EXPR is python over d, e.g. 'd["code"]')
  local got; got=$(json "$2")
  if [ "$got" = "$3" ]; then ok "$1"; else fail "$1" "$2 = '$got', expected '$3'"; fi
}

expect_problem() { # NAME STATUS CODE: a problem+json with that status and code
  local ct; ct=$(header Content-Type)
  if [ "$STATUS" != "$2" ]; then fail "$1" "status $STATUS, expected $2"; return; fi
  if [[ "$ct" != application/problem+json* ]]; then fail "$1" "content-type '$ct'"; return; fi
  expect_json "$1" 'd["code"]' "$3"
}

new_tenant() { # NAME -> TENANT_ID TENANT_KEY
  http POST /api/v1/tenants -H "Authorization: Bearer $ADMIN_KEY" -d "{\"name\":\"$1\"}"
  TENANT_ID=$(json 'd["id"]'); TENANT_KEY=$(json 'd["api_key"]')
  [ "$STATUS" = 201 ] || fail "new_tenant $1" "status $STATUS"
}

# A sanitizer report, a worker killed by a signal, or a handler that left a
# statement or transaction open, in any stack's logs, fails the file.
check_logs() {
  local v
  for v in "${STACKS[@]:-}"; do
    [ -n "$v" ] && [ -d "$v/log" ] || continue
    if grep -qsE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' "$v"/log/*.out; then
      fail "sanitizer report in $v/log" "$(grep -hsE 'ERROR|runtime error' "$v"/log/*.out | head -3)"
    fi
    if grep -qsE 'left a (statement unreset|transaction open)' "$v/log/cartograph.log"; then
      fail "a handler left a statement or transaction open in $v" \
        "$(grep -hE 'left a (statement unreset|transaction open)' "$v/log/cartograph.log" | head -2)"
    fi
    if [ "${EXPECT_WORKER_DEATHS:-0}" != 1 ] && grep -qs 'killed by signal' "$v/log/cartograph.log"; then
      fail "a worker crashed in $v" "$(grep -h 'killed by signal' "$v/log/cartograph.log" | head -2)"
    fi
  done
}

finish() {
  check_logs
  echo "$TEST_NAME: $PASSED passed, $FAILED failed"
  [ "$FAILED" -eq 0 ] && [ "$PASSED" -gt 0 ]
  exit $?
}
