#!/usr/bin/env bash
# test_tus.sh: resumable uploads (tus 1.0) under /api/v1/ingest/uploads/
# through lighttpd: capabilities, an unmodified tus client (tus-js-client,
# tests/package.json) uploading and resuming after losing its connection, a
# PATCH cut mid-body and resumed with curl, a duplicated chunk, checksums
# (sha1/sha256, 460 on mismatch), stream-insert while chunks arrive, tenant
# binding, termination, expiry and clean-up.
source "$(dirname "$0")/lib.sh"

gen() { # FILE PREFIX N: N valid orders, then line N+1 broken JSON and N+2 an unknown product
  python3 - "$@" <<'PY'
import sys
path, prefix, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
line = ('{"order_id":"%s-%07d","customer":{"id":"C-%d","name":"Customer %d","email":"c@example.com"},'
        '"status":"paid","currency":"EUR","created_at":"2025-03-01T10:00:00Z",'
        '"items":[{"product_id":"%s","quantity":2,"unit_price":"19.99"}],"total":"39.98"}\n')
with open(path, "w") as f:
    for i in range(n):
        f.write(line % (prefix, i, i % 50, i % 50, "P-1"))
    f.write('{"order_id": "broken"\n')
    f.write(line % (prefix, n + 1, 1, 1, "P-404"))
PY
}
count() { sqlite3 "$VAR/cartograph.db" "SELECT count(*) FROM order_keys WHERE ext_id LIKE '$1-%'"; }
TUS=(-H "Tus-Resumable: 1.0.0")
up() { # METHOD PATH [curl args] as tenant A with Tus-Resumable
  local m=$1 p=$2; shift 2
  http "$m" "$p" -H "Authorization: Bearer $A_KEY" "${TUS[@]}" "$@"
}
create() { # LENGTH -> LOC
  up POST /api/v1/ingest/uploads/ -H "Upload-Length: $1" -H 'Upload-Metadata: filename dC5uZGpzb24=' \
    -H 'Content-Length: 0'
  LOC=$(header Location)
}
b64() { python3 -c "import base64,hashlib,sys; print('$1', base64.b64encode(hashlib.$1(open(sys.argv[1],'rb').read()).digest()).decode())" "$2"; }

[ -d "$ROOT/tests/node_modules/tus-js-client" ] || (cd "$ROOT/tests" && npm ci --no-audit --no-fund --loglevel=error)
stack_start lighttpd 2
new_tenant "Tus A"; A_ID=$TENANT_ID; A_KEY=$TENANT_KEY
new_tenant "Tus B"; B_KEY=$TENANT_KEY
tid=$(sqlite3 "$VAR/cartograph.db" "SELECT id FROM tenants WHERE public_id='$A_ID'")
sqlite3 "$VAR/cartograph.db" "INSERT INTO products(tenant_id, ext_id, name, currency, created_at, updated_at)
  VALUES ($tid, 'P-1', 'one', 'EUR', 0, 0)"

echo "-- capabilities and protocol checks"
http OPTIONS /api/v1/ingest/uploads/
expect_status "OPTIONS" 204
[ "$(header Tus-Version)" = 1.0.0 ] && ok "Tus-Version" || fail "Tus-Version" "$(header Tus-Version)"
[[ "$(header Tus-Extension)" == *creation*expiration*checksum*termination* ]] && ok "Tus-Extension" || fail "Tus-Extension" "$(header Tus-Extension)"
[ "$(header Tus-Checksum-Algorithm)" = "sha1,sha256" ] && ok "checksum algorithms" || fail "checksum algorithms" "$(header Tus-Checksum-Algorithm)"
http POST /api/v1/ingest/uploads/ -H "Authorization: Bearer $A_KEY" -H 'Upload-Length: 10' -H 'Content-Length: 0'
expect_problem "no Tus-Resumable: 412" 412 precondition_failed
[ "$(header Tus-Version)" = 1.0.0 ] && ok "412 names Tus-Version" || fail "412 Tus-Version" ""
up POST /api/v1/ingest/uploads/ -H 'Content-Length: 0'
expect_problem "neither Upload-Length nor defer" 400 bad_request
up POST /api/v1/ingest/uploads/ -H 'Upload-Length: 99999999999999' -H 'Content-Length: 0'
expect_problem "longer than Tus-Max-Size" 413 body_too_large

echo "-- tus-js-client: whole upload in 64 KiB chunks"
gen "$TMP/a.ndjson" A 4000
out=$(node "$ROOT/tests/tus_client.js" full "$BASE" "$A_KEY" "$TMP/a.ndjson" 65536) \
  && ok "tus-js-client uploaded" || fail "tus-js-client upload" "$out"
url=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["url"])')
http GET "${url#$BASE}" -H "Authorization: Bearer $A_KEY"
expect_json "summary after completion" '[d["state"], d["rows_received"], d["rows_inserted"], d["rows_failed"]]' '["complete", 4002, 4000, 2]'
expect_json "bad rows have their line numbers" '[[e["line"], e["code"]] for e in d["errors"]]' '[[4001, "invalid_json"], [4002, "unknown_product"]]'
expect_json "the upload token is in the summary" 'd["upload_token"] == d["ingest_id"]' true
[ "$(count A)" = 4000 ] && ok "4000 rows stored" || fail "rows stored" "$(count A)"
[ -z "$(ls "$VAR/uploads/" 2>/dev/null)" ] && ok "the upload file is removed once complete" || fail "upload file" "$(ls "$VAR/uploads")"

echo "-- tus-js-client: connection lost after 3 chunks, a new client resumes from the server's offset"
gen "$TMP/r.ndjson" R 4000
out=$(node "$ROOT/tests/tus_client.js" resume "$BASE" "$A_KEY" "$TMP/r.ndjson" 65536 3) \
  && ok "resumed upload finished" || fail "resumed upload" "$out"
from=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["resumed_from"])')
[ "$from" -ge $((3 * 65536)) ] 2>/dev/null && ok "resumed from the committed offset ($from)" || fail "resume offset" "$from"
[ "$(count R)" = 4000 ] && ok "exactly the file's rows after resuming" || fail "rows after resume" "$(count R)"

echo "-- a PATCH cut mid-body, resumed with curl"
gen "$TMP/c.ndjson" C 3000
size=$(stat -c %s "$TMP/c.ndjson")
create "$size"
expect_status "create" 201
[[ "$LOC" == /api/v1/ingest/uploads/in_* ]] && ok "relative Location ($LOC)" || fail "Location" "$LOC"
[ -n "$(header Upload-Expires)" ] && ok "Upload-Expires on creation" || fail "Upload-Expires" ""
curl -s -o /dev/null --limit-rate 100k --max-time 2 -X PATCH -H "Authorization: Bearer $A_KEY" "${TUS[@]}" \
  -H 'Content-Type: application/offset+octet-stream' -H 'Upload-Offset: 0' \
  --data-binary @"$TMP/c.ndjson" "$BASE$LOC"
sleep 0.5
up HEAD "$LOC"
off=$(header Upload-Offset)
[ "$off" -gt 0 ] && [ "$off" -lt "$size" ] && ok "what arrived before the cut is kept ($off of $size)" \
  || fail "offset after the cut" "$off of $size"
[ "$(header Cache-Control)" = no-store ] && ok "HEAD is no-store" || fail "HEAD cache" "$(header Cache-Control)"
mid=$(count C)
[ "$mid" -gt 0 ] && ok "rows inserted while the upload is incomplete ($mid)" || fail "stream-insert" "$mid"
tail -c +$((off + 1)) "$TMP/c.ndjson" > "$TMP/c.rest"
up PATCH "$LOC" -H 'Content-Type: application/offset+octet-stream' -H "Upload-Offset: $off" --data-binary @"$TMP/c.rest"
expect_status "resume PATCH" 204
[ "$(header Upload-Offset)" = "$size" ] && ok "offset reaches the length" || fail "final offset" "$(header Upload-Offset)"
http GET "$LOC" -H "Authorization: Bearer $A_KEY"
expect_json "cut-and-resumed upload: exact counts" '[d["rows_received"], d["rows_inserted"], d["rows_failed"]]' '[3002, 3000, 2]'

echo "-- a duplicated chunk is never applied twice"
gen "$TMP/d.ndjson" D 2000
size=$(stat -c %s "$TMP/d.ndjson")
head -c 100000 "$TMP/d.ndjson" > "$TMP/d.1"; tail -c +100001 "$TMP/d.ndjson" > "$TMP/d.2"
create "$size"
up PATCH "$LOC" -H 'Content-Type: application/offset+octet-stream' -H 'Upload-Offset: 0' --data-binary @"$TMP/d.1"
expect_status "first chunk" 204
first_rows=$(count D)
up PATCH "$LOC" -H 'Content-Type: application/offset+octet-stream' -H 'Upload-Offset: 0' --data-binary @"$TMP/d.1"
expect_problem "the same chunk again: 409" 409 upload_offset_mismatch
[ "$(header Upload-Offset)" = 100000 ] && ok "409 tells the current offset" || fail "409 offset" "$(header Upload-Offset)"
[ "$(count D)" = "$first_rows" ] && ok "nothing applied twice" || fail "dup chunk" "$(count D) vs $first_rows"
up PATCH "$LOC" -H 'Content-Type: text/plain' -H 'Upload-Offset: 100000' --data-binary @"$TMP/d.2"
expect_problem "PATCH needs offset+octet-stream" 415 unsupported_media_type

echo "-- checksums"
up PATCH "$LOC" -H 'Content-Type: application/offset+octet-stream' -H 'Upload-Offset: 100000' \
  -H "Upload-Checksum: $(b64 sha256 "$TMP/d.1")" --data-binary @"$TMP/d.2"
expect_status "checksum mismatch is 460" 460
expect_json "460 problem code" 'd["code"]' checksum_mismatch
up HEAD "$LOC"
[ "$(header Upload-Offset)" = 100000 ] && ok "mismatched chunk discarded" || fail "offset after 460" "$(header Upload-Offset)"
up PATCH "$LOC" -H 'Content-Type: application/offset+octet-stream' -H 'Upload-Offset: 100000' \
  -H 'Upload-Checksum: md5 AAAA' --data-binary @"$TMP/d.2"
expect_problem "unsupported checksum algorithm" 400 bad_request
up PATCH "$LOC" -H 'Content-Type: application/offset+octet-stream' -H 'Upload-Offset: 100000' \
  -H "Upload-Checksum: $(b64 sha1 "$TMP/d.2")" --data-binary @"$TMP/d.2"
expect_status "sha1 checksum accepted" 204
http GET "$LOC" -H "Authorization: Bearer $A_KEY"
expect_json "checksummed upload complete and exact" '[d["state"], d["rows_inserted"], d["rows_failed"]]' '["complete", 2000, 2]'

echo "-- creation-with-upload, gzip upload, tenant binding, termination, expiry"
gen "$TMP/g.ndjson" G 500; gzip -c "$TMP/g.ndjson" > "$TMP/g.gz"
size=$(stat -c %s "$TMP/g.gz")
up POST /api/v1/ingest/uploads/ -H "Upload-Length: $size" -H 'Content-Type: application/offset+octet-stream' \
  --data-binary @"$TMP/g.gz"
expect_status "creation-with-upload" 201
[ "$(header Upload-Offset)" = "$size" ] && ok "creation-with-upload offset" || fail "cwu offset" "$(header Upload-Offset)"
LOC=$(header Location)
http GET "$LOC" -H "Authorization: Bearer $A_KEY"
expect_json "gzip upload decoded on completion" '[d["rows_inserted"], d["rows_failed"]]' '[500, 2]'
http HEAD "$LOC" -H "Authorization: Bearer $B_KEY" "${TUS[@]}"
expect_status "another tenant's upload is 404" 404
create 100
up DELETE "$LOC"
expect_status "termination" 204
up HEAD "$LOC"
[ "$STATUS" = 410 ] || [ "$STATUS" = 404 ] && ok "terminated upload is gone ($STATUS)" || fail "after DELETE" "$STATUS"
create 100
EXP=$LOC
sqlite3 "$VAR/cartograph.db" "UPDATE ingest_runs SET expires_at = 1 WHERE token = '${EXP##*/}'"
up HEAD "$EXP"
expect_status "expired upload is 410" 410
stack_stop "$VAR"; stack_start lighttpd 2 "$VAR" # a fresh housekeeper purges at once, then every minute
create 10
for _ in $(seq 40); do [ -e "$VAR/uploads/${EXP##*/}.part" ] || break; sleep 0.1; done
[ ! -e "$VAR/uploads/${EXP##*/}.part" ] && ok "expired upload's file is cleaned up" || fail "expiry clean-up" "file still there"

finish
