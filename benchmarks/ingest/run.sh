#!/usr/bin/env bash
# benchmarks/ingest/run.sh: bulk ingest end to end, against the direct loader.
#
# The orders of a gen_dataset preset (medium: 4 tenants x 250k = 1M orders,
# ~3 items each) go through lighttpd to POST /api/v1/ingest/orders/: each
# tenant's orders are sent as X requests (X = 1, 10, 100; each tenant's file
# split on line boundaries), by 1 or 2 concurrent clients (2 workers), each
# one curl process sending its requests in turn over a keep-alive connection.
# Every configuration starts from a fresh database holding only the catalog
# (gen_dataset --orders 0 --load). In the same run the direct loader
# (gen_dataset --load, the same store_orders.c path without HTTP, parsing or
# validation) loads the same orders into a fresh database, and the ratio
# endpoint/direct is printed. Per configuration: orders/s over the wall time,
# request latency p50/p95, the workers' peak RSS growth over their RSS before
# the run (VmHWM - VmRSS; and the anonymous part alone, sampled every 100 ms).
# Prints a table and appends it to docs/benchmarks.md.
#
#   benchmarks/ingest/run.sh [PRESET=medium]
#   env: XS="1 10 100" CLIENTS="1 2" KEEP=1 (keep databases) NO_DOC=1 (do not append)
set -euo pipefail
cd "$(dirname "$0")/../.."
source benchmarks/ingest/rss.sh
ROOT=$PWD
BUILD=${BUILD:-build}
PRESET=${1:-medium}
XS=${XS:-1 10 100}
CLIENTS=${CLIENTS:-1 2}
WORKERS=2
make -s "$BUILD/cartograph" "$BUILD/gen_dataset" >/dev/null
GEN=$ROOT/$BUILD/gen_dataset
W=${BENCH_DIR:-/tmp/cartograph-bench-ingest}
mkdir -p "$W"
VAR=""
cleanup() {
  [ -n "$VAR" ] && scripts/stack.sh stop "$VAR" >/dev/null 2>&1 || true
  rss_stop
  [ "${KEEP:-0}" = 1 ] || rm -rf "$W"/run-* "$W"/direct
}
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

CPU=$(lscpu | sed -n 's/^Model name: *//p' | head -1)
LOAD0=$(cut -d' ' -f1 /proc/loadavg)

# 1. The dataset files (kept between runs of the same preset).
DS=$W/ds-$PRESET
if [ ! -f "$DS/manifest.json" ]; then
  rm -rf "$DS"
  echo "generating the $PRESET dataset into $DS"
  "$GEN" --preset "$PRESET" --out "$DS" --progress none >/dev/null
fi
TENANTS=$(cd "$DS" && ls -d t[0-9]*/ | tr -d / | tr '\n' ' ')
TOTAL=$(cat "$DS"/t*/orders-*.ndjson | wc -l)
BYTES=$(cat "$DS"/t*/orders-*.ndjson | wc -c)
echo "dataset: $PRESET, tenants: $TENANTS, $TOTAL orders, $((BYTES / 1048576)) MiB of NDJSON"

# 2. Request bodies: each tenant's orders split into X files on line boundaries.
for x in $XS; do
  [ -d "$DS/bodies-$x" ] && continue
  mkdir -p "$DS/bodies-$x.tmp"
  for t in $TENANTS; do
    [ -f "$DS/$t.all" ] || cat "$DS/$t"/orders-*.ndjson > "$DS/$t.all"
    split -n "l/$x" -d -a 3 "$DS/$t.all" "$DS/bodies-$x.tmp/$t-"
  done
  mv "$DS/bodies-$x.tmp" "$DS/bodies-$x"
done

# 3. The direct load of the same orders.
rm -rf "$W/direct"; mkdir -p "$W/direct"
echo "direct load (gen_dataset --preset $PRESET --load)"
"$GEN" --preset "$PRESET" --load --db "$W/direct/c.db" --stats "$W/direct/stats.json" \
  --keys-out "$W/direct/keys.json" --progress none >/dev/null
DIRECT=$(python3 -c 'import json,sys; print(int(json.load(open(sys.argv[1]))["tables"]["orders"]["rows_per_s"]))' "$W/direct/stats.json")
echo "  direct: $DIRECT orders/s (with items)"

# client.sh CLIENTS N JOBS: client N of CLIENTS takes every CLIENTS-th job
# line ("KEY FILE URL TAG") and sends them one after another from a single
# curl process over one keep-alive connection, as an integration pushing its
# files would (a curl process per request cost ~8 ms of process start-up,
# a fifth of a 2,500-order request); prints "status seconds" per request.
cat > "$W/client.sh" <<'SH'
#!/bin/sh
awk -v n="$1" -v k="$2" '(NR - 1) % n == k {
  if (seen++) print "next"
  printf "url = \"%s\"\nupload-file = \"%s\"\noutput = \"%s.out.%s\"\n", $3, $2, $2, $4
  printf "request = \"POST\"\nheader = \"Authorization: Bearer %s\"\n", $1
  printf "header = \"Content-Type: application/x-ndjson\"\nwrite-out = \"%%{http_code} %%{time_total}\\n\"\n"
  printf "silent\nshow-error\n" }' "$3" > "$3.curlrc.$2"
exec curl -K "$3.curlrc.$2"
SH
chmod +x "$W/client.sh"


# 4. The endpoint, per X and client count.
RESULTS=$W/results.txt; : > "$RESULTS"
for x in $XS; do
  for c in $CLIENTS; do
    VAR=$W/run-$x-$c; rm -rf "$VAR"
    P=$(port)
    scripts/stack.sh start "$VAR" "$P" "$WORKERS" lighttpd >/dev/null
    "$GEN" --preset "$PRESET" --orders 0 --load --db "$VAR/cartograph.db" --keys-out "$VAR/keys.json" \
      --progress none >/dev/null
    curl -fsS -o /dev/null "http://127.0.0.1:$P/api/v1/health"
    pids=$(pgrep -P "$(cat "$VAR/run/master.pid")" | tr '\n' ' ')
    rss_begin "$VAR/anon.txt" $pids
    jobs=$VAR/jobs.txt; : > "$jobs"
    for f in "$DS/bodies-$x"/t*-[0-9][0-9][0-9]; do
      t=$(basename "$f" | cut -d- -f1)
      key=$(python3 -c 'import json,sys; print([t["api_key"] for t in json.load(open(sys.argv[1]))["tenants"] if t["slug"] == sys.argv[2]][0])' "$VAR/keys.json" "$t")
      echo "$key $f http://127.0.0.1:$P/api/v1/ingest/orders $x-$c" >> "$jobs"
    done
    # Interleave tenants so concurrent clients write different tenants' rows.
    sort -t- -k2,2 -s "$jobs" -o "$jobs"
    t0=$(date +%s.%N)
    cpids=()
    for k in $(seq 0 $((c - 1))); do "$W/client.sh" "$c" "$k" "$jobs" > "$VAR/lat.$k" & cpids+=($!); done
    wait "${cpids[@]}" # not the RSS sampler
    cat "$VAR"/lat.[0-9]* > "$VAR/lat.txt"
    t1=$(date +%s.%N)
    rss_end
    inserted=$(cat "$DS/bodies-$x"/*.out."$x-$c" | python3 -c '
import json, sys
n = f = 0
for line in sys.stdin.read().replace("}{", "}\n{").splitlines():
    d = json.loads(line); n += d.get("rows_inserted", 0); f += d.get("rows_failed", 0)
print(n, f)')
    [ "${KEEP:-0}" = 1 ] || rm -f "$DS/bodies-$x"/*."$x-$c"
    python3 - "$VAR/lat.txt" "$t0" "$t1" "$x" "$c" "$inserted" "$TOTAL" "$DIRECT" "$RSS_PEAK_KB" "$RSS_ANON_KB" \
      >> "$RESULTS" <<'PY'
import sys
lat, t0, t1, x, c, ins, total, direct, peak, anon = sys.argv[1:]
ins, failed = map(int, ins.split())
rows = [l.split() for l in open(lat) if l.strip()]
ok = sorted(float(r[1]) for r in rows if r[0] == "200")
bad = len(rows) - len(ok)
q = lambda p: ok[min(len(ok) - 1, int(p * len(ok)))] if ok else float("nan")
wall = float(t1) - float(t0)
rate = ins / wall
print(f"| {x} per tenant | {c} | {len(rows)} | {ins} | {failed + bad} | {wall:.1f} | {rate:,.0f} | "
      f"{q(0.5):.2f} | {q(0.95):.2f} | {int(peak) / 1024:.1f} | {int(anon) / 1024:.1f} | {rate / int(direct):.2f} |")
PY
    tail -n1 "$RESULTS"
    scripts/stack.sh stop "$VAR" >/dev/null; VAR=""
    [ "${KEEP:-0}" = 1 ] || rm -rf "$W/run-$x-$c"
  done
done

HDR="| requests | clients | requests total | orders inserted | failed | wall s | orders/s | p50 s | p95 s | peak RSS growth MiB | anon growth MiB | vs direct |
|---|---|---|---|---|---|---|---|---|---|---|---|"
echo
echo "direct load: $DIRECT orders/s"
echo "$HDR"; cat "$RESULTS"
[ "${NO_DOC:-0}" = 1 ] && exit 0
{
  echo
  echo "## Bulk ingest ($PRESET: $TOTAL orders, $((BYTES / 1048576)) MiB NDJSON, lighttpd, $WORKERS workers)"
  echo
  echo "- $(date -u +%Y-%m-%dT%H:%MZ) \`benchmarks/ingest/run.sh $PRESET\` at $(git rev-parse --short HEAD) ($(nproc) cores, $CPU; load average $LOAD0 at the start, $(cut -d' ' -f1 /proc/loadavg) at the end); direct load (gen_dataset --load): $DIRECT orders/s"
  echo
  echo "$HDR"
  cat "$RESULTS"
} | sed '0,/^## /s//### /' | benchmarks/append_result.py "## Bulk ingest"
