#!/usr/bin/env bash
# run.sh: gen_dataset benchmarks, one command, results appended to docs/benchmarks.md.
#
#   1. file generation on one core (taskset -c 0): the PRESET (default medium)
#      written as plain CSV + NDJSON, rows/s per table and in total
#      (target >= 2M rows/s);
#   2. --load of the PRESET against benchmarks/bench_bare_insert.c (the same
#      rows, schema, indexes and partitions, one prepared INSERT per table, no
#      lookups, no validation), each on a fresh database, alternating
#      bare/load REPEAT times (default 2) in this one run; the ratio of the
#      medians of total rows/s is the figure (target >= 0.70).
#
#   benchmarks/gen_dataset/run.sh                  # medium, 2 pairs
#   PRESET=small REPEAT=3 benchmarks/gen_dataset/run.sh
#   KEEP=1 ...                                     # keep the work directory
set -euo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
PRESET=${PRESET:-medium}
REPEAT=${REPEAT:-2}
BATCH=${BATCH:-50000}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/cartograph-bench-gen.XXXXXX")
trap '[ "${KEEP:-0}" = 1 ] && echo "kept $WORK" || rm -rf "$WORK"' EXIT

make -s "$BUILD/gen_dataset" "$BUILD/bench/bench_bare_insert"
gen="$BUILD/gen_dataset"
bare="$BUILD/bench/bench_bare_insert"

echo "== file generation, preset $PRESET, one core"
taskset -c 0 "$gen" --preset "$PRESET" --out "$WORK/files" --progress none \
  --stats "$WORK/files.json"
du -sh "$WORK/files" | sed 's/^/disk: /'
rm -rf "$WORK/files"

for i in $(seq "$REPEAT"); do
  echo "== pair $i: bare insert"
  "$bare" --preset "$PRESET" --db "$WORK/bare-$i.db" --batch-rows "$BATCH" \
    --stats "$WORK/bare-$i.json" 2>/dev/null
  rm -f "$WORK"/bare-$i.db*
  echo "== pair $i: gen_dataset --load"
  "$gen" --preset "$PRESET" --load --db "$WORK/load-$i.db" --batch-rows "$BATCH" \
    --keys-out "$WORK/keys-$i.json" --progress none --stats "$WORK/load-$i.json" 2>/dev/null
  rm -f "$WORK"/load-$i.db*
done

cmdline="PRESET=$PRESET REPEAT=$REPEAT BATCH=$BATCH benchmarks/gen_dataset/run.sh"
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
python3 - "$WORK" "$REPEAT" "$PRESET" "$cmdline" "$(nproc)" "$cpu" <<'PY' | tee "$WORK/section.md"
import json, statistics, sys, datetime
work, repeat, preset, cmd, nproc, cpu = sys.argv[1], int(sys.argv[2]), *sys.argv[3:]
files = json.load(open(f"{work}/files.json"))
bare = [json.load(open(f"{work}/bare-{i}.json")) for i in range(1, repeat + 1)]
load = [json.load(open(f"{work}/load-{i}.json")) for i in range(1, repeat + 1)]
med = lambda runs, t: statistics.median(r["tables"][t]["rows_per_s"] if t != "total" else r["total"]["rows_per_s"] for r in runs)
tables = ["categories", "products", "stock_levels", "customers", "price_history",
          "stock_events", "orders", "order_items"]
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
print(f"\n## gen_dataset: generation and --load vs bare inserts ({preset}), {now}\n")
print(f"`{cmd}` on {nproc} cores ({cpu}); shared machine. Load and bare figures are medians of {repeat} alternating runs in this one invocation, each on a fresh database.\n")
print(f"File generation (plain CSV + NDJSON, one core): **{files['total']['rows_per_s']:,.0f} rows/s** total, {files['total']['rows']:,} rows in {files['total']['seconds']:.2f} s.\n")
print("| table | rows | files rows/s | bare insert rows/s | --load rows/s | load / bare |")
print("|---|---:|---:|---:|---:|---:|")
for t in tables + ["total"]:
    rows = files["tables"][t]["rows"] if t != "total" else files["total"]["rows"]
    f = files["tables"][t]["rows_per_s"] if t != "total" else files["total"]["rows_per_s"]
    b, l = med(bare, t), med(load, t)
    note = " (one timer with items)" if t == "orders" else " (timed with orders)" if t == "order_items" else ""
    print(f"| {t}{note} | {rows:,} | {f:,.0f} | {b:,.0f} | {l:,.0f} | {l / b:.2f} |")
ratio = med(load, "total") / med(bare, "total")
print(f"\n--load / bare insert, total rows/s: **{ratio:.2f}** (target >= 0.70). Individual runs, total rows/s: bare {[round(r['total']['rows_per_s']) for r in bare]}, load {[round(r['total']['rows_per_s']) for r in load]}.")
PY
sed '0,/^## /s//### /' "$WORK/section.md" | benchmarks/append_result.py "## Dataset generator"
