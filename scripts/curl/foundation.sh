#!/usr/bin/env bash
# foundation.sh: health, tenants, keys, errors, metrics, as a user calls them.
# Run against `make run`:  scripts/curl/foundation.sh [BASE_URL] [VAR_DIR]
set -euo pipefail
BASE=${1:-http://127.0.0.1:8080}
VAR=${2:-var}
ADMIN=${CARTOGRAPH_ADMIN_KEY:-$(cat "$VAR/secret/admin.key")}
show() { echo; echo "\$ $*"; "$@"; echo; }

show curl -s "$BASE/api/v1/health"
show curl -s -X POST -H "Authorization: Bearer $ADMIN" -H 'Idempotency-Key: "demo-tenant-1"' \
  -d '{"name":"Curl Shop"}' "$BASE/api/v1/tenants"
resp=$(curl -s -X POST -H "Authorization: Bearer $ADMIN" -H 'Idempotency-Key: "demo-tenant-1"' \
  -d '{"name":"Curl Shop"}' "$BASE/api/v1/tenants")
echo "(the retry with the same Idempotency-Key replays the same tenant: $resp)"
ID=$(echo "$resp" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
KEY=$(echo "$resp" | python3 -c 'import json,sys; print(json.load(sys.stdin)["api_key"])')
show curl -s -H "Authorization: Bearer $KEY" "$BASE/api/v1/tenants/$ID"
show curl -s -X POST -H "Authorization: Bearer $KEY" -d '{"revoke_others":true}' "$BASE/api/v1/tenants/$ID/keys"
show curl -s -H "Authorization: Bearer $KEY" "$BASE/api/v1/tenants/$ID"
show curl -s -i "$BASE/api/v1/tenants/$ID"
show curl -s "$BASE/metrics"
