#!/usr/bin/env bash
# test_gen_dataset.sh: scripts/gen_dataset end to end.
#   - determinism: same seed -> byte-identical tree (plain and gzip), a
#     different seed -> different data; chunking does not change the bytes;
#   - each preset's counts: tiny and small generated and counted file by file
#     against the manifest (rows, bytes, sha256); medium and large by --plan;
#   - every NDJSON line is checked field by field (a Python validator of the
#     ingest schema: types, statuses, currencies and their exponents, exact
#     totals, known products) and every line that fails is one of the injected
#     bad rows, whose kinds and counts match the manifest;
#   - the live ingest endpoint agrees: a tenant whose catalog was loaded with
#     --orders 0 takes the chunk and inserts exactly the valid lines;
#   - --load into a running stack's database adds tenants with working API
#     keys, leaves earlier tenants untouched, keeps stock levels equal to the
#     last stock event, and totals equal to the sum of their items.
source "$(dirname "$0")/lib.sh"

GEN="$ROOT/$BUILD/gen_dataset"
[ -x "$GEN" ] || (cd "$ROOT" && make -s "$BUILD/gen_dataset")
gen() { "$GEN" --progress none "$@" >"$TMP/gen.out" 2>"$TMP/gen.err"; }

echo "-- determinism"
gen --preset tiny --seed 7 --bad-rows 0.05 --out "$TMP/a" && gen --preset tiny --seed 7 --bad-rows 0.05 --out "$TMP/b" \
  && diff -r "$TMP/a" "$TMP/b" >/dev/null && ok "same seed, identical bytes" \
  || fail "same seed, identical bytes" "$(diff -r "$TMP/a" "$TMP/b" | head -3)"
gen --preset tiny --seed 8 --bad-rows 0.05 --out "$TMP/c"
if ! cmp -s "$TMP/a/t01/orders-00000.ndjson" "$TMP/c/t01/orders-00000.ndjson" \
  && ! cmp -s "$TMP/a/t01/products.csv" "$TMP/c/t01/products.csv" \
  && ! cmp -s "$TMP/a/t01/customers.csv" "$TMP/c/t01/customers.csv"; then
  ok "different seed, different data"
else
  fail "different seed, different data" "files equal"
fi
gen --preset tiny --seed 7 --bad-rows 0.05 --gzip --out "$TMP/gz1" && gen --preset tiny --seed 7 --bad-rows 0.05 --gzip --out "$TMP/gz2" \
  && diff -r "$TMP/gz1" "$TMP/gz2" >/dev/null && ok "gzip output is byte-identical too" \
  || fail "gzip output is byte-identical too" "differs"
zcat "$TMP/gz1/t02/orders-00000.ndjson.gz" | cmp -s - "$TMP/a/t02/orders-00000.ndjson" \
  && zcat "$TMP/gz1/t02/price_history.csv.gz" | cmp -s - "$TMP/a/t02/price_history.csv" \
  && ok "gzip files hold the plain bytes" || fail "gzip files hold the plain bytes" "differs"
gen --preset tiny --seed 7 --bad-rows 0.05 --chunk-rows 100 --out "$TMP/ch"
n=$(ls "$TMP/ch/t01"/orders-*.ndjson | wc -l)
lines=$(cat "$TMP/a/t01/orders-00000.ndjson" | wc -l)
[ "$n" -eq $(( (lines + 99) / 100 )) ] && cat "$TMP/ch/t01"/orders-*.ndjson | cmp -s - "$TMP/a/t01/orders-00000.ndjson" \
  && ok "--chunk-rows splits without changing the bytes ($n chunks)" \
  || fail "--chunk-rows splits without changing the bytes" "$n chunks for $lines lines"

echo "-- preset counts"
check_tree() { # DIR PRESET: manifest vs --plan vs the files themselves
  "$GEN" --preset "$2" --plan >"$TMP/plan-$2.json"
  python3 - "$1" "$TMP/plan-$2.json" <<'PY'
import hashlib, json, gzip, os, sys
d, plan = sys.argv[1], json.load(open(sys.argv[2]))
m = json.load(open(os.path.join(d, "manifest.json")))
errs = []
tot, exp = m["totals"], plan["totals"]
for k in ("categories", "products", "stock_levels", "customers", "price_history", "stock_events", "orders"):
    if tot[k] != exp[k]:
        errs.append(f"{k}: manifest {tot[k]} plan {exp[k]}")
if abs(tot["order_items"] - exp["order_items_expected"]) > 0.03 * exp["order_items_expected"] + 10:
    errs.append(f"order_items {tot['order_items']} far from {exp['order_items_expected']}")
files = m["files"] + [f for t in m["tenants"] for f in t["files"]]
listed = {f["path"] for f in files}
on_disk = {os.path.relpath(os.path.join(r, n), d) for r, _, ns in os.walk(d) for n in ns} - {"manifest.json"}
if listed != on_disk:
    errs.append(f"listed vs on disk: {sorted(listed ^ on_disk)[:5]}")
for f in files:
    p = os.path.join(d, f["path"])
    raw = open(p, "rb").read()
    if hashlib.sha256(raw).hexdigest() != f["sha256"] or len(raw) != f["bytes"]:
        errs.append(f"{f['path']}: sha256/bytes mismatch")
    body = gzip.decompress(raw) if f["compression"] == "gzip" else raw
    n = body.count(b"\n") - (1 if f["format"] == "csv" else 0)
    if n != f["rows"]:
        errs.append(f"{f['path']}: {n} lines, manifest says {f['rows']}")
for t in m["tenants"]:
    for table, n in t["rows"].items():
        got = sum(f["rows"] for f in t["files"] if f["table"] == table and f["format"] == "csv")
        if got != n:
            errs.append(f"{t['slug']}.{table}: files {got} rows {n}")
    nd = sum(f["rows"] for f in t["files"] if f["format"] == "ndjson")
    if nd != t["ndjson_lines"] or nd != t["rows"]["orders"] + t["bad_rows"]["total"]:
        errs.append(f"{t['slug']}: ndjson lines {nd}")
print("; ".join(errs) if errs else "ok")
PY
}
r=$(check_tree "$TMP/a" tiny); [ "$r" = ok ] && ok "tiny: manifest, plan and files agree" || fail "tiny counts" "$r"
gen --preset small --bad-rows 0.002 --out "$TMP/small"
r=$(check_tree "$TMP/small" small); [ "$r" = ok ] && ok "small: manifest, plan and files agree" || fail "small counts" "$r"
"$GEN" --preset medium --plan >"$TMP/plan-medium.json"
expect_plan() { # NAME FILE EXPR EXPECTED
  local got; got=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($3)" "$2")
  [ "$got" = "$4" ] && ok "$1" || fail "$1" "$3 = $got, expected $4"
}
expect_plan "medium: 1M orders in all" "$TMP/plan-medium.json" 'd["totals"]["orders"]' 1000000
"$GEN" --preset large --plan >"$TMP/plan-large.json"
expect_plan "large: 10 tenants x 2M orders, 500k products, 100 samples, millions of events" \
  "$TMP/plan-large.json" \
  '[d["totals"]["tenants"], d["per_tenant"]["orders"], d["per_tenant"]["products"], d["totals"]["price_history"], d["totals"]["stock_events"] >= 10**6]' \
  '[10, 2000000, 500000, 500000000, True]'
"$GEN" --preset tiny --orders 7 --tenants 3 --plan >"$TMP/plan-flags.json"
expect_plan "flags override the preset" "$TMP/plan-flags.json" '[d["totals"]["tenants"], d["totals"]["orders"]]' '[3, 21]'
"$GEN" --preset nope --plan >/dev/null 2>&1; [ $? -eq 2 ] && ok "unknown preset is a usage error" || fail "unknown preset" "exit $?"
"$GEN" --bad-rows 2 --plan >/dev/null 2>&1; [ $? -eq 2 ] && ok "--bad-rows above 1 refused" || fail "--bad-rows 2" "exit $?"
"$GEN" --help | grep -q -- '--keys-out' && ok "--help documents --keys-out" || fail "--help" "no --keys-out"

echo "-- every NDJSON line validates, except the injected bad rows"
validate() { # DIR
  python3 - "$1" <<'PY'
import csv, json, os, re, sys
from collections import Counter
d = sys.argv[1]
m = json.load(open(os.path.join(d, "manifest.json")))
EXP = {"EUR": 2, "USD": 2, "GBP": 2, "SEK": 2, "JPY": 0, "CHF": 2, "PLN": 2, "DKK": 2, "KWD": 3, "NOK": 2}
STATUS = {"pending", "paid", "shipped", "delivered", "cancelled", "refunded"}
TS = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$")
lo, hi = m["config"]["from"], m["config"]["to"]
errs = []
import datetime
def ts_ok(s):
    if not isinstance(s, str) or not TS.match(s): return False
    try: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ")
    except ValueError: return False
    return lo <= s < hi
def money(s, e):
    if not isinstance(s, str): raise TypeError
    m_ = re.fullmatch(r"(\d+)(?:\.(\d+))?", s)
    if not m_ or len(m_.group(2) or "") != e: raise ValueError(s)
    return int(m_.group(1) + (m_.group(2) or ""))
def classify(raw, products):
    try: line = raw.decode("utf-8")
    except UnicodeDecodeError: return "invalid_utf8"
    try: o = json.loads(line)
    except ValueError: return "broken_json"
    req = {"order_id": str, "customer": dict, "status": str, "currency": str, "created_at": str, "items": list, "total": str}
    if not isinstance(o, dict) or any(k not in o for k in req): return "missing_field"
    if any(not isinstance(o[k], t) for k, t in req.items()): return "wrong_type"
    c = o["customer"]
    if any(not isinstance(c.get(k), str) for k in ("id", "name", "email")): return "wrong_type"
    for it in o["items"]:
        if not isinstance(it, dict) or not isinstance(it.get("product_id"), str) \
           or type(it.get("quantity")) is not int or not isinstance(it.get("unit_price"), str):
            return "wrong_type"
    if any(it["quantity"] < 1 for it in o["items"]): return "negative_quantity"
    if not ts_ok(o["created_at"]):
        try:
            datetime.datetime.strptime(o["created_at"], "%Y-%m-%dT%H:%M:%SZ")
            if o["created_at"] >= "2000": return "out_of_range"  # a real date outside --from/--to
        except ValueError:
            pass
        return "absurd_date"
    if any(len(c[k].encode()) > 200 for k in ("id", "name", "email")) or len(o["order_id"]) > 200: return "oversized_string"
    if any(it["product_id"] not in products for it in o["items"]): return "unknown_product"
    if o["status"] not in STATUS: return "bad_status"
    e = EXP.get(o["currency"])
    if e is None: return "bad_currency"
    try:
        total = sum(it["quantity"] * money(it["unit_price"], e) for it in o["items"])
        if money(o["total"], e) != total: return "bad_total"
    except (TypeError, ValueError):
        return "bad_money"
    if not 1 <= len(o["items"]) <= 10 or not re.fullmatch(r"ORD-\d{8,}", o["order_id"]): return "bad_shape"
    if "@" not in c["email"] or not c["name"]: return "bad_customer"
    return None
total_valid = 0
for t in m["tenants"]:
    slug = t["slug"]
    products = {r["product_id"] for r in csv.DictReader(open(os.path.join(d, slug, "products.csv"), encoding="utf-8"))}
    customers = {r["customer_id"]: r for r in csv.DictReader(open(os.path.join(d, slug, "customers.csv"), encoding="utf-8"))}
    kinds, ids, valid = Counter(), set(), 0
    for f in sorted(f["path"] for f in t["files"] if f["format"] == "ndjson"):
        for raw in open(os.path.join(d, f), "rb"):
            k = classify(raw.rstrip(b"\n"), products)
            if k is None:
                o = json.loads(raw)
                if o["order_id"] in ids: errs.append(f"duplicate {o['order_id']}")
                ids.add(o["order_id"])
                cu = customers.get(o["customer"]["id"])
                if not cu or cu["name"] != o["customer"]["name"] or cu["email"] != o["customer"]["email"]:
                    errs.append(f"{o['order_id']}: customer does not match customers.csv")
                valid += 1
            else:
                kinds[k] += 1
    want = {k: v for k, v in t["bad_rows"]["kinds"].items() if v}
    if dict(kinds) != want:
        errs.append(f"{slug}: failing lines by kind {dict(kinds)}, manifest {want}")
    if valid != t["rows"]["orders"]:
        errs.append(f"{slug}: {valid} valid lines, manifest says {t['rows']['orders']} orders")
    total_valid += valid
print("; ".join(errs[:5]) if errs else f"ok {total_valid} {m['bad_rows']['total']}")
PY
}
r=$(validate "$TMP/a"); [[ "$r" == ok* ]] && ok "tiny: every line valid or a counted bad row ($r)" || fail "tiny validation" "$r"
r=$(validate "$TMP/small"); [[ "$r" == ok* ]] && ok "small: every line valid or a counted bad row ($r)" || fail "small validation" "$r"
bad_total=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["bad_rows"]["total"])' "$TMP/a/manifest.json")
[ "$bad_total" -gt 0 ] && ok "bad rows were injected ($bad_total)" || fail "bad rows were injected" 0

echo "-- the ingest endpoint takes the generated chunk"
stack_start lighttpd 2
DB="$VAR/cartograph.db"
gen --preset tiny --seed 7 --orders 0 --load --db "$DB" --keys-out "$TMP/catalog-keys.json" \
  || fail "catalog-only load" "$(cat "$TMP/gen.err")"
KEY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tenants"][0]["api_key"])' "$TMP/catalog-keys.json")
t01_bad=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["tenants"][0]["bad_rows"]["total"])' "$TMP/a/manifest.json")
http POST /api/v1/ingest/orders/ -H "Authorization: Bearer $KEY" -H 'Content-Type: application/x-ndjson' \
  --data-binary @"$TMP/a/t01/orders-00000.ndjson"
expect_json "ingest: valid lines inserted, exactly the bad rows failed" \
  '[d["rows_inserted"], d["rows_duplicate"], d["rows_failed"]]' "[500, 0, $t01_bad]"

echo "-- --load into a running stack adds tenants"
count() { python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(sys.argv[2]).fetchone()[0])' "$DB" "$1"; }
before=$(count "SELECT count(*) FROM tenants")
gen --preset tiny --load --db "$DB" --keys-out "$TMP/keys1.json" || fail "load 1" "$(cat "$TMP/gen.err")"
gen --preset tiny --load --db "$DB" --keys-out "$TMP/keys2.json" || fail "load 2" "$(cat "$TMP/gen.err")"
after=$(count "SELECT count(*) FROM tenants")
[ "$after" -eq $((before + 4)) ] && ok "two loads of 2 tenants add 4 tenants" || fail "tenants added" "$before -> $after"
[ "$(stat -c %a "$TMP/keys1.json")" = 600 ] && ok "keys file is mode 0600" || fail "keys mode" "$(stat -c %a "$TMP/keys1.json")"
python3 - "$DB" "$TMP/keys1.json" "$TMP/keys2.json" >"$TMP/db-check.out" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
errs = []
parts = lambda base: [r[0] for r in db.execute("SELECT name FROM partitions WHERE base=?", (base,))]
for kf in sys.argv[2:]:
    for t in json.load(open(kf))["tenants"]:
        tid = db.execute("SELECT id FROM tenants WHERE public_id=?", (t["id"],)).fetchone()[0]
        got = {
            "products": db.execute("SELECT count(*) FROM products WHERE tenant_id=?", (tid,)).fetchone()[0],
            "customers": db.execute("SELECT count(*) FROM customers WHERE tenant_id=?", (tid,)).fetchone()[0],
            "orders": sum(db.execute(f"SELECT count(*) FROM {p} WHERE tenant_id=?", (tid,)).fetchone()[0] for p in parts("orders")),
            "order_items": sum(db.execute(f"SELECT count(*) FROM {p} WHERE tenant_id=?", (tid,)).fetchone()[0] for p in parts("order_items")),
            "price_history": sum(db.execute(f"SELECT count(*) FROM {p} WHERE tenant_id=?", (tid,)).fetchone()[0] for p in parts("price_history")),
            "stock_events": sum(db.execute(f"SELECT count(*) FROM {p} WHERE tenant_id=?", (tid,)).fetchone()[0] for p in parts("stock_events")),
        }
        for k, v in got.items():
            if v != t["rows"][k]:
                errs.append(f"{t['slug']}.{k}: db {v}, keys file {t['rows'][k]}")
        # stock: never below zero, the level equals the last event
        ev = " UNION ALL ".join(f"SELECT product_id, quantity_after, version_after FROM {p} WHERE tenant_id={tid}" for p in parts("stock_events"))
        if db.execute(f"SELECT count(*) FROM ({ev}) WHERE quantity_after < 0").fetchone()[0]:
            errs.append("negative stock")
        bad = db.execute(f"SELECT count(*) FROM stock_levels s JOIN ({ev}) e ON e.product_id = s.product_id AND e.version_after = s.version WHERE s.tenant_id={tid} AND e.quantity_after != s.quantity").fetchone()[0]
        if bad:
            errs.append(f"{bad} stock levels differ from their last event")
        # totals = sum of items
        for p in parts("orders"):
            ip = p.replace("orders_", "order_items_")
            n = db.execute(f"SELECT count(*) FROM {p} o WHERE o.tenant_id={tid} AND o.total_minor != (SELECT sum(quantity*unit_price_minor) FROM {ip} i WHERE i.order_id=o.id)").fetchone()[0]
            if n:
                errs.append(f"{n} orders in {p} whose total is not the sum of items")
print("; ".join(errs[:5]) if errs else "ok")
PY
r=$(cat "$TMP/db-check.out"); [ "$r" = ok ] && ok "loaded rows match, stock consistent, totals exact" || fail "db check" "$r"
TID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tenants"][1]["id"])' "$TMP/keys2.json")
KEY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tenants"][1]["api_key"])' "$TMP/keys2.json")
http GET "/api/v1/tenants/$TID" -H "Authorization: Bearer $KEY"
expect_status "a loaded tenant's key works through the stack" 200
http POST /api/v1/ingest/orders/ -H "Authorization: Bearer $KEY" -H 'Content-Type: application/x-ndjson' \
  --data-binary @"$TMP/a/t02/orders-00000.ndjson"
t02_bad=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["tenants"][1]["bad_rows"]["total"])' "$TMP/a/manifest.json")
expect_json "re-sending order ids a load already holds inserts nothing twice" \
  '[d["rows_inserted"], d["rows_duplicate"], d["rows_failed"]]' "[0, 500, $t02_bad]"

finish
