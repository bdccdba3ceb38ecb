#!/usr/bin/env bash
# stack.sh: start or stop one Cartograph stack (front server + spawn-fcgi +
# master + workers) rooted at a var directory. Used by `make run`, `make stop`
# and the integration tests, so all three start and stop the same way.
#
#   scripts/stack.sh start VAR_DIR PORT WORKERS [lighttpd|caddy]
#   scripts/stack.sh stop  VAR_DIR
#
# Every process is recorded in VAR_DIR/run/*.pid and stopped by that PID only.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
bin="$here/$BUILD/cartograph"

render() { # template out var port socket
  sed -e "s|@VAR@|$3|g" -e "s|@PORT@|$4|g" -e "s|@SOCKET@|$5|g" "$1" > "$2"
}

wait_ready() { # port seconds
  local i
  for ((i = 0; i < $2 * 20; i++)); do
    if curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$1/api/v1/health" 2>/dev/null; then
      return 0
    fi
    sleep 0.05
  done
  return 1
}

start() {
  local var port workers front
  var=$(mkdir -p "$1" && cd "$1" && pwd); port=$2; workers=$3; front=${4:-lighttpd}
  mkdir -p "$var"/{run,log,tmp,www,exports,secret}
  local sock="$var/run/fcgi.sock"
  if [ -f "$var/run/master.pid" ] && kill -0 "$(cat "$var/run/master.pid")" 2>/dev/null; then
    echo "stack.sh: already running in $var (master $(cat "$var/run/master.pid"))" >&2
    return 1
  fi
  "$bin" migrate --var "$var" >/dev/null
  rm -f "$sock"
  spawn-fcgi -n -s "$sock" -M 0600 -- "$bin" serve --var "$var" --workers "$workers" \
    >>"$var/log/master.out" 2>&1 &
  echo $! > "$var/run/master.pid"
  for _ in $(seq 100); do [ -S "$sock" ] && break; sleep 0.02; done
  case "$front" in
    lighttpd)
      render "$here/lighttpd.conf" "$var/run/lighttpd.conf" "$var" "$port" "$sock"
      lighttpd -D -f "$var/run/lighttpd.conf" >>"$var/log/front.out" 2>&1 &
      ;;
    caddy)
      render "$here/caddy/Caddyfile" "$var/run/Caddyfile" "$var" "$port" "$sock"
      HOME="$var" caddy run --config "$var/run/Caddyfile" --adapter caddyfile \
        >>"$var/log/front.out" 2>&1 &
      ;;
    *) echo "stack.sh: unknown front server $front" >&2; return 2 ;;
  esac
  echo $! > "$var/run/front.pid"
  echo "$front" > "$var/run/front.name"
  if ! wait_ready "$port" 15; then
    echo "stack.sh: server did not become ready on port $port; logs in $var/log" >&2
    tail -n 20 "$var/log/front.out" "$var/log/master.out" >&2 || true
    stop "$var"
    return 1
  fi
}

stop_pid() { # pidfile
  local f=$1 pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
}

stop() {
  local var=$1
  stop_pid "$var/run/front.pid"
  stop_pid "$var/run/master.pid"
  rm -f "$var/run/fcgi.sock"
}

cmd=${1:-}; shift || true
case "$cmd" in
  start) start "$@" ;;
  stop) stop "$@" ;;
  *) echo "usage: $0 start VAR_DIR PORT WORKERS [lighttpd|caddy] | stop VAR_DIR" >&2; exit 2 ;;
esac
