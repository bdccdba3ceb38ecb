#!/usr/bin/env bash
# test_streaming.sh: request and response bodies stream through the front
# servers (DESIGN §3): a 200 MB response leaves lighttpd's RSS flat and spools
# nothing to disk, and a worker reads the first bytes of a large Content-Length
# upload while the client is still sending. The same checks run through Caddy.
source "$(dirname "$0")/lib.sh"
export CARTOGRAPH_DEBUG_ROUTES=1

rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }

check_front() { # front
  local front=$1
  stack_start "$front" 2
  local fpid; fpid=$(cat "$VAR/run/front.pid")
  # Caddy is a Go program: warm it up so its baseline includes the runtime's heap.
  curl -s -o /dev/null -H "Authorization: Bearer $ADMIN_KEY" "$BASE/api/v1/_debug/stream?bytes=10000000"
  local before hwm_before; before=$(rss_kb "$fpid"); hwm_before=$(hwm_kb "$fpid")

  echo "-- $front: 200 MB response"
  local out; out=$(curl -sS -o /dev/null -w '%{http_code} %{size_download} %{time_starttransfer} %{time_total}' \
    --limit-rate 100M -H "Authorization: Bearer $ADMIN_KEY" "$BASE/api/v1/_debug/stream?bytes=209715200")
  read -r code size ttfb total <<<"$out"
  [ "$code" = 200 ] && [ "$size" = 209715200 ] && ok "$front streams 200 MB (ttfb ${ttfb}s, total ${total}s)" \
    || fail "$front 200 MB response" "$out"
  local after hwm_after; after=$(rss_kb "$fpid"); hwm_after=$(hwm_kb "$fpid")
  local growth=$(( (hwm_after - hwm_before) / 1024 ))
  echo "     $front RSS ${before} kB -> ${after} kB, peak growth ${growth} MB"
  local limit=16; [ "$front" = caddy ] && limit=64
  [ "$growth" -le "$limit" ] && ok "$front peak RSS grew ${growth} MB (<= $limit MB) for 200 MB" \
    || fail "$front RSS not flat" "peak grew ${growth} MB"
  local spooled; spooled=$(find "$VAR/tmp" -type f -size +1M 2>/dev/null | wc -l)
  [ "$spooled" = 0 ] && ok "$front spooled nothing to disk" || fail "$front spooled" "$spooled files"

  echo "-- $front: upload read while the client is still sending"
  head -c 8000000 /dev/zero > "$TMP/upload.bin"
  rm -f "$VAR/tmp/upload-first-byte"
  curl -sS -o "$TMP/upload.out" --limit-rate 2M -H "Authorization: Bearer $ADMIN_KEY" \
    -H 'Content-Type: application/octet-stream' --data-binary "@$TMP/upload.bin" \
    "$BASE/api/v1/_debug/upload" &
  local cpid=$!
  local seen=0
  for _ in $(seq 40); do
    if [ -f "$VAR/tmp/upload-first-byte" ]; then seen=1; break; fi
    sleep 0.05
  done
  if [ $seen = 1 ] && kill -0 $cpid 2>/dev/null; then
    ok "$front: worker had the first bytes while the client was still sending"
  else
    fail "$front: upload not streamed" "marker=$seen client_running=$(kill -0 $cpid 2>/dev/null && echo yes || echo no)"
  fi
  wait $cpid
  BODY=$(cat "$TMP/upload.out"); BODYF=$TMP/upload.out
  expect_json "$front: whole upload received" 'd["bytes"]' 8000000
  local fb; fb=$(json 'd["first_byte_ms"] < d["total_ms"] / 4')
  [ "$fb" = true ] && ok "$front: first byte in the first quarter of the transfer" \
    || fail "$front first byte late" "$BODY"
  stack_stop
}

check_front lighttpd
check_front caddy

echo "-- chunked upload through lighttpd is accepted (spooled, then streamed to the worker)"
stack_start lighttpd 1
head -c 3000000 /dev/zero | tr '\0' 'a' > "$TMP/chunked.bin"
http POST /api/v1/_debug/upload -H "Authorization: Bearer $ADMIN_KEY" -H 'Transfer-Encoding: chunked' \
  --data-binary "@$TMP/chunked.bin"
expect_status "chunked upload 200" 200
expect_json "chunked upload complete" 'd["bytes"]' 3000000

finish
