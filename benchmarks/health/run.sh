#!/usr/bin/env bash
# benchmarks/health/run.sh: GET /api/v1/health through lighttpd with wrk at 16
# connections, against a bare libfcgi hello world behind the same lighttpd
# configuration, alternated ROUNDS times in one run; prints medians, the ratio,
# latency percentiles and worker RSS, and appends them to docs/benchmarks.md.
#
#   benchmarks/health/run.sh [DURATION_S=10] [ROUNDS=3]
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
DUR=${1:-10}; ROUNDS=${2:-3}; WORKERS=${WORKERS:-2}; CONN=16
make -s "$BUILD/cartograph" "$BUILD/bench/bench_fcgi_hello" >/dev/null
TMP=$(mktemp -d /tmp/cartograph-bench-health.XXXXXX)
FRONT_PID=""
cleanup() {
  [ -n "$FRONT_PID" ] && kill "$FRONT_PID" 2>/dev/null || true
  # libfcgi's SIGTERM handler only flags a shutdown that a blocked accept()
  # never sees: the hello processes (pids written by spawn-fcgi -P) get SIGKILL.
  [ -f "$TMP/hello/run/hello.pid" ] && kill -KILL $(cat "$TMP/hello/run/hello.pid") 2>/dev/null || true
  scripts/stack.sh stop "$TMP/var" >/dev/null 2>&1 || true
  rm -rf "$TMP"
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# Cartograph stack.
P1=$(port)
scripts/stack.sh start "$TMP/var" "$P1" "$WORKERS" lighttpd
# Hello world: WORKERS copies on one socket, same lighttpd config.
mkdir -p "$TMP/hello"/{run,log,tmp,www,exports}
P2=$(port)
spawn-fcgi -s "$TMP/hello/run/fcgi.sock" -M 0600 -F "$WORKERS" -P "$TMP/hello/run/hello.pid" \
  -- "$PWD/$BUILD/bench/bench_fcgi_hello" >/dev/null
sed -e "s|@VAR@|$TMP/hello|g" -e "s|@PORT@|$P2|g" -e "s|@SOCKET@|$TMP/hello/run/fcgi.sock|g" \
  lighttpd.conf > "$TMP/hello/run/lighttpd.conf"
lighttpd -D -f "$TMP/hello/run/lighttpd.conf" & FRONT_PID=$!
for _ in $(seq 50); do curl -fs -o /dev/null "http://127.0.0.1:$P2/" && break; sleep 0.1; done

run_wrk() { # url -> "rps p50_ms p99_ms"
  wrk -t2 -c$CONN -d"${DUR}s" --latency "$1" > "$TMP/wrk.out"
  python3 - "$TMP/wrk.out" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", v)
    if not m:
        sys.exit("cannot parse wrk latency %r in:\n%s" % (v, t))
    x = float(m.group(1)); u = m.group(2)
    return {"us": x / 1000, "ms": x, "s": x * 1000, "m": x * 60000}[u]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
p50 = ms(re.search(r"^\s*50%\s+(\S+)", t, re.M).group(1)); p99 = ms(re.search(r"^\s*99%\s+(\S+)", t, re.M).group(1))
errs = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
print(f"{rps:.0f} {p50:.3f} {p99:.3f} {errs.group(1) if errs else 0}")
PY
}

wpids=$(ps -o pid=,comm= --ppid "$(cat "$TMP/var/run/master.pid")" | awk '$2 == "cartograph" {print $1}' | tr '\n' ' ')
idle_rss=$(for p in $wpids; do awk '/^VmRSS/ {print $2}' /proc/$p/status; done | sort -n | tail -1)
declare -a H C
for r in $(seq "$ROUNDS"); do
  H+=("$(run_wrk "http://127.0.0.1:$P2/")")
  C+=("$(run_wrk "http://127.0.0.1:$P1/api/v1/health")")
  echo "round $r: hello ${H[-1]} | health ${C[-1]}   (rps p50_ms p99_ms non2xx)"
done
busy_rss=$(for p in $wpids; do awk '/^VmHWM/ {print $2}' /proc/$p/status; done | sort -n | tail -1)
summary=$(python3 - "${H[@]}" -- "${C[@]}" <<'PY'
import sys, statistics as st
a = sys.argv[1:]; i = a.index("--"); h = [x.split() for x in a[:i]]; c = [x.split() for x in a[i+1:]]
med = lambda rows, k: st.median(float(r[k]) for r in rows)
hr, cr = med(h, 0), med(c, 0)
print(f"hello {hr:.0f} req/s (p50 {med(h,1):.2f} ms, p99 {med(h,2):.2f} ms); "
      f"health {cr:.0f} req/s (p50 {med(c,1):.2f} ms, p99 {med(c,2):.2f} ms); "
      f"ratio {cr/hr:.2f}; non-2xx {sum(int(r[3]) for r in c)}")
PY
)
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
line="- $(date -u +%Y-%m-%dT%H:%MZ) \`benchmarks/health/run.sh $DUR $ROUNDS\` ($(nproc) cores, $cpu; lighttpd, $WORKERS workers, wrk -t2 -c$CONN -d${DUR}s, medians of $ROUNDS alternated rounds): $summary; worker RSS idle ${idle_rss} kB, peak after load ${busy_rss} kB"
echo "$line"
echo "$line" | benchmarks/append_result.py "## Health (front server + pipeline)"
