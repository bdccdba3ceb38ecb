#!/usr/bin/env bash
# run.sh: what `make run` does after building. Migrates the database under
# VAR_DIR, starts the front server and the workers on 127.0.0.1:PORT, creates
# the demo tenant on first run (its API key is printed that once and kept in
# VAR_DIR/secret/demo.json, mode 0600, so later runs can print a working curl
# line), and returns once the server answers. `make stop` undoes it.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
PORT=${PORT:-8080}
WORKERS=${WORKERS:-$((2 * $(nproc)))}
VAR_DIR=${VAR_DIR:-var}
FRONT=${FRONT:-lighttpd}
export BUILD

mkdir -p "$VAR_DIR"
VAR=$(cd "$VAR_DIR" && pwd)
"$BUILD/cartograph" init --var "$VAR" | grep -v '^schema version' || true
if [ -f "$VAR/run/master.pid" ] && kill -0 "$(cat "$VAR/run/master.pid")" 2>/dev/null; then
  port_file=$(sed -n 's/^server.port *= *//p' "$VAR/run/lighttpd.conf" 2>/dev/null || true)
  PORT=${port_file:-$PORT}
  echo "already running from $VAR (master $(cat "$VAR/run/master.pid")); make stop first to restart"
else
  scripts/stack.sh start "$VAR" "$PORT" "$WORKERS" "$FRONT"
fi

admin=${CARTOGRAPH_ADMIN_KEY:-$(cat "$VAR/secret/admin.key")}
base="http://127.0.0.1:$PORT"
demo="$VAR/secret/demo.json"
if [ ! -s "$demo" ]; then
  umask 077
  if [ -x "$BUILD/gen_dataset" ] && "$BUILD/gen_dataset" --help 2>&1 | grep -q -- '--keys-out'; then
    "$BUILD/gen_dataset" --preset tiny --tenants 1 --load --db "$VAR/cartograph.db" \
      --out "$VAR/tmp/demo-data" --keys-out "$VAR/tmp/demo-tenants.json" >"$VAR/log/demo-load.out" 2>&1
    python3 -c 'import json,sys; t=json.load(open(sys.argv[1])); t=t["tenants"][0] if isinstance(t,dict) else t[0]; print(json.dumps({"id":t["id"],"name":t["name"],"api_key":t["api_key"]}))' \
      "$VAR/tmp/demo-tenants.json" > "$demo"
    echo "demo dataset loaded (see $VAR/log/demo-load.out)"
  else
    curl -fsS -X POST -H "Authorization: Bearer $admin" -H 'Content-Type: application/json' \
      -d '{"name":"Demo shop"}' "$base/api/v1/tenants" > "$demo"
  fi
  echo "demo tenant created (its key is kept in $demo, mode 0600)"
fi
tid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$demo")
key=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["api_key"])' "$demo")
echo
echo "Cartograph is running at $base ($FRONT, $WORKERS workers, data in $VAR)"
echo "Demo tenant $tid, API key $key"
echo "Try:"
echo "  curl -s -H 'Authorization: Bearer $key' $base/api/v1/tenants/$tid"
echo "  curl -s -H 'Authorization: Bearer $key' '$base/api/v1/tenants/$tid/orders/search?limit=3'"
echo "Stop it with: make stop${VAR_DIR:+ VAR_DIR=$VAR_DIR}"
