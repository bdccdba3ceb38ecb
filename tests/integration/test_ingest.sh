#!/usr/bin/env bash
# test_ingest.sh: POST /api/v1/ingest/orders/ through lighttpd: every body
# type (NDJSON, gzip by Content-Encoding / media type / sniffing, zip,
# multipart with several file parts, chunked transfer), exact counts, error
# codes and line numbers for a file with known bad rows, the error link,
# duplicates across requests, Idempotency-Key replay and 422, 415/400 body
# errors, tenant isolation of runs, 429 under a low queue bound, metrics,
# and chunked bodies through Caddy.
source "$(dirname "$0")/lib.sh"

# fixture FILE PREFIX NGOOD: NGOOD good orders plus the known bad lines below.
# Prints nothing; the expectations are fixed by the positions used here
# (use NGOOD >= 28 so the good rows outnumber the last bad line).
fixture() {
  python3 - "$1" "$2" "$3" <<'PY'
import json, sys
path, prefix, ngood = sys.argv[1], sys.argv[2], int(sys.argv[3])
def order(i, **kw):
    o = {"order_id": "%s-%06d" % (prefix, i),
         "customer": {"id": "C-%d" % (i % 7), "name": "Customer %d" % (i % 7),
                      "email": "c%d@example.com" % (i % 7)},
         "status": "paid", "currency": "EUR", "created_at": "2025-0%d-15T10:00:00Z" % (1 + i % 3),
         "items": [{"product_id": "P-1", "quantity": 2, "unit_price": "19.99"},
                   {"product_id": "P-2", "quantity": 1, "unit_price": 5}],
         "total": "44.98"}
    o.update(kw)
    return json.dumps(o, ensure_ascii=False).encode()
bad = {
    3: b'{"order_id": "broken", ',
    7: order(900001, items=[{"product_id": "P-404", "quantity": 1, "unit_price": "1.00"}], total="1.00"),
    11: order(900002, total="44.99"),
    13: order(900003, items=[{"product_id": "P-1", "quantity": 0, "unit_price": "1.00"}], total="0"),
    17: order(900004, currency="EURO"),
    19: order(900005, created_at="yesterday"),
    23: order(1),
    29: b'{"order_id": "%s-900007", "status": "paid"}' % prefix.encode(),
    31: b'',
    37: b'{"order_id": "\xff\xfe"}',
}
out, good, line = [], 0, 0
while good < ngood or line < max(bad):
    line += 1
    if line in bad:
        out.append(bad[line])
    else:
        good += 1
        out.append(order(good))
open(path, "wb").write(b"\n".join(out) + b"\n")
PY
}
# The bad lines above: 9 rows failed (line 31 is blank and not a row).
EXPECT_CODES='{"duplicate_in_request": 1, "invalid_currency": 1, "invalid_json": 1, "invalid_quantity": 1, "invalid_timestamp": 1, "invalid_utf8": 1, "missing_field": 1, "total_mismatch": 1, "unknown_product": 1}'
EXPECT_LINES='[[3, "invalid_json", ""], [7, "unknown_product", "/items/0/product_id"], [11, "total_mismatch", "/total"], [13, "invalid_quantity", "/items/0/quantity"], [17, "invalid_currency", "/currency"], [19, "invalid_timestamp", "/created_at"], [23, "duplicate_in_request", "/order_id"], [29, "missing_field", "/customer"], [37, "invalid_utf8", ""]]'

seed_products() { # TENANT_PUBLIC_ID
  local tid
  tid=$(sqlite3 "$VAR/cartograph.db" "SELECT id FROM tenants WHERE public_id='$1'")
  sqlite3 "$VAR/cartograph.db" "INSERT INTO products(tenant_id, ext_id, name, currency, created_at, updated_at)
    VALUES ($tid, 'P-1', 'one', 'EUR', 0, 0), ($tid, 'P-2', 'two', 'EUR', 0, 0)"
}
orders_of() { # TENANT_PUBLIC_ID PREFIX -> count of registered orders with that id prefix
  sqlite3 "$VAR/cartograph.db" "SELECT count(*) FROM order_keys k JOIN tenants t ON t.id = k.tenant_id
    WHERE t.public_id = '$1' AND k.ext_id LIKE '$2-%'"
}
ingest() { # [curl args...] -> POST to the ingest endpoint as tenant A
  http POST /api/v1/ingest/orders/ -H "Authorization: Bearer $A_KEY" "$@"
}
expect_counts() { # NAME RECEIVED INSERTED DUPLICATE FAILED
  expect_json "$1" '[d["rows_received"], d["rows_inserted"], d["rows_duplicate"], d["rows_failed"]]' \
    "[$2, $3, $4, $5]"
}

export CARTOGRAPH_INGEST_QUEUE_MAX=1
stack_start lighttpd 2
new_tenant "Ingest A"; A_ID=$TENANT_ID; A_KEY=$TENANT_KEY
new_tenant "Ingest B"; B_ID=$TENANT_ID; B_KEY=$TENANT_KEY
seed_products "$A_ID"
F=$TMP/orders.ndjson

echo "-- NDJSON with known good and bad rows"
fixture "$F" N 200
ingest -H 'Content-Type: application/x-ndjson' --data-binary @"$F"
expect_status "ndjson 200" 200
expect_counts "ndjson counts" 209 200 0 9
expect_json "error counts by code" 'dict(sorted(d["error_counts"].items()))' "$EXPECT_CODES"
expect_json "errors: line, code, pointer" '[[e["line"], e["code"], e["pointer"]] for e in d["errors"]]' "$EXPECT_LINES"
expect_json "errors name the order when readable" '[e["order_id"] for e in d["errors"]][1:3]' '["N-900001", "N-900002"]'
expect_json "summary has the spec's fields" \
  'all(k in d for k in ("rows_received","rows_inserted","rows_duplicate","rows_failed","processing_time_ms","idempotency_key","errors","error_counts"))' true
[ "$(orders_of "$A_ID" N)" = 200 ] && ok "200 orders stored" || fail "200 orders stored" "$(orders_of "$A_ID" N)"
ERRURL=$(json 'd["errors_url"]'); RUN=$(json 'd["ingest_id"]')
http GET "$ERRURL" -H "Authorization: Bearer $A_KEY"
expect_status "error list link" 200
[ "$(wc -l < "$BODYF")" = 9 ] && ok "error list has every error" || fail "error list" "$(wc -l < "$BODYF")"
http GET "$ERRURL" -H "Authorization: Bearer $B_KEY"
expect_problem "another tenant cannot read the error list" 404 not_found
http GET "/api/v1/ingest/orders/$RUN" -H "Authorization: Bearer $A_KEY"
expect_json "run summary by id" '[d["state"], d["rows_inserted"]]' '["complete", 200]'

echo "-- the same file again: everything is already present"
ingest -H 'Content-Type: application/x-ndjson' --data-binary @"$F"
expect_counts "re-ingest counts" 209 0 201 8

echo "-- gzip: Content-Encoding, application/gzip, sniffed octet-stream"
fixture "$F" G1 50; gzip -c "$F" > "$F.gz"
ingest -H 'Content-Type: application/x-ndjson' -H 'Content-Encoding: gzip' --data-binary @"$F.gz"
expect_counts "gzip by Content-Encoding" 59 50 0 9
fixture "$F" G2 50; gzip -c "$F" > "$F.gz"
ingest -H 'Content-Type: application/gzip' --data-binary @"$F.gz"
expect_counts "application/gzip" 59 50 0 9
fixture "$F" G3 50; gzip -c "$F" > "$F.gz"
ingest -H 'Content-Type: application/octet-stream' --data-binary @"$F.gz"
expect_counts "octet-stream sniffed as gzip" 59 50 0 9
head -c 300 "$F.gz" > "$F.trunc.gz"
ingest -H 'Content-Type: application/gzip' --data-binary @"$F.trunc.gz"
expect_problem "truncated gzip is a 400" 400 corrupt_body
expect_json "the failure says what was committed" '"rows_inserted" in d and "ingest_id" in d' true

echo "-- zip and multipart"
fixture "$TMP/a.ndjson" Z1 30; fixture "$TMP/b.ndjson" Z2 30; gzip -c "$TMP/b.ndjson" > "$TMP/b.ndjson.gz"
(cd "$TMP" && python3 -c "
import zipfile
z = zipfile.ZipFile('o.zip', 'w', zipfile.ZIP_DEFLATED)
z.write('a.ndjson'); z.writestr('sub/', ''); z.write('b.ndjson.gz', compress_type=zipfile.ZIP_STORED); z.close()")
ingest -H 'Content-Type: application/zip' --data-binary @"$TMP/o.zip"
expect_counts "zip with a deflated and a stored gzip entry" 78 60 0 18
expect_json "zip errors carry the entry number" 'sorted({e["part"] for e in d["errors"]})' '[1, 2]'
fixture "$TMP/a.ndjson" Z3 30; (cd "$TMP" && rm -f o.zip && python3 -c "
import zipfile
z = zipfile.ZipFile('o.zip', 'w', zipfile.ZIP_DEFLATED); z.write('a.ndjson'); z.close()")
ingest -H 'Content-Type: application/octet-stream' --data-binary @"$TMP/o.zip"
expect_counts "octet-stream sniffed as zip" 39 30 0 9
fixture "$TMP/a.ndjson" M1 30; fixture "$TMP/b.ndjson" M2 30; gzip -c "$TMP/b.ndjson" > "$TMP/b.gz"
ingest -F "note=hello" -F "one=@$TMP/a.ndjson;type=application/x-ndjson" -F "two=@$TMP/b.gz;type=application/gzip"
expect_counts "multipart: a field and two file parts (one gzip)" 78 60 0 18
expect_json "multipart errors carry part and line" '[[e["part"], e["line"]] for e in d["errors"]][8:10]' '[[1, 37], [2, 3]]'

echo "-- chunked transfer encoding (lighttpd spools it, then streams it to us)"
fixture "$F" CH 100
ingest -H 'Content-Type: application/x-ndjson' -H 'Transfer-Encoding: chunked' --data-binary @"$F"
expect_counts "chunked body" 109 100 0 9

echo "-- body errors"
ingest -H 'Content-Type: text/csv' --data-binary 'a,b'
expect_problem "unsupported media type" 415 unsupported_media_type
ingest -H 'Content-Type: application/x-ndjson' -H 'Content-Encoding: br' --data-binary 'x'
expect_problem "unsupported content encoding" 415 unsupported_media_type
ingest -H 'Content-Type: application/x-ndjson' --data-binary ''
expect_problem "empty body" 400 empty_body
ingest -H 'Content-Type: multipart/form-data' --data-binary 'x'
expect_problem "multipart without boundary" 400 bad_request
http POST /api/v1/ingest/orders/ -H 'Content-Type: application/x-ndjson' --data-binary @"$F"
expect_problem "no key" 401 unauthorized

echo "-- tenant isolation: B has no products and none of A's orders"
fixture "$F" N 30
http POST /api/v1/ingest/orders/ -H "Authorization: Bearer $B_KEY" -H 'Content-Type: application/x-ndjson' --data-binary @"$F"
expect_json "B's rows fail on unknown products, nothing is a duplicate of A's" \
  '[d["rows_inserted"], d["rows_duplicate"], d["error_counts"]["unknown_product"]]' '[0, 0, 32]'
http GET "/api/v1/ingest/orders/$RUN" -H "Authorization: Bearer $B_KEY"
expect_problem "B cannot read A's run" 404 not_found

echo "-- Idempotency-Key: replay, 422"
fixture "$F" ID 40
ingest -H 'Content-Type: application/x-ndjson' -H 'Idempotency-Key: "ingest-key-1"' --data-binary @"$F"
expect_counts "first request with the key" 49 40 0 9
expect_json "summary names the key" 'd["idempotency_key"]' ingest-key-1
first=$BODY
ingest -H 'Content-Type: application/x-ndjson' -H 'Idempotency-Key: "ingest-key-1"' --data-binary @"$F"
[ "$(header Idempotent-Replayed)" = true ] && ok "replay is marked" || fail "replay is marked" "$(header Idempotent-Replayed)"
[ "$BODY" = "$first" ] && ok "replayed body is the stored summary" || fail "replayed body" "$BODY"
[ "$(orders_of "$A_ID" ID)" = 40 ] && ok "replay inserted nothing" || fail "replay inserted nothing" "$(orders_of "$A_ID" ID)"
echo '{"order_id":"other"}' >> "$F"
ingest -H 'Content-Type: application/x-ndjson' -H 'Idempotency-Key: "ingest-key-1"' --data-binary @"$F"
expect_problem "same key, different body" 422 idempotency_key_reused

echo "-- 429 when the ingest queue is full (bound 1)"
fixture "$F" Q 3000
curl -s -o "$TMP/slow.out" --limit-rate 200k -X POST -H "Authorization: Bearer $A_KEY" \
  -H 'Content-Type: application/x-ndjson' --data-binary @"$F" "$BASE/api/v1/ingest/orders/" &
slow=$!
sleep 1
ingest -H 'Content-Type: application/x-ndjson' --data-binary '{}'
expect_problem "second ingest while one runs" 429 overloaded
ra=$(header Retry-After)
[[ "$ra" =~ ^[0-9]+$ ]] && [ "$ra" -ge 1 ] && ok "429 has Retry-After ($ra s)" || fail "429 Retry-After" "$ra"
expect_json "429 body: queue_length and expected_delay_seconds" \
  '[d["queue_length"], d["expected_delay_seconds"] >= 1]' '[1, true]'
http GET /api/v1/health
expect_status "other routes still served" 200
wait $slow
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d["rows_inserted"] != 3000)' "$TMP/slow.out" \
  && ok "slow ingest finished with all rows" || fail "slow ingest" "$(head -c 300 "$TMP/slow.out")"

echo "-- metrics"
http GET /metrics
for m in 'cartograph_ingest_rows_total{outcome="inserted"}' 'cartograph_ingest_rows_total{outcome="failed"}' \
  'cartograph_ingest_rows_total{outcome="duplicate"}' cartograph_ingest_rows_per_second \
  cartograph_ingest_batch_commit_duration_seconds_bucket cartograph_db_write_lock_wait_seconds_bucket \
  cartograph_ingest_queue_length cartograph_ingest_overload_rejections_total; do
  grep -qF "$m" "$BODYF" && ok "metric $m" || fail "metric $m" "absent"
done
ins=$(grep -F 'cartograph_ingest_rows_total{outcome="inserted"}' "$BODYF" | awk '{print $2}')
[ "${ins%.*}" -ge 3500 ] && ok "inserted counter counts rows ($ins)" || fail "inserted counter" "$ins"

echo "-- Caddy in front: chunked bodies stream through (no CONTENT_LENGTH; read to EOF)"
stack_start caddy 2
new_tenant "Ingest C"; C_ID=$TENANT_ID; C_KEY=$TENANT_KEY
seed_products "$C_ID"
fixture "$F" CC 100
http POST /api/v1/ingest/orders/ -H "Authorization: Bearer $C_KEY" -H 'Content-Type: application/x-ndjson' \
  -H 'Transfer-Encoding: chunked' --data-binary @"$F"
expect_counts "chunked through Caddy" 109 100 0 9
gzip -c "$F" > "$F.gz"
http POST /api/v1/ingest/orders/ -H "Authorization: Bearer $C_KEY" -H 'Content-Type: application/gzip' \
  -H 'Transfer-Encoding: chunked' --data-binary @"$F.gz"
expect_counts "chunked gzip through Caddy: already present" 109 0 101 8

finish
