#!/usr/bin/env bash
# test_price.sh: the price-event webhook through lighttpd: settings and who
# may change them, exact money, event_id and Idempotency-Key replays, rate
# limits per tenant and per product (429, Retry-After, RateLimit headers),
# both anomaly rules at and around their thresholds, pending anomalies and
# review, the NDJSON anomaly listing with signed keyset cursors, and the SSE
# follow stream (delivery within 1 s, Last-Event-ID resume, follower cap).
source "$(dirname "$0")/lib.sh"

stack_start lighttpd 4
new_tenant "Prices"; T=$TENANT_ID; K=$TENANT_KEY
AUTH=(-H "Authorization: Bearer $K")
ADMIN=(-H "Authorization: Bearer $ADMIN_KEY")
J=(-H "Content-Type: application/json")

product() { # ID PRICE
  http PUT "/api/v1/tenants/$T/products/$1" "${AUTH[@]}" "${J[@]}" \
    -d "{\"name\":\"$1\",\"currency\":\"EUR\",\"price\":\"$2\"}"
  [ "$STATUS" = 201 ] || fail "create $1" "$STATUS"
}
N=0
event() { # PRODUCT PRICE [event_id] [observed_at] [extra curl args]
  N=$((N + 1))
  local id=${3:-ev-$N} at=${4:-2025-03-01T10:00:$(printf %02d $((N % 60)))Z}
  http POST "/api/v1/tenants/$T/products/$1/price-event" "${AUTH[@]}" "${J[@]}" "${@:5}" \
    -d "{\"event_id\":\"$id\",\"price\":$2,\"currency\":\"EUR\",\"observed_at\":\"$at\",\"source\":\"feed\",\"metadata\":{\"k\":1}}"
}
settings() { # JSON [auth...]
  local body=$1; shift
  http PATCH "/api/v1/tenants/$T/settings" "$@" "${J[@]}" -d "$body"
}
price_of() { http GET "/api/v1/tenants/$T/products/$1" "${AUTH[@]}"; json 'd["price"]'; }

echo "-- settings"
http GET "/api/v1/tenants/$T/settings" "${AUTH[@]}"
expect_json "defaults" '[d["anomaly"]["change_pct"], d["anomaly"]["mad_threshold"], d["rate_limits"]["price_events_product"]["rate"]]' '[50.0, 3.5, 10]'
settings '{"rate_limits":{"price_events_product":{"rate":1000}}}' "${AUTH[@]}"
expect_problem "a tenant cannot change its rate limits" 403 forbidden
settings '{"anomaly":{"change_pct":"x"}}' "${AUTH[@]}"
expect_problem "invalid anomaly setting" 400 invalid_field
settings '{"anomaly":{"bogus":1}}' "${AUTH[@]}"
expect_json "unknown setting named" 'd["pointer"]' "/anomaly/bogus"
settings '{"rate_limits":{"price_events_tenant":{"rate":100000,"burst":100000},"price_events_product":{"rate":100000,"burst":100000}}}' "${ADMIN[@]}"
expect_status "admin sets rate limits" 200
settings '{"anomaly":{"change_pct":20,"mad_threshold":0}}' "${AUTH[@]}"
expect_json "tenant sets anomaly rules" '[d["anomaly"]["change_pct"], d["anomaly"]["mad_threshold"], d["rate_limits"]["price_events_tenant"]["rate"]]' '[20.0, 0.0, 100000]'

echo "-- webhook basics"
product P1 10.00
event P1 '"10.50"' e-1
expect_status "accepted event" 201
expect_json "answer" '[d["event_id"], d["old_price"], d["new_price"], d["change_pct"], d["anomaly"], d["review_status"]]' '["e-1", "10.00", "10.50", 5.0, false, "accepted"]'
seq1=$(json 'd["sequence"]')
[ -n "$(header RateLimit-Policy)" ] && ok "RateLimit-Policy on success" || fail "RateLimit-Policy" "missing"
first=$BODY
[ "$(price_of P1)" = "10.50" ] && ok "current price moved" || fail "current price" "$(price_of P1)"
event P1 '"10.50"' e-1 2025-03-01T10:00:01Z
[ "$STATUS" = 201 ] && [ "$BODY" = "$first" ] && [ "$(header Idempotent-Replayed)" = true ] \
  && ok "event_id retry answered from the stored row" || fail "event_id replay" "$STATUS $(header Idempotent-Replayed)"
event P1 '"11.00"' e-1 2025-03-01T10:00:01Z
expect_problem "same event_id, other price" 409 event_id_conflict
event P1 10.1 e-2
expect_json "number 10.1 is exactly 10.10" 'd["new_price"]' "10.10"
event P1 10.0 e-2b
expect_json "number 10.0 is 10.00" 'd["new_price"]' "10.00"
event P1 1e1 e-2c
expect_json "number 1e1 is 10.00" 'd["new_price"]' "10.00"
seq2=$(json 'd["sequence"]')
[ "$seq2" -gt "$seq1" ] && ok "sequence grows" || fail "sequence grows" "$seq1 $seq2"
http POST "/api/v1/tenants/$T/products/P1/price-event" "${AUTH[@]}" "${J[@]}" -H 'Idempotency-Key: "w-1"' \
  -d '{"event_id":"e-3","price":"10.20","currency":"EUR","observed_at":"2025-03-01T11:00:00Z"}'
ik=$BODY
http POST "/api/v1/tenants/$T/products/P1/price-event" "${AUTH[@]}" "${J[@]}" -H 'Idempotency-Key: "w-1"' \
  -d '{"event_id":"e-3","price":"10.20","currency":"EUR","observed_at":"2025-03-01T11:00:00Z"}'
[ "$BODY" = "$ik" ] && [ "$(header Idempotent-Replayed)" = true ] && ok "Idempotency-Key replay" || fail "Idempotency-Key replay" "$BODY"
http POST "/api/v1/tenants/$T/products/P1/price-event" "${AUTH[@]}" "${J[@]}" -H 'Idempotency-Key: "w-1"' \
  -d '{"event_id":"e-3","price":"10.30","currency":"EUR","observed_at":"2025-03-01T11:00:00Z"}'
expect_problem "same Idempotency-Key, other body" 422 idempotency_key_reused
http POST "/api/v1/tenants/$T/products/P1/price-event" "${AUTH[@]}" "${J[@]}" -H 'Idempotency-Key: bad key' \
  -d '{"event_id":"e-3","price":"10.30","currency":"EUR","observed_at":"2025-03-01T11:00:00Z"}'
expect_problem "malformed Idempotency-Key" 400 idempotency_key_invalid
n=$(sqlite3 -cmd ".timeout 5000" "$VAR/cartograph.db" "SELECT count(*) FROM price_events WHERE event_id IN ('e-1','e-3')")
[ "$n" = 2 ] && ok "each retried event stored once" || fail "stored once" "$n"
http POST "/api/v1/tenants/$T/products/P1/price-event" "${AUTH[@]}" "${J[@]}" \
  -d '{"event_id":"e-4","price":"10.20","currency":"USD","observed_at":"2025-03-01T11:00:00Z"}'
expect_problem "currency mismatch" 422 currency_mismatch
http POST "/api/v1/tenants/$T/products/NOPE/price-event" "${AUTH[@]}" "${J[@]}" \
  -d '{"event_id":"e-5","price":"10.20","currency":"EUR","observed_at":"2025-03-01T11:00:00Z"}'
expect_problem "unknown product" 404 product_not_found
http POST "/api/v1/tenants/$T/products/P1/price-event" "${AUTH[@]}" "${J[@]}" \
  -d '{"event_id":"e-6","price":"10.205","currency":"EUR","observed_at":"2025-03-01T11:00:00Z"}'
expect_problem "sub-cent price" 400 invalid_field
http POST "/api/v1/tenants/$T/products/P1/price-event" "${AUTH[@]}" "${J[@]}" \
  -d '{"event_id":"e-6","price":"10.20","currency":"EUR"}'
expect_problem "observed_at required" 400 missing_field
event P1 '"10.00"' e-old 2025-01-01T00:00:00Z
[ "$(price_of P1)" = "10.20" ] && ok "an older observation does not replace the current price" || fail "older observation" "$(price_of P1)"

echo "-- change rule at the threshold (20%)"
product C1 10.00; event C1 '"12.00"'
expect_json "+20.00% is an anomaly" '[d["anomaly"], d["anomaly_rules"], d["change_pct"], d["review_status"]]' '[true, ["change_pct"], 20.0, "pending"]'
[ "$(price_of C1)" = "10.00" ] && ok "pending anomaly leaves the current price" || fail "pending price" "$(price_of C1)"
product C2 10.00; event C2 '"11.99"'
expect_json "+19.90% is not" 'd["anomaly"]' false
product C3 10.00; event C3 '"8.00"'
expect_json "-20.00% is an anomaly" 'd["anomaly"]' true
product C4 10.00; event C4 '"8.01"'
expect_json "-19.90% is not" 'd["anomaly"]' false

echo "-- review"
http POST "/api/v1/tenants/$T/products/C1/price-anomalies/ev-$((N - 3))/review" "${AUTH[@]}" "${J[@]}" -d '{"decision":"approve","note":"real sale"}'
expect_json "approve" '[d["review_status"], d["review_note"]]' '["approved", "real sale"]'
[ "$(price_of C1)" = "12.00" ] && ok "approved price becomes current" || fail "approved price" "$(price_of C1)"
http POST "/api/v1/tenants/$T/products/C1/price-anomalies/ev-$((N - 3))/review" "${AUTH[@]}" "${J[@]}" -d '{"decision":"approve"}'
expect_status "same decision again is a no-op" 200
http POST "/api/v1/tenants/$T/products/C1/price-anomalies/ev-$((N - 3))/review" "${AUTH[@]}" "${J[@]}" -d '{"decision":"reject"}'
expect_problem "other decision after settling" 409 already_reviewed
http POST "/api/v1/tenants/$T/products/C3/price-anomalies/ev-$((N - 1))/review" "${AUTH[@]}" "${J[@]}" -d '{"decision":"reject"}'
expect_json "reject" 'd["review_status"]' rejected
[ "$(price_of C3)" = "10.00" ] && ok "rejected price never becomes current" || fail "rejected price" "$(price_of C3)"
http POST "/api/v1/tenants/$T/products/C2/price-anomalies/ev-$((N - 2))/review" "${AUTH[@]}" "${J[@]}" -d '{"decision":"approve"}'
expect_problem "a normal event is not an anomaly" 404 anomaly_not_found
http POST "/api/v1/tenants/$T/products/C1/price-anomalies/x/review" "${AUTH[@]}" "${J[@]}" -d '{"decision":"maybe"}'
expect_problem "bad decision" 400 invalid_field

echo "-- MAD rule at the threshold (3.5 x max(MAD, 5% of median))"
settings '{"anomaly":{"change_pct":0,"mad_threshold":3.5,"mad_floor_pct":5,"min_history":5,"window":20}}' "${AUTH[@]}"
for p in S1 S2; do
  product $p 100.00
  for i in 1 2 3 4 5; do event $p '"100.00"' >/dev/null; done
done
event S1 '"117.50"'
expect_json "17.50 from a flat median of 100.00 is an anomaly" '[d["anomaly"], d["anomaly_rules"], d["mad_score"]]' '[true, ["mad"], 3.5]'
event S2 '"117.49"'
expect_json "17.49 is not" '[d["anomaly"], d["mad_score"]]' '[false, 3.498]'
product S3 100.00
for i in 1 2 3 4; do event S3 '"100.00"' >/dev/null; done
event S3 '"150.00"'
expect_json "four prices of history are too few" '[d["anomaly"], d["mad_score"]]' '[false, null]'

echo "-- rate limits"
settings '{"rate_limits":{"price_events_product":{"rate":1,"period_s":10,"burst":1}}}' "${ADMIN[@]}"
product R1 5.00; product R2 5.00
event R1 '"5.01"'
expect_status "first event within the product limit" 201
event R1 '"5.02"'
expect_problem "second event for the product: 429" 429 rate_limited
ra=$(header Retry-After)
[ "$ra" -ge 9 ] && [ "$ra" -le 10 ] && ok "Retry-After is the emission interval ($ra s)" || fail "Retry-After" "$ra"
expect_json "violated policy named" 'd["violated_policies"]' '["product"]'
[[ "$(header RateLimit)" == *'"product";r=0;t='* ]] && ok "RateLimit header on 429" || fail "RateLimit header" "$(header RateLimit)"
[[ "$(header RateLimit-Policy)" == *'"product";q=1;w=10'* ]] && ok "RateLimit-Policy on 429" || fail "RateLimit-Policy" "$(header RateLimit-Policy)"
event R2 '"5.01"'
expect_status "another product has its own bucket" 201
n=$(sqlite3 -cmd ".timeout 5000" "$VAR/cartograph.db" "SELECT count(*) FROM price_events WHERE new_price_minor = 502")
[ "$n" = 0 ] && ok "a limited event is not stored" || fail "limited not stored" "$n"
settings '{"rate_limits":{"price_events_tenant":{"rate":2,"period_s":60,"burst":2},"price_events_product":null}}' "${ADMIN[@]}"
product R3 5.00
event R3 '"5.01"'; s1=$STATUS
event R3 '"5.02"'; s2=$STATUS
event R3 '"5.03"'
[ "$s1 $s2" = "201 201" ] && ok "burst of 2 per tenant" || fail "tenant burst" "$s1 $s2"
expect_problem "third is over the tenant limit" 429 rate_limited
ra=$(header Retry-After)
[ "$ra" -ge 29 ] && [ "$ra" -le 30 ] && ok "tenant Retry-After = 60 s / 2 ($ra s)" || fail "tenant Retry-After" "$ra"
expect_json "tenant policy named" 'd["violated_policies"]' '["tenant"]'
event R3 '"5.01"' ev-$((N - 2)) "2025-03-01T10:00:$(printf %02d $(((N - 2) % 60)))Z"
expect_status "a retried event is answered even when over the limit" 201
settings '{"rate_limits":null}' "${ADMIN[@]}"
settings '{"rate_limits":{"price_events_tenant":{"rate":100000,"burst":100000},"price_events_product":{"rate":100000,"burst":100000}}}' "${ADMIN[@]}"

echo "-- anomaly listing (NDJSON, cursors)"
http GET "/api/v1/tenants/$T/price-anomalies" "${AUTH[@]}"
[ "$(header Content-Type)" = application/x-ndjson ] && ok "NDJSON content type" || fail "content type" "$(header Content-Type)"
total=$(echo "$BODY" | tail -n1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["count"])')
[ "$total" = 3 ] && ok "tenant-wide: 3 anomalies (C1, C3, S1)" || fail "anomaly count" "$total"
http GET "/api/v1/tenants/$T/price-anomalies?review_status=pending" "${AUTH[@]}"
p=$(echo "$BODY" | head -n -1 | python3 -c 'import json,sys; print(sorted(json.loads(l)["product_id"] for l in sys.stdin))')
[ "$p" = "['S1']" ] && ok "review_status filter" || fail "review_status filter" "$p"
http GET "/api/v1/tenants/$T/price-anomalies?limit=2" "${AUTH[@]}"
cur=$(echo "$BODY" | tail -n1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["next_cursor"])')
http GET "/api/v1/tenants/$T/price-anomalies?limit=2&cursor=$cur" "${AUTH[@]}"
rest=$(echo "$BODY" | head -n -1 | python3 -c 'import json,sys; print([json.loads(l)["product_id"] for l in sys.stdin])')
[ "$rest" = "['S1']" ] || [ "$rest" = "['C3', 'S1']" ] && ok "cursor continues the listing" || fail "cursor" "$rest"
http GET "/api/v1/tenants/$T/price-anomalies?limit=2&review_status=pending&cursor=$cur" "${AUTH[@]}"
expect_problem "cursor bound to its filters" 400 invalid_cursor
http GET "/api/v1/tenants/$T/products/C1/price-anomalies" "${AUTH[@]}"
c=$(echo "$BODY" | head -n -1 | wc -l)
[ "$c" = 1 ] && ok "product C1 has one anomaly" || fail "product listing" "$c"
http GET "/api/v1/tenants/$T/price-anomalies?order=desc&limit=1" "${AUTH[@]}"
newest=$(echo "$BODY" | head -n1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["product_id"])')
[ "$newest" = S1 ] && ok "order=desc lists the most recent first" || fail "order=desc" "$newest"
http GET "/api/v1/tenants/$T/price-anomalies?since=2030-01-01T00:00:00Z" "${AUTH[@]}"
[ "$(echo "$BODY" | tail -n1)" = '{"next_cursor":null,"count":0}' ] && ok "since filter" || fail "since filter" "$BODY"
http GET "/api/v1/tenants/$T/price-anomalies?until=nope" "${AUTH[@]}"
expect_problem "bad until" 400 invalid_parameter

echo "-- SSE follow"
settings '{"anomaly":{"change_pct":20}}' "${AUTH[@]}"
product F1 10.00
curl -sN --max-time 4 -H "Authorization: Bearer $K" -H 'Accept: text/event-stream' \
  "$BASE/api/v1/tenants/$T/products/F1/price-anomalies" > "$TMP/sse1" &
spid=$!
sleep 0.6
t0=$(date +%s%N)
event F1 '"30.00"' f-1
fseq=$(json 'd["sequence"]')
got=""
for _ in $(seq 50); do
  grep -q "^id: $fseq" "$TMP/sse1" && { got=$(( ($(date +%s%N) - t0) / 1000000 )); break; }
  sleep 0.02
done
[ -n "$got" ] && [ "$got" -lt 1000 ] && ok "new anomaly reached the follower in ${got} ms" || fail "SSE delivery" "$(cat "$TMP/sse1")"
grep -q '^event: anomaly' "$TMP/sse1" && grep -q '"event_id":"f-1"' "$TMP/sse1" && ok "SSE frame: event, id, data" || fail "SSE frame" "$(cat "$TMP/sse1")"
wait $spid
event F1 '"90.00"' f-2 2025-03-02T00:00:00Z
curl -sN --max-time 1.5 -H "Authorization: Bearer $K" -H "Last-Event-ID: $fseq" \
  "$BASE/api/v1/tenants/$T/products/F1/price-anomalies?follow=true" > "$TMP/sse2"
grep -q '"event_id":"f-2"' "$TMP/sse2" && ! grep -q '"event_id":"f-1"' "$TMP/sse2" && ok "Last-Event-ID resumes after that event" || fail "Last-Event-ID resume" "$(cat "$TMP/sse2")"
# A follower whose client left is noticed when a heartbeat write fails (a few SSE_HEARTBEAT_MS).
gauge() { curl -s "$BASE/metrics" | awk '$1 == "cartograph_sse_followers" {print $2}'; }
for _ in $(seq 100); do [ "$(gauge)" = 0 ] && break; sleep 0.1; done
[ "$(gauge)" = 0 ] && ok "followers whose clients left are released" || fail "followers released" "$(gauge)"
for i in 1 2; do
  curl -sN --max-time 3 -H "Authorization: Bearer $K" "$BASE/api/v1/tenants/$T/price-anomalies?follow=true" >/dev/null &
done
sleep 0.5
HTTP_TIMEOUT=3 http GET "/api/v1/tenants/$T/price-anomalies?follow=true" "${AUTH[@]}"
expect_problem "third follower of 4 workers is refused" 503 too_many_followers
[ -n "$(header Retry-After)" ] && ok "follower refusal has Retry-After" || fail "Retry-After" ""
http GET /metrics
grep -q '^cartograph_sse_followers 2' "$BODYF" && ok "followers gauge" || fail "followers gauge" "$(grep sse "$BODYF")"
wait
HTTP_TIMEOUT=3 http HEAD "/api/v1/tenants/$T/price-anomalies?follow=true" "${AUTH[@]}" -I
[ "$STATUS" = 200 ] && [[ "$(header Content-Type)" == text/event-stream* ]] && ok "HEAD of a follow answers at once" || fail "HEAD follow" "$STATUS"
http GET /api/v1/health
expect_status "workers free again after followers end" 200

echo "-- SSE through Caddy"
stack_start caddy 2
new_tenant "Caddy prices"; T=$TENANT_ID; K=$TENANT_KEY; AUTH=(-H "Authorization: Bearer $K")
settings '{"anomaly":{"change_pct":20}}' "${AUTH[@]}"
product CF 10.00
curl -sN --max-time 3 -H "Authorization: Bearer $K" -H 'Accept: text/event-stream' \
  "$BASE/api/v1/tenants/$T/price-anomalies" > "$TMP/sse3" &
spid=$!
sleep 0.6
event CF '"40.00"' cf-1
got=""
for _ in $(seq 50); do grep -q '"event_id":"cf-1"' "$TMP/sse3" && { got=1; break; }; sleep 0.02; done
[ -n "$got" ] && ok "Caddy delivers the anomaly to a follower within 1 s" || fail "SSE via Caddy" "$(cat "$TMP/sse3")"
wait $spid

finish
