#!/usr/bin/env bash
# benchmarks/ingest/ab.sh: alternated A/B rounds of bulk ingest end to end.
#
# On a shared 2-core machine one run of a configuration says little; the
# difference between two variants measured back to back, round after round
# in alternating order, says more. A variant is NAME=TREE[,VAR=VALUE...]:
# the build in TREE (a checkout, e.g. a `git worktree add` of the old commit,
# built with make) with the environment variables given (CARTOGRAPH_INGEST_*
# switches read by the workers). Every run starts from a copy of one catalog
# database (gen_dataset --orders 0 --load, made once), starts a stack of 2
# workers, sends the bodies of benchmarks/ingest/run.sh (which must have made
# them, $DS/bodies-X, and its $W/client.sh) with C keep-alive curl clients as
# run.sh does, and prints orders/s over the wall time; at the end, the median
# per variant and the load average.
#
#   benchmarks/ingest/ab.sh ROUNDS X C NAME=TREE[,K=V...] NAME=TREE[,K=V...] ...
#   env: TENANTS="t01 t02" (default: all), WORKERS=2, PERF=NAME (perf record the workers
#   of that variant's first run into $W/perf-NAME.data)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
ROUNDS=$1 X=$2 C=$3
shift 3
W=${BENCH_DIR:-/tmp/cartograph-bench-ingest}
DS=$W/ds-${PRESET:-medium}
[ -d "$DS/bodies-$X" ] || { echo "no $DS/bodies-$X: run benchmarks/ingest/run.sh first" >&2; exit 2; }
# One catalog database per tree: trees may differ in their schema migrations.
template() { # tree -> prints the template directory
  local tpl; tpl=$W/ab-template-$(printf %s "$1" | md5sum | cut -c1-8)
  if [ ! -f "$tpl/cartograph.db" ]; then
    rm -rf "$tpl"; mkdir -p "$tpl"
    "$1/build/cartograph" migrate --var "$tpl" >/dev/null
    "$1/build/gen_dataset" --preset "${PRESET:-medium}" --orders 0 --load --db "$tpl/cartograph.db" \
      --keys-out "$tpl/keys.json" --progress none >/dev/null 2>&1
  fi
  echo "$tpl"
}
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
VAR=""
cleanup() { [ -n "$VAR" ] && "$STACK" stop "$VAR" >/dev/null 2>&1 || true; }
trap cleanup EXIT
RES=$W/ab-results.txt; : > "$RES"

run_one() { # spec round
  local name=${1%%=*} rest=${1#*=}
  local tree=${rest%%,*} envs=""
  [ "$tree" != "$rest" ] && envs=${rest#*,}
  STACK=$tree/scripts/stack.sh
  local TPL; TPL=$(template "$tree")
  VAR=$W/ab-run; rm -rf "$VAR"; mkdir -p "$VAR"
  cp "$TPL/cartograph.db" "$VAR/cartograph.db"
  local P; P=$(port)
  env ${envs//,/ } "$STACK" start "$VAR" "$P" "${WORKERS:-2}" lighttpd >/dev/null
  local jobs=$VAR/jobs.txt; : > "$jobs"
  for f in "$DS/bodies-$X"/t*-[0-9][0-9][0-9]; do
    local t; t=$(basename "$f" | cut -d- -f1)
    [ -n "${TENANTS:-}" ] && [[ " $TENANTS " != *" $t "* ]] && continue
    local key; key=$(python3 -c 'import json,sys; print([t["api_key"] for t in json.load(open(sys.argv[1]))["tenants"] if t["slug"] == sys.argv[2]][0])' "$TPL/keys.json" "$t")
    echo "$key $f http://127.0.0.1:$P/api/v1/ingest/orders ab" >> "$jobs"
  done
  sort -t- -k2,2 -s "$jobs" -o "$jobs"
  local perf=""
  if [ "${PERF:-}" = "$name" ] && [ "$2" = 1 ]; then
    local pids; pids=$(pgrep -P "$(cat "$VAR/run/master.pid")" | tr '\n' ',')
    perf record -g -o "$W/perf-$name.data" -p "${pids%,}" >/dev/null 2>&1 &
    perf=$!
  fi
  local t0 t1; t0=$(date +%s.%N)
  local k cpids=()
  for k in $(seq 0 $((C - 1))); do "$W/client.sh" "$C" "$k" "$jobs" > "$VAR/lat.$k" & cpids+=($!); done
  wait "${cpids[@]}"
  cat "$VAR"/lat.[0-9]* > "$VAR/lat.txt"
  t1=$(date +%s.%N)
  [ -n "$perf" ] && { kill -INT "$perf"; wait "$perf" || true; }
  local ins
  ins=$(cat "$DS/bodies-$X"/*.out.ab | python3 -c '
import json, sys
n = 0
for line in sys.stdin.read().replace("}{", "}\n{").splitlines():
    n += json.loads(line).get("rows_inserted", 0)
print(n)')
  rm -f "$DS/bodies-$X"/*.out.ab
  local bad; bad=$(awk '$1 != 200' "$VAR/lat.txt" | wc -l)
  "$STACK" stop "$VAR" >/dev/null; VAR=""
  python3 -c 'import sys; n,t0,t1=int(sys.argv[1]),float(sys.argv[2]),float(sys.argv[3]); print(f"{sys.argv[4]} {sys.argv[5]} {n} {t1-t0:.2f} {n/(t1-t0):.0f} bad={sys.argv[6]}")' \
    "$ins" "$t0" "$t1" "$name" "$2" "$bad" | tee -a "$RES"
}

for r in $(seq "$ROUNDS"); do
  if [ $((r % 2)) = 1 ]; then order=("$@"); else order=(); for ((i = $#; i >= 1; i--)); do order+=("${!i}"); done; fi
  for spec in "${order[@]}"; do run_one "$spec" "$r"; done
done
echo "X=$X C=$C rounds=$ROUNDS load: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$RES" <<'PY'
import sys, statistics
by = {}
for l in open(sys.argv[1]):
    f = l.split(); by.setdefault(f[0], []).append(int(f[4]))
for k, v in by.items():
    print(f"{k}: median {statistics.median(v):,.0f} orders/s  runs {v}")
PY
