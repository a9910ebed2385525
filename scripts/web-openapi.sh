#!/usr/bin/env bash
# Refreshes the web client's copy of the REST API's OpenAPI document and the TypeScript types
# generated from it:
#   web/openapi/api.json          the document, as the built api-service serves it at /openapi.json
#   web/src/lib/api-schema.d.ts   openapi-typescript's types (used by openapi-fetch in lib/client.ts)
# Both are committed; run this after changing the API (it builds api-service first), then
# `npm run build` in web/ shows what no longer fits. `npm run openapi` in web/ regenerates the
# types from the committed document alone.
set -euo pipefail
cd "$(dirname "$0")/.."
port="${OPENAPI_PORT:-18090}"
redis_port=$((port + 1))
cargo build --bin api-service
data=$(mktemp -d)
cleanup() {
  [ -n "${api_pid:-}" ] && kill "$api_pid" 2>/dev/null || true
  [ -n "${redis_pid:-}" ] && kill "$redis_pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$data" --save "" --appendonly no >"$data/redis.log" 2>&1 &
redis_pid=$!
APP_ENV=development DATABASE_URL="sqlite://$data/chat.db" REDIS_URL="redis://127.0.0.1:$redis_port" \
  APP__HTTP__API_PORT="$port" APP__HTTP__WEB_DIR="$data/none" \
  "${CARGO_TARGET_DIR:-target}/debug/api-service" >"$data/api.log" 2>&1 &
api_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "http://127.0.0.1:$port/openapi.json" -o "$data/api.json" 2>/dev/null && break
  sleep 0.2
done
[ -s "$data/api.json" ] || { echo "web-openapi: api-service did not serve /openapi.json; its log:" >&2; cat "$data/api.log" >&2; exit 1; }
mkdir -p web/openapi
python3 -m json.tool --indent 2 "$data/api.json" > web/openapi/api.json
cd web
npm run --silent openapi
echo "web-openapi: web/openapi/api.json and web/src/lib/api-schema.d.ts are up to date"
