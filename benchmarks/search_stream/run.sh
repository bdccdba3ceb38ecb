#!/usr/bin/env bash
# benchmarks/search_stream/run.sh: stream 100k-row order searches through
# lighttpd + one worker for several filter mixes, against a bare C loop over
# the same rows (benchmarks/bench_search_bare.c) in the same run; prints a
# table and appends it to docs/benchmarks.md.
#
#   benchmarks/search_stream/run.sh [RUNS=7]
#
# Env: NO_APPEND=1 (print only), PRESET (default medium), BENCH_DIR (default /tmp/cartograph-bench-search:
# the loaded database is kept there and reused by later runs), WORKERS (1).
# Per mix: one warm-up, then RUNS requests with curl (time to first byte,
# total, bytes; rows from the trailer), RUNS bare-loop and RUNS in-process
# core runs alternated; medians, p95 of total latency; worker RSS sampled
# every 2 ms during the requests (anonymous memory: heap and SQLite cache;
# file pages of the mmap'd database are page cache, reported separately).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${BUILD:-build}
RUNS=${1:-7}
PRESET=${PRESET:-medium}
BENCH_DIR=${BENCH_DIR:-/tmp/cartograph-bench-search}
WORKERS=${WORKERS:-1}
VAR=$BENCH_DIR/var
make -s "$BUILD/cartograph" "$BUILD/bench/bench_search_bare" "$BUILD/gen_dataset" >/dev/null
mkdir -p "$VAR"
if [ ! -f "$VAR/cartograph.db" ] || [ ! -f "$BENCH_DIR/tenants.json" ]; then
  echo "loading the $PRESET dataset into $VAR/cartograph.db (once; reused later)"
  rm -f "$VAR"/cartograph.db*
  "$BUILD/gen_dataset" --preset "$PRESET" --load --db "$VAR/cartograph.db" \
    --keys-out "$BENCH_DIR/tenants.json" --progress none >/dev/null
fi
TMP=$(mktemp -d /tmp/cartograph-bench-search-run.XXXXXX)
cleanup() { scripts/stack.sh stop "$VAR" >/dev/null 2>&1 || true; rm -rf "$TMP"; }
trap cleanup EXIT
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export CARTOGRAPH_ADMIN_KEY=${CARTOGRAPH_ADMIN_KEY:-cga_bench_$(date +%s%N)}
scripts/stack.sh stop "$VAR" >/dev/null 2>&1 || true
scripts/stack.sh start "$VAR" "$PORT" "$WORKERS" lighttpd >/dev/null
read -r PUB KEY CUR < <(python3 -c '
import json,sys; t=json.load(open(sys.argv[1]))["tenants"][0]; print(t["id"], t["api_key"], t["currency"])' "$BENCH_DIR/tenants.json")
TID=$(sqlite3 "$VAR/cartograph.db" "SELECT id FROM tenants WHERE public_id='$PUB'")
EXP=$(python3 -c 'import sys; print(0 if sys.argv[1] in ("JPY","KRW","ISK","CLP","VND") else 2)' "$CUR")
PRODUCTS=$(sqlite3 "$VAR/cartograph.db" "SELECT group_concat(ext_id, ',') FROM (SELECT ext_id FROM products WHERE tenant_id=$TID ORDER BY id LIMIT 64)")
WPID=$(ps -o pid=,comm= --ppid "$(cat "$VAR/run/master.pid")" | awk '$2 == "cartograph" {print $1}' | head -1)
FROM=2025-06-01T00:00:00Z; TO=2025-12-01T00:00:00Z
FROM_S=$(date -ud "$FROM" +%s); TO_S=$(date -ud "$TO" +%s)
scale=$((10 ** EXP))

# name | server query | bare-loop flags
MIXES=(
  "none|limit=100000|"
  "date range|limit=100000&from=$FROM&to=$TO|--from $FROM_S --to $TO_S"
  "status + total range|limit=100000&status=paid,shipped,delivered&currency=$CUR&min_total=20&max_total=500|--status-mask 14 --currency $CUR --min $((20 * scale)) --max $((500 * scale))"
  "product filter (64 ids)|limit=100000&product_id=$PRODUCTS|--products $PRODUCTS"
  "text search (q=example)|limit=100000&q=example|--q example"
)

sample_rss() { # pid outfile: max RssAnon and RssFile (kB) until killed
  python3 - "$1" "$2" <<'PY' &
import sys, time, signal
pid, out = sys.argv[1], sys.argv[2]
mx = [0, 0, 0]
def done(*_):
    open(out, "w").write("%d %d %d\n" % tuple(mx)); sys.exit(0)
signal.signal(signal.SIGTERM, done)
while True:
    try:
        for l in open("/proc/%s/status" % pid):
            if l.startswith("RssAnon:"): mx[0] = max(mx[0], int(l.split()[1]))
            if l.startswith("RssFile:"): mx[1] = max(mx[1], int(l.split()[1]))
            if l.startswith("VmRSS:"): mx[2] = max(mx[2], int(l.split()[1]))
    except OSError:
        pass
    time.sleep(0.002)
PY
  SAMPLER=$!
}
rss_now() { awk '/^RssAnon/ {a=$2} /^RssFile/ {f=$2} END {print a, f}' "/proc/$WPID/status"; }

# Warm the page cache once (all mixes read the same partitions).
curl -s -o /dev/null -H "Authorization: Bearer $KEY" "http://127.0.0.1:$PORT/api/v1/tenants/$PUB/orders/search?limit=100000"
read -r ANON0 FILE0 < <(rss_now)
LOAD0=$(cut -d' ' -f1 /proc/loadavg)
RESULTS=$TMP/results; : > "$RESULTS"
for mix in "${MIXES[@]}"; do
  IFS='|' read -r name qs bare <<< "$mix"
  url="http://127.0.0.1:$PORT/api/v1/tenants/$PUB/orders/search?$qs"
  curl -s -o /dev/null -H "Authorization: Bearer $KEY" "$url"   # warm-up
  sample_rss "$WPID" "$TMP/rss"
  : > "$TMP/http"; : > "$TMP/bare"; : > "$TMP/core"
  for r in $(seq "$RUNS"); do
    curl -s -o "$TMP/body" -w '%{time_starttransfer} %{time_total} %{size_download} %{http_code}\n' \
      -H "Authorization: Bearer $KEY" "$url" > "$TMP/w"
    rows=$(tail -n1 "$TMP/body" | python3 -c 'import sys,json; print(json.load(sys.stdin)["count"])')
    echo "$(cat "$TMP/w") $rows" >> "$TMP/http"
    # shellcheck disable=SC2086
    "$BUILD/bench/bench_search_bare" --db "$VAR/cartograph.db" --tenant-id "$TID" $bare >> "$TMP/bare"
    "$BUILD/bench/bench_search_bare" --db "$VAR/cartograph.db" --tenant-id "$TID" --core "$qs" >> "$TMP/core"
  done
  kill "$SAMPLER"; wait "$SAMPLER" 2>/dev/null || true
  read -r anon file peak < "$TMP/rss"
  python3 - "$name" "$TMP/http" "$TMP/bare" "$TMP/core" "$ANON0" "$anon" "$FILE0" "$file" "$peak" >> "$RESULTS" <<'PY'
import sys, statistics as st
name, hf, bf, cf = sys.argv[1:5]
anon0, anon, file0, file, peak = map(int, sys.argv[5:10])
h = [l.split() for l in open(hf) if l.strip()]
b = [l.split() for l in open(bf) if l.strip()]
c = [l.split() for l in open(cf) if l.strip()]
assert all(x[3] == "200" for x in h), "non-200 response"
rows = int(h[0][4]); brows = int(b[0][0])
tot = sorted(float(x[1]) for x in h)
p95 = tot[min(len(tot) - 1, int(round(0.95 * (len(tot) - 1))))]
ttfb = st.median(float(x[0]) for x in h)
size = st.median(int(x[2]) for x in h)
bt = st.median(float(x[1]) for x in b); ct = st.median(float(x[1]) for x in c)
p50 = st.median(tot)
print("|".join([name, str(rows), "%.0f" % (rows / p50), "%.2f" % (ttfb * 1e3), "%.1f" % (p50 * 1e3),
      "%.1f" % (p95 * 1e3), "%.0f" % (size / p50 / 1e6), "%.0f" % (brows / bt), "%.2f" % (bt / p50),
      "%.2f" % (bt / ct), "%.1f" % ((anon - anon0) / 1024), "%.1f" % ((file - file0) / 1024),
      "%.1f" % (peak / 1024),
      "ok" if brows == rows else "rows differ: bare %d" % brows]))
PY
  echo "  $(tail -n1 "$RESULTS")"
done

cpu=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
LOAD1=$(cut -d' ' -f1 /proc/loadavg)
{
  echo
  echo "## Search stream (order search, $PRESET preset), $(date -u '+%Y-%m-%d %H:%M') UTC"
  echo
  echo "\`benchmarks/search_stream/run.sh $RUNS\` on $(nproc) cores ($cpu), shared machine; lighttpd + $WORKERS worker, curl on 127.0.0.1, default projection, NDJSON; tenant $PUB ($CUR). Medians of $RUNS runs per mix, each alternated with the bare loop and the in-process core run; p95 is of the same $RUNS totals. Load average $LOAD0 at the start, $LOAD1 at the end (2 cores: above ~1 other work competes)."
  echo
  echo "| mix | rows | rows/s (HTTP) | TTFB ms | total p50 ms | total p95 ms | MB/s | bare rows/s | HTTP / bare | core / bare | worker RssAnon growth MB | mmap file pages MB | worker peak RSS MB | same rows |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
  while IFS='|' read -r a b c d e f g h i j k l m n; do
    echo "| $a | $b | $c | $d | $e | $f | $g | $h | $i | $j | $k | $l | $m | $n |"
  done < "$RESULTS"
  echo
  echo "HTTP / bare = bare-loop seconds / HTTP total seconds for the same rows (target >= 0.7); core / bare = the same for core/search.c in process, without FastCGI, lighttpd and curl. RssAnon growth: peak anonymous RSS of the worker during the mix minus its value after the warm-up request (target <= 16 MB); mmap file pages are the database pages the worker maps (page cache, shared, not worker memory), which peak RSS (VmRSS, sampled) includes."
} > "$TMP/section"
cat "$TMP/section"
[ "${NO_APPEND:-0}" = 1 ] || sed '0,/^## /s//### /' "$TMP/section" | benchmarks/append_result.py "## Search stream"
