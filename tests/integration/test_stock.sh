#!/usr/bin/env bash
# test_stock.sh: products API and PUT /stock/bulk_update through lighttpd:
# the three conflict modes, per-product atomicity with a failing product in
# the middle, negative stock, event_id dedupe, Idempotency-Key replay,
# validation (400, nothing applied), NDJSON bodies, multi-group requests with
# product locks, concurrent merges from several processes, and a worker
# killed mid-request leaving every product fully applied or untouched.
source "$(dirname "$0")/lib.sh"
EXPECT_WORKER_DEATHS=1 # the last section kills workers on purpose

stack_start lighttpd 2
new_tenant "Stock A"; T=$TENANT_ID; K=$TENANT_KEY
AUTH=(-H "Authorization: Bearer $K")
J=(-H "Content-Type: application/json")

product() { # ID [json]
  local body=${2:-}
  [ -n "$body" ] || body="{\"name\":\"Product $1\",\"currency\":\"EUR\",\"price\":\"10.00\"}"
  http PUT "/api/v1/tenants/$T/products/$1" "${AUTH[@]}" "${J[@]}" -d "$body"
}
bulk() { # JSON body [query]
  http PUT "/api/v1/tenants/$T/stock/bulk_update${2:-}" "${AUTH[@]}" "${J[@]}" -d "$1"
}
qty() { # ID -> quantity version
  http GET "/api/v1/tenants/$T/products/$1" "${AUTH[@]}"
  json '[d["stock"]["quantity"], d["stock"]["version"]]'
}
res() { # PRODUCT EXPR over r (the result of that product)
  json "[r for r in d[\"results\"] if r[\"product_id\"] == \"$1\"][0]$2"
}

echo "-- products"
product P1
expect_status "create product" 201
expect_json "product body" '[d["product_id"], d["price"], d["currency"], d["stock"]["quantity"]]' '["P1", "10.00", "EUR", 0]'
product P1 '{"name":"Renamed","currency":"EUR","category":"shoes"}'
expect_status "replace product" 200
expect_json "price kept, category set" '[d["name"], d["price"], d["category"]]' '["Renamed", "10.00", "shoes"]'
product P2 '{"name":"Yen","currency":"JPY","price":1500}'
expect_json "JPY price from a number" 'd["price"]' "1500"
product P3 '{"name":"Bad","currency":"EUR","price":"1.234"}'
expect_problem "three decimals for EUR rejected" 400 invalid_field
product P3 '{"name":"Bad","currency":"XXX"}'
expect_problem "unknown currency rejected" 400 invalid_field
product P3 '{"currency":"EUR"}'
expect_problem "name required" 400 missing_field
product 'with%20space' '{"name":"Space","currency":"EUR","price":19.99}'
expect_json "percent-decoded id, exact number price" '[d["product_id"], d["price"]]' '["with space", "19.99"]'
http GET "/api/v1/tenants/$T/products/nope" "${AUTH[@]}"
expect_problem "unknown product is 404" 404 product_not_found
new_tenant "Stock B"; TB=$TENANT_ID; KB=$TENANT_KEY
http GET "/api/v1/tenants/$TB/products/P1" -H "Authorization: Bearer $KB"
expect_problem "products are per tenant" 404 product_not_found
for p in M1 M2 M3 L1 R1 N1; do product $p >/dev/null; done

echo "-- merge"
bulk '{"mode":"merge","events":[
 {"event_id":"m-1","product_id":"M1","delta":5,"event_time":"2025-03-01T10:00:00Z","source":"wms","metadata":{"bin":"A1"}},
 {"event_id":"m-2","product_id":"M1","delta":3,"event_time":"2025-03-01T10:00:01Z"},
 {"event_id":"m-3","product_id":"M2","delta":7,"event_time":"2025-03-01T10:00:02Z"}]}'
expect_status "merge batch" 200
expect_json "M1 applied +8" "$(printf '[[r["status"], r["quantity"], r["version"], r["applied"]] for r in d["results"]]')" '[["applied", 8, 1, 2], ["applied", 7, 1, 1]]'
bulk '{"mode":"merge","events":[{"event_id":"m-1","product_id":"M1","delta":5,"event_time":"2025-03-01T10:00:00Z"},
 {"event_id":"m-4","product_id":"M1","delta":-2,"event_time":"2025-03-01T10:00:05Z"}]}'
expect_json "event_id dedupe: m-1 skipped, m-4 applied" "$(printf '[d["results"][0][k] for k in ("quantity","version","applied","duplicate")]')" '[6, 2, 1, 1]'
bulk '{"mode":"merge","events":[{"event_id":"m-1","product_id":"M1","delta":5,"event_time":"2025-03-01T10:00:00Z"}]}'
expect_json "all duplicates: unchanged" "$(printf '[d["results"][0][k] for k in ("status","reason","quantity","version")]')" '["applied", "duplicate", 6, 2]'

echo "-- last_write_wins"
bulk '{"mode":"last_write_wins","events":[
 {"event_id":"l-2","product_id":"L1","quantity":50,"event_time":"2025-03-01T12:00:00Z"},
 {"event_id":"l-1","product_id":"L1","quantity":40,"event_time":"2025-03-01T11:00:00Z"}]}'
expect_json "LWW: newest wins within a request" "$(res L1 '["quantity"]')" 50
bulk '{"mode":"last_write_wins","events":[{"event_id":"l-0","product_id":"L1","quantity":10,"event_time":"2025-03-01T09:00:00Z"}]}'
expect_json "LWW: older event is stale" "$(printf '[d["results"][0][k] for k in ("status","reason","quantity","stale","stale_event_ids")]')" '["applied", "stale", 50, 1, ["l-0"]]'
bulk '{"mode":"last_write_wins","events":[{"event_id":"l-3","product_id":"L1","quantity":0,"event_time":"2025-03-01T12:00:00.001Z"}]}'
expect_json "LWW: a millisecond newer applies" 'd["results"][0]["quantity"]' 0
bulk '{"mode":"last_write_wins","events":[{"event_id":"l-4","product_id":"L1","delta":1,"event_time":"2025-03-02T00:00:00Z"}]}'
expect_problem "LWW needs an absolute quantity" 400 invalid_events

echo "-- reject (optimistic concurrency)"
bulk '{"mode":"reject","events":[{"event_id":"r-1","product_id":"R1","quantity":9,"expected_version":0,"event_time":"2025-03-01T10:00:00Z"}]}'
expect_json "reject: matching version applies" "$(printf '[d["results"][0][k] for k in ("status","quantity","version")]')" '["applied", 9, 1]'
bulk '{"mode":"reject","events":[{"event_id":"r-2","product_id":"R1","delta":1,"expected_version":0,"event_time":"2025-03-01T10:00:01Z"}]}'
expect_json "reject: stale version rejects with the current version" "$(printf '[d["results"][0][k] for k in ("status","reason","current_version","quantity","event_id")]')" '["rejected", "version_conflict", 1, 9, "r-2"]'
bulk '{"mode":"reject","events":[{"event_id":"r-3","product_id":"R1","delta":1,"event_time":"2025-03-01T10:00:01Z"}]}'
expect_problem "reject mode requires expected_version" 400 invalid_events
bulk '{"mode":"merge","events":[{"event_id":"r-2","product_id":"R1","delta":1,"expected_version":1,"mode":"reject","event_time":"2025-03-01T10:00:01Z"}]}'
expect_json "per-event mode override; rejected id is free for a retry" "$(printf '[d["results"][0][k] for k in ("status","quantity","version")]')" '["applied", 10, 2]'

echo "-- per-product atomicity, negative stock"
bulk '{"mode":"merge","events":[
 {"event_id":"a-1","product_id":"M3","delta":4,"event_time":"2025-03-01T10:00:00Z"},
 {"event_id":"a-2","product_id":"N1","delta":5,"event_time":"2025-03-01T10:00:00Z"},
 {"event_id":"a-3","product_id":"N1","delta":-9,"event_time":"2025-03-01T10:00:01Z"},
 {"event_id":"a-4","product_id":"GHOST","delta":1,"event_time":"2025-03-01T10:00:00Z"},
 {"event_id":"a-5","product_id":"M3","delta":1,"event_time":"2025-03-01T10:00:02Z"}]}'
expect_json "failing product in the middle" "$(printf '[[r["product_id"], r["status"], r["reason"], r["quantity"]] for r in d["results"]]')" \
  '[["M3", "applied", null, 5], ["N1", "rejected", "negative_stock", 0], ["GHOST", "rejected", "unknown_product", null]]'
expect_json "summary counts" '[d["summary"]["applied"], d["summary"]["rejected"]]' '[1, 2]'
read -r q v < <(qty N1 | tr -d '[],')
[ "$q $v" = "0 0" ] && ok "N1 untouched (a-2 not applied either)" || fail "N1 untouched" "$q $v"
bulk '{"mode":"merge","events":[{"event_id":"a-2","product_id":"N1","delta":5,"event_time":"2025-03-01T10:00:00Z"}]}'
expect_json "a rejected batch's event ids stay unused" 'd["results"][0]["applied"]' 1
bulk '{"mode":"merge","allow_negative":true,"events":[{"event_id":"a-6","product_id":"N1","delta":-9,"event_time":"2025-03-01T10:00:03Z"}]}'
expect_json "allow_negative lets it go below zero" 'd["results"][0]["quantity"]' -4

echo "-- validation"
bulk '{"mode":"merge","events":[{"event_id":"v-1","product_id":"M1","delta":1,"event_time":"2025-03-01T10:00:00Z"},
 {"product_id":"M1","delta":"x","event_time":"yesterday"}]}'
expect_problem "invalid events: 400" 400 invalid_events
expect_json "each problem listed with its index" '[(e["index"], e["pointer"]) for e in d["errors"]]' '[[1, "/event_id"], [1, "/delta"], [1, "/event_time"]]'
read -r q v < <(qty M1 | tr -d '[],')
[ "$q" = 6 ] && ok "nothing applied on 400" || fail "nothing applied on 400" "$q"
bulk '{"mode":"sideways","events":[]}'
expect_problem "unknown mode" 400 invalid_field
bulk 'not json'
expect_problem "not JSON" 400 invalid_json
bulk '{"events":[]}' '?mode=nope'
expect_problem "bad mode parameter" 400 invalid_parameter

head -c 5000000 /dev/zero | tr '\0' ' ' > "$TMP/big.json"
http PUT "/api/v1/tenants/$T/stock/bulk_update" "${AUTH[@]}" "${J[@]}" --data-binary @"$TMP/big.json"
expect_problem "JSON document over 4 MiB: 413 pointing to NDJSON" 413 body_too_large

echo "-- NDJSON"
printf '%s\n' '{"event_id":"n-1","product_id":"M2","delta":1,"event_time":"2025-04-01T00:00:00Z"}' '' \
  '{"event_id":"n-2","product_id":"M2","delta":2,"event_time":"2025-04-01T00:00:01Z"}' > "$TMP/ev.ndjson"
http PUT "/api/v1/tenants/$T/stock/bulk_update?mode=merge" "${AUTH[@]}" \
  -H 'Content-Type: application/x-ndjson' --data-binary @"$TMP/ev.ndjson"
expect_json "NDJSON body, blank lines ignored" "$(printf '[d["results"][0][k] for k in ("quantity","applied")]')" '[10, 2]'
printf '{"event_id":"n-3","product_id":"M2","delta":1,"event_time":"2025-04-01T00:00:00Z"}\n{broken\n' > "$TMP/bad.ndjson"
http PUT "/api/v1/tenants/$T/stock/bulk_update" "${AUTH[@]}" -H 'Content-Type: application/x-ndjson' --data-binary @"$TMP/bad.ndjson"
expect_json "NDJSON errors name the line" '[d["code"], d["errors"][0]["index"]]' '["invalid_events", 2]'

printf '%s\n' '{"event_id":"c-1","product_id":"M2","delta":1,"event_time":"2025-04-02T00:00:00Z"}' > "$TMP/chunk.ndjson"
http PUT "/api/v1/tenants/$T/stock/bulk_update?mode=merge" "${AUTH[@]}" -H 'Content-Type: application/x-ndjson' \
  -H 'Transfer-Encoding: chunked' --data-binary @"$TMP/chunk.ndjson"
expect_json "chunked NDJSON through lighttpd (spooled, then read to the end)" 'd["results"][0]["applied"]' 1

echo "-- Idempotency-Key"
body='{"mode":"merge","events":[{"event_id":"i-1","product_id":"M1","delta":1,"event_time":"2025-03-01T10:00:00Z"}]}'
http PUT "/api/v1/tenants/$T/stock/bulk_update" "${AUTH[@]}" "${J[@]}" -H 'Idempotency-Key: "k-1"' -d "$body"
first=$BODY
http PUT "/api/v1/tenants/$T/stock/bulk_update" "${AUTH[@]}" "${J[@]}" -H 'Idempotency-Key: "k-1"' -d "$body"
[ "$(header Idempotent-Replayed)" = true ] && [ "$BODY" = "$first" ] && ok "replayed byte for byte" || fail "idempotent replay" "$(header Idempotent-Replayed)"
http PUT "/api/v1/tenants/$T/stock/bulk_update" "${AUTH[@]}" "${J[@]}" -H 'Idempotency-Key: "k-1"' -d "${body/\"delta\":1/\"delta\":2}"
expect_problem "same key, other body" 422 idempotency_key_reused

echo "-- multi-group request (product locks) and the event registry"
python3 - "$TMP/big.ndjson" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(12000):
        f.write(json.dumps({"event_id": f"big-{i}", "product_id": ["M1", "M2", "M3"][i % 3],
                            "delta": 1, "event_time": "2025-05-01T00:00:00Z"}) + "\n")
PY
http PUT "/api/v1/tenants/$T/stock/bulk_update?mode=merge" "${AUTH[@]}" -H 'Content-Type: application/x-ndjson' --data-binary @"$TMP/big.ndjson"
expect_json "12k events, 3 products, 2+ groups, locks taken" \
  '[d["summary"]["events_applied"], d["summary"]["commit_groups"] >= 2, d["summary"]["product_locks"]]' '[12000, true, true]'
http PUT "/api/v1/tenants/$T/stock/bulk_update?mode=merge" "${AUTH[@]}" -H 'Content-Type: application/x-ndjson' --data-binary @"$TMP/big.ndjson"
expect_json "resent: all 12k duplicates" '[d["summary"]["events_applied"], d["summary"]["events_duplicate"]]' '[0, 12000]'

python3 -c '
import json
for i in range(4097):
    print(json.dumps({"event_id": f"many-{i}", "product_id": "M3", "delta": 1, "event_time": "2025-05-01T00:00:00Z"}))
print(json.dumps({"event_id": "many-x", "product_id": "M2", "delta": 1, "event_time": "2025-05-01T00:00:00Z"}))' > "$TMP/many.ndjson"
http PUT "/api/v1/tenants/$T/stock/bulk_update?mode=merge" "${AUTH[@]}" -H 'Content-Type: application/x-ndjson' --data-binary @"$TMP/many.ndjson"
expect_json "more than 4096 events for one product: that product is refused, the rest applies" \
  "$(printf '[[r["product_id"], r["status"], r["reason"]] for r in d["results"]]')" '[["M3", "rejected", "too_many_events"], ["M2", "applied", null]]'

echo "-- concurrent merges from 8 processes"
product RACE >/dev/null
for c in $(seq 8); do
  ( for i in $(seq 10); do
      curl -s -o /dev/null -X PUT "$BASE/api/v1/tenants/$T/stock/bulk_update" "${AUTH[@]}" "${J[@]}" \
        -d "{\"mode\":\"merge\",\"events\":[{\"event_id\":\"race-$c-$i\",\"product_id\":\"RACE\",\"delta\":1,\"event_time\":\"2025-03-01T10:00:00Z\"}]}"
    done ) &
done
wait
read -r q v < <(qty RACE | tr -d '[],')
[ "$q $v" = "80 80" ] && ok "8 x 10 concurrent +1 = 80, version 80" || fail "race" "$q $v"

echo "-- a worker killed mid-request"
python3 - "$TMP/kill.ndjson" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(100000):
        f.write(json.dumps({"event_id": f"kill-{i}", "product_id": f"K{i // 2000}", "delta": 1,
                            "event_time": "2025-06-01T00:00:00Z"}) + "\n")
PY
for i in $(seq 0 49); do product "K$i" >/dev/null; done
( curl -s -o /dev/null --max-time 30 -X PUT "$BASE/api/v1/tenants/$T/stock/bulk_update?mode=merge" "${AUTH[@]}" \
    -H 'Content-Type: application/x-ndjson' --data-binary @"$TMP/kill.ndjson" ) &
cpid=$!
killed=""
for _ in $(seq 200); do
  sleep 0.02
  n=$(sqlite3 -cmd ".timeout 5000" "$VAR/cartograph.db" "SELECT count(*) FROM stock_levels s JOIN products p ON p.id=s.product_id WHERE p.ext_id LIKE 'K%'" 2>/dev/null || echo 0)
  if [ "${n:-0}" -gt 0 ]; then
    for w in $(worker_pids); do kill -9 "$w" 2>/dev/null; done
    killed=yes; break
  fi
done
wait $cpid 2>/dev/null
[ -n "$killed" ] && ok "killed the workers after the first commit group" || fail "kill mid-request" "never saw a committed group"
sleep 1.5
bad=$(sqlite3 -cmd ".timeout 5000" "$VAR/cartograph.db" "SELECT count(*) FROM products p LEFT JOIN stock_levels s ON s.product_id=p.id WHERE p.ext_id LIKE 'K%' AND coalesce(s.quantity,0) NOT IN (0, 2000)")
applied=$(sqlite3 -cmd ".timeout 5000" "$VAR/cartograph.db" "SELECT count(*) FROM stock_levels s JOIN products p ON p.id=s.product_id WHERE p.ext_id LIKE 'K%' AND s.quantity=2000")
[ "$bad" = 0 ] && [ "$applied" -lt 50 ] && ok "every product fully applied or untouched ($applied of 50 applied)" \
  || fail "atomicity after kill" "bad=$bad applied=$applied"
http PUT "/api/v1/tenants/$T/stock/bulk_update?mode=merge" "${AUTH[@]}" -H 'Content-Type: application/x-ndjson' --data-binary @"$TMP/kill.ndjson"
expect_json "the retry completes the rest exactly once" \
  '[d["summary"]["events_applied"] + d["summary"]["events_duplicate"], d["summary"]["rejected"]]' '[100000, 0]'
all=$(sqlite3 "$VAR/cartograph.db" "SELECT count(*) FROM stock_levels s JOIN products p ON p.id=s.product_id WHERE p.ext_id LIKE 'K%' AND s.quantity=2000")
[ "$all" = 50 ] && ok "after the retry all 50 products are at 2000" || fail "after retry" "$all"

echo "-- through Caddy (chunked body, no Content-Length)"
stack_start caddy 2
new_tenant "Stock Caddy"; T=$TENANT_ID; K=$TENANT_KEY; AUTH=(-H "Authorization: Bearer $K")
product CD >/dev/null
python3 -c '
import json
for i in range(4000):
    print(json.dumps({"event_id": f"cd-{i}", "product_id": "CD", "delta": 1, "event_time": "2025-07-01T00:00:00Z"}))' > "$TMP/caddy.ndjson"
http PUT "/api/v1/tenants/$T/stock/bulk_update?mode=merge" "${AUTH[@]}" -H 'Content-Type: application/x-ndjson' \
  -H 'Transfer-Encoding: chunked' --data-binary @"$TMP/caddy.ndjson"
expect_json "4000 events streamed through Caddy" '[d["results"][0]["quantity"], d["summary"]["events_applied"]]' '[4000, 4000]'

finish
