#!/usr/bin/env bash
# test_search.sh: GET /api/v1/tenants/{t}/orders/search through lighttpd:
# parameter validation (400 naming the parameter), NDJSON and JSON output,
# content negotiation, a cursor walk over all pages, tampered and foreign
# cursors, projection, non-ASCII text search, tenant isolation, and a client
# that hangs up mid-stream. Data comes from tests/fixtures/search_load.py.
source "$(dirname "$0")/lib.sh"

stack_start lighttpd 2
new_tenant "Search A"; A_ID=$TENANT_ID; A_KEY=$TENANT_KEY
new_tenant "Search B"; B_ID=$TENANT_ID; B_KEY=$TENANT_KEY
python3 "$ROOT/tests/fixtures/search_load.py" "$VAR/cartograph.db" "$A_ID" 3000 1 || fail "load A"
python3 "$ROOT/tests/fixtures/search_load.py" "$VAR/cartograph.db" "$B_ID" 500 2 || fail "load B"
AUTH_A=(-H "Authorization: Bearer $A_KEY")
S="/api/v1/tenants/$A_ID/orders/search"

echo "-- validation"
http GET "$S?colour=red&limit=5" "${AUTH_A[@]}"
expect_problem "unknown parameter is a 400" 400 unknown_parameter
expect_json "it names the parameter" '"colour" in d["detail"]' true
http GET "$S?status=lost" "${AUTH_A[@]}"
expect_problem "bad status" 400 invalid_parameter
expect_json "pointer names status" 'd["pointer"]' status
http GET "$S?limit=0" "${AUTH_A[@]}"
expect_problem "limit 0" 400 invalid_parameter
http GET "$S?limit=100001" "${AUTH_A[@]}"
expect_problem "limit above 100000" 400 invalid_parameter
http GET "$S?min_total=10" "${AUTH_A[@]}"
expect_json "min_total needs currency" 'd["pointer"]' min_total
http GET "$S?from=yesterday" "${AUTH_A[@]}"
expect_json "bad date names from" 'd["pointer"]' from
http GET "$S?q=ab" "${AUTH_A[@]}"
expect_problem "two-character q" 400 search_term_too_short
http GET "$S?fields=order_id,password" "${AUTH_A[@]}"
expect_problem "unknown field" 400 invalid_parameter
http GET "$S" -H "Authorization: Bearer $A_KEY" -H "Accept: text/html"
expect_problem "unacceptable media type" 406 not_acceptable
http GET "/api/v1/tenants/$B_ID/orders/search" "${AUTH_A[@]}"
expect_problem "another tenant's search is 404" 404 tenant_not_found

echo "-- NDJSON"
http GET "$S?limit=10" "${AUTH_A[@]}"
expect_status "search 200" 200
[[ "$(header Content-Type)" == application/x-ndjson* ]] && ok "NDJSON content type" \
  || fail "NDJSON content type" "$(header Content-Type)"
lines=$(wc -l < "$BODYF")
[ "$lines" = 11 ] && ok "10 rows and a trailer" || fail "10 rows and a trailer" "$lines lines"
tail -n1 "$BODYF" > "$TMP/trailer.json"
expect_json_f() { local got; got=$(json "$2" "$3"); [ "$got" = "$4" ] && ok "$1" || fail "$1" "$got"; }
expect_json_f "trailer count" 'd["count"]' "$TMP/trailer.json" 10
expect_json_f "trailer has a cursor" 'isinstance(d["next_cursor"], str)' "$TMP/trailer.json" true

echo "-- JSON document"
http GET "$S?limit=7&fields=order_id" "${AUTH_A[@]}" -H "Accept: application/json"
expect_json "Accept: application/json gives a document" 'len(d["data"])' 7
http GET "$S?limit=3&format=json" "${AUTH_A[@]}"
expect_json "format=json" 'd["count"]' 3

echo "-- cursor walk"
total=$(sqlite3 "$VAR/cartograph.db" "SELECT count(*) FROM order_keys WHERE tenant_id=(SELECT id FROM tenants WHERE public_id='$A_ID')")
cursor=""; pages=0; : > "$TMP/ids"
while :; do
  http GET "$S?limit=700&fields=order_id&status=paid,shipped,pending,delivered,cancelled,refunded${cursor:+&cursor=$cursor}" "${AUTH_A[@]}"
  [ "$STATUS" = 200 ] || { fail "walk page $pages" "status $STATUS"; break; }
  head -n -1 "$BODYF" | python3 -c 'import sys,json; [print(json.loads(l)["order_id"]) for l in sys.stdin]' >> "$TMP/ids"
  cursor=$(tail -n1 "$BODYF" | python3 -c 'import sys,json; c=json.load(sys.stdin)["next_cursor"]; print(c or "")')
  pages=$((pages + 1))
  [ -z "$cursor" ] || [ $pages -gt 20 ] && break
done
[ "$(wc -l < "$TMP/ids")" = "$total" ] && ok "walk saw all $total orders in $pages pages" \
  || fail "walk saw all orders" "$(wc -l < "$TMP/ids") of $total"
[ "$(sort "$TMP/ids" | uniq -d | wc -l)" = 0 ] && ok "no order twice" || fail "no order twice" dup

echo "-- cursors"
http GET "$S?limit=5&status=paid" "${AUTH_A[@]}"
cur=$(tail -n1 "$BODYF" | python3 -c 'import sys,json; print(json.load(sys.stdin)["next_cursor"])')
http GET "$S?limit=5&status=paid&cursor=$cur" "${AUTH_A[@]}"
expect_status "genuine cursor" 200
bad="${cur:0:20}$( [ "${cur:20:1}" = A ] && echo B || echo A )${cur:21}"
http GET "$S?limit=5&status=paid&cursor=$bad" "${AUTH_A[@]}"
expect_problem "tampered cursor" 400 invalid_cursor
http GET "$S?limit=5&status=shipped&cursor=$cur" "${AUTH_A[@]}"
expect_problem "cursor with other filters" 400 invalid_cursor
http GET "/api/v1/tenants/$B_ID/orders/search?limit=5&status=paid&cursor=$cur" -H "Authorization: Bearer $B_KEY"
expect_problem "foreign tenant's cursor" 400 invalid_cursor

echo "-- projection and text search"
http GET "$S?limit=1&fields=order_id,customer,items" "${AUTH_A[@]}"
head -n1 "$BODYF" > "$TMP/row.json"
expect_json_f "customer object" 'sorted(d["customer"].keys())' "$TMP/row.json" '["email", "id", "name"]'
expect_json_f "items carry product ids" 'all(i["product_id"].startswith("P-") for i in d["items"])' "$TMP/row.json" true
http GET "$S" "${AUTH_A[@]}" -G --data-urlencode "q=ZOË" --data-urlencode "fields=customer_name" --data-urlencode "limit=100000"
n=$(head -n -1 "$BODYF" | grep -c 'Zoë Brandt')
rows=$(($(wc -l < "$BODYF") - 1))
[ "$n" -gt 0 ] && [ "$n" = "$rows" ] && ok "q=ZOË finds Zoë ($n orders)" || fail "q=ZOË" "$n of $rows"
http GET "$S" "${AUTH_A[@]}" -G --data-urlencode "q=ærø sk" --data-urlencode "limit=3"
expect_status "non-ASCII multi-word term" 200

echo "-- concurrent streams while orders are written"
for i in 1 2 3 4; do
  curl -sS -o "$TMP/conc$i" -w '%{http_code}' "${AUTH_A[@]}" \
    "$BASE$S?limit=100000&fields=order_id,customer,items" > "$TMP/conc$i.status" &
done
python3 "$ROOT/tests/fixtures/search_load.py" "$VAR/cartograph.db" "$A_ID" 500 9 || fail "load during streams"
wait
for i in 1 2 3 4; do
  st=$(cat "$TMP/conc$i.status"); cnt=$(tail -n1 "$TMP/conc$i" | python3 -c 'import sys,json; print(json.load(sys.stdin).get("count"))' 2>/dev/null)
  if [ "$st" = 200 ] && [ "$cnt" -ge 3000 ] 2>/dev/null && [ "$(($(wc -l < "$TMP/conc$i") - 1))" = "$cnt" ]; then
    ok "stream $i complete beside a writer ($cnt rows)"
  else
    fail "stream $i beside a writer" "status $st count $cnt"
  fi
done
http GET "$S?limit=1&fields=order_id" "${AUTH_A[@]}"
total=$(sqlite3 "$VAR/cartograph.db" "SELECT count(*) FROM order_keys WHERE tenant_id=(SELECT id FROM tenants WHERE public_id='$A_ID')")
[ "$total" = 3500 ] && ok "the writer committed while streams ran" || fail "writer committed" "$total"

echo "-- a client that hangs up"
# The worker notices only if it is still writing when the front server drops
# the connection; lighttpd and the sockets can absorb a short response, so a
# few attempts are allowed before the counter must have moved.
gone=0
for attempt in 1 2 3 4 5; do
  curl -sS -N "${AUTH_A[@]}" "$BASE$S?limit=100000&fields=order_id,customer,items" 2>/dev/null \
    | head -c 2000 > /dev/null
  for _ in $(seq 20); do
    http GET /metrics
    gone=$(echo "$BODY" | awk '$1 == "cartograph_search_client_gone_total" {print $2}')
    [ "${gone:-0}" != 0 ] && break 2
    sleep 0.1
  done
done
[ "${gone:-0}" -ge 1 ] 2>/dev/null && ok "the hang-up stopped the search (client_gone $gone, attempt $attempt)" \
  || fail "the hang-up stopped the search" "cartograph_search_client_gone_total=${gone:-missing}"
rows=$(echo "$BODY" | awk '$1 == "cartograph_search_rows_total" {print $2}')
[ "${rows:-0}" -gt 3000 ] 2>/dev/null && ok "rows counted in metrics ($rows)" || fail "rows in metrics" "${rows:-missing}"
http GET /api/v1/health
expect_status "workers still serve after a hang-up" 200
http GET "$S?limit=2" "${AUTH_A[@]}"
expect_status "search still works" 200

echo "-- the same stream behind Caddy"
stack_start caddy 2
new_tenant "Search C"; C_ID=$TENANT_ID; C_KEY=$TENANT_KEY
python3 "$ROOT/tests/fixtures/search_load.py" "$VAR/cartograph.db" "$C_ID" 1500 3 || fail "load C"
http GET "/api/v1/tenants/$C_ID/orders/search?limit=100000&fields=order_id,customer,items" \
  -H "Authorization: Bearer $C_KEY"
expect_status "caddy: search 200" 200
tail -n1 "$BODYF" > "$TMP/trailer.json"
expect_json_f "caddy: all 1500 rows and a null cursor" '[d["count"], d["next_cursor"]]' "$TMP/trailer.json" '[1500, null]'
http GET "/api/v1/tenants/$C_ID/orders/search?limit=10&format=json" -H "Authorization: Bearer $C_KEY"
expect_json "caddy: JSON document" 'len(d["data"])' 10

finish
