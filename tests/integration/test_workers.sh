#!/usr/bin/env bash
# test_workers.sh: the prefork master. A worker killed with SIGKILL under load
# is replaced within a second and every later request succeeds; counters in
# /metrics never go backwards across the death; SIGTERM lets an in-flight
# request finish before the master exits.
source "$(dirname "$0")/lib.sh"
export CARTOGRAPH_DEBUG_ROUTES=1
EXPECT_WORKER_DEATHS=1 # this file kills workers on purpose
stack_start lighttpd 2

counter() { # total of cartograph_http_requests_total for route health, 2xx
  curl -s "$BASE/metrics" | awk -F' ' '/^cartograph_http_requests_total\{route="health",method="GET",status="2xx"\}/ {print $2}'
}

echo "-- kill -9 a worker under load"
mapfile -t pids < <(worker_pids)
[ ${#pids[@]} -eq 2 ] && ok "two workers running" || fail "two workers" "${pids[*]}"
c_before=$(counter)
# Background load: 4 concurrent loops of health requests for ~3 s.
load() { local end=$((SECONDS + 3)); while [ $SECONDS -lt $end ]; do curl -s -o /dev/null "$BASE/api/v1/health"; done; }
for i in 1 2 3 4; do load & done
sleep 0.5
victim=${pids[0]}
kill -KILL "$victim"
t0=$(date +%s%N)
replaced=""
for _ in $(seq 100); do
  mapfile -t now < <(worker_pids)
  if [ ${#now[@]} -eq 2 ] && ! printf '%s\n' "${now[@]}" | grep -qx "$victim"; then replaced=yes; break; fi
  sleep 0.01
done
t1=$(date +%s%N)
ms=$(( (t1 - t0) / 1000000 ))
[ -n "$replaced" ] && [ $ms -le 1000 ] && ok "replacement forked in ${ms} ms" || fail "replacement" "after ${ms} ms: $(worker_pids | tr '\n' ' ')"
wait
# The replacement serves: every request after the replacement succeeds, and
# the new pid answers some of them.
mapfile -t now < <(worker_pids)
newpid=""
for p in "${now[@]}"; do [ "$p" != "${pids[1]}" ] && newpid=$p; done
fails=0; seen_new=0
seq 300 | xargs -P 8 -I{} curl -s -o /dev/null -w '%{http_code}\n' "$BASE/api/v1/health" > "$TMP/codes"
fails=$(grep -vc '^200$' "$TMP/codes")
[ "$fails" = 0 ] && ok "300 requests after the kill: all 200" || fail "requests after the kill" "$fails failed"
for _ in $(seq 50); do
  curl -s "$BASE/api/v1/health" | grep -q "\"worker_pid\":$newpid," && { seen_new=1; break; }
done
[ $seen_new = 1 ] && ok "the replacement worker ($newpid) serves requests" || fail "replacement serves" "pid $newpid never answered"
c_after=$(counter)
python3 -c "import sys; sys.exit(0 if int('$c_after') >= int('${c_before:-0}') + 300 else 1)" \
  && ok "request counter kept the dead worker's counts ($c_before -> $c_after)" \
  || fail "counter went backwards" "$c_before -> $c_after"
curl -s "$BASE/metrics" | grep -q '^cartograph_worker_restarts_total [1-9]' && ok "restart counted" || fail "restart counted" ""

echo "-- a crash-looping slot does not spin the master"
master=$(cat "$VAR/run/master.pid")
cpu0=$(awk '{print $14+$15}' "/proc/$master/stat")
for _ in 1 2 3 4 5 6; do kill -KILL "$(worker_pids | head -n1)" 2>/dev/null; sleep 0.15; done
sleep 1
cpu1=$(awk '{print $14+$15}' "/proc/$master/stat")
[ $((cpu1 - cpu0)) -lt 50 ] && ok "master CPU stayed low during repeated kills ($((cpu1 - cpu0)) ticks)" || fail "master spun" "$((cpu1 - cpu0)) ticks"
for _ in $(seq 40); do [ "$(worker_pids | wc -l)" = 2 ] && break; sleep 0.1; done
http GET /api/v1/health
expect_status "healthy after repeated kills" 200

echo "-- the housekeeper is replaced like a worker"
hk=$(housekeeper_pid)
[ -n "$hk" ] && ok "housekeeper running ($hk)" || fail "housekeeper running" "none"
kill -KILL "$hk"
newhk=""
for _ in $(seq 30); do newhk=$(housekeeper_pid); [ -n "$newhk" ] && [ "$newhk" != "$hk" ] && break; sleep 0.1; done
[ -n "$newhk" ] && [ "$newhk" != "$hk" ] && ok "housekeeper replaced ($hk -> $newhk)" || fail "housekeeper replaced" "$newhk"
[ "$(worker_pids | wc -l)" = 2 ] && ok "still two request workers" || fail "request workers" "$(worker_pids | tr '\n' ' ')"

echo "-- SIGTERM drains an in-flight request"
head -c 2000000 /dev/zero > "$TMP/up.bin"
curl -sS -o "$TMP/drain.out" -w '%{http_code}' -H "Authorization: Bearer $ADMIN_KEY" \
  --data-binary "@$TMP/up.bin" "$BASE/api/v1/_debug/upload?sleep_ms=1500" > "$TMP/drain.code" &
cpid=$!
sleep 0.5
kill -TERM "$master"
wait $cpid
code=$(cat "$TMP/drain.code")
[ "$code" = 200 ] && grep -q '"bytes":2000000' "$TMP/drain.out" && ok "in-flight request completed during drain" \
  || fail "drain" "code $code body $(cat "$TMP/drain.out")"
for _ in $(seq 50); do kill -0 "$master" 2>/dev/null || break; sleep 0.1; done
kill -0 "$master" 2>/dev/null && fail "master exited after drain" "still running" || ok "master exited after drain"
left=$(pgrep -P "$master" | wc -l)
[ "$left" = 0 ] && ok "no worker left behind" || fail "workers left" "$left"

finish
