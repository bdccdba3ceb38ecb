#!/usr/bin/env bash
# benchmarks/price_events/run.sh: POST .../price-event through lighttpd with
# wrk at 16 connections (price_event.lua: a new event_id and Idempotency-Key
# per request, 100 products, rate limits set high), alternated with
# GET /api/v1/health in the same run; medians of ROUNDS rounds, the ratio,
# p50/p99; then rate-limit accuracy (accuracy.py). Appends one line to
# docs/benchmarks.md.
#
#   benchmarks/price_events/run.sh [DURATION_S=8] [ROUNDS=3]
#   env: WORKERS (default 2 x nproc, as make run), NO_DOC=1 (print only, do not append)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
DUR=${1:-8}; ROUNDS=${2:-3}; WORKERS=${WORKERS:-$((2 * $(nproc)))}; CONN=16; PRODUCTS=100
make -s "$BUILD/cartograph" >/dev/null
TMP=$(mktemp -d /tmp/cartograph-bench-price.XXXXXX)
cleanup() { scripts/stack.sh stop "$TMP/var" >/dev/null 2>&1 || true; rm -rf "$TMP"; }
trap cleanup EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export CARTOGRAPH_ADMIN_KEY=cga_bench_$(date +%s%N)
scripts/stack.sh start "$TMP/var" "$PORT" "$WORKERS" lighttpd
BASE="http://127.0.0.1:$PORT"
read -r TENANT KEY < <(curl -fsS -X POST "$BASE/api/v1/tenants" -H "Authorization: Bearer $CARTOGRAPH_ADMIN_KEY" \
  -d '{"name":"bench"}' | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["id"], d["api_key"])')
python3 - "$BASE" "$TENANT" "$KEY" "$CARTOGRAPH_ADMIN_KEY" "$PRODUCTS" <<'PY'
import http.client, json, sys, urllib.parse
base, t, key, admin, n = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
u = urllib.parse.urlparse(base); c = http.client.HTTPConnection(u.hostname, u.port)
def call(m, p, b, k):
    c.request(m, p, body=b, headers={"Authorization": "Bearer " + k, "Content-Type": "application/json"})
    r = c.getresponse(); d = r.read(); assert r.status in (200, 201), d
call("PATCH", f"/api/v1/tenants/{t}/settings", json.dumps({"rate_limits": {
    "price_events_tenant": {"rate": 10000000, "burst": 10000000},
    "price_events_product": {"rate": 10000000, "burst": 10000000}}}), admin)
for i in range(n):
    call("PUT", f"/api/v1/tenants/{t}/products/P{i}", json.dumps({"name": f"P{i}", "currency": "EUR", "price": "10.00"}), key)
PY

run_wrk() { # url [script] -> "rps p50_ms p99_ms non2xx"
  local url=$1; shift
  wrk -t2 -c$CONN -d"${DUR}s" --latency "$@" "$url" > "$TMP/wrk.out"
  python3 - "$TMP/wrk.out" <<'PY'
import re, sys
t = open(sys.argv[1]).read()
def ms(v):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", v)
    if not m:
        sys.exit("cannot parse wrk latency %r in:\n%s" % (v, t))
    x = float(m.group(1)); return {"us": x / 1000, "ms": x, "s": x * 1000, "m": x * 60000}[m.group(2)]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1))
p50 = ms(re.search(r"^\s*50%\s+(\S+)", t, re.M).group(1)); p99 = ms(re.search(r"^\s*99%\s+(\S+)", t, re.M).group(1))
errs = re.search(r"Non-2xx or 3xx responses: (\d+)", t)
print(f"{rps:.0f} {p50:.3f} {p99:.3f} {errs.group(1) if errs else 0}")
PY
}

declare -a H P
for r in $(seq "$ROUNDS"); do
  H+=("$(run_wrk "$BASE/api/v1/health")")
  P+=("$(TENANT=$TENANT KEY=$KEY PRODUCTS=$PRODUCTS RUN=r$r run_wrk "$BASE/" -s benchmarks/price_events/price_event.lua)")
  echo "round $r: health ${H[-1]} | price-event ${P[-1]}   (rps p50_ms p99_ms non2xx)"
done
stored=$(sqlite3 -cmd ".timeout 5000" "$TMP/var/cartograph.db" "SELECT count(*), sum(anomaly != 0) FROM price_events")
acc=$(python3 benchmarks/price_events/accuracy.py "$BASE" "$TENANT" "$KEY" "$CARTOGRAPH_ADMIN_KEY")
echo "$acc"
summary=$(python3 - "$acc" "$stored" "${H[@]}" -- "${P[@]}" <<'PY'
import json, sys, statistics as st
acc = json.loads(sys.argv[1]); stored = sys.argv[2].split("|")
a = sys.argv[3:]; i = a.index("--"); h = [x.split() for x in a[:i]]; p = [x.split() for x in a[i+1:]]
med = lambda rows, k: st.median(float(r[k]) for r in rows)
hr, pr = med(h, 0), med(p, 0)
accs = "; ".join(f"{x['scope']} R={x['rate_per_s']}/s B={x['burst']} over {x['seconds']} s: "
                 f"{x['accepted']} accepted of {x['sent']} sent, R*T+B = {x['expected']} "
                 f"({'OK' if x['ok'] else 'OFF BY MORE THAN 1'})" for x in acc)
print(f"price-event {pr:.0f} req/s (p50 {med(p,1):.2f} ms, p99 {med(p,2):.2f} ms, non-2xx "
      f"{sum(int(r[3]) for r in p)}); health {hr:.0f} req/s (p50 {med(h,1):.2f} ms, p99 "
      f"{med(h,2):.2f} ms); ratio price/health {pr/hr:.2f}; {stored[0]} events stored, "
      f"{stored[1]} anomalies; rate-limit accuracy: {accs}")
PY
)
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
line="- $(date -u +%Y-%m-%dT%H:%MZ) \`benchmarks/price_events/run.sh $DUR $ROUNDS\` ($(nproc) cores, $cpu; lighttpd, $WORKERS workers, wrk -t2 -c$CONN -d${DUR}s, Idempotency-Key + event_id per request, $PRODUCTS products, medians of $ROUNDS alternated rounds): $summary"
echo "$line"
[ "${NO_DOC:-0}" = 1 ] || echo "$line" | benchmarks/append_result.py "## Price events"
