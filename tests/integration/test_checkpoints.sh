#!/usr/bin/env bash
# test_checkpoints.sh: the write path under steady small writes. Workers hand
# checkpoints to the housekeeper and the WAL keeps starting over (without the
# gated restart pass it grew by ~40 KB per price event and never shrank);
# the write gate and checkpoint metrics are exported; a killed housekeeper is
# replaced and writes carry on meanwhile; a worker killed while it holds the
# write gate hands it on at once.
source "$(dirname "$0")/lib.sh"
export CARTOGRAPH_DEBUG_ROUTES=1
EXPECT_WORKER_DEATHS=1 # the housekeeper and a worker are killed on purpose
stack_start lighttpd 2

new_tenant "ckpt"
http PATCH "/api/v1/tenants/$TENANT_ID/settings" -H "Authorization: Bearer $ADMIN_KEY" \
  -d '{"rate_limits":{"price_events_tenant":{"rate":1000000,"burst":1000000},"price_events_product":{"rate":1000000,"burst":1000000}}}'
expect_status "rate limits raised" 200
for i in $(seq 0 19); do
  http PUT "/api/v1/tenants/$TENANT_ID/products/P$i" -H "Authorization: Bearer $TENANT_KEY" \
    -d "{\"name\":\"P$i\",\"currency\":\"EUR\",\"price\":\"10.00\"}"
done
expect_status "products created" 201

# N price events from C keep-alive clients; prints the number of 201 answers.
send_events() { # PREFIX N C
  python3 - "$BASE" "$TENANT_ID" "$TENANT_KEY" "$1" "$2" "$3" <<'PY'
import http.client, json, sys, threading, urllib.parse
base, t, key, prefix, n, c = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
u = urllib.parse.urlparse(base)
ok = [0] * c
def client(k):
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    for i in range(k, n, c):
        body = json.dumps({"event_id": f"{prefix}-{i}", "price": "%d.%02d" % (10, i % 7),
                           "currency": "EUR", "observed_at": "2025-03-01T00:00:00Z"})
        conn.request("POST", f"/api/v1/tenants/{t}/products/P{i % 20}/price-event", body=body,
                     headers={"Authorization": "Bearer " + key, "Idempotency-Key": f"{prefix}-{i}",
                              "Content-Type": "application/json"})
        r = conn.getresponse(); r.read()
        ok[k] += r.status == 201
ths = [threading.Thread(target=client, args=(k,)) for k in range(c)]
[x.start() for x in ths]; [x.join() for x in ths]
print(sum(ok))
PY
}

metric() { # NAME -> value (first sample)
  curl -s "$BASE/metrics" | awk -v m="$1" '$1 == m {print $2; exit}'
}

echo "-- 4000 price events from 4 clients"
n=$(send_events a 4000 4)
[ "$n" = 4000 ] && ok "4000 events stored" || fail "4000 events stored" "$n"
wal=$(stat -c %s "$VAR/cartograph.db-wal")
# 4000 events write ~40k frames (~165 MB) of WAL; restarts (past 32 MiB) keep it far below.
[ "$wal" -lt $((100 << 20)) ] && ok "WAL started over ($((wal >> 20)) MiB)" \
  || fail "WAL started over" "$wal bytes"
c=$(metric cartograph_db_checkpoint_duration_seconds_count)
[ "${c:-0}" -ge 5 ] && ok "housekeeper checkpointed ($c rounds)" || fail "housekeeper checkpoints" "$c"
g=$(metric cartograph_db_checkpoint_gate_seconds_count)
[ "${g:-0}" -ge 1 ] && ok "gated restart passes ($g)" || fail "gated restart passes" "$g"
d=$(metric cartograph_write_gate_owner_deaths_total)
[ "$d" = 0 ] && ok "no gate owner died" || fail "gate owner deaths" "$d"

echo "-- the housekeeper killed: writes go on, it is replaced"
hk=$(housekeeper_pid)
kill -KILL "$hk"
n=$(send_events b 1500 2)
[ "$n" = 1500 ] && ok "1500 events while the housekeeper was replaced" || fail "events without housekeeper" "$n"
hk2=$(housekeeper_pid)
[ -n "$hk2" ] && [ "$hk2" != "$hk" ] && ok "housekeeper replaced ($hk -> $hk2)" \
  || fail "housekeeper replaced" "$hk -> $hk2"
c2=$(metric cartograph_db_checkpoint_duration_seconds_count)
[ "${c2:-0}" -gt "${c:-0}" ] && ok "the new housekeeper checkpoints ($c -> $c2)" \
  || fail "new housekeeper checkpoints" "$c -> $c2"
echo "-- a worker killed while it holds the write gate"
rm -f "$VAR/tmp/write-hold"
curl -s -o /dev/null -X POST -d '' -H "Authorization: Bearer $ADMIN_KEY" \
  "$BASE/api/v1/_debug/write-hold?ms=30000" &
for _ in $(seq 200); do [ -s "$VAR/tmp/write-hold" ] && break; sleep 0.01; done
holder=$(cat "$VAR/tmp/write-hold" 2>/dev/null)
[ -n "$holder" ] && ok "a worker holds the gate (pid $holder)" || fail "write-hold" "no pid"
[ -n "$holder" ] && kill -KILL "$holder"
wait
t0=$(date +%s%N)
n=$(send_events c 200 2)
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$n" = 200 ] && [ "$ms" -lt 3000 ] && ok "200 writes after the holder died, in ${ms} ms" \
  || fail "writes after the gate holder died" "$n in $ms ms"
d=$(metric cartograph_write_gate_owner_deaths_total)
[ "$d" = 1 ] && ok "owner death counted" || fail "owner deaths" "$d"
sqlite3 "$VAR/cartograph.db" "PRAGMA quick_check" > "$TMP/qc" 2>&1
[ "$(cat "$TMP/qc")" = ok ] && ok "quick_check ok" || fail "quick_check" "$(head -3 "$TMP/qc")"
finish
