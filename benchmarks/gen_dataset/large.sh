#!/usr/bin/env bash
# large.sh: the large preset once, in full (10 tenants x 2M orders, 500k
# products with 100 price samples each, 200k customers and 2M stock events
# per tenant: ~612M rows), never part of `make test` or `make bench`.
#
#   1. --load into a fresh database under DIR: wall time, rows and rows/s per
#      table (gen_dataset --stats), database size after a WAL checkpoint,
#      row counts re-read from the database;
#   2. the database is deleted (unless KEEP=1), then the same preset is
#      written as gzip files: wall time and disk;
#   3. a summary is appended to docs/benchmarks.md.
# Each step runs under `timeout LIMIT` (seconds, default 7200); a step that
# hits the limit is reported as such, with the rows it reached.
#
#   benchmarks/gen_dataset/large.sh              # DIR=/tmp/cartograph-large
#   DIR=/big/disk LIMIT=10800 KEEP=1 benchmarks/gen_dataset/large.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
DIR=${DIR:-/tmp/cartograph-large}
LIMIT=${LIMIT:-7200}
PRESET=${PRESET:-large}
DOC=${DOC:-docs/benchmarks.md}
mkdir -p "$DIR"
make -s "$BUILD/gen_dataset" || exit 1
# A private copy: a rebuild of build/ during the hour-long run must not touch it.
cp "$BUILD/gen_dataset" "$DIR/gen_dataset"
gen="$DIR/gen_dataset"
rm -rf "$DIR/large.db" "$DIR/large.db-wal" "$DIR/large.db-shm" "$DIR/files"
"$gen" --preset "$PRESET" --plan > "$DIR/plan.json"
echo "disk before: $(df -h --output=avail "$DIR" | tail -1)"

echo "== load"
t0=$(date +%s)
timeout "$LIMIT" "$gen" --preset "$PRESET" --load --db "$DIR/large.db" \
  --keys-out "$DIR/keys.json" --progress lines --stats "$DIR/load.json" \
  > "$DIR/load.out" 2> "$DIR/load.err"
load_rc=$?
t1=$(date +%s)
tail -n 12 "$DIR/load.out"
python3 - "$DIR/large.db" > "$DIR/db.json" <<'PY'
import json, os, sqlite3, sys
path = sys.argv[1]
db = sqlite3.connect(path)
db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
out = {"bytes": os.path.getsize(path), "rows": {}}
for t in ("tenants", "categories", "products", "stock_levels", "customers", "order_keys", "stock_event_keys"):
    out["rows"][t] = db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
for base in ("orders", "order_items", "price_history", "stock_events"):
    names = [r[0] for r in db.execute("SELECT name FROM partitions WHERE base = ?", (base,))]
    out["rows"][base] = sum(db.execute(f"SELECT count(*) FROM {n}").fetchone()[0] for n in names)
    out.setdefault("partitions", {})[base] = len(names)
print(json.dumps(out))
PY
du -sh "$DIR/large.db" | sed 's/^/database: /'
[ "${KEEP:-0}" = 1 ] || rm -f "$DIR/large.db" "$DIR/large.db-wal" "$DIR/large.db-shm"

echo "== files (gzip)"
t2=$(date +%s)
timeout "$LIMIT" "$gen" --preset "$PRESET" --gzip --out "$DIR/files" --progress lines \
  --stats "$DIR/files.json" > "$DIR/files.out" 2> "$DIR/files.err"
files_rc=$?
t3=$(date +%s)
tail -n 12 "$DIR/files.out"
files_bytes=$(du -sb "$DIR/files" | cut -f1)
[ "${KEEP:-0}" = 1 ] || rm -rf "$DIR/files"

cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
python3 - "$DIR" "$load_rc" "$((t1 - t0))" "$files_rc" "$((t3 - t2))" "$files_bytes" \
  "$(nproc)" "$cpu" "$PRESET" <<'PY' | tee "$DIR/section.md"
import datetime, json, os, sys
d, load_rc, load_s, files_rc, files_s, files_bytes, nproc, cpu, preset = sys.argv[1:]
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
def maybe(p):
    try: return json.load(open(os.path.join(d, p)))
    except Exception: return None
load, files, db, plan = maybe("load.json"), maybe("files.json"), maybe("db.json"), maybe("plan.json")
print(f"\n## gen_dataset --preset {preset}, once in full, {now}\n")
print(f"`benchmarks/gen_dataset/large.sh` on {nproc} cores ({cpu}), shared machine, database and files on the root ext4 disk.\n")
status = lambda rc: "completed" if rc == "0" else ("stopped by the time limit" if rc == "124" else f"failed (exit {rc})")
gib = lambda b: f"{int(b) / 2**30:.1f} GiB"
print(f"- --load: {status(load_rc)} in {int(load_s) // 60} min {int(load_s) % 60} s wall; database {gib(db['bytes']) if db else '?'} after a WAL checkpoint.")
print(f"- gzip files: {status(files_rc)} in {int(files_s) // 60} min {int(files_s) % 60} s wall; {gib(files_bytes)} on disk.\n")
if load:
    print("| table | rows (load) | rows re-read from the database | load s | load rows/s | files rows/s |")
    print("|---|---:|---:|---:|---:|---:|")
    for t, v in load["tables"].items():
        again = f"{db['rows'][t]:,}" if db and t in db["rows"] else ""
        f = files["tables"][t]["rows_per_s"] if files else 0
        print(f"| {t} | {v['rows']:,} | {again} | {v['seconds']:.0f} | {v['rows_per_s']:,.0f} | {f:,.0f} |")
    tf = files["total"]["rows_per_s"] if files else 0
    print(f"| total | {load['total']['rows']:,} | | {load['total']['seconds']:.0f} | {load['total']['rows_per_s']:,.0f} | {tf:,.0f} |")
    print("\n(order_items share the orders timer: their rows/s is items per second of the orders phase.)")
PY
sed '0,/^## /s//### /' "$DIR/section.md" | benchmarks/append_result.py "## Dataset generator" "$DOC"
