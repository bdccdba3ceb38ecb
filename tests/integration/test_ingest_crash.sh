#!/usr/bin/env bash
# test_ingest_crash.sh: ingest under failure and load, through lighttpd.
#  - a second request with the same Idempotency-Key while the first runs: 409 + Retry-After;
#  - kill -9 of the workers mid-ingest: committed batches stay, the key's
#    reservation blocks retries (409) until its lease ends, then a retry takes
#    it over and the tenant ends with exactly the file's rows, no more, no fewer;
#  - small single-row write transactions from another worker keep p99 <= 100 ms
#    while a bulk ingest runs.
source "$(dirname "$0")/lib.sh"
export EXPECT_WORKER_DEATHS=1 # this file kills workers on purpose

gen() { # FILE PREFIX N: N valid orders
  python3 - "$@" <<'PY'
import sys
path, prefix, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(path, "w") as f:
    for i in range(n):
        f.write('{"order_id":"%s-%07d","customer":{"id":"C-%d","name":"Customer %d","email":"c%d@example.com"},'
                '"status":"paid","currency":"EUR","created_at":"2025-%02d-%02dT10:00:00Z",'
                '"items":[{"product_id":"P-1","quantity":2,"unit_price":"19.99"},{"product_id":"P-2","quantity":1,"unit_price":"5.00"}],'
                '"total":"44.98"}\n' % (prefix, i, i % 500, i % 500, i % 500, 1 + i % 12, 1 + i % 28))
PY
}
count() { # PREFIX -> orders of tenant A with that prefix
  sqlite3 "$VAR/cartograph.db" "SELECT count(*) FROM order_keys WHERE tenant_id = $A_INT AND ext_id LIKE '$1-%'"
}

stack_start lighttpd 2
new_tenant "Crash A"; A_ID=$TENANT_ID; A_KEY=$TENANT_KEY
A_INT=$(sqlite3 "$VAR/cartograph.db" "SELECT id FROM tenants WHERE public_id='$A_ID'")
sqlite3 "$VAR/cartograph.db" "INSERT INTO products(tenant_id, ext_id, name, currency, created_at, updated_at)
  VALUES ($A_INT, 'P-1', 'one', 'EUR', 0, 0), ($A_INT, 'P-2', 'two', 'EUR', 0, 0)"

echo "-- 409 while the first request with the key runs; kill -9 mid-ingest; takeover after the lease"
N=20000
gen "$TMP/k.ndjson" K $N
size=$(stat -c %s "$TMP/k.ndjson")
curl -s -o "$TMP/first.out" --limit-rate 400k -X POST -H "Authorization: Bearer $A_KEY" \
  -H 'Idempotency-Key: crash-key' -H 'Content-Type: application/x-ndjson' \
  --data-binary @"$TMP/k.ndjson" "$BASE/api/v1/ingest/orders/" &
first=$!
sleep 3
http POST /api/v1/ingest/orders/ -H "Authorization: Bearer $A_KEY" -H 'Idempotency-Key: crash-key' \
  -H 'Content-Type: application/x-ndjson' --data-binary @"$TMP/k.ndjson"
expect_problem "same key while the first runs" 409 idempotency_key_in_use
ra=$(header Retry-After)
[[ "$ra" =~ ^[0-9]+$ ]] && ok "409 has Retry-After ($ra s)" || fail "409 Retry-After" "$ra"
partial=$(count K)
[ "$partial" -gt 0 ] && [ "$partial" -lt $N ] && ok "rows are committed while the body streams ($partial)" \
  || fail "stream-insert" "$partial of $N committed after 3 s (body $size bytes at 400 KB/s)"
for p in $(worker_pids); do kill -9 "$p"; done
wait $first
sleep 1
at_kill=$(count K)
[ "$at_kill" -lt $N ] && ok "killed mid-ingest ($at_kill of $N committed)" || fail "killed mid-ingest" "$at_kill"
http POST /api/v1/ingest/orders/ -H "Authorization: Bearer $A_KEY" -H 'Idempotency-Key: crash-key' \
  -H 'Content-Type: application/x-ndjson' --data-binary @"$TMP/k.ndjson"
expect_problem "the dead worker's reservation still holds within its lease" 409 idempotency_key_in_use
t0=$(date +%s)
for _ in $(seq 30); do
  sleep 1
  http POST /api/v1/ingest/orders/ -H "Authorization: Bearer $A_KEY" -H 'Idempotency-Key: crash-key' \
    -H 'Content-Type: application/x-ndjson' --data-binary @"$TMP/k.ndjson"
  [ "$STATUS" != 409 ] && break
done
took=$(( $(date +%s) - t0 ))
expect_status "retry after the lease takes the key over ($took s)" 200
expect_json "the retry accounts for every row" 'd["rows_inserted"] + d["rows_duplicate"]' $N
expect_json "no row failed" 'd["rows_failed"]' 0
[ "$(count K)" = $N ] && ok "exactly the file's $N rows are stored" || fail "exact rows" "$(count K)"
items=$(sqlite3 "$VAR/cartograph.db" "SELECT (SELECT count(*) FROM order_keys WHERE tenant_id=$A_INT AND ext_id LIKE 'K-%')")
http POST /api/v1/ingest/orders/ -H "Authorization: Bearer $A_KEY" -H 'Idempotency-Key: crash-key' \
  -H 'Content-Type: application/x-ndjson' --data-binary @"$TMP/k.ndjson"
[ "$(header Idempotent-Replayed)" = true ] && ok "then the key replays" || fail "replay after takeover" "$STATUS"
sum=0
for m in $(sqlite3 "$VAR/cartograph.db" "SELECT name FROM partitions WHERE base='order_items'"); do
  sum=$((sum + $(sqlite3 "$VAR/cartograph.db" "SELECT count(*) FROM $m WHERE tenant_id=$A_INT"))) 
done
[ "$sum" = $((2 * N)) ] && ok "every order has exactly its items ($sum)" || fail "items" "$sum vs $((2 * N))"

echo "-- small writes from another worker while a bulk ingest runs"
gen "$TMP/big.ndjson" B 300000 # ~4 s of ingest: 100+ small writes to take a p99 of
# One keep-alive client times single-row writes (POST /keys: one INSERT) back
# to back for exactly as long as the ingest runs, so every sample overlaps it
# (a curl process per write spent ~10 ms starting and got ~30 samples).
python3 - "$BASE" "$A_KEY" "$A_ID" "$TMP" <<'PY'
import http.client, subprocess, sys, time, urllib.parse
base, key, tid, tmp = sys.argv[1:]
big = subprocess.Popen(["curl", "-s", "-o", tmp + "/big.out", "--max-time", "120", "-X", "POST",
                        "-H", "Authorization: Bearer " + key, "-H", "Content-Type: application/x-ndjson",
                        "--data-binary", "@" + tmp + "/big.ndjson", base + "/api/v1/ingest/orders/"])
time.sleep(0.3)  # the ingest is past its headers and storing
u = urllib.parse.urlsplit(base)
c = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
with open(tmp + "/lat", "w") as f:
    while big.poll() is None:
        t = time.monotonic()
        c.request("POST", "/api/v1/tenants/%s/keys" % tid, body="{}",
                  headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
        r = c.getresponse()
        r.read()
        f.write("%d %.6f\n" % (r.status, time.monotonic() - t))
big.wait()
PY
n=$(wc -l < "$TMP/lat")
stats=$(python3 - "$TMP/lat" <<'PY'
import sys
v = sorted(float(l.split()[1]) for l in open(sys.argv[1]) if l.startswith("201"))
q = lambda p: 1000 * v[min(len(v) - 1, int(p * len(v)))]
print("%.1f %.1f %.1f" % (q(0.5), q(0.99), 1000 * v[-1]) if v else "nan nan nan")
PY
)
read -r p50 p99 pmax <<< "$stats"
bad=$(grep -vc '^201' "$TMP/lat")
echo "  ($n key writes during the ingest: p50 $p50 ms, p99 $p99 ms, max $pmax ms)"
[ "$n" -ge 100 ] && [ "$bad" = 0 ] && ok "single-row writes all succeeded ($n)" || fail "small writes" "$n writes, $bad failed"
python3 -c "import sys; sys.exit(not float('$p99') <= 100)" && ok "small-write p99 $p99 ms <= 100 ms" \
  || fail "small-write p99" "$p99 ms"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d["rows_inserted"] != 300000)' "$TMP/big.out" \
  && ok "the bulk ingest stored all 300000 rows" || fail "bulk ingest" "$(head -c 300 "$TMP/big.out")"

finish
