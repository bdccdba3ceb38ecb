#!/usr/bin/env bash
# orders.sh: bulk ingest, search, stock and price events, as a user calls them,
# against `make run` and its demo tenant (whose products the demo load created).
#   scripts/curl/orders.sh [BASE_URL] [VAR_DIR]
set -euo pipefail
BASE=${1:-http://127.0.0.1:8080}
VAR=${2:-var}
TENANT=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$VAR/secret/demo.json")
KEY=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["api_key"])' "$VAR/secret/demo.json")
T=$BASE/api/v1/tenants/$TENANT
A=(-H "Authorization: Bearer $KEY")
show() { echo; echo "\$ ${*}" | sed "s/$KEY/\$KEY/g"; "$@"; echo; }
run=$RANDOM

echo "# bulk ingest: two good orders, one with a wrong total, one duplicate id"
cat > /tmp/cartograph-demo-$run.ndjson <<NDJSON
{"order_id":"CURL-$run-1","customer":{"id":"C-curl","name":"Zoë Brandt","email":"zoe@example.com"},"status":"paid","currency":"EUR","created_at":"2025-03-01T12:34:56Z","items":[{"product_id":"P-0000001","quantity":2,"unit_price":"19.99"}],"total":"39.98"}
{"order_id":"CURL-$run-2","customer":{"id":"C-curl","name":"Zoë Brandt","email":"zoe@example.com"},"status":"shipped","currency":"EUR","created_at":"2025-03-02T08:00:00Z","items":[{"product_id":"P-0000002","quantity":1,"unit_price":"5.00"}],"total":"5.00"}
{"order_id":"CURL-$run-3","customer":{"id":"C-curl","name":"Zoë Brandt","email":"zoe@example.com"},"status":"paid","currency":"EUR","created_at":"2025-03-02T09:00:00Z","items":[{"product_id":"P-0000002","quantity":1,"unit_price":"5.00"}],"total":"6.00"}
{"order_id":"CURL-$run-1","customer":{"id":"C-curl","name":"Zoë Brandt","email":"zoe@example.com"},"status":"paid","currency":"EUR","created_at":"2025-03-01T12:34:56Z","items":[{"product_id":"P-0000001","quantity":2,"unit_price":"19.99"}],"total":"39.98"}
NDJSON
show curl -s "${A[@]}" -H 'Content-Type: application/x-ndjson' -H "Idempotency-Key: \"curl-$run\"" \
  --data-binary @/tmp/cartograph-demo-$run.ndjson "$BASE/api/v1/ingest/orders/"
echo "# the same request again: replayed, nothing inserted"
show curl -s -D - -o /dev/null "${A[@]}" -H 'Content-Type: application/x-ndjson' -H "Idempotency-Key: \"curl-$run\"" \
  --data-binary @/tmp/cartograph-demo-$run.ndjson "$BASE/api/v1/ingest/orders/"
gzip -c /tmp/cartograph-demo-$run.ndjson > /tmp/cartograph-demo-$run.ndjson.gz
echo "# gzip body: every id is now already present"
show curl -s "${A[@]}" -H 'Content-Type: application/x-ndjson' -H 'Content-Encoding: gzip' \
  --data-binary @/tmp/cartograph-demo-$run.ndjson.gz "$BASE/api/v1/ingest/orders/"
rm -f /tmp/cartograph-demo-$run.ndjson /tmp/cartograph-demo-$run.ndjson.gz

echo "# search: text, status, projection, then the next page with the cursor"
show curl -s "${A[@]}" "$T/orders/search?q=zo%C3%AB&fields=order_id,status,total,customer_name&limit=2"
cursor=$(curl -s "${A[@]}" "$T/orders/search?status=paid&limit=2" | tail -n1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["next_cursor"])')
show curl -s "${A[@]}" "$T/orders/search?status=paid&limit=2&cursor=$cursor"
show curl -s "${A[@]}" "$T/orders/search?limit=2&format=json&from=2025-03-01&to=2025-03-03"
show curl -s "${A[@]}" "$T/orders/search?limit=0"

echo "# stock: merge two deltas, then a reject-mode update with a stale version"
show curl -s -X PUT "${A[@]}" "$T/stock/bulk_update" -d "{\"mode\":\"merge\",\"events\":[
  {\"event_id\":\"curl-$run-s1\",\"product_id\":\"P-0000001\",\"delta\":5,\"event_time\":\"2025-03-01T12:00:00Z\",\"source\":\"wms\"},
  {\"event_id\":\"curl-$run-s2\",\"product_id\":\"P-0000001\",\"delta\":-2,\"event_time\":\"2025-03-01T12:01:00Z\",\"source\":\"wms\"}]}"
show curl -s -X PUT "${A[@]}" "$T/stock/bulk_update" -d "{\"mode\":\"reject\",\"events\":[
  {\"event_id\":\"curl-$run-s3\",\"product_id\":\"P-0000001\",\"delta\":1,\"expected_version\":0,\"event_time\":\"2025-03-01T12:02:00Z\",\"source\":\"wms\"}]}"

echo "# price events: a normal change, then a jump flagged as an anomaly"
show curl -s "${A[@]}" -H "Idempotency-Key: \"curl-$run-p1\"" "$T/products/P-0000001/price-event" \
  -d "{\"event_id\":\"curl-$run-p1\",\"price\":\"20.49\",\"currency\":\"EUR\",\"observed_at\":\"2025-03-05T10:00:00Z\",\"source\":\"crawler\"}"
show curl -s "${A[@]}" "$T/products/P-0000001/price-event" \
  -d "{\"event_id\":\"curl-$run-p2\",\"price\":\"99.00\",\"currency\":\"EUR\",\"observed_at\":\"2025-03-05T11:00:00Z\",\"source\":\"crawler\"}"
show curl -s "${A[@]}" "$T/price-anomalies?limit=5"
