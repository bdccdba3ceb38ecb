#!/usr/bin/env bash
# benchmarks/ingest/big_body.sh: one ~1 GB NDJSON body through lighttpd into one worker.
#
# The issue's memory bound: a worker's RSS grows by at most 32 MB whatever the
# body size, and a 1 GB body works. ORDERS orders of one tenant (default
# 2,900,000, ~1.1 GiB of gen_dataset NDJSON, medium catalog) go as a single
# Content-Length request (curl --upload-file: curl streams the file, lighttpd
# streams it to the worker) into a stack of 2 workers. Prints the status, the
# orders inserted, wall time and orders/s, and the worker's peak RSS growth
# over its RSS before the request (VmHWM - VmRSS) with the anonymous part
# (RssAnon, sampled every 100 ms); appends the line to docs/benchmarks.md.
#
#   benchmarks/ingest/big_body.sh [ORDERS=2900000]
#   env: NO_DOC=1 (do not append), KEEP=1 (keep the body file and the database)
set -euo pipefail
cd "$(dirname "$0")/../.."
source benchmarks/ingest/rss.sh
BUILD=${BUILD:-build}
ORDERS=${1:-2900000}
WORKERS=2
make -s "$BUILD/cartograph" "$BUILD/gen_dataset" >/dev/null
GEN=$PWD/$BUILD/gen_dataset
W=${BENCH_DIR:-/tmp/cartograph-bench-ingest}
VAR=$W/big-run
BODY=$W/big-$ORDERS.ndjson
cleanup() {
  rss_stop
  scripts/stack.sh stop "$VAR" >/dev/null 2>&1 || true
  [ "${KEEP:-0}" = 1 ] || rm -rf "$VAR" "$BODY"
}
trap cleanup EXIT
mkdir -p "$W"
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
CPU=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
LOAD0=$(cut -d' ' -f1 /proc/loadavg)

if [ ! -f "$BODY" ]; then
  echo "generating $ORDERS orders of one tenant"
  rm -rf "$W/big-ds"
  "$GEN" --preset medium --tenants 1 --orders "$ORDERS" --chunk-rows 1000000 --out "$W/big-ds" \
    --progress none >/dev/null
  cat "$W/big-ds"/t01/orders-*.ndjson > "$BODY.tmp" && mv "$BODY.tmp" "$BODY"
  rm -rf "$W/big-ds"
fi
BYTES=$(stat -c %s "$BODY")
echo "body: $ORDERS orders, $((BYTES / 1048576)) MiB"

rm -rf "$VAR"
P=$(port)
scripts/stack.sh start "$VAR" "$P" "$WORKERS" lighttpd >/dev/null
"$GEN" --preset medium --tenants 1 --orders 0 --load --db "$VAR/cartograph.db" \
  --keys-out "$VAR/keys.json" --progress none >/dev/null
KEY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tenants"][0]["api_key"])' "$VAR/keys.json")
curl -fsS -o /dev/null "http://127.0.0.1:$P/api/v1/health"
pids=$(pgrep -P "$(cat "$VAR/run/master.pid")" | tr '\n' ' ')
rss_begin "$VAR/anon.txt" $pids

t0=$(date +%s.%N)
# No trailing / on the URL: with -T, curl would append the file's name.
status=$(curl -sS -o "$VAR/out.json" -w '%{http_code}' -X POST -T "$BODY" \
  -H "Authorization: Bearer $KEY" -H 'Content-Type: application/x-ndjson' \
  --max-time 3600 "http://127.0.0.1:$P/api/v1/ingest/orders") || status=000
t1=$(date +%s.%N)
rss_end
summary=$(python3 - "$VAR/out.json" "$status" "$t0" "$t1" "$RSS_PEAK_KB" "$RSS_ANON_KB" "$BYTES" <<'PY'
import json, sys
out, status, t0, t1, peak, anon, size = sys.argv[1:]
try:
    d = json.load(open(out))
except ValueError:
    d = {}
wall = float(t1) - float(t0)
ins = d.get("rows_inserted", 0)
print(f"HTTP {status}, {ins:,} orders inserted, {d.get('rows_failed', 0)} failed, "
      f"{int(size) / 1e9:.2f} GB in {wall:.0f} s ({ins / wall:,.0f} orders/s); "
      f"worker peak RSS growth {int(peak) / 1024:.1f} MiB (anonymous {int(anon) / 1024:.1f} MiB)")
PY
)
echo "$summary"
[ "${NO_DOC:-0}" = 1 ] && exit 0
echo "- $(date -u +%Y-%m-%dT%H:%MZ) \`benchmarks/ingest/big_body.sh $ORDERS\` at $(git rev-parse --short HEAD) ($(nproc) cores, $CPU; load average $LOAD0 at the start, $(cut -d' ' -f1 /proc/loadavg) at the end; one request, one tenant, lighttpd, $WORKERS workers): $summary" \
  | benchmarks/append_result.py "## Bulk ingest"
