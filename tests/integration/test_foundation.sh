#!/usr/bin/env bash
# test_foundation.sh: the request pipeline through lighttpd: auth matrix,
# tenant binding, 404/405, problem+json shape, request ids, key rotation and
# revocation, malformed and oversized input, /metrics through promtool.
source "$(dirname "$0")/lib.sh"

stack_start "${FRONT:-lighttpd}" 2

echo "-- health and routing"
http GET /api/v1/health
expect_status "health 200" 200
expect_json "health says ok" 'd["status"]' ok
expect_json "health schema version" 'd["schema_version"] == d["schema_latest"]' true

http GET /api/v1/nope
expect_problem "unknown path is a 404 problem" 404 not_found
expect_json "problem carries the request id" 'd["request_id"] != ""' true
expect_json "problem has type/title/status/detail" \
  'all(k in d for k in ("type","title","status","detail","instance"))' true

http DELETE /api/v1/health
expect_problem "wrong method is 405" 405 method_not_allowed
[ "$(header Allow)" = "GET" ] && ok "405 carries Allow" || fail "405 carries Allow" "$(header Allow)"

echo "-- request ids"
http GET /api/v1/health -H "X-Request-Id: abc-123.x:y_z"
[ "$(header X-Request-Id)" = "abc-123.x:y_z" ] && ok "sane request id echoed" \
  || fail "sane request id echoed" "$(header X-Request-Id)"
http GET /api/v1/nope -H "X-Request-Id: client-id-42"
expect_json "request id in problem body" 'd["request_id"]' client-id-42
grep -q '"request_id":"client-id-42"' "$VAR/log/cartograph.log" && ok "request id in the log" \
  || fail "request id in the log" "not found in log"
http GET /api/v1/health -H 'X-Request-Id: bad id with spaces <script>'
rid=$(header X-Request-Id)
[[ "$rid" =~ ^[0-9a-f]{32}$ ]] && ok "hostile request id replaced" || fail "hostile request id replaced" "$rid"

echo "-- tenants and the auth matrix"
http POST /api/v1/tenants -d '{"name":"A"}'
expect_problem "create tenant without key" 401 unauthorized
http POST /api/v1/tenants -H "Authorization: Bearer nope" -d '{"name":"A"}'
expect_problem "create tenant with a bad key" 401 unauthorized
new_tenant "Tenant A"; A_ID=$TENANT_ID; A_KEY=$TENANT_KEY
new_tenant "Tenant B"; B_ID=$TENANT_ID; B_KEY=$TENANT_KEY
[[ "$A_ID" =~ ^tn_[0-9a-f]{16}$ ]] && ok "tenant id format" || fail "tenant id format" "$A_ID"
http POST /api/v1/tenants -H "Authorization: Bearer $A_KEY" -d '{"name":"C"}'
expect_problem "tenant key cannot create tenants" 403 forbidden

http GET "/api/v1/tenants/$A_ID"
expect_problem "no credentials" 401 unauthorized
http GET "/api/v1/tenants/$A_ID" -H "Authorization: Bearer cg_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
expect_problem "well-formed unknown key" 401 unauthorized
http GET "/api/v1/tenants/$A_ID" -H "Authorization: Bearer $A_KEY"
expect_status "own tenant with Bearer" 200
expect_json "own tenant body" 'd["name"]' "Tenant A"
http GET "/api/v1/tenants/$A_ID" -H "X-API-Key: $A_KEY"
expect_status "own tenant with X-API-Key" 200
http GET "/api/v1/tenants/$B_ID" -H "Authorization: Bearer $A_KEY"
other_body=$BODY
expect_problem "other tenant's path is 404" 404 tenant_not_found
http GET "/api/v1/tenants/tn_0000000000000000" -H "Authorization: Bearer $A_KEY"
expect_problem "missing tenant is 404" 404 tenant_not_found
a=$(echo "$other_body" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["detail"], d["code"], d["status"])')
b=$(json 'd["detail"] + " " + d["code"] + " " + str(d["status"])')
[ "$a" = "$b" ] && ok "foreign and missing tenants look identical" || fail "foreign vs missing" "$a | $b"
http GET "/api/v1/tenants/$B_ID" -H "Authorization: Bearer $ADMIN_KEY"
expect_status "admin sees any tenant" 200

echo "-- key rotation and revocation"
http POST "/api/v1/tenants/$A_ID/keys" -H "Authorization: Bearer $A_KEY" -H 'Content-Length: 0'
expect_status "issue a second key (empty body)" 201
A_KEY2=$(json 'd["api_key"]'); K2_ID=$(json 'd["id"]')
http GET "/api/v1/tenants/$A_ID" -H "Authorization: Bearer $A_KEY2"
expect_status "second key works" 200
http GET "/api/v1/tenants/$A_ID/keys" -H "Authorization: Bearer $A_KEY"
expect_json "two keys listed, no secrets" '[len(d["keys"]), any("api_key" in k for k in d["keys"])]' '[2, false]'
http POST "/api/v1/tenants/$A_ID/keys" -H "Authorization: Bearer $A_KEY2" -d '{"revoke_others":true}'
expect_status "rotate: new key revoking the others" 201
A_KEY3=$(json 'd["api_key"]')
http GET "/api/v1/tenants/$A_ID" -H "Authorization: Bearer $A_KEY"
expect_problem "rotated-out key is revoked" 401 unauthorized
http GET "/api/v1/tenants/$A_ID" -H "Authorization: Bearer $A_KEY3"
expect_status "new key works" 200
http DELETE "/api/v1/tenants/$A_ID/keys/$K2_ID" -H "Authorization: Bearer $A_KEY3"
expect_status "revoke a key" 204
http DELETE "/api/v1/tenants/$B_ID/keys/1" -H "Authorization: Bearer $A_KEY3"
expect_problem "cannot revoke another tenant's key" 404 tenant_not_found

echo "-- malformed and oversized input"
http POST /api/v1/tenants -H "Authorization: Bearer $ADMIN_KEY" -d '{"name": '
expect_problem "truncated JSON" 400 invalid_json
http POST /api/v1/tenants -H "Authorization: Bearer $ADMIN_KEY" -d '[1,2]'
expect_problem "JSON array instead of object" 400 invalid_json
http POST /api/v1/tenants -H "Authorization: Bearer $ADMIN_KEY" -d '{"name": 42}'
expect_problem "wrong type" 400 invalid_field
expect_json "pointer names the field" 'd["pointer"]' /name
http POST /api/v1/tenants -H "Authorization: Bearer $ADMIN_KEY" -d '{}'
expect_problem "missing field" 400 missing_field
printf '{"name":"\xff\xfe"}' > "$TMP/bad.json"
http POST /api/v1/tenants -H "Authorization: Bearer $ADMIN_KEY" --data-binary "@$TMP/bad.json"
expect_problem "invalid UTF-8" 400 invalid_utf8
http POST /api/v1/tenants -H "Authorization: Bearer $ADMIN_KEY" --data-binary ''
expect_problem "empty body" 400 empty_body
head -c 20000 /dev/zero | tr '\0' 'a' | sed 's/^/{"name":"/; s/$/"}/' > "$TMP/big.json"
http POST /api/v1/tenants -H "Authorization: Bearer $ADMIN_KEY" --data-binary "@$TMP/big.json"
expect_problem "body over the route cap" 413 body_too_large
python3 -c 'print("{\"name\":\"" + "x"*300 + "\"}")' > "$TMP/long.json"
http POST /api/v1/tenants -H "Authorization: Bearer $ADMIN_KEY" --data-binary "@$TMP/long.json"
expect_problem "field over its length limit" 400 invalid_field
http GET "/api/v1/health?x=1"
expect_problem "unknown query parameter" 400 unknown_parameter
expect_json "unknown parameter is named" 'd["pointer"]' x
# lighttpd normalises or rejects some malformed URLs itself; either way a 400.
http GET "/api/v1/health?a=%zz"
[ "$STATUS" = 400 ] && ok "bad percent-encoding is a 400" || fail "bad percent-encoding" "$STATUS"
http GET "/api/v1/health?$(python3 -c 'print("a="+"b"*9000)')"
expect_problem "absurd query string" 414 query_too_long
http GET "/api/v1/health?a=%ff%fe"
[ "$STATUS" = 400 ] && ok "query not UTF-8 is a 400" || fail "query not UTF-8" "$STATUS"
http GET /api/v1/health -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)"
if [ "${FRONT:-lighttpd}" = lighttpd ]; then
  [ "$STATUS" = 431 ] && ok "huge header answered 431 by lighttpd" || fail "huge header" "status $STATUS"
else
  # Caddy passes headers up to 1 MB; the worker enforces the same 16 KiB bound.
  expect_problem "huge header answered 431 by the worker behind caddy" 431 header_too_large
fi
http GET "/api/v1/tenants/$A_ID" -H "Authorization: Bearer $(head -c 3000 /dev/zero | tr '\0' a)"
expect_problem "absurd bearer token" 401 unauthorized
http GET "/api/v1/health/../../etc/passwd"
[ "$STATUS" = 404 ] || [ "$STATUS" = 400 ] && ok "path traversal is a 4xx" || fail "path traversal" "$STATUS"

echo "-- workers survived all of it"
before=$(worker_pids | tr '\n' ' ')
http GET /api/v1/health
expect_status "still healthy" 200
after=$(worker_pids | tr '\n' ' ')
[ "$before" = "$after" ] && ok "no worker was replaced" || fail "no worker was replaced" "$before -> $after"
grep -q '"level":"warn","pid":[0-9]*,"msg":"worker' "$VAR/log/cartograph.log" \
  && fail "no worker died" "$(grep worker "$VAR/log/cartograph.log" | grep warn | head -3)" \
  || ok "no worker died"

echo "-- log lines"
python3 - "$VAR/log/cartograph.log" <<'PY' && ok "every request log line has the documented fields" || fail "log fields" ""
import json, sys
need = {"time","level","request_id","tenant","method","route","status","duration_ms","bytes_in","bytes_out"}
n = 0
for line in open(sys.argv[1]):
    d = json.loads(line)
    if "route" in d:
        n += 1
        missing = need - d.keys()
        if missing:
            print("missing", missing, line); sys.exit(1)
sys.exit(0 if n > 20 else 1)
PY

echo "-- metrics"
http GET /metrics
expect_status "metrics 200" 200
echo "$BODY" | promtool check metrics >"$TMP/promtool.out" 2>&1
rc=$?
[ $rc -eq 0 ] && ok "promtool check metrics exits 0" || fail "promtool" "rc=$rc $(head -5 "$TMP/promtool.out")"
grep -q 'cartograph_http_requests_total{route="tenant_get",method="GET",status="2xx"}' "$BODYF" \
  && ok "per-route counters" || fail "per-route counters" ""
grep -q '^cartograph_worker_resident_memory_bytes{' "$BODYF" && ok "worker RSS gauge" || fail "worker RSS gauge" ""

finish
