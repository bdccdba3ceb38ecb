#!/usr/bin/env bash
# benchmarks/stock_race/run.sh: stock bulk updates through lighttpd (see
# race.py): 8 concurrent clients x 50 merges of +1 on one product must end at
# exactly +400; a mixed-mode concurrent workload (with one multi-group,
# product-locked request) must match a serial replay; NDJSON merge batches of
# 100k events measure events/s. Appends one line to docs/benchmarks.md.
#
#   benchmarks/stock_race/run.sh            (WORKERS=4 by default; NO_DOC=1 prints only)
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
WORKERS=${WORKERS:-4}
make -s "$BUILD/cartograph" >/dev/null
TMP=$(mktemp -d /tmp/cartograph-bench-stock.XXXXXX)
cleanup() { scripts/stack.sh stop "$TMP/var" >/dev/null 2>&1 || true; rm -rf "$TMP"; }
trap cleanup EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export CARTOGRAPH_ADMIN_KEY=cga_bench_$(date +%s%N)
scripts/stack.sh start "$TMP/var" "$PORT" "$WORKERS" lighttpd
BASE="http://127.0.0.1:$PORT"
read -r TENANT KEY < <(curl -fsS -X POST "$BASE/api/v1/tenants" -H "Authorization: Bearer $CARTOGRAPH_ADMIN_KEY" \
  -d '{"name":"bench"}' | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["id"], d["api_key"])')

res=$(python3 benchmarks/stock_race/race.py "$BASE" "$TENANT" "$KEY" "$CARTOGRAPH_ADMIN_KEY")
echo "$res"
hist() { # metric quantile -> the smallest bucket bound holding that share of the observations
  curl -s "$BASE/metrics" | python3 -c '
import sys, re
name, q = sys.argv[1], float(sys.argv[2])
b = {}
for l in sys.stdin:
    m = re.match(name + r"_bucket\{(?:.*,)?le=\"([^\"]+)\"\} (\d+)", l)
    if m: b[m.group(1)] = b.get(m.group(1), 0) + int(m.group(2))
ks = sorted(b, key=lambda k: float("inf") if k == "+Inf" else float(k))
tot = b[ks[-1]] if ks else 0
print(next((k for k in ks if b[k] >= q * tot), "?") if tot else "?")' "$1" "$2"
}
wait_p99=$(hist cartograph_db_write_lock_wait_seconds 0.99)
commit_max=$(hist cartograph_db_commit_duration_seconds 1.0)
wait_max=$(hist cartograph_db_write_lock_wait_seconds 1.0)
# The slowest price event as the worker saw it (its JSON log line), to tell server from client.
srv_max=$(python3 -c '
import json, sys
m = 0.0
for l in open(sys.argv[1]):
    try: d = json.loads(l)
    except ValueError: continue
    if d.get("route") == "price_event": m = max(m, d.get("duration_ms", 0))
print(round(m, 1))' "$TMP/var/log/cartograph.log")
summary=$(python3 - "$res" "$wait_p99" "$commit_max" "$wait_max" "$srv_max" <<'PY'
import json, sys
d = json.loads(sys.argv[1]); r, s, t = d["race"], d["serial"], d["throughput"]
print(f"race 8x50 merges of +1 -> quantity {r['quantity']} version {r['version']} "
      f"({'OK' if r['ok'] else 'FAIL'}, {r['seconds']} s); "
      f"mixed modes: {s['requests']} requests ({s['applied']} product batches applied, {s['rejected']} rejected, one 12k-event "
      f"locked multi-group request) vs serial replay: acyclic={s['acyclic']}, answers differing "
      f"{s['answer_mismatches']}, final state {'matches' if s['final_state_matches'] else 'DIFFERS'} "
      f"({'OK' if s['ok'] else 'FAIL'}); throughput 100k-event NDJSON merge over 100 products, "
      f"median of 3: {t['apply_events_per_s_median']} events/s applying, "
      f"{t['request_events_per_s_median']} events/s whole request, {t['commit_groups']} commit "
      f"groups per request, longest group apply {t['longest_group_ms']} ms, longest COMMIT "
      f"{t['longest_commit_ms']} ms; "
      + (f"price events sent back to back meanwhile: {d['small_writes']['count']}, p50 "
         f"{d['small_writes']['p50_ms']} ms, p99 {d['small_writes']['p99_ms']} ms, max "
         f"{d['small_writes']['max_ms']} ms (slowest as the worker logged it: {sys.argv[5]} ms); "
         if "small_writes" in d else "") +
      f"write-lock wait p99 bucket <= {sys.argv[2]} s, max <= {sys.argv[4]} s; longest COMMIT of any request "
      f"in bucket <= {sys.argv[3]} s (checkpoints run in the housekeeper)")
PY
)
cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
line="- $(date -u +%Y-%m-%dT%H:%MZ) \`benchmarks/stock_race/run.sh\` ($(nproc) cores, $cpu; lighttpd, $WORKERS workers): $summary"
echo "$line"
[ "${NO_DOC:-0}" = 1 ] || echo "$line" | benchmarks/append_result.py "## Stock bulk updates"
python3 -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if d["race"]["ok"] and d["serial"]["ok"] else 1)' "$res"
